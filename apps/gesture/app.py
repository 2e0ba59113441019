"""The gesture app: IMU gesture recognition from windows of accelerometer (+ gyroscope).

Hooks (``common/app.py``):

* evaluation: accuracy, macro F1, per-class precision/recall/F1, the confusion matrix
  and, when the split knows its users, accuracy per user;
* streaming evaluation (``extra_evaluation``): the dataset's continuous test streams
  (:meth:`GestureSynth.streams`: gestures embedded in idle motion with negative
  movements; the magic wand's negative logs: no gesture at all) are cut into windows
  every ``hop_s``, classified, debounced (:mod:`.postprocess`) and matched to the
  ground truth: detections, misses, wrong classes, false triggers per minute;
* plots: confusion matrices (float and int8), per-class F1, a stream timeline;
* firmware: the debounce constants for ``firmware_templates/apps/gesture/postprocess.c``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.gesture.labels import event_mask
from tinyml_suite.apps.gesture.postprocess import (
    DetectorParams,
    combine_scores,
    detect,
    score_stream,
)
from tinyml_suite.common.app import App, PredictFn, classification_metrics
from tinyml_suite.common.data import DataSplits, Split
from tinyml_suite.common.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["GestureApp"]

log = logging.getLogger("tinyml")


class GestureApp(App):
    """IMU gesture classification with streaming event detection.

    Options (``conf/app/gesture.yaml``)
    ------------------------------------
    background : labels that are not gestures (never reported as events)
    hop_s : seconds between inferences on a stream (and on the device)
    threshold, smooth_windows, min_consecutive, refractory_s : the debounce
    balance_classes : weight training examples by inverse class frequency
    stream_seconds : length of the synthetic test streams (null: the dataset's)
    """

    name = "gesture"
    task = "classification"
    headline = "accuracy"
    firmware_main = ""
    custom_dataset = "imu_csv"

    _DEFAULTS: ClassVar[dict[str, Any]] = {
        "background": ["idle", "negative"],
        "hop_s": 0.2,
        "threshold": 0.7,
        "smooth_windows": 3,
        "min_consecutive": 2,
        "refractory_s": 1.2,
        "balance_classes": True,
        "stream_seconds": None,
    }

    def __init__(self, **options: Any) -> None:
        options.pop("name", None)
        unknown = sorted(set(options) - set(self._DEFAULTS))
        if unknown:
            raise ConfigError(
                f"app.{unknown[0]} is not an option of app=gesture; valid: {', '.join(sorted(self._DEFAULTS))}"
            )
        merged = {**self._DEFAULTS, **options}
        super().__init__(**merged)
        o = self.options
        if not float(o["hop_s"]) > 0:
            raise ConfigError(f"app.hop_s={o['hop_s']} must be > 0 seconds")
        if float(o["refractory_s"]) < 0:
            raise ConfigError(f"app.refractory_s={o['refractory_s']} must be >= 0 seconds")
        self.detector_params()  # validates threshold and counts

    # -- settings ----------------------------------------------------------------------
    def hop_samples(self, sample_rate: float) -> int:
        return max(1, round(float(self.options["hop_s"]) * float(sample_rate)))

    def detector_params(self, sample_rate: float | None = None) -> DetectorParams:
        o = self.options
        hop_s = float(o["hop_s"])
        if sample_rate:
            hop_s = self.hop_samples(sample_rate) / float(sample_rate)
        return DetectorParams(
            threshold=float(o["threshold"]),
            smooth_windows=int(o["smooth_windows"]),
            min_consecutive=int(o["min_consecutive"]),
            refractory_windows=round(float(o["refractory_s"]) / hop_s),
        )

    def event_mask(self, labels: tuple[str, ...]) -> list[int]:
        return event_mask(labels, list(self.options["background"]))

    # -- training ----------------------------------------------------------------------
    def sample_weights(self, split: Split, data: DataSplits) -> np.ndarray | None:
        if not self.options["balance_classes"]:
            return None
        y = split.y.astype(int)
        counts = np.bincount(y, minlength=len(data.labels)).astype(float)
        w = len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1.0))
        return w[y].astype(np.float32)

    # -- evaluation --------------------------------------------------------------------
    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        outputs = predict(X)
        m = classification_metrics(outputs, split.y, ctx.data.labels)
        if split.groups is not None and len(split):
            pred = np.argmax(outputs, axis=-1)
            groups = split.groups.astype(str)
            m["per_user"] = {
                g: float(np.mean(pred[groups == g] == split.y[groups == g])) for g in sorted(set(groups))
            }
        return m

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        """Streaming event detection on the dataset's test streams (when it has any)."""
        source = getattr(ctx.dataset, "streams", None)
        if source is None or ctx.data is None or ctx.features is None:
            return {}
        seconds = self.options["stream_seconds"]
        streams = source("test", seconds=None if seconds is None else float(seconds))
        if not streams:
            return {}
        from tinyml_suite.datasets.imu_common import slide

        data = ctx.data
        fs = float(data.sample_rate)
        window = int(data.train.x.shape[-1])
        hop = self.hop_samples(fs)
        params = self.detector_params(fs)
        mask = self.event_mask(data.labels)
        parts = []
        for k, s in enumerate(streams):
            if abs(s.sample_rate - fs) > 1e-6 or s.x.shape[0] != len(data.channels):
                raise ConfigError(
                    f"stream {s.group} is {s.x.shape[0]} channels at {s.sample_rate} Hz but the model "
                    f"takes {len(data.channels)} at {fs} Hz"
                )
            wins = slide(s.x, window, hop)
            if len(wins) == 0:
                continue
            post = predict(ctx.features(wins))
            hits = detect(post, mask, params)
            ends = (np.arange(len(wins)) * hop + window) / fs
            dets = [(float(ends[i]), c) for i, c, _ in hits]
            parts.append(score_stream(dets, s.events, s.distractors, labels=data.labels,
                                      window_s=window / fs, seconds=s.seconds))
            if k == 0:
                ctx.state[f"gesture_stream_{variant}"] = {
                    "x": s.x, "fs": fs, "events": s.events, "distractors": s.distractors,
                    "ends": ends, "posteriors": post, "detections": dets,
                    "threshold": params.threshold, "group": s.group,
                }
        if not parts:
            return {}
        result = combine_scores(parts)
        result.update({"streams": len(parts), "hop_s": hop / fs, "detector": {
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
            st = ctx.state.get(f"gesture_stream_{variant}")
            if st is not None:
                out.append(plots.stream_timeline(st, labels, self.event_mask(tuple(labels)),
                                                 out_dir / "stream_timeline.png", title=variant))
                break
        return out

    # -- firmware ------------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        labels = tuple(ctx.data.labels) if ctx.data is not None else ()
        fs = float(ctx.data.sample_rate) if ctx.data is not None else 50.0
        p = self.detector_params(fs)
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
        return 4 * k * (int(self.options["smooth_windows"]) + 1) + 32

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray) -> list[dict[str, Any]]:
        """postprocess.c's events from Python's :func:`detect` (value: the smoothed score,
        confidence: the raw posterior of the class in that window)."""
        labels = tuple(ctx.data.labels) if ctx.data is not None else ()
        y = np.asarray(outputs, np.float32)
        found = detect(y, self.event_mask(labels), self.detector_params(float(ctx.data.sample_rate)))
        return [{"event": "class", "index": int(c), "value": float(s), "confidence": float(y[w, c]), "window": int(w)}
                for w, c, s in found]
