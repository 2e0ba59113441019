"""Run ``.tflite`` models on LiteRT and on the TFLite Micro runtime, and compare them.

Two interpreters, both without TensorFlow:

* LiteRT (``ai_edge_litert.interpreter.Interpreter``), created with
  ``OpResolverType.BUILTIN_REF``: the reference kernels, the same arithmetic as TFLM's
  portable kernels, so int8 outputs can be compared bit for bit (the optimised
  ``BUILTIN`` kernels and the XNNPACK delegate may round differently).
* TFLite Micro (``tflite_micro.python.tflite_micro.runtime``), the interpreter the
  device runs, with the given tensor-arena size. It runs one example per invoke
  (input shape ``[1, ...]``), like the firmware.

Float inputs are quantised exactly as TFLite's ``QUANTIZE`` kernel does it (reference
``AffineQuantize`` in ``tensorflow/lite/kernels/internal/reference/quantize.h``):
``q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127)`` with the
division in float32 (:func:`quantize_input`; a test checks it against LiteRT's QUANTIZE
op on values that lie exactly half-way between two steps, where rounding rules differ).
Outputs are dequantised with ``(q - zero_point) * scale`` in float32
(:func:`dequantize`), so app metrics score the int8 model like the float one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyml_suite.common.errors import DeployError

__all__ = [
    "TensorInfo",
    "compare",
    "dequantize",
    "io_info",
    "litert_predictor",
    "locate_divergence",
    "quantize_input",
    "run_litert",
    "run_tflm",
    "tflm_predictor",
]

log = logging.getLogger("tinyml")

PredictFn = Callable[[np.ndarray], np.ndarray]

_INT_RANGES = {np.dtype(np.int8): (-128, 127), np.dtype(np.int16): (-32768, 32767), np.dtype(np.uint8): (0, 255)}


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and (per-tensor) quantisation of a model input or output."""

    shape: tuple[int, ...]
    dtype: str  # numpy dtype name: "int8", "float32", ...
    scale: float | None  # None for a float tensor
    zero_point: int | None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def as_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


