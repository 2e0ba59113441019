"""Every app's firmware on an emulated Cortex-M4F (QEMU mps2-an386), against Python.

For each app, one small run made by the real command,

    tinyml app=<app> board=mps2_an386 debug=smoke ...

trains, quantises and verifies the model, renders the bare-metal project, builds it with
arm-none-eabi-gcc and runs its check program on qemu-system-arm (the device stage). The
test then holds metrics.json["device"] to:

- the same results as Python on the raw test samples compiled into the firmware: float
  features within 1e-3 of the largest feature, int8 model inputs within 1 LSB, int8
  model outputs bit for bit equal to the TFLite Micro runtime's on the device's input,
  post-processed events equal to the app's Python post-processing;
- measured figures: flash and static RAM of the linked ELF, the painted-stack
  high-water mark, instructions per inference / front-end call / MAC (QEMU's executed
  instructions: a proxy for cycles), which replace the fit check's estimates.

The comparison itself must be able to fail: one flipped int8 output or a feature moved
by 1 % in the saved trace is caught. Then the same run's serial-protocol firmware runs on
QEMU with its UART on a TCP socket: ``tinyml validate`` streams test inputs and gets the
host's int8 outputs back, and ``tinyml capture`` writes the emulated sensor's known signal
into the app's dataset layout exactly.

Skipped with the reason when arm-none-eabi-gcc, make or qemu-system-arm are missing
(.ci/run installs them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers.run_if import needs_qemu
from helpers.toy_run import tinyml_cmd, toy_env

pytestmark = [needs_qemu(), pytest.mark.slow]

#: per app: extra overrides that keep the run small, and the own-data layout capture writes
APPS = {
    "gesture": ([], "imu_csv"),
    "vibration_anomaly": ([], "vibration_folder"),
    "heart_rate": ([], "ppg_csv"),
    "wake_word": (["dataset.keywords=[yes,no]"], "speech_commands"),
}
#: raw windows are slow to send through QEMU's one-byte UART: the apps with small ones
WINDOW_APPS = ("gesture", "heart_rate")


def _run_on_qemu(app: str, base: Path) -> Path:
    """The app's run with board=mps2_an386, made once per test session (per xdist worker)."""
    run = base / f"qemu_{app}"
    if (run / "metrics.json").exists() and "device" in json.loads((run / "metrics.json").read_text()):
        return run
    cmd = tinyml_cmd(
        f"app={app}", "board=mps2_an386", "debug=smoke", "optimize.variants=[int8]", "trainer.tensorboard=false",
        "stages=[data,features,train,evaluate,optimize,verify,deploy,device]", f"hydra.run.dir={run}",
        *APPS[app][0],
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=toy_env(base / "cache"), timeout=1200, check=False)
    assert proc.returncode == 0, f"{app} on mps2_an386 failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return run


def sensor_value(n: np.ndarray, c: int) -> np.ndarray:
    """The emulated board's built-in signal (firmware_templates/boards/baremetal/src/hal_mps2.c)."""
    period = 50 * (c + 1)
    half = period // 2
    p = n % period
    tri = np.where(p < half, p, period - p)
    step = 8192 // half
    return ((tri * 2 * step - half * step) / 32768.0).astype(np.float32)


def _read_capture(layout: str, path: Path) -> np.ndarray:
    """A captured file back as (channels, n) float32, through the loaders' own readers where public."""
    if layout == "speech_commands":
        from tinyml_suite.datasets.wav import read_wav

        return read_wav(path, sample_rate=16000)[None, :]
    if layout == "imu_csv":
        from tinyml_suite.datasets.loaders.imu_csv import find_columns, read_imu_csv

        header, recordings = read_imu_csv(path.read_text(), source=str(path))
        cols = find_columns(header, None, source=str(path))
        axes = [k for k in ("ax", "ay", "az", "gx", "gy", "gz") if k in cols]
        assert len(recordings) == 1 and "timestamp" in cols
        return np.array([[float(r[cols[k]]) for r in recordings[0]] for k in axes], np.float32)
    skip = 1 if layout == "ppg_csv" else 0  # the time column
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64, ndmin=2)
    cols = data.shape[1] - (2 if layout == "ppg_csv" else 0)  # ppg_csv: time ... hr (empty)
    return data[:, skip : skip + cols].T.astype(np.float32)


