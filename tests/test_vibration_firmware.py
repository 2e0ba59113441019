"""vibration_anomaly's firmware pieces compiled on the host: the hooks
(firmware_templates/apps/vibration_anomaly/postprocess.c, with generated model_settings.h /
app_settings.h) against the Python post-processing (apps/vibration_anomaly/postprocess.py)
window by window, and the ping-pong sample buffer (tm_pingpong.h) under seeded
interleavings of interrupts and reads.

Tolerance: the score is a float32 mean of squares in C and a float64 one in Python:
``rtol 1e-6``. The alarm state must match exactly on every window (the C and Python
comparisons are both in float32; sequences are built away from exact ties).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.apps.vibration_anomaly.postprocess import alarm_sequence, anomaly_score
from tinyml_suite.common.deploy.cgen import (
    ModelSettings,
    app_settings_header,
    model_settings_header,
)

pytestmark = [needs_cc(), pytest.mark.needs_cc]

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "firmware_templates" / "apps" / "vibration_anomaly" / "postprocess.c"
COMMON = ROOT / "firmware_templates" / "common"

_DRIVER = r"""
#include <stdio.h>
#include "model_settings.h"
#include "tm_app.h"
int main(void) {
  static float outputs[TM_MODEL_OUTPUT_COUNT];
  int n_windows, w, i;
  if (tm_app_init() != 0) return 2;
  if (scanf("%d", &n_windows) != 1) return 3;
  for (w = 0; w < n_windows; ++w) {
    tm_app_io_t io;
    tm_event_t ev;
    for (i = 0; i < TM_MODEL_OUTPUT_COUNT; ++i) {
      if (scanf("%f", &outputs[i]) != 1) return 4;
    }
    io.features = outputs; io.n_features = TM_MODEL_OUTPUT_COUNT; io.input_q = 0;
    io.outputs = outputs; io.outputs_q = 0; io.n_outputs = TM_MODEL_OUTPUT_COUNT;
    io.timestamp_ms = (uint32_t)w; io.window_index = (uint32_t)w; io.hop_s = 0.128f;
    ev.kind = TM_EVENT_NONE; ev.index = -1; ev.label = 0; ev.value = 0.0f; ev.confidence = 0.0f;
    if (tm_app_postprocess(&io, &ev) != 1) return 5;
    printf("%d %.9g %d\n", (int)ev.kind, (double)ev.value, (int)ev.index);
  }
  return 0;
}
"""


def _build(tmp_path: Path, task: str, n_out: int, context: dict, calibration: dict) -> Path:
    labels = ("normal", "inner_race", "ball", "outer_race")
    settings = ModelSettings(app="vibration_anomaly", task=task, labels=labels, sample_rate_hz=8000.0,
                             channels=1, window_samples=1024, hop_samples=1024, feature_kind="vibration",
                             input_shape=(36,), output_shape=(n_out,))
    (tmp_path / "model_settings.h").write_text(model_settings_header(settings, config_hash="test"))
    (tmp_path / "app_settings.h").write_text(app_settings_header(context, calibration, config_hash="test"))
    (tmp_path / "dsp_params.h").write_text("/* none */\n")
    (tmp_path / "driver.c").write_text(_DRIVER)
    return compile_c([HOOKS, tmp_path / "driver.c"], tmp_path / f"hooks_{task}",
                     include_dirs=[tmp_path, COMMON])


def _residuals(rng: np.random.Generator, n: int, n_out: int) -> np.ndarray:
    """Residual vectors whose scores wander around the threshold 1.0, with bursts."""
    level = np.where((np.arange(n) // 7) % 3 == 1, 1.8, 0.55) * rng.uniform(0.5, 1.5, n)
    level[rng.random(n) < 0.1] *= 3.0  # isolated spikes
    r = rng.standard_normal((n, n_out))
    r *= np.sqrt(level / (r**2).mean(1))[:, None]
    return r.astype(np.float32)


@pytest.mark.parametrize("on, off, release", [(3, 3, 0.8), (1, 5, 1.0), (4, 2, 0.5)])
def test_anomaly_hooks_match_python(tmp_path, rng, on, off, release):
    n_out = 36
    threshold = 1.0
    ctx = {"labels": ["normal"], "task": "anomaly", "hop_samples": 1024, "alarm_on_windows": on,
           "alarm_off_windows": off, "release_ratio": release}
    exe = _build(tmp_path, "anomaly", n_out, ctx, {"threshold": threshold, "false_alarm_rate": 0.01})
    r = _residuals(rng, 300, n_out)
    out = run_numbers(exe, np.concatenate([[len(r)], r.ravel()])).reshape(-1, 3)
    score = anomaly_score(r)
    # keep the comparison meaningful: no score within float32 rounding of a decision level
    levels = np.float32(threshold), np.float32(threshold) * np.float32(release)
    assert min(np.abs(score - lv).min() for lv in levels) > 1e-5
    alarm = alarm_sequence(score, threshold, on_windows=on, off_windows=off, release_ratio=release)
    assert (out[:, 0] == 3).all()  # TM_EVENT_ANOMALY every window
    np.testing.assert_allclose(out[:, 1], score, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 2].astype(int), alarm.astype(int))
    assert 0 < alarm.mean() < 1  # the sequence exercises both states
    assert np.diff(alarm.astype(int)).any()


def test_classifier_hooks_report_the_argmax(tmp_path, rng):
    ctx = {"labels": ["normal", "inner_race", "ball", "outer_race"], "task": "classification",
           "hop_samples": 1024}
    exe = _build(tmp_path, "classification", 4, ctx, {})
    p = rng.dirichlet(np.ones(4), 50).astype(np.float32)
    out = run_numbers(exe, np.concatenate([[len(p)], p.ravel()])).reshape(-1, 3)
    assert (out[:, 0] == 1).all()  # TM_EVENT_CLASS
    np.testing.assert_array_equal(out[:, 2].astype(int), p.argmax(1))
    np.testing.assert_allclose(out[:, 1], p.max(1), rtol=1e-7)


def test_anomaly_hooks_refuse_a_missing_threshold(tmp_path):
    ctx = {"labels": ["normal"], "task": "anomaly"}
    with pytest.raises(AssertionError, match="TM_APP_CAL_THRESHOLD"):
        _build(tmp_path, "anomaly", 36, ctx, {})


# -- the ping-pong sample buffer (tm_pingpong.h) --------------------------------------------

_PP_DRIVER = r"""
#include <stdio.h>
#include "tm_pingpong.h"
/* stdin: ops "P k" (the interrupt puts k frames) and "R m" (the main loop reads up to m);
 * frame i carries i + 0.25 c in channel c. stdout: per read, its return value and frames. */
