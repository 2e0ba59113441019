"""Magic wand: gestures, rejection and false triggers on people the model has not seen.

    python bench/gesture_wand.py --root ../shared/data/magic_wand [--out DIR]
        [--folds dev|heldout|all|none|<user>,...] [--float-only] [--families] [--transfer]
        [--override K=V ...] [--save-posteriors]

Protocol (fixed before any result of this script was seen; printed with the results):

* Data: wing, ring, slope from 6 users and 4 continuous negative logs (``dataset=magic_wand``,
  25 Hz, accelerometer). The negative logs carry no user name: negative_3 and negative_4
  were captured on 29 Jul 2019 at 11:41 and 11:54, inside hyw's capture session of that
  day (10:20-13:17, by the ``Script started/done`` stamps); negative_1 and negative_2 have
  no stamps. So they are treated as 4 unknown recordings, one group each, never split.
* **Held-out user, out of every decision**: ``liucx`` with ``negative_1`` (the
  repository's default test split). Nothing chosen in this work (negative families and
  share, near misses, model size, epochs, the calibration rule) looked at them; they are
  scored once, with the default recipe: train dengyl, hyw, jiangyh, pengxl + negative_3,
  negative_4; validation lsj + negative_2 (best epoch, threshold, debounce).
* **Development folds** (the decisions were made on these): leave one of the 5 other
  users out. Fold k over ``DEV_USERS`` tests user k + ``DEV_NEGATIVES[k mod 3]``,
  validates on user k+1 + ``DEV_NEGATIVES[(k+1) mod 3]`` and trains on the other 3 users +
  the remaining negative log. No recording is on two sides; liucx and negative_1 are in
  no development fold.
* In each fold the recipe chooses the threshold and ``min_consecutive`` on its validation
  user and log only (``app.calibrate_detector``), and the same values go into the
  firmware header.
* Reported per held-out user, float and int8 (the full-int8 model on the TFLM Python
  runtime): gesture accuracy (a gesture window counts when its own gesture wins AND
  reaches the threshold), gesture detection after the firmware debounce (each recording
  as a stream, held still for one window before and after), negative-window rejection on
  the fold's held-out log, false triggers per minute on that log streamed every hop
  through the same smoothing and debounce as ``postprocess.c``, and the rejection of the
  user's own near misses (their rings and slopes drawn backwards, their gestures cut at
  40 %) - movements no training recording of theirs shows.
* Simulated families (``--families``): rejection of 40 fresh simulated windows per
  family (simulated people not in training, held the way the fold's user holds the
  wand), to see which kinds the model lets through.
* ``--transfer`` also trains once on the synthetic default configured like the wand
  (``dataset=gesture_synth_wand``) and scores it on every real window of every user and
  log (``tinyml evaluate``'s code path, split=all, no training additions).

Run it niced with 1-2 TF threads, e.g.
``TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=1 nice -n 10 python bench/gesture_wand.py ...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEV_USERS = ["dengyl", "hyw", "jiangyh", "lsj", "pengxl"]
DEV_NEGATIVES = ["negative_2", "negative_3", "negative_4"]
HELD_OUT = ("liucx", "negative_1")
HELD_OUT_VAL = ("lsj", "negative_2")  # conf/dataset/magic_wand.yaml's default validation split
FAMILIES = ["idle", "wander", "reach", "walk", "swing", "twist", "stir", "tap", "lift", "partial", "reverse",
            "punch", "flex", "shake"]


def fold_plan(name: str) -> dict[str, Any]:
    """Test and validation groups of the fold named by its held-out user."""
    if name == HELD_OUT[0]:
        return {"user": name, "test": list(HELD_OUT), "val": list(HELD_OUT_VAL), "held_out": True}
    k = DEV_USERS.index(name)
    j = (k + 1) % len(DEV_USERS)
    return {"user": name, "test": [name, DEV_NEGATIVES[k % 3]], "val": [DEV_USERS[j], DEV_NEGATIVES[j % 3]],
            "held_out": False}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def near_miss_windows(ctx, user: str) -> np.ndarray:
    """The held-out user's own rings and slopes drawn backwards and gestures cut at 40 %."""
    from tinyml_suite.datasets.imu_common import fit_window, partial_recording, reversed_recording

    L = int(ctx.data.train.x.shape[-1])
    out = []
    for r in ctx.dataset.recordings():
        if r.continuous or r.group != user:
            continue
        if r.label in ("ring", "slope"):
            out.append(fit_window(reversed_recording(r.x), L))
        out.append(fit_window(partial_recording(r.x, 0.4), L))
    return np.stack(out)


