"""``compile_model``: ``.tflite`` bytes in, C sources + memory plan + figures out."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.deploy.engine.emit import MODEL_C, MODEL_H, emit_sources
from tinyml_suite.common.deploy.engine.graph import Graph, read_graph
from tinyml_suite.common.deploy.engine.lower import Step, lower
from tinyml_suite.common.deploy.engine.plan import MemoryPlan, plan_memory

__all__ = ["HEADERS", "CompiledModel", "IOTensor", "compile_model", "kernels_dir"]

#: headers every compiled model needs beside its kernel sources
HEADERS = ("tm_engine.h", "tm_engine_fixedpoint.h", "tm_engine_broadcast.h", "tm_engine_dsp.h")


def kernels_dir() -> Path:
    """``firmware_templates/engine`` of the installed package."""
    return Path(str(resources.files("tinyml_suite.firmware_templates") / "engine"))


@dataclass(frozen=True)
class IOTensor:
    """A graph input or output: shape, dtype and (per-tensor) quantisation."""

    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize if self.shape else np.dtype(self.dtype).itemsize


@dataclass
class CompiledModel:
    """A model compiled to C: the generated sources, the kernels they call, the plan."""

    graph: Graph
    steps: list[Step]
    plan: MemoryPlan
    sources: dict[str, str]  # generated file name -> text
    kernel_sources: tuple[str, ...]  # kernel .c files (in kernels_dir()) the model calls
    inputs: tuple[IOTensor, ...]
    outputs: tuple[IOTensor, ...]

    @property
    def ops(self) -> list[str]:
        return sorted({s.op.op for s in self.steps})

    @property
    def weights_bytes(self) -> int:
        """Constant bytes in flash: weights, folded biases, multipliers, shifts, constant operands."""
        arrays = sum(a.nbytes for s in self.steps for a in s.arrays)
        consts = {t for s in self.steps for t in s.inputs if self.plan.storage[t].kind == "const"}
        return int(arrays + sum(self.graph.t(t).nbytes for t in consts))

    @property
    def params_bytes(self) -> int:
        """Upper bound of the parameter structs' size (4 bytes per field element)."""
        total = 0
        for s in self.steps:
            for v in s.fields.values():
                total += 4 * (len(v) if isinstance(v, list) else 1)
        return total

    @property
    def scratch_bytes(self) -> int:
        """The static arena: all the RAM the model needs besides its input and output buffers."""
        return self.plan.arena_bytes

    @property
    def macs(self) -> int:
        return int(sum(s.macs for s in self.steps if s.op.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")))

    def kernel_paths(self) -> list[Path]:
        root = kernels_dir()
        return [root / f for f in self.kernel_sources]

    def header_paths(self) -> list[Path]:
        root = kernels_dir()
        return [root / f for f in HEADERS]

    def write(self, out_dir: Path | str, *, kernels: bool = True) -> list[Path]:
        """Write the generated sources (and copies of the kernels and headers) to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in self.sources.items():
            (out / name).write_text(text)
            written.append(out / name)
        if kernels:
            for p in self.kernel_paths() + self.header_paths():
                shutil.copyfile(p, out / p.name)
                written.append(out / p.name)
        return written

    def figures(self) -> dict[str, Any]:
        """The compile-time figures (code bytes are measured separately: engine.host)."""
        return {
            "ops": self.ops,
            "n_ops": len(self.steps),
            "weights_bytes": self.weights_bytes,
            "scratch_bytes": self.scratch_bytes,
            "naive_activation_bytes": self.plan.naive_bytes,
            "macs": self.macs,
            "kernel_sources": list(self.kernel_sources),
        }


def _io(graph: Graph, idx: int) -> IOTensor:
    t = graph.t(idx)
    return IOTensor(
        shape=tuple(int(d) for d in t.shape),
        dtype=t.dtype,
        scale=t.scalar_scale() if t.quantized else None,
        zero_point=t.scalar_zero_point() if t.quantized else None,
    )


def compile_model(model_bytes: bytes, *, config_hash: str = "-", inplace: bool = True) -> CompiledModel:
    """Compile an int8 ``.tflite`` model to C99 (see the package docstring).

    Parameters
    ----------
    model_bytes : bytes
        the ``.tflite`` flatbuffer
    config_hash : str
        written into the banner of the generated files
    inplace : bool
        let element-wise operators overwrite an input that dies there (smaller arena)

    Returns
    -------
    CompiledModel

    Raises
    ------
    DeployError
        bytes that are not a model, or an operator / tensor type the engine does not
        compute exactly as TFLite Micro (one line naming it; use ``board.runtime=tflm``)
    """
    graph = read_graph(model_bytes)
    steps = lower(graph)
    plan = plan_memory(graph, steps, inplace=inplace)
    sources = emit_sources(graph, steps, plan, config_hash=config_hash)
    kernels = tuple(sorted({s.source for s in steps if s.source}))
    return CompiledModel(
        graph=graph,
        steps=steps,
        plan=plan,
        sources=sources,
        kernel_sources=kernels,
        inputs=tuple(_io(graph, i) for i in graph.inputs),
        outputs=tuple(_io(graph, i) for i in graph.outputs),
    )


# keep the generated file names importable from here too
MODEL_FILES = (MODEL_C, MODEL_H)
