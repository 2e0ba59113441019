"""heart_rate firmware: the C twins held to the Python code, compiled on the host.

1. ``firmware_templates/dsp/tm_fe_ppg_spectrum.c`` (the ``ppg_spectrum`` front end) vs
   :class:`PpgSpectrum` on simulated windows (rest and running): float32 agreement far
   inside one int8 input step (1/255 of the [0, 1] feature range).
2. ``firmware_templates/apps/heart_rate/postprocess.c`` (the tracking prior) vs
   :class:`HrTracker`, window by window, for both refinements.
3. The Pan-Tompkins twin and the streaming R-peak detector vs the Python detector (ECG).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.apps.heart_rate.postprocess import HrTracker, hr_grid
from tinyml_suite.common.context import RunState
from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.deploy.firmware import dsp_defines
from tinyml_suite.common.deploy.templates import feature_sources, templates_root
from tinyml_suite.common.features.ppg import PpgSpectrum
from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg

pytestmark = [needs_cc(), pytest.mark.needs_cc]

FW = templates_root()
GRID = hr_grid(30.0, 1.875, 113)

FE_DRIVER = r"""
#include <stdio.h>
#include "model_settings.h"
#include "tm_features.h"
int main(void) {
  static float window[TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES];
  static float out[TM_FEATURE_COUNT];
  int n, w, i;
  if (tm_features_init() != 0) return 2;
  if (scanf("%d", &n) != 1) return 3;
  for (w = 0; w < n; ++w) {
    for (i = 0; i < TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES; ++i)
      if (scanf("%f", &window[i]) != 1) return 4;
    if (tm_features_compute(window, out) != 0) return 5;
    for (i = 0; i < TM_FEATURE_COUNT; ++i) printf("%.9g\n", (double)out[i]);
  }
  return 0;
}
"""


def _sim_windows(n: int = 6) -> np.ndarray:
    r = simulate_wrist_ppg(0.0, rng=4, protocol=[("rest", 40.0), ("walk", 40.0), ("run", 60.0)])
    x = np.concatenate([r.ppg[None], r.acc]).astype(np.float32)
    starts = np.linspace(0, x.shape[1] - 256, n).astype(int)
    return np.stack([x[:, s : s + 256] for s in starts])


@pytest.mark.parametrize("opts", [{}, {"acc_mode": "sum", "compress": "sqrt"}, {"motion_channel": True},
                                  {"motion_channel": True, "motion_rule": "wiener", "motion_strength": 3.0, "acc_mode": "sum"}])
def test_ppg_spectrum_front_end_matches_numpy(tmp_path, opts):
    fe = PpgSpectrum(sample_rate=32.0, **opts)
    x = _sim_windows()
    ref = fe(x)
    (tmp_path / "dsp_params.h").write_text(cgen.dsp_params_header(dsp_defines(fe, 32.0), config_hash="test"))
    settings = {"TM_INPUT_CHANNELS": 4, "TM_WINDOW_SAMPLES": 256, "TM_FEATURE_COUNT": int(np.prod(ref.shape[1:]))}
    (tmp_path / "model_settings.h").write_text(cgen.defines_header("MODEL_SETTINGS_H", settings, tool="test", config_hash="test"))
    (tmp_path / "driver.c").write_text(FE_DRIVER)
    sources = [p for p in feature_sources(fe) if p.suffix == ".c"]
    exe = compile_c([*sources, tmp_path / "driver.c"], tmp_path / "fe",
                    include_dirs=[tmp_path, FW / "dsp", FW / "common"], extra_flags=["-DTM_FFT_MAX_N=1024"])
    out = run_numbers(exe, np.concatenate([[len(x)], x.ravel()])).reshape(ref.shape)
    err = np.abs(out - ref)
    # one int8 input step is about 1/255 = 3.9e-3; the C float32 FFT stays 100x below it
    assert err.max() < 4e-5, f"worst |C - numpy| = {err.max():.2e}"
    assert ref.min() >= 0.0 and ref.max() <= 1.0 + 1e-6


TRACK_DRIVER = r"""
#include <stdio.h>
#include "model_settings.h"
#include "tm_app.h"
int main(void) {
  float out[TM_MODEL_OUTPUT_COUNT];
  static float feat[TM_FEATURE_COUNT];
  int c;
  if (tm_app_init() != 0) return 2;
  for (;;) {
    tm_app_io_t io = {0};
    tm_event_t ev = {0};
    for (c = 0; c < TM_MODEL_OUTPUT_COUNT; ++c)
      if (scanf("%f", &out[c]) != 1) return 0;
    for (c = 0; c < TM_FEATURE_COUNT; ++c)
      if (scanf("%f", &feat[c]) != 1) return 4;
    io.outputs = out; io.n_outputs = TM_MODEL_OUTPUT_COUNT;
    io.features = feat; io.n_features = TM_FEATURE_COUNT;
    ev.kind = TM_EVENT_NONE;
    if (tm_app_postprocess(&io, &ev) != 1 || ev.kind != TM_EVENT_VALUE) return 3;
    printf("%.9g %.9g\n", (double)ev.value, (double)ev.confidence);
  }
}
"""


def _score_sequence(rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """Softmax-like scores: a moving HR bump, a strong intermittent distractor, noise."""
    hr = 80 + 50 * np.sin(np.linspace(0, 3, n))
    out = []
    for i in range(n):
        s = np.exp(-0.5 * ((GRID - hr[i]) / 4.0) ** 2)
        if i % 7 in (3, 4):
            s += 1.5 * np.exp(-0.5 * ((GRID - 155.0) / 3.0) ** 2)
        s += 0.05 * rng.random(GRID.size)
        out.append(s / s.sum())
    return np.asarray(out, np.float32)


def _app_headers(tmp_path, app_ctx: dict, input_shape=(113, 4)) -> None:
    settings = cgen.ModelSettings(
        app="heart_rate", task="regression", labels=(), sample_rate_hz=32, channels=4, window_samples=256,
        hop_samples=64, feature_kind="ppg_spectrum", input_shape=input_shape, output_shape=(113,), input_scale=1 / 255,
        input_zero_point=-128, output_scale=1 / 256, output_zero_point=-128, arena_used_bytes=1000, arena_bytes=1100,
    )
    (tmp_path / "model_settings.h").write_text(cgen.model_settings_header(settings, config_hash="test"))
    (tmp_path / "app_settings.h").write_text(cgen.app_settings_header(app_ctx, {}, config_hash="test"))
    (tmp_path / "dsp_params.h").write_text(cgen.dsp_params_header([], config_hash="test"))


def _exercise_features(fe: PpgSpectrum, n: int = 60) -> np.ndarray:
    """Features of consecutive windows of a simulated recording: rest, forearm exercise, rest, jumping."""
    r = simulate_wrist_ppg(0.0, rng=7, protocol=[("rest", 30.0), ("forearm", 50.0), ("rest", 20.0), ("jump", 40.0)])
    x = np.concatenate([r.ppg[None], r.acc]).astype(np.float32)
    return fe(np.stack([x[:, i * 64 : i * 64 + 256] for i in range(n)]))


TRACKINGS = {
    "mean": {"refine": "mean", "refine_bins": 3, "gamma": 0.7},
    "peak": {"refine": "peak", "refine_bins": 3, "gamma": 0.7},
    "motion": {"refine": "mean", "refine_bins": 3, "gamma": 1.0, "gamma_motion": 0.3, "uniform": 0.1,
               "uniform_motion": 1e-4, "reacquire_acc": 0.9},
    "absolute": {"refine": "peak", "refine_bins": 2, "gamma": 1.0, "gamma_motion": 0.5, "uniform": 0.05,
                 "uniform_motion": 1e-3, "normalize": False, "floor": 0.1, "init_bpm": 80.0},
}


@pytest.mark.parametrize("name,fe_opts", [("mean", {}), ("peak", {}), ("motion", {}), ("absolute", {}),
                                          ("motion", {"motion_channel": True, "acc_mode": "sum", "compress": "sqrt"})])
def test_tracker_c_matches_python(tmp_path, rng, name, fe_opts):
    from tinyml_suite.apps.heart_rate.app import HeartRateApp

    app = HeartRateApp(tracking=TRACKINGS[name], dsp_baseline=None)
    fe = PpgSpectrum(sample_rate=32.0, **fe_opts)

    class _Ctx:
        data = None
        features = fe
        state = RunState()

    feats = _exercise_features(fe)
    _app_headers(tmp_path, app.firmware_context(_Ctx()), input_shape=feats.shape[1:])
    (tmp_path / "driver.c").write_text(TRACK_DRIVER)
    exe = compile_c([FW / "apps" / "heart_rate" / "postprocess.c", tmp_path / "driver.c"], tmp_path / "trk",
                    include_dirs=[tmp_path, FW / "common"])
    scores = _score_sequence(rng)
    logits = np.log(scores) + rng.normal(0, 0.01, scores.shape).astype(np.float32) + 3.0  # what the model outputs
    c = run_numbers(exe, np.concatenate([logits, feats.reshape(len(feats), -1)], axis=1).ravel()).reshape(-1, 2)
    tracker = HrTracker(GRID, app.tracking)
    acc = fe.acc_spectrum(feats)
    py = []
    for s, a in zip(app.probabilities(logits), acc):
        v = tracker.step(s, a)
        py.append((v, tracker.last_confidence))
    py = np.asarray(py)
    assert len(c) == len(scores)
    np.testing.assert_allclose(c[:, 0], py[:, 0], atol=0.01)  # BPM
    np.testing.assert_allclose(c[:, 1], py[:, 1], atol=1e-4)  # posterior mass
    # and the tracker does its job on this sequence: it ignores the intermittent distractor
    # (flattened evidence while the wrist moves follows the fast ramp a little later)
    truth = 80 + 50 * np.sin(np.linspace(0, 3, len(scores)))
    assert np.max(np.abs(py[5:, 0] - truth[5:])) < (6.0 if "gamma_motion" in TRACKINGS[name] else 4.0)


def test_tracker_c_refuses_an_old_app_settings(tmp_path):
    from tinyml_suite.apps.heart_rate.app import HeartRateApp

    class _Ctx:
        data = None
        state = RunState()

    ctx = HeartRateApp(dsp_baseline=None).firmware_context(_Ctx())
    ctx["track_version"] = 1
    _app_headers(tmp_path, ctx)
    with pytest.raises(AssertionError, match="implements the heart-rate tracker version 2"):
        compile_c([FW / "apps" / "heart_rate" / "postprocess.c"], tmp_path / "x.o", include_dirs=[tmp_path, FW / "common"],
                  extra_flags=["-c"])


# -- ECG: Pan-Tompkins twin, streaming R-peak decision, the ECG main loop ---------------------

FS_ECG = 360.0


def _ecg_record(seconds: float = 90.0, seed: int = 3):
    from tinyml_suite.datasets.synthetic.ecg import simulate_ecg

    return simulate_ecg(seconds, rng=seed, pvc_rate=0.08, noise=1.5)


def _ecg_headers(tmp_path, window: int = 720):
    from tinyml_suite.apps.heart_rate.app import EcgApp
    from tinyml_suite.common.features.ppg import EcgQrs

    fe = EcgQrs(sample_rate=FS_ECG)
    app = EcgApp()

    class _Data:
        sample_rate = FS_ECG

    class _Ctx:
        data = _Data()
        state = RunState()

    settings = cgen.ModelSettings(
        app="heart_rate", task="regression", labels=(), sample_rate_hz=FS_ECG, channels=1, window_samples=window,
        hop_samples=window, feature_kind="ecg_qrs", input_shape=(3, window), output_shape=(), has_model=False,
        dsp_prefixes=("PANTOMP",),
    )
    (tmp_path / "model_settings.h").write_text(cgen.model_settings_header(settings, config_hash="test"))
    (tmp_path / "app_settings.h").write_text(cgen.app_settings_header(app.firmware_context(_Ctx()), {}, config_hash="test"))
    (tmp_path / "dsp_params.h").write_text(cgen.dsp_params_header(dsp_defines(fe, FS_ECG), config_hash="test"))
    return fe, app


PT_DRIVER = r"""
#include <stdio.h>
#include "tm_pan_tompkins.h"
int main(void) {
  tm_pantomp_t s;
  float x, y[3];
  if (tm_pantomp_init(&s) != 0) return 2;
  while (scanf("%f", &x) == 1) {
    tm_pantomp_push(&s, x, y);
    printf("%.9g %.9g %.9g\n", (double)y[0], (double)y[1], (double)y[2]);
  }
  return 0;
}
"""


def test_pan_tompkins_c_twin_matches_numpy(tmp_path):
    from tinyml_suite.common.dsp.qrs import pan_tompkins

    _ecg_headers(tmp_path)
    (tmp_path / "driver.c").write_text(PT_DRIVER)
    exe = compile_c([FW / "dsp" / "tm_pan_tompkins.c", FW / "dsp" / "tm_biquad.c", tmp_path / "driver.c"],
                    tmp_path / "pt", include_dirs=[tmp_path, FW / "dsp"])
    x = _ecg_record(20.0).ecg
    c = run_numbers(exe, x).reshape(-1, 3).T
    ref = pan_tompkins(x, sample_rate=FS_ECG)
    for row, name in enumerate(("hp", "bp", "mwi")):
        scale = np.abs(ref[row]).max()
        err = np.abs(c[row] - ref[row]).max() / scale
        assert err < 1e-4, f"{name}: worst |C - numpy| / max = {err:.2e}"


QRS_DRIVER = r"""
#include <stdio.h>
#include "ecg_beats.h"
int main(void) {
  tm_beat_t beats[TM_QRS_MAX_BEATS];
  float hp, bp, mwi;
  int k, i;
  if (tm_qrs_init() != 0) return 2;
  while (scanf("%f %f %f", &hp, &bp, &mwi) == 3) {
    k = tm_qrs_push(hp, bp, mwi, beats);
    for (i = 0; i < k; ++i) printf("%ld\n", (long)beats[i].index);
  }
  k = tm_qrs_flush(beats);
  for (i = 0; i < k; ++i) printf("%ld\n", (long)beats[i].index);
  return 0;
}
"""


@pytest.mark.parametrize("seed", [3, 11])
def test_streaming_r_peak_decision_equals_python(tmp_path, seed):
    """The C decision stage, fed the Python Pan-Tompkins rows, finds exactly detect_qrs's beats."""
    from tinyml_suite.apps.heart_rate.ecg import detect_qrs
    from tinyml_suite.common.dsp.qrs import pan_tompkins

    _, app = _ecg_headers(tmp_path)
    (tmp_path / "driver.c").write_text(QRS_DRIVER)
    exe = compile_c([FW / "apps" / "heart_rate" / "postprocess.c", FW / "dsp" / "tm_peaks.c", tmp_path / "driver.c"],
                    tmp_path / "qrs", include_dirs=[tmp_path, FW / "dsp", FW / "common", FW / "apps" / "heart_rate"])
    r = _ecg_record(120.0, seed)
    feats = pan_tompkins(r.ecg, sample_rate=FS_ECG)
    py = detect_qrs(feats, sample_rate=FS_ECG, params=app.detector)
    c = run_numbers(exe, feats.T.ravel()).astype(np.int64)
    assert len(py) > 100
    np.testing.assert_array_equal(c, py)