def family_windows(seed: int, fs: float, length: int, n: int) -> dict[str, np.ndarray]:
    """``n`` simulated windows of every family, from simulated people the training never saw."""
    from tinyml_suite.datasets.loaders.magic_wand import WAND_NOISE_G
    from tinyml_suite.datasets.synthetic.gestures import synthetic_background

    return {f: synthetic_background(n, seed=seed + 7919, sample_rate=fs, window_samples=length, axes="accel",
                                    tempo=2.0, accel_range_g=2.0, wrist=2.0, roll=5.0, accel_noise_g=WAND_NOISE_G,
                                    kinds=[f])
            for f in FAMILIES}


def rejected(post: np.ndarray, mask: list[int], threshold: float) -> float:
    """Share of windows that are not accepted as a gesture at ``threshold``."""
    pred = np.argmax(post, axis=-1)
    score = post[np.arange(len(post)), pred]
    return float(np.mean(~(np.asarray(mask, bool)[pred] & (score >= np.float32(threshold)))))


def run_fold(name: str, args, base: list[str], out: Path, families: dict[str, np.ndarray] | None) -> dict[str, Any]:
    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.pipeline import run_recipe
    from tinyml_suite.datasets.imu_common import match_orientation

    plan = fold_plan(name)
    stages = "[data,features,train,evaluate]" if args.float_only else "[data,features,train,evaluate,optimize,verify,deploy]"
    ov = [*base, f"stages={stages}", f"dataset.test_users=[{','.join(plan['test'])}]",
          f"dataset.val_users=[{','.join(plan['val'])}]"]
    m, ctx = run_recipe(compose_config(ov), out / f"fold_{name}")
    app, data = ctx.app, ctx.data
    mask = app.event_mask(data.labels)
    cal = m.get("calibration") or {}
    thr = float(cal.get("threshold", app.options["threshold"]))
    predictors = {"float": ctx.float_predict()}
    if not args.float_only:
        from tinyml_suite.common.deploy.verify import tflm_predictor

        predictors["int8"] = tflm_predictor((out / f"fold_{name}" / "model_int8.tflite").read_bytes(),
                                            int(m["tflm"]["arena_bytes"]))
    user, neg = plan["test"]
    row: dict[str, Any] = {"user": name, "negative_log": neg, "val": plan["val"], "held_out": plan["held_out"],
                           "threshold": thr, "min_consecutive": int(cal.get("min_consecutive", app.options["min_consecutive"])),
                           "calibration": {k: v for k, v in (cal.get("validation") or {}).items() if k != "table"},
                           "params": m["model"].get("params")}
    near = ctx.features(near_miss_windows(ctx, user))
    # simulated windows held the way the held-out user holds the wand (as in training)
    ups = [r.x[:, 0] for r in ctx.dataset.recordings() if not r.continuous and r.group == user]
    fam = {f: ctx.features(np.stack([match_orientation(x, ups[i % len(ups)]) for i, x in enumerate(w)]))
           for f, w in (families or {}).items()}
    saved: dict[str, np.ndarray] = {}
    for variant, predict in predictors.items():
        mv = m.get(variant) or {}
        per = (mv.get("open_set") or {}).get("per_user") or {}
        st = mv.get("stream") or {}
        negs = (st.get("negatives") or {}).get("per_group") or {}
        gest = st.get("gestures") or {}
        near_post = predict(near)
        row[variant] = {
            "closed_set_accuracy": (mv.get("per_user") or {}).get(user),
            "gesture_accuracy": (per.get(user) or {}).get("gesture_accuracy"),
            "gesture_rejected": (per.get(user) or {}).get("gesture_rejected"),
            "detected": gest.get("recall"), "wrong_class": gest.get("wrong_class"), "missed": gest.get("misses"),
            "events": gest.get("events"), "duplicates": gest.get("duplicates"),
            "rejection": (per.get(neg) or {}).get("rejection"),
            "n_negative_windows": (per.get(neg) or {}).get("n_background"),
            "false_triggers": (negs.get(neg) or {}).get("false_triggers"),
            "negative_minutes": (negs.get(neg) or {}).get("minutes"),
            "false_per_min": (negs.get(neg) or {}).get("false_triggers_per_min"),
            "near_miss_rejection": rejected(near_post, mask, thr), "n_near_miss": len(near_post),
            "families": {f: rejected(predict(x), mask, thr) for f, x in fam.items()},
        }
        if args.save_posteriors:
            for split in ("val", "test"):
                saved[f"{variant}_{split}_post"] = predict(ctx.X[split])
            for i, item in enumerate(app._stream_posteriors(predict, ctx, "val")):
                saved[f"{variant}_valstream{i}_post"] = item["posteriors"]
            for i, item in enumerate(app._stream_posteriors(predict, ctx, "test")):
                saved[f"{variant}_teststream{i}_post"] = item["posteriors"]
            saved[f"{variant}_near_post"] = near_post
    if args.save_posteriors:
        for split in ("val", "test"):
            saved[f"{split}_y"], saved[f"{split}_groups"] = getattr(data, split).y, getattr(data, split).groups.astype(str)
        for split in ("val", "test"):
            for i, s in enumerate(ctx.dataset.streams(split)):
                saved[f"{split}stream{i}_events"] = np.array(json.dumps([s.events, s.group, s.seconds]))
        np.savez_compressed(out / f"fold_{name}" / "posteriors.npz", **saved)
    for key in ("tflite_bytes",):
        row[key] = m["model"].get(key)
    row["arena"] = (m.get("tflm") or {}).get("arena_bytes")
    row["fit"] = {k: (m.get("fit") or {}).get(k) for k in ("flash_bytes", "ram_bytes")}
    return row


