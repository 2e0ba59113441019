"""A saved run rebuilt: the one way ``tinyml deploy`` and ``tinyml evaluate`` read a run folder.

:func:`load_run` returns a :class:`~tinyml_suite.common.context.RunContext` with the
run's config, app, seed, saved metrics (model figures, calibration, data summary) and
model files. Without ``overrides`` (``tinyml deploy``) the config is the run's own
``.hydra/config.yaml``, the int8 model is checked, and the data's shape and labels come
from ``metrics.json`` (the dataset is loaded only when it lacks them) so the feature
extractor can be built. With ``overrides`` (``tinyml evaluate``) the run's overrides are
replayed with the new ones on top, and the caller loads the new dataset.

Every problem with the folder (missing run files, corrupt ``metrics.json`` or model) is
one line: a :class:`~tinyml_suite.common.errors.DeployError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

if TYPE_CHECKING:  # pragma: no cover
    from omegaconf import DictConfig

    from tinyml_suite.common.context import RunContext

__all__ = ["load_run", "saved_metrics"]

log = logging.getLogger("tinyml")


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
            f"{run_dir} is not a tinyml run directory: .hydra/config.yaml is missing (a tinyml run writes it)"
        )
    return run_dir, model_path


def saved_metrics(run_dir: Path) -> dict[str, Any]:
    """The run's ``metrics.json`` ({} when absent); one-line DeployError when it is not JSON."""
    path = Path(run_dir) / "metrics.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DeployError(f"{path} is not valid JSON ({exc}); restore it or re-run") from None


def _replayed_config(run_dir: Path, overrides: Sequence[str]) -> DictConfig:
    """The run's overrides (``.hydra/overrides.yaml``) replayed, then ``overrides`` on top."""
    from omegaconf import OmegaConf, open_dict

    from tinyml_suite.common.cli import compose_config

    hydra_dir = run_dir / ".hydra"
    if not (hydra_dir / "overrides.yaml").exists():
        raise DeployError(f"{run_dir} is not a tinyml run directory (no .hydra/overrides.yaml)")
    saved = [str(o) for o in OmegaConf.load(hydra_dir / "overrides.yaml") if not str(o).startswith("hydra.")]
    if (hydra_dir / "hydra.yaml").exists():  # keep extra config folders (custom projects, tests)
        hydra_overrides = OmegaConf.load(hydra_dir / "hydra.yaml").hydra.overrides.get("hydra", [])
        saved += [str(o) for o in hydra_overrides if str(o).startswith("hydra.searchpath")]
    new_keys = {o.split("=", 1)[0] for o in overrides}
    replay = []
    for o in saved:
        key = o.split("=", 1)[0]
        if key in new_keys or (key.startswith("dataset.") and "dataset" in new_keys):
            continue
        replay.append(o)
    cfg = compose_config([*replay, *overrides])
    if "dataset" in new_keys:
        # A new dataset gets its own defaults plus the user's dataset.* values, not the
        # dataset.* values an experiment of the run set for its own dataset.
        keep = [o for o in replay if o.startswith(("app=", "hydra.searchpath"))]
        mine = [o for o in overrides if o.startswith("dataset")]
        clean = compose_config([*keep, *mine])
        with open_dict(cfg):
            cfg.dataset = clean.dataset
    return cfg


def _restore_data(ctx: RunContext, saved: dict[str, Any]) -> None:
    """The data's shape and labels from the saved summary (else load the dataset), then the features."""
    from tinyml_suite.common.context import instantiate_logged
    from tinyml_suite.common.data import DataSplits, Split

    data_info = saved.get("data") or {}
    if all(k in data_info for k in ("sample_rate", "channels", "window_samples")):
        c, w = len(data_info["channels"]), int(data_info["window_samples"])
        one = Split(np.zeros((1, c, w), dtype=np.float32), np.zeros(1, dtype=np.int64))
        ctx.data = DataSplits(
            one, one, one, float(data_info["sample_rate"]), tuple(data_info["channels"]),
            str(data_info.get("task") or ctx.app.task), tuple(data_info.get("labels") or ()),
            str(data_info.get("name") or ""),
        )
        ctx.state.standin_data = True  # shapes and labels only: check vectors use noise
    else:
        log.info("metrics.json lacks the data summary; loading the dataset to learn its shape")
        ds = instantiate_logged(ctx.cfg.dataset)
        ctx.dataset = ds
        ctx.data = ds.load()
    ctx.features = instantiate_logged(ctx.cfg.features, sample_rate=ctx.data.sample_rate)


