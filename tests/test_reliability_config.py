"""Config mistakes on the command line: one line naming the key, exit 2, nothing written.

Hostile cases of docs/RELIABILITY.md (section "Config"). The checks themselves are the
typed schemas' (common/config.py, issue 15 item 3); these tests drive them through the
real ``tinyml`` entry point, in this process (they stop before TensorFlow is needed).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOY = ["app=toy", f"hydra.searchpath=[file://{TESTS / 'conf'}]", "dataset.n_per_class=30"]


@pytest.fixture
def tinyml(capsys, monkeypatch, tmp_path):
    from tinyml_suite.common.cli import main

    monkeypatch.setenv("TINYML_PLUGINS", "toy")

    def call(*args: str) -> tuple[int, str, Path]:
        run = tmp_path / "run"
        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        capsys.readouterr()
        try:
            rc = main([*args, f"hydra.run.dir={run}"])
        except SystemExit as exc:
            rc = exc.code
        finally:
            root.handlers[:], root.level = saved
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.startswith("tinyml: error:")]
        assert "Traceback" not in err and len(lines) == 1, err[-2000:]
        return rc, lines[0], run

    return call


@pytest.mark.parametrize(("override", "expected"), [
    ("seed=abc", "seed='abc' must be an integer"),
    ("trainer.epochs=-1", "trainer.epochs=-1 must be >= 1"),
    ("trainer.batch_size=0", "trainer.batch_size=0 must be >= 1"),
    ("trainer.learning_rate=-1", "trainer.learning_rate=-1.0 must be > 0"),
    ("trainer.batch_size=abc", "trainer.batch_size=abc: Value 'abc' of type 'str' could not be converted to Integer"),
    ("dataset.root=/tmp/données/x", """quote a value that holds spaces, non-ASCII letters or special characters"""),
    ("board=nano33", "unknown board 'nano33'; choose one of: esp32s3, host,"),
])
def test_a_config_mistake_is_one_line_and_writes_nothing(tinyml, override, expected):
    rc, line, run = tinyml(*TOY, override)
    assert rc == 2 and expected in line, line
    assert not run.exists()


def test_a_misspelt_key_gets_a_did_you_mean(tinyml):
    rc, line, _ = tinyml(*TOY, "trainer.epoch=3")
    assert rc == 2 and "did you mean" in line and "epochs" in line, line


def test_an_empty_keyword_list_is_refused():
    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.context import instantiate_logged
    from tinyml_suite.common.errors import ConfigError

    cfg = compose_config(["app=wake_word", "dataset.keywords=[]"])
    with pytest.raises(ConfigError, match="keywords"):
        instantiate_logged(cfg.dataset)


def test_a_nonsense_board_value_stops_the_run_before_training(tmp_path, compose_cfg):
    from tinyml_suite.common.errors import ConfigError
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg([*TOY[:1], "dataset.n_per_class=30", "board.ram_kb=-5", "stages=[data]"])
    with pytest.raises(ConfigError, match="ram_kb"):
        run_recipe(cfg, tmp_path / "run")
