"""``tinyml deploy``: deploy a saved run (or one of its .tflite files) to a board, no retraining.

    tinyml deploy <run_dir> board=<name> [out=<dir>] [model=<file.tflite>]
    tinyml deploy <run_dir>/model_int8.tflite board=<name> [out=<dir>]

The run directory supplies the composed config (``.hydra/config.yaml``: app, features,
...), the model (``model_int8.tflite`` unless ``model=`` names another file) and, from
``metrics.json``, the signal's shape, the labels, the MAC count and the app's calibration
(so the dataset is not reloaded; without ``metrics.json`` it is). The tensor arena is
measured again on the TFLM runtime. The project goes to ``<run_dir>/firmware/<board>/``
or ``out=<dir>``; the fit check runs first and a model that does not fit writes nothing.

Every user error (missing run files, unknown board, corrupt .tflite, model too big) is
one line from :mod:`tinyml_suite.common.cli` and exit status 2.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

__all__ = ["load_run", "main", "parse_args"]

log = logging.getLogger("tinyml")

USAGE = "usage: tinyml deploy <run_dir | model.tflite> board=<name> [out=<dir>] [model=<file.tflite>]"


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """``{"target", "board", "out", "model"}`` from the command line (one-line errors)."""
    args: dict[str, str] = {}
    for a in argv:
        if a in ("-h", "--help"):
            args["help"] = "1"
        elif "=" in a and not Path(a).exists():
            key, value = a.split("=", 1)
            key = key.removeprefix("+")
            if key not in ("board", "out", "model"):
                raise ConfigError(f"tinyml deploy: unknown option '{key}'; {USAGE}")
            args[key] = value
        elif "target" in args:
            raise ConfigError(f"tinyml deploy: more than one run/model given ({args['target']}, {a}); {USAGE}")
        else:
            args["target"] = a
    if "help" not in args and "target" not in args:
        raise ConfigError(f"tinyml deploy: no run directory or .tflite given; {USAGE}")
    return args


def _run_dir_and_model(target: Path, model: str | None) -> tuple[Path, Path]:
    if target.suffix == ".tflite" or target.is_file():
        if not target.exists():
            raise DeployError(f"{target} does not exist; give a run directory or its model_int8.tflite")
        run_dir = target.parent
        model_path = target
        if not (run_dir / ".hydra" / "config.yaml").exists():
            raise DeployError(
                f"no run config next to {target} ({run_dir}/.hydra/config.yaml); the features and app "
                f"come from the run: use tinyml deploy <run_dir> model={target}"
            )
    else:
        run_dir = target
        if not run_dir.is_dir():
            raise DeployError(f"run directory {run_dir} does not exist")
        model_path = Path(model) if model else run_dir / "model_int8.tflite"
    if not (run_dir / ".hydra" / "config.yaml").exists():
        raise DeployError(
            f"{run_dir} is not a run directory: .hydra/config.yaml is missing (a tinyml run writes it)"
        )
    return run_dir, model_path


def load_run(target: str | Path, *, board: Any = None, model: str | None = None):
    """Rebuild a :class:`~tinyml_suite.common.pipeline.RunContext` from a saved run.

    ``board`` (a name) replaces the run's board in the config. The model file is checked
    (one-line :class:`DeployError` when missing or not a .tflite flatbuffer).
    """
    from omegaconf import OmegaConf, open_dict

    from tinyml_suite.common.app import App
    from tinyml_suite.common.config import import_plugins
    from tinyml_suite.common.data import DataSplits, Split
    from tinyml_suite.common.deploy.boards import load_board
    from tinyml_suite.common.deploy.tflite_ops import parse_model
    from tinyml_suite.common.io import config_hash
    from tinyml_suite.common.pipeline import RunContext, instantiate_logged
    from tinyml_suite.common.runs import check_run

    import_plugins()
    run_dir, model_path = _run_dir_and_model(Path(target), model)
    inside = model_path.parent.resolve() == run_dir.resolve()
    check_run(run_dir, purpose="tinyml deploy", need=("metrics.json", *((model_path.name,) if inside else ())))
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    if board is not None:
        b = load_board(board)
        with open_dict(cfg):
            cfg.board = OmegaConf.create(b.__dict__)
    trains = True
    app = instantiate_logged(cfg.app)
    if not isinstance(app, App):
        raise ConfigError(f"app._target_={cfg.app.get('_target_')} does not build an App")
    trains = app.trains_model
    if trains:
        if not model_path.exists():
            raise DeployError(f"{model_path} is missing; the run has no int8 model (did its optimize stage run?)")
        parse_model(model_path.read_bytes(), what=str(model_path))
    metrics: dict[str, Any] = {}
    if (run_dir / "metrics.json").exists():
        try:
            metrics = json.loads((run_dir / "metrics.json").read_text())
        except json.JSONDecodeError as exc:
            raise DeployError(f"{run_dir}/metrics.json is not valid JSON ({exc}); restore it or re-run") from None
    seed = int(cfg.get("seed", 0))
    ctx = RunContext(
        cfg=cfg, run_dir=run_dir, app=app, seed=seed,
        config_hash=config_hash(OmegaConf.to_container(cfg, resolve=False)),
    )
    ctx.metrics["model"] = dict(metrics.get("model") or {})
    if trains:
        ctx.artifacts["tflite_int8"] = model_path
        if model_path.resolve() != (run_dir / "model_int8.tflite").resolve():
            ctx.metrics["model"].pop("macs", None)  # another model: count its MACs again
    ctx.state["calibration"] = dict(
        (metrics.get("firmware") or {}).get("calibration") or metrics.get("calibration") or {}
    )
    data_info = metrics.get("data") or {}
    if all(k in data_info for k in ("sample_rate", "channels", "window_samples")):
        c, w = len(data_info["channels"]), int(data_info["window_samples"])
        one = Split(np.zeros((1, c, w), dtype=np.float32), np.zeros(1, dtype=np.int64))
        ctx.data = DataSplits(
            one, one, one, float(data_info["sample_rate"]), tuple(data_info["channels"]),
            str(data_info.get("task") or app.task), tuple(data_info.get("labels") or ()),
            str(data_info.get("name") or ""),
        )
        ctx.state["standin_data"] = True  # shapes and labels only: check vectors use noise
    else:
        log.info("metrics.json lacks the data summary; loading the dataset to learn its shape")
        ds = instantiate_logged(cfg.dataset)
        ctx.dataset = ds
        ctx.data = ds.load()
    ctx.features = instantiate_logged(cfg.features, sample_rate=ctx.data.sample_rate)
    return ctx


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
    from tinyml_suite.common.deploy.firmware import deploy

    board_cfg = load_board(board)  # unknown board: one line before any work
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
