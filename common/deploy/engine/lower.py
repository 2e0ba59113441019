"""Lowering: each TFLite operator becomes one kernel call with compile-time constants.

A lowering function takes the :class:`~.graph.Graph` and one :class:`~.graph.Operator`,
checks that the operator is one the engine computes exactly as TensorFlow Lite Micro
does (types, quantisation, options), and returns a :class:`Step`: the C kernel, the
fields of its ``const`` parameter struct, the constant arrays it needs (weights, folded
biases, per-channel multipliers and shifts) and the tensors it reads and writes. The
registry :data:`LOWERINGS` maps builtin operator names to these functions; adding an
operator is one function here plus one kernel file in ``firmware_templates/engine``
(docs/DEPLOY.md, "Adding an operator").

Anything the engine cannot reproduce bit for bit raises :class:`DeployError` naming
the operator, its index and the reason, and pointing to ``board.runtime=tflm``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyml_suite.common.deploy.engine import quant
from tinyml_suite.common.deploy.engine.graph import Graph, Operator, Tensor
from tinyml_suite.common.errors import DeployError

__all__ = ["LOWERINGS", "ConstArray", "Step", "lower", "supported_ops"]

MAX_DIMS = 6


@dataclass
class ConstArray:
    """A constant array the generated C holds in flash."""

    name: str  # suffix; the emitter prefixes it
    ctype: str  # "int8_t", "int32_t", "float"
    values: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * {"int8_t": 1, "int32_t": 4, "float": 4}[self.ctype]


@dataclass
class Step:
    """One operator lowered to one kernel call (or to an alias / a copy)."""

    op: Operator
    kernel: str  # C function, or "alias" (no code: output shares input storage) / "copy"
    params_type: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # ints, lists of ints, floats, or ("array", name)
    arrays: list[ConstArray] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)  # tensors passed to the kernel, in order
    outputs: list[int] = field(default_factory=list)
    source: str = ""  # kernel file in firmware_templates/engine
    inplace: tuple[int, ...] = ()  # positions in `inputs` the output may overwrite (same bytes)
    macs: int = 0
    list_input: bool = False  # the kernel takes the inputs as an array of pointers (CONCATENATION)


def _fail(op: Operator, why: str) -> DeployError:
    return DeployError(
        f"operator {op.op} (op #{op.index}) cannot be compiled by the engine: {why}; "
        "deploy with board.runtime=tflm instead"
    )


def _tensor(g: Graph, op: Operator, pos: int, what: str, *, optional: bool = False) -> Tensor | None:
    if pos >= len(op.inputs) or op.inputs[pos] < 0:
        if optional:
            return None
        raise _fail(op, f"input {pos} ({what}) is missing")
    return g.t(op.inputs[pos])


def _need(op: Operator, t: Tensor, dtype: str, what: str) -> None:
    if t.dtype != dtype:
        hint = " (16x8 quantisation is not supported)" if t.dtype == "int16" else ""
        raise _fail(op, f"{what} '{t.name}' is {t.dtype}, expected {dtype}{hint}")


def _per_tensor(op: Operator, t: Tensor, what: str) -> tuple[float, int]:
    if not t.quantized:
        raise _fail(op, f"{what} '{t.name}' has no quantisation parameters")
    if t.per_axis:
        raise _fail(op, f"{what} '{t.name}' is quantised per axis; TFLite Micro expects one scale here")
    return t.scalar_scale(), t.scalar_zero_point()


def _act(op: Operator, out: Tensor) -> tuple[int, int]:
    scale, zp = _per_tensor(op, out, "output")
    code = int(op.options.get("fused_activation_function", 0))
    try:
        return quant.activation_range(code, scale, zp)
    except DeployError as exc:
        raise _fail(op, str(exc).split(";")[0]) from None


def _fold_bias(op: Operator, bias: Tensor | None, weight_sums: np.ndarray, in_zp: int) -> np.ndarray:
    b = np.zeros(weight_sums.size, dtype=np.int64) if bias is None else bias.data.astype(np.int64).ravel()
    if b.size != weight_sums.size:
        raise _fail(op, f"bias has {b.size} values for {weight_sums.size} output channels")
    folded = b - int(in_zp) * weight_sums.astype(np.int64)
    if folded.min(initial=0) < quant.INT32_MIN or folded.max(initial=0) > quant.INT32_MAX:
        raise _fail(op, "a bias with the input zero point folded in does not fit int32")
    return folded.astype(np.int32)


def _channel_multipliers(op: Operator, in_scale: float, w: Tensor, out_scale: float, n: int,
                         *, per_tensor_float_product: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) as TFLite Micro's Prepare computes them."""
    ws = w.scale.astype(np.float32)
    if ws.size not in (1, n):
        raise _fail(op, f"weights have {ws.size} scales for {n} output channels")
    mult = np.zeros(n, dtype=np.int32)
    shift = np.zeros(n, dtype=np.int8)
    for c in range(n):
        s = float(ws[c if ws.size > 1 else 0])
        if per_tensor_float_product:  # GetQuantizedConvolutionMultipler: float product first
            real = quant.f32(np.float32(in_scale) * np.float32(s)) / float(out_scale)
        else:
            real = float(in_scale) * s / float(out_scale)
        m, sh = quant.quantize_multiplier(real)
        if sh > 30:
            raise _fail(op, f"channel {c} needs a left shift of {sh} (> 30): its scales are degenerate")
        mult[c], shift[c] = m, sh
    return mult, shift


