"""A two-model x two-board sweep through the real `tinyml -m`, collected into one table."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest
from helpers.toy_run import TESTS, tinyml_cmd, toy_env


@pytest.mark.slow
def test_two_models_two_boards_sweep_and_collect(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = tinyml_cmd(
        "-m", "app=toy", "model=toy_cnn,toy_dense", "board=host,pico",
        f"hydra.searchpath=[file://{TESTS / 'conf'}]", f"hydra.sweep.dir={sweep}",
        "hydra.launcher.n_jobs=2", "trainer.epochs=4", "trainer.tensorboard=false",
        "trainer.learning_rate=0.01", "trainer.batch_size=32", "optimize.variants=[int8]",
        "optimize.representative_samples=60", "optimize.verify_samples=30",
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=toy_env(tmp_path / "cache"), timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = sorted(p.parent for p in sweep.rglob("metrics.json"))
    assert len(runs) == 4
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        assert m["stages"]["deploy"] == "done" and (run / "firmware" / m["board"]).is_dir()
        assert (run / "report.html").exists()

    proc = subprocess.run(tinyml_cmd("collect", str(sweep)), capture_output=True, text=True,
                          env=toy_env(tmp_path / "cache"), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader((sweep / "sweep_table.csv").open()))
    assert len(rows) == 4
    assert {(r["model"], r["board"]) for r in rows} == {
        ("toy_cnn", "host"), ("toy_cnn", "pico"), ("toy_dense", "host"), ("toy_dense", "pico")}
    for r in rows:
        assert int(r["flash_bytes"]) > int(r["tflite_bytes"]) > 0
        assert int(r["arena_bytes"]) > 0 and r["fits"] == "True"
        assert float(r["latency_ms"]) > 0
        assert 0.0 <= float(r["int8"]) <= 1.0
    # the dense net has more parameters than the CNN; the table must show it
    params = {r["model"]: int(r["params"]) for r in rows}
    assert params["toy_dense"] > params["toy_cnn"]
    assert (sweep / "pareto.png").stat().st_size > 10_000
    assert "| toy_cnn | pico |" in (sweep / "sweep_table.md").read_text()
