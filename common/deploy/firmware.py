"""What the firmware needs (a :class:`FirmwareSpec`), the C/C++ sources generated from it,
and the board project built from both.

A :class:`FirmwareSpec` is plain data: the model bytes and its int8 I/O, the measured
arena, the signal (rate, channels, window, hop), the feature extractor, the app's
firmware context and calibration. The recipe fills one from a run
(``common/firmware_stage.py::spec_from_context``). :func:`generate_sources` turns it
into the generated files of a board project, all through
:mod:`tinyml_suite.common.deploy.cgen`; :func:`build_firmware` runs the fit check and
renders the whole project for a :class:`~tinyml_suite.common.config.BoardConfig`.

:func:`check_vectors` runs the Python pipeline (numpy features, the suite's int8
quantisation, the TFLM runtime) on a stream of samples at the firmware's window/hop
positions; the host project's ``make check`` and the suite's tests compare the C code
with it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.config import BoardConfig
from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.deploy.templates import templates_root
from tinyml_suite.common.errors import DeployError

__all__ = [
    "FirmwareSpec",
    "build_firmware",
    "compile_for_board",
    "check_vectors",
    "check_vectors_text",
    "device_stream",
    "dsp_defines",
    "generate_sources",
    "measure_build",
    "runner_settings_json",
]

log = logging.getLogger(__name__)


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
    firmware_hooks: str = ""  # the app's tm_app.h implementation, relative to firmware_templates/ ("" = default)
    check_stream: np.ndarray | None = None  # (channels, n) raw samples for check vectors
    check_source: str = ""
    engine_verified: bool | None = None  # the compiled model equalled TFLM in the verify stage (None: unknown)

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


# -- front end ------------------------------------------------------------------------


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


def generate_sources(
    spec: FirmwareSpec, *, arena_bytes: int, arena_margin: float, engine: Any = None
) -> dict[str, str]:
    """The generated C/C++ sources of a project, by file name (all start with the banner).

    With ``engine`` (a :class:`~tinyml_suite.common.deploy.engine.CompiledModel`) the
    model is the compiled C (``tm_model_engine.c`` / ``.h``); otherwise the ``.tflite``
    as a C array and the TFLite Micro op resolver.
    """
    h = spec.config_hash
    settings = spec.settings(arena_bytes, arena_margin)
    if engine is not None:
        settings = dataclasses.replace(settings, arena_how=(
            "Not used by the compiled model (runtime: engine): its static arena of "
            f"{engine.scratch_bytes} bytes is in tm_model_engine.c. The TFLite Micro figure below "
            "applies to runtime: tflm."
        ))
    files = {
        "model_settings.h": cgen.model_settings_header(settings, config_hash=h),
        "dsp_params.h": cgen.dsp_params_header(dsp_defines(spec.extractor, spec.sample_rate), config_hash=h),
        "app_settings.h": cgen.app_settings_header(spec.firmware_context, spec.calibration, config_hash=h),
    }
    if spec.has_model and engine is not None:
        files.update(engine.sources)
    elif spec.has_model:
        files.update(cgen.model_data_files(spec.model_bytes, app=spec.app, config_hash=h))
        files["op_resolver.h"] = cgen.op_resolver_header(list(spec.ops), config_hash=h)
    return files


def compile_for_board(spec: FirmwareSpec, board: BoardConfig) -> tuple[Any, dict[str, Any]]:
    """The model compiled to C for ``board`` and its figures (runtime: engine).

    Raises :class:`DeployError` when the verify stage found the compiled model differing
    from TFLM, or the model has an operator the engine does not compile.
    """
    from tinyml_suite.common.deploy.engine import compile_model
    from tinyml_suite.common.deploy.engine.check import engine_figures

    if spec.engine_verified is False:
        raise DeployError(
            "the compiled model differed from TFLite Micro in the verify stage (metrics.json engine.n_mismatched); "
            "deploy with board.runtime=tflm and report the model"
        )
    cm = compile_model(spec.model_bytes, config_hash=spec.config_hash)
    figures = engine_figures(cm, core=board.core)
    if spec.engine_verified is None:  # a model no run verified: check it here before rendering
        from tinyml_suite.common.deploy.engine.check import self_check

        res = self_check(cm, spec.model_bytes, arena_size=max(2 * spec.arena_used, 64 * 1024))
        if not res["matches_tflm"]:
            raise DeployError(
                f"the compiled model differs from TFLite Micro on {res['n_mismatched']} of {res['n_compared']} "
                "random inputs; deploy with board.runtime=tflm and report the model"
            )
        figures["verified_on"] = f"{res['n_compared']} random int8 inputs at deploy time (identical to TFLM)"
    else:
        figures["verified_on"] = "the run's evaluation inputs (verify stage, metrics.json engine)"
    return cm, figures


def measure_build(spec: FirmwareSpec, board: BoardConfig, generated: dict[str, str], *,
                  engine_kernels: list[Path] | None = None, opt: str = "-Os") -> dict[str, Any]:
    """Flash and static RAM of the suite's C for ``board``'s Cortex-M core, built bare-metal.

    The board's real project adds its SDK (mbed OS, STM32duino, pico-sdk), which is not
    installable here: this builds everything else - the model compiled to C, the runner,
    front end and app hooks, newlib-nano, a start-up file and a UART HAL stand-in (its
    sample ring the size of the board's HAL's, ``hal_ram_frames``) - as the
    ``baremetal`` template (``firmware_templates/boards/baremetal``) with the core's flags
    (:data:`~tinyml_suite.common.deploy.baremetal.CORE_FLAGS`) at ``opt`` (``-Os``, for
    size), and reads the ELF (:func:`~tinyml_suite.common.deploy.baremetal.elf_sizes`).
    The result is cached (``cache_dir("measure")``) by a hash of the rendered sources, the
    flags and the compiler, so deploying the same model again does not rebuild it.
    """
    import hashlib
    import json
    import shutil
    import tempfile

    from tinyml_suite.common.deploy import baremetal
    from tinyml_suite.common.deploy.render import render_project
    from tinyml_suite.common.io import cache_dir, write_json

    as_baremetal = dataclasses.replace(board, template="baremetal", emulator=board.emulator or "none")
    flags = baremetal.core_flags(board.core)
    # the stand-in HAL's sample ring: the size of the board's own (hal_ram_frames), at least one block
    defines = [f"TM_HAL_BUFFER_FRAMES={max(int(board.hal_ram_frames), 16)}u"]
    with tempfile.TemporaryDirectory(prefix="tinyml-measure-") as tmp:
        project = Path(tmp) / "project"
        render_project(spec, as_baremetal, project, generated=generated, fit={"flash_bytes": 0, "flash_budget": 0,
                       "ram_bytes": 0, "ram_budget": 0}, latency={}, engine_kernels=engine_kernels, board_layer=False)
        # the same sources, flags and toolchain build the same ELF: reuse an earlier measurement
        digest = hashlib.sha256(json.dumps([opt, flags, defines, shutil.which("arm-none-eabi-gcc") or ""]).encode())
        for path in sorted(p for p in project.rglob("*") if p.is_file() and p.name != "README.md"):
            digest.update(path.relative_to(project).as_posix().encode() + b"\0" + path.read_bytes())
        cached = cache_dir("measure") / f"{digest.hexdigest()[:32]}.json"
        try:
            return json.loads(cached.read_text())
        except (OSError, ValueError):
            pass  # none yet, or unreadable: build
        elf = baremetal.build(project, "build/firmware.elf", opt=opt, cpu_flags=flags, defines=defines)
        sizes = baremetal.elf_sizes(elf)
        libs = baremetal.library_bytes((project / "build" / "firmware.map").read_text())
    result = {**sizes, "library_bytes": libs, "opt": opt, "core": board.core, "cpu_flags": flags}
    write_json(cached, result)
    return result


def _measured_fit_for(spec: FirmwareSpec, board: BoardConfig, fit: dict[str, Any], generated: dict[str, str],
                      engine_kernels: list[Path] | None) -> dict[str, Any]:
    """The fit check from :func:`measure_build` plus the SDK estimate (``platform_flash_kb``
    less the C library, which the build contains); the estimate when the toolchain is
    missing or the build fails (a warning says why). Raises FitError (one line) when the
    measured firmware does not fit."""
    from tinyml_suite.common.deploy import baremetal
    from tinyml_suite.common.deploy.boards import measured_fit, raise_if_unfit

    missing = baremetal.missing_tools(run=False)
    if missing:
        log.info("fit check of %s: estimate (%s not found; install gcc-arm-none-eabi to measure)", board.name,
                 ", ".join(missing))
        raise_if_unfit(fit, board)
        return {**fit, "measured": False}
    try:
        m = measure_build(spec, board, generated, engine_kernels=engine_kernels)
    except DeployError as exc:  # the measurement is a bonus: a failed build keeps the estimate
        first = str(exc).splitlines()[0]
        log.warning("fit check of %s: estimate; the measurement build failed: %s", board.name, first)
        raise_if_unfit(fit, board)
        return {**fit, "measured": False, "measure_error": first}
    sdk = max(0, int(board.platform_flash_kb * 1024) - int(m["library_bytes"]))
    split = [line for line in fit.get("flash_lines", []) if line[0] in ("model", "engine code") and line[1]]
    out = measured_fit(fit, m, board, split_flash=split, extra_flash=[
        ("sdk", sdk, f"estimate: platform_flash_kb less the C library measured in the build ({board.toolchain})")])
    out["measured_build"] = {k: v for k, v in m.items() if k != "sections"}
    raise_if_unfit(out, board)
    return out


def _measurable(spec: FirmwareSpec, board: BoardConfig) -> bool:
    """A Cortex-M board whose firmware is all C99 the suite builds (the engine, or no model)."""
    from tinyml_suite.common.deploy.baremetal import CORE_FLAGS

    return (board.template not in ("baremetal", "linux_python") and board.core in CORE_FLAGS
            and bool(board.measure_build) and (board.runtime == "engine" or not spec.has_model))


# -- the project -----------------------------------------------------------------------------


def build_firmware(
    spec: FirmwareSpec, board: BoardConfig, out_dir: str | Path, *, features_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fit check, latency estimate, C generation and project rendering for one board.

    ``features_config`` (the composed ``features`` node as plain data) goes into the
    Linux Python runner's ``settings.json``. Nothing is written when the model does not
    fit (:class:`~tinyml_suite.common.errors.FitError`) or anything else fails. Returns
    ``{"fit", "latency", "firmware", "arena_bytes"}`` (the arena the sources were generated with).
    """
    from tinyml_suite.common.deploy.boards import (
        arena_with_margin,
        dsp_flops,
        estimate_latency,
        fit_check,
        runner_buffer_bytes,
    )
    from tinyml_suite.common.deploy.render import render_project

    if not (templates_root() / "boards" / board.template).is_dir():
        raise DeployError(f"firmware_templates/boards/{board.template}/ (board {board.name}) is missing from the installation")
    cm = None
    engine_fig: dict[str, Any] | None = None
    if spec.has_model:
        from tinyml_suite.common.deploy.tflite_ops import check_tflm_support

        if board.runtime == "tflm":
            check_tflm_support(list(spec.ops))
        elif board.runtime == "engine":
            cm, engine_fig = compile_for_board(spec, board)
    # 1. fit (before anything is generated or written)
    buffers = {
        "runner": runner_buffer_bytes(
            channels=spec.channels, window_samples=spec.window_samples,
            feature_count=spec.feature_count, output_count=spec.output_count,
        ) if _uses_runner(spec) else 0,
        "app": spec.app_buffers,
        "front end": spec.scratch_bytes,
    }
    if board.hal_ram_frames:  # the HAL's sample ring (firmware_templates/boards/<template>/.../hal_*)
        buffers["hal ring"] = 4 * spec.channels * int(board.hal_ram_frames)
    if board.runtime == "litert":
        buffers = {}
    measure = _measurable(spec, board)
    fit = fit_check(board, model_bytes=len(spec.model_bytes or b""), arena_used=spec.arena_used, buffers=buffers,
                    engine=engine_fig, raise_on_fail=not measure)
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
        extra["settings.json"] = runner_settings_json(spec, features_config or {})
    else:
        generated = generate_sources(spec, arena_bytes=arena_bytes, arena_margin=board.arena_margin, engine=cm)
        if board.template == "baremetal":
            from tinyml_suite.common.deploy.baremetal import check_samples_c

            if spec.has_model and board.runtime != "engine":
                raise DeployError(
                    f"board {board.name} builds bare-metal C99 without TFLite Micro's C++: it needs "
                    f"runtime=engine (the model compiled to C), not {board.runtime}"
                )
            generated["tm_testdata.c"] = check_samples_c(
                device_stream(spec, board.check_inferences),
                banner=cgen.generated_banner(cgen.TOOL, spec.config_hash, "//"),
            )
        if measure:
            fit = _measured_fit_for(spec, board, fit, generated,
                                    cm.kernel_paths() + cm.header_paths() if cm is not None else None)
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
    out = Path(out_dir)
    files = render_project(spec, board, out, generated=generated, fit=fit, latency=latency, extra_files=extra,
                           engine_kernels=cm.kernel_paths() + cm.header_paths() if cm is not None else None)
    fw = {
        "path": str(out),
        "board": board.name,
        "template": board.template,
        "runtime": board.runtime if spec.has_model else "none (no model)",
        "files": files,
        "sensor": spec.sensor,
        "hop_samples": spec.hop_samples,
        "calibration": spec.calibration,
    }
    if engine_fig is not None:
        fw["engine"] = engine_fig
    log.info(
        "Firmware for %s: %s (flash %d/%d, RAM %d/%d bytes; latency estimate %s ms)",
        board.name, out, fit["flash_bytes"], fit["flash_budget"], fit["ram_bytes"], fit["ram_budget"],
        latency["estimate_ms"],
    )
    return {"fit": fit, "latency": latency, "firmware": fw, "arena_bytes": arena_bytes}



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


def runner_settings_json(spec: FirmwareSpec, features_config: dict[str, Any]) -> str:
    """settings.json of the Linux Python runner: the signal, the features config, the app constants."""
    import json

    from tinyml_suite.common.io import to_jsonable

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
        "features": features_config,
        "input_shape": list(spec.input_shape),
        "input_scale": spec.input_scale,
        "input_zero_point": spec.input_zero_point,
        "output_scale": spec.output_scale,
        "output_zero_point": spec.output_zero_point,
        "firmware_context": spec.firmware_context,
        "calibration": spec.calibration,
    }
    return json.dumps(to_jsonable(data), indent=2) + "\n"
