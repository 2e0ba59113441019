"""Gesture event detection on a stream of classifier posteriors, and its scoring.

The detector runs once per inference (every hop) and is the exact algorithm of the
firmware's ``firmware_templates/apps/gesture/postprocess.c`` (float32, same order of
operations; a host-compiled parity test holds them together):

1. keep the last ``smooth_windows`` posterior vectors; average them (float32 sums in
   arrival order, divided by how many there are);
2. ``top`` = the first index of the largest average, ``score`` its value;
3. during the refractory period after an event (``refractory_windows`` inferences)
   nothing is reported and the run counter is reset;
4. after an event the detector is disarmed until an inference (after the refractory
   period) where ``top`` is a background class or ``score < threshold``: a gesture
   stays in the sliding window for a whole window length, and is reported once;
5. otherwise, if ``top`` is an event class and ``score >= threshold``, count how many
   consecutive inferences ``top`` has stayed so (a different class restarts the count),
   and when the count reaches ``min_consecutive`` report ``(top, score)``, start the
   refractory period and disarm; a background class or a low score resets the count.

:func:`score_stream` matches reported events to the ground truth of a labelled stream
and counts detections, misses, wrong classes and false triggers.
:func:`open_set_metrics` scores single windows with the same open-set decision (a gesture
only when it wins and reaches the threshold), and :func:`choose_detector` picks the
threshold and ``min_consecutive`` on validation data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "DetectorParams",
    "GestureDetector",
    "choose_detector",
    "combine_scores",
    "detect",
    "open_set_metrics",
    "score_stream",
]


@dataclasses.dataclass(frozen=True)
class DetectorParams:
    """Debounce settings, in inferences (hops)."""

    threshold: float = 0.7
    smooth_windows: int = 3
    min_consecutive: int = 2
    refractory_windows: int = 6

    def __post_init__(self) -> None:
        if not 0.0 < float(self.threshold) <= 1.0:
            raise ConfigError(f"app.threshold={self.threshold} must be in (0, 1]")
        for name in ("smooth_windows", "min_consecutive"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"app.{name}={getattr(self, name)} must be >= 1")
        if int(self.refractory_windows) < 0:
            raise ConfigError(f"refractory_windows={self.refractory_windows} must be >= 0")


class GestureDetector:
    """Streaming debounce (see the module docstring); one :meth:`push` per inference.

    Examples
    --------
    >>> d = GestureDetector([1, 0], DetectorParams(threshold=0.6, smooth_windows=1, min_consecutive=2))
    >>> out = [d.push(np.array(p, np.float32)) for p in ([0.9, 0.1], [0.8, 0.2], [0.9, 0.1])]
    >>> out[0], out[1][0], round(out[1][1], 4), out[2]
    (None, 0, 0.8, None)
    """

    def __init__(self, event_mask: Sequence[int], params: DetectorParams = DetectorParams()) -> None:
        self.mask = np.asarray(event_mask, dtype=bool)
        self.k = len(self.mask)
        self.params = params
        self.threshold = np.float32(params.threshold)
        self.reset()

    def reset(self) -> None:
        s = int(self.params.smooth_windows)
        self._ring = np.zeros((s, self.k), dtype=np.float32)
        self._pos = 0
        self._filled = 0
        self._cooldown = 0
        self._run = 0
        self._last = -1
        self._armed = True

    def push(self, posterior: np.ndarray) -> tuple[int, float] | None:
        p = np.asarray(posterior, dtype=np.float32).reshape(-1)
        if p.size != self.k:
            raise ConfigError(f"posterior has {p.size} classes but the detector has {self.k}")
        s = self._ring.shape[0]
        self._ring[self._pos] = p
        self._pos = (self._pos + 1) % s
        self._filled = min(self._filled + 1, s)
        acc = np.zeros(self.k, dtype=np.float32)
        for i in range(self._filled):
            acc += self._ring[(self._pos - self._filled + i) % s]
        avg = acc / np.float32(self._filled)
        top = int(np.argmax(avg))
        score = np.float32(avg[top])
        if self._cooldown > 0:
            self._cooldown -= 1
            self._run = 0
            self._last = -1
            return None
        quiet = (not self.mask[top]) or score < self.threshold
        if not self._armed:
            self._armed = bool(quiet)
            self._run = 0
            self._last = -1
            return None
        if quiet:
            self._run = 0
            self._last = -1
            return None
        if top == self._last:
            self._run += 1
        else:
            self._last = top
            self._run = 1
        if self._run >= int(self.params.min_consecutive):
            self._cooldown = int(self.params.refractory_windows)
            self._run = 0
            self._last = -1
            self._armed = False
            return top, float(score)
        return None


def detect(posteriors: np.ndarray, event_mask: Sequence[int], params: DetectorParams) -> list[tuple[int, int, float]]:
    """Run a fresh detector over ``posteriors`` [shape=(n, k)]; ``[(window, class, score)]``."""
    det = GestureDetector(event_mask, params)
    out = []
    for i, p in enumerate(np.asarray(posteriors, dtype=np.float32)):
        hit = det.push(p)
        if hit is not None:
            out.append((i, hit[0], hit[1]))
    return out


def score_stream(
    detections: Sequence[tuple[float, int]],
    events: Sequence[tuple[float, float, str]],
    distractors: Sequence[tuple[float, float, str]],
    *,
    labels: Sequence[str],
    window_s: float,
    seconds: float,
) -> dict[str, Any]:
    """Match detections to ground-truth events.

    A detection at ``t`` (the end of its window, seconds) of class ``c`` belongs to the
    event its window ``[t - window_s, t]`` overlaps most. Per event: a **hit** if one of
    its detections has the event's label, else **wrong class** if it has any, else a
    **miss**. A detection that overlaps no event, or is a second one for the same event
    (a **duplicate**), is a **false trigger**; those overlapping a negative movement are
    also counted as ``false_on_negatives``.

    Examples
    --------
    >>> r = score_stream([(2.0, 0), (9.0, 1)], [(1.0, 1.8, "wing")], [], labels=["wing", "ring"],
    ...                  window_s=2.0, seconds=60.0)
    >>> r["hits"], r["misses"], r["false_triggers"], r["false_triggers_per_min"]
    (1, 0, 1, 1.0)
    """
    if seconds <= 0:
        raise ConfigError(f"stream length {seconds} s must be > 0")
    labels = list(labels)
    assigned: dict[int, list[int]] = {i: [] for i in range(len(events))}
    false_free = 0
    false_neg = 0
    for t, c in detections:
        lo = t - window_s
        overlaps = [max(0.0, min(t, e) - max(lo, s)) for s, e, _ in events]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] > 0:
            assigned[best].append(int(c))
            continue
        false_free += 1
        if any(min(t, e) - max(lo, s) > 0 for s, e, _ in distractors):
            false_neg += 1
    hits = wrong = misses = duplicates = 0
    per_class = {lab: {"events": 0, "hits": 0} for lab in {e[2] for e in events}}
    for i, (_, _, lab) in enumerate(events):
        got = assigned[i]
        per_class[lab]["events"] += 1
        target = labels.index(lab) if lab in labels else -1
        if not got:
            misses += 1
        elif target in got:
            hits += 1
            per_class[lab]["hits"] += 1
        else:
            wrong += 1
        duplicates += max(0, len(got) - 1)
    minutes = seconds / 60.0
    false_total = false_free + duplicates
    n = len(events)
    return {
        "events": n,
        "hits": hits,
        "misses": misses,
        "wrong_class": wrong,
        "recall": hits / n if n else None,
        "duplicates": duplicates,
        "false_triggers": false_total,
        "false_on_negatives": false_neg,
        "false_triggers_per_min": false_total / minutes,
        "detections": len(detections),
        "detections_per_min": len(detections) / minutes,
        "minutes": minutes,
        "per_class": per_class,
    }


def combine_scores(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sum the counts of several streams' :func:`score_stream` results."""
    keys = ("events", "hits", "misses", "wrong_class", "duplicates", "false_triggers", "false_on_negatives", "detections")
    out: dict[str, Any] = {k: int(sum(p[k] for p in parts)) for k in keys}
    minutes = float(sum(p["minutes"] for p in parts))
    out["minutes"] = minutes
    out["recall"] = out["hits"] / out["events"] if out["events"] else None
    out["false_triggers_per_min"] = out["false_triggers"] / minutes if minutes else None
    out["detections_per_min"] = out["detections"] / minutes if minutes else None
    per: dict[str, dict[str, int]] = {}
    for p in parts:
        for lab, v in p["per_class"].items():
            e = per.setdefault(lab, {"events": 0, "hits": 0})
            e["events"] += v["events"]
            e["hits"] += v["hits"]
    out["per_class"] = per
    return out


