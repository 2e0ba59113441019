"""What the firmware needs, gathered from a run, and the C/C++ sources generated from it.

:func:`spec_from_context` collects one :class:`FirmwareSpec` from a
:class:`~tinyml_suite.common.pipeline.RunContext` (a live run, or a saved run rebuilt by
``tinyml deploy``): the model bytes and its int8 I/O, the measured arena, the signal
(rate, channels, window, hop), the feature extractor, the app's firmware context and
calibration. :func:`generate_sources` turns it into the generated files of a board
project, all through :mod:`tinyml_suite.common.deploy.cgen`.

:func:`check_vectors` runs the Python pipeline (numpy features, the suite's int8
quantisation, the TFLM runtime) on a stream of samples at the firmware's window/hop
positions; the host project's ``make check`` and the suite's tests compare the C code
with it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.errors import DeployError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = [
    "FirmwareSpec",
    "check_vectors",
    "check_vectors_text",
    "device_stream",
    "dsp_defines",
    "feature_sources",
    "generate_sources",
    "spec_from_context",
    "templates_root",
]

log = logging.getLogger(__name__)

_FEATURES_IMPL = re.compile(r"^\s*int\s+tm_features_compute\s*\(", re.MULTILINE)


def templates_root() -> Path:
    """The ``firmware_templates`` folder of the installed package."""
    return Path(str(resources.files("tinyml_suite.firmware_templates")))


@dataclasses.dataclass
class FirmwareSpec:
    """Everything the firmware generators need; plain data (plus the extractor)."""

    app: str
    task: str
    labels: tuple[str, ...]
    sample_rate: float
    channels: int
    window_samples: int
    hop_samples: int
    feature_kind: str
    input_shape: tuple[int, ...]  # model input without batch
    output_shape: tuple[int, ...]
    config_hash: str
    extractor: Any = None
    model_bytes: bytes | None = None
    input_scale: float = 1.0
    input_zero_point: int = 0
    output_scale: float = 1.0
    output_zero_point: int = 0
    arena_used: int = 0
    arena_how: str = ""
    macs: int | None = None
    ops: tuple[str, ...] = ()
    firmware_context: dict[str, Any] = dataclasses.field(default_factory=dict)
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    app_buffers: int = 0
    scratch_bytes: int = 0
    sensor: str = "adc"
    firmware_main: str = ""
    check_stream: np.ndarray | None = None  # (channels, n) raw samples for check vectors
    check_source: str = ""

    @property
    def has_model(self) -> bool:
        return self.model_bytes is not None

    @property
    def feature_count(self) -> int:
        return int(np.prod(self.input_shape)) if self.input_shape else 0

    @property
    def output_count(self) -> int:
        return int(np.prod(self.output_shape)) if self.output_shape else 0

    def settings(self, arena_bytes: int, arena_margin: float) -> cgen.ModelSettings:
        prefixes = tuple(
            str(p.C_PREFIX) for p in (self.extractor.dsp_params() if self.extractor else [])
            if hasattr(p, "C_PREFIX")
        )
        return cgen.ModelSettings(
            app=self.app,
            task=self.task,
            labels=tuple(self.labels),
            sample_rate_hz=self.sample_rate,
            channels=self.channels,
            window_samples=self.window_samples,
            hop_samples=self.hop_samples,
            feature_kind=self.feature_kind,
            input_shape=tuple(self.input_shape),
            output_shape=tuple(self.output_shape),
            input_scale=self.input_scale,
            input_zero_point=self.input_zero_point,
            output_scale=self.output_scale,
            output_zero_point=self.output_zero_point,
            arena_used_bytes=self.arena_used,
            arena_bytes=arena_bytes,
            arena_margin=arena_margin,
            arena_how=self.arena_how,
            has_model=self.has_model,
            dsp_prefixes=prefixes,
        )


# -- gathering ----------------------------------------------------------------------


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
    result = ctx.state.get("arena")
    if result is not None and hasattr(result, "min_bytes"):
        return int(result.min_bytes), how
    for source in (ctx.state, ctx.metrics.get("tflm") or {}):
        value = source.get("arena_min_bytes")
        if isinstance(value, (int, np.integer)) and value > 0:
            return int(value), how
    from tinyml_suite.common.deploy.arena import measure_arena

    log.info("Measuring the TFLM tensor arena")
    res = measure_arena(model_bytes, margin=margin)
    ctx.state["arena"] = res
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
        calibration=dict(ctx.state.get("calibration") or {}),
        app_buffers=int(ctx.app.app_buffers_bytes(ctx) or 0),
        scratch_bytes=scratch_bytes,
        sensor=str(fctx.get("sensor") or _guess_sensor(channels, rate)),
        firmware_main=str(getattr(ctx.app, "firmware_main", "") or ""),
        check_stream=stream,
        check_source=source,
    )


def _check_stream(ctx: RunContext, n_windows: int, channels: int, window: int) -> tuple[np.ndarray, str]:
    data = ctx.data
    if not ctx.state.get("standin_data") and data is not None and len(data.test) > 0:
        idx = np.unique(np.linspace(0, len(data.test) - 1, max(n_windows, 1)).round().astype(int))
        x = data.test.x[idx].astype(np.float32)
        return np.concatenate(list(x), axis=-1), (
            f"{len(x)} test windows of the run (indices {idx.tolist()}), back to back"
        )
    rng = np.random.default_rng([ctx.seed, 7])
    stream = (0.3 * rng.standard_normal((channels, window * n_windows))).astype(np.float32)
    return stream, f"seeded Gaussian noise (std 0.3, seed {ctx.seed}): the run's data was not loaded"


# -- front end ------------------------------------------------------------------------


def feature_sources(extractor: Any) -> list[Path]:
    """The C files of the extractor's device front end; :class:`DeployError` if none.

    ``FeatureExtractor.c_sources()`` names them relative to ``firmware_templates/dsp``
    (absolute paths are taken as they are, for extractors defined outside the suite).
    One of them must define ``tm_features_compute`` (``tm_features.h``).
    """
    root = templates_root() / "dsp"
    names = list(extractor.c_sources()) if extractor is not None else []
    paths = []
    for name in names:
        p = Path(name)
        p = p if p.is_absolute() else root / p
        if not p.exists():
            raise DeployError(
                f"features kind={getattr(extractor, 'kind', '?')} lists C source {name} but {p} does not exist"
            )
        paths.append(p)
    if not any(p.suffix == ".c" and _FEATURES_IMPL.search(p.read_text(errors="replace")) for p in paths):
        raise DeployError(
            f"features kind={getattr(extractor, 'kind', '?')} has no device front end: none of its "
            f"c_sources() ({', '.join(names) or 'none'}) defines tm_features_compute (tm_features.h); "
            "add one under firmware_templates/dsp/ and list it in c_sources()"
        )
    return paths


def dsp_defines(extractor: Any, sample_rate: float) -> list[tuple[str, dict[str, Any]]]:
    """``(block name, {define: value})`` for ``dsp_params.h``.

    ``extractor.c_defines()`` (a dict) wins when the extractor defines it (for blocks whose
    C parameters depend on each other, e.g. band powers on the Welch ``n_fft``);
    otherwise each ``dsp_params()`` object's own ``c_defines(sample_rate=...)`` if it has
    one, else :func:`cgen.params_defines` with the sample rate.
    """
    if extractor is None:
        return []
    custom = getattr(extractor, "c_defines", None)
    if callable(custom):
        return [(type(extractor).__name__, dict(custom()))]
    out = []
    for p in extractor.dsp_params():
        own = getattr(p, "c_defines", None)
        if callable(own):
            try:
                defines = own(sample_rate=sample_rate)
            except TypeError as exc:
                raise DeployError(
                    f"{type(p).__name__}.c_defines needs more than the sample rate ({exc}); the extractor "
                    f"{type(extractor).__name__} must provide c_defines() for dsp_params.h"
                ) from None
        else:
            defines = cgen.params_defines(p, sample_rate=round(sample_rate))
        out.append((type(p).__name__, dict(defines)))
    return out


# -- check vectors ----------------------------------------------------------------------


def check_vectors(spec: FirmwareSpec, arena_bytes: int) -> dict[str, np.ndarray]:
    """The Python pipeline on ``spec.check_stream`` at the firmware's window positions.

    Returns ``{"stream": (channels, n) float32, "features": (k, *input_shape) float32,
    "input_q": (k, F) int8, "output_q": (k, O) int8}`` where window j covers samples
    ``[j * hop, j * hop + window)`` - exactly the windows tm_runner computes.
    """
    from tinyml_suite.common.deploy.verify import quantize_input, run_tflm

    stream = np.asarray(spec.check_stream, dtype=np.float32)
    n = stream.shape[-1]
    starts = list(range(0, n - spec.window_samples + 1, spec.hop_samples))
    if not starts:
        raise DeployError(f"check stream of {n} samples is shorter than one window ({spec.window_samples})")
    windows = np.stack([stream[:, s : s + spec.window_samples] for s in starts])
    feats = np.asarray(spec.extractor(windows), dtype=np.float32)
    k = len(starts)
    if spec.has_model:
        qin = quantize_input(feats, spec.input_scale, spec.input_zero_point).reshape(k, -1)
        qout = np.asarray(run_tflm(spec.model_bytes, feats, arena_size=max(arena_bytes, 16))).reshape(k, -1)
    else:
        qin = np.zeros((k, feats[0].size), dtype=np.int8)
        qout = np.zeros((k, 0), dtype=np.int8)
    return {"stream": stream, "features": feats, "input_q": qin.astype(np.int8), "output_q": qout.astype(np.int8)}


def device_stream(spec: FirmwareSpec, n_inferences: int) -> np.ndarray:
    """The first samples of the check stream that give ``n_inferences`` windows.

    ``window + (n - 1) x hop`` samples (or the whole stream when it is shorter): the
    emulated check run keeps its inputs few.
    """
    stream = np.asarray(spec.check_stream, dtype=np.float32)
    n = spec.window_samples + (max(int(n_inferences), 1) - 1) * spec.hop_samples
    return stream[:, : min(n, stream.shape[-1])]


def check_vectors_text(vec: dict[str, np.ndarray], spec: FirmwareSpec) -> str:
    """``testdata/check_vectors.txt`` in the format tm_check.c reads."""
    stream = vec["stream"]
    k, f = vec["input_q"].shape
    o = vec["output_q"].shape[1]
    values = "int8" if spec.has_model else "float"
    lines = [
        "tinyml-check 1",
        f"frames {stream.shape[-1]} channels {stream.shape[0]} windows {k} features {f} outputs {o} values {values}",
    ]
    feats = vec["features"].reshape(k, -1)
    for j in range(k):
        if spec.has_model:
            lines.append(" ".join(str(int(v)) for v in vec["input_q"][j]))
        else:  # a DSP-only recipe: the float features themselves
            lines.append(" ".join(f"{float(v):.9g}" for v in feats[j]))
        lines.append(" ".join(str(int(v)) for v in vec["output_q"][j]))
    for t in range(stream.shape[-1]):
        lines.append(" ".join(f"{float(v):.9g}" for v in stream[:, t]))
    return "\n".join(lines) + "\n"


# -- generation -------------------------------------------------------------------------


def generate_sources(spec: FirmwareSpec, *, arena_bytes: int, arena_margin: float) -> dict[str, str]:
    """The generated C/C++ sources of a project, by file name (all start with the banner)."""
    h = spec.config_hash
    files = {
        "model_settings.h": cgen.model_settings_header(spec.settings(arena_bytes, arena_margin), config_hash=h),
        "dsp_params.h": cgen.dsp_params_header(dsp_defines(spec.extractor, spec.sample_rate), config_hash=h),
        "app_settings.h": cgen.app_settings_header(spec.firmware_context, spec.calibration, config_hash=h),
    }
    if spec.has_model:
        files.update(cgen.model_data_files(spec.model_bytes, app=spec.app, config_hash=h))
        files["op_resolver.h"] = cgen.op_resolver_header(list(spec.ops), config_hash=h)
    return files


# -- the deploy step ------------------------------------------------------------------------


def deploy(ctx: RunContext, board: Any = None, out_dir: Path | None = None) -> dict[str, Any]:
    """Fit check, latency estimate, C generation and project rendering for one board.

    ``board`` defaults to ``ctx.cfg.board``; ``out_dir`` to ``<run_dir>/firmware/<board>``.
    Nothing is written when the model does not fit (:class:`FitError`) or anything else
    fails. Returns ``{"fit", "latency", "firmware"}`` (also stored in ``ctx.metrics``).
    """
    from tinyml_suite.common.deploy.boards import (
        arena_with_margin,
        dsp_flops,
        estimate_latency,
        fit_check,
        load_board,
        runner_buffer_bytes,
    )
    from tinyml_suite.common.deploy.render import render_project

    board = load_board(board if board is not None else ctx.cfg.board)
    if not (templates_root() / "boards" / board.template).is_dir():
        raise DeployError(f"firmware_templates/boards/{board.template}/ (board {board.name}) is missing from the installation")
    spec = spec_from_context(ctx)
    if spec.has_model:
        from tinyml_suite.common.deploy.tflite_ops import check_tflm_support

        if board.runtime == "tflm":
            check_tflm_support(list(spec.ops))
    # 1. fit (before anything is generated or written)
    buffers = {
        "runner": runner_buffer_bytes(
            channels=spec.channels, window_samples=spec.window_samples,
            feature_count=spec.feature_count, output_count=spec.output_count,
        ) if _uses_runner(spec) else 0,
        "app": spec.app_buffers,
        "front end": spec.scratch_bytes,
    }
    if board.runtime == "litert":
        buffers = {}
    fit = fit_check(board, model_bytes=len(spec.model_bytes or b""), arena_used=spec.arena_used, buffers=buffers)
    # 2. latency
    flops, flops_basis = dsp_flops(spec.extractor, (spec.channels, spec.window_samples))
    latency = estimate_latency(board, macs=spec.macs, dsp_flops=flops, dsp_basis=flops_basis)
    # 3. sources
    arena_bytes = arena_with_margin(spec.arena_used, board.arena_margin) if spec.arena_used else 0
    extra: dict[str, str | bytes] = {}
    if board.template == "linux_python" and not spec.has_model:
        raise DeployError(
            f"app={spec.app} has no model (a DSP-only recipe); the Linux Python runner runs a model - "
            "deploy it to a C board (board=host, pico, ...) instead"
        )
    if board.template == "linux_python":
        generated: dict[str, str] = {}
        if spec.model_bytes is not None:
            extra["model_int8.tflite"] = spec.model_bytes
        extra["settings.json"] = _runner_settings_json(spec, ctx)
    else:
        generated = generate_sources(spec, arena_bytes=arena_bytes, arena_margin=board.arena_margin)
        if board.template == "baremetal":
            from tinyml_suite.common.deploy.baremetal import check_samples_c

            generated["tm_testdata.c"] = check_samples_c(
                device_stream(spec, board.check_inferences),
                banner=cgen.generated_banner(cgen.TOOL, spec.config_hash, "//"),
            )
        if board.template == "host_c":
            vec = check_vectors(spec, arena_bytes)
            extra["testdata/check_vectors.txt"] = check_vectors_text(vec, spec)
    if board.template == "linux_python":
        vec = check_vectors(spec, max(arena_bytes, 16)) if spec.has_model else None
        if vec is not None:
            extra["testdata/check_input.txt"] = "\n".join(
                " ".join(f"{float(v):.9g}" for v in vec["stream"][:, t]) for t in range(vec["stream"].shape[-1])
            ) + "\n"
            extra["testdata/expected_output_q.txt"] = "\n".join(
                " ".join(str(int(v)) for v in row) for row in vec["output_q"]
            ) + "\n"
    import json

    from tinyml_suite.common.io import to_jsonable

    extra["deploy.json"] = json.dumps(
        to_jsonable({"board": board.name, "config_hash": spec.config_hash, "fit": fit, "latency": latency,
                     "sensor": spec.sensor, "hop_samples": spec.hop_samples}), indent=2) + "\n"
    # 4. render
    out = Path(out_dir) if out_dir is not None else ctx.run_dir / "firmware" / board.name
    files = render_project(spec, board, out, generated=generated, fit=fit, latency=latency, extra_files=extra)
    fw = {
        "path": str(out),
        "board": board.name,
        "template": board.template,
        "files": files,
        "sensor": spec.sensor,
        "hop_samples": spec.hop_samples,
        "calibration": spec.calibration,
    }
    ctx.metrics["fit"] = fit
    ctx.metrics["latency"] = latency
    ctx.metrics["firmware"] = fw
    ctx.state["firmware_spec"] = spec
    ctx.state["firmware_arena_bytes"] = arena_bytes
    log.info(
        "Firmware for %s: %s (flash %d/%d, RAM %d/%d bytes; latency estimate %s ms)",
        board.name, out, fit["flash_bytes"], fit["flash_budget"], fit["ram_bytes"], fit["ram_budget"],
        latency["estimate_ms"],
    )
    return {"fit": fit, "latency": latency, "firmware": fw}


def _uses_runner(spec: FirmwareSpec) -> bool:
    """Whether the firmware's main loop uses tm_runner's ring buffer and window copy.

    An app that replaces the main loop (``App.firmware_main``) and never calls
    ``tm_runner_push``/``tm_runner_init``/``tm_runner_reset`` leaves those buffers unused:
    the boards' toolchains link with ``--gc-sections`` and drop them, and the app counts
    its own loop's buffers in ``App.app_buffers_bytes``.
    """
    if not spec.firmware_main:
        return True
    main = templates_root() / spec.firmware_main
    text = main.read_text(errors="replace") if main.exists() else ""
    return bool(re.search(r"\btm_runner_(push|init|reset)\s*\(", text))


def _runner_settings_json(spec: FirmwareSpec, ctx: RunContext) -> str:
    """settings.json of the Linux Python runner: the signal, the features config, the app constants."""
    import json

    from omegaconf import OmegaConf

    from tinyml_suite.common.io import to_jsonable

    features_cfg = OmegaConf.to_container(ctx.cfg.features, resolve=True)
    data = {
        "generated_by": cgen.TOOL,
        "config_hash": spec.config_hash,
        "app": spec.app,
        "task": spec.task,
        "labels": list(spec.labels),
        "sample_rate": spec.sample_rate,
        "channels": spec.channels,
        "window_samples": spec.window_samples,
        "hop_samples": spec.hop_samples,
        "features": features_cfg,
        "input_shape": list(spec.input_shape),
        "input_scale": spec.input_scale,
        "input_zero_point": spec.input_zero_point,
        "output_scale": spec.output_scale,
        "output_zero_point": spec.output_zero_point,
        "firmware_context": spec.firmware_context,
        "calibration": spec.calibration,
    }
    return json.dumps(to_jsonable(data), indent=2) + "\n"
