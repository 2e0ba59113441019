"""``tinyml validate`` and ``tinyml capture``: a run's model on a board, a board's sensor to disk.

    tinyml validate <run_dir> --port PORT [--n 20] [--inputs model|windows] [--repeats 1]
    tinyml capture --port PORT --label NAME [--seconds 1] [--count 1] [--out DIR] [--layout L]

Both talk to firmware that speaks the suite's serial line protocol (docs/boards.md;
``build/serial.elf`` of a ``board=mps2_an386`` project, run on QEMU with ``make serial``
and reached as ``--port socket://127.0.0.1:5555``; a real board's serial device path).

``validate`` streams test inputs of the run to the device, as MLPerf Tiny's runner does,
and compares the int8 outputs with the host's (the TFLite Micro runtime on the same
int8 input: they must be equal bit for bit). ``--inputs model`` (the default) sends the
int8 model inputs the host computed; ``--inputs windows`` sends the raw sensor windows,
so that the device's front end and quantisation run too (its int8 input is then
compared within 1 LSB and the model on the device's own input). It prints per-inference
device time and, where the board counts them, instructions (a proxy for cycles), and
writes ``<run_dir>/validate.json``. Exit status 0 when everything matches, 1 when not.

``capture`` records ``--seconds`` of the board's sensor ``--count`` times into the folder
layout the app's own-data loader reads (``App.custom_dataset``: WAV folders for
wake_word, IMU CSV for gesture, ...; :mod:`tinyml_suite.datasets.layouts`), under
``--out`` (default ``data/captured/<app>``), one file per recording.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

__all__ = ["capture", "main_capture", "main_validate", "validate"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line through the CLI, exit status 2
        raise ConfigError(f"{self.prog}: {message}; {' '.join(self.format_usage().split())}")


def _validate_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tinyml validate", description="Compare a device's int8 outputs with the host's on a run's test inputs.")
    p.add_argument("run_dir", type=Path, help="a tinyml run directory (model_int8.tflite, .hydra/)")
    p.add_argument("--port", required=True, help="serial device or pyserial URL, e.g. socket://127.0.0.1:5555")
    p.add_argument("--n", type=int, default=20, help="test inputs to stream (evenly spaced over the test split)")
    p.add_argument("--inputs", choices=("model", "windows"), default="model",
                   help="send int8 model inputs (default) or raw sensor windows (the device's front end runs too)")
    p.add_argument("--repeats", type=int, default=1, help="inferences per input for the timing (1..1000)")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each reply line")
    return p


def _capture_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tinyml capture", description="Record a board's sensor into a dataset folder.")
    p.add_argument("--port", required=True, help="serial device or pyserial URL, e.g. socket://127.0.0.1:5555")
    p.add_argument("--label", required=True, help="class label of the recordings (the folder name)")
    p.add_argument("--seconds", type=float, default=1.0, help="length of each recording")
    p.add_argument("--count", type=int, default=1, help="recordings to make")
    p.add_argument("--out", type=Path, default=None, help="dataset folder (default data/captured/<app>)")
    p.add_argument("--layout", default=None, help="folder layout (default: the app's own-data loader)")
    p.add_argument("--name", default=None, help="file name stem (default <label>_<time>_<i>)")
    p.add_argument("--baud", type=int, default=115200)
    return p


# -- validate ----------------------------------------------------------------------------------


def _test_inputs(run_dir: Path, n: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(ctx, raw test windows, float features)`` of ``n`` evenly spaced test examples."""
    from tinyml_suite.common.pipeline import instantiate_logged
    from tinyml_suite.common.saved_run import load_run

    ctx = load_run(run_dir)
    if not ctx.app.trains_model:
        raise ConfigError(f"{run_dir} is a DSP-only recipe (no model): nothing to validate")
    data = instantiate_logged(ctx.cfg.dataset).load()
    test = data.test if len(data.test) else data.val
    if len(test) == 0:
        raise DeployError(f"the dataset of {run_dir} has no test or validation windows to stream")
    idx = np.unique(np.linspace(0, len(test) - 1, max(1, min(int(n), len(test)))).round().astype(int))
    windows = test.x[idx].astype(np.float32)
    return ctx, windows, np.asarray(ctx.features(windows), np.float32)


