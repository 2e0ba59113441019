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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.heart_rate.dsp_baseline import DspParams
from tinyml_suite.apps.heart_rate.ecg import QrsDetectorParams
from tinyml_suite.apps.heart_rate.metrics import hr_metrics
from tinyml_suite.apps.heart_rate.postprocess import TrackParams, hr_grid, recording_segments, track
from tinyml_suite.common.app import App, PredictFn
from tinyml_suite.common.data import DataKind, DataSplits, Split
from tinyml_suite.common.dsp import MotionSuppressionParams
from tinyml_suite.common.errors import ConfigError, DatasetError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["EcgApp", "EcgOptions", "HeartRateApp", "HeartRateOptions", "PretrainOptions", "TrackingGrid", "decode_bins",
           "soft_labels"]

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


def _cnn_tracking() -> TrackParams:
    # chosen like _baseline's, with the recipe variant (SPC 2015: dataset.augment_copies=1, conf/dataset/spc2015.yaml)
    return TrackParams(sigma_bpm=5.0, uniform=0.001, gamma=0.7, floor=0.001, refine="mean", refine_bins=3,
                       gamma_motion=0.3, uniform_motion=1e-5)


def _baseline() -> DspParams:
    # chosen by leave-one-subject-out on SPC 2015's 12 training subjects (bench/heart_rate_spc2015.py
    # --stage select, 2026-12-02; docs/BENCHMARKS.md ## heart_rate): never on the held-out recording
    return DspParams(motion=MotionSuppressionParams(rule="subtract", strength=0.9, gain_floor=0.05, spread_bins=2,
                                                    history=0.0),
                     clean_motion_g=0.08, td_agree_bpm=8.0,
                     tracking=TrackParams(sigma_bpm=5.0, uniform=0.01, gamma=1.0, floor=0.1, refine="peak", refine_bins=2,
                                          uniform_motion=1e-4, normalize=False, init_bpm=80.0))


def _float_grid(*values: float) -> Callable[[], tuple[float, ...]]:
    return lambda: values


@dataclass(frozen=True)
class TrackingGrid:
    """Tracking parameters the validation split chooses from (``app.calibrate_tracking``): the
    candidate values of each (null: keep the configured one; a null in a list: that option off)."""

    sigma_bpm: tuple[float, ...] | None = field(default_factory=_float_grid(3.75, 5.0, 7.5))
    gamma: tuple[float, ...] | None = field(default_factory=_float_grid(1.0, 0.7, 0.5, 0.3))
    uniform: tuple[float, ...] | None = field(default_factory=_float_grid(0.01, 0.001, 0.0001, 0.00001))
    gamma_motion: tuple[float | None, ...] | None = None
    uniform_motion: tuple[float | None, ...] | None = None
    reacquire_acc: tuple[float, ...] | None = None
    init_bpm: tuple[float | None, ...] | None = None

    def chosen(self) -> dict[str, tuple[Any, ...]]:
        """The parameters with candidate lists, in :data:`CALIBRATABLE` order."""
        return {k: getattr(self, k) for k in CALIBRATABLE if getattr(self, k) is not None}


@dataclass(frozen=True)
class PretrainOptions:
    """Pretraining on simulated subjects before the recipe's training (``app.pretrain``)."""

    n_subjects: int = 24  # simulated subjects (ppg_sim, seed = run seed + 1000)
    minutes: float = 10.0  # per subject
    epochs: int = 15
    learning_rate: float = 0.003
    batch_size: int = 64
    artefact_scale: float = 1.0  # ppg_sim's motion-artefact scale


