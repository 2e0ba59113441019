"""Requantisation constants computed exactly as TensorFlow Lite (Micro) computes them.

TFLite stores every scale as a float32. A kernel's Prepare step turns the scales into
an integer multiplier (Q0.31) and a power-of-two shift; the engine does the same work
at compile time, so the C code only holds the resulting integers. Bit-exactness
depends on doing each step in the same precision as TFLite Micro, which is not the
same for every operator (read from tflite-micro, ``tensorflow/lite/micro/kernels``
and ``tensorflow/lite/kernels/kernel_util.cc``):

* CONV_2D, DEPTHWISE_CONV_2D and per-channel FULLY_CONNECTED:
  ``double(s_in) * double(s_w[c]) / double(s_out)``
  (``PopulateConvolutionQuantizationParams`` / ``CalculateOpDataFullyConnected``);
* per-tensor FULLY_CONNECTED: ``double(float(s_in * s_w)) / double(s_out)`` (the
  product is rounded to float32 first: ``GetQuantizedConvolutionMultipler``);
* ADD and MUL, MEAN, QUANTIZE (int8 -> int8): double arithmetic on the float scales;
* SUB: float32 arithmetic, converted to double at the end (``CalculateOpDataSub``).

:func:`quantize_multiplier` is ``QuantizeMultiplier`` (``frexp``, round half away from
zero of ``q * 2^31``, the ``2^31`` carry, flush below ``2^-31``); the kernels apply it
with double rounding (gemmlowp ``SaturatingRoundingDoublingHighMul`` then
``RoundingDivideByPOT``), the default TFLite Micro build (``TFLITE_SINGLE_ROUNDING``
unset). :func:`multiply_by_quantized_multiplier` is the same arithmetic in numpy, used
by the tests and to document it.

Examples
--------
>>> quantize_multiplier(0.5)
(1073741824, 0)
>>> quantize_multiplier(0.0003)
(1319413953, -11)
>>> int(multiply_by_quantized_multiplier(np.array([1000]), *quantize_multiplier(0.0003))[0])
0
>>> int(multiply_by_quantized_multiplier(np.array([5000]), *quantize_multiplier(0.0003))[0])
2
>>> activation_range(1, 0.05, -128)  # RELU on an output with zero point -128
(-128, 127)
>>> activation_range(3, 0.05, -10)   # RELU6
(-10, 110)
"""

from __future__ import annotations

import math

import numpy as np

from tinyml_suite.common.errors import DeployError

__all__ = [
    "activation_range",
    "calculate_input_radius",
    "f32",
    "multiply_by_quantized_multiplier",
    "quantize_multiplier",
    "round_half_away",
    "softmax_params",
    "tanh_logistic_params",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

#: fused activation codes of the tflite schema (ActivationFunctionType)
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def f32(x: float) -> float:
    """``x`` rounded to float32, as a Python float."""
    return float(np.float32(x))


def round_half_away(x: float) -> float:
    """``std::round``: nearest integer, halves away from zero (exact for doubles)."""
    if x != x or math.isinf(x):
        raise DeployError(f"cannot round {x}")
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return float(math.copysign(r, x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier``: ``real ~= multiplier * 2^(shift - 31)``.

    Returns ``(multiplier, shift)`` with ``multiplier`` in ``[2^30, 2^31)`` (or 0) and
    ``shift`` positive for a left shift.
    """
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise DeployError(f"requantisation multiplier {real} must be finite and >= 0; the model's scales are corrupt")
    q, shift = math.frexp(real)
    q_fixed = int(round_half_away(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if q_fixed > INT32_MAX:  # cannot happen after the carry; kept as TFLite's CHECK
        raise DeployError(f"multiplier {real} does not fit 31 bits")
    return q_fixed, shift


def _srdhm(a: np.ndarray, b: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = np.where(s >= 0, s // (1 << 31), -((-s) // (1 << 31)))  # C division truncates
    overflow = (a == b) & (a == INT32_MIN)
    return np.where(overflow, INT32_MAX, q).astype(np.int64)


def _rdbpot(x: np.ndarray, exponent: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's double-rounding ``MultiplyByQuantizedMultiplier`` on int32 values."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    v = np.asarray(x, dtype=np.int64) * (1 << left)
    v = ((v + 2**31) % 2**32) - 2**31  # int32 wrap, as the C code
    return _rdbpot(_srdhm(v, multiplier), right)


def activation_range(activation: int, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized``: the clamp of a fused activation.

    ``activation`` is the schema code (0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6); the
    bounds are quantised with ``round(f / scale)`` in float32, as TFLite does.
    """
    def q(f: float) -> int:
        return int(zero_point) + int(round_half_away(f32(np.float32(f) / np.float32(scale))))

    if activation == 0:
        return qmin, qmax
    if activation == 1:
        return max(qmin, q(0.0)), qmax
    if activation == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == 2:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise DeployError(
        f"fused activation {ACTIVATIONS.get(activation, activation)} is not supported on int8 by TFLite Micro "
        "or the engine; use NONE/RELU/RELU6/RELU_N1_TO_1"
    )


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """``CalculateInputRadius``: the largest input magnitude that does not saturate."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits)) / (1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """SOFTMAX (int8): ``(input_multiplier, input_left_shift, diff_min)``.

    ``PreprocessSoftmaxScaling`` with 5 integer bits (Q5.26 differences), capped at
    ``2^31 - 1``, then ``diff_min = -CalculateInputRadius(5, left_shift)``.
    """
    real = min(float(beta) * float(input_scale) * (1 << (31 - 5)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise DeployError(f"softmax input scale {input_scale} x beta {beta} is too small for TFLite's int8 softmax")
    diff_min = -calculate_input_radius(5, shift, 31)
    return mult, shift, diff_min


def tanh_logistic_params(input_scale: float) -> tuple[int, int, int]:
    """LOGISTIC / TANH (int8): ``(input_multiplier, input_left_shift, input_range_radius)``.

    ``frexp(s_in * 2^27)`` rounded to Q0.31 without the carry that ``QuantizeMultiplier``
    has (TFLite Micro's ``CalculateArithmeticOpDataLogistic`` and the TANH twin). With a
    radius of 0 (input scale >= 2^4) every input saturates, even 0, as in TFLite Micro.

    >>> tanh_logistic_params(0.05)
    (1717986918, 23, 240)
    >>> tanh_logistic_params(17.7)
    (0, 0, 0)
    """
    real = float(input_scale) * float(1 << (31 - 4))
    q, shift = math.frexp(real)
    mult = int(round_half_away(q * (1 << 31)))
    if mult >= (1 << 31):  # static_cast<int32_t> of 2^31 on the hosts TFLM runs on
        mult -= 1 << 32
    if shift < 0:
        raise DeployError(f"input scale {input_scale} is below the range TFLite's int8 LOGISTIC/TANH support")
    radius = calculate_input_radius(4, shift, 31)
    if radius == 0:  # a huge input scale: every input saturates, the multiplier is never used
        return 0, 0, 0
    return mult, shift, radius