int main(void) {
  static tm_pingpong_t pp;
  static float dst[4 * TM_PP_BLOCK_FRAMES * TM_INPUT_CHANNELS];
  char op;
  int k, i, c;
  long next = 0;
  tm_pp_init(&pp);
  while (scanf(" %c %d", &op, &k) == 2) {
    if (op == 'P') {
      for (i = 0; i < k; ++i) {
        float frame[TM_INPUT_CHANNELS];
        for (c = 0; c < TM_INPUT_CHANNELS; ++c) frame[c] = (float)next + 0.25f * (float)c;
        ++next;
        (void)tm_pp_put(&pp, frame);
      }
    } else {
      int got = tm_pp_read(&pp, dst, k);
      printf("R %d", got);
      for (i = 0; i < got * TM_INPUT_CHANNELS; ++i) printf(" %.2f", (double)dst[i]);
      printf("\n");
    }
  }
  printf("END %ld %lu %lu %d %d %lu\n", next, (unsigned long)pp.overruns, (unsigned long)pp.write_pos,
         (int)pp.full[0], (int)pp.full[1], (unsigned long)pp.read_pos);
  return 0;
}
"""


def _pingpong(tmp_path: Path, ops: list[tuple[str, int]], block: int = 8, channels: int = 2):
    import subprocess

    (tmp_path / "model_settings.h").write_text(
        f"#define TM_INPUT_CHANNELS {channels}\n#define TM_HOP_SAMPLES {block}\n")
    (tmp_path / "pp.c").write_text(_PP_DRIVER)
    exe = compile_c([tmp_path / "pp.c"], tmp_path / "pp", include_dirs=[tmp_path, HOOKS.parent])
    text = "\n".join(f"{o} {k}" for o, k in ops) + "\n"
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True).stdout
    reads, end = [], None
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "R":
            vals = np.array([float(v) for v in parts[2:]]).reshape(-1, channels)
            reads.append((int(parts[1]), vals))
        else:
            end = [int(v) for v in parts[1:]]
    return reads, end


def test_pingpong_is_lossless_when_the_main_loop_keeps_up(tmp_path, rng):
    block = 8
    ops = []
    for _ in range(200):  # interrupts put at most one block between two reads of up to 2 blocks
        ops.append(("P", int(rng.integers(0, block + 1))))
        ops.append(("R", int(rng.integers(2 * block, 3 * block))))
    reads, (produced, overruns, write_pos, full0, full1, _read_pos) = _pingpong(tmp_path, ops, block)
    frames = np.concatenate([v for n, v in reads if n > 0])
    assert overruns == 0 and all(n >= 0 for n, _ in reads)
    # every frame arrives once, in order, channels intact; only the incomplete block is pending
    np.testing.assert_array_equal(frames[:, 0], np.arange(len(frames)))
    np.testing.assert_allclose(frames[:, 1] - frames[:, 0], 0.25)
    assert len(frames) + write_pos == produced and full0 == full1 == 0


def test_pingpong_counts_and_reports_overruns(tmp_path, rng):
    block = 8
    ops = []
    for _ in range(150):  # bursts of up to 3 blocks: the main loop sometimes falls behind
        ops.append(("P", int(rng.integers(0, 3 * block))))
        ops.append(("R", int(rng.integers(1, 2 * block))))
    reads, (produced, overruns, write_pos, full0, full1, read_pos) = _pingpong(tmp_path, ops, block)
    frames = np.concatenate([v for n, v in reads if n > 0])
    assert overruns > 0
    # delivered frames are increasing; whole frames are lost, never mixed or reordered
    assert np.all(np.diff(frames[:, 0]) > 0)
    np.testing.assert_allclose(frames[:, 1] - frames[:, 0], 0.25)
    # accounting: delivered + dropped + still buffered == produced
    pending = write_pos + (full0 + full1) * block - read_pos
    assert len(frames) + overruns + pending == produced
    # a gap in the delivered sequence only ever follows an overrun report (-2)
    reported = 0
    last = -1
    for n, v in reads:
        if n == -2:
            reported += 1
            continue
        if n > 0:
            if v[0, 0] != last + 1:
                assert reported > 0, "frames were lost without an overrun report"
            last = int(v[-1, 0])
    assert reported >= 1