def _check_weights_symmetric(op: Operator, w: Tensor) -> None:
    if w.zero_point is not None and np.any(w.zero_point != 0):
        raise _fail(op, f"weights '{w.name}' have a non-zero zero point (int8 weights must be symmetric)")
    if not w.is_const:
        raise _fail(op, f"weights '{w.name}' are not constant")


def _padding(op: Operator, in_size: int, k: int, stride: int, dil: int, out_size: int, padding: int) -> int:
    """``ComputePaddingHeightWidth``: the leading padding; checks the output size."""
    eff = (k - 1) * dil + 1
    if padding == 0:  # SAME
        expect = (in_size + stride - 1) // stride
    elif padding == 1:  # VALID
        expect = (in_size - eff + stride) // stride
    else:
        raise _fail(op, f"padding type {padding} is unknown")
    if expect != out_size:
        raise _fail(op, f"output size {out_size} differs from the {('SAME', 'VALID')[padding]} size {expect}")
    total = (out_size - 1) * stride + eff - in_size
    return max(total, 0) // 2


def _shape4(op: Operator, t: Tensor, what: str) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise _fail(op, f"{what} '{t.name}' has shape {list(t.shape)}, expected 4-D NHWC")
    return tuple(int(d) for d in t.shape)  # type: ignore[return-value]


# -- convolutions and fully connected ------------------------------------------------------


def _conv_tensors(g: Graph, op: Operator) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """Input, filter, bias (or None) and output of a (depthwise) convolution, types checked."""
    x = _tensor(g, op, 0, "input")
    w = _tensor(g, op, 1, "filter")
    b = _tensor(g, op, 2, "bias", optional=True)
    y = g.t(op.outputs[0])
    for t, what in ((x, "input"), (y, "output"), (w, "filter")):
        _need(op, t, "int8", what)
    if b is not None:
        _need(op, b, "int32", "bias")
        if not b.is_const:
            raise _fail(op, "the bias is not constant")
    _check_weights_symmetric(op, w)
    return x, w, b, y


def _conv_window(op: Operator, ih: int, iw: int, kh: int, kw: int, oh: int, ow: int) -> dict[str, int]:
    """Strides, dilations and the top/left padding of a (depthwise) convolution's window."""
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    pad = int(o.get("padding", 0))
    return {"stride_h": sh, "stride_w": sw, "dil_h": dh, "dil_w": dw,
            "pad_top": _padding(op, ih, kh, sh, dh, oh, pad), "pad_left": _padding(op, iw, kw, sw, dw, ow, pad)}


def _conv_quant(op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor, oc: int,
                weight_sums: np.ndarray) -> tuple[dict[str, Any], list[ConstArray]]:
    """The requantisation parameters (zero points, activation range, array references) and the
    constant arrays (weights, bias with the input zero point folded in, multipliers, shifts)."""
    s_in, zp_in = _per_tensor(op, x, "input")
    s_out, zp_out = _per_tensor(op, y, "output")
    act_min, act_max = _act(op, y)
    mult, shift = _channel_multipliers(op, s_in, w, s_out, oc)
    bias = _fold_bias(op, b, weight_sums, zp_in)
    arrays = [ConstArray("w", "int8_t", w.data.astype(np.int8).ravel()), ConstArray("b", "int32_t", bias),
              ConstArray("m", "int32_t", mult), ConstArray("s", "int8_t", shift)]
    return {"in_zp": zp_in, "out_zp": zp_out, "act_min": act_min, "act_max": act_max,
            "weights": ("array", "w"), "bias": ("array", "b"), "mult": ("array", "m"), "shift": ("array", "s"),
            }, arrays


