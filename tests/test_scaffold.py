"""`tinyml new`: a custom project from an app trains and deploys from its own folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TINYML = [sys.executable, "-c", "import sys; from tinyml_suite.common.cli import main; sys.exit(main())"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TINYML_PLUGINS",)}
    env["TINYML_CACHE"] = str(tmp_path / "cache")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def _write_gesture_csvs(root: Path, rng: np.random.Generator) -> None:
    """Three movements an accelerometer tells apart, 10 users x 6 takes each, 50 Hz CSV."""
    t = np.arange(120) / 50.0
    for label, (axis, freq) in {"circle": (0, 2.0), "shake": (1, 6.0), "lift": (2, 0.8)}.items():
        (root / label).mkdir(parents=True)
        for user in range(10):
            for take in range(6):
                acc = 0.05 * rng.standard_normal((len(t), 3))
                acc[:, 2] += 1.0  # gravity
                amp = rng.uniform(0.6, 1.2)
                acc[:, axis] += amp * np.sin(2 * np.pi * freq * rng.uniform(0.9, 1.1) * t + rng.uniform(0, 6))
                lines = ["aX,aY,aZ"] + [",".join(f"{v:.4f}" for v in row) for row in acc]
                (root / label / f"u{user}_{take}.csv").write_text("\n".join(lines) + "\n")


def test_new_refuses_unknown_app_and_existing_folder(tmp_path):
    proc = subprocess.run([*TINYML, "new", str(tmp_path / "p"), "--from", "gestur"],
                          capture_output=True, text=True, env=_env(tmp_path))
    assert proc.returncode == 2 and "unknown app 'gestur'" in proc.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    proc = subprocess.run([*TINYML, "new", str(tmp_path / "full"), "--from", "gesture"],
                          capture_output=True, text=True, env=_env(tmp_path))
    assert proc.returncode == 2 and "not empty" in proc.stderr


@pytest.mark.slow
def test_scaffolded_gesture_project_trains_and_deploys(tmp_path, rng):
    project = tmp_path / "wand_project"
    proc = subprocess.run([*TINYML, "new", str(project), "--from", "gesture", "--name", "my_wand", "--no-example"],
                          capture_output=True, text=True, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for rel in ("tinyml_project.yaml", "conf/app/my_wand.yaml", "conf/dataset/my_data.yaml",
                "conf/model/my_model.yaml", "my_model.py", "README.md"):
        assert (project / rel).exists(), rel
    _write_gesture_csvs(project / "data", rng)
    # `tinyml` with no app= runs the project's own recipe (its default override)
    proc = subprocess.run(
        [*TINYML, "board=nano33_ble_sense", "dataset.sample_rate=50", "dataset.target_rate=50",
         "dataset.window_samples=100", "dataset.user_regex='^[a-z]+/(?P<user>u[0-9]+)_'",
         "dataset.val_users=0.2", "dataset.test_users=0.2",
         "trainer.epochs=12", "trainer.tensorboard=false", "hydra.run.dir=run"],
        capture_output=True, text=True, cwd=project, env=_env(tmp_path), timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = json.loads((project / "run" / "metrics.json").read_text())
    assert m["app"] == "gesture" and m["board"] == "nano33_ble_sense"
    assert m["dataset"] == "imu_csv"
    # 3 classes: chance is 1/3; these movements are easy, so the int8 model must beat chance by 0.3
    assert m["int8"]["accuracy"] >= 0.66, m["int8"]
    assert (project / "run" / "firmware" / "nano33_ble_sense").is_dir()
    assert (project / "run" / "model_int8.tflite").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("app,loader", [
    ("gesture", "imu_csv"), ("heart_rate", "ppg_csv"), ("vibration_anomaly", "vibration_folder"),
    ("wake_word", "speech_commands"),
])
def test_new_project_runs_at_once_on_its_example_data(tmp_path, app, loader):
    """`tinyml new` writes example data in the loader's layout: `tinyml debug=smoke` runs there.

    Up to the evaluation, 2 epochs: what depends on the data (loading, features, training,
    scoring); the later stages from a project folder are in the gesture test above."""
    project = tmp_path / "p"
    proc = subprocess.run([*TINYML, "new", str(project), "--from", app], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = [p for p in (project / "data").rglob("*") if p.is_file() and p.name != ".keep"]
    assert data, "no example data written"
    assert "synthetic example" in (project / "README.md").read_text()
    proc = subprocess.run([*TINYML, "debug=smoke", "trainer.epochs=2", "stages=[data,features,train,evaluate]",
                           "hydra.run.dir=run"], capture_output=True, text=True, cwd=project, env=_env(tmp_path),
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = json.loads((project / "run" / "metrics.json").read_text())
    assert m["app"] == app and m["dataset"] == loader
    assert all(m["stages"][s] == "done" for s in ("data", "features", "train", "evaluate")), m["stages"]
    assert m["data"]["train"]["n"] > 0 and m["data"]["test"]["n"] > 0
    assert m["float"][m["headline"]] is not None


def test_new_without_example_leaves_data_empty(tmp_path):
    project = tmp_path / "p"
    proc = subprocess.run([*TINYML, "new", str(project), "--from", "vibration_anomaly", "--no-example"],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [p.name for p in (project / "data").iterdir()] == [".keep"]
    assert "sample_rate_hz: ???" in (project / "conf" / "dataset" / "my_data.yaml").read_text()
