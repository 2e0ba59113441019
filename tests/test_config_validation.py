"""Nonsense config values stop a run before anything is trained (issue 15, item 3).

Each case composes the real config tree and calls the recipe: it must stop with one
ConfigError line naming the key, and write nothing. No training; about a second each.
"""

from __future__ import annotations

import pytest

from tinyml_suite.common.cli import compose_config
from tinyml_suite.common.config import TrainerConfig, parse_options
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.pipeline import run_recipe


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.epochs=0", "trainer.epochs=0 must be >= 1"),
        ("trainer.epochs=-1", "trainer.epochs=-1 must be >= 1"),
        ("trainer.batch_size=0", "trainer.batch_size=0 must be >= 1"),
        ("trainer.learning_rate=0", "trainer.learning_rate=0.0 must be > 0"),
        ("seed=abc", "seed='abc' must be an integer"),
    ],
)
def test_nonsense_values_stop_the_run_before_anything_is_written(tmp_path, override, message):
    cfg = compose_config(["app=vibration_anomaly", "debug=smoke", override])
    with pytest.raises(ConfigError, match=message):
        run_recipe(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_misspelt_option_gets_a_did_you_mean():
    with pytest.raises(ConfigError, match=r"trainer\.epoch is not an option of TrainerConfig; did you mean 'epochs'\?"):
        parse_options(TrainerConfig, {"epoch": 3}, where="trainer")
    with pytest.raises(ConfigError, match=r"trainer\.batch_size='8' must be an integer"):
        parse_options(TrainerConfig, {"batch_size": "8"}, where="trainer")


def test_features_keys_get_a_did_you_mean_too():
    from tinyml_suite.common.features.audio import Mfcc

    with pytest.raises(ConfigError, match=r"features\.n_mfc is not an option of Mfcc; did you mean 'n_mfcc'\?"):
        Mfcc(sample_rate=16000, n_mfc=10)
