"""A ``.tflite`` flatbuffer as a small, plain graph the compiler works on.

The flatbuffer is read with the schema module generated from TensorFlow Lite's
``schema.fbs`` that the ``tflite-micro`` wheel ships
(``tflite_micro.tensorflow.lite.micro.python.schema_py_generated``, the reader
:mod:`tinyml_suite.common.deploy.tflite_ops` uses too); nothing here parses bytes by
hand. :func:`read_graph` turns the first (and only) subgraph into :class:`Graph`:
tensors with their shape, type, quantisation and constant data, and operators in
execution order with their builtin options as a plain ``dict`` (snake_case keys, read
from the options table the schema names for the operator, e.g. ``Conv2DOptions``:
``{"padding": 0, "stride_w": 1, ...}``).

Examples
--------
>>> snake("FusedActivationFunction"), snake("StrideW"), snake("DilationHFactor")
('fused_activation_function', 'stride_w', 'dilation_h_factor')
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from tinyml_suite.common.errors import DeployError

__all__ = ["Graph", "Operator", "Tensor", "read_graph", "snake"]

#: TensorType enum value -> numpy dtype name (types the engine can meet)
_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8",
           10: "float64", 12: "uint64", 15: "uint32", 16: "uint16"}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def snake(name: str) -> str:
    """``CamelCase`` -> ``camel_case`` (schema method names to option keys)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class Tensor:
    """One tensor of the subgraph."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name, or "type<N>" for a type the engine does not know
    scale: np.ndarray | None = None  # float32 [n] (n > 1: per-axis)
    zero_point: np.ndarray | None = None  # int64 [n]
    quantized_dimension: int = 0
    data: np.ndarray | None = None  # constant value, reshaped to ``shape``

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale.size > 0

    @property
    def per_axis(self) -> bool:
        return self.scale is not None and self.scale.size > 1

    def scalar_scale(self) -> float:
        """The per-tensor scale as the float32 value TFLite stores (as a Python float)."""
        if not self.quantized:
            raise DeployError(f"tensor '{self.name}' is not quantised (no scale)")
        return float(np.float32(self.scale[0]))

    def scalar_zero_point(self) -> int:
        return int(self.zero_point[0]) if self.zero_point is not None and self.zero_point.size else 0


@dataclass
class Operator:
    """One operator, in execution order."""

    index: int
    op: str  # builtin name, e.g. "CONV_2D"; custom ops by their custom code
    inputs: list[int]  # tensor indices; -1 marks an absent optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """The subgraph: tensors, operators, graph inputs and outputs."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    name: str = ""

    def t(self, index: int) -> Tensor:
        return self.tensors[index]


@lru_cache(maxsize=1)
def _enum_names(enum_name: str) -> dict[int, str]:
    enum = getattr(_schema(), enum_name)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _options(op_table: Any) -> dict[str, Any]:
    """The builtin options of an operator as ``{snake_name: value}``."""
    schema = _schema()
    kind = op_table.BuiltinOptionsType()
    if kind == 0:
        return {}
    cls_name = _enum_names("BuiltinOptions").get(kind)
    cls = getattr(schema, cls_name, None) if cls_name else None
    table = op_table.BuiltinOptions()
    if cls is None or table is None:
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith(("_", "Init", "GetRoot")) or name.endswith(("BufferHasIdentifier", "IsNone", "Length")):
            continue
        if len(inspect.signature(fn).parameters) != 1:
            continue  # element accessors taking an index (the AsNumpy twin is read instead)
        value = getattr(obj, name)()
        key = snake(name[: -len("AsNumpy")] if name.endswith("AsNumpy") else name)
        if isinstance(value, np.ndarray):
            value = [int(v) if np.issubdtype(v.dtype, np.integer) else v.item() for v in value]
        elif isinstance(value, int) and not isinstance(value, bool) and name.endswith("AsNumpy"):
            value = []  # an absent vector reads as 0
        out[key] = value
    return out


