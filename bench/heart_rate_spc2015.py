"""heart_rate on IEEE SPC 2015 (or PPG-DaLiA): an honest leave-one-subject-out protocol.

Every choice is made on the training subjects only; the held-out recording is scored
once, after the choices are committed. Three stages (``--stage``):

``loso``
    For each subject ``k`` (fold k): the recipe ``tinyml app=heart_rate
    dataset=spc2015 dataset.fold=k`` through the real pipeline (``run_recipe``: data,
    features, train, evaluate, optimize, verify): the CNN trains on the other subjects
    but one, which selects the epoch (early stopping), and is scored on subject ``k``.
    Saved per fold (``<work>/foldNN/``): the run (``model.keras``, ``model_int8.tflite``,
    ``.hydra/``, so ``tinyml evaluate`` can reuse it) and ``outputs.npz``: the CNN's
    probabilities over the HR bins on the test subject, float (Keras) and int8 (the int8
    model on the TFLite Micro runtime), the ACC spectrum the tracker reads, the
    reference; and the same on simulated test-protocol subjects (``ppg_sim``,
    ``protocol=exercise``, seed 101: never a real recording).
``select``
    Chooses, by leave-one-subject-out over the training subjects, the recipe variant
    (``--variants A=<work>,B=<work>``: loso work folders run with different overrides,
    e.g. ``dataset.augment_copies=1``, ``features.motion_channel=true``) together with the
    CNN's tracking parameters (:data:`CNN_GRID`), and the DSP baseline's motion stage,
    tracking parameters and time-domain refinement constants (:data:`DSP_MOTION` x
    :data:`DSP_TRACK_GRID` x :data:`DSP_TD`): for fold ``k`` the candidate with the lowest
    objective over the other subjects (mean per-subject MAE + 0.5 x the MAE on the
    simulated test-protocol subjects) is applied to subject ``k``: those are the LOSO
    figures (nested: subject ``k`` never chose its own variant or parameters). The epoch
    is chosen inside each fold by early stopping on its validation subject. The final
    choice (the same objective over all training subjects) is printed (as YAML) to commit
    as the defaults of ``HeartRateOptions`` in ``apps/heart_rate/app.py`` and written to
    ``<work>/selection.json``. The tracker runs over the saved outputs, so choosing again
    trains nothing (each variant's grid scores are cached in ``<its work>/cnn_grid.npz``).
``heldout``
    Run once, after the final choice is committed (it refuses while the defaults of
    ``app=heart_rate dataset=spc2015`` differ from ``selection.json``, and when
    ``heldout.json`` exists): scores the held-out recording(s) (``--heldout S04_T01``:
    SPC 2015's extra training recording DATA_S04_T01, recorded with the test protocol's
    movements) with every fold's model of the chosen variant through ``tinyml evaluate``
    (float, int8 on TFLM) and the DSP baseline, all with the committed configuration.
    Nothing is chosen here.

    TF_NUM_INTRAOP_THREADS=2 nice -n 10 python bench/heart_rate_spc2015.py --stage loso \\
        --root ../shared/data/ieee_spc2015 --work /tmp/hr_spc/A [override ...]
    python bench/heart_rate_spc2015.py --stage select --root ../shared/data/ieee_spc2015 --work /tmp/hr_spc \\
        --variants A=/tmp/hr_spc/A,B=/tmp/hr_spc/B
    # commit the printed choice, then once:
    python bench/heart_rate_spc2015.py --stage heldout --root ../shared/data/ieee_spc2015 --work /tmp/hr_spc

PPG-DaLiA (``--dataset ppg_dalia --root <PPG_FieldStudy>``): the same loso and select
stages over its 15 subjects (no held-out recording).

Extra arguments of ``loso`` are Hydra overrides applied to every fold (e.g.
``dataset.augment_copies=1``). Not a test: nothing is asserted. Record the tables in
docs/BENCHMARKS.md (## heart_rate).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Objective weight of the simulated test-protocol subjects in every choice.
SIM_WEIGHT = 0.5
#: Simulated test-protocol subjects (ppg_sim, protocol=exercise): seed, count, minutes.
SIM = {"seed": 101, "n_subjects": 6, "minutes": 6.0}

#: The CNN's tracking: fixed fields, and the grid the selection chooses from (TrackParams fields).
CNN_BASE = {"refine": "mean", "refine_bins": 3, "floor": 0.001}
CNN_GRID = {
    "sigma_bpm": [3.75, 5.0],
    "gamma": [0.7, 1.0],
    "uniform": [1e-2, 1e-3],
    "gamma_motion": [None, 0.3, 0.5],
    "uniform_motion": [None, 1e-4, 1e-5],
    "reacquire_acc": [0.0, 0.9],
    "init_bpm": [None, 80.0],
}
#: The DSP baseline's grid: motion stages x tracking x time-domain refinement (DspParams fields).
DSP_MOTION = [
    {"rule": "subtract", "strength": 0.9, "gain_floor": 0.05, "spread_bins": 2, "history": 0.0},
    {"rule": "subtract", "strength": 1.0, "gain_floor": 0.01, "spread_bins": 1, "history": 0.0},
    {"rule": "wiener", "strength": 3.0, "gain_floor": 0.05, "spread_bins": 2, "history": 0.0},
    {"rule": "wiener", "strength": 3.0, "gain_floor": 0.05, "spread_bins": 2, "history": 0.7},
    {"rule": "wiener", "strength": 10.0, "gain_floor": 0.0, "spread_bins": 2, "history": 0.7},
]
DSP_TRACK_GRID = {
    "gamma": [0.5, 1.0],
    "uniform": [1e-2, 1e-1],
    "gamma_motion": [None, 0.3],
    "uniform_motion": [None, 1e-4],
    "reacquire_acc": [0.0, 0.9],
    "normalize": [True, False],
    "init_bpm": [None, 80.0],
}
DSP_BASE = {"sigma_bpm": 5.0, "refine": "peak", "refine_bins": 2}  # floor: 0.001 normalised, else 0.1
#: Step 4 of the baseline (time-domain beats in clean windows): 0 g = off.
DSP_TD = [
    {"clean_motion_g": 0.0, "td_agree_bpm": 8.0},
    {"clean_motion_g": 0.04, "td_agree_bpm": 4.0},
    {"clean_motion_g": 0.04, "td_agree_bpm": 8.0},
    {"clean_motion_g": 0.08, "td_agree_bpm": 8.0},
]


def _grid(spec: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(spec)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(spec[k] for k in keys))]


# -- stage loso ----------------------------------------------------------------------------


def _sim_windows(sample_rate: float):
    from tinyml_suite.datasets.synthetic.ppg import PpgSim

    d = PpgSim(seed=SIM["seed"], n_subjects=SIM["n_subjects"], minutes=SIM["minutes"], protocol="exercise",
               sample_rate=sample_rate, n_test=SIM["n_subjects"], n_val=0, cache=False).load()
    return d.test


def run_fold(fold: int, args: argparse.Namespace, overrides: list[str], work: Path) -> dict:
    from omegaconf import OmegaConf

    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.deploy.verify import tflm_predictor
    from tinyml_suite.common.pipeline import run_recipe

    run_dir = work / f"fold{fold:02d}"
    ovr = [
        "app=heart_rate", f"dataset={args.dataset}", f"dataset.root={args.root}", f"dataset.fold={fold}",
        "stages=[data,features,train,evaluate,optimize,verify]", "trainer.tensorboard=false", "trainer.verbose=0",
        "app.calibrate_tracking=null",  # the select stage chooses the tracking on all training subjects instead
        *overrides,
    ]
    cfg = compose_config(ovr)
    t0 = time.perf_counter()
    metrics, ctx = run_recipe(cfg, run_dir)
    # make the folder a run `tinyml evaluate` can reuse (the held-out stage does)
    (run_dir / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(ovr), run_dir / ".hydra" / "overrides.yaml")
    app, test = ctx.app, ctx.data.test
    model_bytes = (run_dir / "model_int8.tflite").read_bytes()
    int8 = tflm_predictor(model_bytes, int(ctx.state.arena_bytes or 0) or None)
    fpred = ctx.float_predict()
    sim = _sim_windows(ctx.data.sample_rate)
    X_sim = np.concatenate([ctx.features(sim.x[i : i + 512]) for i in range(0, len(sim.x), 512)])
    out = {
        "float": app.probabilities(fpred(ctx.X["test"])), "int8": app.probabilities(int8(ctx.X["test"])),
        "acc": app.acc_spectrum(ctx, ctx.X["test"]), "y": test.y, "rec": test.meta["rec"], "t": test.meta["t_s"],
        "groups": test.groups.astype(str), "recording": test.meta["recording"].astype(str),
        "sim_float": app.probabilities(fpred(X_sim)), "sim_int8": app.probabilities(int8(X_sim)),
        "sim_acc": app.acc_spectrum(ctx, X_sim), "sim_y": sim.y, "sim_rec": sim.meta["rec"], "sim_t": sim.meta["t_s"],
        "sim_groups": sim.groups.astype(str), "grid": app.grid,
    }
    np.savez(run_dir / "outputs.npz", **{k: v for k, v in out.items() if v is not None})
    row = {
        "fold": fold, "subject": str(test.groups[0]), "n_windows": int(len(test)),
        "cnn_float_mae_run": metrics["float"]["mae_bpm"], "cnn_int8_mae_run": metrics["int8"].get("mae_bpm"),
        "tflite_int8_bytes": metrics["model"].get("tflite_bytes"), "params": metrics["model"].get("params"),
        "macs": metrics["model"].get("macs"), "arena_bytes": metrics["tflm"].get("arena_bytes"),
        "matches_litert": metrics["tflm"].get("matches_litert"), "epochs_run": metrics.get("train", {}).get("epochs_run"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (run_dir / "row.json").write_text(json.dumps(row, indent=1, default=float))
    return row


def _n_subjects(args: argparse.Namespace) -> int:
    """Training subjects under ``--root`` (SPC 2015: the DATA_<nn>_TYPE<tt> files; PPG-DaLiA: S<k>.pkl)."""
    import re

    if args.dataset == "spc2015":
        from tinyml_suite.datasets.loaders.spc2015 import find_spc_files

        return len({f.subject for f in find_spc_files(Path(args.root), include_extra=False)})
    return len([p for p in Path(args.root).rglob("*.pkl") if re.fullmatch(r"S\d+\.pkl", p.name)])


def stage_loso(args: argparse.Namespace, overrides: list[str], work: Path) -> None:
    n = _n_subjects(args)
    folds = list(range(n)) if args.folds == "all" else [int(v) for v in args.folds.split(",")]
    prev = json.loads((work / "loso.json").read_text()) if (work / "loso.json").exists() else None
    if prev is not None and (prev["dataset"], prev["overrides"]) != (args.dataset, overrides):
        raise SystemExit(f"{work} holds folds of another recipe (dataset={prev['dataset']}, overrides "
                         f"{' '.join(prev['overrides']) or '(none)'}): use another --work")
    (work / "loso.json").write_text(json.dumps({"dataset": args.dataset, "overrides": overrides}, indent=1))
    t0 = time.perf_counter()
    for k in folds:
        row = run_fold(k, args, overrides, work)
        print(f"fold {k:2d} subject {row['subject']}: CNN float {row['cnn_float_mae_run']:.2f}, int8 "
              f"{row['cnn_int8_mae_run']:.2f} BPM with the configured tracking ({row['seconds']} s)", file=sys.stderr, flush=True)
    print(f"loso: {len(folds)} folds in {(time.perf_counter() - t0) / 60:.1f} min; next: --stage select", file=sys.stderr)


# -- stage select ----------------------------------------------------------------------------


def _segments(rec: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    from tinyml_suite.apps.heart_rate.postprocess import recording_segments

    return recording_segments(rec, t, 2.0)


def _per_group_mae(est: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    return {str(g): float(np.mean(np.abs(est[groups == g] - y[groups == g]))) for g in np.unique(groups)}


def _nested(real: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, int]:
    """``real[c, s]`` (config x subject MAE), ``sim[c, s]`` (config x fold sim MAE, or [c, 1]).

    Returns the config chosen for each held-out subject (objective over the others) and
    the final choice (over all)."""
    n = real.shape[1]
    chosen = np.empty(n, np.int64)
    for k in range(n):
        others = np.delete(real, k, axis=1).mean(axis=1)
        s = sim[:, k] if sim.shape[1] == n else sim[:, 0]
        chosen[k] = int(np.argmin(others + SIM_WEIGHT * s))
    final = int(np.argmin(real.mean(axis=1) + SIM_WEIGHT * sim.mean(axis=1)))
    return chosen, final


def _within5(est: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(est - y) <= 5.0))


def _variant_folds(variants: dict[str, Path]) -> dict[str, list[Path]]:
    """Each variant's finished folds; every variant must hold the same folds (same subjects)."""
    folds = {v: sorted(p for p in d.glob("fold*") if (p / "outputs.npz").exists()) for v, d in variants.items()}
    names = {v: [p.name for p in f] for v, f in folds.items()}
    first = next(iter(names.values()))
    for v, n in names.items():
        if not n:
            raise SystemExit(f"no fold outputs under {variants[v]}; run --stage loso first")
        if n != first:
            raise SystemExit(f"variant {v or '(default)'} ({variants[v]}) has folds {', '.join(n)}, "
                             f"another has {', '.join(first)}: finish its --stage loso first")
    return folds


