"""`debug=smoke` learns: the int8 headline of a smoke run beats chance by a stated margin.

A smoke run (conf/debug/smoke.yaml: tiny data, 20 short epochs, int8 only) is what many
tests and users run first; if it sat at chance, a change that breaks learning would pass
them. heart_rate and vibration_anomaly assert the same in their own smoke tests
(tests/test_heart_rate_app.py, tests/test_vibration_app.py); gesture and wake_word here.
Chance is the share of the test split's most frequent class (always answering it).
"""

from __future__ import annotations

import numpy as np
import pytest

STAGES = "stages=[data,features,train,evaluate,optimize,verify]"  # no firmware or report: not what is tested


def _majority_share(y: np.ndarray) -> float:
    return float(np.bincount(np.asarray(y, dtype=np.int64)).max() / len(y))


@pytest.mark.slow
@pytest.mark.parametrize("app,margin", [
    ("gesture", 0.3),    # 8 classes, 32 test windows of a held-out user: chance 0.125, measured 0.81
    ("wake_word", 0.15),  # 12 classes, 39 test clips of held-out voices: chance 0.154 (_unknown_), measured 0.46
])
def test_smoke_run_int8_beats_chance(compose_cfg, tmp_path, app, margin):
    from tinyml_suite.common.pipeline import run_recipe

    metrics, ctx = run_recipe(compose_cfg([f"app={app}", "debug=smoke", STAGES]), tmp_path)
    chance = _majority_share(ctx.data.test.y)
    int8 = metrics["int8"]["accuracy"]
    assert metrics["tflm"]["matches_litert"] is True
    assert int8 >= chance + margin, (app, int8, chance, metrics["int8"].get("confusion"))
