"""``tinyml deploy``: deploy a saved run (or one of its .tflite files) to a board, no retraining.

    tinyml deploy <run_dir> board=<name> [runtime=engine|tflm] [out=<dir>] [model=<file.tflite>]
    tinyml deploy <run_dir>/model_int8.tflite board=<name> [out=<dir>]

The run directory (read by ``common/saved_run.py::load_run``) supplies the composed config
(``.hydra/config.yaml``: app, features, ...), the model (``model_int8.tflite`` unless ``model=`` names another file) and, from
``metrics.json``, the signal's shape, the labels, the MAC count and the app's calibration
(so the dataset is not reloaded; without ``metrics.json`` it is). The tensor arena is
measured again on the TFLM runtime. The project goes to ``<run_dir>/firmware/<board>/``
or ``out=<dir>``; the fit check runs first and a model that does not fit writes nothing.
``runtime=`` replaces the board's runtime (``engine``: the model compiled to C, the
default on microcontrollers; ``tflm``: TensorFlow Lite Micro).

Every user error (missing run files, unknown board, corrupt .tflite, model too big) is
one line from :mod:`tinyml_suite.common.cli` and exit status 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.saved_run import load_run

__all__ = ["main", "parse_args"]

log = logging.getLogger("tinyml")

USAGE = ("usage: tinyml deploy <run_dir | model.tflite> board=<name> [runtime=engine|tflm] [out=<dir>] "
         "[model=<file.tflite>]")


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """``{"target", "board", "out", "model", "runtime"}`` from the command line (one-line errors)."""
    args: dict[str, str] = {}
    for a in argv:
        if a in ("-h", "--help"):
            args["help"] = "1"
        elif "=" in a and not Path(a).exists():
            key, value = a.split("=", 1)
            key = key.removeprefix("+")
            if key not in ("board", "out", "model", "runtime"):
                raise ConfigError(f"tinyml deploy: unknown option '{key}'; {USAGE}")
            args[key] = value
        elif "target" in args:
            raise ConfigError(f"tinyml deploy: more than one run/model given ({args['target']}, {a}); {USAGE}")
        else:
            args["target"] = a
    if "help" not in args and "target" not in args:
        raise ConfigError(f"tinyml deploy: no run directory or .tflite given; {USAGE}")
    return args


def main(argv: Sequence[str]) -> int:
    """Entry point of ``tinyml deploy`` (called by common/cli.py); returns the exit status."""
    args = parse_args(argv)
    if "help" in args:
        print(__doc__)
        return 0
    board = args.get("board")
    if not board:
        from tinyml_suite.common.deploy.boards import board_names

        raise ConfigError(f"tinyml deploy: board=<name> is required; boards: {', '.join(board_names())}")
    from tinyml_suite.common.deploy.boards import load_board
    from tinyml_suite.common.firmware_stage import deploy

    board_cfg = load_board(board)  # unknown board: one line before any work
    if args.get("runtime"):
        import dataclasses

        from tinyml_suite.common.deploy.boards import validate_board

        board_cfg = validate_board(dataclasses.replace(board_cfg, runtime=args["runtime"]))
    ctx = load_run(args["target"], board=board, model=args.get("model"))
    # progress (arena measurement, the summary) on stderr once the run is loaded
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    out = Path(args["out"]) if args.get("out") else None
    result = deploy(ctx, board_cfg, out)
    fit, lat, fw = result["fit"], result["latency"], result["firmware"]
    est = "unknown" if lat["estimate_ms"] is None else f"~{lat['estimate_ms']:.3g} ms (estimate)"
    print(
        f"tinyml: firmware for {board_cfg.name}: {fw['path']} ({len(fw['files'])} files; flash "
        f"{fit['flash_bytes'] / 1024:.1f}/{fit['flash_budget'] / 1024:.0f} KB, RAM "
        f"{fit['ram_bytes'] / 1024:.1f}/{fit['ram_budget'] / 1024:.0f} KB; latency {est})"
    )
    return 0
