"""Boards: load and validate a board, check that a model fits it, estimate its latency.

A board is a ``conf/board/<name>.yaml`` validated by :class:`~tinyml_suite.common.config.BoardConfig`.
Everything here runs before any file is rendered, so a model that does not fit stops the
deploy stage with one line (:class:`~tinyml_suite.common.errors.FitError`) and writes
nothing.

Fit check
---------
runtime: engine (the model compiled to C99, the default on microcontrollers)
flash = compiled model constants + engine code (both measured: arm-none-eabi-gcc -Os for
        the board's Cortex-M core where installed, else the host compiler) + platform
        estimate (``platform_flash_kb``: OS/SDK + C library) + app estimate (``app_flash_kb``)
RAM   = the compiled model's static arena (exact) + the buffers below
runtime: tflm
flash = model bytes + runtime estimate (``runtime_flash_kb``) + app estimate (``app_flash_kb``)
RAM   = tensor arena (measured, + margin) + runner buffers (ring buffer, window, features,
        int8 input/output; :func:`runner_buffer_bytes`) + the app's buffers
        (``App.app_buffers_bytes``) + the front end's scratch (``c_scratch_bytes``) +
        stack/heap/SDK reserve (``stack_reserve_kb``)

The runtime and app figures are estimates documented with their basis in docs/boards.md.

Latency estimate
----------------
model_ms = MACs x cycles-per-MAC(core, kernels) / clock; dsp_ms = front-end float
operations x cycles-per-flop(core) / clock. Both tables are below, each value with the
published measurement it was derived from. They are estimates (+/- 2x is typical: kernels,
memory placement and layer mix all move the figure); measure on the board for real numbers.

Examples
--------
>>> board = load_board("pico")
>>> board.core, board.ram_kb
('cortex-m0plus', 264)
>>> est = estimate_latency(board, macs=2_656_768, dsp_flops=0)
>>> round(est["model_ms"])  # the MLPerf Tiny KWS DS-CNN on a 133 MHz Cortex-M0+
767
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from tinyml_suite.common.config import BoardConfig
from tinyml_suite.common.errors import ConfigError, FitError

__all__ = [
    "CYCLES_PER_FLOP",
    "CYCLES_PER_MAC",
    "RUNTIMES",
    "TEMPLATES",
    "arena_with_margin",
    "board_kernels",
    "board_names",
    "dsp_flops",
    "estimate_latency",
    "fit_check",
    "load_board",
    "measured_fit",
    "raise_if_unfit",
    "runner_buffer_bytes",
    "validate_board",
]

#: Inference runtimes a board can use: the model compiled to C99 (common/deploy/engine),
#: TensorFlow Lite Micro, or the LiteRT interpreter (Linux boards).
RUNTIMES = ("engine", "tflm", "litert")

#: Project kinds with a folder under firmware_templates/boards/.
TEMPLATES = ("host_c", "arduino", "platformio", "espidf", "pico_sdk", "linux_python", "baremetal")

# Cycles per int8 multiply-accumulate of a whole TFLM/LiteRT inference (all layers,
# interpreter overhead included), per core and kernel library. Each figure is a
# published latency x clock / the model's MACs (MACs counted from the model definitions:
# MLPerf Tiny KWS DS-CNN 2,656,768; TFLM person_detect MobileNetV1-0.25 96x96x1 7,157,888).
CYCLES_PER_MAC: dict[str, dict[str, Any]] = {
    "cortex-m0plus": {
        "reference": 38.4,
        "basis": "TFLM person detection 2,200 ms on Raspberry Pi Pico (RP2040 at 125 MHz, 2021 "
        "pico-tflmicro port), Raspberry Pi at tinyML Summit 2021 (reported by HEXUS, Mar 2021): "
        "2.2 s x 125 MHz / 7.16 M MACs",
    },
    "cortex-m4f": {
        "reference": 8.2,
        "cmsis-nn": 4.5,
        "basis": "MLPerf Tiny v0.5 reference, NUCLEO-L4R5ZI at 120 MHz, TFLM 2.3.1: KWS 5.497 inf/s "
        "(181.9 ms) / 2.66 M MACs = 8.2; MLPerf Tiny v1.0 OctoML microTVM + CMSIS-NN, same board: "
        "KWS 10.019 inf/s (99.8 ms) = 4.5 (mlcommons/tiny_results_v0.5, v1.0)",
    },
    "xtensa-lx7": {
        "reference": 77.0,
        "esp-nn": 1.8,
        "basis": "espressif/esp-tflite-micro README: person detection on ESP32-S3 at 240 MHz, "
        "2300 ms without / 54 ms with ESP-NN; / 7.16 M MACs",
    },
    "cortex-a72": {
        "reference": 0.24,
        "basis": "MLPerf Tiny v0.5 Latent AI LEIP int8 on Raspberry Pi 4 (1.5 GHz): KWS 30,000 "
        "inferences in 12.72 s (0.424 ms) / 2.66 M MACs; LiteRT with XNNPACK is of the same order",
    },
    "host": {
        "reference": 0.24,
        "basis": "no published figure for an unknown PC; the Cortex-A72 figure is used as a rough "
        "stand-in - measure with bench/ instead",
    },
}

# Cycles per float32 operation of the C99 DSP front end (plain C, no CMSIS-DSP).
# Rough engineering figures, documented in docs/boards.md: single-precision FPU cores
# ~2 cycles per operation including loads/stores; the Cortex-M0+ has no FPU and calls
# software floating point (the RP2040 ROM float routines take tens of cycles per add or
# multiply); application cores pipeline several per cycle.
CYCLES_PER_FLOP: dict[str, float] = {
    "cortex-m0plus": 60.0,
    "cortex-m4f": 2.0,
    "xtensa-lx7": 2.0,
    "cortex-a72": 0.5,
    "host": 0.25,
}


# -- loading ------------------------------------------------------------------------


def _board_dirs() -> list[Path]:
    dirs = []
    user = Path.cwd() / "conf" / "board"
    if (Path.cwd() / "tinyml_project.yaml").exists() and user.is_dir():
        dirs.append(user)
    dirs.append(Path(str(resources.files("tinyml_suite.conf") / "board")))
    return dirs


def board_names() -> list[str]:
    """Names of the boards ``board=<name>`` accepts."""
    names: set[str] = set()
    for d in _board_dirs():
        names |= {p.stem for p in d.glob("*.yaml") if not p.stem.startswith("base_")}
    return sorted(names)


def load_board(board: str | Mapping[str, Any] | BoardConfig) -> BoardConfig:
    """A validated :class:`BoardConfig` from a name, a config node or an instance.

    Raises :class:`ConfigError` naming the valid boards for an unknown name, and for a
    board whose values are out of range.
    """
    if isinstance(board, BoardConfig):
        return validate_board(board)
    from omegaconf import OmegaConf

    if isinstance(board, str):
        path = next((d / f"{board}.yaml" for d in _board_dirs() if (d / f"{board}.yaml").exists()), None)
        if path is None:
            import difflib

            names = board_names()
            close = difflib.get_close_matches(board, names, n=1)
            hint = f"did you mean board={close[0]}? " if close else ""
            raise ConfigError(f"unknown board '{board}'; {hint}choose one of: {', '.join(names)}")
        node = OmegaConf.load(path)
        if "defaults" in node:
            node.pop("defaults")
    else:
        node = OmegaConf.create(OmegaConf.to_container(board, resolve=True) if not isinstance(board, dict) else board)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(BoardConfig), node)
        data = OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)
    except Exception as exc:  # noqa: BLE001 - omegaconf's ValidationError, MissingMandatoryValue, ...
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"board {node.get('name', '?')}: {first}; see conf/board/*.yaml") from None
    return validate_board(BoardConfig(**data))


def validate_board(board: BoardConfig) -> BoardConfig:
    """Check a board's values; :class:`ConfigError` names the field, value and fix."""
    for name in ("clock_mhz", "flash_kb", "ram_kb"):
        value = getattr(board, name)
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"board {board.name}: {name}={value!r} must be > 0")
    for name in ("runtime_flash_kb", "platform_flash_kb", "app_flash_kb", "stack_reserve_kb"):
        if getattr(board, name) < 0:
            raise ConfigError(f"board {board.name}: {name}={getattr(board, name)} must be >= 0")
    if not 0 <= board.arena_margin <= 2:
        raise ConfigError(f"board {board.name}: arena_margin={board.arena_margin} must be in [0, 2] (0.1 = 10%)")
    if board.core not in CYCLES_PER_MAC:
        raise ConfigError(
            f"board {board.name}: core={board.core!r} has no latency figures; "
            f"valid: {', '.join(CYCLES_PER_MAC)} (add one to common/deploy/boards.py)"
        )
    if board.template not in TEMPLATES:
        raise ConfigError(f"board {board.name}: template={board.template!r} unknown; valid: {', '.join(TEMPLATES)}")
    if board.runtime not in RUNTIMES:
        raise ConfigError(f"board {board.name}: runtime={board.runtime!r} must be one of {', '.join(RUNTIMES)}")
    if board.runtime == "litert" and board.template != "linux_python":
        raise ConfigError(f"board {board.name}: runtime=litert runs on Linux only (template linux_python)")
    if board.runtime != "litert" and board.template == "linux_python":
        raise ConfigError(f"board {board.name}: the linux_python template runs runtime=litert")
    if board.fpu not in ("none", "sp", "dp"):
        raise ConfigError(f"board {board.name}: fpu={board.fpu!r} must be 'none', 'sp' or 'dp'")
    return board