@dataclass(frozen=True)
class HeartRateOptions:
    """Options of :class:`HeartRateApp` (``app.<key>=...``). ``conf/app/heart_rate.yaml`` sets none of
    them, so that ``experiment=ecg_rpeaks`` can switch the class: change a default here."""

    hr_min_bpm: float = 30.0  # first HR bin, BPM (= features.fmin_hz * 60)
    hr_step_bpm: float = 1.875  # bin width, BPM (= 60 * sample_rate / features.n_fft: 32 Hz, 1024)
    n_bins: int = 113  # HR bins 30..240 BPM = the spectrum's bins (model head "freq")
    label_sigma_bpm: float = 3.0  # width of the Gaussian soft targets, BPM
    decode_half_width: int = 3  # bins averaged around the maximum for the untracked estimate
    outputs: str = "logits"  # logits (model.softmax: false) | probabilities
    #: causal HMM prior over the CNN's HR distribution (postprocess.py)
    tracking: TrackParams = field(default_factory=_cnn_tracking, metadata={"unknown": "is not a tracking parameter"})
    #: the no-learning baseline scored on the same test windows (dsp_baseline.py); null: skip it
    dsp_baseline: DspParams | None = field(default_factory=_baseline,
                                           metadata={"unknown": "is not a DSP baseline parameter"})
    #: null (default): keep ``tracking`` (chosen by leave-one-subject-out on SPC 2015, bench/heart_rate_spc2015.py);
    #: a grid (``{}``: TrackingGrid's lists) re-chooses it on a run's VALIDATION subjects
    calibrate_tracking: TrackingGrid | None = field(default=None, metadata={"unknown": "cannot be calibrated"})
    #: e.g. {n_subjects: 24, minutes: 10, epochs: 15}: pretrain on ppg_sim first; null: no pretraining
    pretrain: PretrainOptions | None = field(default=None, metadata={"unknown": "is not a pretraining option"})
    trace_subject: str | int | None = None  # test subject shown in hr_trace.png (null: the first)

    def __post_init__(self) -> None:
        hr_grid(self.hr_min_bpm, self.hr_step_bpm, self.n_bins)  # validates the grid
        if not self.label_sigma_bpm > 0:
            raise ConfigError(f"app.label_sigma_bpm={self.label_sigma_bpm} must be > 0 BPM")
        if self.decode_half_width < 0:
            raise ConfigError(f"app.decode_half_width={self.decode_half_width} must be >= 0 bins")
        if self.outputs not in ("logits", "probabilities"):
            raise ConfigError(f"app.outputs={self.outputs!r} must be 'logits' (model without softmax) or 'probabilities'")


