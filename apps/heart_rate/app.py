"""The heart_rate app: heart rate from wrist PPG + ACC (CNN + tracking prior), and R-peaks / HRV from ECG.

Two recipes, two App classes (``app._target_``):

* :class:`HeartRateApp` (``tinyml app=heart_rate``): 8 s windows of (ppg, acc_x, acc_y,
  acc_z) every 2 s -> a tiny CNN's softmax over heart-rate bins -> a causal tracking
  prior (HMM forward filter, ``postprocess.py``) -> BPM. Scored per window (MAE, RMSE,
  Bland-Altman, per subject) next to the no-learning DSP baseline (``dsp_baseline.py``)
  on the same test windows.
* :class:`EcgApp` (``experiment=ecg_rpeaks``): a DSP-only recipe (nothing is trained):
  Pan-Tompkins R-peak detection (``ecg.py``) on whole ECG records, scored beat by beat
  (sensitivity, PPV at 150 ms), plus HR per 8 s window and HRV.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.heart_rate.metrics import hr_metrics
from tinyml_suite.apps.heart_rate.postprocess import TrackParams, hr_grid, params_from, recording_segments, track
from tinyml_suite.common.app import App, PredictFn
from tinyml_suite.common.data import DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["HeartRateApp", "EcgApp", "decode_bins", "soft_labels"]

log = logging.getLogger("tinyml")

PPG_CHANNELS = ("ppg", "acc_x", "acc_y", "acc_z")
#: Tracking parameters the validation split may choose (``app.calibrate_tracking``).
CALIBRATABLE = ("sigma_bpm", "gamma", "uniform", "gamma_motion", "uniform_motion", "reacquire_acc", "init_bpm")


def soft_labels(bpm: np.ndarray, grid: np.ndarray, sigma_bpm: float) -> np.ndarray:
    """Gaussian soft targets over the HR grid, one row per window (rows sum to 1).

    Examples
    --------
    >>> g = hr_grid(60.0, 2.0, 11)
    >>> t = soft_labels(np.array([70.0]), g, 2.0)
    >>> int(np.argmax(t[0])), round(float(t.sum()), 6)
    (5, 1.0)
    """
    y = np.asarray(bpm, np.float64)[:, None]
    g = np.asarray(grid, np.float64)[None, :]
    t = np.exp(-0.5 * ((g - y) / float(sigma_bpm)) ** 2)
    t /= np.maximum(t.sum(axis=1, keepdims=True), 1e-30)
    return t.astype(np.float32)


def decode_bins(probs: np.ndarray, grid: np.ndarray, half_width: int = 3) -> np.ndarray:
    """Per-window BPM without tracking: mean of the distribution within +- ``half_width`` bins of its maximum.

    Examples
    --------
    >>> g = hr_grid(60.0, 2.0, 11)
    >>> decode_bins(np.array([[0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0.0]]), g).tolist()
    [69.0]
    """
    p = np.asarray(probs, np.float64)
    g = np.asarray(grid, np.float64)
    j = np.argmax(p, axis=1)
    out = np.empty(len(p))
    for i, k in enumerate(j):
        a, b = max(0, k - half_width), min(len(g), k + half_width + 1)
        w = p[i, a:b]
        out[i] = (w * g[a:b]).sum() / w.sum() if w.sum() > 0 else g[k]
    return out


def _hop_s(data: DataSplits) -> float:
    hop = data.extra.get("hop_s")
    return float(np.asarray(hop)) if hop is not None else 2.0


class HeartRateApp(App):
    """Heart rate from wrist PPG + ACC windows.

    Options (``conf/app/heart_rate.yaml``):
    ``hr_min_bpm``, ``hr_step_bpm``, ``n_bins`` (the output grid; with the spectrum
    front end it must equal the features' frequency bins), ``label_sigma_bpm`` (soft
    target width), ``decode_half_width`` (bins), ``tracking`` (:class:`TrackParams`
    fields), ``dsp_baseline`` (:class:`~tinyml_suite.apps.heart_rate.dsp_baseline.DspParams`
    fields; ``null`` skips the baseline), ``trace_subject`` (which test subject the
    HR-trace plot shows; null: the first).
    """

    name: ClassVar[str] = "heart_rate"
    task: ClassVar[str] = "regression"
    headline: ClassVar[str] = "mae_bpm"
    custom_dataset: ClassVar[str] = "ppg_csv"  # `tinyml new --from` starts from this loader
    higher_is_better: ClassVar[bool] = False
    firmware_main: ClassVar[str] = ""
    firmware_hooks: ClassVar[str] = "apps/heart_rate/postprocess.c"

    _OPTIONS = ("hr_min_bpm", "hr_step_bpm", "n_bins", "label_sigma_bpm", "decode_half_width", "tracking",
                "dsp_baseline", "trace_subject", "pretrain", "calibrate_tracking", "outputs")
    _PRETRAIN = ("n_subjects", "minutes", "epochs", "learning_rate", "batch_size", "artefact_scale")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        unknown = sorted(set(o) - set(self._OPTIONS))
        if unknown:
            raise ConfigError(f"app.{unknown[0]} is not an option of app=heart_rate; valid: {', '.join(self._OPTIONS)}")
        self.grid = hr_grid(float(o.get("hr_min_bpm", 30.0)), float(o.get("hr_step_bpm", 1.875)), int(o.get("n_bins", 113)))
        self.label_sigma = float(o.get("label_sigma_bpm", 3.0))
        if not self.label_sigma > 0:
            raise ConfigError(f"app.label_sigma_bpm={self.label_sigma} must be > 0 BPM")
        self.half_width = int(o.get("decode_half_width", 3))
        self.outputs = str(o.get("outputs", "logits"))
        if self.outputs not in ("logits", "probabilities"):
            raise ConfigError(f"app.outputs={self.outputs!r} must be 'logits' (model without softmax) or 'probabilities'")
        self.tracking: TrackParams = params_from(o.get("tracking"), refine="mean")
        self._dsp_opts = o.get("dsp_baseline", {})
        if self._dsp_opts is not None:
            from tinyml_suite.apps.heart_rate.dsp_baseline import dsp_params_from

            self.dsp = dsp_params_from(self._dsp_opts)
        else:
            self.dsp = None
        self.trace_subject = o.get("trace_subject")
        cal = o.get("calibrate_tracking")
        self.calibration_grid = dict(cal) if cal else None
        if self.calibration_grid is not None:
            bad = sorted(set(self.calibration_grid) - set(CALIBRATABLE))
            if bad:
                raise ConfigError(f"app.calibrate_tracking.{bad[0]} cannot be calibrated; use {', '.join(CALIBRATABLE)}")
        self.pretrain = dict(o["pretrain"]) if o.get("pretrain") else None
        if self.pretrain is not None:
            bad = sorted(set(self.pretrain) - set(self._PRETRAIN))
            if bad:
                raise ConfigError(f"app.pretrain.{bad[0]} is not a pretraining option; valid: {', '.join(self._PRETRAIN)}")

    # -- data ------------------------------------------------------------------------
    def check_data(self, data: DataSplits, dataset_name: str, dataset_apps: tuple[str, ...]) -> None:
        super().check_data(data, dataset_name, dataset_apps)
        if tuple(data.channels) != PPG_CHANNELS:
            raise DatasetError(
                f"dataset={dataset_name} has channels {data.channels}; app=heart_rate needs windows of "
                f"{PPG_CHANNELS} (the ECG recipe is experiment=ecg_rpeaks)"
            )
        for name in ("t_s", "rec"):
            if name not in data.test.meta:
                raise DatasetError(f"dataset={dataset_name} lacks meta column {name!r} (window time order per recording)")

    def output_size(self, data: DataSplits) -> int:
        return int(self.grid.size)

    def training_arrays(self, X: np.ndarray, split: Split, data: DataSplits) -> tuple[np.ndarray, np.ndarray]:
        return X, soft_labels(split.y, self.grid, self.label_sigma)

    def loss(self) -> Any:
        if self.outputs == "logits":
            import keras

            return keras.losses.CategoricalCrossentropy(from_logits=True)
        return "categorical_crossentropy"

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs -> probabilities over the HR bins (float32 softmax of logits, as the device)."""
        y = np.asarray(outputs, np.float32)
        if self.outputs == "probabilities":
            return y
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)

    def keras_metrics(self) -> list[Any]:
        return []

    def before_training(self, ctx: RunContext) -> dict[str, Any] | None:
        """Pretrain the CNN on simulated subjects (``app.pretrain``), then the recipe fine-tunes it.

        The simulated windows go through the run's own feature extractor at the run's
        sample rate; the simulator's seed is ``seed + 1000`` (never the run's test data).
        Skipped when the run's dataset is the simulator itself.
        """
        if self.pretrain is None or ctx.data is None or ctx.data.name == "ppg_sim":
            return None
        import keras

        from tinyml_suite.common.train import epoch_progress
        from tinyml_suite.datasets.synthetic.ppg import PpgSim

        o = self.pretrain
        n_subj, minutes, epochs = int(o.get("n_subjects", 24)), float(o.get("minutes", 10.0)), int(o.get("epochs", 15))
        if ctx.smoke:
            n_subj, minutes, epochs = 3, 2.0, 1
        sim = PpgSim(seed=ctx.seed + 1000, n_subjects=n_subj, minutes=minutes, n_test=1, n_val=1,
                     sample_rate=float(ctx.data.sample_rate), window_s=float(np.asarray(ctx.data.extra.get("window_s", 8.0))),
                     hop_s=_hop_s(ctx.data), artefact_scale=float(o.get("artefact_scale", 1.0))).load()
        x = np.concatenate([sim.train.x, sim.val.x, sim.test.x])
        y = np.concatenate([sim.train.y, sim.val.y, sim.test.y])
        X = np.concatenate([ctx.features(x[i : i + 512]) for i in range(0, len(x), 512)])
        if X.shape[1:] != ctx.X["train"].shape[1:]:
            raise ConfigError(f"pretraining features have shape {X.shape[1:]} but the run's are {ctx.X['train'].shape[1:]}")
        model = ctx.model
        model.compile(optimizer=keras.optimizers.Adam(float(o.get("learning_rate", 0.003))), loss=self.loss())
        log.info("Pretraining on %d simulated windows (%d subjects x %g min) for %d epochs", len(X), n_subj, minutes, epochs)
        shown, verbose = epoch_progress(int(ctx.cfg.trainer.get("verbose", 2)), epochs, "pretrain")
        hist = model.fit(X, soft_labels(y, self.grid, self.label_sigma), epochs=epochs,
                         batch_size=int(o.get("batch_size", 64)), shuffle=True, callbacks=shown, verbose=verbose)
        return {"pretrain": {"windows": int(len(X)), "subjects": n_subj, "epochs": epochs,
                             "final_loss": float(hist.history["loss"][-1])}}

    # -- evaluation ------------------------------------------------------------------
    def calibrate(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any]:
        """Choose the CNN's tracking parameters on the validation split (``app.calibrate_tracking``).

        Every combination of the ``app.calibrate_tracking`` lists (keys from
        :data:`CALIBRATABLE`) is scored (MAE) on the validation subjects' windows; the best
        replace the configured values for evaluation and the firmware. The test split is
        never looked at. Without validation data or a grid, nothing changes. (The DSP
        baseline's parameters are fixed in ``app.dsp_baseline``: chosen once, by
        leave-one-subject-out on SPC 2015's training subjects, see ``bench/heart_rate_spc2015.py``.)
        """
        if self.calibration_grid is None or ctx.data is None or len(ctx.data.val) == 0:
            return {}
        import dataclasses
        import itertools

        val, hop = ctx.data.val, _hop_s(ctx.data)
        segs = recording_segments(val.meta["rec"], val.meta["t_s"], hop)
        keys = tuple(k for k in CALIBRATABLE if k in self.calibration_grid)
        grids = [list(self.calibration_grid[k] or [getattr(self.tracking, k)]) for k in keys]
        probs = self.probabilities(predict(ctx.X["val"]))
        acc = self.acc_spectrum(ctx, ctx.X["val"])
        best, best_mae = self.tracking, np.inf
        for combo in itertools.product(*grids):
            tp = dataclasses.replace(self.tracking, **{k: None if v is None else float(v) for k, v in zip(keys, combo)})
            mae = float(np.mean(np.abs(track(probs, self.grid, segs, tp, acc) - val.y)))
            if mae < best_mae - 1e-9:
                best, best_mae = tp, mae
        self.tracking = best
        out: dict[str, Any] = {f"track_{k}": getattr(best, k) for k in keys}
        out["track_val_mae_bpm"] = best_mae
        log.info("Tracking prior calibrated on %d validation windows: %s", len(val), out)
        return out

    def acc_spectrum(self, ctx: RunContext | None, X: np.ndarray) -> np.ndarray | None:
        """The tracker's ``acc`` input for features ``X``: the front end's ACC spectrum (None without one)."""
        fn = getattr(ctx.features, "acc_spectrum", None) if ctx is not None else None
        if not callable(fn) or len(X) == 0:
            return None
        acc = fn(X)
        return acc if acc is not None and acc.shape == (len(X), self.grid.size) else None

    def _check_grid(self, ctx: RunContext) -> None:
        grid_fn = getattr(ctx.features, "hr_grid_bpm", None)
        if callable(grid_fn):
            fg = np.asarray(grid_fn())
            if fg.size == self.grid.size and not np.allclose(fg, self.grid, atol=1e-3):
                raise ConfigError(
                    f"the features' frequency bins ({fg[0]:.3f}..{fg[-1]:.3f} BPM) and the app's HR grid "
                    f"({self.grid[0]:.3f}..{self.grid[-1]:.3f} BPM) have the same size but differ; set "
                    f"app.hr_min_bpm={fg[0]:.4g} app.hr_step_bpm={fg[1] - fg[0]:.6g}"
                )

    def active_tracking(self, ctx: RunContext | None) -> TrackParams:
        """The tracking prior in force: the calibrated values when the run (or the saved run a
        ``tinyml deploy`` restores) has them, else the configured ones."""
        import dataclasses

        cal = dict((ctx.state.get("calibration") or {}) if ctx is not None else {})
        chosen = {k: cal[f"track_{k}"] for k in CALIBRATABLE if f"track_{k}" in cal}
        chosen = {k: None if v is None else float(v) for k, v in chosen.items()}
        return dataclasses.replace(self.tracking, **chosen) if chosen else self.tracking

    def estimates(self, probs: np.ndarray, split: Split, hop_s: float,
                  tracking: TrackParams | None = None, acc: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(tracked, per-window)`` BPM for the probabilities (and ACC spectra) of a split's windows."""
        raw = decode_bins(probs, self.grid, self.half_width)
        segs = recording_segments(split.meta["rec"], split.meta["t_s"], hop_s)
        return track(probs, self.grid, segs, tracking or self.tracking, acc), raw

    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        self._check_grid(ctx)
        probs = self.probabilities(predict(X))
        if probs.ndim != 2 or probs.shape[1] != self.grid.size:
            raise ConfigError(f"the model outputs shape {probs.shape[1:]}; app=heart_rate expects {self.grid.size} HR bins")
        tracked, raw = self.estimates(probs, split, _hop_s(ctx.data), self.active_tracking(ctx), self.acc_spectrum(ctx, X))
        out = hr_metrics(tracked, split.y, split.groups)
        out["mae_bpm_untracked"] = hr_metrics(raw, split.y)["mae_bpm"]
        out["rmse_bpm_untracked"] = hr_metrics(raw, split.y)["rmse_bpm"]
        act = split.meta.get("activity")
        if act is not None and np.any(np.asarray(act) >= 0):
            from tinyml_suite.datasets.synthetic.ppg import ACTIVITIES

            out["per_activity"] = {
                ACTIVITIES[a]: {"mae_bpm": float(np.mean(np.abs(tracked[act == a] - split.y[act == a]))), "n": int((act == a).sum())}
                for a in range(len(ACTIVITIES)) if np.any(act == a)
            }
        ctx.state.setdefault("hr_predictions", {})["last"] = {"tracked": tracked, "raw": raw, "split": split}
        return out

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        store = ctx.state.setdefault("hr_predictions", {})
        if "last" in store:
            store[variant] = store.pop("last")
        if variant != "float" or self.dsp is None or ctx.data is None:
            return {}
        from tinyml_suite.apps.heart_rate.dsp_baseline import dsp_estimates

        test = ctx.data.test
        est = dsp_estimates(test.x, sample_rate=ctx.data.sample_rate, rec=test.meta["rec"], t_s=test.meta["t_s"],
                            hop_s=_hop_s(ctx.data), params=self.dsp)
        store["dsp"] = {"tracked": est, "split": test}
        m = hr_metrics(est, test.y, test.groups)
        keep = ("mae_bpm", "rmse_bpm", "bias_bpm", "loa_low_bpm", "loa_high_bpm", "within_5bpm", "mae_subject_mean_bpm", "per_subject")
        log.info("DSP baseline MAE = %.3f BPM on the same test windows", m["mae_bpm"])
        return {"dsp_baseline": {k: m[k] for k in keep if k in m}}

    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        from tinyml_suite.apps.heart_rate.plots import bland_altman_plot, trace_plot

        store = ctx.state.get("hr_predictions") or {}
        paths = []
        series = {k: v for k, v in store.items() if k in ("float", "int8", "dsp") and "split" in v}
        if not series:
            return []
        p = bland_altman_plot(series, out_dir / "bland_altman.png")
        if p:
            paths.append(p)
        p = trace_plot(series, out_dir / "hr_trace.png", subject=self.trace_subject)
        if p:
            paths.append(p)
        return paths

    # -- firmware --------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        t = self.active_tracking(ctx)
        out = {
            "task": self.task,
            "labels": [],
            "hop_s": _hop_s(ctx.data) if ctx.data is not None else 2.0,
            "sensor": "ppg+imu",
            "hr_min_bpm": float(self.grid[0]),
            "hr_step_bpm": float(self.grid[1] - self.grid[0]),
            "hr_bins": int(self.grid.size),
            "track_version": TrackParams.IMPLEMENTATION_VERSION,
            "track_kernel": [float(v) for v in t.kernel(float(self.grid[1] - self.grid[0]))],
            "track_init": [float(v) for v in t.initial(self.grid)],
            "track_uniform": float(t.uniform),
            "track_gamma": float(t.gamma),
            "track_uniform_motion": float(t.motion_uniform),
            "track_gamma_motion": float(t.motion_gamma),
            "track_reacquire_acc": float(t.reacquire_acc),
            "track_normalize": int(bool(t.normalize)),
            "track_floor": float(t.floor),
            "track_refine": {"peak": 0, "mean": 1, "none": 2}[t.refine],
            "track_refine_bins": int(t.refine_bins),
            "outputs_logits": self.outputs == "logits",
        }
        out.update(self._acc_layout(ctx))
        return out

    def _acc_layout(self, ctx: RunContext | None) -> dict[str, Any]:
        """Where the tracker finds the ACC spectrum in the features the firmware hands it."""
        fe = getattr(ctx, "features", None) if ctx is not None else None
        p = getattr(fe, "params", None)
        n_acc = int(getattr(p, "n_acc", 0) or 0) if getattr(fe, "kind", "") == "ppg_spectrum" else 0
        if n_acc == 0 or int(getattr(p, "n_channels", 0)) * self.grid.size == 0:
            return {"acc_channels": 0}
        return {
            "acc_channels": n_acc,
            "acc_first_channel": 1 + int(p.motion_channel),
            "feature_channels": int(p.n_channels),
            "acc_compress": {"log": 0, "sqrt": 1, "linear": 2}[p.compress],
            "acc_log_floor": float(p.log_floor),
        }

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        n = int(self.grid.size)
        return 4 * (6 * n + len(self.active_tracking(ctx).kernel(float(self.grid[1] - self.grid[0]))))

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray) -> list[dict[str, Any]]:
        """postprocess.c's estimate of every window: :class:`HrTracker` over the softmax of
        the outputs (value: BPM, confidence: the posterior mass near it), one recording."""
        from tinyml_suite.apps.heart_rate.postprocess import HrTracker

        tracker = HrTracker(self.grid, self.active_tracking(ctx))
        events = []
        for w, p in enumerate(self.probabilities(np.asarray(outputs, np.float32))):
            bpm = tracker.step(p)
            events.append({"event": "value", "index": -1, "value": float(bpm),
                           "confidence": float(tracker.last_confidence), "window": w})
        return events