def _check_device(link: Any, ctx: Any, info_in: Any, info_out: Any, n_features: int, n_outputs: int) -> dict[str, Any]:
    name = link.name()
    info = link.read_info()
    if name.get("app") != ctx.app.name:
        raise DeployError(f"the device runs app={name.get('app')}, the run is app={ctx.app.name}: flash this run's firmware")
    if info.get("features") != n_features or info.get("outputs") != n_outputs:
        raise DeployError(
            f"the device's model takes {info.get('features')} inputs and gives {info.get('outputs')} outputs; the run's "
            f"takes {n_features} and gives {n_outputs}: flash this run's firmware"
        )
    if (abs(float(info.get("in_scale", 0)) - info_in.scale) > 1e-6 * info_in.scale or info.get("in_zp") != info_in.zero_point
            or abs(float(info.get("out_scale", 0)) - info_out.scale) > 1e-6 * info_out.scale
            or info.get("out_zp") != info_out.zero_point):
        raise DeployError("the device's model has other quantisation parameters than the run's: flash this run's firmware")
    return {**name, **info}


def validate(run_dir: str | Path, port: str, *, n: int = 20, inputs: str = "model", repeats: int = 1,
             baudrate: int = 115200, timeout: float = 60.0, log: Any = print) -> dict[str, Any]:
    """Stream ``n`` test inputs of a run to the device on ``port``; compare; return the summary."""
    from tinyml_suite.common.deploy.arena import measure_arena
    from tinyml_suite.common.deploy.serial_link import DeviceLink
    from tinyml_suite.common.deploy.verify import io_info, quantize_input, run_tflm
    from tinyml_suite.common.io import write_json

    run_dir = Path(run_dir)
    if not 1 <= int(repeats) <= 1000:
        raise ConfigError(f"--repeats={repeats} must be in 1..1000")
    ctx, windows, feats = _test_inputs(run_dir, n)
    model = (run_dir / "model_int8.tflite").read_bytes()
    info_in, info_out = io_info(model)
    arena = int((json.loads((run_dir / "metrics.json").read_text()).get("tflm") or {}).get("arena_bytes") or 0) \
        if (run_dir / "metrics.json").exists() else 0
    arena = arena or measure_arena(model).with_margin_bytes
    q_host = quantize_input(feats, info_in.scale, info_in.zero_point).reshape(len(feats), -1)
    k_out = int(np.prod(info_out.shape[1:]))
    with DeviceLink(port, baudrate=baudrate, timeout=timeout) as link:
        device = _check_device(link, ctx, info_in, info_out, q_host.shape[1], k_out)
        rows = []
        for j in range(len(q_host)):
            if inputs == "model":
                r = link.infer_input(q_host[j], repeats=repeats)
                q_dev = q_host[j]
            else:
                r = link.infer_window(windows[j], repeats=repeats)
                q_dev = r.input_q if r.input_q is not None else np.zeros(0, np.int8)
            host = np.asarray(run_tflm(model, q_dev.reshape(1, *info_in.shape[1:]), arena_size=arena)).reshape(-1)
            rows.append({
                "equal": bool(np.array_equal(host.astype(np.int8), r.output_q)),
                "max_abs_diff": int(np.abs(host.astype(int) - r.output_q.astype(int)).max()) if r.output_q.size else None,
                "input_lsb_diff": int(np.abs(q_dev.astype(int) - q_host[j].astype(int)).max()),
                "us": r.us,
                "instructions": r.instructions,
            })
            log(f"input {j + 1}/{len(q_host)}: outputs {'equal' if rows[-1]['equal'] else 'DIFFER'}, "
                f"{r.us} us" + (f", {r.instructions} instructions" if r.instructions is not None else ""))
    instr = [r["instructions"] for r in rows if r["instructions"] is not None]
    summary = {
        "port": port,
        "device": device,
        "inputs": inputs,
        "n": len(rows),
        "n_equal": sum(r["equal"] for r in rows),
        "all_equal": all(r["equal"] for r in rows) and (inputs == "model" or all(r["input_lsb_diff"] <= 1 for r in rows)),
        "max_input_lsb_diff": max(r["input_lsb_diff"] for r in rows),
        "us_per_inference_median": float(np.median([r["us"] for r in rows])),
        "instructions_per_inference_median": float(np.median(instr)) if instr else None,
        "instructions_note": "executed instructions counted by the board (on QEMU: -icount), a proxy for cycles",
        "repeats": int(repeats),
        "rows": rows,
    }
    write_json(run_dir / "validate.json", summary)
    return summary


