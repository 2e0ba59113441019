"""wake_word benchmark: an int8 DS-CNN trained on text-to-speech ONLY, next to MLPerf Tiny KWS.

Trains the recipe ``tinyml app=wake_word experiment=wake_word_tts_bench`` (42k espeak-ng
clips, MLPerf DS-CNN shape, MFCC 49 x 10) with ``app.real_clips`` naming a folder of REAL
Speech Commands clips, which the app scores after training - they take no part in
training, early stopping, threshold calibration or any choice of this recipe. Then
prints the comparison table (markdown) from the run's metrics.json:

* model: flash (int8 .tflite bytes), parameters, MACs, measured TFLM arena - vs the MLPerf
  Tiny reference (53,936 B, 22.6k parameters, 2.66 M MACs, ~24.3 KB arena, 90.1 % int8 on
  the 12-class Speech Commands test set);
* accuracy on the real clips, float and int8 (TFLite Micro): 10-way among the ten core
  words (arg-max over the keyword outputs) and 12-way (the other 20 words are _unknown_);
* accuracy on the synthetic test split (unseen voices) and the streaming figures (false
  accepts per hour, miss rate) on the synthetic test stream.

Usage (from the repository root)::

    python bench/wake_word_tts.py --real ../shared/data/speech_commands_v0.01_subset
    python bench/wake_word_tts.py --run-dir outputs/wake_word/tts_bench_...   # table of a finished run
    python bench/wake_word_tts.py --real ... --experiment wake_word_tts_bench_large   # run 2
    python bench/wake_word_tts.py --real ... --set trainer.epochs=5           # extra overrides

Long: ~30-40 minutes on 2 busy cores (data generation, 50 epochs, streams on TFLM).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MLPERF = {
    "accuracy_int8": 0.901,
    "flash_bytes": 53_936,
    "params": 22_600,
    "macs": 2_660_000,
    "arena_bytes": 24_300,
}


def run_recipe(real: Path, run_dir: Path, extra: list[str], experiment: str) -> float:
    cmd = [
        sys.executable, "-m", "tinyml_suite.common.cli", "app=wake_word", f"experiment={experiment}",
        f"app.real_clips={real}", f"hydra.run.dir={run_dir}", *extra,
    ]
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS", "2"),
           "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    print("running:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the recipe failed (exit {proc.returncode}); see {run_dir}")
    return time.perf_counter() - t0


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def table(m: dict, wall_s: float | None) -> str:
    f, q = m["float"], m["int8"]
    rf, rq = f.get("real_clips", {}), q.get("real_clips", {})
    sf, sq = f.get("streaming", {}), q.get("streaming", {})
    model, tflm = m["model"], m["tflm"]
    L = [
        "| | MLPerf Tiny KWS reference (int8) | ours: DS-CNN trained on TTS only (int8) |",
        "|---|---:|---:|",
        f"| flash: int8 model (.tflite bytes) | {MLPERF['flash_bytes']:,} | {model['tflite_bytes']:,} |",
        f"| parameters (batch norm folded) | 22.6k | {(model['params'] - 9 * 4 * 64) / 1000:.1f}k |",
        f"| MACs per inference | 2.66 M | {model['macs'] / 1e6:.2f} M |",
        f"| TFLM tensor arena (measured) | ~24.3 KB | {tflm['arena_min_bytes']:,} B ({tflm['arena_min_bytes'] / 1024:.1f} KiB) |",
        f"| accuracy, Speech Commands 12-class test set (4,890 clips) | {pct(MLPERF['accuracy_int8'])} | not trained on it |",
        "",
        f"Real clips: `{rf.get('root', '?')}` ({rf.get('n_clips', '?')} clips, {rf.get('n_speakers', '?')} speakers; "
        f"{rf.get('n_keyword_clips', '?')} of the ten core words).",
        "",
        "| accuracy | float | int8 (TFLM) |",
        "|---|---:|---:|",
        f"| real clips, 10-way among the core words | {pct(rf.get('keywords_accuracy'))} | {pct(rq.get('keywords_accuracy'))} |",
        f"| real clips, 12-way (other 20 words = _unknown_) | {pct(rf.get('all_accuracy'))} | {pct(rq.get('all_accuracy'))} |",
        f"| real clips, _unknown_ recall (20 other words) | {pct(rf.get('unknown_recall'))} | {pct(rq.get('unknown_recall'))} |",
        f"| synthetic test split (unseen voices, {m['data']['test']['n']} clips) | {pct(f.get('accuracy'))} | {pct(q.get('accuracy'))} |",
    ]
    if sf:
        L += [
            "",
            f"Synthetic test stream: {sf['events']} keywords in {sf['stream_hours'] * 60:.1f} min, inference every "
            f"{sf['hop_ms']:.0f} ms, smoothing {sf['smooth_windows']}, suppression {sf['suppression_windows']}, "
            f"threshold {sf['threshold']:.2f} (calibrated on the validation stream).",
            "",
            "| streaming | float | int8 (TFLM) |",
            "|---|---:|---:|",
            f"| false accepts per hour | {sf['fa_per_hour']:.0f} | {sq.get('fa_per_hour', float('nan')):.0f} |",
            f"| miss rate | {pct(sf['miss_rate'])} | {pct(sq.get('miss_rate'))} |",
        ]
    per_word = rq.get("keywords_per_word") or {}
    if per_word:
        L += ["", "Per-word 10-way accuracy on the real clips (int8): "
              + ", ".join(f"{w} {100 * v:.0f} %" for w, v in per_word.items()) + "."]
    if rq.get("top_errors"):
        L += ["", "Most frequent 12-way errors (int8, word->prediction: count): "
              + ", ".join(f"{k}: {v}" for k, v in rq["top_errors"].items()) + "."]
    t = m.get("timing", {})
    L += ["", "Stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items())
          + (f"; whole run {wall_s / 60:.1f} min wall" if wall_s else "") + "."]
    return "\n".join(L)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", type=Path, help="folder of real Speech Commands clips (evaluation only)")
    ap.add_argument("--run-dir", type=Path, default=None, help="run folder (reused if it has metrics.json)")
    ap.add_argument("--experiment", default="wake_word_tts_bench",
                    help="wake_word_tts_bench (run 1) or wake_word_tts_bench_large (run 2)")
    ap.add_argument("--set", action="append", default=[], help="extra Hydra override (repeatable)")
    args = ap.parse_args()
    run_dir = args.run_dir or Path("outputs/wake_word") / time.strftime("tts_bench_%Y-%m-%d_%H-%M-%S")
    wall = None
    if not (run_dir / "metrics.json").exists():
        if args.real is None:
            ap.error("--real is required to train (no metrics.json in --run-dir)")
        wall = run_recipe(args.real.resolve(), run_dir, args.set, args.experiment)
    m = json.loads((run_dir / "metrics.json").read_text())
    print(table(m, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