class EcgApp(App):
    """R-peak detection, HR and HRV from one ECG lead (DSP only: nothing is trained).

    Options: ``detector`` (:class:`~tinyml_suite.apps.heart_rate.ecg.QrsDetectorParams`
    fields), ``tolerance_s`` (beat matching, default 0.150), ``exclude_edges_s`` (seconds
    at the start and end of each record left out of the beat comparison, default 0),
    ``window_s``/``hop_s`` (the HR-per-window grid, 8 s / 2 s).
    """

    name: ClassVar[str] = "heart_rate"
    task: ClassVar[str] = "regression"
    headline: ClassVar[str] = "mae_bpm"
    higher_is_better: ClassVar[bool] = False
    trains_model: ClassVar[bool] = False
    firmware_main: ClassVar[str] = "apps/heart_rate/ecg_main.c"
    firmware_hooks: ClassVar[str] = "apps/heart_rate/postprocess.c"

    _OPTIONS = ("detector", "tolerance_s", "exclude_edges_s", "window_s", "hop_s")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from tinyml_suite.apps.heart_rate.ecg import detector_params_from

        # conf/app/heart_rate.yaml's PPG options arrive too (the experiment extends that config)
        o = {k: v for k, v in self.options.items() if k not in HeartRateApp._OPTIONS}
        unknown = sorted(set(o) - set(self._OPTIONS))
        if unknown:
            raise ConfigError(f"app.{unknown[0]} is not an option of the ECG recipe; valid: {', '.join(self._OPTIONS)}")
        self.detector = detector_params_from(o.get("detector"))
        self.tol_s = float(o.get("tolerance_s", 0.150))
        self.edge_s = float(o.get("exclude_edges_s", 0.0))
        self.window_s = float(o.get("window_s", 8.0))
        self.hop_s = float(o.get("hop_s", 2.0))
        if not (self.tol_s > 0 and self.edge_s >= 0 and self.window_s > 0 and self.hop_s > 0):
            raise ConfigError("app.tolerance_s, window_s and hop_s must be > 0 and app.exclude_edges_s >= 0")

    def check_data(self, data: DataSplits, dataset_name: str, dataset_apps: tuple[str, ...]) -> None:
        super().check_data(data, dataset_name, dataset_apps)
        if tuple(data.channels) != ("ecg",) or "test_beats" not in data.extra:
            raise DatasetError(
                f"dataset={dataset_name} is not an ECG dataset with beat annotations; the ECG recipe needs "
                "dataset=ecg_sim or dataset=mitbih"
            )

    def dsp_predictor(self, ctx: RunContext) -> PredictFn:
        """Detect R peaks on whole records: the segments' features are stitched core after
        core (equal to streaming the record), the detector runs once per record, and the
        beats are mapped back to per-segment indicator rows (1.0 at an R peak)."""
        from tinyml_suite.apps.heart_rate.ecg import detect_qrs
        from tinyml_suite.datasets.synthetic.ecg import stitch

        data = ctx.data
        fs = float(data.sample_rate)
        warm = int(np.asarray(data.extra["warmup_samples"]))
        seg = int(np.asarray(data.extra["segment_samples"]))

        def predict(X: np.ndarray) -> np.ndarray:
            split = data.test
            if len(X) != len(split):
                raise DatasetError("the ECG detector runs on whole test records; pass all test segments in order")
            out = np.zeros((len(X), X.shape[-1]), np.float32)
            rec, t0 = np.asarray(split.meta["rec"]), np.asarray(split.meta["t_s"])
            start = np.round(t0 * fs).astype(np.int64)
            for r, feats in zip(np.unique(rec), stitch(X, split, data)):
                beats = detect_qrs(feats, sample_rate=fs, params=self.detector)
                for i in np.flatnonzero(rec == r):
                    local = beats[(beats >= start[i]) & (beats < start[i] + seg)] - start[i] + warm
                    out[i, local] = 1.0
            return out

        return predict

    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        from tinyml_suite.apps.heart_rate.ecg import score_records
        from tinyml_suite.datasets.synthetic.ecg import split_beats, split_exclusions, stitch

        data = ctx.data
        fs = float(data.sample_rate)
        if split is not data.test:
            raise DatasetError("the ECG recipe scores whole test records; evaluate() needs the full test split")
        det = predict(X)
        dets = [np.flatnonzero(d > 0.5).astype(np.int64) for d in stitch(det, split, data)]
        refs = split_beats(data, "test")
        if len(refs) != len(dets):
            raise DatasetError(f"{len(dets)} test records but {len(refs)} reference annotation sets")
        names = [str(split.groups[np.flatnonzero(split.meta["rec"] == r)[0]]) for r in np.unique(split.meta["rec"])]
        lengths = np.asarray(data.extra["test_record_length"])
        out = score_records(refs, dets, names, lengths, sample_rate=fs, tol_s=self.tol_s, edge_s=self.edge_s,
                            window_s=self.window_s, hop_s=self.hop_s, exclude=split_exclusions(data, "test"))
        leads = data.extra.get("test_leads")
        out["lead"] = sorted({str(v) for v in np.asarray(leads).tolist()}) if leads is not None else None
        first = stitch(X[np.asarray(split.meta["rec"]) == np.unique(split.meta["rec"])[0]],
                       split.subset(np.asarray(split.meta["rec"]) == np.unique(split.meta["rec"])[0]), data)[0]
        ctx.state["ecg"] = {"refs": refs[:1], "dets": dets[:1], "hp": first[0], "names": names[:1], "fs": fs}
        return out

    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        from tinyml_suite.apps.heart_rate.plots import ecg_plot

        st = ctx.state.get("ecg")
        if not st:
            return []
        p = ecg_plot(st, out_dir / "ecg_beats.png")
        return [p] if p else []

    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        from tinyml_suite.apps.heart_rate.ecg import detector_c_context

        fs = float(ctx.data.sample_rate) if ctx.data is not None else 360.0
        return {"task": self.task, "labels": [], "sensor": "ecg", "hop_s": 1.0,
                **detector_c_context(self.detector, fs)}

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        from tinyml_suite.apps.heart_rate.ecg import detector_ram_bytes

        fs = float(ctx.data.sample_rate) if ctx.data is not None else 360.0
        return detector_ram_bytes(self.detector, fs)
