"""wake_word streaming evaluation: detector, event scoring, DET curve, stream construction.

Streams and posteriors are built by hand with known events, so every count below is
what the rules in apps/wake_word/postprocess.py must give.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_suite.apps.wake_word.postprocess import (
    Detection,
    Detector,
    PostprocessParams,
    StreamEvent,
    build_stream,
    choose_threshold,
    det_curve,
    detect,
    score_detections,
    smooth,
    stream_inputs,
)
from tinyml_suite.common.errors import ConfigError

SR = 16000
HOP = 320


def test_smoothing_is_a_causal_mean_with_warm_up():
    P = np.arange(12, dtype=np.float32).reshape(6, 2)
    S = smooth(P, 3)
    assert S[0].tolist() == P[0].tolist()  # one vector so far
    np.testing.assert_array_equal(S[1], (P[0] + P[1]) / 2)
    for t in range(2, 6):
        np.testing.assert_allclose(S[t], P[t - 2 : t + 1].mean(axis=0), rtol=1e-6)


def test_detector_threshold_suppression_and_keywords_only():
    # classes: 0, 1 keywords; 2 unknown. A long burst of class 1, then class 2, then class 0.
    P = np.zeros((40, 3), np.float32)
    P[:, 2] = 0.2
    P[5:20, 1] = 0.9   # one word lasting 15 inferences -> one detection (suppression 20)
    P[22:30, 2] = 1.0  # 'unknown' is never reported
    P[32:36, 0] = 0.8
    det = Detector(PostprocessParams(smooth_windows=1, threshold=0.5, suppression_windows=20), n_keywords=2)
    found = det.run(P)
    assert [(d.step, d.index) for d in found] == [(5, 1), (32, 0)]
    # without suppression the same burst fires at every step above threshold
    loose = detect(P, n_keywords=2, threshold=0.5, suppression_windows=0)
    assert sum(d.index == 1 for d in loose) == 15
    # smoothing over 4 steps delays the first detection until the mean crosses 0.5
    slow = Detector(PostprocessParams(smooth_windows=4, threshold=0.5, suppression_windows=20), n_keywords=2)
    assert slow.run(P)[0] == Detection(7, 1, pytest.approx(0.675))  # (0.9 * 3) / 4
    with pytest.raises(ConfigError, match="app.smooth_windows=0 must be >= 1"):
        PostprocessParams(smooth_windows=0)


def _events():
    # 3 keyword events (classes 0, 1, 0) and one unknown word (class 2)
    return [
        StreamEvent(0, 1 * SR, int(1.5 * SR), True),
        StreamEvent(1, 5 * SR, int(5.6 * SR), True),
        StreamEvent(2, 9 * SR, int(9.5 * SR), False),
        StreamEvent(0, 13 * SR, int(13.4 * SR), True),
    ]


def test_scoring_counts_hits_misses_and_false_accepts():
    steps = np.arange(1000) * HOP + 16000  # window end of inference t
    kw = {"step_end_sample": steps, "total_samples": 1800 * SR, "sample_rate": SR, "window_samples": SR}
    t_at = lambda sec: int((sec * SR - 16000) / HOP)
    dets = [
        Detection(t_at(1.4), 0, 0.9),   # hit: event 0 (word 1.0-1.5 s)
        Detection(t_at(2.2), 0, 0.9),   # second detection of the same word: false accept
        Detection(t_at(5.5), 0, 0.9),   # wrong class during event 1: false accept; event 1 missed
        Detection(t_at(9.3), 1, 0.9),   # on the unknown word: false accept
        Detection(t_at(20.0), 1, 0.9),  # in the background: false accept
        Detection(t_at(14.8), 0, 0.9),  # hit: event 3, within word end + 1 s window + 0.5 s
    ]
    r = score_detections(dets, _events(), **kw)
    assert (r["events"], r["hits"], r["misses"], r["false_accepts"]) == (3, 2, 1, 4)
    assert r["miss_rate"] == pytest.approx(1 / 3)
    assert r["stream_hours"] == pytest.approx(0.5)
    assert r["fa_per_hour"] == pytest.approx(8.0)  # 4 false accepts in half an hour
    # too late: the word left the 1 s window more than 0.5 s ago
    late = score_detections([Detection(t_at(15.0), 0, 0.9)], _events()[3:], **kw)
    assert (late["hits"], late["false_accepts"]) == (0, 1)


def test_det_curve_trades_misses_for_false_accepts():
    rng = np.random.default_rng(0)
    T = 900
    steps = np.arange(T) * HOP + 16000
    kw = {"step_end_sample": steps, "total_samples": int(steps[-1]), "sample_rate": SR, "window_samples": SR}
    events, P = [], np.full((T, 3), 0.05, np.float32)
    P[:, 2] = 0.3 + 0.2 * rng.random(T)  # an 'unknown' background with noisy keyword scores
    P[:, 0] = 0.3 * rng.random(T)  # keyword-0 noise: fires only below a 0.3 threshold
    for i, start_s in enumerate(range(2, 17, 3)):
        t0 = int((start_s * SR + 0.3 * SR - 16000) / HOP)  # window end 0.3 s after onset
        P[t0 : t0 + 10, i % 2] = 0.55 + 0.08 * i  # strengths 0.55 .. 0.87
        events.append(StreamEvent(i % 2, start_s * SR, start_s * SR + 8000, True))
    params = PostprocessParams(smooth_windows=3, suppression_windows=40)
    thr = np.linspace(0.1, 0.95, 18)
    det = det_curve(P, events, params=params, n_keywords=2, thresholds=thr, **kw)
    miss = np.array(det["miss_rate"])
    fa = np.array(det["fa_per_hour"])
    clean = np.asarray(det["thresholds"]) >= 0.3
    assert np.all(np.diff(miss[clean]) >= 0)  # above the noise a higher threshold finds fewer words
    assert np.all(np.diff(fa[clean]) <= 0)
    assert miss[clean][0] == 0 and miss[-1] == 1.0
    assert fa[0] > 0 and fa[-1] == 0
    best = choose_threshold(det, events=len(events), hours=kw["total_samples"] / SR / 3600)
    i = list(det["thresholds"]).index(best)
    assert miss[i] * 5 + fa[i] * kw["total_samples"] / SR / 3600 == min(
        m * 5 + f * kw["total_samples"] / SR / 3600 for m, f in zip(miss, fa)
    )


def test_build_stream_places_clips_where_the_events_say(rng):
    clips = np.zeros((4, SR), np.float32)
    onsets = np.array([2000, 4000, 0, 8000])
    lengths = np.array([6000, 5000, 16000, 4000])
    for i in range(4):
        clips[i, onsets[i] : onsets[i] + lengths[i]] = 0.5 * np.sin(np.arange(lengths[i]) * 0.3)
    stream, events = build_stream(
        clips, np.array([0, 1, 2, 0]), keyword_mask=[True, True, False], rng=rng, sample_rate=SR,
        gap_s=(1.0, 1.0), background_dbfs=-60.0, onsets=onsets, lengths=lengths,
    )
    assert len(stream) == SR + 4 * SR + 4 * SR  # lead + clips + gaps
    assert [e.keyword for e in events] == [True, True, False, True]
    bg_rms = np.sqrt(np.mean(stream[: SR // 2].astype(np.float64) ** 2))
    assert 20 * np.log10(bg_rms) == pytest.approx(-60.0, abs=7.0)  # wandering +-6 dB
    for e in events:
        word = stream[e.start : e.end].astype(np.float64)
        assert np.sqrt(np.mean(word**2)) > 100 * bg_rms  # the word is where the event says
        before = stream[e.start - 1000 : e.start].astype(np.float64)
        assert np.sqrt(np.mean(before**2)) < 3 * bg_rms


def test_stream_windows_equal_the_extractor_on_each_window(rng):
    """Sliding the 49-frame window over the stream's frames == features of each 1 s window."""
    from tinyml_suite.common.features.audio import Mfcc

    fe = Mfcc(sample_rate=SR)
    stream = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    frames = fe(stream[None, None, :])[0]
    X = stream_inputs(frames, 49, 2)
    for j in (0, 7, len(X) - 1):
        start = j * 2 * HOP
        ref = fe(stream[None, None, start : start + SR])[0]
        np.testing.assert_array_equal(X[j], ref)


def test_operating_point_at_a_false_accept_rate():
    from tinyml_suite.apps.wake_word.app import WakeWordApp
    from tinyml_suite.apps.wake_word.postprocess import threshold_for_fa_rate

    det = {"thresholds": [0.9, 0.5, 0.7], "fa_per_hour": [0.0, 3.0, 0.5], "miss_rate": [0.5, 0.1, 0.2]}
    assert threshold_for_fa_rate(det, 0.5) == 0.7  # the lowest threshold at or under the rate
    assert threshold_for_fa_rate(det, 10.0) == 0.5
    assert threshold_for_fa_rate({**det, "fa_per_hour": [9.0, 9.0, 9.0]}, 0.5) == 0.9  # none reaches it
    assert WakeWordApp(target_fa_per_hour=0.5).params.target_fa_per_hour == 0.5
    with pytest.raises(ConfigError, match="target_fa_per_hour=-1"):
        WakeWordApp(target_fa_per_hour=-1)
