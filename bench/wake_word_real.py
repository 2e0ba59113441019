"""wake_word on REAL voices: data-recipe variants scored on real Speech Commands clips, by speaker part.

Each variant is the wake_word recipe with some data options changed (``--variant``),
trained from text alone (or with a few real clips: the ``fewshot_*`` variants); this
script then scores the trained model on the real clips of ``--real`` and prints one
markdown table.

Protocol (fixed before any result was seen):

* **Speaker parts.** A clip's speaker is the id before ``_nohash_``. Speakers whose
  ``SHA-1(id) mod 100 < 50`` form the **tuning** part, the others the **held-out** part
  (on the 148-clip subset in ../shared/data: 9 speakers / 49 clips, 19 of them the ten
  keywords, and 13 speakers / 99 clips, 35 keywords). Recipe choices and the
  detection threshold may look at the tuning part; the held-out part is only reported.
* **Clips.** 10-way = the keyword clips, arg-max over the ten keyword outputs; 12-way =
  every clip, arg-max over all outputs, other words counted as ``_unknown_``. float =
  the Keras model, int8 = the full-int8 model on the TFLite Micro runtime.
* **Continuous audio.** One stream per part, about an hour long: pink noise at -50 dBFS
  whose level wanders +-6 dB, the part's keyword clips once each and its other-word
  clips ten times each (gain +-6 dB), 6-14 s apart; the detector of the app (100 ms
  smoothing, 1 s suppression) runs at every 20 ms stride. A keyword counts as detected
  when the right keyword fires while it is in the window; every other detection is a
  false accept. The operating **threshold is the lowest at which the tuning stream
  has at most 0.5 false accepts per hour** (validation); the table gives the false
  reject rate (FRR) and false accepts per hour at that threshold on both parts, and
  the held-out ROC (FRR against FA/h) is drawn into ``--figure``. Streams run the
  float model (batched Keras: about 180,000 inferences per stream hour; the int8
  interpreters run one window per call, too slow for hours of audio on 2 cores); the
  clip tables give the int8-float gap.
* **Few-shot** variants add N real recordings per keyword from the TUNING speakers to
  the synthetic training set; their scores on the held-out part are the few-shot curve.

Usage (from the repository root)::

    python bench/wake_word_real.py --real ../shared/data/speech_commands_v0.01_subset \\
        --variant espeak_only --variant default
    python bench/wake_word_real.py --real ... --run-dir outputs/wake_word/<run>   # score a finished run
    python bench/wake_word_real.py --list                                          # the variants
    python bench/wake_word_real.py --real ... --run-dir <run> --tuning-only --explain  # while deciding:
    # tuning speakers only (nothing about the held-out part is computed), why detections
    # fire and what limits the false-reject rate at low false-accept rates

Long: each variant trains the recipe (~8-15 min on 2 busy cores) and scores two
one-hour streams (~2-4 min).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: data-recipe variants: name -> (description, Hydra overrides)
NEW_DATA = ["dataset.neural_voices=[joe]", "dataset.rooms.prob=0.5", "dataset.hard_negative_share=0.3"]
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "espeak_only": ("espeak-ng only, exponential reverb, no near misses (the previous recipe)",
                    ["dataset.neural_voices=[]", "dataset.rooms.prob=0", "dataset.hard_negative_share=0"]),
    "voices": ("espeak-ng + neural voice x speaker conversion, simulated rooms, near misses", NEW_DATA),
    "voices_no_neural": ("as 'voices' without the neural voice (espeak-ng, rooms, near misses)",
                         ["dataset.neural_voices=[]", "dataset.rooms.prob=0.5", "dataset.hard_negative_share=0.3"]),
    "default": ("the recipe as configured (conf/dataset/tts_keywords.yaml)", []),
    "fewshot_1": ("'voices' + 1 real clip per keyword (tuning speakers)",
                  ["dataset=tts_fewshot", *NEW_DATA, "dataset.real_dir={real}", "dataset.real_per_keyword=1",
                   "dataset.real_speaker_percent=[0,50]"]),
    "fewshot_3": ("'voices' + up to 3 real clips per keyword (tuning speakers)",
                  ["dataset=tts_fewshot", *NEW_DATA, "dataset.real_dir={real}", "dataset.real_per_keyword=3",
                   "dataset.real_speaker_percent=[0,50]"]),
}

TARGET_FA_PER_HOUR = 0.5


def speaker_part(speaker: str) -> str:
    """'tuning' or 'heldout': SHA-1 of the speaker id, mod 100, below 50 or not."""
    return "tuning" if int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 100 < 50 else "heldout"


# -- training ------------------------------------------------------------------------------


def train_variant(name: str, real: Path, run_dir: Path, extra: list[str]) -> float:
    """Run the recipe of variant ``name`` into ``run_dir``; returns the wall time, seconds."""
    overrides = [o.format(real=real) for o in VARIANTS[name][1]]
    cmd = [sys.executable, "-m", "tinyml_suite.common.cli", "app=wake_word", f"hydra.run.dir={run_dir}",
           *overrides, *extra]
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS", "2"),
           "TF_NUM_INTEROP_THREADS": "1"}
    print("running:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"variant {name}: the recipe failed (exit {proc.returncode}); see {run_dir}")
    wall = time.perf_counter() - t0
    (run_dir / "bench_wall_s.txt").write_text(f"{wall:.1f}\n")
    return wall


# -- scoring -------------------------------------------------------------------------------


def load_real(root: Path, sample_rate: int, n_samples: int) -> dict[str, Any]:
    from tinyml_suite.datasets.loaders.speech_commands import scan_clips
    from tinyml_suite.datasets.wav import fit_length, read_wav

    clips = scan_clips(root)
    x = np.stack([fit_length(read_wav(root / rel, sample_rate=sample_rate), n_samples) for rel, _, _ in clips])
    speakers = np.array([s for _, _, s in clips])
    return {"x": x.astype(np.float32), "words": np.array([w for _, w, _ in clips]), "speakers": speakers,
            "part": np.array([speaker_part(s) for s in speakers])}


def clip_scores(P: np.ndarray, words: np.ndarray, labels: list[str], n_kw: int) -> dict[str, Any]:
    keywords = labels[:n_kw]
    is_kw = np.isin(words, keywords)
    y_kw = np.array([keywords.index(w) for w in words[is_kw]])
    pred_kw = np.argmax(P[is_kw][:, :n_kw], axis=1)
    unk = labels.index("_unknown_")
    y_all = np.array([keywords.index(w) if w in keywords else unk for w in words])
    pred_all = np.argmax(P, axis=1)
    return {
        "n_kw": int(is_kw.sum()), "n": len(words),
        "acc10": float(np.mean(pred_kw == y_kw)) if is_kw.any() else float("nan"),
        "acc12": float(np.mean(pred_all == y_all)),
        "per_word": {k: [int(np.sum((pred_kw == i) & (y_kw == i))), int(np.sum(y_kw == i))]
                     for i, k in enumerate(keywords) if np.any(y_kw == i)},
    }


def build_part_stream(real: dict[str, Any], part: str, labels: list[str], n_kw: int, seed: int,
                      repeats: int = 10) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """The part's continuous stream (see the module docstring): ``(stream, events, clip
    index of each event in real)``."""
    from tinyml_suite.apps.wake_word.postprocess import build_stream

    rng = np.random.default_rng([seed, 0 if part == "tuning" else 1])
    keywords = labels[:n_kw]
    unk = labels.index("_unknown_")
    sel = np.flatnonzero(real["part"] == part)
    kw = [i for i in sel if real["words"][i] in keywords]
    other = [i for i in sel if real["words"][i] not in keywords]
    order = np.array(kw + other * repeats)
    order = order[rng.permutation(len(order))]
    gains = 10 ** (rng.uniform(-6, 6, size=len(order)) / 20)
    gains[np.isin(order, kw)] = 1.0  # keyword clips as recorded
    clips = real["x"][order] * gains[:, None]
    y = np.array([keywords.index(real["words"][i]) if real["words"][i] in keywords else unk for i in order])
    stream, events = build_stream(clips, y, keyword_mask=[i < n_kw for i in range(len(labels))], rng=rng,
                                  sample_rate=16000, gap_s=(6.0, 14.0), background_dbfs=-50.0)
    return stream, events, order


def stream_curve(P: np.ndarray, events: list[Any], stream_len: int, extractor: Any, post: Any, n_kw: int,
                 thresholds: np.ndarray) -> dict[str, Any]:
    from tinyml_suite.apps.wake_word.postprocess import det_curve

    p = extractor.params
    window_frames = p.num_frames(16000)
    starts = np.arange(len(P)) * p.hop_length
    end = starts + (window_frames - 1) * p.hop_length + p.frame_length
    det = det_curve(P, events, params=post, n_keywords=n_kw, thresholds=[float(t) for t in thresholds],
                    step_end_sample=end, total_samples=stream_len, sample_rate=16000, window_samples=16000)
    det["frr"] = det.pop("miss_rate")
    det["hours"] = stream_len / 16000 / 3600
    det["events"] = sum(1 for e in events if e.keyword)
    return det


def score_run(run_dir: Path, real_root: Path, seed: int = 0, repeats: int = 10, explain: bool = False,
              parts: tuple[str, ...] = ("tuning", "heldout")) -> dict[str, Any]:
    """Every figure of the table for one trained run (``parts``: the speaker parts scored;
    ``("tuning",)`` while deciding, so that nothing about the held-out speakers is computed)."""
    import keras
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from tinyml_suite.apps.wake_word.postprocess import PostprocessParams, stream_inputs, threshold_for_fa_rate
    from tinyml_suite.common.deploy.verify import tflm_predictor

    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    # metrics.json is written when the whole recipe ends; the models exist from the optimize stage on
    mpath = run_dir / "metrics.json"
    metrics = json.loads(mpath.read_text()) if mpath.exists() else {}
    labels = list(metrics["data"]["labels"]) if "labels" in metrics.get("data", {}) else None
    extractor = instantiate(cfg.features, sample_rate=16000.0)
    real = load_real(real_root, 16000, 16000)
    X = extractor(real["x"][:, None, :])
    model = keras.models.load_model(run_dir / "model.keras", compile=False)
    tfl = (run_dir / "model_int8.tflite").read_bytes()
    arena = int(metrics.get("tflm", {}).get("arena_bytes", 0)) or None
    float_p = lambda Z: model.predict(Z, batch_size=1024, verbose=0)  # noqa: E731
    P = {"float": float_p(X), "int8": tflm_predictor(tfl, arena)(X)}
    if labels is None:
        labels = list(cfg.dataset.keywords) + ["_silence_", "_unknown_"]
    n_kw = len(labels) - 2
    out: dict[str, Any] = {"run": str(run_dir), "labels": labels, "tflite_bytes": len(tfl),
                           "arena_bytes": metrics.get("tflm", {}).get("arena_min_bytes")}
    for part in parts:
        m = real["part"] == part
        out[part] = {v: clip_scores(P[v][m], real["words"][m], labels, n_kw) for v in P}
        out[part]["speakers"] = int(len(set(real["speakers"][m])))
    # streams: the float model, batched
    hop_s = extractor.params.hop_length / 16000
    post = PostprocessParams(smooth_windows=max(1, round(float(cfg.app.smooth_s) / hop_s)),
                             suppression_windows=round(float(cfg.app.suppression_s) / hop_s))
    thresholds = np.round(np.arange(0.30, 0.995, 0.01), 3)
    curves = {}
    for part in parts:
        stream, events, order = build_part_stream(real, part, labels, n_kw, seed, repeats=repeats)
        saved_p = run_dir / f"stream_{part}_r{repeats}_seed{seed}.npy"  # the stream's posteriors, reused by --explain
        if explain and part == "tuning" and saved_p.exists():
            Ps = np.load(saved_p)
        else:
            frames = extractor(stream[None, None, :])[0]
            Xs = stream_inputs(frames, extractor.params.num_frames(16000), 1)
            Ps = np.concatenate([float_p(np.ascontiguousarray(Xs[i : i + 8192])) for i in range(0, len(Xs), 8192)])
            if explain and part == "tuning":
                np.save(saved_p, Ps.astype(np.float32))
        curves[part] = stream_curve(Ps, events, len(stream), extractor, post, n_kw, thresholds)
        if explain and part == "tuning":  # why detections fire: decided on the tuning part only
            explained = explain_stream(Ps, events, order, real, labels, n_kw, len(stream), post)
            explained["limits"] = stream_limits(Ps, events, order, real, labels, n_kw, len(stream), post)
    if explain:
        out["explain_tuning"] = explained
    thr = threshold_for_fa_rate(curves["tuning"], TARGET_FA_PER_HOUR)
    k = int(np.argmin(np.abs(thresholds - thr)))
    out["threshold"] = thr
    out["stream"] = {part: {"frr": curves[part]["frr"][k], "fa_per_hour": curves[part]["fa_per_hour"][k],
                            "events": curves[part]["events"], "hours": curves[part]["hours"]}
                     for part in curves}
    out["curves"] = curves
    wall = run_dir / "bench_wall_s.txt"
    out["wall_s"] = float(wall.read_text()) if wall.exists() else None
    out["timing"] = metrics.get("timing", {})
    return out


# -- why detections fire (tuning stream only) ----------------------------------------------


def word_span(x: np.ndarray, frame: int = 160) -> tuple[int, int]:
    """Samples [start, end) of the word in a real clip: 10 ms frames louder than both the
    clip's noise floor + 12 dB and its peak - 25 dB (30 ms smoothing)."""
    n = len(x) // frame
    db = 10 * np.log10(np.mean(x[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1) + 1e-12)
    db = np.convolve(db, np.ones(3) / 3, "same")
    idx = np.flatnonzero(db > max(np.percentile(db, 10) + 12, db.max() - 25))
    return (int(idx[0]) * frame, (int(idx[-1]) + 1) * frame) if len(idx) else (0, len(x))


def detect_consecutive(S: np.ndarray, n_kw: int, threshold: float, suppression: int, k: int) -> list[Any]:
    """The detector with one more rule: the same keyword on top and >= threshold for ``k``
    inferences in a row (k = 1 is the app's detector)."""
    from tinyml_suite.apps.wake_word.postprocess import Detection, detect

    if k <= 1:
        return detect(S, n_keywords=n_kw, threshold=threshold, suppression_windows=suppression)
    kw = S[:, :n_kw]
    best, score = kw.argmax(1), kw.max(1)
    on = score >= np.float32(threshold)
    cand = on.copy()
    for j in range(1, k):  # the same keyword on top and above the threshold j inferences earlier too
        earlier = np.zeros_like(on)
        earlier[j:] = on[:-j] & (best[:-j] == best[j:])
        cand &= earlier
    out, next_ok = [], 0
    for t in np.flatnonzero(cand):
        if t >= next_ok:
            out.append(Detection(int(t), int(best[t]), float(score[t])))
            next_ok = t + suppression + 1
    return out


def explain_stream(P: np.ndarray, events: list[Any], order: np.ndarray, real: dict[str, Any], labels: list[str],
                   n_kw: int, stream_len: int, post: Any) -> dict[str, Any]:
    """What each detection on a stream is (a hit, a repeat, another keyword, another word
    with its word whole in the window or cut by the window's edge, background only), the
    other-word clips that score highest, and the false-reject rate at 0.5 / 5 / 20 FA/h
    of detector variants (longer smoothing, k inferences in a row)."""
    from tinyml_suite.apps.wake_word.postprocess import score_detections, smooth

    step = 320
    end = np.arange(len(P)) * step + 48 * step + 640  # window end of each inference (MFCC 49 x 20 ms)
    spans = {int(i): word_span(real["x"][i]) for i in set(order.tolist())}

    def cause(t_end: int, index: int, hit: set[int]) -> str:
        for k, e in enumerate(events):
            if e.start - 16000 < t_end <= e.end + 16000 + 8000 and t_end - 16000 < e.end:
                a, b = spans[int(order[k])]
                a, b = a + e.start, b + e.start
                whole = t_end - 16000 <= a and b <= t_end
                if e.keyword and e.index == index:
                    out = "repeat" if k in hit else "hit"
                    hit.add(k)
                    return out
                kind = "another keyword" if e.keyword else "another word"
                return f"{kind}, {'whole' if whole else 'cut by the window edge'}"
        return "background only"

    S = smooth(P, post.smooth_windows)
    causes, offenders = {}, {}
    for thr in (0.6, 0.8, 0.9, 0.95):
        c: dict[str, int] = {}
        hit: set[int] = set()
        for d in detect_consecutive(S, n_kw, thr, post.suppression_windows, 1):
            why = cause(int(end[d.step]), d.index, hit)
            c[why] = c.get(why, 0) + 1
        causes[f"{thr:.2f}"] = c
    # the other-word clips whose keyword score peaks highest (over all their repeats)
    for k, e in enumerate(events):
        if e.keyword:
            continue
        w = np.flatnonzero((e.start < end) & (end <= e.end + 16000 + 8000))
        if not len(w):
            continue
        kw = S[w, :n_kw]
        t, c_ = np.unravel_index(int(np.argmax(kw)), kw.shape)
        i = int(order[k])
        key = f"{real['words'][i]} ({real['speakers'][i]})"
        if kw[t, c_] > offenders.get(key, (0.0, ""))[0]:
            offenders[key] = (float(kw[t, c_]), labels[c_])
    top = dict(sorted(offenders.items(), key=lambda kv: -kv[1][0])[:10])
    background = np.ones(len(P), bool)
    for e in events:
        background[(e.start < end) & (end <= e.end + 16000 + 8000)] = False
    variants = {}
    kw_args = {"step_end_sample": end, "total_samples": stream_len, "sample_rate": 16000, "window_samples": 16000}
    thresholds = np.round(np.arange(0.30, 0.995, 0.01), 3)
    for smooth_n in (post.smooth_windows, 2 * post.smooth_windows, 4 * post.smooth_windows):
        Sn = smooth(P, smooth_n)
        for k in (1, 5, 10):
            curve = [score_detections(detect_consecutive(Sn, n_kw, float(t), post.suppression_windows, k), events,
                                      **kw_args) for t in thresholds]
            frr = {}
            for target in (0.5, 5.0, 20.0):
                ok = [r["miss_rate"] for r in curve if r["fa_per_hour"] <= target]
                frr[f"{target:g}"] = ok[0] if ok else None  # the lowest threshold that meets the rate
            variants[f"smooth {smooth_n} x {k} in a row"] = frr
    return {"causes": causes, "top_other_words": top,
            "background_peak": float(S[background, :n_kw].max()) if background.any() else None,
            "detector_variants": variants}


#: thresholds of the limits analysis: 0.50-0.99 by 0.01, then 1 - 10^-2 .. 1 - 10^-5 (the top of
#: the protocol's grid, 0.99, is where both first models sat)
FINE_THRESHOLDS = np.unique(np.round(np.concatenate([np.arange(0.50, 0.99, 0.01), 1 - np.logspace(-2, -5, 31)]), 6))


def stream_limits(P: np.ndarray, events: list[Any], order: np.ndarray, real: dict[str, Any], labels: list[str],
                  n_kw: int, stream_len: int, post: Any, targets: tuple[float, ...] = (0.5, 2.0, 5.0)) -> dict[str, Any]:
    """What limits the false-reject rate at a low false-accept rate on a (tuning) stream.

    * ``keyword_peaks``: each keyword event's highest smoothed score of ITS OWN class
      while it can count as a hit; a threshold above it misses the word whatever else
      happens (the recall ceiling of the model on these voices).
    * ``negative_peaks``: the highest keyword score of every event that is not a keyword
      (other words), sorted; at 0.5 FA/h over ``hours`` a threshold must exceed all but
      about ``0.5 * hours`` of them (each repeat of an other-word clip is one event).
    * ``frr_at``: false-reject rate at each target FA/h (lowest threshold on
      :data:`FINE_THRESHOLDS` that meets it) for smoothing windows 1-50 inferences and
      k inferences in a row.
    """
    from tinyml_suite.apps.wake_word.postprocess import score_detections, smooth

    step = 320
    end = np.arange(len(P)) * step + 48 * step + 640
    hours = stream_len / 16000 / 3600
    out: dict[str, Any] = {"hours": hours, "smoothing": {}}
    kw_args = {"step_end_sample": end, "total_samples": stream_len, "sample_rate": 16000, "window_samples": 16000}
    for n in sorted({1, 3, post.smooth_windows, 10, 25, 50}):
        S = smooth(P, n)
        kwp, negp = [], []
        for k, e in enumerate(events):
            w = (e.start < end) & (end <= e.end + 16000 + 8000)
            if not w.any():
                continue
            if e.keyword:
                kwp.append((float(S[w, e.index].max()), real["words"][int(order[k])]))
            else:
                negp.append((float(S[w, :n_kw].max()), real["words"][int(order[k])], labels[int(S[w, :n_kw].max(0).argmax())]))
        frr = {}
        for kk in (1, 5):
            curve = [score_detections(detect_consecutive(S, n_kw, float(t), post.suppression_windows, kk), events,
                                      **kw_args) for t in FINE_THRESHOLDS]
            for target in targets:
                ok = [(float(t), r["miss_rate"], r["fa_per_hour"]) for t, r in zip(FINE_THRESHOLDS, curve)
                      if r["fa_per_hour"] <= target]
                frr[f"{target:g} FA/h, {kk} in a row"] = ok[0] if ok else None
        kwp.sort(reverse=True)
        negp.sort(reverse=True)
        out["smoothing"][n] = {"keyword_peaks": kwp, "negative_peaks": negp[:25], "frr_at": frr,
                               "keyword_reach": {f"{t:g}": int(sum(v >= t for v, _ in kwp)) for t in
                                                 (0.5, 0.9, 0.99, 0.999, 0.9999)},
                               "negatives_reach": {f"{t:g}": int(sum(v >= t for v, _, _ in negp)) for t in
                                                   (0.5, 0.9, 0.99, 0.999, 0.9999)},
                               "negatives": len(negp), "keywords": len(kwp)}
    return out


def limits_table(lim: dict[str, Any]) -> str:
    """The limits analysis as markdown."""
    L = [f"Stream: {lim['hours']:.2f} h. Keyword events whose own-class peak reaches t / other-word events whose "
         "highest keyword score reaches t:", "",
         "| smoothing (inferences) | t=0.5 | 0.9 | 0.99 | 0.999 | 0.9999 |", "|---|---|---|---|---|---|"]
    for n, r in lim["smoothing"].items():
        L.append(f"| {n} | " + " | ".join(f"{r['keyword_reach'][t]}/{r['keywords']} \\| {r['negatives_reach'][t]}/"
                                          f"{r['negatives']}" for t in r["keyword_reach"]) + " |")
    first = next(iter(lim["smoothing"].values()))
    cols = list(first["frr_at"])
    L += ["", "| smoothing | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for n, r in lim["smoothing"].items():
        L.append(f"| {n} | " + " | ".join("-" if v is None else f"{100 * v[1]:.1f} % (thr {v[0]:.5g}, {v[2]:.1f} FA/h)"
                                          for v in r["frr_at"].values()) + " |")
    for n, r in lim["smoothing"].items():
        L += ["", f"smoothing {n}: keyword peaks " + ", ".join(f"{w} {v:.4f}" for v, w in r["keyword_peaks"]),
              f"smoothing {n}: highest other-word peaks " + ", ".join(f"{w}->{c} {v:.4f}" for v, w, c in
                                                                      r["negative_peaks"][:12])]
    return "\n".join(L)


def explain_table(ex: dict[str, Any]) -> str:
    """The explanation of one run as markdown."""
    kinds = sorted({k for c in ex["causes"].values() for k in c})
    L = ["| threshold | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for thr, c in ex["causes"].items():
        L.append(f"| {thr} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |")
    L += ["", f"Highest keyword score in background-only windows: {ex['background_peak']:.3f}", "",
          "Other-word clips with the highest keyword score (smoothed): "
          + ", ".join(f"{k} {v[0]:.2f} as {v[1]}" for k, v in ex["top_other_words"].items()), "",
          "| detector | FRR at <= 0.5 FA/h | <= 5 FA/h | <= 20 FA/h |", "|---|---:|---:|---:|"]
    for name, frr in ex["detector_variants"].items():
        L.append(f"| {name} | " + " | ".join("-" if v is None else f"{100 * v:.1f} %" for v in frr.values()) + " |")
    return "\n".join(L)


# -- the table -------------------------------------------------------------------------------


def pct(v: float | None) -> str:
    return "-" if v is None or v != v else f"{100 * v:.1f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    L = [
        "| variant | part | 10-way float / int8 | 12-way float / int8 | FRR at the validation threshold (float) | FA/h | "
        "recipe wall | int8 model |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for part, label in (("tuning", "tuning"), ("heldout", "**held-out**")):
            if part not in r:
                continue
            c = r[part]
            s = r["stream"][part]
            L.append(
                f"| {name} | {label} ({c['speakers']} spk, {c['float']['n_kw']} kw / {c['float']['n']} clips) | "
                f"{pct(c['float']['acc10'])} / {pct(c['int8']['acc10'])} | {pct(c['float']['acc12'])} / "
                f"{pct(c['int8']['acc12'])} | {pct(s['frr'])} % ({s['events']} kw, thr {r['threshold']:.2f}) | "
                f"{s['fa_per_hour']:.1f} ({s['hours']:.2f} h) | "
                + (f"{r['wall_s'] / 60:.1f} min" if r.get("wall_s") else "-")
                + f" | {r['tflite_bytes']:,} B |"
            )
    L += ["", "Per-word 10-way accuracy, int8 (correct/clips), tuning | held-out:", ""]
    for name, r in results.items():
        words = r["labels"][: len(r["labels"]) - 2]
        cells = []
        for w in words:
            t = r["tuning"]["int8"]["per_word"].get(w, [0, 0])
            h = r["heldout"]["int8"]["per_word"].get(w, [0, 0]) if "heldout" in r else [0, 0]
            cells.append(f"{w} {t[0]}/{t[1]} \\| {h[0]}/{h[1]}")
        L.append(f"- {name}: " + ", ".join(cells))
    return "\n".join(L)


def figure(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, r in results.items():
        c = r["curves"]["heldout"]
        fa = np.maximum(np.asarray(c["fa_per_hour"]), 0.1)
        (line,) = ax.plot(fa, 100 * np.asarray(c["frr"]), label=name)
        s = r["stream"]["heldout"]
        ax.scatter([max(s["fa_per_hour"], 0.1)], [100 * s["frr"]], marker="*", s=110, color=line.get_color())
    ax.axvline(TARGET_FA_PER_HOUR, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.1)")
    ax.set_ylabel("false rejects, % of keywords")
    ax.set_title("held-out real speakers, continuous audio (float); * = validation threshold", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", type=Path, help="folder of real Speech Commands clips")
    ap.add_argument("--variant", action="append", default=[], help=f"train and score a variant: {', '.join(VARIANTS)}")
    ap.add_argument("--run-dir", action="append", type=Path, default=[], help="score a finished run (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("outputs/wake_word/bench_real"), help="where runs and results go")
    ap.add_argument("--figure", type=Path, default=None, help="write the held-out ROC here (PNG)")
    ap.add_argument("--set", action="append", default=[], help="extra Hydra override for every variant")
    ap.add_argument("--list", action="store_true", help="list the variants and exit")
    ap.add_argument("--rescore", action="store_true", help="score runs again even when bench_real.json exists")
    ap.add_argument("--explain", action="store_true",
                    help="also say why detections fire on the TUNING stream, and try detector variants there")
    ap.add_argument("--tuning-only", action="store_true",
                    help="score the tuning speakers only (while deciding); nothing is saved")
    ap.add_argument("--repeats", type=int, default=10,
                    help="times each other-word clip recurs in a stream (10: about an hour per part)")
    args = ap.parse_args()
    if args.list:
        for k, (d, o) in VARIANTS.items():
            print(f"{k:12s} {d}\n{'':12s} {' '.join(o) or '(no override)'}")
        return 0
    if args.real is None:
        ap.error("--real is required")
    real = args.real.resolve()
    bad = [v for v in args.variant if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variant {bad[0]!r}; choose from {', '.join(VARIANTS)}")
    runs: dict[str, Path] = {}
    for p in args.run_dir:  # named by folder (parent/folder when two share a name)
        runs[p.name if p.name not in runs and sum(q.name == p.name for q in args.run_dir) == 1
             else f"{p.parent.name}/{p.name}"] = p
    for v in args.variant:
        run_dir = args.out / v
        if not (run_dir / "metrics.json").exists():
            train_variant(v, real, run_dir, args.set)
        runs[v] = run_dir
    results = {}
    for name, run_dir in runs.items():
        saved = run_dir / "bench_real.json"
        if args.tuning_only:
            results[name] = score_run(run_dir, real, repeats=args.repeats, explain=args.explain, parts=("tuning",))
            continue
        if saved.exists() and not args.rescore:
            results[name] = json.loads(saved.read_text())
            print(f"{name}: the scores saved in {saved} (--rescore to score again)", flush=True)
            continue
        t0 = time.perf_counter()
        results[name] = score_run(run_dir, real, repeats=args.repeats, explain=args.explain)
        print(f"scored {name} in {time.perf_counter() - t0:.0f} s", flush=True)
        (run_dir / "bench_real.json").write_text(json.dumps(results[name], indent=1, default=float))
    print(table(results))
    for name, r in results.items():
        if "explain_tuning" in r:
            print(f"\nWhy detections fire on the tuning stream, {name}:\n")
            print(explain_table(r["explain_tuning"]))
            if "limits" in r["explain_tuning"]:
                print(f"\nWhat limits FRR at low FA/h on the tuning stream, {name}:\n")
                print(limits_table(r["explain_tuning"]["limits"]))
    if args.figure and not args.tuning_only:
        figure(results, args.figure)
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