class HeartRateApp(App):
    """Heart rate from wrist PPG + ACC windows (options: :class:`HeartRateOptions`; with the
    spectrum front end ``n_bins`` must equal the features' frequency bins)."""

    name: ClassVar[str] = "heart_rate"
    task: ClassVar[str] = "regression"
    headline: ClassVar[str] = "mae_bpm"
    custom_dataset: ClassVar[str] = "ppg_csv"  # `tinyml new --from` starts from this loader
    higher_is_better: ClassVar[bool] = False
    firmware_main: ClassVar[str] = ""
    firmware_hooks: ClassVar[str] = "apps/heart_rate/postprocess.c"
    Options: ClassVar[type] = HeartRateOptions
    needs: ClassVar[DataKind] = DataKind(modality="ppg", channels=PPG_CHANNELS)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        p: HeartRateOptions = self.params
        self.grid = hr_grid(p.hr_min_bpm, p.hr_step_bpm, p.n_bins)
        self.tracking: TrackParams = p.tracking  # the calibration replaces it
        self.dsp: DspParams | None = p.dsp_baseline

    # -- data ------------------------------------------------------------------------
    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        super().check_data(data, dataset_name)
        for name in ("t_s", "rec"):
            if name not in data.test.meta:
                raise DatasetError(f"dataset={dataset_name} lacks meta column {name!r} (window time order per recording)")

    def output_size(self, data: DataSplits) -> int:
        return int(self.grid.size)

    def training_arrays(self, X: np.ndarray, split: Split, data: DataSplits) -> tuple[np.ndarray, np.ndarray]:
        return X, soft_labels(split.y, self.grid, self.params.label_sigma_bpm)

    def loss(self) -> Any:
        if self.params.outputs == "logits":
            import keras

            return keras.losses.CategoricalCrossentropy(from_logits=True)
        return "categorical_crossentropy"

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs -> probabilities over the HR bins (float32 softmax of logits, as the device)."""
        y = np.asarray(outputs, np.float32)
        if self.params.outputs == "probabilities":
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
        if self.params.pretrain is None or ctx.data is None or ctx.data.name == "ppg_sim":
            return None
        import keras

        from tinyml_suite.common.train import epoch_progress
        from tinyml_suite.datasets.synthetic.ppg import PpgSim

        o = self.params.pretrain
        n_subj, minutes, epochs = o.n_subjects, o.minutes, o.epochs
        if ctx.smoke:
            n_subj, minutes, epochs = 3, 2.0, 1
        sim = PpgSim(seed=ctx.seed + 1000, n_subjects=n_subj, minutes=minutes, n_test=1, n_val=1,
                     sample_rate=float(ctx.data.sample_rate), window_s=float(np.asarray(ctx.data.extra.get("window_s", 8.0))),
                     hop_s=_hop_s(ctx.data), artefact_scale=o.artefact_scale).load()
        x = np.concatenate([sim.train.x, sim.val.x, sim.test.x])
        y = np.concatenate([sim.train.y, sim.val.y, sim.test.y])
        X = np.concatenate([ctx.features(x[i : i + 512]) for i in range(0, len(x), 512)])
        if X.shape[1:] != ctx.X["train"].shape[1:]:
            raise ConfigError(f"pretraining features have shape {X.shape[1:]} but the run's are {ctx.X['train'].shape[1:]}")
        model = ctx.model
        model.compile(optimizer=keras.optimizers.Adam(o.learning_rate), loss=self.loss())
        log.info("Pretraining on %d simulated windows (%d subjects x %g min) for %d epochs", len(X), n_subj, minutes, epochs)
        shown, verbose = epoch_progress(int(ctx.cfg.trainer.get("verbose", 2)), epochs, "pretrain")
        hist = model.fit(X, soft_labels(y, self.grid, self.params.label_sigma_bpm), epochs=epochs,
                         batch_size=o.batch_size, shuffle=True, callbacks=shown, verbose=verbose)
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
        if self.params.calibrate_tracking is None or ctx.data is None or len(ctx.data.val) == 0:
            return {}
        import dataclasses
        import itertools

        val, hop = ctx.data.val, _hop_s(ctx.data)
        segs = recording_segments(val.meta["rec"], val.meta["t_s"], hop)
        chosen = self.params.calibrate_tracking.chosen()
        keys = tuple(chosen)
        grids = [list(chosen[k] or [getattr(self.tracking, k)]) for k in keys]
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

        cal = dict((ctx.state.calibration or {}) if ctx is not None else {})
        chosen = {k: cal[f"track_{k}"] for k in CALIBRATABLE if f"track_{k}" in cal}
        chosen = {k: None if v is None else float(v) for k, v in chosen.items()}
        return dataclasses.replace(self.tracking, **chosen) if chosen else self.tracking

    def estimates(self, probs: np.ndarray, split: Split, hop_s: float,
                  tracking: TrackParams | None = None, acc: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(tracked, per-window)`` BPM for the probabilities (and ACC spectra) of a split's windows."""
        raw = decode_bins(probs, self.grid, self.params.decode_half_width)
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
        ctx.state.app.setdefault("hr_predictions", {})["last"] = {"tracked": tracked, "raw": raw, "split": split}
        return out

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        store = ctx.state.app.setdefault("hr_predictions", {})
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

        store = ctx.state.app.get("hr_predictions") or {}
        paths = []
        series = {k: v for k, v in store.items() if k in ("float", "int8", "dsp") and "split" in v}
        if not series:
            return []
        p = bland_altman_plot(series, out_dir / "bland_altman.png")
        if p:
            paths.append(p)
        p = trace_plot(series, out_dir / "hr_trace.png", subject=self.params.trace_subject)
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
            "outputs_logits": self.params.outputs == "logits",
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

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]]:
        """postprocess.c's estimate of every window: :class:`HrTracker` over the softmax of
        the outputs and the window's ACC spectrum (value: BPM, confidence: the posterior mass
        near it), one recording; the firmware's tracker takes the ACC spectrum from the same
        features, so its motion rules (``gamma_motion``, ``uniform_motion``) act alike."""
        from tinyml_suite.apps.heart_rate.postprocess import HrTracker

        tracker = HrTracker(self.grid, self.active_tracking(ctx))
        feats = np.asarray(features, np.float32)  # (k, F) as the device printed them
        n = self.grid.size  # the PPG features are (bins, channels) with one bin per grid value
        acc = self.acc_spectrum(ctx, feats.reshape(len(feats), n, -1)) if feats.size and feats.shape[1] % n == 0 else None
        events = []
        for w, p in enumerate(self.probabilities(np.asarray(outputs, np.float32))):
            bpm = tracker.step(p, None if acc is None else acc[w])
            events.append({"event": "value", "index": -1, "value": float(bpm),
                           "confidence": float(tracker.last_confidence), "window": w})
        return events