def table(rows: list[dict[str, Any]], variant: str) -> list[str]:
    head = ("| held-out user (+ negative log) | threshold, in a row | gesture acc % (closed-set) | detected after debounce | "
            "negative windows rejected % | false triggers/min (count / min) | own near misses rejected % |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r.get(variant)
        if v is None:
            continue
        det = "-" if v["events"] is None else f"{v['events'] - v['missed'] - v['wrong_class']}/{v['events']}" + (
            f" ({v['wrong_class']} wrong)" if v["wrong_class"] else "")
        ftm = "-" if v["false_per_min"] is None else f"{v['false_per_min']:.2f} ({v['false_triggers']} / {v['negative_minutes']:.2f})"
        lines.append(f"| {r['user']} (+{r['negative_log']}) | {r['threshold']:.2f}, {r['min_consecutive']} | "
                     f"{_pct(v['gesture_accuracy'])} ({_pct(v['closed_set_accuracy'])}) | {det} | {_pct(v['rejection'])} | "
                     f"{ftm} | {_pct(v['near_miss_rejection'])} (n={v['n_near_miss']}) |")
    dev = [r[variant] for r in rows if not r["held_out"] and r.get(variant)]
    if len(dev) > 1:
        acc = [v["gesture_accuracy"] for v in dev]
        rej = [v["rejection"] for v in dev]
        ft = sum(v["false_triggers"] for v in dev)
        mins = sum(v["negative_minutes"] for v in dev)
        det = sum(v["events"] - v["missed"] - v["wrong_class"] for v in dev)
        ev = sum(v["events"] for v in dev)
        near = [v["near_miss_rejection"] for v in dev]
        lines.append(f"| **development mean ({len(dev)} folds)** | | **{_pct(np.mean(acc))}** (worst {_pct(min(acc))}) | "
                     f"{det}/{ev} | **{_pct(np.mean(rej))}** (worst {_pct(min(rej))}) | **{ft / mins:.2f}** "
                     f"({ft} / {mins:.2f}) | {_pct(np.mean(near))} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="folder of the magic wand logs (wing/ ring/ slope/ negative/)")
    ap.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    ap.add_argument("--board", default="nano33_ble_sense")
    ap.add_argument("--folds", default="dev", help="dev (the 5 development users), heldout (liucx), all, or user names")
    ap.add_argument("--override", action="append", default=[], help="extra Hydra override for every fold")
    ap.add_argument("--float-only", action="store_true", help="skip int8 (optimize/verify/deploy): development runs")
    ap.add_argument("--families", action="store_true", help="also score 40 fresh simulated windows per family")
    ap.add_argument("--save-posteriors", action="store_true", help="write posteriors.npz per fold (for analysis)")
    ap.add_argument("--transfer", action="store_true", help="also score a synthetic-only model on the real users")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = str(Path(args.root).resolve())
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gesture_wand_"))
    out.mkdir(parents=True, exist_ok=True)
    names = {"dev": DEV_USERS, "heldout": [HELD_OUT[0]], "all": [*DEV_USERS, HELD_OUT[0]], "none": []}.get(
        args.folds, args.folds.split(","))
    for n in names:
        if n != HELD_OUT[0] and n not in DEV_USERS:
            ap.error(f"--folds: unknown user {n!r}; users: {', '.join([*DEV_USERS, HELD_OUT[0]])}")
    base = ["app=gesture", "dataset=magic_wand", f"dataset.root={root}", f"board={args.board}", f"seed={args.seed}",
            "trainer.tensorboard=false", "trainer.verbose=0", "dataset.gesture_streams=true", *args.override]
    families = family_windows(args.seed, 25.0, 128, 40) if args.families else None
    rows = []
    t0 = time.perf_counter()
    for n in names:
        rows.append(run_fold(n, args, base, out, families))
        r = rows[-1]
        v = r.get("int8") or r["float"]
        print(f"fold {n:8s} (+{r['negative_log']}): threshold {r['threshold']:.2f} x{r['min_consecutive']}, "
              f"gestures {_pct(v['gesture_accuracy'])} %, rejection {_pct(v['rejection'])} %, "
              f"{v['false_per_min']:.2f} false/min, near misses {_pct(v['near_miss_rejection'])} %", flush=True)
    wall = time.perf_counter() - t0
    summary: dict[str, Any] = {"folds": rows, "overrides": args.override, "wall_s": wall, "board": args.board,
                               "seed": args.seed}
    if args.transfer:
        summary["transfer"] = transfer(root, out, args)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    if not rows:
        return 0
    print()
    for variant in ("float", "int8"):
        if any(r.get(variant) for r in rows):
            print(f"{variant}{' (TFLM)' if variant == 'int8' else ''}:")
            print("\n".join(table([r for r in rows if not r["held_out"]], variant)))
            held = [r for r in rows if r["held_out"]]
            if held:
                print("held out of every decision:")
                print("\n".join(table(held, variant)[2:]))
            print()
    if families:
        print("| simulated family | " + " | ".join(r["user"] for r in rows) + " |")
        print("|---|" + "---|" * len(rows))
        variant = "int8" if rows[0].get("int8") else "float"
        for f in FAMILIES:
            print(f"| {f} | " + " | ".join(_pct(r[variant]["families"][f]) for r in rows) + " |")
    r0 = rows[0]
    print(f"\nmodel: {r0['params']} parameters, int8 .tflite {r0['tflite_bytes']} B, TFLM arena {r0['arena']} B, "
          f"{args.board}: {r0['fit']}; {len(rows)} folds in {wall:.0f} s")
    print(f"runs and summary.json in {out}")
    return 0


# Training-time additions off: score the real windows only.
REAL_ONLY = ["dataset.train_shifts=0", "dataset.augment_negatives=false", "dataset.synthetic_negative_share=0",
             "dataset.reversed_negatives=[]", "dataset.partial_negatives=[]", "dataset.val_users=[]",
             "dataset.test_users=[]"]


def transfer(root: str, out: Path, args) -> dict[str, Any]:
    """Train on the synthetic default shaped like the wand; score on every real window."""
    from omegaconf import OmegaConf

    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.evaluate_cli import evaluate_run
    from tinyml_suite.common.pipeline import run_recipe

    run = out / "synthetic_only"
    ov = ["app=gesture", "dataset=gesture_synth_wand", f"board={args.board}", f"seed={args.seed}",
          "trainer.tensorboard=false", "trainer.verbose=0"]
    (run / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(ov), run / ".hydra" / "overrides.yaml")
    m, _ = run_recipe(compose_config([*ov, "stages=[data,features,train,evaluate,optimize,verify]"]), run)
    res = evaluate_run(run, ["dataset=magic_wand", f"dataset.root={root}", *REAL_ONLY], split="all",
                       out=run / "on_magic_wand")
    print("\nSynthetic-only model (dataset=gesture_synth_wand) on the real magic wand windows (all users):")
    print(f"  synthetic held-out users: float {_pct(m['float']['accuracy'])} %, int8 {_pct(m['int8']['accuracy'])} %")
    print(f"  real: float {_pct(res['float']['accuracy'])} %, int8 (TFLM) {_pct(res['int8']['accuracy'])} %, n={res['n']}")
    print("  int8 per class recall: " + ", ".join(
        f"{lab} {_pct(v['recall'])}" for lab, v in res["int8"]["per_class"].items()))
    return {"synthetic_test": {"float": m["float"]["accuracy"], "int8": m["int8"]["accuracy"]},
            "real": {"float": res["float"]["accuracy"], "int8": res["int8"]["accuracy"], "n": res["n"],
                     "per_user": res["int8"].get("per_user", {}), "confusion": res["int8"]["confusion"],
                     "per_class": res["int8"]["per_class"]}}


if __name__ == "__main__":
    sys.exit(main())
