"""heart_rate on IEEE SPC 2015: leave-one-subject-out CNN (float and int8 on TFLM) vs the DSP baseline.

For each of the 12 training subjects ``k`` (fold k): the recipe
``tinyml app=heart_rate dataset=spc2015 dataset.fold=k`` runs the stages data, features,
train, evaluate, optimize and verify through the real pipeline (``run_recipe``): the CNN
trains on 10 subjects, selects its epoch on subject ``k+1`` (validation) and is scored on
subject ``k`` (8 s windows, 2 s hop, against the ECG-derived ``BPM0``). The int8 figure is
computed from the int8 model's outputs on the TFLite Micro runtime (``tflite-micro``
Python package); the DSP baseline runs on the same test windows. Prints a markdown table
(per subject and the mean over the 12 subjects, which equals the mean over all windows
weighted by subject) and writes the per-fold metrics to ``--out``.

    TF_NUM_INTRAOP_THREADS=1 nice -n 10 python bench/heart_rate_spc2015.py \\
        --root ../shared/data/ieee_spc2015 [--out /tmp/hr_spc.json] [override ...]

Extra arguments are Hydra overrides applied to every fold (e.g. ``trainer.epochs=60``).
Not a test: nothing is asserted. Record the table in docs/BENCHMARKS.md (## heart_rate).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def run_fold(fold: int, root: str, overrides: list[str], work: Path) -> dict:
    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_config([
        "app=heart_rate", "dataset=spc2015", f"dataset.root={root}", f"dataset.fold={fold}",
        "stages=[data,features,train,evaluate,optimize,verify]", "trainer.tensorboard=false", "trainer.verbose=0",
        *overrides,
    ])
    t0 = time.perf_counter()
    metrics, ctx = run_recipe(cfg, work / f"fold{fold:02d}")
    subject = str(ctx.data.test.groups[0])
    f, q = metrics["float"], metrics["int8"]
    return {
        "fold": fold,
        "subject": subject,
        "n_windows": int(len(ctx.data.test)),
        "cnn_float_mae": f["mae_bpm"],
        "cnn_float_mae_untracked": f["mae_bpm_untracked"],
        "cnn_int8_mae": q.get("mae_bpm"),
        "cnn_int8_mae_untracked": q.get("mae_bpm_untracked"),
        "dsp_mae": f.get("dsp_baseline", {}).get("mae_bpm"),
        "tflite_int8_bytes": metrics["model"].get("tflite_bytes") or metrics.get("optimize", {}).get("int8_bytes"),
        "params": metrics["model"].get("params"),
        "arena_bytes": metrics["tflm"].get("arena_bytes"),
        "matches_litert": metrics["tflm"].get("matches_litert"),
        "epochs_run": metrics.get("train", {}).get("epochs_run"),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="folder with the SPC 2015 DATA_*.mat files")
    ap.add_argument("--out", default="", help="write per-fold results as JSON here")
    ap.add_argument("--folds", default="0-11", help="e.g. 0-11 or 0,3,5")
    ap.add_argument("--work", default="", help="run directories (default: a temporary folder)")
    args, overrides = ap.parse_known_args(argv)
    if "-" in args.folds:
        a, b = args.folds.split("-")
        folds = list(range(int(a), int(b) + 1))
    else:
        folds = [int(v) for v in args.folds.split(",")]
    work = Path(args.work or tempfile.mkdtemp(prefix="hr_spc_"))
    rows = []
    t0 = time.perf_counter()
    for k in folds:
        row = run_fold(k, args.root, overrides, work)
        rows.append(row)
        print(f"fold {k:2d} subject {row['subject']}: CNN float {row['cnn_float_mae']:.2f}, int8 {row['cnn_int8_mae']:.2f}, "
              f"DSP {row['dsp_mae']:.2f} BPM ({row['seconds']} s)", file=sys.stderr, flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps({"overrides": overrides, "rows": rows}, indent=1))
    wall = time.perf_counter() - t0

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    print(f"\nIEEE SPC 2015, leave-one-subject-out ({len(rows)} folds), MAE in BPM per 8 s window (2 s hop)")
    print(f"overrides: {' '.join(overrides) or '(none)'}; wall time {wall / 60:.1f} min on {os.cpu_count()} CPU(s)\n")
    print("| subject | windows | DSP baseline | CNN float (untracked) | CNN float | CNN int8 (TFLM) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['subject']} | {r['n_windows']} | {r['dsp_mae']:.2f} | {r['cnn_float_mae_untracked']:.2f} | "
              f"{r['cnn_float_mae']:.2f} | {r['cnn_int8_mae']:.2f} |")
    print(f"| **mean** | {sum(r['n_windows'] for r in rows)} | **{mean('dsp_mae'):.2f}** | {mean('cnn_float_mae_untracked'):.2f} | "
          f"**{mean('cnn_float_mae'):.2f}** | **{mean('cnn_int8_mae'):.2f}** |")
    r0 = rows[0]
    print(f"\nint8 model: {r0['tflite_int8_bytes']} bytes, {r0['params']} parameters, TFLM arena {r0['arena_bytes']} bytes; "
          f"LiteRT == TFLM on every fold: {all(r['matches_litert'] for r in rows)}")
    print("Published (same data, same windows): TROIKA 2.34, JOSS 1.28 BPM.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
