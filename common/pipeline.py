"""The recipe: data -> features -> train -> evaluate -> optimise -> verify -> deploy -> report.

:func:`run_recipe` is the task function behind ``tinyml app=<name>``; it takes the
composed Hydra config and returns ``(metrics, context)``. Each stage is a function of a
:class:`RunContext` that returns its piece of ``metrics.json`` and leaves its objects on
the context. Stages call the app's hooks (``common/app.py``) and never branch on the
app's name. The context and ``instantiate_logged`` live in ``common/context.py``; the
deploy-side stages (optimise, verify, deploy) in ``common/stages.py``.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from tinyml_suite.common.app import App
from tinyml_suite.common.cache import read_entry, write_entry
from tinyml_suite.common.console import RUN_LOG_ONLY
from tinyml_suite.common.context import RunContext, instantiate_logged
from tinyml_suite.common.data import Dataset
from tinyml_suite.common.errors import ConfigError, TinyMLError
from tinyml_suite.common.features import FeatureExtractor
from tinyml_suite.common.io import config_hash, write_json
from tinyml_suite.common.run_folder import run_guard

__all__ = ["RunContext", "STAGES", "evaluate_predictor", "instantiate_logged", "run_recipe"]

log = logging.getLogger("tinyml")


# -- stages -------------------------------------------------------------------------


def stage_data(ctx: RunContext) -> dict[str, Any]:
    """Load or generate the dataset (cached by config hash) and check it suits the app."""
    node = ctx.cfg.dataset
    ds = instantiate_logged(node)
    if not isinstance(ds, Dataset):
        raise ConfigError(f"dataset._target_={node.get('_target_')} does not build a Dataset")
    ctx.dataset = ds
    data = ds.load()
    ctx.app.check_data(data, ds.name or str(node.get("name", "?")))
    ctx.data = data
    stats = data.stats()
    log.info(
        "Dataset %s: train %d, val %d, test %d windows of %d x %d samples at %g Hz",
        data.name, len(data.train), len(data.val), len(data.test),
        data.train.x.shape[1], data.train.x.shape[2], data.sample_rate,
    )
    return stats


def stage_features(ctx: RunContext) -> dict[str, Any]:
    """Compute model inputs for every split with the configured DSP front end."""
    from tinyml_suite.common.console import Progress

    assert ctx.data is not None
    extractor = instantiate_logged(ctx.cfg.features, sample_rate=ctx.data.sample_rate)
    if not isinstance(extractor, FeatureExtractor):
        raise ConfigError(
            f"features._target_={ctx.cfg.features.get('_target_')} does not build a FeatureExtractor"
        )
    ctx.features = extractor
    use_cache = ctx.dataset is not None and ctx.dataset.cache
    entry = f"{ctx.data.name}-{feature_cache_key(ctx, extractor)}" if use_cache else None
    cached = read_entry("features", entry) if entry else None
    if cached is not None and set(cached) == {"train", "val", "test"} and all(
        len(cached[k]) == len(getattr(ctx.data, k)) for k in cached
    ):
        ctx.X = cached
        log.info("Loaded cached features %s", entry)
    else:
        chunk = 512
        splits = {name: getattr(ctx.data, name).x for name in ("train", "val", "test")}
        bar = Progress("features", total=sum(-(-len(x) // chunk) for x in splits.values()), unit="chunk")
        for name, x in splits.items():
            parts = []
            for i in range(0, len(x), chunk):
                parts.append(extractor(x[i : i + chunk]))
                bar.update(1)
            shape = extractor.output_shape(x.shape[1:]) if not parts else None
            ctx.X[name] = (
                np.concatenate(parts).astype(np.float32)
                if parts
                else np.zeros((0, *shape), dtype=np.float32)
            )
        bar.close()
        if entry:
            write_entry("features", entry, ctx.X)
    shape = tuple(ctx.X["train"].shape[1:])
    log.info("Features %s: input shape %s", extractor.kind, shape)
    return {**extractor.describe(), "input_shape": list(shape)}


def feature_cache_key(ctx: RunContext, extractor: FeatureExtractor) -> str:
    """Key of the features of ``ctx.data``: the data itself, the features config, the code.

    The data counts by :func:`~tinyml_suite.common.cache.array_digest` of every split (so
    ``tinyml evaluate ... split=all``, which merges the splits, never reuses the features
    of the test split), the extractor by its class, its config and the
    ``IMPLEMENTATION_VERSION`` of every DSP block it uses.
    """
    from tinyml_suite.common.cache import array_digest

    assert ctx.data is not None
    try:
        params = extractor.dsp_params()
    except ConfigError:  # an extractor that learns its channel count from the data (ImuRaw)
        extractor(ctx.data.train.x[:1])
        params = extractor.dsp_params()
    blocks = [[type(p).__qualname__, getattr(p, "IMPLEMENTATION_VERSION", None)] for p in params]
    return config_hash(
        {
            "data": [array_digest([getattr(ctx.data, n).x]) for n in ("train", "val", "test")],
            "sample_rate": ctx.data.sample_rate,
            "extractor": f"{type(extractor).__module__}.{type(extractor).__qualname__}",
            "features": OmegaConf.to_container(ctx.cfg.features, resolve=True),
            "dsp_blocks": blocks,
        },
        length=16,
    )


def stage_train(ctx: RunContext) -> dict[str, Any]:
    """Build the model from config and train it (common/train.py)."""
    from tinyml_suite.common.train import build_model, train_model

    model = build_model(ctx)
    ctx.model = model
    before = ctx.app.before_training(ctx) or {}
    return {**before, **train_model(ctx)}


def evaluate_predictor(ctx: RunContext, predict: Callable[[np.ndarray], np.ndarray], variant: str) -> dict[str, Any]:
    """The app's metrics of one predictor on the test split, with its further figures."""
    assert ctx.data is not None
    result = ctx.app.evaluate(predict, ctx.X["test"], ctx.data.test, ctx)
    if ctx.app.headline not in result:
        raise TinyMLError(
            f"app={ctx.app.name} evaluate() returned no '{ctx.app.headline}' (its headline metric)"
        )
    result.update(ctx.app.extra_evaluation(predict, ctx, variant) or {})
    return result