@dataclass(frozen=True)
class EcgOptions:
    """Options of :class:`EcgApp` (``experiment=ecg_rpeaks``; ``app.<key>=...``)."""

    tolerance_s: float = 0.150  # beat matching window, s (ANSI/AAMI EC57)
    exclude_edges_s: float = 0.0  # s left out at each record end (0: every annotated beat counts)
    window_s: float = 8.0  # HR per 8 s window ...
    hop_s: float = 2.0  # ... every 2 s (as the PPG recipe)
    #: Pan-Tompkins decision stage (apps/heart_rate/ecg.py)
    detector: QrsDetectorParams = field(default_factory=QrsDetectorParams,
                                        metadata={"unknown": "is not a detector parameter"})

    def __post_init__(self) -> None:
        if not (self.tolerance_s > 0 and self.exclude_edges_s >= 0 and self.window_s > 0 and self.hop_s > 0):
            raise ConfigError("app.tolerance_s, window_s and hop_s must be > 0 and app.exclude_edges_s >= 0")


class EcgApp(App):
    """R-peak detection, HR and HRV from one ECG lead (DSP only: nothing is trained;
    options: :class:`EcgOptions`)."""

    name: ClassVar[str] = "heart_rate"
    task: ClassVar[str] = "regression"
    headline: ClassVar[str] = "mae_bpm"
    higher_is_better: ClassVar[bool] = False
    trains_model: ClassVar[bool] = False
    firmware_main: ClassVar[str] = "apps/heart_rate/ecg_main.c"
    firmware_hooks: ClassVar[str] = "apps/heart_rate/postprocess.c"
    Options: ClassVar[type] = EcgOptions
    needs: ClassVar[DataKind] = DataKind(modality="ecg", channels=("ecg",))
    selected_by: ClassVar[str] = "experiment=ecg_rpeaks"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.detector: QrsDetectorParams = self.params.detector

    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        if "test_beats" not in data.extra:  # first: the more useful line for any other dataset
            raise DatasetError(
                f"dataset={dataset_name} is not an ECG dataset with beat annotations; the ECG recipe needs "
                "dataset=ecg_sim or dataset=mitbih"
            )
        super().check_data(data, dataset_name)

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
        out = score_records(refs, dets, names, lengths, sample_rate=fs, tol_s=self.params.tolerance_s, edge_s=self.params.exclude_edges_s,
                            window_s=self.params.window_s, hop_s=self.params.hop_s, exclude=split_exclusions(data, "test"))
        leads = data.extra.get("test_leads")
        out["lead"] = sorted({str(v) for v in np.asarray(leads).tolist()}) if leads is not None else None
        first = stitch(X[np.asarray(split.meta["rec"]) == np.unique(split.meta["rec"])[0]],
                       split.subset(np.asarray(split.meta["rec"]) == np.unique(split.meta["rec"])[0]), data)[0]
        ctx.state.app["ecg"] = {"refs": refs[:1], "dets": dets[:1], "hp": first[0], "names": names[:1], "fs": fs}
        return out

    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        from tinyml_suite.apps.heart_rate.plots import ecg_plot

        st = ctx.state.app.get("ecg")
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

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]] | None:
        """ecg_main.c's beats from Python's detector on the same samples: the R-peak index
        within one sample (float32 C front end vs numpy), the beat count exactly; the
        heart-rate values follow the indices and are not compared."""
        from tinyml_suite.apps.heart_rate.ecg import detect_qrs

        if stream is None or ctx.features is None or ctx.data is None:
            return None
        feats = np.asarray(ctx.features(np.asarray(stream, np.float32)[None]))[0]
        beats = detect_qrs(feats, sample_rate=float(ctx.data.sample_rate), params=self.detector)
        return [{"event": "value", "index": int(b), "index_tol": 1, "value": None, "confidence": None, "window": k}
                for k, b in enumerate(beats)]
