"""vibration_anomaly end to end: the smoke recipes (simulator) through every stage, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from tinyml_suite.common.errors import DatasetError


@pytest.mark.slow
def test_anomaly_recipe_smoke_end_to_end(compose_cfg, tmp_path):
    """Simulated data -> features -> autoencoder -> threshold -> int8 on TFLM -> host project."""
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg(["app=vibration_anomaly", "debug=smoke"])  # debug=smoke as it is must learn
    _metrics, ctx = run_recipe(cfg, tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["app"] == "vibration_anomaly" and saved["dataset"] == "vibration_sim"
    assert all(saved["stages"][s] == "done" for s in ("data", "features", "train", "evaluate", "optimize",
                                                      "verify", "deploy", "report"))
    f, q = saved["float"], saved["int8"]
    # chance is AUC 0.5; even the smoke data (few short recordings) must be well above it
    assert f["auc"] >= 0.75, f["auc"]
    assert q["auc"] >= 0.7, q["auc"]
    assert f["kmeans"]["auc"] >= 0.75
    # the threshold: the largest of the 28 normal validation scores (1 % of 28 rounds to 0)
    cal = ctx.state.calibration
    assert cal["val_normal_windows"] == 28 and cal["threshold"] > 0
    assert f["threshold"] == cal["threshold"] and 0 <= f["false_alarm_rate"] <= 1
    assert set(f["per_fault"]) == {"inner_race", "ball", "outer_race", "imbalance", "misalignment", "looseness"}
    assert f["alarm"]["recordings_anomalous"] > 0
    # the int8 model is small and its ops run on TFLM
    assert saved["model"]["tflite_bytes"] <= 20 * 1024
    assert saved["tflm"]["arena_bytes"] > 0 and set(saved["tflm"]["ops"]) <= {"FULLY_CONNECTED", "SUB", "MUL", "ADD"}
    for name in ("model_int8.tflite", "report.md", "roc.png", "scores.png", "detection.png"):
        assert (tmp_path / name).exists(), name
    project = tmp_path / "firmware" / "host"
    assert (project / "src" / "postprocess.c").exists() and (project / "src" / "tm_fe_vibration.c").exists()
    settings = (project / "src" / "app_settings.h").read_text()
    assert "TM_APP_CAL_THRESHOLD" in settings and "TM_APP_ALARM_ON_WINDOWS 3" in settings
    if shutil.which("make") and shutil.which("cc"):
        # the C front end + quantisation + postprocess.c against the Python pipeline
        run = subprocess.run(["make", "check"], cwd=project, capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "tm_check: OK" in run.stdout


@pytest.mark.slow
def test_fault_classifier_recipe_smoke(compose_cfg, tmp_path):
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg(["experiment=vibration_fault_classifier", "debug=smoke", "trainer.epochs=30",
                       "trainer.learning_rate=0.01", "stages=[data,features,train,evaluate,report]"])
    metrics, ctx = run_recipe(cfg, tmp_path)
    f = metrics["float"]
    assert ctx.data.labels == ("normal", "inner_race", "ball", "outer_race")
    # the smoke test split is 40 % normal (the majority-class baseline); its faults are at
    # severity 1 (near the detection limit by design) and 2 (clear)
    majority = np.bincount(ctx.data.test.y).max() / len(ctx.data.test)
    assert f["accuracy"] >= majority + 0.15, (f["accuracy"], majority)
    assert f["accuracy_per_severity"]["2"] >= 0.7, f["accuracy_per_severity"]
    assert np.asarray(f["confusion"]).sum() == len(ctx.data.test)
    assert "recording_accuracy" in f and (tmp_path / "confusion_float.png").exists()


def test_cwru_recipe_with_a_missing_folder_is_one_line(tmp_path):
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tinyml_suite.common.cli", "app=vibration_anomaly", "dataset=cwru",
         "dataset.root=/no/such/cwru", "stages=[data]", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyml: error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-2000:]
    assert "dataset.root=/no/such/cwru does not exist" in errors[0] and "CWRU .mat" in errors[0]
    assert "Traceback" not in proc.stderr


def test_anomaly_app_refuses_data_without_normal_validation(compose_cfg, tmp_path):
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg(["app=vibration_anomaly", "debug=smoke", "stages=[data]",
                       "dataset.normal_recordings={train: 2, val: 0, test: 1}"])
    with pytest.raises(DatasetError, match="no normal window in its val split"):
        run_recipe(cfg, tmp_path)
