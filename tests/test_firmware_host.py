"""The firmware's C99 path on the host, against the Python pipeline.

1. ``make check`` of the rendered host project: C front end + C int8 quantisation on a
   stream of samples, window by window, against what Python computed, and the model
   compiled to C (runtime: engine) on Python's int8 inputs against TFLite Micro's outputs,
   bit for bit (a corrupted expectation of either must make it fail).
2. Host-in-the-loop: the C runner built as a shared library and driven from Python with
   ctypes; the model runs on the REAL TFLite Micro runtime (tflite-micro package) through
   a callback. Samples in -> C ring buffer -> C features -> C quantisation -> TFLM ->
   C dequantisation -> C post-processing -> events out, compared with the Python
   pipeline (numpy features, the suite's quantisation, TFLM, argmax) on the same samples.
   This covers everything of the firmware except model_runner_tflm.cc (needs TFLM's C++).

Both run on the test-only toy recipe (raw features) and on an MLPerf-KWS MFCC front end
(tm_fe_audio.c + the C twins of the DSP engineers) with an untrained tiny model.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import C_FLAGS, compile_c
from helpers.run_if import needs_cc
from helpers.toy_run import make_toy_run

pytestmark = needs_cc()


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_ctx(tmp_path_factory):
    """RunContext of a saved toy run (trained by the real `tinyml` command) + its test data."""
    from tinyml_suite.common.pipeline import instantiate_logged
    from tinyml_suite.common.saved_run import load_run

    run = make_toy_run(tmp_path_factory.getbasetemp())
    ctx = load_run(run, board="host")
    data = instantiate_logged(ctx.cfg.dataset).load()  # the toy tones (synthetic, seeded)
    idx = np.linspace(0, len(data.test) - 1, 6).round().astype(int)  # all three classes
    stream = np.concatenate(list(data.test.x[idx].astype(np.float32)), axis=-1)
    return ctx, stream


@pytest.fixture(scope="module")
def mfcc_ctx(tmp_path_factory):
    """A RunContext with the MFCC front end (49 x 10) and an untrained int8 Conv2D model."""
    import keras
    from omegaconf import OmegaConf
    from toy import ToyApp

    from tinyml_suite.common.data import DataSplits, Split
    from tinyml_suite.common.deploy.quantize import convert
    from tinyml_suite.common.features.audio import Mfcc
    from tinyml_suite.common.pipeline import RunContext

    tmp = tmp_path_factory.mktemp("mfcc_run")
    rng = np.random.default_rng(5)
    sr, n = 16000, 16000
    t = np.arange(n) / sr

    def clips(k):
        f = rng.uniform(200, 3000, k)[:, None]
        x = 0.4 * np.sin(2 * np.pi * f * t) * np.hanning(n) + 0.05 * rng.standard_normal((k, n))
        return x[:, None, :].astype(np.float32)

    one = Split(clips(4), np.array([0, 1, 2, 0]))
    data = DataSplits(one, one, one, float(sr), ("mic",), "classification", ("a", "b", "c"), "tones16k")
    extractor = Mfcc(sample_rate=sr)
    feats = extractor(data.train.x)
    keras.utils.set_random_seed(1)
    inp = keras.Input(feats.shape[1:])
    h = keras.layers.Conv2D(4, (3, 3), activation="relu")(inp)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model_bytes = convert(keras.Model(inp, out), variant="int8", representative=extractor(clips(16)))
    (tmp / "model_int8.tflite").write_bytes(model_bytes)
    cfg = OmegaConf.create({"seed": 0, "features": {"_target_": "tinyml_suite.common.features.audio.Mfcc"},
                            "board": {"name": "host"}})
    ctx = RunContext(cfg=cfg, run_dir=tmp, app=ToyApp(), seed=0, config_hash="mfcc0test001")
    ctx.data, ctx.features = data, extractor
    ctx.artifacts["tflite_int8"] = tmp / "model_int8.tflite"
    ctx.metrics["model"] = {}
    return ctx, np.concatenate(list(clips(3)), axis=-1)


CASES = ["toy", "mfcc"]


@pytest.fixture(params=CASES)
def case(request):
    return request.getfixturevalue(f"{request.param}_ctx")


# -- make check ---------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="make not found")
def test_make_check_passes_and_catches_a_wrong_expectation(case, tmp_path):
    from tinyml_suite.common.firmware_stage import deploy

    ctx, _ = case
    out = tmp_path / "host"
    result = deploy(ctx, "host", out)
    assert result["fit"]["fits"] and (out / "testdata" / "check_vectors.txt").exists()
    proc = subprocess.run(["make", "-C", str(out), "check"], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tm_check: OK" in proc.stdout
    header = (out / "testdata" / "check_vectors.txt").read_text().splitlines()[1].split()
    n_windows = int(header[header.index("windows") + 1])
    assert f"tm_check: {n_windows} window(s)" in proc.stdout and n_windows >= 3
    # the host board runs the model compiled to C: real inference, bit-exact with TFLM
    assert result["firmware"]["runtime"] == "engine"
    assert f"compiled model bit-exact with TFLite Micro on {n_windows} of {n_windows} window(s)" in proc.stdout
    good = (out / "testdata" / "check_vectors.txt").read_text()
    # ... and that check can fail: one TFLM output moved by 1 LSB
    lines = good.splitlines()
    outs = lines[3].split()
    outs[0] = str(int(outs[0]) + 1 if int(outs[0]) < 127 else int(outs[0]) - 1)
    lines[3] = " ".join(outs)
    (out / "testdata" / "check_vectors.txt").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(out / "build" / "tm_check"), "testdata/check_vectors.txt"], cwd=out,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "the compiled model's outputs differ" in proc.stderr
    assert "window 0: compiled model output DIFFERS FROM TFLite Micro's" in proc.stdout
    (out / "testdata" / "check_vectors.txt").write_text(good)
    # the check can fail: move one expected int8 input by 3 LSB
    lines = (out / "testdata" / "check_vectors.txt").read_text().splitlines()
    vals = lines[2].split()
    vals[7] = str(int(vals[7]) + 3 if int(vals[7]) < 120 else int(vals[7]) - 3)
    lines[2] = " ".join(vals)
    (out / "testdata" / "check_vectors.txt").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(out / "build" / "tm_check"), "testdata/check_vectors.txt"], cwd=out,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "FAILED" in proc.stderr
    assert "window 0: model input max |C - Python| = 3 LSB" in proc.stdout


# -- host in the loop ---------------------------------------------------------------------


CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int8), ctypes.c_int,
                            ctypes.POINTER(ctypes.c_int8), ctypes.c_int)


class Event(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("index", ctypes.c_int32), ("label", ctypes.c_char_p),
                ("value", ctypes.c_float), ("confidence", ctypes.c_float),
                ("timestamp_ms", ctypes.c_uint32), ("window_index", ctypes.c_uint32)]


def _build_runner_library(project: Path, out: Path) -> ctypes.CDLL:
    from tinyml_suite.common.deploy.templates import templates_root

    src = project / "src"
    common = templates_root() / "common"
    sources = [src / "tm_runner.c", src / "tm_app_default.c", common / "tm_model_callback.c", common / "hal_capture.c"]
    sources += [p for p in src.glob("*.c") if p.name not in {
        "tm_runner.c", "tm_app_default.c", "tm_main.c", "main.c", "hal_host.c", "tm_check.c", "tm_model_replay.c",
        "tm_model_engine.c"} and not p.name.startswith("tm_eng_")]  # the model is TFLM, called back
    lib = compile_c(sources, out, include_dirs=[src], extra_flags=["-shared", "-fPIC"])
    assert all(f in C_FLAGS for f in ("-Werror", "-Wdouble-promotion", "-Wfloat-conversion"))
    return ctypes.CDLL(str(lib))


def test_c_runner_with_tflm_in_the_loop_matches_the_python_pipeline(case, tmp_path):
    from tflite_micro.python.tflite_micro import runtime

    from tinyml_suite.common.deploy.verify import dequantize, quantize_input, run_tflm
    from tinyml_suite.common.firmware_stage import deploy, spec_from_context

    ctx, stream = case
    project = tmp_path / "host"
    deploy(ctx, "host", project)
    spec = spec_from_context(ctx)
    lib = _build_runner_library(project, tmp_path / "librunner.so")

    # the model step of the firmware: the real TFLM runtime, called from C
    interp = runtime.Interpreter.from_bytes(spec.model_bytes, arena_size=64 * 1024)
    seen_inputs: list[np.ndarray] = []
    errors: list[BaseException] = []

    def invoke(in_ptr, n_in, out_ptr, n_out):
        try:
            x = np.ctypeslib.as_array(in_ptr, shape=(n_in,)).copy()
            seen_inputs.append(x)
            interp.set_input(x.reshape((1, *spec.input_shape)), 0)
            interp.invoke()
            y = np.asarray(interp.get_output(0), dtype=np.int8).reshape(-1)
            np.ctypeslib.as_array(out_ptr, shape=(n_out,))[:] = y
            return 0
        except BaseException as exc:  # noqa: BLE001 - never let an exception vanish inside ctypes
            errors.append(exc)
            return -1

    cb = CALLBACK(invoke)
    lib.tm_model_set_callback(cb)
    lib.hal_capture_event.restype = ctypes.POINTER(Event)
    lib.tm_runner_init.restype = ctypes.c_int
    assert lib.tm_runner_init() == 0

    # push the samples frame-interleaved, in uneven chunks, as a HAL would
    frames = np.ascontiguousarray(stream.T, dtype=np.float32)  # (n, channels)
    fptr = ctypes.POINTER(ctypes.c_float)
    pos, runs, rng = 0, 0, np.random.default_rng(2)
    while pos < len(frames):
        k = int(min(rng.integers(1, 300), len(frames) - pos))
        chunk = np.ascontiguousarray(frames[pos : pos + k])
        t_ms = int((pos + k - 1) * 1000 // spec.sample_rate)
        r = lib.tm_runner_push(chunk.ctypes.data_as(fptr), k, ctypes.c_uint32(t_ms))
        assert r >= 0, (r, errors)
        runs += r
        pos += k
    assert not errors, errors

    # the Python pipeline on the same windows
    w, hop = spec.window_samples, spec.hop_samples
    starts = list(range(0, stream.shape[-1] - w + 1, hop))
    windows = np.stack([stream[:, s : s + w] for s in starts])
    feats = np.asarray(ctx.features(windows), dtype=np.float32)
    q_py = quantize_input(feats, spec.input_scale, spec.input_zero_point).reshape(len(starts), -1)
    out_py = run_tflm(spec.model_bytes, feats, arena_size=64 * 1024).reshape(len(starts), -1)

    assert runs == len(starts) == len(seen_inputs) >= 3
    q_c = np.stack(seen_inputs).astype(int)
    diff = np.abs(q_c - q_py.astype(int))
    # raw features are the samples (exact); the MFCC C twin differs from numpy by float
    # rounding, which may move a value across one quantisation step
    tol = 0 if spec.feature_kind == "toy_raw" else 1
    assert diff.max() <= tol, f"max |C - Python| = {diff.max()} LSB"
    assert (diff == 0).mean() >= 0.99

    # events: one per window (default hooks report every classification)
    n_events = lib.hal_capture_count()
    assert n_events == len(starts)
    buf = ctypes.create_string_buffer(256)
    for j in range(n_events):
        ev = lib.hal_capture_event(j).contents
        y_py = dequantize(out_py[j], spec.output_scale, spec.output_zero_point)
        if diff[j].max() == 0:  # same input -> the same TFLM output -> the same decision
            assert ev.index == int(np.argmax(y_py))
            assert ev.value == pytest.approx(float(y_py.max()), abs=0)
        assert ev.label.decode() == spec.labels[ev.index]
        assert ev.window_index == j
        # the runner back-dates the chunk's time stamp (whole ms) to the window's last frame
        assert abs(int(ev.timestamp_ms) - (starts[j] + w - 1) * 1000 / spec.sample_rate) <= 1
        assert lib.tm_event_format(ctypes.byref(ev), buf, 256) > 0
        line = json.loads(buf.value.decode())
        assert line["event"] == "class" and line["index"] == ev.index and line["window"] == j
    assert lib.tm_runner_inferences() == len(starts)



@pytest.mark.skipif(shutil.which("make") is None, reason="make not found")
def test_dsp_only_recipe_builds_and_runs_the_whole_firmware_here(toy_ctx, tmp_path):
    """A recipe without a model (App.trains_model = False) needs no TFLite Micro: `make`
    builds the complete firmware on the host and it runs on samples from stdin; `make check`
    compares the C features (float) with Python's."""
    import copy

    from toy import ToyApp

    from tinyml_suite.common.context import RunState
    from tinyml_suite.common.firmware_stage import deploy

    class DspOnlyToy(ToyApp):
        trains_model = False

    ctx0, stream = toy_ctx
    ctx = copy.copy(ctx0)
    ctx.app = DspOnlyToy()
    ctx.state = RunState(standin_data=False)
    ctx.artifacts = {}
    out = tmp_path / "host"
    result = deploy(ctx, "host", out)
    assert "model_data.cc" not in " ".join(result["firmware"]["files"])
    assert result["fit"]["flash_lines"][0][1] == 0 and result["fit"]["arena_bytes"] == 0
    assert "#define TM_HAS_MODEL 0" in (out / "src" / "model_settings.h").read_text()
    proc = subprocess.run(["make", "-C", str(out), "check"], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "tm_check: OK" in proc.stdout, proc.stdout + proc.stderr
    assert "features max |C - Python| = 0 " in proc.stdout  # raw features: exact
    proc = subprocess.run(["make", "-C", str(out)], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = "\n".join(f"{v:.6f}" for v in stream[0])
    run = subprocess.run([str(out / "build" / "tinyml_app")], input=text, check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "tinyml: toy ready: 1 channel(s) at 1000 Hz, window 128, hop 64 samples" in run.stderr
    # no app hooks for a model-less toy: the default hooks say so on every window
    n_windows = (stream.shape[-1] - 128) // 64 + 1
    assert run.stderr.count("tm_app_postprocess returned -1") == n_windows


def test_runner_buffers_are_counted_only_when_the_main_loop_uses_the_runner(tmp_path, monkeypatch):
    from tinyml_suite.common.deploy import firmware

    (tmp_path / "apps" / "a").mkdir(parents=True)
    (tmp_path / "apps" / "a" / "own_loop.c").write_text("int tm_main_loop_once(void) { tm_quantize_input(0, 0, 0); }\n")
    (tmp_path / "apps" / "a" / "runner_loop.c").write_text("int f(void) { return tm_runner_push(0, 0, 0u); }\n")
    monkeypatch.setattr(firmware, "templates_root", lambda: tmp_path)

    def spec(main):
        return firmware.FirmwareSpec(app="a", task="classification", labels=(), sample_rate=1.0, channels=1,
                                     window_samples=2, hop_samples=1, feature_kind="k", input_shape=(2,),
                                     output_shape=(1,), config_hash="0" * 12, firmware_main=main)

    assert firmware._uses_runner(spec(""))
    assert firmware._uses_runner(spec("apps/a/runner_loop.c"))
    assert not firmware._uses_runner(spec("apps/a/own_loop.c"))