def lower_conv_2d(g: Graph, op: Operator) -> Step:
    x, w, b, y = _conv_tensors(g, op)
    n, ih, iw, ic = _shape4(op, x, "input")
    oc, kh, kw, fic = _shape4(op, w, "filter")
    on, oh, ow, occ = _shape4(op, y, "output")
    if on != n or occ != oc or ic % fic or oc % (ic // fic):
        raise _fail(op, f"shapes in {list(x.shape)}, filter {list(w.shape)}, out {list(y.shape)} do not match")
    win = _conv_window(op, ih, iw, kh, kw, oh, ow)
    q, arrays = _conv_quant(op, x, w, b, y, oc, w.data.astype(np.int8).astype(np.int64).reshape(oc, -1).sum(axis=1))
    macs = n * oh * ow * oc * kh * kw * fic
    pointwise = (kh, kw, win["stride_h"], win["stride_w"], win["pad_top"], win["pad_left"]) == (1, 1, 1, 1, 0, 0)
    if pointwise and fic == ic and (oh, ow) == (ih, iw):
        return Step(op, "tm_fc_s8", "tm_fc_params_t", {
            "rows": n * ih * iw, "in_n": ic, "out_n": oc,
            "out_zp": q["out_zp"], "act_min": q["act_min"], "act_max": q["act_max"],
            **{k: q[k] for k in ("weights", "bias", "mult", "shift")},
        }, arrays, [x.index], [y.index], "tm_eng_fc.c", macs=macs)
    return Step(op, "tm_conv_s8", "tm_conv_params_t", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "filter_in_c": fic, **win, **q,
    }, arrays, [x.index], [y.index], "tm_eng_conv.c", macs=macs)


def lower_depthwise_conv_2d(g: Graph, op: Operator) -> Step:
    x, w, b, y = _conv_tensors(g, op)
    n, ih, iw, ic = _shape4(op, x, "input")
    one, kh, kw, oc = _shape4(op, w, "filter")
    on, oh, ow, occ = _shape4(op, y, "output")
    if one != 1 or on != n or occ != oc or oc % ic:
        raise _fail(op, f"shapes in {list(x.shape)}, filter {list(w.shape)}, out {list(y.shape)} do not match")
    win = _conv_window(op, ih, iw, kh, kw, oh, ow)
    q, arrays = _conv_quant(op, x, w, b, y, oc, w.data.astype(np.int8).astype(np.int64).reshape(-1, oc).sum(axis=0))
    return Step(op, "tm_dwconv_s8", "tm_dwconv_params_t", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "depth_mult": oc // ic, "out_h": oh, "out_w": ow,
        "k_h": kh, "k_w": kw, **win, **q,
    }, arrays, [x.index], [y.index], "tm_eng_dwconv.c", macs=n * oh * ow * oc * kh * kw)