def board_kernels(board: BoardConfig) -> str:
    """The kernel library the board's project builds with (a key of ``CYCLES_PER_MAC[core]``).

    ``runtime: engine`` builds the compiled model's portable C kernels: the estimate uses
    the reference-kernel figure (the optimised libraries CMSIS-NN / ESP-NN come with TFLM).
    """
    if board.runtime == "engine":
        return "reference"
    table = CYCLES_PER_MAC[board.core]
    for ext in board.dsp_extensions:
        if ext in table:
            return ext
    return "reference"


# -- fit check ----------------------------------------------------------------------


def runner_buffer_bytes(*, channels: int, window_samples: int, feature_count: int, output_count: int,
                        read_frames: int = 64) -> int:
    """Static RAM of firmware_templates/common/tm_runner.c and tm_main.c.

    ring (float C x W) + window copy (float C x W) + features (float F) + int8 input (F)
    + int8 outputs (O) + float outputs (O) + the HAL read buffer (float 64 x C).

    >>> runner_buffer_bytes(channels=1, window_samples=16000, feature_count=490, output_count=12)
    130766
    """
    o = max(int(output_count), 1)
    return int(
        4 * channels * window_samples * 2
        + 4 * feature_count
        + feature_count
        + o
        + 4 * o
        + 4 * read_frames * channels
    )


