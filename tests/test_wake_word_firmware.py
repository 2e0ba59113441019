"""wake_word firmware: the C post-processing and the incremental main loop vs Python.

1. postprocess.c (smoothing, threshold, suppression) is compiled with a small driver and
   fed the same posteriors as apps/wake_word/postprocess.py: the detections (inference,
   class, smoothed score) must be identical.
2. main_loop.c (framer -> one MFCC frame per 20 ms stride -> feature ring -> int8 ->
   model -> postprocess.c) runs on the host HAL with a stand-in model whose outputs are
   picked from its int8 input. Every inference's int8 input must equal the Python
   extractor's features of the same 1 s window, quantised, within 1 LSB (float rounding),
   and the reported detections must equal the Python detector's on the same outputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.apps.wake_word.postprocess import Detector, PostprocessParams, smooth
from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.deploy.firmware import dsp_defines
from tinyml_suite.common.deploy.templates import templates_root

pytestmark = needs_cc()

SR = 16000
LABELS = ("yes", "no", "up", "down", "_silence_", "_unknown_")
N_KW = 4
FW = templates_root()


def _headers(tmp_path, *, threshold, smooth_windows=4, suppression=25, extractor=None, in_scale=1.0,
             in_zp=0, out_scale=1.0 / 256, out_zp=-128, infer_every=1):
    feat_shape = (49, 10, 1) if extractor is None else tuple(extractor.output_shape((1, SR)))
    settings = cgen.ModelSettings(
        app="wake_word", task="classification", labels=LABELS, sample_rate_hz=SR, channels=1,
        window_samples=SR, hop_samples=320 * infer_every, feature_kind="mfcc", input_shape=feat_shape,
        output_shape=(len(LABELS),), input_scale=in_scale, input_zero_point=in_zp, output_scale=out_scale,
        output_zero_point=out_zp, arena_used_bytes=1000, arena_bytes=1104,
        dsp_prefixes=("MFCC",) if extractor is not None else (),
    )
    (tmp_path / "model_settings.h").write_text(cgen.model_settings_header(settings, config_hash="test"))
    ctx = {"n_keywords": N_KW, "smooth_windows": smooth_windows, "suppression_windows": suppression,
           "threshold": 0.6, "infer_every_frames": infer_every, "hop_samples": 320 * infer_every}
    (tmp_path / "app_settings.h").write_text(
        cgen.app_settings_header(ctx, {"threshold": threshold}, config_hash="test"))
    blocks = dsp_defines(extractor, SR) if extractor is not None else []
    (tmp_path / "dsp_params.h").write_text(cgen.dsp_params_header(blocks, config_hash="test"))


DRIVER = r"""
#include <stdio.h>
#include "model_settings.h"
#include "tm_app.h"
int main(void) {
  float out[TM_MODEL_OUTPUT_COUNT];
  int t = 0, c;
  tm_app_init();
  for (;;) {
    tm_app_io_t io = {0};
    tm_event_t ev = {0};
    for (c = 0; c < TM_MODEL_OUTPUT_COUNT; ++c)
      if (scanf("%f", &out[c]) != 1) return 0;
    io.outputs = out; io.n_outputs = TM_MODEL_OUTPUT_COUNT; io.window_index = (uint32_t)t;
    ev.kind = TM_EVENT_NONE; ev.index = -1;
    if (tm_app_postprocess(&io, &ev) == 1) printf("%d %d %.9g\n", t, (int)ev.index, (double)ev.value);
    ++t;
  }
}
"""


def _posteriors(rng, T=600):
    """Softmax posteriors with keyword bursts of random strength, as float32."""
    logits = rng.normal(0, 1, size=(T, len(LABELS)))
    logits[:, 5] += 1.5  # mostly 'unknown'
    for t0 in rng.choice(T - 30, size=14, replace=False):
        logits[t0 : t0 + rng.integers(5, 25), rng.integers(0, N_KW)] += rng.uniform(1.0, 5.0)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("smooth_windows,suppression", [(1, 0), (4, 25), (7, 60)])
def test_postprocess_c_gives_the_python_detections(tmp_path, rng, smooth_windows, suppression):
    P = _posteriors(rng)
    S = smooth(P, smooth_windows)
    # a threshold between two attained scores (no ties at the boundary), with detections
    best = np.sort(np.unique(S[:, :N_KW].max(axis=1)))
    thr = float(np.float32((best[int(0.9 * len(best))] + best[int(0.9 * len(best)) + 1]) / 2))
    _headers(tmp_path, threshold=thr, smooth_windows=smooth_windows, suppression=suppression)
    (tmp_path / "driver.c").write_text(DRIVER)
    exe = compile_c([tmp_path / "driver.c", FW / "apps" / "wake_word" / "postprocess.c"], tmp_path / "pp",
                    include_dirs=[tmp_path, FW / "common"])
    got = run_numbers(exe, P).reshape(-1, 3)
    want = Detector(PostprocessParams(smooth_windows=smooth_windows, threshold=thr,
                                      suppression_windows=suppression), n_keywords=N_KW).run(P)
    assert len(want) >= 3  # the case must exercise detections
    assert [(int(s), int(k)) for s, k, _ in got] == [(d.step, d.index) for d in want]
    np.testing.assert_array_equal(got[:, 2].astype(np.float32), np.array([d.score for d in want], np.float32))


STUB_MODEL = r"""
/* stand-in model: output c = input[(c * 37 + 5) % F]; prints every input to stderr */
#include <stdio.h>
#include "model_settings.h"
#include "tm_model.h"
int tm_model_init(void) { return 0; }
size_t tm_model_arena_used(void) { return 0; }
int tm_model_invoke(const int8_t* in, int8_t* out) {
  int c;
  for (c = 0; c < TM_MODEL_OUTPUT_COUNT; ++c) out[c] = in[(c * 37 + 5) % TM_MODEL_INPUT_COUNT];
  for (c = 0; c < TM_MODEL_INPUT_COUNT; ++c) fprintf(stderr, "%d ", (int)in[c]);
  fputc('\n', stderr);
  return 0;
}
"""


@pytest.mark.parametrize("infer_every", [1, 3])
def test_main_loop_streams_features_and_detections_like_python(tmp_path, rng, infer_every):
    import subprocess

    from tinyml_suite.apps.wake_word.postprocess import stream_inputs
    from tinyml_suite.common.deploy.verify import quantize_input
    from tinyml_suite.common.features.audio import Mfcc

    fe = Mfcc(sample_rate=SR)
    # 3.5 s: noise with two tone bursts and a chirp (the features must move)
    n = int(3.5 * SR)
    t = np.arange(n) / SR
    x = 0.02 * rng.standard_normal(n)
    x[8000:16000] += 0.3 * np.sin(2 * np.pi * 440 * t[8000:16000])
    x[30000:42000] += 0.2 * np.sin(2 * np.pi * (300 + 2000 * t[30000:42000] - 600) * t[30000:42000])
    x = x.astype(np.float32)
    frames = fe(x[None, None, :])[0]
    X = np.ascontiguousarray(stream_inputs(frames, 49, infer_every))
    scale = float(np.float32(np.abs(X).max() / 127.0))
    q = quantize_input(X, scale, 0).reshape(len(X), -1)
    idx = (np.arange(len(LABELS)) * 37 + 5) % q.shape[1]
    out_scale, out_zp = 1.0 / 64, 0
    outputs = ((q[:, idx].astype(np.int32) - out_zp) * np.float32(out_scale)).astype(np.float32)
    S = smooth(outputs, 3)
    best = np.sort(np.unique(S[:, :N_KW].max(axis=1)))
    thr = float(np.float32((best[len(best) // 2] + best[len(best) // 2 + 1]) / 2))
    want = Detector(PostprocessParams(smooth_windows=3, threshold=thr, suppression_windows=10),
                    n_keywords=N_KW).run(outputs)
    assert want, "the stand-in must produce detections"

    _headers(tmp_path, threshold=thr, smooth_windows=3, suppression=10, extractor=fe, in_scale=scale,
             out_scale=out_scale, out_zp=out_zp, infer_every=infer_every)
    (tmp_path / "stub_model.c").write_text(STUB_MODEL)
    dsp = FW / "dsp"
    sources = [
        FW / "apps" / "wake_word" / "main_loop.c", FW / "apps" / "wake_word" / "postprocess.c",
        FW / "common" / "tm_runner.c", FW / "boards" / "host_c" / "src" / "hal_host.c",
        FW / "boards" / "host_c" / "src" / "main.c", tmp_path / "stub_model.c",
        dsp / "tm_fe_audio.c", dsp / "tm_mfcc.c", dsp / "tm_mel.c", dsp / "tm_frames.c", dsp / "tm_fft.c",
    ]
    exe = compile_c(sources, tmp_path / "ww", include_dirs=[tmp_path, FW / "common", dsp])
    proc = subprocess.run([str(exe)], input="\n".join(f"{v:.9g}" for v in x), capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [ln for ln in proc.stderr.splitlines() if ln and ln[0] in "-0123456789"]
    c_inputs = np.array([[int(v) for v in ln.split()] for ln in rows])
    assert c_inputs.shape == q.shape  # one inference per stride position, none missing
    assert np.abs(c_inputs - q.astype(int)).max() <= 1  # float rounding may move one step
    events = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert [(e["window"], e["index"], e["label"]) for e in events] == [
        (d.step, d.index, LABELS[d.index]) for d in want
    ]
    # the event time is the end of the window: 49 frames = 15840 samples, then a stride each
    ends_ms = [int((15840 + d.step * infer_every * 320) * 1000 / SR) for d in want]
    assert [e["t_ms"] for e in events] == ends_ms
