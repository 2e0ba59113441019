"""Verify a compiled model against TFLite Micro outputs and gather its figures.

:func:`verify_against_tflm` compiles the model, builds it with the host C compiler,
runs it on the same quantised inputs TFLM saw (the ``(Xq, raw)`` pairs a recording
:func:`~tinyml_suite.common.deploy.verify.tflm_predictor` collects) and compares the
int8 outputs bit for bit. It returns the ``engine`` block of ``metrics.json``:

    {"matches_tflm", "n_compared", "n_mismatched", "max_abs_diff",
     "code_bytes", "code_target", "weights_bytes", "scratch_bytes", "tflm_arena_bytes",
     "ops", "kernel_sources", "host_us_per_inference", ...}

``code_bytes`` is measured for a Cortex-M4F with ``arm-none-eabi-gcc -Os`` where that
toolchain is installed (``code_target`` says so), else with the host compiler.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import numpy as np

from tinyml_suite.common.deploy.engine.compiler import CompiledModel, compile_model
from tinyml_suite.common.deploy.engine.host import HostModel, code_size, find_compiler
from tinyml_suite.common.errors import DeployError

__all__ = ["compare_with_tflm", "engine_figures", "self_check", "verify_against_tflm"]

log = logging.getLogger("tinyml")


def engine_figures(cm: CompiledModel, *, target: str = "auto", core: str = "cortex-m4f") -> dict[str, Any]:
    """Code and constant bytes (measured), weights and scratch bytes of a compiled model.

    ``target="auto"`` measures an ``arm-none-eabi-gcc`` build for ``core`` (a Cortex-M
    core this module knows) when that toolchain is installed, else a host ``-Os`` build;
    ``"arm"`` / ``"host"`` force one.
    """
    import shutil

    from tinyml_suite.common.deploy.engine.host import ARM_CORES

    if target == "auto":
        have_arm = shutil.which("arm-none-eabi-gcc") and shutil.which("arm-none-eabi-size")
        target = "arm" if have_arm and core in ARM_CORES else "host"
    sizes = code_size(cm, target=target, core=core if core in ARM_CORES else "cortex-m4f")
    return {
        "code_bytes": int(sizes["code_bytes"]),
        "const_bytes": int(sizes["const_bytes"]),
        "code_target": sizes["target"],
        "code_flags": sizes["flags"],
        "weights_bytes": int(cm.weights_bytes),
        "scratch_bytes": int(cm.scratch_bytes),
        "naive_activation_bytes": int(cm.plan.naive_bytes),
        "ops": cm.ops,
        "n_ops": len(cm.steps),
        "kernel_sources": list(cm.kernel_sources),
    }


def compare_with_tflm(cm: CompiledModel, pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Run the compiled model (host build) on each ``Xq`` and compare with TFLM's ``raw``.

    Returns ``{"matches_tflm", "n_compared", "n_mismatched", "max_abs_diff",
    "host_us_per_inference"}`` (+ ``"first_mismatch"``). Raises :class:`DeployError`
    when there is no host C compiler.
    """
    if find_compiler("cc") is None:
        raise DeployError("no host C compiler (cc) to verify the compiled model; install gcc or clang, or set CC")
    hm = HostModel(cm)
    n = mismatched = max_diff = 0
    elapsed = 0.0
    first_bad: dict[str, Any] | None = None
    try:
        for xq, raw in pairs:
            xq = np.asarray(xq)
            if len(xq) == 0:
                continue
            t0 = time.perf_counter()
            out = hm(xq)
            elapsed += time.perf_counter() - t0
            a = out.reshape(len(xq), -1).astype(np.int64)
            b = np.asarray(raw).reshape(len(xq), -1).astype(np.int64)
            diff = np.abs(a - b).max(axis=1)
            bad = np.flatnonzero(diff > 0)
            if bad.size and first_bad is None:
                i = int(bad[0])
                first_bad = {"example": n + i, "engine": a[i][:16].tolist(), "tflm": b[i][:16].tolist()}
            n += len(xq)
            mismatched += int(bad.size)
            max_diff = max(max_diff, int(diff.max()))
    finally:
        hm.close()
    out: dict[str, Any] = {
        "matches_tflm": bool(n > 0 and mismatched == 0),
        "n_compared": int(n),
        "n_mismatched": int(mismatched),
        "max_abs_diff": int(max_diff),
        "host_us_per_inference": round(elapsed / n * 1e6, 2) if n else None,
    }
    if first_bad is not None:
        out["first_mismatch"] = first_bad
    return out


def verify_against_tflm(
    model_bytes: bytes,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    *,
    tflm_arena_bytes: int | None = None,
    code_target: str = "auto",
) -> tuple[dict[str, Any], CompiledModel]:
    """Compile, run on the recorded TFLM inputs, compare; the metrics block and the model.

    Parameters
    ----------
    model_bytes : bytes
        the int8 ``.tflite`` model
    pairs : list of (Xq, raw)
        quantised inputs ``[shape=(n, *input_shape)]`` and TFLM's raw outputs for them
    tflm_arena_bytes : int or None
        TFLM's measured minimum arena, copied into the block for comparison
    code_target : str
        ``"auto"``, ``"arm"`` or ``"host"`` (see :func:`engine_figures`)

    Raises
    ------
    DeployError
        the model uses an operator the engine does not compile, or there is no host
        C compiler (the message says which)
    """
    cm = compile_model(model_bytes)
    block: dict[str, Any] = engine_figures(cm, target=code_target)
    block["tflm_arena_bytes"] = int(tflm_arena_bytes) if tflm_arena_bytes is not None else None
    block["model_sha256"] = hashlib.sha256(bytes(model_bytes)).hexdigest()
    block.update(compare_with_tflm(cm, pairs))
    if tflm_arena_bytes:
        block["scratch_vs_tflm_arena"] = round(cm.scratch_bytes / float(tflm_arena_bytes), 3)
    return block, cm


def self_check(cm: CompiledModel, model_bytes: bytes, *, arena_size: int, n: int = 32, seed: int = 0) -> dict[str, Any]:
    """Compare the compiled model with TFLM on ``n`` seeded random inputs over the whole int8 range.

    For a model no run has verified (``tinyml deploy model.tflite``): the deploy step
    calls it before rendering a ``runtime: engine`` project.
    """
    from tinyml_suite.common.deploy.verify import run_tflm

    info = cm.inputs[0]
    if info.dtype != "int8":
        raise DeployError(f"the model input is {info.dtype}; runtime=engine firmware needs int8 input and output")
    xq = np.random.default_rng(seed).integers(-128, 128, size=(n, *info.shape[1:])).astype(np.int8)
    raw = run_tflm(model_bytes, xq, arena_size=int(arena_size))
    return compare_with_tflm(cm, [(xq, raw)])