def open_set_metrics(
    outputs: np.ndarray,
    y: np.ndarray,
    event_mask: Sequence[int],
    threshold: float,
    *,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Window-level open-set figures at ``threshold`` (no smoothing: one window each).

    A window is *accepted* as gesture ``c`` when ``c`` (an event class) has the largest
    posterior and that posterior is ``>= threshold``; otherwise it is *rejected*.
    ``gesture_accuracy``: share of the gesture windows accepted as their own gesture;
    ``gesture_rejected``: share of them rejected; ``rejection``: share of the background
    windows rejected. ``per_user`` repeats them per group. None where there is nothing
    to count.

    Examples
    --------
    >>> post = np.array([[0.9, 0.05, 0.05], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8], [0.75, 0.0, 0.25]])
    >>> m = open_set_metrics(post, np.array([0, 0, 2, 2]), [1, 1, 0], 0.7)
    >>> m["gesture_accuracy"], m["gesture_rejected"], m["rejection"]
    (0.5, 0.5, 0.5)
    """
    out = np.asarray(outputs, dtype=np.float32)
    y = np.asarray(y).astype(int)
    mask = np.asarray(event_mask, dtype=bool)
    pred = np.argmax(out, axis=-1) if len(out) else np.zeros(0, dtype=int)
    score = out[np.arange(len(out)), pred] if len(out) else np.zeros(0, dtype=np.float32)
    decided = np.where(mask[pred] & (score >= np.float32(threshold)), pred, -1)
    gesture = mask[y] if len(y) else np.zeros(0, dtype=bool)

    def rates(sel: np.ndarray) -> dict[str, Any]:
        g, b = sel & gesture, sel & ~gesture
        return {
            "gesture_accuracy": float(np.mean(decided[g] == y[g])) if g.any() else None,
            "gesture_rejected": float(np.mean(decided[g] == -1)) if g.any() else None,
            "rejection": float(np.mean(decided[b] == -1)) if b.any() else None,
            "n_gesture": int(g.sum()),
            "n_background": int(b.sum()),
        }

    result: dict[str, Any] = {"threshold": float(threshold), **rates(np.ones(len(y), dtype=bool))}
    if groups is not None:
        groups = np.asarray(groups).astype(str)
        result["per_user"] = {gname: rates(groups == gname) for gname in sorted(set(groups.tolist()))}
    return result


def choose_detector(
    val_outputs: np.ndarray,
    val_y: np.ndarray,
    event_mask: Sequence[int],
    streams: Sequence[dict[str, Any]],
    *,
    base: DetectorParams,
    thresholds: Sequence[float],
    min_consecutive: Sequence[int],
    max_false_per_min: float,
    labels: Sequence[str],
    window_s: float,
) -> dict[str, Any]:
    """Choose ``threshold`` and ``min_consecutive`` on validation data only.

    Every combination is scored on the validation windows (:func:`open_set_metrics`:
    gesture windows accepted as their own gesture, background windows rejected) and,
    after the debounce, on the validation streams: false triggers per minute on the
    streams without any gesture (when there are none: outside the gestures of all
    streams), and the share of the gestures detected on the others
    (``streams``: dicts with the ``stream`` - a LabelledStream -, its ``posteriors`` and
    window ``ends``). The rule: keep the combinations whose false-trigger rate is at
    most ``max_false_per_min`` (if none is: those with the fewest); among them maximise
    ``gesture score + rejection`` (the gesture score is the stream detection rate when
    there are gesture streams, else the window accuracy); among ties take the fewest
    inferences in a row, then the middle threshold of the tied ones.

    Returns ``threshold``, ``min_consecutive`` and ``validation``: the chosen
    combination's validation figures, the rule in words and ``table`` (every
    combination's figures).
    """
    mask = list(event_mask)
    rows = []
    for m in sorted({int(v) for v in min_consecutive}):
        for t in sorted({float(v) for v in thresholds}):
            params = dataclasses.replace(base, threshold=t, min_consecutive=m)
            win = open_set_metrics(val_outputs, val_y, mask, t)
            gest, quiet = [], []
            for item in streams:
                s = item["stream"]
                hits = detect(item["posteriors"], mask, params)
                dets = [(float(item["ends"][i]), c) for i, c, _ in hits]
                part = score_stream(dets, s.events, s.distractors, labels=labels, window_s=window_s, seconds=s.seconds)
                (gest if s.events else quiet).append(part)
            g = combine_scores(gest) if gest else None
            # false triggers: on the streams without gestures, else outside the events of all
            q = combine_scores(quiet) if quiet else (combine_scores(gest) if gest else None)
            rows.append({
                "threshold": t, "min_consecutive": m,
                "gesture_accuracy": win["gesture_accuracy"], "rejection": win["rejection"],
                "detection_recall": None if g is None else g["recall"],
                "false_per_min": None if q is None else q["false_triggers_per_min"],
            })
    if not rows:
        raise ConfigError("app.calibrate_detector has no threshold or min_consecutive values to choose from")

    def score(r: dict[str, Any]) -> float:
        gesture = r["detection_recall"] if r["detection_recall"] is not None else r["gesture_accuracy"]
        return float(gesture or 0.0) + float(r["rejection"] if r["rejection"] is not None else 0.0)

    ok = [r for r in rows if r["false_per_min"] is None or r["false_per_min"] <= max_false_per_min + 1e-12]
    if ok:
        pool = ok
    else:  # the fewest false triggers, then the same order
        least = min(float(r["false_per_min"]) for r in rows)
        pool = [r for r in rows if float(r["false_per_min"]) <= least + 1e-12]
    best = max(score(r) for r in pool)
    tied = [r for r in pool if score(r) >= best - 1e-9]
    m_best = min(r["min_consecutive"] for r in tied)
    tied = sorted((r for r in tied if r["min_consecutive"] == m_best), key=lambda r: r["threshold"])
    pick = tied[(len(tied) - 1) // 2]
    rule = (f"max gesture + rejection with <= {max_false_per_min:g} false/min on validation" if ok else
            f"no combination reached <= {max_false_per_min:g} false/min on validation: the fewest, then max gesture + rejection")
    return {
        "threshold": pick["threshold"], "min_consecutive": pick["min_consecutive"],
        "validation": {**{k: pick[k] for k in ("gesture_accuracy", "rejection", "detection_recall", "false_per_min")},
                       "rule": rule, "table": {k: [r[k] for r in rows] for k in rows[0]}},
    }