def test_ecg_recipe_firmware_reports_the_python_beats(compose_cfg, tmp_path):
    """ecg_sim -> deploy -> `make` the host project -> stream a record through the binary:
    the beats it prints are the Python detector's (C float32 front end: within 1 sample)."""
    import json
    import shutil
    import subprocess

    from tinyml_suite.apps.heart_rate.ecg import detect_qrs
    from tinyml_suite.common.dsp.qrs import pan_tompkins
    from tinyml_suite.common.pipeline import run_recipe

    if shutil.which("make") is None:
        pytest.skip("make not found")
    cfg = compose_cfg(["app=heart_rate", "experiment=ecg_rpeaks", "debug=smoke", "stages=[data,features,evaluate,deploy]"])
    metrics, ctx = run_recipe(cfg, tmp_path / "run")
    assert metrics["float"]["se"] > 0.99 and metrics["float"]["ppv"] > 0.99
    project = tmp_path / "run" / "firmware" / "host"
    proc = subprocess.run(["make", "-s", "build/tinyml_app"], cwd=project, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = _ecg_record(60.0, 5)
    text = "\n".join(f"{v:.9g}" for v in r.ecg) + "\n"
    run = subprocess.run([str(project / "build" / "tinyml_app")], input=text, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    c_beats = np.array([e["index"] for e in events if e["label"] == "beat"])
    py = detect_qrs(pan_tompkins(r.ecg, sample_rate=FS_ECG), sample_rate=FS_ECG, params=ctx.app.detector)
    assert len(c_beats) == len(py) and np.max(np.abs(c_beats - py)) <= 1
    # and they are the annotated beats (150 ms)
    from tinyml_suite.apps.heart_rate.metrics import beat_metrics

    m = beat_metrics(r.beats, c_beats, sample_rate=FS_ECG)
    assert m["se"] >= 0.99 and m["ppv"] >= 0.99, m
    hr = [e["value"] for e in events[1:]]
    assert 40 < np.median(hr) < 140


@pytest.mark.parametrize("bandpass", [None, [0.5, 4.0]])
def test_ppg_time_front_end_matches_numpy(tmp_path, bandpass):
    from tinyml_suite.common.features.ppg import PpgTime

    fe = PpgTime(sample_rate=32.0, bandpass_hz=bandpass)
    x = _sim_windows(4)
    ref = fe(x)
    (tmp_path / "dsp_params.h").write_text(cgen.dsp_params_header(dsp_defines(fe, 32.0), config_hash="test"))
    settings = {"TM_INPUT_CHANNELS": 4, "TM_WINDOW_SAMPLES": 256, "TM_FEATURE_COUNT": 1024}
    (tmp_path / "model_settings.h").write_text(cgen.defines_header("MODEL_SETTINGS_H", settings, tool="test", config_hash="test"))
    (tmp_path / "driver.c").write_text(FE_DRIVER)
    sources = [p for p in feature_sources(fe) if p.suffix == ".c"]
    exe = compile_c([*sources, tmp_path / "driver.c"], tmp_path / "fe", include_dirs=[tmp_path, FW / "dsp", FW / "common"])
    out = run_numbers(exe, np.concatenate([[len(x)], x.ravel()])).reshape(ref.shape)
    # standardised values are O(1); one int8 step of a +-4 range is 0.03
    assert np.abs(out - ref).max() < 1e-4, np.abs(out - ref).max()
