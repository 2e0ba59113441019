"""Gesture benchmark on the real magic wand logs: leave-one-user-out, int8 on TFLite Micro.

    python bench/gesture_magic_wand.py --root ../shared/data/magic_wand [--out DIR]
        [--board nano33_ble_sense] [--override model.filters=[8,16,24,16] ...] [--transfer]

Protocol (printed with the results):

* 6 users (dengyl, hyw, jiangyh, liucx, lsj, pengxl) x 3 gestures (wing, ring, slope),
  plus the 4 continuous negative logs; 25 Hz, accelerometer only, milli-g -> g.
* Fold k (one per user, in that order): test = user k + negative log (k mod 4) + 1;
  validation (best epoch) = user k+1 + negative log ((k+1) mod 4) + 1; training = the
  other 4 users + the other 2 negative logs. No recording is on two sides.
* Windows: 128 samples (5.12 s). A gesture recording (one per ``-,-,-`` block) is one
  window, centred and padded by holding its first/last sample (cropped if longer);
  training adds ``train_shifts`` copies at random offsets. Negative logs are cut into
  128-sample windows every 32 samples (1.28 s).
* Reported: float and int8 accuracy per fold, where int8 is the full-int8 model run on
  the TFLM Python runtime (``tflite-micro``); parameters, int8 .tflite bytes, measured
  TFLM arena, and the board fit (flash/RAM) of the rendered project.

``--transfer`` also trains once on the synthetic default configured like the wand
(``dataset=gesture_synth_wand``: accelerometer only, 25 Hz, 128 samples, wing/ring/slope
+ negative) and scores it on every magic wand window of every user (``tinyml evaluate``'s
code path, split=all).

Run it niced with 1-2 TF threads, e.g.
``TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=1 nice -n 10 python bench/gesture_magic_wand.py ...``.
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

import numpy as np

USERS = ["dengyl", "hyw", "jiangyh", "liucx", "lsj", "pengxl"]
NEGATIVES = ["negative_1", "negative_2", "negative_3", "negative_4"]


def fold_groups(k: int) -> tuple[list[str], list[str]]:
    """(test, val) groups of fold ``k``."""
    j = (k + 1) % len(USERS)
    return [USERS[k], NEGATIVES[k % 4]], [USERS[j], NEGATIVES[(k + 1) % 4]]


def _run(overrides: list[str], run_dir: Path):
    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_config(overrides)
    metrics, _ = run_recipe(cfg, run_dir)
    return metrics


def _fmt(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="folder of the magic wand logs (wing/ ring/ slope/ negative/)")
    ap.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    ap.add_argument("--board", default="nano33_ble_sense")
    ap.add_argument("--override", action="append", default=[], help="extra Hydra override for every fold")
    ap.add_argument("--transfer-override", action="append", default=[],
                    help="extra Hydra override for the synthetic-only training run")
    ap.add_argument("--folds", default="all", help="comma-separated user names, 'all' (default) or 'none'")
    ap.add_argument("--transfer", action="store_true", help="also score a synthetic-only model on the real users")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-val", action="store_true",
                    help="no validation split: train on the 5 other users + 3 negative logs, keep the "
                         "epoch with the lowest training loss (no selection on held-out data)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = str(Path(args.root).resolve())
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gesture_bench_"))
    base = [
        "app=gesture", "dataset=magic_wand", f"dataset.root={root}", f"board={args.board}",
        f"seed={args.seed}", "trainer.tensorboard=false", "trainer.verbose=0",
        "stages=[data,features,train,evaluate,optimize,verify,deploy]", *args.override,
    ]
    users = USERS if args.folds == "all" else [] if args.folds == "none" else args.folds.split(",")
    rows = []
    t0 = time.perf_counter()
    for user in users:
        k = USERS.index(user)
        test, val = fold_groups(k)
        if args.no_val:
            val = []
        ov = [*base, f"dataset.test_users=[{','.join(test)}]", f"dataset.val_users=[{','.join(val)}]"]
        m = _run(ov, out / f"fold_{user}")
        rows.append({
            "user": user, "test": test, "val": val,
            "float": m["float"]["accuracy"], "int8": m["int8"]["accuracy"],
            "int8_user": m["int8"]["per_user"].get(user), "int8_negative": m["int8"]["per_user"].get(test[1]),
            "n_test": m["int8"]["n"], "params": m["model"]["params"], "tflite_bytes": m["model"]["tflite_bytes"],
            "arena": m["tflm"]["arena_bytes"], "flash": m["fit"].get("flash_bytes"), "ram": m["fit"].get("ram_bytes"),
            "false_per_min": (m["int8"].get("stream") or {}).get("false_triggers_per_min"),
            "per_class_f1": {k2: v["f1"] for k2, v in m["int8"]["per_class"].items()},
        })
        r = rows[-1]
        print(f"fold {user:8s}: float {_fmt(r['float'])} %  int8(TFLM) {_fmt(r['int8'])} %  "
              f"(user {_fmt(r['int8_user'])} %, {test[1]} {_fmt(r['int8_negative'])} %, n={r['n_test']})", flush=True)
    wall = time.perf_counter() - t0
    if not rows:
        summary: dict = {"overrides": args.override}
        if args.transfer:
            summary["transfer"] = transfer(root, out, args)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        return 0
    f = np.array([r["float"] for r in rows])
    q = np.array([r["int8"] for r in rows])
    print()
    print("| held-out user | float acc % | int8 TFLM acc % | gestures only % | negative log % | n | false triggers/min on the negative log |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['user']} (+{r['test'][1]}) | {_fmt(r['float'])} | {_fmt(r['int8'])} | {_fmt(r['int8_user'])} | "
              f"{_fmt(r['int8_negative'])} | {r['n_test']} | {r['false_per_min']:.2f} |")
    print(f"| **mean** | **{_fmt(f.mean())}** | **{_fmt(q.mean())}** (min {_fmt(q.min())}) | | | | |")
    r0 = rows[0]
    print(f"\nmodel: {r0['params']} parameters, int8 .tflite {r0['tflite_bytes']} B, TFLM arena {r0['arena']} B "
          f"(measured + 10 %), {args.board}: flash {r0['flash']} B, RAM {r0['ram']} B; "
          f"{len(rows)} folds in {wall:.0f} s")
    summary = {"folds": rows, "float_mean": float(f.mean()), "int8_mean": float(q.mean()), "wall_s": wall,
               "overrides": args.override, "board": args.board}
    if args.transfer:
        summary["transfer"] = transfer(root, out, args)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"runs and summary.json in {out}")
    return 0


def transfer(root: str, out: Path, args) -> dict:
    """Train on the synthetic default shaped like the wand; score on every real window."""
    from tinyml_suite.common.evaluate_cli import evaluate_run

    run = out / "synthetic_only"
    ov = ["app=gesture", "dataset=gesture_synth_wand", f"board={args.board}", f"seed={args.seed}",
          "trainer.tensorboard=false", "trainer.verbose=0", *args.override, *args.transfer_override]
    (run / ".hydra").mkdir(parents=True, exist_ok=True)
    from omegaconf import OmegaConf

    OmegaConf.save(OmegaConf.create(ov), run / ".hydra" / "overrides.yaml")
    m = _run([*ov, "stages=[data,features,train,evaluate,optimize,verify]"], run)
    res = evaluate_run(
        run,
        ["dataset=magic_wand", f"dataset.root={root}", "dataset.train_shifts=0", "dataset.augment_negatives=false",
         "dataset.synthetic_negatives=0", "dataset.val_users=[]", "dataset.test_users=[]"],
        split="all", out=run / "on_magic_wand",
    )
    per_user = res["int8"].get("per_user", {})
    print()
    print("Synthetic-only model (dataset=gesture_synth_wand) on the real magic wand windows (all users):")
    print(f"  synthetic held-out users: float {_fmt(m['float']['accuracy'])} %, int8 {_fmt(m['int8']['accuracy'])} %")
    print(f"  real: float {_fmt(res['float']['accuracy'])} %, int8 (TFLM) {_fmt(res['int8']['accuracy'])} %, "
          f"n={res['n']}")
    print("  int8 per user: " + ", ".join(f"{u} {_fmt(a)}" for u, a in per_user.items()))
    print("  int8 per class recall: " + ", ".join(
        f"{lab} {_fmt(v['recall'])}" for lab, v in res["int8"]["per_class"].items()))
    print(f"  confusion (rows true, cols predicted; {res['data']['labels']}): {res['int8']['confusion']}")
    return {"synthetic_test": {"float": m["float"]["accuracy"], "int8": m["int8"]["accuracy"]},
            "real": {"float": res["float"]["accuracy"], "int8": res["int8"]["accuracy"], "n": res["n"],
                     "per_user": per_user, "confusion": res["int8"]["confusion"],
                     "per_class": res["int8"]["per_class"]}}


if __name__ == "__main__":
    sys.exit(main())
