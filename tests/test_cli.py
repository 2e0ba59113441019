"""The `tinyml` command: help, composition, and one-line user errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(TESTS), "TINYML_PLUGINS": "toy", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tinyml_suite.common.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300,
    )


def _user_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyml: error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_help_lists_apps_boards_datasets():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("board:", "nano33_ble_sense", "esp32s3", "pico", "rpi4", "host", "Subcommands"):
        assert word in proc.stdout


def test_cfg_job_prints_composed_config():
    proc = run_cli("--cfg", "job", "app=toy", f"hydra.searchpath=[file://{TESTS / 'conf'}]")
    assert proc.returncode == 0, proc.stderr
    assert "toy_tones" in proc.stdout and "board:" in proc.stdout


def test_unknown_board_is_one_line_with_a_suggestion():
    line = _user_error(run_cli("app=toy", "board=nano33", f"hydra.searchpath=[file://{TESTS / 'conf'}]"))
    assert "unknown board 'nano33'" in line and "nano33_ble_sense" in line


def test_unknown_app_is_one_line():
    line = _user_error(run_cli("app=nosuchapp"))
    assert "unknown app 'nosuchapp'" in line


def test_config_typo_is_one_line():
    line = _user_error(run_cli("app=toy", "trainer.epoch=3", f"hydra.searchpath=[file://{TESTS / 'conf'}]"))
    assert "epoch" in line


def test_wrong_type_is_one_line():
    line = _user_error(run_cli("app=toy", "board.ram_kb=big", f"hydra.searchpath=[file://{TESTS / 'conf'}]"))
    assert "ram_kb" in line


def test_missing_dataset_folder_is_one_line_and_leaves_no_run_dir(tmp_path):
    conf = tmp_path / "conf" / "dataset"
    conf.mkdir(parents=True)
    (conf / "toy_folder.yaml").write_text(
        "# needs a folder\n_target_: toy_folder.ToyFolder\nname: toy_folder\nroot: ???\nseed: ${seed}\n"
    )
    (tmp_path / "toy_folder.py").write_text(
        "from tinyml_suite.common.data import Dataset, require_dir\n"
        "class ToyFolder(Dataset):\n"
        "    name = 'toy_folder'\n    modality = 'tones'\n"
        "    def _load(self):\n"
        "        require_dir(self.options.get('root'), dataset='toy_folder', hint='the toy files')\n"
    )
    run_dir = tmp_path / "run"
    proc = run_cli(
        "app=toy", "dataset=toy_folder", f"dataset.root={tmp_path / 'nope'}",
        f"hydra.searchpath=[file://{TESTS / 'conf'},file://{tmp_path / 'conf'}]",
        f"hydra.run.dir={run_dir}",
        env={"PYTHONPATH": f"{TESTS}:{tmp_path}"},
    )
    line = _user_error(proc)
    assert "does not exist" in line and "dataset.root" in line
    assert not run_dir.exists(), "a failed run left its directory behind"


def test_dataset_for_another_app_is_refused(compose_cfg, tmp_path):
    import toy

    from tinyml_suite.common.errors import DatasetError
    from tinyml_suite.common.pipeline import run_recipe

    class GestureOnlyTones(toy.ToyTones):
        modality = "imu"  # what the gesture app reads, not the tones the toy app needs

    toy.GestureOnlyTones = GestureOnlyTones
    cfg = compose_cfg(["app=toy", "dataset._target_=toy.GestureOnlyTones"])
    with pytest.raises(DatasetError, match="app=gesture"):
        run_recipe(cfg, tmp_path / "r")


@pytest.mark.slow
def test_recipe_runs_from_the_command_line(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("app=toy", "debug=smoke", f"hydra.searchpath=[file://{TESTS / 'conf'}]",
                   f"hydra.run.dir={run_dir}", "stages=[data,features,train,evaluate,report]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run_dir / "metrics.json").exists()
    assert (run_dir / ".hydra" / "config.yaml").exists()


@pytest.mark.slow
def test_evaluate_a_trained_run_on_another_dataset(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("app=toy", "trainer.epochs=15", "trainer.learning_rate=0.01", "trainer.batch_size=32",
                   "trainer.tensorboard=false", f"hydra.searchpath=[file://{TESTS / 'conf'}]",
                   f"hydra.run.dir={run_dir}", "stages=[data,features,train,evaluate]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "eval"
    # a different draw of the data (another seed, more examples): no retraining
    proc = run_cli("evaluate", str(run_dir), "dataset.n_per_class=90", "dataset.seed=7", "split=all", f"out={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    result = json.loads((out / "metrics.json").read_text())
    assert result["split"] == "all" and result["n"] == 3 * 90 + 2 * 3 * 30
    # 3 classes: chance 1/3; the trained model must transfer to the new draw
    assert result["float"]["accuracy"] >= 0.8, result["float"]


def test_evaluate_refuses_a_folder_that_is_not_a_run(tmp_path):
    line = _user_error(run_cli("evaluate", str(tmp_path)))
    assert "not a tinyml run directory" in line


def test_unset_mandatory_value_is_one_line(tmp_path):
    run_dir = tmp_path / "run"
    line = _user_error(run_cli("app=vibration_anomaly", "dataset=cwru", f"hydra.run.dir={run_dir}"))
    assert "dataset.root is not set" in line and "dataset.root=<value>" in line
    assert not run_dir.exists()
