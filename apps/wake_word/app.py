"""The wake_word app: keyword spotting on 1 s windows, judged on clips AND on a continuous stream.

Hooks (see ``common/app.py``):

* ``evaluate``: accuracy, macro F1, per-class recall, confusion matrix on the test clips;
* ``calibrate``: builds a stream from the VALIDATION clips, runs the detector
  (:mod:`~tinyml_suite.apps.wake_word.postprocess`) at every feature stride and picks the
  threshold with the fewest misses + false accepts; stored as the run's calibration
  (metrics.json ``calibration``, and ``TM_APP_CAL_THRESHOLD`` in the firmware);
* ``extra_evaluation``: the same on a stream built from the TEST clips (false accepts per
  hour, miss rate, the DET curve over thresholds) and, when ``app.real_clips`` names a
  Speech Commands folder, accuracy on those real recordings: 10-way among the keywords
  (arg-max over keyword outputs only) and 12-way (every other word is ``_unknown_``);
* ``plots``: confusion matrices and DET curves (float and int8);
* ``firmware_context``: the detector settings for ``postprocess.c`` and the incremental
  main loop ``main_loop.c`` (one feature frame per 20 ms stride, inference every
  ``infer_every_frames`` frames).

Everything is recomputed from the config, the data and the model, so a reloaded run
(``tinyml evaluate``) gets the same figures; only the threshold comes from the calibration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tinyml_suite.apps.wake_word.postprocess import (
    Detector,
    PostprocessParams,
    build_stream,
    choose_threshold,
    det_curve,
    detect,
    score_detections,
    smooth,
    stream_inputs,
    threshold_for_fa_rate,
)
from tinyml_suite.common.app import App, PredictFn, classification_metrics
from tinyml_suite.common.data import DataKind, DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.audio_augment import SpecAugmentParams, spec_augment
from tinyml_suite.datasets.epoch_augment import EpochAugmentParams
from tinyml_suite.datasets.keywords import SILENCE, UNKNOWN, keyword_count

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["WakeWordApp", "WakeWordOptions"]

log = logging.getLogger("tinyml")

#: thresholds of the DET curve
DET_THRESHOLDS = tuple(float(t) for t in np.round(np.concatenate([np.arange(0.05, 0.95, 0.05), [0.95, 0.97, 0.99]]), 3))


@dataclass(frozen=True)
class WakeWordOptions:
    """Options of :class:`WakeWordApp` (``app.<key>=...``; ``conf/app/wake_word.yaml`` overrides them)."""

    smooth_s: float = 0.1  # posterior smoothing window, s (5 inferences at a 20 ms hop)
    threshold: float = 0.6  # default detection threshold (replaced by the one calibrated on validation)
    #: calibration rule: null picks the threshold with the fewest misses + false accepts on the
    #: validation stream; a number the lowest threshold with at most that many false accepts per hour
    target_fa_per_hour: float | None = None
    suppression_s: float = 1.0  # quiet time after a detection, s (50 inferences at a 20 ms hop)
    #: feature frames between two inferences on the streams and on the device (1: every 20 ms
    #: stride; a slow board needs more, deploy warns)
    infer_every_frames: int = 1
    stream_clips: int = 100  # clips placed in each evaluation stream (validation, test)
    stream_gap_s: tuple[float, float] = (1.0, 2.5)  # background between clips in the stream, s [low, high]
    stream_background_dbfs: float = -50.0  # stream background level, dB re full scale
    #: a Speech Commands folder scored after training (never used for training or model selection)
    real_clips: str | None = None
    #: masks on the training features (SpecAugment, no warping)
    spec_augment: SpecAugmentParams = field(default_factory=SpecAugmentParams)
    #: fresh copies every epoch (datasets/epoch_augment.py): the share of training clips given a
    #: new shift, gain, noise and room each epoch (0: the cached draw only); with it, the
    #: SpecAugment masks are new every epoch too. On by default (share 0.5) since it measured
    #: better on the tuning speakers of bench/wake_word_real.py (docs/BENCHMARKS.md)
    epoch_augment: EpochAugmentParams = field(default_factory=EpochAugmentParams)
    seed: int = 0  # seed of the SpecAugment masks and of the per-epoch augmentation (the YAML passes the run's seed)

    def __post_init__(self) -> None:
        if self.infer_every_frames < 1:
            raise ConfigError(f"app.infer_every_frames={self.infer_every_frames} must be >= 1")
        if self.smooth_s < 0 or self.suppression_s < 0:
            raise ConfigError("app.smooth_s and app.suppression_s must be >= 0 seconds")
        if self.target_fa_per_hour is not None and self.target_fa_per_hour < 0:
            raise ConfigError(f"app.target_fa_per_hour={self.target_fa_per_hour} must be >= 0 (or null)")
        PostprocessParams(threshold=self.threshold)  # validates the range
        gap = self.stream_gap_s
        if len(gap) != 2 or not 0.2 <= float(gap[0]) <= float(gap[1]):
            raise ConfigError(f"app.stream_gap_s={list(gap)} must be [low, high] with 0.2 <= low <= high seconds")
        if self.stream_clips < 1:
            raise ConfigError(f"app.stream_clips={self.stream_clips} must be >= 1")


class WakeWordApp(App):
    """Keyword spotting (see the module docstring for the hooks; options: :class:`WakeWordOptions`)."""

    name: ClassVar[str] = "wake_word"
    task: ClassVar[str] = "classification"
    headline: ClassVar[str] = "accuracy"
    custom_dataset: ClassVar[str] = "speech_commands"  # `tinyml new --from`: <word>/*.wav folders
    firmware_main: ClassVar[str] = "apps/wake_word/main_loop.c"
    firmware_hooks: ClassVar[str] = "apps/wake_word/postprocess.c"
    Options: ClassVar[type] = WakeWordOptions
    needs: ClassVar[DataKind] = DataKind(modality="audio")

    def post(self, ctx: RunContext) -> PostprocessParams:
        """Detector settings in inferences: ``smooth_s`` / ``suppression_s`` over the inference hop."""
        hop_s = self.params.infer_every_frames * (ctx.features.params.hop_length if ctx.features is not None else 320) / float(
            ctx.data.sample_rate if ctx.data is not None else 16000)
        return PostprocessParams(
            smooth_windows=max(1, int(round(self.params.smooth_s / hop_s))),
            suppression_windows=int(round(self.params.suppression_s / hop_s)),
            threshold=self.params.threshold,
        )

    # -- data ----------------------------------------------------------------------
    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        super().check_data(data, dataset_name)
        if len(data.channels) != 1:
            raise DatasetError(f"dataset={dataset_name} has {len(data.channels)} channels; wake_word needs mono audio")
        if keyword_count(data.labels) < 1:
            raise DatasetError(f"dataset={dataset_name} has no keyword class (labels {data.labels})")
        bad = [lab for lab in data.labels[keyword_count(data.labels):] if lab not in (SILENCE, UNKNOWN)]
        if bad:
            raise DatasetError(
                f"dataset={dataset_name}: labels must be keywords followed by {SILENCE}/{UNKNOWN}; got {data.labels}"
            )

    def monitor(self) -> tuple[str, str]:
        """Keep the epoch with the best validation accuracy (steadier than the loss on
        voice-held-out synthetic speech)."""
        return ("val_accuracy", "max")

    def training_arrays(self, X: np.ndarray, split: Split, data: DataSplits) -> tuple[np.ndarray, np.ndarray]:
        if split is data.train and self.params.spec_augment.prob > 0 and len(X) and self.params.epoch_augment.share == 0:
            rng = np.random.default_rng([self.params.seed, 4242])
            return spec_augment(X, rng, self.params.spec_augment), split.y
        return X, split.y

    def epoch_inputs(self, ctx: RunContext, X: np.ndarray) -> Any:
        """Fresh training inputs every epoch (``app.epoch_augment``): a share of the clips
        re-augmented by :func:`~tinyml_suite.datasets.epoch_augment.fresh_clips` (new
        position, gain, noise, room) and their features recomputed, then new SpecAugment
        masks on every input. None when ``epoch_augment.share`` is 0, and in a smoke run
        (``debug=smoke``): its six dry clips per class are kept dry on purpose, like the
        dataset's own augmentation there, since noisy copies of so few clips teach nothing
        (measured with it on: int8 0.26, under the smoke test's bound, chance 0.15 + 0.15)."""
        p = self.params.epoch_augment
        if p.share <= 0 or ctx.smoke or ctx.data is None or ctx.features is None or not len(X):
            return None
        from tinyml_suite.datasets.audio_augment import reverb_ir
        from tinyml_suite.datasets.epoch_augment import fresh_clips, noise_bank
        from tinyml_suite.datasets.synthetic.rooms import pyroomacoustics_available, room_impulse_responses

        split = ctx.data.train
        raw = split.x[:, 0]
        n, n_samples = raw.shape
        sr = int(round(ctx.data.sample_rate))
        onsets = np.asarray(split.meta.get("onset", np.zeros(n)), dtype=np.int64)
        lengths = np.asarray(split.meta.get("length", np.full(n, n_samples)), dtype=np.int64)
        # a clip without a word position (a real recording) keeps its place: the whole clip is its 'word'
        lengths = np.where((onsets >= 0) & (lengths <= 0), n_samples - onsets, lengths)
        is_silence = np.array([ctx.data.labels[int(c)] == SILENCE for c in split.y], dtype=bool)
        onsets = np.where(is_silence, -1, onsets)
        bank_seed = np.random.SeedSequence([self.params.seed, 4244])
        noise = noise_bank(np.random.default_rng(bank_seed), sample_rate=sr, recorded=ctx.data.extra.get("background"))
        if pyroomacoustics_available():
            rirs = room_impulse_responses(p.rooms, sample_rate=sr, seed=np.random.SeedSequence([self.params.seed, 4245]))
        else:  # exponential tails (the generator's fallback too)
            rng_ir = np.random.default_rng([self.params.seed, 4245])
            rirs = [reverb_ir(float(rng_ir.uniform(0.15, 0.8)), sr, rng_ir) for _ in range(p.rooms)]
        features = ctx.features
        spec = self.params.spec_augment
        seed = self.params.seed
        log.info("wake_word: %.0f %% of the %d training clips get a new shift, gain, noise and room every epoch "
                 "(%d rooms, %d noises)", 100 * p.share, n, len(rirs), len(noise))

        def make(epoch: int) -> np.ndarray:
            rng = np.random.default_rng([seed, 4243, epoch])
            Xe = np.array(X, dtype=np.float32, copy=True)
            pick = np.flatnonzero(rng.random(n) < p.share)
            for i in range(0, len(pick), 512):
                rows = pick[i : i + 512]
                clips, _ = fresh_clips(raw[rows], rng, p, onsets=onsets[rows], lengths=lengths[rows],
                                       noise=noise, rirs=rirs)
                Xe[rows] = features(clips[:, None, :])
            return spec_augment(Xe, rng, spec) if spec.prob > 0 else Xe

        return make

    # -- clip metrics ------------------------------------------------------------------
    def evaluate(self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        m = classification_metrics(predict(X), split.y, ctx.data.labels)
        m["per_class_recall"] = {lab: v["recall"] for lab, v in m["per_class"].items()}
        return m

    # -- streaming -----------------------------------------------------------------------
    def _n_keywords(self, ctx: RunContext) -> int:
        assert ctx.data is not None
        return keyword_count(ctx.data.labels)

    def _stream(self, ctx: RunContext, split_name: str) -> dict[str, Any] | None:
        """The evaluation stream of a split and its model inputs (cached per run)."""
        key = f"wake_word_stream_{split_name}"
        if key in ctx.state.app:
            return ctx.state.app[key]
        assert ctx.data is not None and ctx.features is not None
        split: Split = getattr(ctx.data, split_name)
        labels = ctx.data.labels
        speech = np.flatnonzero(np.array([labels[int(c)] != SILENCE for c in split.y], dtype=bool))
        n_kw = self._n_keywords(ctx)
        if len(speech) == 0 or not np.any(split.y[speech] < n_kw):
            log.warning("wake_word: the %s split has no keyword clips; no streaming figures", split_name)
            ctx.state.app[key] = None
            return None
        rng = ctx.rng(f"stream-{split_name}")
        n_clips = min(self.params.stream_clips if not ctx.smoke else min(self.params.stream_clips, 8), len(speech))
        pick = np.sort(rng.choice(speech, size=n_clips, replace=False))
        pick = rng.permutation(pick)
        sr = int(round(ctx.data.sample_rate))
        onsets = split.meta.get("onset")
        lengths = split.meta.get("length")
        stream, events = build_stream(
            split.x[pick, 0], split.y[pick], keyword_mask=[i < n_kw for i in range(len(labels))], rng=rng,
            sample_rate=sr, gap_s=self.params.stream_gap_s, background=ctx.data.extra.get("background"),
            background_dbfs=self.params.stream_background_dbfs,
            onsets=None if onsets is None else np.asarray(onsets)[pick],
            lengths=None if lengths is None else np.asarray(lengths)[pick],
        )
        frames = ctx.features(stream[None, None, :])[0]  # (n_frames, coeffs, 1)
        window = int(split.x.shape[-1])
        p = ctx.features.params
        window_frames = p.num_frames(window)
        X = stream_inputs(frames, window_frames, self.params.infer_every_frames)
        starts = np.arange(len(X)) * self.params.infer_every_frames * p.hop_length
        end = starts + (window_frames - 1) * p.hop_length + p.frame_length
        out = {
            "X": np.ascontiguousarray(X, dtype=np.float32),
            "events": events,
            "score_kw": {"step_end_sample": end, "total_samples": len(stream), "sample_rate": sr,
                         "window_samples": window},
            "seconds": len(stream) / sr,
        }
        ctx.state.app[key] = out
        return out

    def _streaming_figures(self, predict: PredictFn, ctx: RunContext, split_name: str,
                           threshold: float) -> dict[str, Any] | None:
        s = self._stream(ctx, split_name)
        if s is None:
            return None
        P = predict(s["X"])
        n_kw = self._n_keywords(ctx)
        post = self.post(ctx)
        det = det_curve(P, s["events"], params=post, n_keywords=n_kw, thresholds=DET_THRESHOLDS, **s["score_kw"])
        dets = detect(smooth(P, post.smooth_windows), n_keywords=n_kw, threshold=threshold,
                      suppression_windows=post.suppression_windows)
        at = score_detections(dets, s["events"], **s["score_kw"])
        return {
            "threshold": float(threshold),
            **at,
            "inferences": len(P),
            "hop_ms": 1000.0 * self.params.infer_every_frames * ctx.features.params.hop_length / ctx.data.sample_rate,
            "smooth_windows": post.smooth_windows,
            "suppression_windows": post.suppression_windows,
            "det": det,
        }

    def calibrate(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any]:
        fig = self._streaming_figures(predict, ctx, "val", self.params.threshold)
        if fig is None:
            return {"threshold": self.params.threshold}
        if self.params.target_fa_per_hour is None:
            thr = choose_threshold(fig["det"], events=fig["events"], hours=fig["stream_hours"])
        else:
            thr = threshold_for_fa_rate(fig["det"], self.params.target_fa_per_hour)
        log.info("wake_word: threshold %.2f chosen on the validation stream (%d keywords, %.1f min)",
                 thr, fig["events"], fig["stream_hours"] * 60)
        return {"threshold": thr}

    def _threshold(self, ctx: RunContext) -> float:
        cal = ctx.state.calibration or {}
        return float(cal.get("threshold", self.params.threshold))

    # -- real clips ------------------------------------------------------------------------
    def _real_inputs(self, ctx: RunContext) -> dict[str, Any] | None:
        if not self.params.real_clips:
            return None
        key = "wake_word_real_clips"
        if key in ctx.state.app:
            return ctx.state.app[key]
        from tinyml_suite.datasets.loaders.speech_commands import scan_clips
        from tinyml_suite.datasets.wav import fit_length, read_wav

        assert ctx.data is not None and ctx.features is not None
        root = Path(str(self.params.real_clips)).expanduser()
        clips = scan_clips(root)
        sr = int(round(ctx.data.sample_rate))
        n = int(ctx.data.test.x.shape[-1])
        x = np.stack([fit_length(read_wav(root / rel, sample_rate=sr), n) for rel, _, _ in clips])[:, None, :]
        out = {
            "X": ctx.features(x),
            "words": np.array([w for _, w, _ in clips]),
            "speakers": np.array([s for _, _, s in clips]),
            "root": str(root.resolve()),
        }
        ctx.state.app[key] = out
        log.info("wake_word: %d real clips from %s (evaluation only)", len(clips), root)
        return out

    def _real_figures(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any] | None:
        r = self._real_inputs(ctx)
        if r is None:
            return None
        assert ctx.data is not None
        labels = list(ctx.data.labels)
        n_kw = self._n_keywords(ctx)
        keywords = labels[:n_kw]
        P = predict(r["X"])
        words = r["words"]
        is_kw = np.array([w in keywords for w in words])
        out: dict[str, Any] = {"root": r["root"], "n_clips": len(words), "n_speakers": len(set(r["speakers"]))}
        if is_kw.any():
            y = np.array([keywords.index(w) for w in words[is_kw]])
            pred = np.argmax(P[is_kw][:, :n_kw], axis=1)
            out["keywords_accuracy"] = float(np.mean(pred == y))
            out["n_keyword_clips"] = int(is_kw.sum())
            out["keywords_confusion"] = classification_metrics(P[is_kw][:, :n_kw], y, tuple(keywords))["confusion"]
            out["keywords_per_word"] = {k: float(np.mean(pred[y == i] == i)) for i, k in enumerate(keywords) if np.any(y == i)}
        if UNKNOWN in labels:
            unk = labels.index(UNKNOWN)
            sil = labels.index(SILENCE) if SILENCE in labels else unk
            y_all = np.array([keywords.index(w) if w in keywords else sil if w == SILENCE else unk for w in words])
            pred_all = np.argmax(P, axis=1)
            out["all_accuracy"] = float(np.mean(pred_all == y_all))
            other = np.array([w not in keywords and w != SILENCE for w in words])
            out["unknown_recall"] = float(np.mean(pred_all[other] == unk)) if other.any() else None
            out["all_classes"] = len(labels)
            # the most frequent wrong answers, for the report
            errors: dict[str, int] = {}
            for w, p_, t in zip(words, pred_all, y_all):
                if p_ != t:
                    k = f"{w}->{labels[p_]}"
                    errors[k] = errors.get(k, 0) + 1
            out["top_errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:12])
        return out

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fig = self._streaming_figures(predict, ctx, "test", self._threshold(ctx))
        if fig is not None:
            out["streaming"] = fig
            log.info("wake_word %s stream: %.1f FA/h, miss rate %.3f at threshold %.2f (%d keywords, %.1f min)",
                     variant, fig["fa_per_hour"], fig["miss_rate"], fig["threshold"], fig["events"],
                     fig["stream_hours"] * 60)
        real = self._real_figures(predict, ctx)
        if real is not None:
            out["real_clips"] = real
            log.info("wake_word %s on %d real clips: %s-way keywords %.3f, %s-way %.3f", variant, real["n_clips"],
                     self._n_keywords(ctx), real.get("keywords_accuracy", float("nan")),
                     real.get("all_classes", "-"), real.get("all_accuracy", float("nan")))
        return out

    # -- report ----------------------------------------------------------------------------------
    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        assert ctx.data is not None
        labels = list(ctx.data.labels)
        paths: list[Path] = []
        variants = [v for v in ("float", "int8") if ctx.metrics.get(v, {}).get("confusion")]
        if variants:
            fig, axes = plt.subplots(1, len(variants), figsize=(5.2 * len(variants), 4.6), squeeze=False)
            for ax, v in zip(axes[0], variants):
                conf = np.asarray(ctx.metrics[v]["confusion"], dtype=float)
                norm = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
                ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
                ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
                ax.set_yticks(range(len(labels)), labels, fontsize=7)
                for i in range(len(labels)):
                    for j in range(len(labels)):
                        if conf[i, j]:
                            ax.text(j, i, int(conf[i, j]), ha="center", va="center", fontsize=6,
                                    color="white" if norm[i, j] > 0.5 else "black")
                ax.set_title(f"{v}: accuracy {ctx.metrics[v].get('accuracy', float('nan')):.3f}")
                ax.set_xlabel("predicted")
                ax.set_ylabel("true")
            fig.tight_layout()
            p = out_dir / "confusion_matrix.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)
        streams = [v for v in ("float", "int8") if ctx.metrics.get(v, {}).get("streaming")]
        if streams:
            fig, ax = plt.subplots(figsize=(5.5, 4.2))
            for v in streams:
                s = ctx.metrics[v]["streaming"]
                det = s["det"]
                fa = np.maximum(np.asarray(det["fa_per_hour"], dtype=float), 0.1)
                ax.plot(fa, det["miss_rate"], marker=".", label=f"{v}")
                ax.scatter([max(s["fa_per_hour"], 0.1)], [s["miss_rate"]], marker="*", s=120,
                           label=f"{v} at threshold {s['threshold']:.2f}")
            ax.set_xscale("log")
            ax.set_xlabel("false accepts per hour (0 drawn at 0.1)")
            ax.set_ylabel("miss rate")
            s0 = ctx.metrics[streams[0]]["streaming"]
            ax.set_title(f"DET on the test stream ({s0['events']} keywords, {s0['stream_hours'] * 60:.1f} min)")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
            fig.tight_layout()
            p = out_dir / "det_curve.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)
        return paths

    # -- firmware ------------------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        assert ctx.data is not None
        base = super().firmware_context(ctx)
        hop = int(ctx.features.params.hop_length) if ctx.features is not None else 320
        self._warn_if_too_slow(ctx, hop * self.params.infer_every_frames / float(ctx.data.sample_rate))
        post = self.post(ctx)
        return {
            **base,
            "hop_samples": hop * self.params.infer_every_frames,
            "infer_every_frames": self.params.infer_every_frames,
            "n_keywords": self._n_keywords(ctx),
            "smooth_windows": post.smooth_windows,
            "suppression_windows": post.suppression_windows,
            "threshold": float(self.params.threshold),
            "sensor": "microphone",
        }

    def _warn_if_too_slow(self, ctx: RunContext, hop_s: float) -> None:
        """Warn when the board's estimated inference time exceeds the inference hop."""
        macs = (ctx.metrics.get("model") or {}).get("macs")
        if not macs or "board" not in ctx.cfg:
            return
        try:
            from tinyml_suite.common.deploy.boards import estimate_latency, load_board

            board = load_board(ctx.cfg.board)
            ms = estimate_latency(board, macs=int(macs))["model_ms"]
        except Exception as exc:  # an estimate only; never stop a deploy for it
            log.debug("latency estimate unavailable: %s", exc)
            return
        if ms is not None and ms > 1000.0 * hop_s:
            need = int(np.ceil(ms / (1000.0 * hop_s) * self.params.infer_every_frames))
            log.warning(
                "wake_word: one inference takes ~%.0f ms on %s (estimate) but app.infer_every_frames=%d "
                "starts one every %.0f ms; the device would fall behind and drop audio: use "
                "app.infer_every_frames=%d or more for this board", ms, board.name, self.params.infer_every_frames,
                1000.0 * hop_s, need,
            )

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        """postprocess.c's posterior ring and main_loop.c's framer, feature ring and input."""
        assert ctx.data is not None
        n_out = len(ctx.data.labels)
        ring = 4 * self.post(ctx).smooth_windows * n_out + 4 * n_out + 16
        if ctx.features is None:
            return ring
        p = ctx.features.params
        frames = p.num_frames(int(ctx.data.train.x.shape[-1]))
        n_coeff = getattr(p, "n_mfcc", None) or p.n_mels
        loop = 4 * p.frame_length + 4 * frames * n_coeff * 2 + frames * n_coeff + n_out * 5 + 4 * 64
        return int(ring + loop)

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]]:
        """postprocess.c's detections from Python's :class:`Detector` with the calibrated
        threshold (value: the smoothed score, confidence: the raw output)."""
        y = np.asarray(outputs, np.float32)
        thr = (ctx.state.calibration or {}).get("threshold", self.params.threshold)
        found = Detector(self.post(ctx), n_keywords=self._n_keywords(ctx)).run(y, threshold=float(np.float32(thr)))
        return [{"event": "class", "index": int(d.index), "value": float(d.score), "confidence": float(y[d.step, d.index]),
                 "window": int(d.step)} for d in found]