def main_validate(argv: Sequence[str]) -> int:
    """Entry point of ``tinyml validate``."""
    args = _validate_parser().parse_args(list(argv))
    s = validate(args.run_dir, args.port, n=args.n, inputs=args.inputs, repeats=args.repeats, baudrate=args.baud,
                 timeout=args.timeout, log=lambda m: print(m, file=sys.stderr))
    instr = s["instructions_per_inference_median"]
    print(
        f"tinyml validate: {s['n_equal']}/{s['n']} inputs give the host's int8 outputs on {s['device'].get('app')} "
        f"({args.port}); median {s['us_per_inference_median']:.0f} us per inference"
        + (f", {instr:.0f} instructions (a proxy for cycles)" if instr is not None else "")
        + f"; details in {Path(args.run_dir) / 'validate.json'}"
    )
    return 0 if s["all_equal"] else 1


# -- capture ------------------------------------------------------------------------------------


def _app_layout(app: str) -> str:
    """The own-data loader (``App.custom_dataset``) of an app, from its packaged config."""
    import importlib
    from importlib import resources

    from omegaconf import OmegaConf

    path = resources.files("tinyml_suite.conf") / "app" / f"{app}.yaml"
    try:
        target = str(OmegaConf.create(path.read_text()).app._target_)
    except (FileNotFoundError, OSError):
        raise ConfigError(f"the device runs app={app}, which this installation does not know; pass --layout") from None
    module, _, cls = target.rpartition(".")
    layout = getattr(getattr(importlib.import_module(module), cls), "custom_dataset", "")
    if not layout:
        raise ConfigError(f"app={app} names no own-data loader (custom_dataset); pass --layout")
    return str(layout)


def capture(port: str, label: str, *, seconds: float = 1.0, count: int = 1, out: str | Path | None = None,
            layout: str | None = None, name: str | None = None, baudrate: int = 115200,
            log: Any = print) -> list[Path]:
    """Record ``count`` recordings of ``seconds`` from the device's sensor; the files written."""
    from tinyml_suite.common.deploy.serial_link import DeviceLink
    from tinyml_suite.datasets.layouts import LAYOUTS, channel_names, write_recording

    if seconds <= 0 or count < 1:
        raise ConfigError(f"--seconds={seconds} must be > 0 and --count={count} >= 1")
    if layout is not None and layout not in LAYOUTS:
        raise ConfigError(f"--layout={layout} unknown; valid: {', '.join(LAYOUTS)}")
    paths = []
    with DeviceLink(port, baudrate=baudrate) as link:
        app = link.name().get("app", "")
        info = link.read_info()
        layout = layout or _app_layout(app)
        channel_names(layout, int(info["channels"]))  # refuse a layout that cannot hold the channels
        root = Path(out) if out is not None else Path("data") / "captured" / app
        frames = max(1, int(round(seconds * float(info["rate"]))))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for i in range(int(count)):
            samples, rate = link.capture(frames, timeout=max(60.0, 10.0 * seconds))
            stem = name if (name and count == 1) else f"{name or label + '_' + stamp}_{i}"
            paths.append(write_recording(layout, root, label, stem, samples, rate))
            log(f"recording {i + 1}/{count}: {frames} frames x {samples.shape[0]} channel(s) at {rate:g} Hz -> {paths[-1]}")
    return paths


def main_capture(argv: Sequence[str]) -> int:
    """Entry point of ``tinyml capture``."""
    args = _capture_parser().parse_args(list(argv))
    paths = capture(args.port, args.label, seconds=args.seconds, count=args.count, out=args.out, layout=args.layout,
                    name=args.name, baudrate=args.baud, log=lambda m: print(m, file=sys.stderr))
    print(f"tinyml capture: {len(paths)} recording(s) under {paths[0].parent if paths else args.out}")
    return 0