def stage_evaluate(ctx: RunContext) -> dict[str, Any]:
    """Calibrate on validation data (unless the run is a saved one that has its calibration),
    then score the float model on the test split."""
    predict = ctx.float_predict() if ctx.app.trains_model else ctx.app.dsp_predictor(ctx)
    if ctx.state.calibration is None:
        ctx.state.calibration = ctx.app.calibrate(predict, ctx) or {}
    # saved with the run so that `tinyml evaluate` and `tinyml deploy` can reuse it
    ctx.metrics["calibration"] = ctx.state.calibration
    result = evaluate_predictor(ctx, predict, "float")
    ctx.metrics["float"] = result
    log.info("Float %s = %.4f", ctx.app.headline, result[ctx.app.headline])
    return {}


def _deploy_stage(name: str) -> Callable[[RunContext], dict[str, Any]]:
    def run(ctx: RunContext) -> dict[str, Any]:
        from tinyml_suite.common import stages

        return getattr(stages, f"stage_{name}")(ctx)

    run.__name__ = f"stage_{name}"
    run.__doc__ = f"The {name} stage (common/stages.py)."
    return run


def stage_report(ctx: RunContext) -> dict[str, Any]:
    """Write report.md and plots (common/report.py)."""
    from tinyml_suite.common.report import write_report

    return write_report(ctx)


STAGES: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "data": stage_data,
    "features": stage_features,
    "train": stage_train,
    "evaluate": stage_evaluate,
    "optimize": _deploy_stage("optimize"),
    "verify": _deploy_stage("verify"),
    "deploy": _deploy_stage("deploy"),
    "device": _deploy_stage("device"),
    "report": stage_report,
}


def _stage_available(name: str) -> bool:
    if name in ("optimize", "verify", "deploy", "device"):
        from tinyml_suite.common import stages

        return hasattr(stages, f"stage_{name}")
    return True


def run_recipe(cfg: DictConfig, run_dir: Path | None = None) -> tuple[dict[str, Any], RunContext]:
    """Run the configured stages; write ``metrics.json``; return ``(metrics, context)``."""
    from hydra.core.hydra_config import HydraConfig

    if run_dir is None:
        run_dir = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()
    from tinyml_suite.common.config import TrainerConfig, check_seed, parse_options

    # nonsense values stop here, before anything is trained or written (one line each)
    seed = check_seed(cfg.get("seed"))
    if "trainer" in cfg:
        parse_options(TrainerConfig, OmegaConf.to_container(cfg.trainer, resolve=True), where="trainer")
    if "board" in cfg:  # the deploy stage needs it at the end; its values are checked now
        from tinyml_suite.common.deploy.boards import load_board

        load_board(cfg.board)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _seed_everything(seed)

    app = instantiate_logged(cfg.app)
    if not isinstance(app, App):
        raise ConfigError(f"app._target_={cfg.app.get('_target_')} does not build an App")
    chash = config_hash(OmegaConf.to_container(cfg, resolve=False))
    ctx = RunContext(cfg=cfg, run_dir=run_dir, app=app, seed=seed, config_hash=chash)
    ctx.metrics.update(
        {
            "app": app.name,
            "board": str(cfg.board.name),
            "dataset": str(cfg.dataset.get("name", "?")),
            "seed": seed,
            "config_hash": chash,
            "headline": app.headline,
            "higher_is_better": app.higher_is_better,
            "model": {},
            "float": {},
            "int8": {},
            "tflm": {},
            "fit": {},
            "timing": {},
            "stages": {},
        }
    )
    requested = list(cfg.get("stages", STAGES))
    unknown = [s for s in requested if s not in STAGES]
    if unknown:
        raise ConfigError(f"stages={unknown} unknown; valid stages: {', '.join(STAGES)}")
    with run_guard(run_dir) as enter_stage:
        for name in STAGES:
            if name not in requested:
                ctx.metrics["stages"][name] = "skipped (not requested)"
                continue
            if not app.trains_model and name in ("train", "optimize", "verify"):
                ctx.metrics["stages"][name] = "skipped (this recipe has no trained model)"
                continue
            if not _stage_available(name):
                ctx.metrics["stages"][name] = "not available in this version"
                log.warning("Stage %s is not available in this version; skipped", name)
                continue
            log.info("== stage %s ==", name)
            enter_stage(name)
            t0 = time.perf_counter()
            piece = STAGES[name](ctx) or {}
            ctx.metrics["timing"][name] = round(time.perf_counter() - t0, 3)
            ctx.metrics["stages"][name] = "done"
            if piece:
                ctx.metrics.setdefault(name if name != "data" else "data", {}).update(piece)
        enter_stage("write metrics")
        ctx.metrics["environment"] = _environment()
        write_json(run_dir / "metrics.json", ctx.metrics)
        ctx.artifacts["metrics"] = run_dir / "metrics.json"
    log.info("Run directory: %s", run_dir, extra=RUN_LOG_ONLY)  # the summary block names it
    return ctx.metrics, ctx


def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def _environment() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for pkg in ("tinyml-suite", "tensorflow", "keras", "tflite-micro", "ai-edge-litert", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "machine": platform.machine(), **versions}
