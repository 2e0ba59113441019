"""`tinyml deploy`: a saved toy run to other boards without retraining; one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from helpers.toy_run import make_toy_run, tinyml_cmd, toy_env


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_toy_run(tmp_path_factory.getbasetemp())


@pytest.fixture
def saved(run, tmp_path):
    """A private copy of the saved run (tests write firmware into it)."""
    dst = tmp_path / "run"
    shutil.copytree(run, dst, ignore=shutil.ignore_patterns("firmware", "checkpoints"))
    return dst


def _tinyml(tmp_path, *args, timeout=600):
    proc = subprocess.run(tinyml_cmd(*args), check=False, capture_output=True, text=True, env=toy_env(tmp_path / "cache"),
                          timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def test_deploy_saved_run_to_another_board(saved, tmp_path):
    before = (saved / "model_int8.tflite").read_bytes()
    metrics = json.loads((saved / "metrics.json").read_text())
    # the board's default runtime: the model compiled to C, verified in the run
    code, out, err = _tinyml(tmp_path, "deploy", str(saved), "board=nucleo_l4r5zi")
    assert code == 0, err[-3000:]
    project = saved / "firmware" / "nucleo_l4r5zi"
    assert f"tinyml: firmware for nucleo_l4r5zi: {project}" in out
    assert (project / "platformio.ini").exists() and (project / "src" / "tm_model_engine.c").exists()
    assert not (project / "src" / "model_data.cc").exists()
    info = json.loads((project / "deploy.json").read_text())
    assert info["board"] == "nucleo_l4r5zi" and info["fit"]["fits"] and info["fit"]["runtime"] == "engine"
    assert info["fit"]["flash_lines"][0][0] == "model" and "measured" in info["fit"]["flash_lines"][0][2]
    assert info["fit"]["arena_bytes"] == metrics["engine"]["scratch_bytes"]
    # the same model, not retrained
    assert (saved / "model_int8.tflite").read_bytes() == before
    assert info["latency"]["macs"] == metrics["model"]["macs"]
    # the config hash in the banner is that of the run's config with the new board
    assert "from config " in (project / "src" / "model_settings.h").read_text().splitlines()[0]
    # runtime=tflm: the TFLite Micro project; the arena measured again, the same as the verify stage's
    out_dir = tmp_path / "tflm"
    code, out, err = _tinyml(tmp_path, "deploy", str(saved), "board=nucleo_l4r5zi", "runtime=tflm", f"out={out_dir}")
    assert code == 0, err[-3000:]
    assert (out_dir / "src" / "model_data.cc").exists() and not (out_dir / "src" / "tm_model_engine.c").exists()
    info = json.loads((out_dir / "deploy.json").read_text())
    assert info["fit"]["flash_lines"][0] == ["model", len(before), "int8 .tflite"]
    assert info["fit"]["arena_used_bytes"] == metrics["tflm"]["arena_min_bytes"]
    assert "Measuring the TFLM tensor arena" in err


def test_deploy_a_tflite_path_to_host_with_out_dir(saved, tmp_path):
    out_dir = tmp_path / "elsewhere" / "fw"
    code, _out, err = _tinyml(tmp_path, "deploy", str(saved / "model_int8.tflite"), "board=host", f"out={out_dir}")
    assert code == 0, err[-3000:]
    assert (out_dir / "Makefile").exists() and (out_dir / "testdata" / "check_vectors.txt").exists()
    assert not (saved / "firmware").exists()
    # the saved run has no data loaded: the check stream is seeded noise, and it still checks
    assert "seeded Gaussian noise" in (out_dir / "README.md").read_text()
    proc = subprocess.run(["make", "-C", str(out_dir), "check"], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "tm_check: OK" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["board=picoo"], "unknown board 'picoo'; did you mean board=pico?"),
        ([], "board=<name> is required"),
        (["board=pico", "colour=red"], "unknown option 'colour'"),
    ],
)
def test_bad_arguments_are_one_line(saved, tmp_path, args, message):
    code, _out, err = _tinyml(tmp_path, "deploy", str(saved), *args)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [lines[0]] and lines[0].startswith("tinyml: error: ") and message in lines[0]
    assert not (saved / "firmware").exists()


def test_missing_and_corrupt_run_files_are_one_line(saved, tmp_path):
    code, _, err = _tinyml(tmp_path, "deploy", str(tmp_path / "nope"), "board=pico")
    assert code == 2 and "run directory" in err and "does not exist" in err and len(err.strip().splitlines()) == 1

    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    shutil.rmtree(broken / ".hydra")
    code, _, err = _tinyml(tmp_path, "deploy", str(broken), "board=pico")
    assert code == 2 and ".hydra/config.yaml is missing" in err and len(err.strip().splitlines()) == 1

    (saved / "model_int8.tflite").write_bytes(b"\x00" * 64)
    code, _, err = _tinyml(tmp_path, "deploy", str(saved), "board=pico")
    assert code == 2 and "model_int8.tflite has changed since its run finished" in err  # status.json's checksum
    assert len(err.strip().splitlines()) == 1
    (saved / "status.json").unlink()  # a run from before status files: the flatbuffer check speaks
    code, _, err = _tinyml(tmp_path, "deploy", str(saved), "board=pico")
    assert code == 2 and "not a TFLite flatbuffer" in err and len(err.strip().splitlines()) == 1

    (saved / "model_int8.tflite").unlink()
    code, _, err = _tinyml(tmp_path, "deploy", str(saved), "board=pico")
    assert code == 2 and "model_int8.tflite is missing" in err and len(err.strip().splitlines()) == 1
    assert not (saved / "firmware").exists()


def test_a_model_too_big_for_pico_stops_before_writing_anything(saved, tmp_path):
    """A model whose activations need ~270 KB of tensor arena (> the Pico's 264 KB of RAM):
    `tinyml deploy ... model=<it>` fails with one line naming every budget item and the
    overshoot, and writes no firmware folder."""
    import keras

    from tinyml_suite.common.deploy.quantize import convert

    keras.utils.set_random_seed(0)
    inp = keras.Input((128, 1))
    # 128 x 1024 int8 activations (128 KB) and more: TFLM measures 272,224 bytes of arena
    h = keras.layers.Conv1D(1024, 1, activation="relu")(inp)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    rep = np.random.default_rng(0).standard_normal((8, 128, 1)).astype(np.float32)
    big = tmp_path / "big_int8.tflite"
    big.write_bytes(convert(keras.Model(inp, out), variant="int8", representative=rep))

    code, out_text, err = _tinyml(tmp_path, "deploy", str(saved), "board=pico", "runtime=tflm", f"model={big}")
    assert code == 2, out_text + err
    line = err.strip().splitlines()[-1]
    assert line.startswith("tinyml: error: model does not fit board=pico: ")
    assert "RAM" in line and "over by" in line and "arena" in line and "runner" in line and "stack+sdk" in line
    assert "flash" in line and "model" in line and "runtime" in line and "free" in line
    assert not (saved / "firmware").exists()
    # the same model fits the ESP32-S3 (512 KB of SRAM, 160 KB of it reserved for ESP-IDF)
    code, _, err = _tinyml(tmp_path, "deploy", str(saved), "board=esp32s3", "runtime=tflm", f"model={big}")
    assert code == 0, err[-2000:]
    # compiled to C (the Pico's default runtime) it fits the Pico: a 129 KB static arena
    # instead of TFLM's 266 KB; the model, no run verified, is checked against TFLM at deploy time
    code, out_text, err = _tinyml(tmp_path, "deploy", str(saved), "board=pico", f"model={big}", f"out={tmp_path / 'pico'}")
    assert code == 0, err[-2000:]
    info = json.loads((tmp_path / "pico" / "deploy.json").read_text())
    assert info["fit"]["runtime"] == "engine" and info["fit"]["arena_bytes"] < 140 * 1024