def arena_with_margin(used: int, margin: float) -> int:
    """The arena to allocate: ``used`` x (1 + margin), rounded up to 16 bytes.

    >>> arena_with_margin(1000, 0.1)
    1104
    """
    return int(math.ceil(used * (1.0 + margin) / 16.0) * 16)


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MB"


def fit_check(
    board: BoardConfig,
    *,
    model_bytes: int,
    arena_used: int,
    buffers: Mapping[str, int],
    raise_on_fail: bool = True,
    engine: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Flash and RAM budgets of the model on ``board``.

    Parameters
    ----------
    model_bytes : size of the int8 .tflite (0 for a DSP-only recipe)
    arena_used : tensor arena bytes measured on the TFLM host runtime (0: none)
    buffers : named RAM items besides the arena, in bytes (e.g. ``{"runner": ..., "app": ...}``)
    engine : the compiled model's figures (``code_bytes``, ``const_bytes``, ``scratch_bytes``,
        ``code_target``), for ``runtime: engine``: flash counts its measured code and
        constants plus the platform estimate instead of the .tflite and the runtime
        estimate, RAM its exact static arena instead of TFLM's arena + margin

    Returns ``{"flash_bytes", "ram_bytes", "fits", "flash_budget", "ram_budget",
    "flash_lines", "ram_lines", "arena_bytes", ...}`` (the "lines" are ``[name, bytes, note]``).
    Raises :class:`FitError` (one line: each budget item and the overshoot) when the model
    does not fit and ``raise_on_fail``.
    """
    litert = board.runtime == "litert"
    if engine is not None:
        target = str(engine.get("code_target", "?"))
        arena = int(engine["scratch_bytes"])
        flash_lines = [
            ["model", int(engine["const_bytes"]), f"compiled model constants: measured ({target})"],
            ["engine code", int(engine["code_bytes"]), f"kernels + invoke: measured ({target}, -Os)"],
            ["platform", int(board.platform_flash_kb * 1024), "estimate: OS/SDK + C library (docs/boards.md)"],
            ["app", int(board.app_flash_kb * 1024), "estimate: runner + HAL + DSP front end"],
        ]
        ram_lines = [["arena", arena, "compiled model's static arena (exact, planned at compile time)"]]
    elif board.runtime == "engine" and model_bytes > 0:
        raise ConfigError(
            f"board {board.name}: the fit check for runtime=engine needs the compiled model's figures "
            "(fit_check(..., engine=engine_figures(compile_model(model)))); or set runtime=tflm"
        )
    elif board.runtime == "engine":  # no model (a DSP-only recipe): no runtime at all
        arena = 0
        flash_lines = [
            ["model", 0, "none"],
            ["platform", int(board.platform_flash_kb * 1024), "estimate: OS/SDK + C library (docs/boards.md)"],
            ["app", int(board.app_flash_kb * 1024), "estimate: runner + HAL + DSP front end"],
        ]
        ram_lines = [["arena", 0, "none"]]
    else:
        arena = 0 if litert or arena_used <= 0 else arena_with_margin(arena_used, board.arena_margin)
        flash_lines = [
            ["model", int(model_bytes), "int8 .tflite"],
            ["runtime", int(board.runtime_flash_kb * 1024), "estimate (docs/boards.md)"],
            ["app", int(board.app_flash_kb * 1024), "estimate: runner + HAL + DSP front end"],
        ]
        ram_lines = [["arena", arena,
                      f"measured {int(arena_used)} + {board.arena_margin:.0%} margin" if arena else "none"]]
    ram_lines += [[str(k), int(v), "static buffers"] for k, v in buffers.items()]
    ram_lines.append(["stack+sdk", int(board.stack_reserve_kb * 1024), "reserve (estimate)"])
    flash = sum(x[1] for x in flash_lines)
    ram = sum(x[1] for x in ram_lines)
    flash_budget = int(board.flash_kb * 1024)
    ram_budget = int(board.ram_kb * 1024)
    fits = flash <= flash_budget and ram <= ram_budget
    result = {
        "board": board.name,
        "flash_bytes": int(flash),
        "ram_bytes": int(ram),
        "fits": bool(fits),
        "flash_budget": flash_budget,
        "ram_budget": ram_budget,
        "flash_free": flash_budget - flash,
        "ram_free": ram_budget - ram,
        "arena_bytes": arena,
        "arena_used_bytes": int(arena_used) if engine is None else arena,
        "runtime": board.runtime,
        "flash_lines": flash_lines,
        "ram_lines": ram_lines,
    }
    if not fits and raise_on_fail:
        raise_if_unfit(result, board)
    return result


def raise_if_unfit(fit: Mapping[str, Any], board: BoardConfig) -> None:
    """:class:`FitError`, one line with every budget item and the overshoot, unless it fits."""
    if fit.get("fits", True):
        return
    parts = []
    for what, key in (("flash", "flash"), ("RAM", "ram")):
        total, budget, lines = fit[f"{key}_bytes"], fit[f"{key}_budget"], fit[f"{key}_lines"]
        items = " + ".join(f"{name} {_kb(n)}" for name, n, _ in lines if n)
        verdict = f"over by {_kb(total - budget)}" if total > budget else f"{_kb(budget - total)} free"
        parts.append(f"{what} {_kb(total)} = {items} vs {_kb(budget)} ({verdict})")
    how = " (measured build)" if fit.get("measured") else ""
    raise FitError(
        f"model does not fit board={board.name}: " + "; ".join(parts) + how
        + "; shrink the model (fewer filters/layers, pruning) or its input, or pick a bigger board"
    )


def measured_fit(fit: Mapping[str, Any], measured: Mapping[str, Any], board: BoardConfig, *,
                 extra_flash: Sequence[tuple[str, int, str]] = (),
                 extra_ram: Sequence[tuple[str, int, str]] = (),
                 split_flash: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """The fit check with the figures measured on the built firmware in place of the estimates.

    ``measured`` has ``flash_bytes`` and ``ram_bytes`` of the linked firmware ELF (text +
    data; data + bss) and, where the firmware ran, ``stack_bytes`` and ``heap_bytes``
    (else the board's ``stack_reserve_kb`` estimate stays). ``extra_flash``/``extra_ram``
    are further ``(name, bytes, note)`` lines the build did not contain (e.g. an SDK's
    estimate); ``split_flash`` are lines the build did contain, shown on their own (e.g. the
    compiled model's constants, measured by the engine), the firmware line then being the
    rest. The estimate is kept under ``"estimate"`` with its error relative to the
    measurement, so reports show both.

    >>> from tinyml_suite.common.deploy.boards import load_board
    >>> b = load_board("mps2_an386")
    >>> est = fit_check(b, model_bytes=0, arena_used=0, buffers={})   # a DSP-only recipe
    >>> m = measured_fit(est, {"flash_bytes": 30000, "ram_bytes": 2000, "stack_bytes": 900, "heap_bytes": 0}, b)
    >>> m["flash_bytes"], m["ram_bytes"], m["measured"], m["estimate"]["flash_bytes"] == est["flash_bytes"]
    (30000, 2900, True, True)
    """
    est = {k: fit[k] for k in ("flash_bytes", "ram_bytes", "flash_lines", "ram_lines", "fits") if k in fit}
    split = [[str(n), int(b), str(note)] for n, b, note in split_flash]
    rest = int(measured["flash_bytes"]) - sum(x[1] for x in split)
    flash_lines = split + [["firmware" if not split else "rest of firmware", rest,
                            "measured: text + data of the linked firmware" + (" less the lines above" if split else "")]]
    flash_lines += [[str(n), int(b), str(note)] for n, b, note in extra_flash]
    ram_lines = [["static", int(measured["ram_bytes"]), "measured: data + bss of the linked firmware"]]
    if measured.get("stack_bytes"):
        ram_lines.append(["stack", int(measured["stack_bytes"]), "measured: painted-stack high-water mark"])
        ram_lines.append(["heap", int(measured.get("heap_bytes") or 0), "measured: malloc high-water mark"])
    else:
        ram_lines.append(["stack+sdk", int(board.stack_reserve_kb * 1024), "reserve (estimate)"])
    ram_lines += [[str(n), int(b), str(note)] for n, b, note in extra_ram]
    flash = sum(x[1] for x in flash_lines)
    ram = sum(x[1] for x in ram_lines)
    out = dict(fit)
    out.update({
        "flash_bytes": int(flash),
        "ram_bytes": int(ram),
        "fits": bool(flash <= fit["flash_budget"] and ram <= fit["ram_budget"]),
        "flash_free": int(fit["flash_budget"] - flash),
        "ram_free": int(fit["ram_budget"] - ram),
        "flash_lines": flash_lines,
        "ram_lines": ram_lines,
        "measured": True,
        "estimate": {
            **est,
            "flash_error": round(est["flash_bytes"] / flash - 1.0, 3) if flash else None,
            "ram_error": round(est["ram_bytes"] / ram - 1.0, 3) if ram else None,
        },
    })
    return out


# -- latency ------------------------------------------------------------------------


def dsp_flops(extractor: Any, window_shape: tuple[int, int]) -> tuple[int, str]:
    """Float operations the device front end spends on one window (estimate) and how.

    Uses ``extractor.dsp_flops(window_shape)`` when the extractor defines it. Otherwise,
    per DSP parameter block: an FFT-based block (``n_fft`` + ``hop_length``/``frame_length``,
    or Welch's ``nperseg``) costs, per frame, 2.5 N log2 N for the real FFT (radix-2
    count), 8 N for window, power and filterbank, plus 2 x n_mels x n_mfcc for a DCT; any
    other block 10 operations per input sample (filters, statistics, normalisation).
    """
    channels, samples = (int(window_shape[0]), int(window_shape[1]))
    custom = getattr(extractor, "dsp_flops", None)
    if callable(custom):
        return int(custom(window_shape)), "extractor.dsp_flops()"
    total = 0
    notes = []
    for p in extractor.dsp_params() if extractor is not None else []:
        n_fft = getattr(p, "n_fft", None) or getattr(p, "nperseg", None)
        if n_fft:
            n_fft = int(n_fft)
            frame = int(getattr(p, "frame_length", None) or n_fft)
            hop = getattr(p, "hop_length", None) or (
                n_fft - int(getattr(p, "noverlap", None) or n_fft // 2) if hasattr(p, "nperseg") else frame // 2
            )
            frames = max(1, 1 + (samples - frame) // max(int(hop), 1))
            per = 2.5 * n_fft * math.log2(max(n_fft, 2)) + 8 * n_fft
            n_mels = int(getattr(p, "n_mels", 0) or 0)
            n_mfcc = int(getattr(p, "n_mfcc", 0) or 0)
            per += 2 * n_mels * n_mfcc
            total += int(channels * frames * per)
            notes.append(f"{getattr(p, 'C_PREFIX', type(p).__name__)}: {frames} frames x FFT {n_fft}")
        else:
            total += 10 * channels * samples
            notes.append(f"{getattr(p, 'C_PREFIX', type(p).__name__)}: 10 ops/sample")
    if not notes:
        total = channels * samples  # a copy/scale of the raw window
        notes.append("raw window: 1 op/sample")
    return total, "; ".join(notes)


def estimate_latency(board: BoardConfig, *, macs: int | None, dsp_flops: int = 0,
                     dsp_basis: str = "") -> dict[str, Any]:
    """Estimated time of one inference plus its front end on ``board`` (ms).

    Returns ``{"estimate_ms", "dsp_ms", "model_ms", "basis", "cycles_per_mac", "kernels"}``;
    ``model_ms`` and ``estimate_ms`` are None when the MAC count is unknown.
    """
    table = CYCLES_PER_MAC[board.core]
    kernels = board_kernels(board)
    cpm = float(table[kernels])
    hz = float(board.clock_mhz) * 1e6
    model_ms = None if macs is None else float(macs) * cpm / hz * 1e3
    dsp_ms = float(dsp_flops) * CYCLES_PER_FLOP[board.core] / hz * 1e3
    basis = (
        f"ESTIMATE: {cpm} cycles/MAC ({board.core}, {kernels} kernels; {table['basis']}) at "
        f"{board.clock_mhz:g} MHz; front end {CYCLES_PER_FLOP[board.core]} cycles/float op "
        f"({dsp_basis or 'see common/deploy/boards.py'})"
    )
    def sig(v: float) -> float:  # 4 significant digits: microsecond figures stay non-zero
        return float(f"{v:.4g}")

    return {
        "estimate_ms": None if model_ms is None else sig(model_ms + dsp_ms),
        "dsp_ms": sig(dsp_ms),
        "model_ms": None if model_ms is None else sig(model_ms),
        "cycles_per_mac": cpm,
        "kernels": kernels,
        "macs": None if macs is None else int(macs),
        "dsp_flops": int(dsp_flops),
        "basis": basis,
    }


def as_dict(board: BoardConfig) -> dict[str, Any]:
    """Plain-data form of a board (for templates and metrics)."""
    return dataclasses.asdict(board)