@pytest.mark.parametrize("app", sorted(APPS))
def test_app_firmware_on_the_emulated_cortex_m4_matches_python(app, tmp_path_factory, tmp_path):
    from tinyml_suite.common.deploy.baremetal import QemuSerial, build, parse_trace
    from tinyml_suite.common.deploy.device import compare_trace
    from tinyml_suite.common.deploy.serial_link import DeviceError, DeviceLink
    from tinyml_suite.common.device_cli import capture, main_validate
    from tinyml_suite.common.firmware_stage import spec_from_context
    from tinyml_suite.common.saved_run import load_run

    run = _run_on_qemu(app, tmp_path_factory.getbasetemp())
    m = json.loads((run / "metrics.json").read_text())
    d = m["device"]

    # 1. the firmware computes what Python computes
    assert d["emulated"] is True and d["machine"] == "mps2-an386"
    assert d["n_compared"] >= 3 and d["n_device_inferences"] == d["n_python_windows"] == d["n_compared"], d
    assert d["features_max_rel_diff"] <= 1e-3 and d["input_max_lsb_diff"] <= 1, d
    assert d["model_matches_tflm"] is True and d["n_model_mismatched"] == 0, d
    assert d["events_match"] is True, d.get("events")
    assert d["outputs_match"] is True

    # 2. measured, and the fit check uses the measurement (the estimate kept beside it)
    macs = m["model"]["macs"]
    assert 8_000 < d["flash_bytes"] < 1_000_000 and 1_000 < d["ram_bytes"] < 1_000_000, d["sizes"]
    assert 100 < d["stack_bytes"] < 64 * 1024
    assert d["instructions_per_inference"] > macs  # at least one instruction per multiply-accumulate
    assert 1.0 < d["instructions_per_mac"] < 100.0 and d["instructions_per_feature_frame"] > 0
    assert "proxy for Cortex-M4 cycles" in d["instructions_note"]
    fit = m["fit"]
    assert fit["measured"] is True and fit["flash_bytes"] == d["flash_bytes"]
    assert fit["ram_bytes"] == d["ram_bytes"] + d["stack_bytes"] + d["heap_bytes"]
    assert fit["estimate"]["flash_bytes"] > 0 and fit["estimate"]["flash_error"] is not None

    # 3. the comparison catches a wrong output byte and a moved feature
    project = run / "firmware" / "mps2_an386"
    trace = parse_trace((project / "check_output.txt").read_text())
    ctx = load_run(run, board="mps2_an386")
    ctx.metrics["tflm"] = m["tflm"]  # the measured arena: not measured again
    spec = spec_from_context(ctx)
    own = {  # Python's side taken from the device's own features and inputs: only the model is compared
        "features": np.stack([i["features"] for i in trace.inferences]),
        "input_q": np.stack([i["input_q"] for i in trace.inferences]),
        "output_q": np.stack([i["output_q"] for i in trace.inferences]),
    }
    arena = m["tflm"]["arena_bytes"]
    assert compare_trace(trace, spec, own, arena_bytes=arena)["model_matches_tflm"] is True
    bad = trace.inferences[1]["output_q"].copy()
    bad[0] = np.int8(bad[0] ^ 1)
    trace.inferences[1]["output_q"] = bad
    feats = own["features"].copy()
    feats[2] *= 1.01
    cmp = compare_trace(trace, spec, {**own, "features": feats}, arena_bytes=arena)
    assert cmp["model_matches_tflm"] is False and cmp["n_model_mismatched"] == 1
    assert cmp["features_match"] is False

    # 4. the serial protocol: validate and capture against the firmware on QEMU
    work = tmp_path / "project"
    shutil.copytree(project, work, ignore=shutil.ignore_patterns("build"))
    elf = build(work, "build/serial.elf")
    layout = APPS[app][1]
    with QemuSerial(elf, "mps2-an386") as q:
        with DeviceLink(q.url) as link:  # the protocol refuses what it cannot do, in one line
            for bad, why in (("bogus", "unknown command"), ("infer", "load a complete input"),
                             ("load nothing", "expected 'load input'"), ("capture 0", "number of frames")):
                with pytest.raises(DeviceError, match=why):
                    link.command(bad)
            link.command("load input")
            with pytest.raises(DeviceError, match="more bytes than the load expects"):
                for _ in range(64):  # 8 KB: more than any app's model input
                    link.command("data " + "00" * 128)
        assert main_validate([str(run), "--port", q.url, "--n", "3"]) == 0
        v = json.loads((run / "validate.json").read_text())
        assert v["all_equal"] and v["n"] == 3 and v["device"]["app"] == app
        assert v["instructions_per_inference_median"] > macs
        if app in WINDOW_APPS:  # raw windows: the device's front end and quantisation run too
            assert main_validate([str(run), "--port", q.url, "--n", "2", "--inputs", "windows"]) == 0
            assert json.loads((run / "validate.json").read_text())["max_input_lsb_diff"] <= 1
        seconds = 0.25 if app in ("wake_word", "vibration_anomaly") else 3.0
        paths = capture(q.url, "probe", seconds=seconds, count=2, out=tmp_path / "captured", log=lambda s: None)
    assert len(paths) == 2
    for path in paths:
        got = _read_capture(layout, path)
        n = np.arange(got.shape[1])
        want = np.stack([sensor_value(n, c) for c in range(got.shape[0])])
        assert got.shape[1] == int(round(seconds * float(m["data"]["sample_rate"])))
        np.testing.assert_array_equal(got, want)  # exactly what the device sent: every recording starts at sample 0


def test_ecg_detector_firmware_on_the_emulated_cortex_m4_reports_the_python_beats(tmp_path_factory):
    """The DSP-only R-peak recipe (its own main loop, no model, no hooks): the beats the
    firmware reports on QEMU are Python's detector's on the same samples, within one sample."""
    base = tmp_path_factory.getbasetemp()
    run = base / "qemu_ecg"
    cmd = tinyml_cmd("app=heart_rate", "experiment=ecg_rpeaks", "debug=smoke", "board=mps2_an386",
                     "stages=[data,features,evaluate,deploy,device]", f"hydra.run.dir={run}")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=toy_env(base / "cache"), timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads((run / "metrics.json").read_text())["device"]
    assert d["outputs_match"] is True and d["events"]["match"] is True, d
    assert d["events"]["n_device"] == d["events"]["n_expected"] >= 5  # seconds of ECG: several beats
    assert d["front_end_unit"].startswith("one ECG sample") and 50 < d["instructions_per_feature_frame"] < 5000
    assert 100 < d["stack_bytes"] < 64 * 1024