def lower_fully_connected(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    w = _tensor(g, op, 1, "weights")
    b = _tensor(g, op, 2, "bias", optional=True)
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    _need(op, w, "int8", "weights")
    if b is not None:
        _need(op, b, "int32", "bias")
    _check_weights_symmetric(op, w)
    if int(op.options.get("weights_format", 0)) != 0:
        raise _fail(op, "shuffled weights (weights_format != DEFAULT)")
    if len(w.shape) != 2:
        raise _fail(op, f"weights have shape {list(w.shape)}, expected [out, in]")
    out_n, in_n = (int(d) for d in w.shape)
    if x.size % in_n or y.size != (x.size // in_n) * out_n:
        raise _fail(op, f"input {list(x.shape)} / output {list(y.shape)} do not match weights {list(w.shape)}")
    rows = x.size // in_n
    s_in, zp_in = _per_tensor(op, x, "input")
    s_out, zp_out = _per_tensor(op, y, "output")
    act_min, act_max = _act(op, y)
    mult, shift = _channel_multipliers(op, s_in, w, s_out, out_n, per_tensor_float_product=not w.per_axis)
    wdata = w.data.astype(np.int8)
    bias = _fold_bias(op, b, wdata.astype(np.int64).sum(axis=1), zp_in)
    arrays = [ConstArray("w", "int8_t", wdata.ravel()), ConstArray("b", "int32_t", bias),
              ConstArray("m", "int32_t", mult), ConstArray("s", "int8_t", shift)]
    return Step(op, "tm_fc_s8", "tm_fc_params_t", {
        "rows": rows, "in_n": in_n, "out_n": out_n, "out_zp": zp_out, "act_min": act_min, "act_max": act_max,
        "weights": ("array", "w"), "bias": ("array", "b"), "mult": ("array", "m"), "shift": ("array", "s"),
    }, arrays, [x.index], [y.index], "tm_eng_fc.c", macs=rows * in_n * out_n)


# -- pooling, softmax, mean ------------------------------------------------------------------


def _lower_pool(g: Graph, op: Operator, kernel: str, source: str) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    n, ih, iw, c = _shape4(op, x, "input")
    on, oh, ow, oc = _shape4(op, y, "output")
    if (on, oc) != (n, c):
        raise _fail(op, f"input {list(x.shape)} and output {list(y.shape)} do not match")
    o = op.options
    kh, kw = int(o.get("filter_height", 1)), int(o.get("filter_width", 1))
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    pad = int(o.get("padding", 0))
    pt = _padding(op, ih, kh, sh, 1, oh, pad)
    pl = _padding(op, iw, kw, sw, 1, ow, pad)
    act_min, act_max = _act(op, y)
    return Step(op, kernel, "tm_pool_params_t", {
        "batches": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "pad_top": pt, "pad_left": pl,
        "act_min": act_min, "act_max": act_max,
    }, [], [x.index], [y.index], source, macs=n * oh * ow * c * kh * kw)


def lower_average_pool_2d(g: Graph, op: Operator) -> Step:
    return _lower_pool(g, op, "tm_avgpool_s8", "tm_eng_avgpool.c")


def lower_max_pool_2d(g: Graph, op: Operator) -> Step:
    return _lower_pool(g, op, "tm_maxpool_s8", "tm_eng_maxpool.c")


def lower_softmax(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output (int16 softmax output is not supported)")
    s_in, _ = _per_tensor(op, x, "input")
    s_out, zp_out = _per_tensor(op, y, "output")
    if zp_out != -128 or np.float32(s_out) != np.float32(1.0 / 256):
        raise _fail(op, f"int8 softmax output must have scale 1/256 and zero point -128 (has {s_out}, {zp_out})")
    depth = int(x.shape[-1]) if x.shape else 1
    beta = float(op.options.get("beta", 1.0))
    mult, shift, diff_min = quant.softmax_params(beta, s_in)
    return Step(op, "tm_softmax_s8", "tm_softmax_params_t", {
        "outer": x.size // depth, "depth": depth,
        "input_multiplier": mult, "input_left_shift": shift, "diff_min": diff_min,
    }, [], [x.index], [y.index], "tm_eng_softmax.c", inplace=(0,), macs=x.size)


def _merge(dims: list[int], strides: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dimensions and merge neighbours every stride vector walks contiguously.

    >>> _merge([1, 4, 3, 2], [[0, 6, 2, 1], [0, 0, 0, 1]])
    ([12, 2], [[2, 1], [0, 1]])
    """
    keep = [i for i, d in enumerate(dims) if d != 1]
    d = [int(dims[i]) for i in keep]
    s = [[int(v[i]) for i in keep] for v in strides]
    i = len(d) - 2
    while i >= 0:
        if all(v[i] == v[i + 1] * d[i + 1] for v in s):
            d[i + 1] *= d[i]
            del d[i]
            for v in s:
                del v[i]
        i -= 1
    if not d:
        return [1], [[0] for _ in s]
    return d, s


def _contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for dim in reversed(shape):
        out.append(acc)
        acc *= int(dim)
    return list(reversed(out))


def lower_mean(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    ax = _tensor(g, op, 1, "axis")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    if not ax.is_const:
        raise _fail(op, "the axis tensor is not constant")
    rank = len(x.shape)
    axes = []
    for a in np.asarray(ax.data).ravel().tolist():
        a = int(a) + rank if int(a) < 0 else int(a)
        if not 0 <= a < rank:
            raise _fail(op, f"axis {a} is out of range for rank {rank}")
        if a not in axes:
            axes.append(a)
    s_in, zp_in = _per_tensor(op, x, "input")
    s_out, zp_out = _per_tensor(op, y, "output")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if count <= 0:
        raise _fail(op, "empty reduction")
    mult, shift = quant.quantize_multiplier(float(s_in) / float(s_out))
    # QuantizedMeanOrSum folds 1/count into the multiplier (int64 arithmetic)
    sh = 63 - (64 - count.bit_length())  # floor(log2(count))
    sh = min(sh, 32, 31 + shift)
    mult = int((mult << sh) // count)  # sh >= 0: quantize_multiplier keeps shift >= -31
    shift = shift - sh
    strides = _contiguous_strides(x.shape)
    kept = [a for a in range(rank) if a not in axes]
    od, (os_,) = _merge([int(x.shape[a]) for a in kept] or [1], [[strides[a] for a in kept] or [0]])
    idims, (is_,) = _merge([int(x.shape[a]) for a in axes] or [1], [[strides[a] for a in axes] or [0]])
    if len(od) > 4 or len(idims) > 4:
        raise _fail(op, f"a mean over axes {axes} of a rank-{rank} tensor needs more than 4 loop levels")
    pad = lambda v, fill: [fill] * (4 - len(v)) + list(v)  # noqa: E731
    return Step(op, "tm_mean_s8", "tm_mean_params_t", {
        "outer_dims": pad(od, 1), "outer_strides": pad(os_, 0),
        "inner_dims": pad(idims, 1), "inner_strides": pad(is_, 0),
        "count": count, "in_zp": zp_in, "mult": mult, "shift": shift, "out_zp": zp_out,
    }, [], [x.index], [y.index], "tm_eng_mean.c", macs=x.size)


# -- elementwise -----------------------------------------------------------------------------


def _broadcast(op: Operator, a: Tensor, b: Tensor, y: Tensor) -> dict[str, list[int]]:
    rank = max(len(a.shape), len(b.shape), len(y.shape), 1)
    if rank > MAX_DIMS:
        raise _fail(op, f"rank {rank} > {MAX_DIMS}")
    sa = (1,) * (rank - len(a.shape)) + tuple(a.shape)
    sb = (1,) * (rank - len(b.shape)) + tuple(b.shape)
    sy = (1,) * (rank - len(y.shape)) + tuple(y.shape)
    for da, db, dy in zip(sa, sb, sy):
        if dy != max(da, db) or da not in (1, dy) or db not in (1, dy):
            raise _fail(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(y.shape)}")
    ca, cb = _contiguous_strides(sa), _contiguous_strides(sb)
    stra = [0 if sa[i] == 1 else ca[i] for i in range(rank)]
    strb = [0 if sb[i] == 1 else cb[i] for i in range(rank)]
    dims, (stra, strb) = _merge(list(sy), [stra, strb])
    pad = MAX_DIMS - len(dims)
    return {"dims": [1] * pad + dims, "in1_strides": [0] * pad + stra, "in2_strides": [0] * pad + strb}


def _binary_common(g: Graph, op: Operator) -> tuple[Tensor, Tensor, Tensor, tuple[int, ...]]:
    a = _tensor(g, op, 0, "input 1")
    b = _tensor(g, op, 1, "input 2")
    y = g.t(op.outputs[0])
    for t, what in ((a, "input 1"), (b, "input 2"), (y, "output")):
        _need(op, t, "int8", what)
    inplace = tuple(i for i, t in enumerate((a, b)) if t.shape == y.shape and not t.is_const)
    return a, b, y, inplace


def _lower_add_sub(g: Graph, op: Operator, subtract: bool) -> Step:
    a, b, y, inplace = _binary_common(g, op)
    s1, z1 = _per_tensor(op, a, "input 1")
    s2, z2 = _per_tensor(op, b, "input 2")
    so, zo = _per_tensor(op, y, "output")
    left_shift = 20
    if subtract:  # CalculateOpDataSub: float32 arithmetic
        twice_max = np.float32(2) * max(np.float32(s1), np.float32(s2))
        r1 = float(np.float32(np.float32(s1) / twice_max))
        r2 = float(np.float32(np.float32(s2) / twice_max))
        ro = float(np.float32(twice_max / np.float32(np.float32(1 << left_shift) * np.float32(so))))
    else:  # CalculateOpDataAdd: double arithmetic
        twice_max = 2 * max(float(s1), float(s2))
        r1, r2 = float(s1) / twice_max, float(s2) / twice_max
        ro = twice_max / ((1 << left_shift) * float(so))
    m = {}
    for key, real in (("in1", r1), ("in2", r2), ("out", ro)):
        if not 0 < real < 1:
            raise _fail(op, f"the {key} rescale {real} is outside (0, 1) (degenerate scales)")
        m[key] = quant.quantize_multiplier(real)
    act_min, act_max = _act(op, y)
    fields = {**_broadcast(op, a, b, y), "in1_offset": -z1, "in2_offset": -z2, "left_shift": left_shift,
              "in1_mult": m["in1"][0], "in1_shift": m["in1"][1], "in2_mult": m["in2"][0], "in2_shift": m["in2"][1],
              "out_mult": m["out"][0], "out_shift": m["out"][1], "out_zp": zo,
              "act_min": act_min, "act_max": act_max}
    kernel, source = ("tm_sub_s8", "tm_eng_sub.c") if subtract else ("tm_add_s8", "tm_eng_add.c")
    return Step(op, kernel, "tm_binary_params_t", fields, [], [a.index, b.index], [y.index], source,
                inplace=inplace, macs=y.size)


def lower_add(g: Graph, op: Operator) -> Step:
    return _lower_add_sub(g, op, subtract=False)


def lower_sub(g: Graph, op: Operator) -> Step:
    return _lower_add_sub(g, op, subtract=True)


def lower_mul(g: Graph, op: Operator) -> Step:
    a, b, y, inplace = _binary_common(g, op)
    s1, z1 = _per_tensor(op, a, "input 1")
    s2, z2 = _per_tensor(op, b, "input 2")
    so, zo = _per_tensor(op, y, "output")
    mult, shift = quant.quantize_multiplier(float(s1) * float(s2) / float(so))
    act_min, act_max = _act(op, y)
    fields = {**_broadcast(op, a, b, y), "in1_offset": -z1, "in2_offset": -z2, "left_shift": 0,
              "in1_mult": 0, "in1_shift": 0, "in2_mult": 0, "in2_shift": 0,
              "out_mult": mult, "out_shift": shift, "out_zp": zo, "act_min": act_min, "act_max": act_max}
    return Step(op, "tm_mul_s8", "tm_binary_params_t", fields, [], [a.index, b.index], [y.index],
                "tm_eng_mul.c", inplace=inplace, macs=y.size)


def _lower_tanh_logistic(g: Graph, op: Operator, kernel: str, source: str, out_zp: int) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    s_in, zp_in = _per_tensor(op, x, "input")
    _, zo = _per_tensor(op, y, "output")
    if zo != out_zp:
        raise _fail(op, f"int8 {op.op} output must have zero point {out_zp} (has {zo})")
    mult, shift, radius = quant.tanh_logistic_params(s_in)
    return Step(op, kernel, "tm_lut_params_t", {
        "size": x.size, "in_zp": zp_in, "radius": radius, "mult": mult, "shift": shift,
    }, [], [x.index], [y.index], source, inplace=(0,), macs=x.size)


def lower_logistic(g: Graph, op: Operator) -> Step:
    return _lower_tanh_logistic(g, op, "tm_logistic_s8", "tm_eng_logistic.c", -128)


def lower_tanh(g: Graph, op: Operator) -> Step:
    return _lower_tanh_logistic(g, op, "tm_tanh_s8", "tm_eng_tanh.c", 0)


def lower_quantize(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    _need(op, y, "int8", "output")
    so, zo = _per_tensor(op, y, "output")
    if x.dtype == "float32":
        return Step(op, "tm_quantize_f32_s8", "tm_affine_params_t", {
            "size": x.size, "zp": zo, "scale": quant.f32(so), "scale_d": 0.0,
        }, [], [x.index], [y.index], "tm_eng_quantize.c", macs=x.size)
    _need(op, x, "int8", "input")
    si, zi = _per_tensor(op, x, "input")
    mult, shift = quant.quantize_multiplier(float(si) / float(so))
    return Step(op, "tm_requant_s8", "tm_requant_params_t", {
        "size": x.size, "in_zp": zi, "mult": mult, "shift": shift, "out_zp": zo,
    }, [], [x.index], [y.index], "tm_eng_requant.c", inplace=(0,), macs=x.size)


def lower_dequantize(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "float32", "output")
    si, zi = _per_tensor(op, x, "input")
    return Step(op, "tm_dequantize_s8_f32", "tm_affine_params_t", {
        "size": x.size, "zp": zi, "scale": quant.f32(si), "scale_d": float(np.float32(si)),
    }, [], [x.index], [y.index], "tm_eng_dequantize.c", macs=x.size)


# -- data movement ---------------------------------------------------------------------------


def lower_reshape(g: Graph, op: Operator) -> Step:
    x = _tensor(g, op, 0, "input")
    y = g.t(op.outputs[0])
    if x.dtype != y.dtype or x.size != y.size:
        raise _fail(op, f"input {x.dtype}{list(x.shape)} and output {y.dtype}{list(y.shape)} differ in size")
    return Step(op, "alias", inputs=[x.index], outputs=[y.index])


def _lower_pad(g: Graph, op: Operator, value_tensor: Tensor | None) -> Step:
    x = _tensor(g, op, 0, "input")
    pads = _tensor(g, op, 1, "paddings")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    if not pads.is_const:
        raise _fail(op, "the paddings are not constant")
    p = np.asarray(pads.data).astype(np.int64).reshape(-1, 2)
    rank = len(x.shape)
    if p.shape[0] != rank or rank > MAX_DIMS or np.any(p < 0):
        raise _fail(op, f"paddings {p.tolist()} do not suit an input of rank {rank}")
    if value_tensor is None:
        value = _per_tensor(op, y, "output")[1]
    else:
        if not value_tensor.is_const:
            raise _fail(op, "the pad value is not constant")
        value = int(np.asarray(value_tensor.data).ravel()[0])
    k = MAX_DIMS - rank
    in_dims = [1] * k + [int(d) for d in x.shape]
    out_dims = [1] * k + [int(d) for d in y.shape]
    before = [0] * k + [int(v) for v in p[:, 0]]
    if any(o != i + int(a) + int(bb) for o, i, (a, bb) in zip(out_dims[k:], in_dims[k:], p)):
        raise _fail(op, f"output shape {list(y.shape)} differs from the padded input shape")
    return Step(op, "tm_pad_s8", "tm_pad_params_t", {
        "in_dims": in_dims, "out_dims": out_dims, "before": before, "value": value,
    }, [], [x.index], [y.index], "tm_eng_pad.c", macs=y.size)


def lower_pad(g: Graph, op: Operator) -> Step:
    return _lower_pad(g, op, None)


def lower_padv2(g: Graph, op: Operator) -> Step:
    return _lower_pad(g, op, _tensor(g, op, 2, "constant value"))


def lower_concatenation(g: Graph, op: Operator) -> Step:
    y = g.t(op.outputs[0])
    _need(op, y, "int8", "output")
    if int(op.options.get("fused_activation_function", 0)) != 0:
        raise _fail(op, "a fused activation on CONCATENATION")
    rank = len(y.shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    ins = [g.t(i) for i in op.inputs]
    for t in ins:
        _need(op, t, "int8", "input")
        if len(t.shape) != rank:
            raise _fail(op, f"input '{t.name}' has rank {len(t.shape)}, output rank {rank}")
    outer = int(np.prod(y.shape[:axis])) if axis else 1
    inner = int(np.prod(y.shape[axis + 1:])) if axis + 1 < rank else 1
    chunks = np.array([int(t.shape[axis]) * inner for t in ins], dtype=np.int32)
    if int(chunks.sum()) * outer != y.size:
        raise _fail(op, "input sizes do not add up to the output")
    return Step(op, "tm_concat_s8", "tm_concat_params_t", {
        "n_inputs": len(ins), "outer": outer, "chunk": ("array", "c"),
    }, [ConstArray("c", "int32_t", chunks)], [t.index for t in ins], [y.index], "tm_eng_concat.c",
        macs=y.size, list_input=True)


def _space_batch_shape(op: Operator, t: Tensor, what: str) -> tuple[int, int, int, int]:
    if len(t.shape) == 4:
        return tuple(int(d) for d in t.shape)  # type: ignore[return-value]
    if len(t.shape) == 3:  # ExtendShapeSpaceToBatch: [b, h, d] -> [b, h, 1, d]
        return int(t.shape[0]), int(t.shape[1]), 1, int(t.shape[2])
    raise _fail(op, f"{what} '{t.name}' has rank {len(t.shape)}; 3-D or 4-D expected")


def _lower_space_batch(g: Graph, op: Operator, to_batch: bool) -> Step:
    x = _tensor(g, op, 0, "input")
    blk = _tensor(g, op, 1, "block shape")
    pc = _tensor(g, op, 2, "paddings" if to_batch else "crops")
    y = g.t(op.outputs[0])
    _need(op, x, "int8", "input")
    _need(op, y, "int8", "output")
    if not (blk.is_const and pc.is_const):
        raise _fail(op, "the block shape or paddings are not constant")
    block = [int(v) for v in np.asarray(blk.data).ravel()] + [1]
    pads = np.asarray(pc.data).astype(np.int64).reshape(-1, 2).tolist() + [[0, 0]]
    bi, hi, wi, di = _space_batch_shape(op, x, "input")
    bo, ho, wo, do = _space_batch_shape(op, y, "output")
    bh, bw = block[0], block[1]
    if to_batch:
        ok = (bo == bi * bh * bw and ho * bh == hi + sum(pads[0]) and wo * bw == wi + sum(pads[1]))
    else:
        ok = (bi == bo * bh * bw and ho == hi * bh - sum(pads[0]) and wo == wi * bw - sum(pads[1]))
    if not ok or di != do:
        raise _fail(op, f"shapes {list(x.shape)} -> {list(y.shape)} do not match block {block[:2]} / {pads[:2]}")
    return Step(op, "tm_space_to_batch_s8" if to_batch else "tm_batch_to_space_s8", "tm_space_batch_params_t", {
        "in_batch": bi, "in_h": hi, "in_w": wi, "depth": di, "out_batch": bo, "out_h": ho, "out_w": wo,
        "block_h": bh, "block_w": bw, "pad_top": int(pads[0][0]), "pad_left": int(pads[1][0]),
        "pad_value": 0,  # TFLite Micro pads with 0, not the zero point (SpaceToBatchParams.output_offset)
    }, [], [x.index], [y.index], "tm_eng_space_to_batch.c" if to_batch else "tm_eng_batch_to_space.c",
        macs=y.size)


def lower_space_to_batch_nd(g: Graph, op: Operator) -> Step:
    return _lower_space_batch(g, op, True)


def lower_batch_to_space_nd(g: Graph, op: Operator) -> Step:
    return _lower_space_batch(g, op, False)


#: builtin operator -> lowering function
LOWERINGS: dict[str, Callable[[Graph, Operator], Step]] = {
    "ADD": lower_add,
    "AVERAGE_POOL_2D": lower_average_pool_2d,
    "BATCH_TO_SPACE_ND": lower_batch_to_space_nd,
    "CONCATENATION": lower_concatenation,
    "CONV_2D": lower_conv_2d,
    "DEPTHWISE_CONV_2D": lower_depthwise_conv_2d,
    "DEQUANTIZE": lower_dequantize,
    "EXPAND_DIMS": lower_reshape,
    "FULLY_CONNECTED": lower_fully_connected,
    "LOGISTIC": lower_logistic,
    "MAX_POOL_2D": lower_max_pool_2d,
    "MEAN": lower_mean,
    "MUL": lower_mul,
    "PAD": lower_pad,
    "PADV2": lower_padv2,
    "QUANTIZE": lower_quantize,
    "RESHAPE": lower_reshape,
    "SOFTMAX": lower_softmax,
    "SPACE_TO_BATCH_ND": lower_space_to_batch_nd,
    "SQUEEZE": lower_reshape,
    "SUB": lower_sub,
    "TANH": lower_tanh,
}


def supported_ops() -> list[str]:
    """The builtin operators the engine compiles, sorted."""
    return sorted(LOWERINGS)


def lower(g: Graph) -> list[Step]:
    """Lower every operator of ``g`` in execution order."""
    steps = []
    for op in g.operators:
        fn = LOWERINGS.get(op.op)
        if fn is None:
            raise DeployError(
                f"operator {op.op} (op #{op.index}) is not supported by the engine "
                f"(supported: {', '.join(supported_ops())}); deploy with board.runtime=tflm instead"
            )
        if len(op.outputs) != 1:
            raise _fail(op, f"{len(op.outputs)} outputs")
        steps.append(fn(g, op))
    return steps
