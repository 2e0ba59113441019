"""Every app's firmware on the emulated Cortex-M4F (QEMU mps2-an386): size, stack, instructions.

For each app, a run (``--runs``, or a ``debug=smoke`` run trained here into ``--work``:
smoke shrinks the data and the epochs, not the model, so the firmware is the default
recipe's) is deployed to ``board=mps2_an386`` and its check program built and run on QEMU
twice: with the engine's portable C kernels (``-DTM_ENGINE_PORTABLE``) and with the
Cortex-M4 DSP-extension paths (SXTB16/SMLAD/SMLABB, ``tm_engine_dsp.h``), both
``-O2``; both must give TFLite Micro's int8 outputs bit for bit on the raw test samples
(the device stage's comparison). The firmware is also built ``-Os`` for size. Printed,
as a markdown table per app: flash (-O2 / -Os), static RAM, stack, instructions per
inference and per MAC (portable / DSP), per front-end call, and where the model's
instructions go (conv, depthwise, fully connected kernels); then the MLPerf Tiny DS-CNN
(the wake_word model: 2,656,768 MACs) beside the published Cortex-M4 figures.

Instruction counts are QEMU's executed instructions (``-icount shift=0``, counted with
SysTick): a proxy for cycles on a Cortex-M4, not cycles. Run from the repository root
(needs arm-none-eabi-gcc, make, qemu-system-arm):

    python bench/device.py                          # trains 4 smoke runs into bench/_device_runs
    python bench/device.py --runs outputs/wake_word/<run> outputs/gesture/<run>

Record the tables in docs/BENCHMARKS.md ("## Firmware on an emulated Cortex-M4").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

APPS = ("wake_word", "gesture", "vibration_anomaly", "heart_rate")
#: MLPerf Tiny v0.5/v1.0 keyword spotting (DS-CNN) on the NUCLEO-L4R5ZI (Cortex-M4F, 120 MHz)
MLPERF_KWS = [
    ("TFLM reference kernels (MLPerf Tiny v0.5 reference)", 181.9),
    ("ST X-CUBE-AI (MLPerf Tiny v1.0, closed)", 48.0),
    ("Plumerai (MLPerf Tiny v1.0, closed)", 43.0),
]
DS_CNN_MACS = 2_656_768
#: boards whose fit check the bench also compares (built bare-metal for their core, -Os)
FIT_BOARDS = ("nucleo_l4r5zi", "nano33_ble_sense", "pico")


def train_smoke(app: str, work: Path) -> Path:
    """A debug=smoke run of the app (the default model) in work/<app>, once."""
    run = work / app
    if (run / "metrics.json").exists():
        return run
    cmd = [sys.executable, "-c", "import sys; from tinyml_suite.common.cli import main; sys.exit(main())",
           f"app={app}", "debug=smoke", "optimize.variants=[int8]", "trainer.tensorboard=false",
           "stages=[data,features,train,evaluate,optimize,verify]", f"hydra.run.dir={run}"]
    print(f"training a smoke run of {app} ...", file=sys.stderr)
    subprocess.run(cmd, check=True)
    return run


def measure(run: Path) -> dict[str, Any]:
    """Deploy a run to mps2_an386 and run its firmware on QEMU, portable and DSP kernels."""
    import shutil
    import tempfile

    from tinyml_suite.common.deploy import baremetal
    from tinyml_suite.common.deploy.boards import load_board
    from tinyml_suite.common.deploy.device import device_check
    from tinyml_suite.common.firmware_stage import deploy
    from tinyml_suite.common.pipeline import instantiate_logged
    from tinyml_suite.common.saved_run import load_run

    board = load_board("mps2_an386")
    ctx = load_run(run, board=board.name)
    ctx.data = instantiate_logged(ctx.cfg.dataset).load()  # the real test samples, not a stand-in
    ctx.state.standin_data = False
    metrics = json.loads((run / "metrics.json").read_text())
    ctx.metrics["tflm"] = metrics.get("tflm") or {}
    with tempfile.TemporaryDirectory(prefix="bench-device-") as tmp:
        project = Path(tmp) / "mps2_an386"
        deploy(ctx, board, project)
        spec, arena = ctx.state.firmware_spec, ctx.state.firmware_arena_bytes

        def events(f, o, stream):
            return ctx.app.device_events(ctx, f, o, stream)

        out = {
            "app": ctx.app.name,
            "macs": spec.macs,
            "portable": device_check(project, spec, board, arena_bytes=arena, expected_events=events,
                                     defines=("TM_ENGINE_PORTABLE",)),
            "dsp": device_check(project, spec, board, arena_bytes=arena, expected_events=events),
        }
        work = Path(tmp) / "size"
        shutil.copytree(project, work, ignore=shutil.ignore_patterns("build"))
        out["os"] = baremetal.elf_sizes(baremetal.build(work, "build/firmware.elf", opt="-Os"))
        # the fit check: the estimate against the measurement, on this board and the others
        from tinyml_suite.common.deploy.boards import measured_fit

        est = ctx.metrics["fit"]
        fits = {board.name: measured_fit(est, out["dsp"], board)}
        for name in FIT_BOARDS:
            fits[name] = deploy(ctx, name, Path(tmp) / name)["fit"]
        out["fit"] = {k: {"flash": v["flash_bytes"], "ram": v["ram_bytes"], "measured": v.get("measured", False),
                          "est_flash": (v.get("estimate") or {}).get("flash_bytes"),
                          "est_ram": (v.get("estimate") or {}).get("ram_bytes")} for k, v in fits.items()}
    return out


def _k(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024:.1f} KB"


def _m(n: float | None) -> str:
    return "-" if n is None else (f"{n / 1e6:.2f} M" if n >= 1e5 else f"{n:,.0f}")


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| app | MACs | flash -O2 / -Os | static RAM | stack | instructions / inference (portable / DSP) "
        "| instructions / MAC (portable / DSP) | front end (instructions / call) | bit-exact (portable, DSP) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p, d = r["portable"], r["dsp"]
        rows.append(
            f"| {r['app']} | {r['macs']:,} | {_k(d['flash_bytes'])} / {_k(r['os']['flash_bytes'])} | {_k(d['ram_bytes'])} "
            f"| {d['stack_bytes']:,} B | {_m(p['instructions_per_inference'])} / {_m(d['instructions_per_inference'])} "
            f"| {p['instructions_per_mac']:.2f} / {d['instructions_per_mac']:.2f} "
            f"| {_m(d['instructions_per_feature_frame'])} ({d['front_end_unit']}) "
            f"| {'yes' if p['outputs_match'] else 'NO'}, {'yes' if d['outputs_match'] else 'NO'} |"
        )
    rows += ["", "Where the model's instructions go (per inference; portable / DSP):", "",
             "| app | conv | depthwise | fully connected / pointwise | other ops |", "|---|---|---|---|---|"]
    for r in results:
        kp, kd = r["portable"]["kernel_instructions"], r["dsp"]["kernel_instructions"]
        other = [r[v]["instructions_per_inference"] - sum(r[v]["kernel_instructions"].values()) for v in ("portable", "dsp")]
        rows.append(f"| {r['app']} | " + " | ".join(f"{_m(kp[k])} / {_m(kd[k])}" for k in ("conv", "dwconv", "fc"))
                    + f" | {_m(other[0])} / {_m(other[1])} |")
    return "\n".join(rows)


def fit_table(results: list[dict[str, Any]]) -> str:
    rows = ["| app | board | flash: estimate / measured (error) | RAM: estimate / measured (error) |", "|---|---|---|---|"]
    for r in results:
        for board, f in r["fit"].items():
            if not f["measured"] or f["est_flash"] is None:
                rows.append(f"| {r['app']} | {board} | {f['flash']:,} (estimate only) | {f['ram']:,} (estimate only) |")
                continue
            ef, er = f["est_flash"] / f["flash"] - 1, f["est_ram"] / f["ram"] - 1
            rows.append(f"| {r['app']} | {board} | {f['est_flash']:,} / {f['flash']:,} ({ef:+.0%}) "
                        f"| {f['est_ram']:,} / {f['ram']:,} ({er:+.0%}) |")
    return "\n".join(rows)


def mlperf_table(ww: dict[str, Any]) -> str:
    rows = ["| DS-CNN (2.66 M MACs) on a Cortex-M4 | per inference | per MAC | at 120 MHz |", "|---|---|---|---|"]
    for name, ms in MLPERF_KWS:
        cyc = ms * 120e3
        rows.append(f"| {name} | {cyc / 1e6:.1f} M cycles | {cyc / DS_CNN_MACS:.1f} cycles | {ms:.0f} ms (measured) |")
    for v, label in (("portable", "this suite, portable C kernels"), ("dsp", "this suite, DSP-extension kernels")):
        n = ww[v]["instructions_per_inference"]
        rows.append(f"| {label} (QEMU) | {n / 1e6:.1f} M instructions | {n / ww['macs']:.2f} instructions "
                    f"| {n / 120e3:.0f} ms if one instruction took one cycle |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", nargs="*", type=Path, default=None, help="run directories (default: train smoke runs)")
    ap.add_argument("--work", type=Path, default=Path("bench/_device_runs"), help="where smoke runs are trained")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = ap.parse_args(argv)
    runs = args.runs or [train_smoke(app, args.work) for app in APPS]
    results, failed = [], []
    for r in runs:
        try:
            results.append(measure(Path(r)))
        except Exception as exc:  # report the others; say which run failed and why
            failed.append(f"{r}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    print(table(results))
    print("\nThe fit check's estimate against the measurement (mps2_an386: the firmware run on QEMU, stack "
          "measured; the others: the suite's C built bare-metal for the core at -Os + the SDK estimate, stack "
          "reserve estimated):\n")
    print(fit_table(results))
    ww = next((r for r in results if r["app"] == "wake_word"), None)
    if ww is not None:
        print()
        print(mlperf_table(ww))
    print("\nInstruction counts: QEMU -icount shift=0 (a proxy for Cortex-M4 cycles, not cycles).")
    for f in failed:
        print(f"FAILED {f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    ok = all(r["portable"]["outputs_match"] and r["dsp"]["outputs_match"] for r in results)
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