def quantize_input(x: np.ndarray, scale: float, zero_point: int, dtype: Any = np.int8) -> np.ndarray:
    """Quantise float inputs as TFLite's QUANTIZE kernel (and the firmware) does.

    ``round_half_away_from_zero(float32(x) / float32(scale)) + zero_point``, clamped
    to the range of ``dtype``.

    Examples
    --------
    >>> quantize_input(np.array([0.25, -0.25, 0.75, 100.0]), 0.5, 0)
    array([  1,  -1,   2, 127], dtype=int8)
    """
    dtype = np.dtype(dtype)
    lo, hi = _INT_RANGES[dtype]
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))  # TfLiteRound = std::round
    q = r.astype(np.int64) + int(zero_point)
    return np.clip(q, lo, hi).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32.

    Examples
    --------
    >>> dequantize(np.array([-128, 0, 127], dtype=np.int8), 1 / 256, -128).tolist()
    [0.0, 0.5, 0.99609375]
    """
    return ((np.asarray(q).astype(np.int32) - int(zero_point)).astype(np.float32) * np.float32(scale)).astype(
        np.float32
    )


def _info_from_details(d: dict[str, Any]) -> TensorInfo:
    qp = d.get("quantization_parameters", {}) or {}
    scales = np.asarray(qp.get("scales", []))
    zps = np.asarray(qp.get("zero_points", []))
    dtype = np.dtype(d["dtype"]).name
    if scales.size > 1:
        raise DeployError(f"model I/O tensor has per-axis quantisation ({scales.size} scales); expected one scale")
    scale = float(scales[0]) if scales.size == 1 and dtype != "float32" else None
    zp = int(zps[0]) if scale is not None else None
    return TensorInfo(tuple(int(s) for s in d["shape"]), dtype, scale, zp)


def _tflm_interpreter(model_bytes: bytes, arena_size: int):
    from tinyml_suite.common.deploy.tflite_ops import parse_model

    parse_model(model_bytes)  # one-line DeployError for empty/corrupt bytes
    if int(arena_size) <= 0:
        raise DeployError(f"arena_size={arena_size} must be positive; measure it with measure_arena()")
    from tflite_micro.python.tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=int(arena_size))
    except RuntimeError as exc:
        raise DeployError(
            f"TFLM could not allocate the model in an arena of {arena_size} bytes ({exc}); "
            "use the size measure_arena() reports"
        ) from None


def _litert_interpreter(model_bytes: bytes, num_threads: int = 1):
    from tinyml_suite.common.deploy.tflite_ops import parse_model

    parse_model(model_bytes)
    from ai_edge_litert import interpreter as litert

    try:
        return litert.Interpreter(
            model_content=bytes(model_bytes),
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
            num_threads=num_threads,
        )
    except (ValueError, RuntimeError) as exc:
        raise DeployError(f"LiteRT cannot load the model: {str(exc).splitlines()[0]}") from None


def io_info(model_bytes: bytes) -> tuple[TensorInfo, TensorInfo]:
    """Input and output :class:`TensorInfo` of a single-input, single-output model."""
    it = _litert_interpreter(model_bytes)
    ins, outs = it.get_input_details(), it.get_output_details()
    if len(ins) != 1 or len(outs) != 1:
        raise DeployError(
            f"model has {len(ins)} inputs and {len(outs)} outputs; the deploy layer handles one of each"
        )
    i, o = _info_from_details(ins[0]), _info_from_details(outs[0])
    return TensorInfo((1, *i.shape[1:]), i.dtype, i.scale, i.zero_point), TensorInfo(
        (1, *o.shape[1:]), o.dtype, o.scale, o.zero_point
    )


def _check_int8(info_in: TensorInfo, info_out: TensorInfo, what: str) -> None:
    if info_in.dtype != "int8" or info_out.dtype != "int8" or not info_in.quantized or not info_out.quantized:
        raise DeployError(
            f"{what}: the model's input is {info_in.dtype} and output {info_out.dtype}, not int8; "
            "it is not a full-int8 model: convert it with variant='int8'"
        )


def _prepare_inputs(X: np.ndarray, info: TensorInfo, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != len(info.shape) or tuple(X.shape[1:]) != tuple(info.shape[1:]):
        raise DeployError(
            f"{what}: inputs of shape {tuple(X.shape)} do not match the model input "
            f"{('n', *info.shape[1:])}"
        )
    if info.quantized:
        if X.dtype == np.dtype(info.dtype):
            return X  # already quantised
        return quantize_input(X, info.scale, info.zero_point, info.dtype)
    return X.astype(info.dtype)


def run_tflm(
    model_bytes: bytes,
    X: np.ndarray,
    *,
    arena_size: int,
    require_int8: bool = False,
    timing: dict[str, float] | None = None,
) -> np.ndarray:
    """Raw outputs of the model on the TFLM runtime, one invoke per example.

    Parameters
    ----------
    model_bytes : bytes
        the ``.tflite`` model
    X : np.ndarray [shape=(n, *input_shape[1:])]
        float inputs (quantised here with the model's input scale and zero point) or
        inputs already in the model's input dtype
    arena_size : int
        tensor arena in bytes (see :func:`tinyml_suite.common.deploy.arena.measure_arena`)
    require_int8 : bool
        refuse a model whose input or output is not int8
    timing : dict or None
        if given, receives ``"us_per_inference"`` (host wall-clock, set_input+invoke+get_output)

    Returns
    -------
    np.ndarray [shape=(n, *output_shape[1:])]
        in the model's output dtype (int8 for an int8 model)
    """
    info_in, info_out = io_info(model_bytes)
    if require_int8:
        _check_int8(info_in, info_out, "TFLM int8 run")
    Xq = _prepare_inputs(X, info_in, "TFLM run")
    return _tflm_invoke_all(_tflm_interpreter(model_bytes, arena_size), Xq, info_out, timing)


def _tflm_invoke_all(it: Any, Xq: np.ndarray, info_out: TensorInfo, timing: dict[str, float] | None = None) -> np.ndarray:
    out = np.zeros((len(Xq), *info_out.shape[1:]), dtype=np.dtype(info_out.dtype))
    t0 = time.perf_counter()
    try:
        for i in range(len(Xq)):
            it.set_input(Xq[i : i + 1], 0)
            it.invoke()
            out[i] = it.get_output(0)[0]
    except RuntimeError as exc:
        raise DeployError(f"TFLM failed to run the model: {exc}") from None
    if timing is not None and len(Xq):
        timing["us_per_inference"] = (time.perf_counter() - t0) / len(Xq) * 1e6
    return out


def run_litert(model_bytes: bytes, X: np.ndarray, *, require_int8: bool = False, batch: int = 256) -> np.ndarray:
    """Raw outputs of the model on LiteRT (reference kernels), in batches of ``batch``."""
    info_in, info_out = io_info(model_bytes)
    if require_int8:
        _check_int8(info_in, info_out, "LiteRT int8 run")
    Xq = _prepare_inputs(X, info_in, "LiteRT run")
    return _litert_invoke_all(_litert_interpreter(model_bytes), Xq, info_in, info_out, batch)


def _litert_invoke_all(
    it: Any, Xq: np.ndarray, info_in: TensorInfo, info_out: TensorInfo, batch: int = 256
) -> np.ndarray:
    d_in = it.get_input_details()[0]
    i_idx = d_in["index"]
    o_idx = it.get_output_details()[0]["index"]
    signature = d_in.get("shape_signature", d_in["shape"])
    fixed = len(signature) == 0 or int(signature[0]) != -1
    if fixed:
        batch = 1  # fixed batch of 1 (how this suite converts): one example per invoke
    parts = []
    current = None
    try:
        for start in range(0, len(Xq), batch):
            chunk = np.ascontiguousarray(Xq[start : start + batch])
            if current != len(chunk):
                if int(it.get_input_details()[0]["shape"][0]) != len(chunk):
                    it.resize_tensor_input(i_idx, [len(chunk), *info_in.shape[1:]])
                it.allocate_tensors()
                current = len(chunk)
            it.set_tensor(i_idx, chunk)
            it.invoke()
            parts.append(np.array(it.get_tensor(o_idx)))
    except (RuntimeError, ValueError) as exc:
        raise DeployError(f"LiteRT failed to run the model: {str(exc).splitlines()[0]}") from None
    if not parts:
        return np.zeros((0, *info_out.shape[1:]), dtype=np.dtype(info_out.dtype))
    return np.concatenate(parts)


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Compare two raw output arrays (e.g. LiteRT vs TFLM, int8).

    Returns ``{"exact": bool, "max_abs_diff": int|float, "n": int,
    "n_mismatched": int}`` where the difference is in the arrays' own units (int8 steps
    for int8 outputs) and ``n_mismatched`` counts examples with any differing element.

    Examples
    --------
    >>> compare(np.array([[1, 2], [3, 4]], np.int8), np.array([[1, 2], [3, 6]], np.int8))
    {'exact': False, 'max_abs_diff': 2, 'n': 2, 'n_mismatched': 1}
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise DeployError(f"cannot compare outputs of shapes {a.shape} and {b.shape}")
    integer = np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)
    d = np.abs(a.astype(np.int64) - b.astype(np.int64)) if integer else np.abs(a.astype(np.float64) - b.astype(np.float64))
    mx = (int(d.max()) if integer else float(d.max())) if d.size else 0
    per_example = d.reshape(len(d), -1).max(axis=1) if d.size else np.zeros(0)
    return {"exact": bool(mx == 0), "max_abs_diff": mx, "n": len(a), "n_mismatched": int((per_example > 0).sum())}


def tflm_predictor(
    model_bytes: bytes,
    arena_size: int | None = None,
    *,
    require_int8: bool = True,
    record: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> PredictFn:
    """A predictor that runs the model on TFLM and returns DEQUANTISED float32 outputs.

    With ``arena_size=None`` the arena is measured first (child processes, a few
    seconds). With ``require_int8`` (default) a model whose input or output is not int8
    raises :class:`DeployError` at once. With a ``record`` list, every call appends its
    quantised inputs and TFLM's raw outputs (``(Xq, raw)``), so another runtime can be
    compared on exactly the inputs the metrics saw (the verify stage does this for the
    compiled model).
    """
    info_in, info_out = io_info(model_bytes)
    if require_int8:
        _check_int8(info_in, info_out, "TFLM int8 predictor")
    if arena_size is None:
        from tinyml_suite.common.deploy.arena import measure_arena

        arena_size = measure_arena(model_bytes).with_margin_bytes
    it = _tflm_interpreter(model_bytes, int(arena_size))  # one interpreter, reused

    def predict(X: np.ndarray) -> np.ndarray:
        Xq = _prepare_inputs(X, info_in, "TFLM predictor")
        raw = _tflm_invoke_all(it, Xq, info_out)
        if record is not None:
            record.append((np.asarray(Xq), np.asarray(raw)))
        if info_out.quantized:
            return dequantize(raw, info_out.scale, info_out.zero_point)
        return raw.astype(np.float32)

    return predict


def litert_predictor(model_bytes: bytes) -> PredictFn:
    """A predictor on LiteRT (reference kernels) returning float32 outputs.

    For float32 / float16 / dynamic-range models the outputs are float already; for an
    int8 model they are dequantised.
    """
    info_in, info_out = io_info(model_bytes)
    it = _litert_interpreter(model_bytes)  # one interpreter, reused

    def predict(X: np.ndarray) -> np.ndarray:
        raw = _litert_invoke_all(it, _prepare_inputs(X, info_in, "LiteRT predictor"), info_in, info_out)
        if info_out.quantized:
            return dequantize(raw, info_out.scale, info_out.zero_point)
        return raw.astype(np.float32)

    return predict


def locate_divergence(model_bytes: bytes, x: np.ndarray, *, arena_size: int) -> dict[str, Any] | None:
    """The first operator whose output differs between LiteRT and TFLM on one example.

    Both interpreters keep every intermediate tensor (LiteRT
    ``experimental_preserve_all_tensors``, TFLM ``kPreserveAllTensors``, with a larger
    arena); operators are walked in execution order. Returns ``None`` when every
    operator output agrees, else ``{"op_index", "op", "tensor", "max_abs_diff"}``.
    """
    from ai_edge_litert import interpreter as litert
    from tflite_micro.python.tflite_micro import runtime

    from tinyml_suite.common.deploy.tflite_ops import _op_name, parse_model

    model = parse_model(model_bytes)
    sg = model.Subgraphs(0)
    info_in, _ = io_info(model_bytes)
    xq = _prepare_inputs(np.asarray(x)[None] if np.ndim(x) == len(info_in.shape) - 1 else x, info_in, "divergence")
    total = 0
    for t in range(sg.TensorsLength()):
        shape = sg.Tensors(t).ShapeAsNumpy() if sg.Tensors(t).ShapeLength() else np.array([1])
        total += int(np.prod(shape)) * 4 + 16
    li = litert.Interpreter(
        model_content=bytes(model_bytes),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    li.allocate_tensors()
    li.set_tensor(li.get_input_details()[0]["index"], xq[:1])
    li.invoke()
    tm = runtime.Interpreter.from_bytes(
        bytes(model_bytes),
        arena_size=int(arena_size) + 2 * total,
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,
    )
    tm.set_input(xq[:1], 0)
    tm.invoke()
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        for t in op.OutputsAsNumpy():
            t = int(t)
            if not 0 <= t < sg.TensorsLength():
                continue
            a = np.asarray(li.get_tensor(t))
            b = np.asarray(tm.GetTensor(t, 0)["tensor_data"])
            if a.shape != b.shape or a.size == 0:
                continue
            d = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
            if d > 0:
                name = sg.Tensors(t).Name()
                return {
                    "op_index": i,
                    "op": _op_name(model, op.OpcodeIndex()),
                    "tensor": name.decode("utf-8", "replace") if name else str(t),
                    "max_abs_diff": float(d),
                }
    return None
