"""The gesture app: IMU gesture recognition from windows of accelerometer (+ gyroscope).

Hooks (``common/app.py``):

* calibration (``calibrate``): the open-set decision - the smoothed-posterior threshold
  a gesture must reach and how many inferences in a row - chosen on the validation
  split only (:func:`.postprocess.choose_detector`), when ``calibrate_detector`` is set;
* evaluation: accuracy, macro F1, per-class precision/recall/F1, the confusion matrix,
  accuracy per user when the split knows its users, and the open-set figures at the
  threshold (:func:`.postprocess.open_set_metrics`: gesture windows right and above the
  threshold, background windows rejected), overall and per user;
* streaming evaluation (``extra_evaluation``): the dataset's continuous test streams
  (:meth:`GestureSynth.streams`: gestures embedded in idle motion with negative
  movements; the magic wand: its negative logs, and each gesture recording held still
  before and after) are cut into windows every ``hop_s``, classified, debounced
  (:mod:`.postprocess`) and matched to the ground truth: detections, misses, wrong
  classes, false triggers per minute (separately on the streams without any gesture);
* plots: confusion matrices (float and int8), per-class F1, a stream timeline;
* firmware: the debounce constants (calibrated when they were) for
  ``firmware_templates/apps/gesture/postprocess.c``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.gesture.labels import event_mask
from tinyml_suite.apps.gesture.postprocess import (
    DetectorParams,
    choose_detector,
    combine_scores,
    detect,
    open_set_metrics,
    score_stream,
)
from tinyml_suite.common.app import App, PredictFn, classification_metrics
from tinyml_suite.common.data import DataKind, DataSplits, Split
from tinyml_suite.common.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["DetectorGrid", "GestureApp", "GestureOptions"]

log = logging.getLogger("tinyml")


def _default_threshold_grid() -> tuple[float, ...]:
    return (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98)


@dataclass(frozen=True)
class DetectorGrid:
    """The debounce values the validation split may choose from (``app.calibrate_detector``)."""

    threshold: tuple[float, ...] = field(default_factory=_default_threshold_grid)  # smoothed posteriors
    min_consecutive: tuple[int, ...] = (1, 2, 3, 4)  # inferences in a row

    def __post_init__(self) -> None:
        for t in self.threshold:
            DetectorParams(threshold=float(t))
        for m in self.min_consecutive:
            DetectorParams(min_consecutive=int(m))


@dataclass(frozen=True)
class GestureOptions:
    """Options of :class:`GestureApp` (``app.<key>=...``; ``conf/app/gesture.yaml`` overrides them)."""

    background: tuple[str, ...] = ("idle", "negative")  # labels that are not gestures: never reported as events
    hop_s: float = 0.2  # s between inferences on a stream and on the device
    threshold: float = 0.7  # smoothed posterior a gesture must reach
    smooth_windows: int = 3  # posteriors averaged (moving average over inferences)
    min_consecutive: int = 2  # inferences in a row the same gesture must win
    refractory_s: float = 1.2  # s after an event during which nothing is reported
    #: the threshold and min_consecutive values chosen from on the validation split
    #: (replacing the two above); null: use the two above
    calibrate_detector: DetectorGrid | None = field(default_factory=DetectorGrid,
                                                    metadata={"unknown": "cannot be calibrated"})
    #: most false triggers per minute the calibration accepts on validation streams (the goal)
    max_false_per_min: float = 1.0
    balance_classes: bool = True  # weight training examples by inverse class frequency
    stream_seconds: float | None = None  # length of each synthetic test stream, s (null: the dataset's)

    def __post_init__(self) -> None:
        if not self.hop_s > 0:
            raise ConfigError(f"app.hop_s={self.hop_s} must be > 0 seconds")
        if self.refractory_s < 0:
            raise ConfigError(f"app.refractory_s={self.refractory_s} must be >= 0 seconds")
        if self.max_false_per_min < 0:
            raise ConfigError(f"app.max_false_per_min={self.max_false_per_min} must be >= 0")
        DetectorParams(threshold=self.threshold, smooth_windows=self.smooth_windows,
                       min_consecutive=self.min_consecutive)


class GestureApp(App):
    """IMU gesture classification with streaming event detection (options: :class:`GestureOptions`)."""

    name = "gesture"
    task = "classification"
    headline = "accuracy"
    firmware_main = ""
    firmware_hooks = "apps/gesture/postprocess.c"
    custom_dataset = "imu_csv"
    Options: ClassVar[type] = GestureOptions
    needs: ClassVar[DataKind] = DataKind(modality="imu")  # any accelerometer (and gyroscope) axes

    # -- settings ----------------------------------------------------------------------
    def hop_samples(self, sample_rate: float) -> int:
        return max(1, round(self.params.hop_s * float(sample_rate)))

    def detector_params(self, sample_rate: float | None = None,
                        calibration: dict[str, Any] | None = None) -> DetectorParams:
        """The debounce settings: the options, with the calibrated values where there are any."""
        o = self.params
        hop_s = o.hop_s
        if sample_rate:
            hop_s = self.hop_samples(sample_rate) / float(sample_rate)
        cal = calibration or {}
        return DetectorParams(
            threshold=float(cal.get("threshold", o.threshold)),
            smooth_windows=o.smooth_windows,
            min_consecutive=int(cal.get("min_consecutive", o.min_consecutive)),
            refractory_windows=round(o.refractory_s / hop_s),
        )

    def event_mask(self, labels: tuple[str, ...]) -> list[int]:
        return event_mask(labels, list(self.params.background))

    # -- training ----------------------------------------------------------------------
    def sample_weights(self, split: Split, data: DataSplits) -> np.ndarray | None:
        if not self.params.balance_classes:
            return None
        y = split.y.astype(int)
        counts = np.bincount(y, minlength=len(data.labels)).astype(float)
        w = len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1.0))
        return w[y].astype(np.float32)

    # -- evaluation --------------------------------------------------------------------
    def calibrate(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any]:
        """Choose the threshold and ``min_consecutive`` on the validation split only.

        Every combination of the ``app.calibrate_detector`` lists is scored on the
        validation windows and streams (:func:`.postprocess.choose_detector` states the
        rule); the choice replaces the configured values for evaluation, the streaming
        figures and the firmware header. The test split is never looked at. Without a
        grid or validation data, nothing is calibrated; without validation streams, only
        the threshold is.
        """
        grid = self.params.calibrate_detector
        if grid is None or ctx.data is None or len(ctx.data.val) == 0:
            return {}
        data = ctx.data
        fs = float(data.sample_rate)
        base = self.detector_params(fs)
        thresholds = [float(t) for t in (grid.threshold or [base.threshold])]
        counts = [int(m) for m in (grid.min_consecutive or [base.min_consecutive])]
        mask = self.event_mask(data.labels)
        streams = self._stream_posteriors(predict, ctx, "val")
        if not streams:  # windows say nothing about the debounce: keep the configured count
            counts = [base.min_consecutive]
        choice = choose_detector(
            predict(ctx.X["val"]), data.val.y, mask, streams, base=base, thresholds=thresholds,
            min_consecutive=counts, max_false_per_min=self.params.max_false_per_min,
            labels=data.labels, window_s=int(data.train.x.shape[-1]) / fs,
        )
        log.info(
            "Detector chosen on validation: threshold %.2f, %d in a row (%s)",
            choice["threshold"], choice["min_consecutive"], choice["validation"]["rule"],
        )
        return choice

    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        outputs = predict(X)
        m = classification_metrics(outputs, split.y, ctx.data.labels)
        groups = split.groups.astype(str) if split.groups is not None and len(split) else None
        if groups is not None:
            pred = np.argmax(outputs, axis=-1)
            m["per_user"] = {
                g: float(np.mean(pred[groups == g] == split.y[groups == g])) for g in sorted(set(groups))
            }
        params = self.detector_params(float(ctx.data.sample_rate), ctx.state.calibration)
        m["open_set"] = open_set_metrics(outputs, split.y, self.event_mask(ctx.data.labels), params.threshold,
                                         groups=groups)
        return m

    def _stream_posteriors(self, predict: PredictFn, ctx: RunContext, split: str) -> list[dict[str, Any]]:
        """The dataset's streams of ``split``, windowed every hop and classified."""
        source = getattr(ctx.dataset, "streams", None)
        if source is None or ctx.data is None or ctx.features is None:
            return []
        seconds = self.params.stream_seconds
        streams = source(split, seconds=None if seconds is None else float(seconds))
        from tinyml_suite.datasets.imu_common import slide

        data = ctx.data
        fs = float(data.sample_rate)
        window = int(data.train.x.shape[-1])
        hop = self.hop_samples(fs)
        kept, windows = [], []
        for s in streams:
            if abs(s.sample_rate - fs) > 1e-6 or s.x.shape[0] != len(data.channels):
                raise ConfigError(
                    f"stream {s.group} is {s.x.shape[0]} channels at {s.sample_rate} Hz but the model "
                    f"takes {len(data.channels)} at {fs} Hz"
                )
            wins = slide(s.x, window, hop)
            if len(wins):
                kept.append(s)
                windows.append(wins)
        if not kept:
            return []
        # one call for all streams (many short gesture streams: per-call overhead dominates)
        post = predict(ctx.features(np.concatenate(windows)))
        bounds = np.cumsum([0] + [len(w) for w in windows])
        return [{"stream": s, "posteriors": post[a:b], "ends": (np.arange(b - a) * hop + window) / fs}
                for s, a, b in zip(kept, bounds[:-1], bounds[1:])]

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        """Streaming event detection on the dataset's test streams (when it has any)."""
        if ctx.data is None:
            return {}
        data = ctx.data
        fs = float(data.sample_rate)
        window_s = int(data.train.x.shape[-1]) / fs
        params = self.detector_params(fs, ctx.state.calibration)
        mask = self.event_mask(data.labels)
        parts, quiet, per_group = [], [], {}
        for k, item in enumerate(self._stream_posteriors(predict, ctx, "test")):
            s, post, ends = item["stream"], item["posteriors"], item["ends"]
            hits = detect(post, mask, params)
            dets = [(float(ends[i]), c) for i, c, _ in hits]
            part = score_stream(dets, s.events, s.distractors, labels=data.labels, window_s=window_s, seconds=s.seconds)
            parts.append(part)
            if not s.events:
                quiet.append(part)
                g = per_group.setdefault(s.group, {"false_triggers": 0, "minutes": 0.0})
                g["false_triggers"] += part["false_triggers"]
                g["minutes"] += part["minutes"]
            if k == 0:
                ctx.state.app[f"gesture_stream_{variant}"] = {
                    "x": s.x, "fs": fs, "events": s.events, "distractors": s.distractors,
                    "ends": ends, "posteriors": post, "detections": dets,
                    "threshold": params.threshold, "group": s.group,
                }
        if not parts:
            return {}
        result = combine_scores(parts)
        if quiet and len(quiet) < len(parts):
            # streams with gestures (detection) and streams without any (false triggers) apart
            result["gestures"] = combine_scores([p for p in parts if p["events"]])
            result["negatives"] = combine_scores(quiet)
            for g in per_group.values():
                g["false_triggers_per_min"] = g["false_triggers"] / g["minutes"] if g["minutes"] else None
            result["negatives"]["per_group"] = per_group
        result.update({"streams": len(parts), "hop_s": self.hop_samples(fs) / fs, "detector": {
            "threshold": params.threshold, "smooth_windows": params.smooth_windows,
            "min_consecutive": params.min_consecutive, "refractory_windows": params.refractory_windows}})
        log.info(
            "%s streaming: %d/%d events detected, %d wrong class, %.2f false triggers/min over %.1f min",
            variant, result["hits"], result["events"], result["wrong_class"],
            result["false_triggers_per_min"] or 0.0, result["minutes"],
        )
        return {"stream": result}

    # -- report --------------------------------------------------------------------------
    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        from tinyml_suite.apps.gesture import plots

        out: list[Path] = []
        labels = list(ctx.data.labels) if ctx.data is not None else []
        for variant in ("float", "int8"):
            m = ctx.metrics.get(variant) or {}
            if "confusion" in m:
                out.append(plots.confusion(np.asarray(m["confusion"]), labels, out_dir / f"confusion_{variant}.png",
                                           title=f"{variant}: accuracy {m['accuracy']:.3f}"))
        f1 = {v: ctx.metrics[v]["per_class"] for v in ("float", "int8") if "per_class" in (ctx.metrics.get(v) or {})}
        if f1:
            out.append(plots.per_class_f1(f1, labels, out_dir / "per_class_f1.png"))
        for variant in ("int8", "float"):
            st = ctx.state.app.get(f"gesture_stream_{variant}")
            if st is not None:
                out.append(plots.stream_timeline(st, labels, self.event_mask(tuple(labels)),
                                                 out_dir / "stream_timeline.png", title=variant))
                break
        return out

    # -- firmware ------------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        labels = tuple(ctx.data.labels) if ctx.data is not None else ()
        fs = float(ctx.data.sample_rate) if ctx.data is not None else 50.0
        p = self.detector_params(fs, ctx.state.calibration)
        return {
            "labels": list(labels),
            "task": self.task,
            "sensor": "imu",
            "hop_samples": self.hop_samples(fs),
            "threshold": float(p.threshold),
            "smooth_windows": int(p.smooth_windows),
            "min_consecutive": int(p.min_consecutive),
            "refractory_windows": int(p.refractory_windows),
            "event_mask": self.event_mask(labels) if labels else [],
        }

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        k = len(ctx.data.labels) if ctx.data is not None else 8
        # posterior ring (float32) + average + counters
        return 4 * k * (self.params.smooth_windows + 1) + 32

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]]:
        """postprocess.c's events from Python's :func:`detect` (value: the smoothed score,
        confidence: the raw posterior of the class in that window)."""
        labels = tuple(ctx.data.labels) if ctx.data is not None else ()
        y = np.asarray(outputs, np.float32)
        found = detect(y, self.event_mask(labels), self.detector_params(float(ctx.data.sample_rate)))
        return [{"event": "class", "index": int(c), "value": float(s), "confidence": float(y[w, c]), "window": int(w)}
                for w, c, s in found]
