"""Engine bench: each app's default model and the MLPerf Tiny DS-CNN compiled to C vs TFLite Micro.

For every case the real recipe runs (``tinyml <overrides> stages=[data,features,train,
evaluate,optimize,verify] hydra.run.dir=<out>/<case>``; ``--reuse`` keeps an existing
run). Its verify stage already compiles the int8 model and compares it with the TFLite
Micro runtime on every evaluation input (``metrics.json["engine"]``). From the run's
``model_int8.tflite`` this script then measures:

- sizes: the ``.tflite``; the compiled model's constants (weights, folded biases,
  multipliers) and code, built with ``arm-none-eabi-gcc -Os`` for a Cortex-M4F and linked
  with ``--gc-sections`` from ``tm_model_invoke`` (only the kernels the model calls), and
  with the host ``cc -Os``; the static arena against TFLM's measured minimum arena
  (``common/deploy/arena.py``, 1-byte bisection on the tflite-micro runtime);
- host speed, microseconds per inference on ``--n`` random int8 inputs (best of
  ``--repeats``): the tflite-micro Python runtime (``set_input``/``invoke``/``get_output``
  per example), the compiled model through ctypes (one ``tm_model_run`` per example, the
  same per-example Python loop) and the compiled model's C loop alone;
- LiteRT (``BUILTIN_REF`` reference kernels) against TFLM on the same random inputs: the
  share of inputs whose int8 outputs differ and the first differing operator.

Prints one markdown table per part. Run from the repository root:

    python bench/engine.py                       # smoke-sized training (1 epoch), all cases
    python bench/engine.py --epochs 5 --reuse    # more training; keep runs already made
    python bench/engine.py --cases wake_word gesture

The MLPerf case trains on ``../shared/data/speech_commands_v0.01_subset`` (the team's
subset of Speech Commands) and is skipped when that folder is absent. Record the tables
in docs/BENCHMARKS.md ("## Model compiler (engine)") with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
STAGES = "stages=[data,features,train,evaluate,optimize,verify]"

CASES: dict[str, list[str]] = {
    "wake_word": ["app=wake_word", "debug=smoke"],
    "gesture": ["app=gesture", "debug=smoke"],
    "vibration_anomaly": ["app=vibration_anomaly", "debug=smoke"],
    "heart_rate": ["app=heart_rate", "debug=smoke"],
    "mlperf_kws": ["experiment=mlperf_kws", "debug=smoke",
                   f"dataset.root={SHARED / 'speech_commands_v0.01_subset'}"],
}


def run_recipe(case: str, out: Path, epochs: int | None, reuse: bool) -> Path | None:
    run = out / case
    if reuse and (run / "metrics.json").exists() and (run / "model_int8.tflite").exists():
        return run
    if case == "mlperf_kws" and not (SHARED / "speech_commands_v0.01_subset").is_dir():
        print(f"[skip] {case}: {SHARED / 'speech_commands_v0.01_subset'} is absent", file=sys.stderr)
        return None
    if run.exists():
        shutil.rmtree(run)
    args = [*CASES[case], STAGES, f"hydra.run.dir={run}", "trainer.tensorboard=false"]
    if epochs:
        args.append(f"trainer.epochs={epochs}")
    cmd = [sys.executable, "-c", "import sys; from tinyml_suite.common.cli import main; sys.exit(main())", *args]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{case}: the recipe failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"[run] {case}: {time.perf_counter() - t0:.0f} s -> {run}", file=sys.stderr)
    return run


def tflm_us(model: bytes, xq: np.ndarray, arena: int, repeats: int) -> float:
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model, arena_size=arena)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(len(xq)):
            it.set_input(xq[i : i + 1], 0)
            it.invoke()
            it.get_output(0)
        best = min(best, time.perf_counter() - t0)
    return best / len(xq) * 1e6


def litert_vs_tflm(model: bytes, xq: np.ndarray, arena: int) -> tuple[int, str]:
    from tinyml_suite.common.deploy.verify import locate_divergence, run_litert, run_tflm

    a = run_tflm(model, xq, arena_size=arena).reshape(len(xq), -1)
    b = run_litert(model, xq).reshape(len(xq), -1)
    bad = np.flatnonzero((a != b).any(axis=1))
    ops = sorted({(locate_divergence(model, xq[i], arena_size=arena) or {}).get("op", "outputs only")
                  for i in bad[:5]})
    return int(bad.size), ", ".join(ops) or "-"


def measure(case: str, run: Path, n: int, repeats: int) -> dict:
    from tinyml_suite.common.deploy.engine import compile_model
    from tinyml_suite.common.deploy.engine.host import HostModel, code_size

    metrics = json.loads((run / "metrics.json").read_text())
    model = (run / "model_int8.tflite").read_bytes()
    cm = compile_model(model)
    info = cm.inputs[0]
    xq = np.random.default_rng(0).integers(-128, 128, size=(n, *info.shape[1:])).astype(np.int8)
    arm = code_size(cm, target="arm") if shutil.which("arm-none-eabi-gcc") else None
    host = code_size(cm, target="host")
    tflm_arena = int(metrics["tflm"]["arena_min_bytes"])
    hm = HostModel(cm)
    try:
        eng_py = hm.time_per_inference(xq, repeat=repeats, python_loop=True)
        eng_c = hm.time_per_inference(xq, repeat=repeats, python_loop=False)
        # the same random inputs through both runtimes: must be identical too
        from tinyml_suite.common.deploy.verify import run_tflm

        same = bool(np.array_equal(hm(xq).reshape(n, -1), run_tflm(model, xq, arena_size=4 * tflm_arena).reshape(n, -1)))
    finally:
        hm.close()
    t_tflm = tflm_us(model, xq, 4 * tflm_arena, repeats)
    lit_bad, lit_ops = litert_vs_tflm(model, xq, 4 * tflm_arena)
    eng = metrics.get("engine", {})
    const = (arm or host)["const_bytes"]
    code = (arm or host)["code_bytes"]
    return {
        "case": case,
        "ops": ", ".join(cm.ops),
        "tflite": len(model),
        "macs": cm.macs,
        "weights": cm.weights_bytes,
        "const_arm": arm["const_bytes"] if arm else None,
        "code_arm": arm["code_bytes"] if arm else None,
        "code_host": host["code_bytes"],
        "flash_ratio": (const + code) / len(model),
        "scratch": cm.scratch_bytes,
        "tflm_arena": tflm_arena,
        "scratch_ratio": cm.scratch_bytes / tflm_arena,
        "verify_n": eng.get("n_compared"),
        "verify_bad": eng.get("n_mismatched"),
        "random_same": same,
        "tflm_us": t_tflm,
        "eng_us": eng_py,
        "eng_c_us": eng_c,
        "litert_bad": lit_bad,
        "litert_ops": lit_ops,
        "n": n,
    }


def print_tables(rows: list[dict]) -> None:
    def kb(v):
        return "-" if v is None else f"{v / 1024:.1f}"

    print("\n### Sizes (bytes as KB) and bit-exactness\n")
    print("| case | ops | .tflite | constants (M4) | engine code M4 / host | flash / .tflite | scratch | "
          "TFLM arena | scratch / arena | verify: inputs, mismatches | random inputs identical |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['ops']} | {kb(r['tflite'])} | {kb(r['const_arm'])} | "
              f"{kb(r['code_arm'])} / {kb(r['code_host'])} | {r['flash_ratio']:.2f} | {kb(r['scratch'])} | "
              f"{kb(r['tflm_arena'])} | {r['scratch_ratio']:.2f} | {r['verify_n']}, {r['verify_bad']} | "
              f"{'yes' if r['random_same'] else 'NO'} ({r['n']}) |")
    print("\n### Host speed (microseconds per inference, best of the repeats)\n")
    print("| case | MACs | TFLM Python runtime | engine via ctypes | engine C loop | speed-up (ctypes) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['macs']:,} | {r['tflm_us']:.1f} | {r['eng_us']:.1f} | {r['eng_c_us']:.1f} | "
              f"{r['tflm_us'] / r['eng_us']:.1f}x |")
    print("\n### LiteRT (BUILTIN_REF) vs TFLite Micro on the same random int8 inputs\n")
    print("| case | inputs with a different output | first differing operator |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['litert_bad']} / {r['n']} ({100 * r['litert_bad'] / r['n']:.1f} %) | "
              f"{r['litert_ops']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_engine")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default: debug=smoke's 1)")
    ap.add_argument("--reuse", action="store_true", help="keep runs that already have metrics.json")
    ap.add_argument("--n", type=int, default=300, help="random int8 inputs for speed and LiteRT")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for case in args.cases:
        run = run_recipe(case, args.out, args.epochs, args.reuse)
        if run is not None:
            rows.append(measure(case, run, args.n, args.repeats))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gcc = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1] \
        if shutil.which("arm-none-eabi-gcc") else ["not installed"]
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; "
          f"Python {platform.python_version()}; arm-none-eabi-gcc: {gcc[0]}")
    print_tables(rows)


if __name__ == "__main__":
    main()
