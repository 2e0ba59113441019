"""Build a compiled model with the host C compiler and run it; measure its code size.

:class:`HostModel` compiles the generated C and the kernels it calls into a shared
library (``cc -std=c99 -O2 -shared``) and calls ``tm_model_run`` through ``ctypes``,
one example at a time, exactly as the firmware calls it. :func:`code_size` compiles the
same sources to object files for the host or, where ``arm-none-eabi-gcc`` is installed,
for a Cortex-M (``-Os``, one section per function, linked with ``--gc-sections`` from
``tm_model_invoke``) and reads the section sizes: code (``.text``), constants
(``.rodata``) and the arena (``.bss``).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.deploy.engine.compiler import CompiledModel
from tinyml_suite.common.errors import DeployError

__all__ = ["ARM_CORES", "ARM_FLAGS", "HostModel", "code_size", "find_compiler", "tm_model_header"]

#: Cortex-M4F flags (the suite's Cortex-M boards: nRF52840, STM32L4R5)
ARM_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
#: Cortex-M cores (the ``core`` of a board) code_size can build for, and their flags
ARM_CORES: dict[str, tuple[str, ...]] = {
    "cortex-m4f": ARM_FLAGS,
    "cortex-m0plus": ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
}

_BATCH_C = r"""
#include <stddef.h>
#include <stdint.h>
#include "tm_model_engine.h"
/* host-only: run n examples back to back (inputs/outputs advance by their sizes) */
int tm_engine_host_batch(int n, const void* const* inputs, const long* in_bytes,
                         void* const* outputs, const long* out_bytes) {
  const void* ins[TM_ENGINE_N_INPUTS];
  void* outs[TM_ENGINE_N_OUTPUTS];
  int i, k;
  for (i = 0; i < n; ++i) {
    for (k = 0; k < TM_ENGINE_N_INPUTS; ++k) ins[k] = (const char*)inputs[k] + (long)i * in_bytes[k];
    for (k = 0; k < TM_ENGINE_N_OUTPUTS; ++k) outs[k] = (char*)outputs[k] + (long)i * out_bytes[k];
    if (tm_model_run(ins, outs) != 0) return -1;
  }
  return 0;
}
"""


def tm_model_header() -> Path:
    """``firmware_templates/common/tm_model.h``: the entry point every runtime implements."""
    from importlib import resources

    return Path(str(resources.files("tinyml_suite.firmware_templates") / "common" / "tm_model.h"))


def find_compiler(name: str = "cc") -> str | None:
    """Path of a C compiler (``$CC`` first for ``cc``), or ``None``."""
    if name == "cc" and os.environ.get("CC"):
        found = shutil.which(os.environ["CC"].split()[0])
        if found:
            return found
    return shutil.which(name)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no output"])
        detail = next((ln for ln in first if "error" in ln), first[0])
        raise DeployError(f"{what} failed ({Path(cmd[0]).name} exit {proc.returncode}): {detail[:300]}")


def _unload_and_remove(handle: int, folder: str) -> None:
    try:
        import _ctypes

        _ctypes.dlclose(handle)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - non-POSIX
        pass
    shutil.rmtree(folder, ignore_errors=True)


class HostModel:
    """A :class:`CompiledModel` built as a host shared library, callable from numpy.

    Parameters
    ----------
    cm : CompiledModel
    opt : str
        optimisation flag for the host build
    extra_flags : sequence of str
        more compiler flags (the tests pass the suite's strict warning flags)
    """

    def __init__(self, cm: CompiledModel, *, opt: str = "-O2", extra_flags: tuple[str, ...] = ()) -> None:
        cc = find_compiler("cc")
        if cc is None:
            raise DeployError("no host C compiler (cc) to build the compiled model; install gcc or clang, or set CC")
        self.cm = cm
        d = Path(tempfile.mkdtemp(prefix="tinyml-engine-"))
        cm.write(d)
        shutil.copyfile(tm_model_header(), d / "tm_model.h")
        (d / "tm_engine_host.c").write_text(_BATCH_C)
        sources = [d / n for n in cm.sources if n.endswith(".c")] + [d / n for n in cm.kernel_sources]
        sources.append(d / "tm_engine_host.c")
        lib = d / f"libtm_model_{uuid.uuid4().hex[:12]}.so"
        _run([cc, "-std=c99", opt, "-fPIC", "-shared", *extra_flags, f"-I{d}",
              *map(str, sources), "-o", str(lib), "-lm"], "building the compiled model on the host")
        self._lib = ctypes.CDLL(str(lib))
        # unload before deleting: glibc's dlopen recognises an already loaded library by
        # device and inode, so a deleted, still-mapped library whose inode is reused by
        # the next build would be returned instead of the new one
        self._finalizer = weakref.finalize(self, _unload_and_remove, self._lib._handle, str(d))
        self._run = self._lib.tm_model_run
        self._run.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        self._run.restype = ctypes.c_int
        self._batch = self._lib.tm_engine_host_batch
        self._batch.restype = ctypes.c_int
        self._in_arr = (ctypes.c_void_p * len(cm.inputs))()
        self._out_arr = (ctypes.c_void_p * len(cm.outputs))()

    def close(self) -> None:
        """Unload the library and remove the build folder (the model cannot run after this)."""
        self._finalizer()

    def _prepare(self, xs: tuple[np.ndarray, ...]) -> tuple[list[np.ndarray], int]:
        if len(xs) != len(self.cm.inputs):
            raise DeployError(f"the model has {len(self.cm.inputs)} inputs, got {len(xs)} arrays")
        arrays = []
        n = None
        for x, info in zip(xs, self.cm.inputs):
            a = np.ascontiguousarray(np.asarray(x), dtype=np.dtype(info.dtype))
            per = int(np.prod(info.shape))
            if a.size % per:
                raise DeployError(f"input of {a.size} values is not a whole number of examples of shape {info.shape}")
            k = a.size // per
            if n is not None and k != n:
                raise DeployError("the model inputs hold different numbers of examples")
            n = k
            arrays.append(a.reshape(k, per))
        return arrays, int(n or 0)

    def run(self, *xs: np.ndarray) -> list[np.ndarray]:
        """Run every example (one ``tm_model_run`` call each); outputs as ``(n, *shape)``."""
        arrays, n = self._prepare(xs)
        outs = [np.zeros((n, int(np.prod(o.shape))), dtype=np.dtype(o.dtype)) for o in self.cm.outputs]
        in_base = [(a.ctypes.data, a.strides[0]) for a in arrays]
        out_base = [(o.ctypes.data, o.strides[0]) for o in outs]
        run, ins, outp = self._run, self._in_arr, self._out_arr
        for i in range(n):
            for k, (base, step) in enumerate(in_base):
                ins[k] = base + i * step
            for k, (base, step) in enumerate(out_base):
                outp[k] = base + i * step
            if run(ins, outp) != 0:
                raise DeployError("tm_model_run returned an error")
        return [o.reshape((n, *info.shape[1:]) if info.shape and info.shape[0] == 1 else (n, *info.shape))
                for o, info in zip(outs, self.cm.outputs)]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Single-input, single-output models: ``(n, ...)`` int8 in, ``(n, ...)`` out."""
        return self.run(x)[0]

    def time_per_inference(self, *xs: np.ndarray, repeat: int = 3, python_loop: bool = True) -> float:
        """Best-of-``repeat`` microseconds per inference.

        ``python_loop=True`` times :meth:`run` (one ctypes call per example, the way the
        TFLM Python runtime is driven); ``False`` times the C batch loop alone.
        """
        arrays, n = self._prepare(xs)
        if n == 0:
            return float("nan")
        best = float("inf")
        for _ in range(max(repeat, 1)):
            if python_loop:
                t0 = time.perf_counter()
                self.run(*xs)
                best = min(best, time.perf_counter() - t0)
            else:
                outs = [np.zeros((n, int(np.prod(o.shape))), dtype=np.dtype(o.dtype)) for o in self.cm.outputs]
                ins = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
                ob = (ctypes.c_void_p * len(outs))(*[o.ctypes.data for o in outs])
                ib = (ctypes.c_long * len(arrays))(*[a.shape[1] * a.itemsize for a in arrays])
                obb = (ctypes.c_long * len(outs))(*[o.shape[1] * o.itemsize for o in outs])
                t0 = time.perf_counter()
                self._batch(ctypes.c_int(n), ins, ib, ob, obb)
                best = min(best, time.perf_counter() - t0)
        return best / n * 1e6


def _sections(size_tool: str, path: Path) -> dict[str, int]:
    proc = subprocess.run([size_tool, "-A", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise DeployError(f"{size_tool} failed on {path.name}: {proc.stderr.strip()[:200]}")
    out: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+\d+", line.strip())
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def _classify(sections: dict[str, int]) -> dict[str, int]:
    code = sum(v for k, v in sections.items() if k == ".text" or k.startswith(".text."))
    const = sum(v for k, v in sections.items() if k.startswith((".rodata", ".data.rel.ro")))
    bss = sum(v for k, v in sections.items() if k.startswith((".bss", "COMMON")))
    return {"code_bytes": int(code), "const_bytes": int(const), "bss_bytes": int(bss)}


def code_size(cm: CompiledModel, *, target: str = "host", core: str = "cortex-m4f") -> dict[str, Any]:
    """Code, constant and arena bytes of the compiled model and the kernels it calls.

    ``target="host"``: ``cc -Os`` object files, ``.text*`` summed (x86-64 / arm64 code
    is larger than Thumb-2: an upper bound for a Cortex-M). ``target="arm"``:
    ``arm-none-eabi-gcc -Os`` for ``core``, linked with ``--gc-sections`` from
    ``tm_model_invoke``, so only reachable kernel code (and the libgcc/libm helpers it
    calls) counts. Raises :class:`DeployError` when the toolchain is missing.
    """
    with tempfile.TemporaryDirectory(prefix="tinyml-engine-size-") as tmp:
        d = Path(tmp)
        cm.write(d)
        shutil.copyfile(tm_model_header(), d / "tm_model.h")
        sources = [d / n for n in cm.sources if n.endswith(".c")] + [d / n for n in cm.kernel_sources]
        if target == "host":
            cc, size_tool = find_compiler("cc"), shutil.which("size")
            if cc is None or size_tool is None:
                raise DeployError("code size on the host needs cc and size (binutils)")
            total = {"code_bytes": 0, "const_bytes": 0, "bss_bytes": 0}
            for src in sources:
                obj = src.with_suffix(".o")
                _run([cc, "-std=c99", "-Os", "-ffunction-sections", "-fdata-sections", f"-I{d}", "-c",
                      str(src), "-o", str(obj)], f"compiling {src.name} for the host")
                for k, v in _classify(_sections(size_tool, obj)).items():
                    total[k] += v
            return {**total, "target": "host", "compiler": Path(cc).name, "flags": "-Os"}
        if target != "arm":
            raise DeployError(f"code_size target={target!r} must be 'host' or 'arm'")
        gcc, size_tool = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
        if gcc is None or size_tool is None:
            raise DeployError("arm-none-eabi-gcc / arm-none-eabi-size are not installed (apt install gcc-arm-none-eabi)")
        flags = list(ARM_CORES.get(core, ARM_FLAGS))
        elf = d / "model.elf"
        _run([gcc, "-std=c99", "-Os", *flags, "-ffunction-sections", "-fdata-sections", f"-I{d}",
              "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
              "-Wl,-e,tm_model_invoke", *map(str, sources), "-o", str(elf), "-lm"],
             f"building the compiled model for {core}")
        sizes = _classify(_sections(size_tool, elf))
        return {**sizes, "target": core, "compiler": "arm-none-eabi-gcc", "flags": " ".join(["-Os", *flags])}