def load_run(
    target: str | Path,
    *,
    board: Any = None,
    model: str | None = None,
    overrides: Sequence[str] | None = None,
) -> RunContext:
    """Rebuild a :class:`~tinyml_suite.common.context.RunContext` from a saved run.

    Parameters
    ----------
    target : str or Path
        The run directory, or a ``.tflite`` file inside it.
    board : str, optional
        A board name that replaces the run's board in the config.
    model : str, optional
        Another ``.tflite`` file to deploy instead of the run's ``model_int8.tflite``.
    overrides : sequence of str, optional
        ``tinyml evaluate``: replay the run's overrides with these on top; the int8
        model is then optional and no data is loaded (the caller runs the data stage).

    Returns
    -------
    RunContext
        ``ctx.state.saved_metrics`` holds the run's ``metrics.json``,
        ``ctx.state.calibration`` its calibration; ``ctx.artifacts`` names the
        ``keras`` and ``tflite_int8`` model files that exist.
    """
    from omegaconf import OmegaConf, open_dict

    from tinyml_suite.common.app import App
    from tinyml_suite.common.context import RunContext, instantiate_logged
    from tinyml_suite.common.deploy.boards import load_board
    from tinyml_suite.common.deploy.tflite_ops import parse_model
    from tinyml_suite.common.io import config_hash
    from tinyml_suite.common.registry import import_plugins
    from tinyml_suite.common.run_folder import check_run

    import_plugins()
    run_dir, model_path = _run_dir_and_model(Path(target), model)
    # a run that did not finish, or whose files changed since, is refused in one line
    inside = model_path.parent.resolve() == run_dir.resolve()
    check_run(run_dir, purpose="tinyml deploy" if overrides is None else "tinyml evaluate",
              need=("metrics.json", "model.keras", *((model_path.name,) if inside else ())))
    if overrides is None:
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    else:
        cfg = _replayed_config(run_dir, overrides)
    if board is not None:
        b = load_board(board)
        with open_dict(cfg):
            cfg.board = OmegaConf.create(b.__dict__)
    app = instantiate_logged(cfg.app)
    if not isinstance(app, App):
        raise ConfigError(f"app._target_={cfg.app.get('_target_')} does not build an App")
    if app.trains_model and overrides is None:
        if not model_path.exists():
            raise DeployError(f"{model_path} is missing; the run has no int8 model (did its optimize stage run?)")
        parse_model(model_path.read_bytes(), what=str(model_path))
    saved = saved_metrics(run_dir)
    ctx = RunContext(
        cfg=cfg, run_dir=run_dir, app=app, seed=int(cfg.get("seed", 0)),
        config_hash=config_hash(OmegaConf.to_container(cfg, resolve=False)),
    )
    ctx.state.saved_metrics = saved
    ctx.metrics["model"] = dict(saved.get("model") or {})
    if app.trains_model:
        if (run_dir / "model.keras").exists():
            ctx.artifacts["keras"] = run_dir / "model.keras"
        if model_path.exists():
            ctx.artifacts["tflite_int8"] = model_path
        if model_path.resolve() != (run_dir / "model_int8.tflite").resolve():
            ctx.metrics["model"].pop("macs", None)  # another model: count its MACs again
    ctx.state.calibration = dict(
        (saved.get("firmware") or {}).get("calibration") or saved.get("calibration") or {}
    )
    if overrides is None:
        _restore_data(ctx, saved)
    return ctx
