"""The firmware stage of the recipe: a :class:`FirmwareSpec` gathered from a run, built for a board.

:func:`spec_from_context` collects one
:class:`~tinyml_suite.common.deploy.firmware.FirmwareSpec` from a
:class:`~tinyml_suite.common.context.RunContext` (a live run, or a saved run rebuilt by
:func:`~tinyml_suite.common.saved_run.load_run`): the model bytes and its int8 I/O, the
measured arena, the signal (rate, channels, window, hop), the feature extractor, the
app's firmware context and calibration. :func:`deploy` hands it to the deploy library
(:func:`~tinyml_suite.common.deploy.firmware.build_firmware`) and records the result
in the run's metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.deploy.firmware import FirmwareSpec
from tinyml_suite.common.errors import DeployError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.context import RunContext

__all__ = ["deploy", "spec_from_context"]

log = logging.getLogger(__name__)


def _guess_sensor(channels: int, rate: float) -> str:
    if channels == 1 and rate >= 4000:
        return "audio"
    if channels in (3, 6, 9):
        return "imu"
    return "adc"


def _model_bytes(ctx: RunContext) -> bytes | None:
    if not ctx.app.trains_model:
        return None
    path = ctx.artifacts.get("tflite_int8") or ctx.run_dir / "model_int8.tflite"
    path = Path(path)
    if not path.exists():
        raise DeployError(
            f"no int8 model at {path}; run the optimize stage first (stages=[...,optimize,verify,deploy])"
        )
    data = path.read_bytes()
    from tinyml_suite.common.deploy.tflite_ops import parse_model

    parse_model(data, what=str(path))
    return data


def _arena(ctx: RunContext, model_bytes: bytes | None, margin: float) -> tuple[int, str]:
    """Measured minimum arena and how it was measured (reuse the verify stage's figure)."""
    if model_bytes is None:
        return 0, "no model"
    how = (
        "Measured with the tflite-micro Python runtime on the host: the smallest arena with which "
        "AllocateTensors and Invoke succeed, found by bisection in child processes "
        "(common/deploy/arena.py)."
    )
    result = ctx.state.arena
    if result is not None:
        return int(result.min_bytes), how
    value = (ctx.metrics.get("tflm") or {}).get("arena_min_bytes")
    if isinstance(value, (int, np.integer)) and value > 0:
        return int(value), how
    from tinyml_suite.common.deploy.arena import measure_arena

    log.info("Measuring the TFLM tensor arena")
    res = measure_arena(model_bytes, margin=margin)
    ctx.state.arena = res
    return int(res.min_bytes), how


def spec_from_context(ctx: RunContext, *, check_windows: int = 3) -> FirmwareSpec:
    """Collect the firmware's inputs from a run context (see the module docstring)."""
    if ctx.data is None or ctx.features is None:
        raise DeployError("deploy needs the data and features stages (or a saved run for `tinyml deploy`)")
    data = ctx.data
    extractor = ctx.features
    channels = len(data.channels)
    window = int(data.train.x.shape[-1])
    rate = float(data.sample_rate)
    fctx = dict(ctx.app.firmware_context(ctx) or {})
    hop = fctx.get("hop_samples")
    if hop is None and fctx.get("hop_s") is not None:
        hop = round(float(fctx["hop_s"]) * rate)
    hop = int(hop) if hop is not None else max(window // 2, 1)
    if not 1 <= hop <= window:
        raise DeployError(
            f"app={ctx.app.name} firmware hop_samples={hop} must be in [1, {window}] (the window); "
            "fix App.firmware_context"
        )
    model_bytes = _model_bytes(ctx)
    board_margin = float(ctx.cfg.board.get("arena_margin", 0.1)) if "board" in ctx.cfg else 0.1
    arena_used, how = _arena(ctx, model_bytes, board_margin)
    feat_shape = tuple(int(d) for d in extractor.output_shape((channels, window)))
    in_scale, in_zp, out_scale, out_zp = 1.0, 0, 1.0, 0
    out_shape: tuple[int, ...] = ()
    macs = None
    ops: tuple[str, ...] = ()
    if model_bytes is not None:
        from tinyml_suite.common.deploy.macs import tflite_macs
        from tinyml_suite.common.deploy.tflite_ops import model_ops
        from tinyml_suite.common.deploy.verify import io_info

        info_in, info_out = io_info(model_bytes)
        if info_in.dtype != "int8" or info_out.dtype != "int8":
            raise DeployError(
                f"the firmware needs int8 input and output; the model has {info_in.dtype} in and "
                f"{info_out.dtype} out - deploy the int8 variant (model_int8.tflite)"
            )
        if tuple(info_in.shape[1:]) != feat_shape:
            raise DeployError(
                f"model input shape {tuple(info_in.shape[1:])} differs from the features' shape {feat_shape}; "
                "the model and the feature config do not belong together"
            )
        in_scale, in_zp = float(info_in.scale), int(info_in.zero_point)
        out_scale, out_zp = float(info_out.scale), int(info_out.zero_point)
        out_shape = tuple(int(d) for d in info_out.shape[1:])
        macs = (ctx.metrics.get("model") or {}).get("macs")
        if macs is None:
            macs = tflite_macs(model_bytes)["macs"]
        ops = tuple(model_ops(model_bytes))
    scratch = getattr(extractor, "c_scratch_bytes", None)
    scratch_bytes = int(scratch()) if callable(scratch) else 0
    # a stream of real test windows when the run has them, else seeded noise
    stream, source = _check_stream(ctx, check_windows, channels, window)
    return FirmwareSpec(
        app=ctx.app.name,
        task=ctx.app.task,
        labels=tuple(str(x) for x in (fctx.get("labels") or data.labels or ())),
        sample_rate=rate,
        channels=channels,
        window_samples=window,
        hop_samples=hop,
        feature_kind=str(extractor.kind or type(extractor).__name__),
        input_shape=feat_shape,
        output_shape=out_shape,
        config_hash=ctx.config_hash,
        extractor=extractor,
        model_bytes=model_bytes,
        input_scale=in_scale,
        input_zero_point=in_zp,
        output_scale=out_scale,
        output_zero_point=out_zp,
        arena_used=arena_used,
        arena_how=how,
        macs=None if macs is None else int(macs),
        ops=ops,
        firmware_context=fctx,
        calibration=dict(ctx.state.calibration or {}),
        app_buffers=int(ctx.app.app_buffers_bytes(ctx) or 0),
        scratch_bytes=scratch_bytes,
        sensor=str(fctx.get("sensor") or _guess_sensor(channels, rate)),
        firmware_main=str(getattr(ctx.app, "firmware_main", "") or ""),
        firmware_hooks=str(getattr(ctx.app, "firmware_hooks", "") or ""),
        check_stream=stream,
        check_source=source,
        engine_verified=_engine_verified(ctx, model_bytes),
    )


def _engine_verified(ctx: RunContext, model_bytes: bytes | None) -> bool | None:
    """Whether the verify stage found the compiled model identical to TFLM for THIS model.

    The live run's ``metrics["engine"]`` or the saved run's, if its ``model_sha256`` is
    the model being deployed; None when no run verified it (the deploy step checks it).
    """
    if model_bytes is None:
        return None
    import hashlib

    block = ctx.metrics.get("engine") or (ctx.state.saved_metrics or {}).get("engine") or {}
    if block.get("model_sha256") != hashlib.sha256(model_bytes).hexdigest():
        return None
    value = block.get("matches_tflm")
    return None if value is None else bool(value)


def _check_stream(ctx: RunContext, n_windows: int, channels: int, window: int) -> tuple[np.ndarray, str]:
    data = ctx.data
    if not ctx.state.standin_data and data is not None and len(data.test) > 0:
        idx = np.unique(np.linspace(0, len(data.test) - 1, max(n_windows, 1)).round().astype(int))
        x = data.test.x[idx].astype(np.float32)
        return np.concatenate(list(x), axis=-1), (
            f"{len(x)} test windows of the run (indices {idx.tolist()}), back to back"
        )
    rng = np.random.default_rng([ctx.seed, 7])
    stream = (0.3 * rng.standard_normal((channels, window * n_windows))).astype(np.float32)
    return stream, f"seeded Gaussian noise (std 0.3, seed {ctx.seed}): the run's data was not loaded"


def deploy(ctx: RunContext, board: Any = None, out_dir: Path | None = None) -> dict[str, Any]:
    """Fit check, latency estimate, C generation and project rendering for one board.

    ``board`` defaults to ``ctx.cfg.board``; ``out_dir`` to ``<run_dir>/firmware/<board>``.
    Nothing is written when the model does not fit (:class:`FitError`) or anything else
    fails. Returns ``{"fit", "latency", "firmware"}`` (also stored in ``ctx.metrics``).
    """
    from omegaconf import OmegaConf

    from tinyml_suite.common.deploy.boards import load_board
    from tinyml_suite.common.deploy.firmware import build_firmware
    from tinyml_suite.common.deploy.templates import templates_root

    board = load_board(board if board is not None else ctx.cfg.board)
    if not (templates_root() / "boards" / board.template).is_dir():
        raise DeployError(f"firmware_templates/boards/{board.template}/ (board {board.name}) is missing from the installation")
    spec = spec_from_context(ctx)
    out = Path(out_dir) if out_dir is not None else ctx.run_dir / "firmware" / board.name
    features_config = OmegaConf.to_container(ctx.cfg.features, resolve=True) if "features" in ctx.cfg else {}
    result = build_firmware(spec, board, out, features_config=features_config)
    ctx.metrics["fit"] = result["fit"]
    ctx.metrics["latency"] = result["latency"]
    ctx.metrics["firmware"] = result["firmware"]
    ctx.state.firmware_spec = spec  # for the device stage
    ctx.state.firmware_arena_bytes = result["arena_bytes"]
    return result
