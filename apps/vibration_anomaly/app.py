"""vibration_anomaly: machine condition monitoring from accelerometer windows.

Two recipes share the data, features and firmware plumbing:

* :class:`VibrationAnomalyApp` (``tinyml app=vibration_anomaly``): an autoencoder
  trained on normal windows only; anomaly score = mean squared reconstruction residual
  (``postprocess.anomaly_score``); the alarm threshold is calibrated on held-out normal
  windows at ``false_alarm_rate``; alarm with hysteresis over consecutive windows.
  Metrics: ROC AUC (headline ``auc``), partial AUC, precision/recall/F1 and false-alarm
  rate at the threshold, detection rate per fault type and severity, recording-level
  alarm figures, and a K-means distance baseline on the same features.
* :class:`VibrationFaultClassifierApp` (``experiment=vibration_fault_classifier``):
  a supervised classifier (normal, inner race, ball, outer race); accuracy, confusion
  matrix, accuracy per load and per fault size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.vibration_anomaly.kmeans import KMeans
from tinyml_suite.apps.vibration_anomaly.labels import NORMAL, is_anomaly
from tinyml_suite.apps.vibration_anomaly.postprocess import alarm_sequence, anomaly_score
from tinyml_suite.common.app import App, PredictFn, classification_metrics
from tinyml_suite.common.data import DataKind, DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.common.metrics import (
    binary_metrics,
    partial_auc,
    roc_auc,
    roc_curve,
    threshold_at_fpr,
)

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["FaultClassifierOptions", "VibrationAnomalyApp", "VibrationAnomalyOptions", "VibrationFaultClassifierApp",
           "detection_table"]

log = logging.getLogger("tinyml")


def _fault_names(split: Split, labels: tuple[str, ...]) -> np.ndarray:
    if "fault" in split.meta:
        return np.asarray(split.meta["fault"]).astype(str)
    return np.asarray([labels[int(i)] for i in split.y])


def _safe_auc(y: np.ndarray, s: np.ndarray) -> float:
    y = np.asarray(y).astype(bool)
    if y.all() or not y.any():
        return float("nan")
    return roc_auc(y, s)


def detection_table(scores: np.ndarray, split: Split, labels: tuple[str, ...], threshold: float) -> dict[str, Any]:
    """Detection rate (fraction of windows above ``threshold``) and AUC vs normal, per fault
    type, per severity and per (fault, severity)."""
    faults = _fault_names(split, labels)
    anomalous = is_anomaly(split.y)
    normal = ~anomalous
    sev = np.asarray(split.meta.get("severity", np.zeros(len(split.y)))).astype(int)
    above = np.asarray(scores) > threshold

    def entry(mask: np.ndarray) -> dict[str, Any]:
        both = mask | normal
        return {"n": int(mask.sum()), "detection_rate": float(above[mask].mean()) if mask.any() else float("nan"),
                "auc": _safe_auc(anomalous[both] & mask[both], scores[both])}

    per_fault = {f: entry(anomalous & (faults == f)) for f in dict.fromkeys(faults[anomalous])}
    per_sev = {str(v): entry(anomalous & (sev == v)) for v in sorted(set(sev[anomalous].tolist()))}
    per_both = {
        f"{f}/{v}": entry(anomalous & (faults == f) & (sev == v))
        for f in per_fault for v in sorted(set(sev[anomalous & (faults == f)].tolist()))
    }
    return {"per_fault": per_fault, "per_severity": per_sev, "per_fault_severity": per_both}


@dataclass(frozen=True)
class VibrationAnomalyOptions:
    """Options of :class:`VibrationAnomalyApp` (``app.<key>=...``). ``conf/app/vibration_anomaly.yaml``
    sets none of them, so that ``experiment=vibration_fault_classifier`` can switch the class."""

    false_alarm_rate: float = 0.01  # threshold = this quantile of held-out normal validation scores
    max_fpr: float = 0.1  # partial AUC over false-alarm rates [0, max_fpr] (DCASE convention)
    alarm_on_windows: int = 3  # consecutive windows above threshold that raise the alarm
    alarm_off_windows: int = 3  # consecutive windows below release_ratio x threshold that clear it
    release_ratio: float = 0.8  # level hysteresis of the alarm
    kmeans_k: int = 8  # clusters of the K-means distance baseline
    hop_samples: int | None = None  # samples between inferences on the device (null: the window, no overlap)
    sensor_scale: float = 25.0  # g per volt of the analog accelerometer (1 / sensitivity; 40 mV/g -> 25)

    def __post_init__(self) -> None:
        if not 0 <= self.false_alarm_rate < 1:
            raise ConfigError(
                f"app.false_alarm_rate={self.false_alarm_rate} must be in [0, 1) (e.g. 0.01 for 1 %)"
            )
        if not 0 < self.max_fpr <= 1:
            raise ConfigError(f"app.max_fpr={self.max_fpr} must be in (0, 1] (partial AUC range)")
        if self.alarm_on_windows < 1 or self.alarm_off_windows < 1:
            raise ConfigError(
                f"app.alarm_on_windows={self.alarm_on_windows} and app.alarm_off_windows={self.alarm_off_windows} "
                "must be >= 1"
            )
        if not 0 < self.release_ratio <= 1:
            raise ConfigError(f"app.release_ratio={self.release_ratio} must be in (0, 1]")
        if self.kmeans_k < 1:
            raise ConfigError(f"app.kmeans_k={self.kmeans_k} must be >= 1")
        _check_device(self.hop_samples, self.sensor_scale)


def _check_device(hop_samples: int | None, sensor_scale: float) -> None:
    if hop_samples is not None and hop_samples < 1:
        raise ConfigError(f"app.hop_samples={hop_samples} must be >= 1 (or null: the window)")
    if not sensor_scale > 0:
        raise ConfigError(f"app.sensor_scale={sensor_scale} must be > 0 g per volt")


class VibrationAnomalyApp(App):
    """Autoencoder anomaly detection on vibration features (see the module docstring;
    options: :class:`VibrationAnomalyOptions`)."""

    name: ClassVar[str] = "vibration_anomaly"
    task: ClassVar[str] = "anomaly"
    headline: ClassVar[str] = "auc"
    custom_dataset: ClassVar[str] = "vibration_folder"  # `tinyml new --from` starts from this loader
    firmware_hooks: ClassVar[str] = "apps/vibration_anomaly/postprocess.c"
    Options: ClassVar[type] = VibrationAnomalyOptions
    needs: ClassVar[DataKind] = DataKind(modality="vibration")  # labelled windows: class 0 is normal

    # -- data ----------------------------------------------------------------------
    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        super().check_data(data, dataset_name)
        if not data.labels or data.labels[0] != NORMAL:
            raise DatasetError(
                f"dataset={dataset_name} labels {list(data.labels)} must start with '{NORMAL}' (class 0 = normal)"
            )
        for name in ("train", "val"):
            if not (getattr(data, name).y == 0).any():
                raise DatasetError(
                    f"dataset={dataset_name} has no normal window in its {name} split; the autoencoder trains "
                    "on normal train windows and the threshold is calibrated on normal validation windows"
                )

    def output_size(self, data: DataSplits) -> int:
        return 0  # the autoencoder's output size is its input size (model.py)

    def training_arrays(self, X: np.ndarray, split: Split, data: DataSplits) -> tuple[np.ndarray, np.ndarray]:
        """Normal windows only; the target is a zero residual."""
        keep = split.y == 0
        return X[keep], np.zeros_like(X[keep])

    def loss(self) -> Any:
        return "mse"

    def keras_metrics(self) -> list[Any]:
        return []

    # -- evaluation ----------------------------------------------------------------
    def scores(self, predict: PredictFn, X: np.ndarray) -> np.ndarray:
        """Anomaly score of each window [shape=(n,)]."""
        if len(X) == 0:
            return np.zeros(0)
        return anomaly_score(predict(X))

    def calibrate(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        s = self.scores(predict, ctx.X["val"])
        normal = ctx.data.val.y == 0
        thr = threshold_at_fpr(s[normal], self.params.false_alarm_rate)
        log.info("Threshold %.5g at a %.3g false-alarm rate on %d normal validation windows",
                 thr, self.params.false_alarm_rate, int(normal.sum()))
        return {"threshold": float(thr), "false_alarm_rate": self.params.false_alarm_rate,
                "val_normal_windows": int(normal.sum())}

    def _threshold(self, ctx: RunContext) -> float:
        cal = ctx.state.calibration or {}
        if "threshold" not in cal:
            raise ConfigError("vibration_anomaly needs the calibrated threshold: run the evaluate stage first")
        return float(cal["threshold"])

    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        scores = self.scores(predict, X)
        return self.score_metrics(scores, split, ctx)

    def score_metrics(self, scores: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        """Every anomaly metric of one set of window scores."""
        assert ctx.data is not None
        thr = self._threshold(ctx)
        y = is_anomaly(split.y)
        out: dict[str, Any] = {"auc": _safe_auc(y, scores), "n": len(y), "n_normal": int((~y).sum()),
                               "n_anomalous": int(y.sum()), "threshold": thr}
        if y.any() and (~y).any():
            out[f"pauc_{self.params.max_fpr:g}"] = partial_auc(y, scores, self.params.max_fpr)
            # > 1: every faulty window scores above every normal one, by this factor
            out["score_margin"] = float(np.min(scores[y]) / max(float(np.max(scores[~y])), 1e-12))
        else:
            log.warning("The test split has only %s windows: AUC undefined", "anomalous" if y.any() else "normal")
        bm = binary_metrics(y, scores, thr)
        out.update({"precision": bm["precision"], "recall": bm["recall"], "f1": bm["f1"],
                    "false_alarm_rate": bm["fpr"], "confusion": {k: bm[k] for k in ("tp", "fp", "tn", "fn")}})
        out.update(detection_table(scores, split, ctx.data.labels, thr))
        out["alarm"] = self.alarm_metrics(scores, split, thr)
        return out

    def alarm_metrics(self, scores: np.ndarray, split: Split, threshold: float) -> dict[str, Any]:
        """The hysteresis alarm run over each recording (group) in window order."""
        groups = split.groups if split.groups is not None else np.zeros(len(scores), dtype=str)
        anomalous = is_anomaly(split.y)
        detected, false_alarm, delays, normal_alarm_windows, n_normal_windows = [], [], [], 0, 0
        for g in dict.fromkeys(groups.tolist()):
            idx = np.flatnonzero(groups == g)
            states = alarm_sequence(scores[idx], threshold, on_windows=self.params.alarm_on_windows,
                                    off_windows=self.params.alarm_off_windows, release_ratio=self.params.release_ratio)
            if anomalous[idx].any():
                detected.append(bool(states.any()))
                if states.any():
                    delays.append(int(np.argmax(states)) + 1)
            else:
                false_alarm.append(bool(states.any()))
                normal_alarm_windows += int(states.sum())
                n_normal_windows += len(idx)
        return {
            "recordings_anomalous": len(detected),
            "recordings_detected": float(np.mean(detected)) if detected else float("nan"),
            "recordings_normal": len(false_alarm),
            "normal_recordings_with_alarm": float(np.mean(false_alarm)) if false_alarm else float("nan"),
            "normal_windows_in_alarm": normal_alarm_windows / n_normal_windows if n_normal_windows else float("nan"),
            "median_windows_to_alarm": float(np.median(delays)) if delays else float("nan"),
            "on_windows": self.params.alarm_on_windows, "off_windows": self.params.alarm_off_windows, "release_ratio": self.params.release_ratio,
        }

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        """Test scores for the plots; the K-means baseline (float); float-vs-int8 score agreement."""
        assert ctx.data is not None
        store = ctx.state.app.setdefault("vib_scores", {})
        scores = self.scores(predict, ctx.X["test"])
        store[variant] = scores
        out: dict[str, Any] = {}
        if variant == "float":
            out["kmeans"] = self.kmeans_baseline(ctx)
        elif "float" in store and len(store["float"]) == len(scores):
            f = store["float"]
            rel = np.abs(scores - f) / np.maximum(np.abs(f), 1e-12)
            out["score_vs_float"] = {"median_rel_diff": float(np.median(rel)),
                                     "p95_rel_diff": float(np.percentile(rel, 95))}
        return out

    def kmeans_baseline(self, ctx: RunContext) -> dict[str, Any]:
        """K-means distance on features standardised by the normal training windows."""
        assert ctx.data is not None
        normal_train = ctx.X["train"][ctx.data.train.y == 0]
        mu = normal_train.mean(0)
        sd = normal_train.std(0) + 1e-6
        k = min(self.params.kmeans_k, len(normal_train))
        km = KMeans(k=k, seed=ctx.seed).fit((normal_train - mu) / sd)
        val_s = km.score((ctx.X["val"] - mu) / sd)
        test_s = km.score((ctx.X["test"] - mu) / sd)
        thr = threshold_at_fpr(val_s[ctx.data.val.y == 0], self.params.false_alarm_rate)
        ctx.state.app.setdefault("vib_scores", {})["kmeans"] = test_s
        y = is_anomaly(ctx.data.test.y)
        out: dict[str, Any] = {"k": k, "auc": _safe_auc(y, test_s), "threshold": float(thr),
                               "parameters": int(km.centroids.size + 2 * mu.size)}
        if y.any() and (~y).any():
            out[f"pauc_{self.params.max_fpr:g}"] = partial_auc(y, test_s, self.params.max_fpr)
        bm = binary_metrics(y, test_s, thr)
        out.update({"precision": bm["precision"], "recall": bm["recall"], "f1": bm["f1"],
                    "false_alarm_rate": bm["fpr"]})
        out["per_fault"] = detection_table(test_s, ctx.data.test, ctx.data.labels, thr)["per_fault"]
        log.info("K-means baseline (k=%d): AUC %.4f", k, out["auc"])
        return out

    # -- report --------------------------------------------------------------------
    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        assert ctx.data is not None
        store = ctx.state.app.get("vib_scores") or {}
        y = is_anomaly(ctx.data.test.y)
        paths: list[Path] = []
        if store and y.any() and (~y).any():
            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
            names = {"float": "autoencoder (float)", "int8": "autoencoder (int8, TFLM)", "kmeans": "K-means baseline"}
            for key, label in names.items():
                if key not in store or len(store[key]) != len(y):
                    continue
                fpr, tpr, _ = roc_curve(y, store[key])
                for ax in axes:
                    ax.plot(fpr, tpr, label=f"{label}: AUC {roc_auc(y, store[key]):.4f}",
                            ls="--" if key == "kmeans" else "-")
            axes[0].plot([0, 1], [0, 1], color="grey", lw=0.8)
            axes[1].set_xlim(0, self.params.max_fpr)
            axes[1].set_title(f"low false-alarm region (FPR <= {self.params.max_fpr:g})")
            axes[0].set_title(f"ROC, {ctx.data.name} test split")
            for ax in axes:
                ax.set_xlabel("false-alarm rate (normal windows)")
                ax.set_ylabel("detection rate (faulty windows)")
                ax.grid(alpha=0.3)
            axes[0].legend(loc="lower right", fontsize=8)
            fig.tight_layout()
            paths.append(out_dir / "roc.png")
            fig.savefig(paths[-1], dpi=110)
            plt.close(fig)
        if "float" in store:
            s = np.asarray(store["float"])
            faults = _fault_names(ctx.data.test, ctx.data.labels)
            fig, ax = plt.subplots(figsize=(7, 3.8))
            bins = np.linspace(np.log10(max(s.min(), 1e-6)), np.log10(max(s.max(), 1e-5)), 50)
            for f in dict.fromkeys(faults):
                ax.hist(np.log10(np.maximum(s[faults == f], 1e-6)), bins=bins, histtype="step", label=f,
                        lw=2 if f == NORMAL else 1)
            thr = (ctx.state.calibration or {}).get("threshold")
            if thr:
                ax.axvline(np.log10(thr), color="k", ls="--", label="threshold")
            ax.set_xlabel("log10 anomaly score (mean squared residual)")
            ax.set_ylabel("windows")
            ax.legend(fontsize=7)
            fig.tight_layout()
            paths.append(out_dir / "scores.png")
            fig.savefig(paths[-1], dpi=110)
            plt.close(fig)
        table = (ctx.metrics.get("float") or {}).get("per_fault_severity") or {}
        if table:
            fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(table)), 3.6))
            keys = list(table)
            ax.bar(range(len(keys)), [table[k]["detection_rate"] for k in keys])
            ax.set_xticks(range(len(keys)), keys, rotation=60, ha="right", fontsize=7)
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("windows above threshold")
            ax.set_title(f"detection rate per fault/severity at {self.params.false_alarm_rate:g} false-alarm rate")
            fig.tight_layout()
            paths.append(out_dir / "detection.png")
            fig.savefig(paths[-1], dpi=110)
            plt.close(fig)
        return paths

    # -- firmware ------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        window = int(ctx.data.train.x.shape[-1])
        hop = int(self.params.hop_samples) if self.params.hop_samples else window
        return {
            "labels": list(ctx.data.labels),
            "task": self.task,
            "hop_samples": hop,
            "alarm_on_windows": self.params.alarm_on_windows,
            "alarm_off_windows": self.params.alarm_off_windows,
            "release_ratio": self.params.release_ratio,
            "sensor": "adc",  # an analog accelerometer on the ADC, sampled by a timer (boards' HALs)
            "sensor_scale": self.params.sensor_scale,  # g per volt: 1 / the accelerometer's sensitivity
        }

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        return 16  # alarm state: active flag, counter, last score

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]] | None:
        """postprocess.c's event of every window: the score and the alarm state
        (:func:`anomaly_score`, :func:`alarm_sequence`), the threshold as confidence."""
        thr = (ctx.state.calibration or {}).get("threshold")
        if thr is None:
            return None
        scores = anomaly_score(np.asarray(outputs, np.float32))
        alarm = alarm_sequence(scores, float(thr), on_windows=self.params.alarm_on_windows, off_windows=self.params.alarm_off_windows,
                               release_ratio=self.params.release_ratio)
        return [{"event": "anomaly", "index": int(a), "value": float(s), "confidence": float(np.float32(thr)), "window": w}
                for w, (s, a) in enumerate(zip(scores, alarm))]



@dataclass(frozen=True)
class FaultClassifierOptions:
    """Options of :class:`VibrationFaultClassifierApp` (``experiment=vibration_fault_classifier``)."""

    balance_classes: bool = True  # weight windows by inverse class frequency (CWRU has one normal recording)
    hop_samples: int | None = None  # samples between inferences on the device (null: the window, no overlap)
    sensor_scale: float = 25.0  # g per volt of the analog accelerometer (1 / sensitivity; 40 mV/g -> 25)

    def __post_init__(self) -> None:
        _check_device(self.hop_samples, self.sensor_scale)


class VibrationFaultClassifierApp(App):
    """Supervised fault classifier (normal, inner race, ball, outer race, ...; options:
    :class:`FaultClassifierOptions`)."""

    name: ClassVar[str] = "vibration_anomaly"
    task: ClassVar[str] = "classification"
    headline: ClassVar[str] = "accuracy"
    firmware_hooks: ClassVar[str] = "apps/vibration_anomaly/postprocess.c"
    Options: ClassVar[type] = FaultClassifierOptions
    needs: ClassVar[DataKind] = DataKind(modality="vibration")
    selected_by: ClassVar[str] = "experiment=vibration_fault_classifier"

    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        super().check_data(data, dataset_name)
        present = set(np.unique(data.train.y).tolist())
        missing = [data.labels[i] for i in range(len(data.labels)) if i not in present]
        if missing:
            raise DatasetError(f"dataset={dataset_name} has no training window of class(es) {missing}")

    def sample_weights(self, split: Split, data: DataSplits) -> np.ndarray | None:
        """Inverse class frequency, so the one normal recording counts as much as a fault class."""
        if not self.params.balance_classes:
            return None
        counts = np.bincount(split.y.astype(int), minlength=len(data.labels)).astype(float)
        w = len(split.y) / (len(data.labels) * np.maximum(counts, 1.0))
        return w[split.y.astype(int)].astype(np.float32)

    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        out = predict(X)
        m = classification_metrics(out, split.y, ctx.data.labels)
        pred = np.argmax(out, axis=-1)
        for key in ("load_hp", "severity"):
            col = split.meta.get(key)
            if col is None:
                continue
            values = np.unique(np.asarray(col))
            if len(values) > 8:  # a continuous column (the simulator's load): no table
                continue
            m[f"accuracy_per_{key}"] = {
                f"{v:g}": float((pred[col == v] == split.y[col == v]).mean()) for v in values.tolist()
            }
        if split.groups is not None:  # one decision per recording: majority vote of its windows
            right = []
            for g in dict.fromkeys(split.groups.tolist()):
                idx = split.groups == g
                right.append(np.bincount(pred[idx], minlength=len(ctx.data.labels)).argmax() == split.y[idx][0])
            m["recording_accuracy"] = float(np.mean(right))
            m["n_recordings"] = len(right)
        return m

    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        assert ctx.data is not None
        paths = []
        for variant in ("float", "int8"):
            conf = (ctx.metrics.get(variant) or {}).get("confusion")
            if not conf:
                continue
            c = np.asarray(conf, dtype=float)
            norm = c / np.maximum(c.sum(1, keepdims=True), 1)
            fig, ax = plt.subplots(figsize=(4.6, 4))
            ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
            labels = list(ctx.data.labels)
            ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
            ax.set_yticks(range(len(labels)), labels)
            for i in range(len(labels)):
                for j in range(len(labels)):
                    ax.text(j, i, f"{int(c[i, j])}", ha="center", va="center",
                            color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            acc = (ctx.metrics.get(variant) or {}).get("accuracy", float("nan"))
            ax.set_title(f"{variant}: accuracy {acc:.4f}")
            fig.tight_layout()
            paths.append(out_dir / f"confusion_{variant}.png")
            fig.savefig(paths[-1], dpi=110)
            plt.close(fig)
        return paths

    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        window = int(ctx.data.train.x.shape[-1])
        return {"labels": list(ctx.data.labels), "task": self.task,
                "hop_samples": int(self.params.hop_samples) if self.params.hop_samples else window,
                "sensor": "adc", "sensor_scale": self.params.sensor_scale}