def cnn_grid_scores(vdir: Path, folds: list[Path]) -> dict[str, np.ndarray]:
    """MAE of every :data:`CNN_GRID` configuration on the int8 (TFLM) outputs of each fold.

    ``real[c, k]``: fold ``k``'s test subject; ``sim[c, k]``: the simulated test-protocol
    subjects through fold ``k``'s model. Cached in ``<vdir>/cnn_grid.npz`` (keyed by the grid
    and the folds) so that a choice across variants does not track everything again.
    """
    from tinyml_suite.apps.heart_rate.postprocess import TrackParams, track

    key = json.dumps({"grid": CNN_GRID, "base": CNN_BASE, "folds": [f.name for f in folds]}, default=str)
    cache = vdir / "cnn_grid.npz"
    if cache.exists():
        c = np.load(cache)
        if str(c["key"]) == key:
            return {"real": c["real"], "sim": c["sim"]}
    configs = _grid(CNN_GRID)
    real = np.zeros((len(configs), len(folds)))
    sim = np.zeros((len(configs), len(folds)))
    t0 = time.perf_counter()
    for k, f in enumerate(folds):
        o = dict(np.load(f / "outputs.npz"))
        segs, ssegs = _segments(o["rec"], o["t"]), _segments(o["sim_rec"], o["sim_t"])
        for ci, c in enumerate(configs):
            tp = TrackParams(**CNN_BASE, **c)
            real[ci, k] = float(np.mean(np.abs(track(o["int8"], o["grid"], segs, tp, o.get("acc")) - o["y"])))
            es = track(o["sim_int8"], o["grid"], ssegs, tp, o.get("sim_acc"))
            sim[ci, k] = float(np.mean(np.abs(es - o["sim_y"])))
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, key=key, real=real, sim=sim)
    tmp.replace(cache)
    print(f"select: CNN tracking grid of {len(configs)} configurations on {vdir} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr, flush=True)
    return {"real": real, "sim": sim}


def select_cnn(variants: dict[str, Path]) -> dict[str, Any]:
    """Nested leave-one-subject-out choice of the variant (a loso work folder) and its tracking.

    The candidates are every (variant, tracking configuration) pair; for fold ``k`` the pair
    with the lowest objective over the other subjects is applied to subject ``k`` (so the
    variant choice is nested too). Chosen on the deployed model's (int8) outputs; float is
    reported with the same choice.
    """
    from tinyml_suite.apps.heart_rate.app import decode_bins
    from tinyml_suite.apps.heart_rate.postprocess import TrackParams, track

    folds = _variant_folds(variants)
    configs = _grid(CNN_GRID)
    names = list(variants)
    scores = {v: cnn_grid_scores(variants[v], folds[v]) for v in names}
    real = np.concatenate([scores[v]["real"] for v in names])
    sim = np.concatenate([scores[v]["sim"] for v in names])
    pairs = [(v, c) for v in names for c in range(len(configs))]
    chosen, final = _nested(real, sim)
    rows = []
    for k in range(real.shape[1]):
        v, c = pairs[chosen[k]]
        o = dict(np.load(folds[v][k] / "outputs.npz"))
        tp = TrackParams(**CNN_BASE, **configs[c])
        segs = _segments(o["rec"], o["t"])
        est = {m: track(o[m], o["grid"], segs, tp, o.get("acc")) for m in ("float", "int8")}
        rows.append({
            "subject": str(o["groups"][0]), "recording": str(o["recording"][0]), "n": int(len(o["y"])),
            "variant": v, "float": float(np.mean(np.abs(est["float"] - o["y"]))), "int8": float(real[chosen[k], k]),
            "int8_within5": _within5(est["int8"], o["y"]), "float_within5": _within5(est["float"], o["y"]),
            "untracked": float(np.mean(np.abs(decode_bins(o["float"], o["grid"]) - o["y"]))),
            "sim_int8": float(sim[chosen[k], k]), "config": configs[c],
        })
    # each variant on its own (its tracking still chosen nested): what the variant choice compared
    per_variant = {}
    for i, v in enumerate(names):
        sl = slice(i * len(configs), (i + 1) * len(configs))
        ch, fi = _nested(real[sl], sim[sl])
        per_variant[v] = {"loso_int8": float(np.mean([real[sl][ch[k], k] for k in range(real.shape[1])])),
                          "final_real_int8": float(real[sl][fi].mean()), "final_sim_int8": float(sim[sl][fi].mean()),
                          "final_objective": float(real[sl][fi].mean() + SIM_WEIGHT * sim[sl][fi].mean())}
    fv, fc = pairs[final]
    return {"rows": rows, "variant": fv, "final": {**CNN_BASE, **configs[fc]}, "per_variant": per_variant,
            "final_score": {"real_int8": float(real[final].mean()), "sim_int8": float(sim[final].mean())},
            "n_configs": len(pairs)}


def select_dsp(args: argparse.Namespace) -> dict[str, Any]:
    """Nested leave-one-subject-out choice of the DSP baseline's motion stage, tracking and
    time-domain refinement (:data:`DSP_MOTION` x :data:`DSP_TRACK_GRID` x :data:`DSP_TD`)."""
    from tinyml_suite.apps.heart_rate.dsp_baseline import DspParams, baseline_spectra, dsp_estimates, time_domain_bpm
    from tinyml_suite.apps.heart_rate.postprocess import HrTracker, TrackParams
    from tinyml_suite.common.dsp import MotionSuppressionParams, MotionSuppressor

    data = _training_data(args)
    sim = _sim_windows(32.0)
    clean_max = max(d["clean_motion_g"] for d in DSP_TD)
    sets = {}
    for name, split in (("real", data), ("sim", sim)):
        grid, spec = baseline_spectra(split.x, 32.0)
        motion = split.x[:, 1:].std(axis=-1).mean(axis=-1)
        td = np.full(len(split.x), np.nan)
        near = motion < clean_max  # the time-domain estimate is only ever used below the largest threshold
        td[near] = [time_domain_bpm(w, 32.0) for w in split.x[near, 0]]
        sets[name] = (grid, spec, td, motion, _segments(split.meta["rec"], split.meta["t_s"]), split)
    tgrid = _grid(DSP_TRACK_GRID)
    configs = [(m, t, d) for m in DSP_MOTION for t in tgrid for d in DSP_TD]
    subjects = np.unique(data.groups)
    real = np.zeros((len(configs), len(subjects)))
    simm = np.zeros((len(configs), 1))
    ests = []
    t0 = time.perf_counter()
    for mi, m in enumerate(DSP_MOTION):
        mp = MotionSuppressionParams(**m)
        cleaned = {}
        for name, (_g, spec, _td, _motion, segs, _split) in sets.items():
            out = np.empty((len(spec), spec.shape[-1]), np.float32)
            ms = MotionSuppressor(mp)
            for seg in segs:
                ms.reset()
                for i in seg:
                    out[i] = ms.step(spec[i, 0], spec[i, 1:])
            cleaned[name] = out
        for ti, t in enumerate(tgrid):
            tp = TrackParams(**DSP_BASE, **t, floor=0.001 if t["normalize"] else 0.1)
            for name, (grid, spec, td, motion, segs, split) in sets.items():
                tr = HrTracker(grid, tp)
                acc = spec[:, 1:].max(axis=1)
                spectral = np.zeros(len(spec))
                for seg in segs:
                    tr.reset()
                    for i in seg:
                        spectral[i] = tr.step(cleaned[name][i], acc[i])
                for di, d in enumerate(DSP_TD):  # step 4 of the baseline replaces estimates after the tracker
                    ci = (mi * len(tgrid) + ti) * len(DSP_TD) + di
                    use = (motion < d["clean_motion_g"]) & np.isfinite(td)
                    use[use] = np.abs(td[use] - spectral[use]) <= d["td_agree_bpm"]
                    est = np.where(use, td, spectral)
                    per = _per_group_mae(est, split.y, split.groups.astype(str))
                    if name == "real":
                        real[ci] = [per[str(s)] for s in subjects]
                        ests.append(est)
                    else:
                        simm[ci, 0] = float(np.mean(list(per.values())))
    print(f"select: DSP grid of {len(configs)} configurations in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    chosen, final = _nested(real, simm)
    g = data.groups.astype(str)
    rows = []
    for k, s in enumerate(subjects):
        c = chosen[k]
        m = g == str(s)
        rows.append({"subject": str(s), "mae": float(real[c, k]), "within5": _within5(ests[c][m], data.y[m]),
                     "config": {"motion": configs[c][0], "tracking": configs[c][1], **configs[c][2]}})
    fm, ft, fd = configs[final]
    final_cfg = {"motion": fm, **fd, "tracking": {**DSP_BASE, **ft, "floor": 0.001 if ft["normalize"] else 0.1}}
    # the bench's loop is the baseline itself: check it against dsp_estimates on the final choice
    params = DspParams(motion=MotionSuppressionParams(**fm), tracking=TrackParams(**final_cfg["tracking"]), **fd)
    check = dsp_estimates(data.x, sample_rate=32.0, rec=data.meta["rec"], t_s=data.meta["t_s"], params=params)
    assert np.allclose(check, ests[final], atol=1e-6), "bench loop and dsp_estimates disagree"
    return {"rows": rows, "final": final_cfg, "final_score": {"real": float(real[final].mean()), "sim": float(simm[final, 0])},
            "n_configs": len(configs)}


def _training_data(args: argparse.Namespace):
    """All training subjects' windows as one split (never the extra or test recordings)."""
    if args.dataset == "spc2015":
        from tinyml_suite.datasets.loaders.spc2015 import Spc2015

        d = Spc2015(root=args.root, include_extra=False, test_subjects=list(range(_n_subjects(args))), n_val=0,
                    cache=False).load()
    else:
        from tinyml_suite.datasets.loaders.ppg_dalia import PpgDalia

        d = PpgDalia(root=args.root, test_subjects=list(range(_n_subjects(args))), n_val=0, cache=False).load()
    return d.test


def _yaml(final_cnn: dict, final_dsp: dict) -> str:
    def fmt(d: dict) -> str:
        return "{" + ", ".join(f"{k}: {'null' if v is None else str(v).lower() if isinstance(v, bool) else v}"
                               for k, v in d.items()) + "}"

    td = "".join(f"    {k}: {final_dsp[k]}\n" for k in ("clean_motion_g", "td_agree_bpm") if k in final_dsp)
    return (f"  tracking: {fmt(final_cnn)}\n  calibrate_tracking: null\n  dsp_baseline:\n"
            f"    motion: {fmt(final_dsp['motion'])}\n{td}    tracking: {fmt(final_dsp['tracking'])}\n")


#: loso overrides that change how the bench runs, not the recipe (not committed as defaults).
BENCH_ONLY = ("optimize.variants=",)


def _variants_arg(args: argparse.Namespace, work: Path) -> dict[str, Path]:
    """``--variants A=dir,B=dir`` (loso work folders to choose among), or just ``--work``."""
    if not args.variants:
        return {"default": work}
    out = {}
    for item in args.variants.split(","):
        name, eq, folder = item.partition("=")
        if not eq or not name or not folder:
            raise SystemExit(f"--variants {args.variants!r}: expected NAME=FOLDER[,NAME=FOLDER...]")
        out[name] = Path(folder)
    return out


def _recipe_overrides(vdir: Path) -> list[str]:
    ovr = json.loads((vdir / "loso.json").read_text())["overrides"]
    return [o for o in ovr if not o.startswith(BENCH_ONLY)]


def stage_select(args: argparse.Namespace, work: Path) -> None:
    variants = _variants_arg(args, work)
    cnn = select_cnn(variants)
    grids = {"motion": DSP_MOTION, "tracking": DSP_TRACK_GRID, "base": DSP_BASE, "td": DSP_TD, "sim": SIM,
             "sim_weight": SIM_WEIGHT}
    dsp = None
    if args.dsp_from:  # the DSP baseline does not depend on the CNN runs: reuse a selection with the same grids
        prev = json.loads(Path(args.dsp_from).read_text())
        if json.loads(json.dumps(prev.get("dsp_grids"), default=str)) == json.loads(json.dumps(grids, default=str)):
            dsp = prev["dsp"]
        else:
            print(f"select: {args.dsp_from} used other DSP grids; selecting again", file=sys.stderr)
    if dsp is None:
        dsp = select_dsp(args)
    vdir = variants[cnn["variant"]]
    folds = _variant_folds({cnn["variant"]: vdir})[cnn["variant"]]
    fold_rows = [json.loads((f / "row.json").read_text()) for f in folds]
    sel = {"dataset": args.dataset, "variant": cnn["variant"],
           "variants": {v: {"dir": str(d), "overrides": json.loads((d / "loso.json").read_text())["overrides"]}
                        for v, d in variants.items()},
           "cnn": cnn, "dsp": dsp, "dsp_grids": grids, "folds": fold_rows, "sim": SIM, "sim_weight": SIM_WEIGHT}
    (work / "selection.json").write_text(json.dumps(sel, indent=1, default=float))
    dsp_by = {r["subject"]: r for r in dsp["rows"]}
    print(f"\n{args.dataset}, leave-one-subject-out ({len(folds)} folds), MAE in BPM per 8 s window (2 s hop); "
          "variant and parameters chosen per fold on the other subjects (nested)\n")
    if len(variants) > 1:
        print("| variant | loso overrides | CNN int8, nested LOSO (tracking chosen within the variant) | "
              "its final tracking: LOSO int8 / simulated | objective |")
        print("|---|---|---|---|---|")
        for v in variants:
            pv = cnn["per_variant"][v]
            print(f"| {v} | {' '.join(sel['variants'][v]['overrides']) or '(none)'} | {pv['loso_int8']:.2f} | "
                  f"{pv['final_real_int8']:.2f} / {pv['final_sim_int8']:.2f} | {pv['final_objective']:.3f} |")
        print()
    print("| recording | windows | DSP baseline | within 5 BPM | variant | CNN float, no tracking | CNN float | CNN int8 (TFLM) | within 5 BPM |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in cnn["rows"]:
        d = dsp_by.get(r["subject"], {})
        print(f"| {r['recording']} | {r['n']} | {d.get('mae', float('nan')):.2f} | {100 * d.get('within5', float('nan')):.1f} % | "
              f"{r['variant']} | {r['untracked']:.2f} | {r['float']:.2f} | {r['int8']:.2f} | {100 * r['int8_within5']:.1f} % |")

    def mean(rows: list, key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    print(f"| **mean** | {sum(r['n'] for r in cnn['rows'])} | **{mean(dsp['rows'], 'mae'):.2f}** | "
          f"{100 * mean(dsp['rows'], 'within5'):.1f} % | | {mean(cnn['rows'], 'untracked'):.2f} | **{mean(cnn['rows'], 'float'):.2f}** | "
          f"**{mean(cnn['rows'], 'int8'):.2f}** | {100 * mean(cnn['rows'], 'int8_within5'):.1f} % |")
    r0 = fold_rows[0]
    print(f"\nint8 model ({cnn['variant']}): {r0['tflite_int8_bytes']} bytes, {r0['params']} parameters, {r0['macs']} MACs, "
          f"TFLM arena {r0['arena_bytes']} bytes; LiteRT == TFLM on every fold: {all(r['matches_litert'] for r in fold_rows)}")
    print(f"simulated test-protocol subjects (objective weight {SIM_WEIGHT}): CNN int8 {mean(cnn['rows'], 'sim_int8'):.2f}, "
          f"DSP {dsp['final_score']['sim']:.2f} BPM (final choice)")
    print(f"\nFinal choice over all training subjects: variant {cnn['variant']} (loso overrides: "
          f"{' '.join(_recipe_overrides(vdir)) or 'none'}: the committed defaults must give these); commit as the "
          "defaults of HeartRateOptions (apps/heart_rate/app.py) before --stage heldout:\n")
    print(_yaml(cnn["final"], dsp["final"]))


# -- stage heldout ----------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0.0))
    return a == b


def committed_mismatches(sel: dict[str, Any], root: str) -> list[str]:
    """What the committed defaults (``app=heart_rate dataset=spc2015``) do not give of the final choice."""
    import yaml
    from omegaconf import OmegaConf

    from tinyml_suite.common.cli import compose_config

    cfg = compose_config(["app=heart_rate", f"dataset={sel['dataset']}", f"dataset.root={root}"])
    want: dict[str, Any] = {"app.calibrate_tracking": None}
    want.update({f"app.tracking.{k}": v for k, v in sel["cnn"]["final"].items()})
    dsp = sel["dsp"]["final"]
    want.update({f"app.dsp_baseline.motion.{k}": v for k, v in dsp["motion"].items()})
    want.update({f"app.dsp_baseline.tracking.{k}": v for k, v in dsp["tracking"].items()})
    want.update({f"app.dsp_baseline.{k}": dsp[k] for k in ("clean_motion_g", "td_agree_bpm") if k in dsp})
    for o in sel["variants"][sel["variant"]]["overrides"]:
        if not o.startswith(BENCH_ONLY):
            key, _, value = o.partition("=")
            want[key] = yaml.safe_load(value) if value else value  # "1" -> 1, "[a,b]" -> a list
    bad = []
    for key, value in want.items():
        have = OmegaConf.select(cfg, key, default="<absent>")
        have = OmegaConf.to_container(have) if OmegaConf.is_config(have) else have
        if not _same(have, value):
            bad.append(f"{key}={have} (chosen: {value})")
    return bad


def stage_heldout(args: argparse.Namespace, work: Path) -> None:
    from tinyml_suite.common.evaluate_cli import evaluate_run

    if args.dataset != "spc2015":
        raise SystemExit("the held-out stage is for SPC 2015's extra recording")
    if (work / "heldout.json").exists():
        raise SystemExit(f"{work / 'heldout.json'} exists: the held-out recording was scored already (once is the "
                         "protocol); delete it only to repeat the identical scoring")
    if not (work / "selection.json").exists():
        raise SystemExit(f"no {work / 'selection.json'}: run --stage select (and commit its choice) first")
    sel = json.loads((work / "selection.json").read_text())
    bad = committed_mismatches(sel, args.root)
    if bad:
        raise SystemExit("the committed defaults are not the final choice of the selection: " + "; ".join(bad)
                         + ". Commit the printed choice first.")
    vdir = Path(sel["variants"][sel["variant"]]["dir"])
    folds = sorted(p for p in vdir.glob("fold*") if (p / ".hydra" / "overrides.yaml").exists())
    recs = [r.strip() for r in args.heldout.split(",") if r.strip()]
    subjects = sorted({r.split("_")[0] for r in recs})
    rows = []
    for f in folds:
        res = evaluate_run(f, ["dataset=spc2015", f"dataset.root={args.root}", "dataset.include_extra=true",
                               f"dataset.test_subjects=[{','.join(subjects)}]", "dataset.val_subjects=[]", "dataset.n_val=0",
                               "dataset.augment_copies=0"], out=work / "heldout" / f.name)
        rows.append({"fold": f.name, "float": res["float"]["mae_bpm"], "int8": res["int8"]["mae_bpm"],
                     "int8_within5": res["int8"]["within_5bpm"], "float_within5": res["float"]["within_5bpm"],
                     "dsp": res["float"]["dsp_baseline"]["mae_bpm"], "dsp_within5": res["float"]["dsp_baseline"]["within_5bpm"],
                     "n": res["n"]})
    (work / "heldout.json").write_text(json.dumps(rows, indent=1, default=float))
    print(f"\nHeld-out {', '.join(recs)} ({rows[0]['n']} windows), variant {sel['variant']}: each fold's model "
          "with the committed parameters")
    print("| model (trained without) | CNN float | CNN int8 (TFLM) | int8 within 5 BPM |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['fold']} | {r['float']:.2f} | {r['int8']:.2f} | {100 * r['int8_within5']:.1f} % |")
    print(f"| **mean over the {len(rows)} models** | **{np.mean([r['float'] for r in rows]):.2f}** | "
          f"**{np.mean([r['int8'] for r in rows]):.2f}** | {100 * np.mean([r['int8_within5'] for r in rows]):.1f} % |")
    print(f"\nDSP baseline (no training): {rows[0]['dsp']:.2f} BPM, within 5 BPM {100 * rows[0]['dsp_within5']:.1f} %")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the dataset folder (SPC 2015 official layout or flat; PPG-DaLiA)")
    ap.add_argument("--dataset", default="spc2015", choices=["spc2015", "ppg_dalia"])
    ap.add_argument("--stage", default="loso", choices=["loso", "select", "heldout", "all"])
    ap.add_argument("--work", required=True, help="folder for the fold runs and results (kept between stages)")
    ap.add_argument("--folds", default="all", help="loso: 'all' or e.g. 0,3,5")
    ap.add_argument("--heldout", default="S04_T01", help="heldout: recording names (comma-separated)")
    ap.add_argument("--variants", default="", help="select: NAME=FOLDER,... loso work folders (recipe variants) "
                    "to choose among, nested like the tracking; default: --work alone")
    ap.add_argument("--dsp-from", default="", help="select: reuse the DSP baseline's selection of this selection.json "
                    "(same grids and data; the DSP baseline does not depend on the CNN runs)")
    args, overrides = ap.parse_known_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.stage in ("loso", "all"):
        stage_loso(args, overrides, work)
    if args.stage in ("select", "all"):
        stage_select(args, work)
    if args.stage == "heldout":
        stage_heldout(args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