def _buffer_data(model: Any, model_bytes: bytes, tensor: Any) -> np.ndarray | None:
    b = tensor.Buffer()
    if b <= 0 or b >= model.BuffersLength():
        return None
    buf = model.Buffers(b)
    offset, size = int(buf.Offset()), int(buf.Size())
    if offset > 1:  # data stored after the flatbuffer (models > 2 GB; kept general)
        return np.frombuffer(model_bytes, dtype=np.uint8, count=size, offset=offset)
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy()


def read_graph(model_bytes: bytes) -> Graph:
    """Read the model's single subgraph into a :class:`Graph`.

    Raises :class:`DeployError` (one line) for bytes that are not a TFLite model, a
    model with control flow (more than one subgraph), or a tensor with a dynamic shape.
    """
    from tinyml_suite.common.deploy.tflite_ops import _op_name, parse_model

    model = parse_model(model_bytes)
    if model.SubgraphsLength() != 1:
        raise DeployError(
            f"the model has {model.SubgraphsLength()} subgraphs (control flow: IF/WHILE/CALL_ONCE); "
            "the engine compiles single-subgraph models - use board.runtime=tflm"
        )
    sg = model.Subgraphs(0)
    tensors: list[Tensor] = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if t.ShapeSignatureLength() and any(int(d) < 0 for d in t.ShapeSignatureAsNumpy()):
            sig = [int(d) for d in t.ShapeSignatureAsNumpy()]
            if any(d < 0 for d in sig[1:]) or len(shape) == 0 or shape[0] != 1:
                raise DeployError(
                    f"tensor '{_name(t, i)}' has a dynamic shape {sig}; the engine needs static shapes "
                    "(convert with a fixed batch of 1)"
                )
        dtype = _DTYPES.get(int(t.Type()), f"type{int(t.Type())}")
        q = t.Quantization()
        scale = zp = None
        qdim = 0
        if q is not None and q.ScaleLength() > 0:
            scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
            zp = (np.asarray(q.ZeroPointAsNumpy(), dtype=np.int64) if q.ZeroPointLength()
                  else np.zeros(scale.size, dtype=np.int64))
            qdim = int(q.QuantizedDimension())
        raw = _buffer_data(model, model_bytes, t)
        data = None
        if raw is not None and not dtype.startswith("type"):
            arr = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<"))
            n = int(np.prod(shape)) if shape else 1
            if arr.size != n:
                raise DeployError(
                    f"tensor '{_name(t, i)}' holds {arr.size} values for shape {list(shape)}; "
                    "the model is corrupt or packed (int4/sparse weights are not supported by the engine)"
                )
            data = arr.astype(np.dtype(dtype)).reshape(shape)
        elif raw is not None:
            data = np.asarray(raw)
        if t.Sparsity() is not None:
            raise DeployError(f"tensor '{_name(t, i)}' is sparse; the engine needs dense weights - use board.runtime=tflm")
        tensors.append(Tensor(i, _name(t, i), shape, dtype, scale, zp, qdim, data))
    ops: list[Operator] = []
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        ops.append(Operator(
            index=i,
            op=_op_name(model, o.OpcodeIndex()),
            inputs=[int(v) for v in o.InputsAsNumpy()] if o.InputsLength() else [],
            outputs=[int(v) for v in o.OutputsAsNumpy()] if o.OutputsLength() else [],
            options=_options(o),
        ))
    name = sg.Name().decode("utf-8", "replace") if sg.Name() else ""
    return Graph(
        tensors=tensors,
        operators=ops,
        inputs=[int(v) for v in sg.InputsAsNumpy()],
        outputs=[int(v) for v in sg.OutputsAsNumpy()],
        name=name,
    )


def _name(t: Any, i: int) -> str:
    n = t.Name()
    return n.decode("utf-8", "replace") if n else f"tensor{i}"
