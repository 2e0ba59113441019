"""Streaming keyword detection: posterior smoothing, threshold, suppression; FA/h and miss rate.

The device runs the model on the last 1 s of audio at every feature stride (20 ms) and
turns the stream of posteriors into detections. :class:`Detector` is that algorithm,
step by step, exactly as ``firmware_templates/apps/wake_word/postprocess.c`` computes it
in float32 (a host-compiled parity test holds them to the same detections):

1. smoothing: the mean of the last ``smooth_windows`` posterior vectors (fewer at the
   start of the stream), summed oldest first in float32;
2. the best keyword class ``k`` (classes ``0 .. n_keywords-1``; silence and unknown are
   never reported) and its smoothed score ``s``;
3. a detection when ``s >= threshold`` and no detection happened in the previous
   ``suppression_windows`` inferences (a refractory period: one word, one detection).

:func:`build_stream` places test clips into background audio with random gaps and
records where each word is; :func:`score_detections` matches detections to those events
and gives false accepts per hour and the miss rate; :func:`det_curve` sweeps the
threshold. :func:`stream_inputs` cuts the model inputs of every inference position out of
the features of the whole stream (each 49-frame window is one inference; frames do not
depend on where the window starts, so this equals the device's sliding computation).

Examples
--------
>>> P = np.zeros((6, 3), np.float32); P[2:4, 1] = 1.0          # class 1 for two steps
>>> det = Detector(PostprocessParams(smooth_windows=2, threshold=0.5, suppression_windows=3), n_keywords=2)
>>> [(d.step, d.index) for d in det.run(P)]
[(2, 1)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "Detection",
    "Detector",
    "PostprocessParams",
    "StreamEvent",
    "build_stream",
    "choose_threshold",
    "det_curve",
    "detect",
    "score_detections",
    "smooth",
    "stream_inputs",
    "threshold_for_fa_rate",
]


@dataclass(kw_only=True, frozen=True)
class PostprocessParams:
    """The detector's settings (also written to the firmware's ``app_settings.h``)."""

    smooth_windows: int = 5
    """Posterior vectors averaged (5 x 20 ms = 100 ms)."""
    threshold: float = 0.6
    """Smoothed keyword score that triggers a detection (calibrated on validation data)."""
    suppression_windows: int = 50
    """Inferences after a detection during which nothing is reported (50 x 20 ms = 1 s)."""

    def __post_init__(self) -> None:
        if int(self.smooth_windows) < 1:
            raise ConfigError(f"app.smooth_windows={self.smooth_windows} must be >= 1 inference")
        if int(self.suppression_windows) < 0:
            raise ConfigError(f"app.suppression_windows={self.suppression_windows} must be >= 0")
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise ConfigError(f"app.threshold={self.threshold} must be a probability in [0, 1]")


@dataclass(frozen=True)
class Detection:
    """One reported keyword: inference ``step``, class ``index``, smoothed ``score``."""

    step: int
    index: int
    score: float


def smooth(posteriors: np.ndarray, n: int) -> np.ndarray:
    """Causal moving average over the last ``n`` rows, in float32, oldest row first.

    Row ``t`` is ``(P[t-m+1] + ... + P[t]) / m`` with ``m = min(n, t + 1)``, each sum
    accumulated left to right in float32 (the C code's order, so results are bitwise equal).

    Examples
    --------
    >>> smooth(np.array([[1.0], [3.0], [5.0]], np.float32), 2).ravel().tolist()
    [1.0, 2.0, 4.0]
    """
    P = np.asarray(posteriors, dtype=np.float32)
    if P.ndim != 2:
        raise ConfigError(f"posteriors must be (steps, classes); got shape {P.shape}")
    T = len(P)
    n = int(n)
    acc = np.zeros_like(P)
    count = np.zeros(T, dtype=np.float32)
    for j in range(n - 1, -1, -1):  # oldest (t - n + 1) first
        lo = j  # row t uses P[t - j] when t >= j
        if lo >= T:
            continue
        acc[lo:] += P[: T - lo]
        count[lo:] += 1.0
    return acc / count[:, None]


def detect(smoothed: np.ndarray, *, n_keywords: int, threshold: float, suppression_windows: int) -> list[Detection]:
    """Detections from smoothed posteriors (steps 2 and 3 of the module docstring)."""
    S = np.asarray(smoothed, dtype=np.float32)
    if n_keywords < 1 or n_keywords > S.shape[1]:
        raise ConfigError(f"n_keywords={n_keywords} must be in [1, {S.shape[1]}] (the model's classes)")
    kw = S[:, :n_keywords]
    best = np.argmax(kw, axis=1)  # first maximum, like the C loop with '>'
    score = kw[np.arange(len(kw)), best]
    above = np.flatnonzero(score >= np.float32(threshold))
    out: list[Detection] = []
    next_ok = 0
    for t in above:
        if t >= next_ok:
            out.append(Detection(int(t), int(best[t]), float(score[t])))
            next_ok = t + int(suppression_windows) + 1
    return out


class Detector:
    """The streaming detector (smoothing, threshold, suppression) over posterior rows."""

    def __init__(self, params: PostprocessParams, *, n_keywords: int) -> None:
        self.p = params
        self.n_keywords = int(n_keywords)

    def run(self, posteriors: np.ndarray, threshold: float | None = None) -> list[Detection]:
        thr = self.p.threshold if threshold is None else threshold
        return detect(smooth(posteriors, self.p.smooth_windows), n_keywords=self.n_keywords,
                      threshold=thr, suppression_windows=self.p.suppression_windows)


# -- the evaluation stream -----------------------------------------------------------------


@dataclass(frozen=True)
class StreamEvent:
    """A clip placed in the stream: class ``index``; the word spans samples [start, end)."""

    index: int
    start: int
    end: int
    keyword: bool


def build_stream(
    clips: np.ndarray,
    labels: np.ndarray,
    *,
    keyword_mask: Sequence[bool],
    rng: np.random.Generator,
    sample_rate: int,
    gap_s: tuple[float, float] = (1.0, 2.5),
    background: np.ndarray | None = None,
    background_dbfs: float = -50.0,
    onsets: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
    lead_s: float = 1.0,
) -> tuple[np.ndarray, list[StreamEvent]]:
    """A continuous stream: ``lead_s`` of background, then each clip followed by a gap.

    Parameters
    ----------
    clips : np.ndarray [shape=(n, samples)]
        The clips, placed in the given order (shuffle before if needed).
    labels : np.ndarray [shape=(n,)]
        Class index of each clip.
    keyword_mask : sequence of bool
        ``keyword_mask[c]`` is True when class ``c`` is a keyword (an event to detect).
    gap_s : (low, high)
        Background between two clips, seconds (uniform).
    background : np.ndarray [shape=(m,)], optional
        Recorded background, looped; default pink noise whose level wanders +-6 dB.
    background_dbfs : float
        RMS level of the background, dB re full scale.
    onsets, lengths : np.ndarray [shape=(n,)], optional
        Where the word is inside each clip (samples); default: the whole clip.

    Returns
    -------
    stream : np.ndarray [shape=(total,), dtype=float32], clipped to [-1, 1]
    events : list of StreamEvent, one per clip (silence-class clips included, keyword False)
    """
    from tinyml_suite.datasets.audio_augment import coloured_noise

    clips = np.asarray(clips, dtype=np.float32)
    n, clip_len = clips.shape
    gaps = (rng.uniform(*gap_s, size=n) * sample_rate).astype(int)
    lead = int(lead_s * sample_rate)
    total = lead + n * clip_len + int(gaps.sum())
    if background is not None and len(background) > 0:
        bg = np.resize(np.asarray(background, dtype=np.float32), total).astype(np.float64)
        start = int(rng.integers(0, max(1, len(background))))
        bg = np.roll(bg, -start)
    else:
        bg = coloured_noise(total, 1.0, rng).astype(np.float64)
        # a slowly wandering level (+-6 dB over a few seconds)
        knots = rng.uniform(-6, 6, size=total // sample_rate + 2)
        level = np.interp(np.arange(total) / sample_rate, np.arange(len(knots)), knots)
        bg *= 10 ** (level / 20)
    rms = np.sqrt(np.mean(bg**2))
    stream = bg * (10 ** (background_dbfs / 20) / rms) if rms > 0 else bg
    events = []
    pos = lead
    for i in range(n):
        stream[pos : pos + clip_len] += clips[i]
        on = int(onsets[i]) if onsets is not None and onsets[i] >= 0 else 0
        ln = int(lengths[i]) if lengths is not None and lengths[i] > 0 else clip_len - on
        c = int(labels[i])
        events.append(StreamEvent(c, pos + on, pos + min(clip_len, on + ln), bool(keyword_mask[c])))
        pos += clip_len + int(gaps[i])
    return np.clip(stream, -1.0, 1.0).astype(np.float32), events


def stream_inputs(frames: np.ndarray, window_frames: int, stride_frames: int = 1) -> np.ndarray:
    """Model inputs of every inference: ``frames[j*s : j*s + window_frames]`` (a view).

    ``frames`` is ``(n_frames, ...)`` (the features of the whole stream, time first).

    Examples
    --------
    >>> stream_inputs(np.arange(6).reshape(6, 1), 4, 1)[:, :, 0].tolist()
    [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    """
    F = np.asarray(frames)
    if len(F) < window_frames:
        raise ConfigError(f"the stream has {len(F)} frames, fewer than one window ({window_frames})")
    v = np.lib.stride_tricks.sliding_window_view(F, window_frames, axis=0)  # (T', ..., W)
    v = np.moveaxis(v, -1, 1)  # (T', W, ...)
    return v[:: int(stride_frames)]


def score_detections(
    detections: Sequence[Detection],
    events: Sequence[StreamEvent],
    *,
    step_end_sample: np.ndarray,
    total_samples: int,
    sample_rate: int,
    window_samples: int,
    tolerance_s: float = 0.5,
) -> dict[str, Any]:
    """Match detections to keyword events; count hits, misses and false accepts.

    A detection at inference ``t`` (window ending at ``step_end_sample[t]``) is a hit for
    the first not-yet-hit keyword event of the same class whose word overlaps the window:
    ``start < end_sample`` and ``end_sample <= end + window_samples + tolerance``. Every
    other detection (wrong class, an unknown word, background, a second detection of a
    word) is a false accept.
    """
    tol = int(tolerance_s * sample_rate)
    hit = [False] * len(events)
    false_accepts = 0
    for d in detections:
        end = int(step_end_sample[d.step])
        matched = False
        for i, e in enumerate(events):
            if e.keyword and not hit[i] and e.index == d.index and e.start < end <= e.end + window_samples + tol:
                hit[i] = True
                matched = True
                break
        if not matched:
            false_accepts += 1
    n_kw = sum(1 for e in events if e.keyword)
    hits = sum(1 for i, e in enumerate(events) if e.keyword and hit[i])
    hours = total_samples / sample_rate / 3600.0
    return {
        "events": n_kw,
        "hits": hits,
        "misses": n_kw - hits,
        "miss_rate": (n_kw - hits) / n_kw if n_kw else 0.0,
        "false_accepts": false_accepts,
        "fa_per_hour": false_accepts / hours if hours > 0 else 0.0,
        "stream_hours": hours,
    }


def det_curve(
    posteriors: np.ndarray,
    events: Sequence[StreamEvent],
    *,
    params: PostprocessParams,
    n_keywords: int,
    thresholds: Sequence[float],
    **score_kw: Any,
) -> dict[str, list[float]]:
    """False accepts per hour and miss rate at each threshold (the DET curve)."""
    S = smooth(posteriors, params.smooth_windows)
    fa, miss = [], []
    for thr in thresholds:
        dets = detect(S, n_keywords=n_keywords, threshold=float(thr), suppression_windows=params.suppression_windows)
        r = score_detections(dets, events, **score_kw)
        fa.append(r["fa_per_hour"])
        miss.append(r["miss_rate"])
    return {"thresholds": [float(t) for t in thresholds], "fa_per_hour": fa, "miss_rate": miss}


def choose_threshold(det: dict[str, list[float]], *, events: int, hours: float) -> float:
    """The threshold with the fewest errors (misses + false accepts), the highest on ties."""
    best, best_err = None, None
    for thr, fa, miss in zip(det["thresholds"], det["fa_per_hour"], det["miss_rate"]):
        err = miss * events + fa * hours
        if best_err is None or err < best_err - 1e-9 or (abs(err - best_err) <= 1e-9 and thr > best):
            best, best_err = thr, err
    return float(best if best is not None else 0.5)


def threshold_for_fa_rate(det: dict[str, list[float]], target_fa_per_hour: float) -> float:
    """The lowest threshold whose false accepts per hour are at most ``target_fa_per_hour``.

    The operating point of the field's metric (false rejects at a fixed false-accept
    rate), chosen on a validation stream. When no threshold reaches the target, the
    highest threshold of the curve.

    Examples
    --------
    >>> det = {"thresholds": [0.5, 0.7, 0.9], "fa_per_hour": [4.0, 0.4, 0.0], "miss_rate": [0.1, 0.2, 0.4]}
    >>> threshold_for_fa_rate(det, 0.5), threshold_for_fa_rate(det, 0.0)
    (0.7, 0.9)
    """
    if target_fa_per_hour < 0:
        raise ConfigError(f"target_fa_per_hour={target_fa_per_hour} must be >= 0")
    pairs = sorted(zip(det["thresholds"], det["fa_per_hour"]))
    for thr, fa in pairs:
        if fa <= target_fa_per_hour:
            return float(thr)
    return float(pairs[-1][0]) if pairs else 0.5


def params_from_options(options: dict[str, Any]) -> PostprocessParams:
    """PostprocessParams from app options (ignores the other keys)."""
    names = {f.name for f in dataclasses.fields(PostprocessParams)}
    return PostprocessParams(**{k: v for k, v in options.items() if k in names})
