"""Normalisation: z-score, min-max, and the device's int8 quantisation.

* :func:`zscore` with given statistics (from the training set, :func:`fit_zscore`) or
  statistics computed per window.
* :func:`minmax` scaling to ``[0, 1]``.
* :func:`quantize_int8` / :func:`dequantize_int8` / :func:`fake_quantize_int8`: the
  affine int8 mapping of a TFLite tensor, computed exactly as the device does it
  (TFLite Micro's reference ``Quantize`` kernel and ``tm_quantize_int8``)::

      q = clamp(round(x / scale) + zero_point, -128, 127)
      x' = scale * (q - zero_point)

  in float32, with ``round`` rounding half away from zero (C ``roundf``,
  ``TfLiteRound``; not numpy's half-to-even).

The C twins are in ``firmware_templates/dsp/tm_normalize.{h,c}``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = [
    "INT8_IMPLEMENTATION_VERSION",
    "MinMaxParams",
    "ZScoreParams",
    "dequantize_int8",
    "fake_quantize_int8",
    "fit_zscore",
    "minmax",
    "quantize_int8",
    "zscore",
]


# Numerics version of quantize_int8/dequantize_int8 and tm_quantize_int8 (golden files
# tests/golden/int8_v<N>.txt); bump on any change to the rounding or clamping.
INT8_IMPLEMENTATION_VERSION: int = 1


def _stat_tuple(name: str, value: object, *, positive: bool = False) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, numbers.Real):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{name}={value!r} must be a number, a list of numbers or None")
    out = tuple(
        check_float(f"{name}[{i}]", v, lo=0.0 if positive else None, lo_open=positive)
        for i, v in enumerate(value)
    )
    if not out:
        raise ConfigError(f"{name}=() is empty; give one value per channel/feature or None")
    return out


@dataclass(kw_only=True, frozen=True)
class ZScoreParams:
    """Statistics of :func:`zscore`.

    Attributes
    ----------
    mean, std : tuple of float or None
        One value per index of the normalised axis (or a single value for all); ``std``
        values > 0. Both None: each window is standardised by its own mean and std
        (computed along the last axis).
    eps : float
        Lower bound on the per-window std (> 0), so constant windows map to 0.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "ZSCORE"

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    eps: float = 1e-6

    def __post_init__(self) -> None:
        mean = _stat_tuple("mean", self.mean)
        std = _stat_tuple("std", self.std, positive=True)
        if (mean is None) != (std is None):
            raise ConfigError(
                "mean and std must both be given (fixed statistics) or both be None (per window)"
            )
        if mean is not None and len(mean) != len(std):
            raise ConfigError(f"mean has {len(mean)} values but std has {len(std)}; give one pair per channel")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        check_float("eps", self.eps, lo=0.0, lo_open=True)

    @property
    def per_window(self) -> bool:
        """True when statistics are computed from each window."""
        return self.mean is None

    def c_defines(self, **_: Any) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h``.

        Adds ``ZSCORE_PER_WINDOW`` and, with fixed statistics, ``ZSCORE_COUNT`` and the
        float32 brace initializers ``ZSCORE_MEAN_VALUES``/``ZSCORE_STD_VALUES``.
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        out = params_defines(self)
        out["ZSCORE_PER_WINDOW"] = int(self.per_window)
        if not self.per_window:
            out["ZSCORE_COUNT"] = len(self.mean)
            out["ZSCORE_MEAN_VALUES"] = tuple(float(np.float32(v)) for v in self.mean)
            out["ZSCORE_STD_VALUES"] = tuple(float(np.float32(v)) for v in self.std)
        return out


def _axis(ndim: int, axis: int) -> int:
    check_int("axis", axis, lo=-ndim, hi=ndim - 1)
    return axis % ndim


def fit_zscore(data: np.ndarray, *, axis: int = -1) -> ZScoreParams:
    """Per-index mean and std of ``data`` over every axis except ``axis``.

    Parameters
    ----------
    data : np.ndarray [shape=(..., n)]
        Training data (e.g. features ``(n_examples, n_features)`` with ``axis=-1``, or
        raw windows ``(n_windows, n_channels, n)`` with ``axis=-2``).
    axis : int
        The axis whose entries get their own statistics.

    Returns
    -------
    params : ZScoreParams
        Float32-rounded statistics; an index with zero spread gets ``std = 1``.

    Examples
    --------
    >>> p = fit_zscore(np.array([[0.0, 10.0], [2.0, 10.0]]))
    >>> p.mean, p.std
    ((1.0, 10.0), (1.0, 1.0))
    """
    x = as_signal(data, name="data").astype(np.float64)
    ax = _axis(x.ndim, axis)
    other = tuple(i for i in range(x.ndim) if i != ax)
    mean = x.mean(axis=other) if other else x
    std = x.std(axis=other) if other else np.zeros_like(x)
    std = np.where(std > 0, std, 1.0)
    return ZScoreParams(
        mean=tuple(float(np.float32(v)) for v in np.atleast_1d(mean)),
        std=tuple(float(np.float32(v)) for v in np.atleast_1d(std)),
    )


def zscore(signal: np.ndarray, *, params: ZScoreParams = ZScoreParams(), axis: int = -1) -> np.ndarray:
    """Standardise: ``(x - mean) / std``.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real data.
    params : ZScoreParams
        Fixed statistics (one per index of ``axis``, or one for all), or None/None for
        per-window statistics along the last axis.
    axis : int
        The axis the fixed statistics index (ignored per window).

    Returns
    -------
    z : np.ndarray [same shape, dtype=float32]
        Fixed statistics: ``(float32(x) - float32(mean)) / float32(std)`` in float32,
        bit-exact with ``tm_zscore_apply``. Per window: mean and population std computed
        in float64, then ``(x - mean) / max(std, eps)`` in float32.

    Examples
    --------
    >>> zscore(np.array([[1.0, 2.0], [3.0, 6.0]]), params=ZScoreParams(mean=(1.0, 2.0), std=(2.0, 4.0)))
    array([[0., 0.],
           [1., 1.]], dtype=float32)
    >>> zscore(np.array([1.0, 2.0, 3.0])).round(4)
    array([-1.2247,  0.    ,  1.2247], dtype=float32)
    """
    if not isinstance(params, ZScoreParams):
        raise ConfigError(f"params={params!r} must be a ZScoreParams")
    x = as_signal(signal)
    if params.per_window:
        x64 = x.astype(np.float64)
        m = x64.mean(axis=-1, keepdims=True).astype(np.float32)
        s = np.maximum(x64.std(axis=-1, keepdims=True), params.eps).astype(np.float32)
        return ((x - m) / s).astype(np.float32)
    ax = _axis(x.ndim, axis)
    k = len(params.mean)
    if k != 1 and x.shape[ax] != k:
        raise ConfigError(
            f"signal has {x.shape[ax]} entries on axis {axis} but params has {k} mean/std values; "
            "refit the statistics or pass the right axis"
        )
    shape = [1] * x.ndim
    shape[ax] = k
    m = np.asarray(params.mean, dtype=np.float32).reshape(shape)
    s = np.asarray(params.std, dtype=np.float32).reshape(shape)
    return ((x - m) / s).astype(np.float32)


@dataclass(kw_only=True, frozen=True)
class MinMaxParams:
    """Range of :func:`minmax`.

    Attributes
    ----------
    min, max : tuple of float or None
        Per-index (or single) bounds with ``max > min``; both None: each window's own
        minimum and maximum along the last axis.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "MINMAX"

    min: tuple[float, ...] | None = None
    max: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        lo = _stat_tuple("min", self.min)
        hi = _stat_tuple("max", self.max)
        if (lo is None) != (hi is None):
            raise ConfigError("min and max must both be given or both be None (per window)")
        if lo is not None:
            if len(lo) != len(hi):
                raise ConfigError(f"min has {len(lo)} values but max has {len(hi)}")
            bad = [i for i, (a, b) in enumerate(zip(lo, hi)) if not b > a]
            if bad:
                i = bad[0]
                raise ConfigError(f"max[{i}]={hi[i]} must be greater than min[{i}]={lo[i]}")
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)


def minmax(signal: np.ndarray, *, params: MinMaxParams = MinMaxParams(), axis: int = -1) -> np.ndarray:
    """Scale to ``[0, 1]``: ``(x - min) / (max - min)`` in float32.

    Per-window mode maps a constant window to 0. Values outside fixed bounds map
    outside ``[0, 1]`` (no clipping).

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
    params : MinMaxParams
    axis : int
        The axis fixed bounds index.

    Returns
    -------
    y : np.ndarray [same shape, dtype=float32]

    Examples
    --------
    >>> minmax(np.array([2.0, 4.0, 3.0]))
    array([0. , 1. , 0.5], dtype=float32)
    """
    if not isinstance(params, MinMaxParams):
        raise ConfigError(f"params={params!r} must be a MinMaxParams")
    x = as_signal(signal)
    if params.min is None:
        lo = x.min(axis=-1, keepdims=True)
        span = x.max(axis=-1, keepdims=True) - lo
        return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)
    ax = _axis(x.ndim, axis)
    k = len(params.min)
    if k != 1 and x.shape[ax] != k:
        raise ConfigError(
            f"signal has {x.shape[ax]} entries on axis {axis} but params has {k} bounds; "
            "refit or pass the right axis"
        )
    shape = [1] * x.ndim
    shape[ax] = k
    lo = np.asarray(params.min, dtype=np.float32).reshape(shape)
    hi = np.asarray(params.max, dtype=np.float32).reshape(shape)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def _check_qparams(scale: object, zero_point: object) -> tuple[np.float32, int]:
    s = check_float("scale", scale, lo=0.0, lo_open=True)
    if not np.isfinite(np.float32(s)) or np.float32(s) == 0:
        raise ConfigError(f"scale={s} is not representable as a positive float32")
    zp = check_int("zero_point", zero_point, lo=-128, hi=127)
    return np.float32(s), zp


def quantize_int8(x: np.ndarray, *, scale: float, zero_point: int) -> np.ndarray:
    """Affine int8 quantisation exactly as the device (TFLite ``Quantize``) does it.

    ``q = clamp(round_half_away(float32(x) / float32(scale)) + zero_point, -128, 127)``,
    the division in float32.

    Parameters
    ----------
    x : np.ndarray [shape=(...)]
        Real values.
    scale : float > 0
        The tensor's quantisation scale.
    zero_point : int in [-128, 127]
        The tensor's zero point.

    Returns
    -------
    q : np.ndarray [same shape, dtype=int8]

    Examples
    --------
    >>> quantize_int8(np.array([0.25, -0.25, 0.75, 100.0]), scale=0.5, zero_point=-1)
    array([  0,  -2,   1, 127], dtype=int8)
    """
    s, zp = _check_qparams(scale, zero_point)
    shape = np.shape(x)
    v = as_signal(np.atleast_1d(x), name="x").reshape(shape) / s  # float32 / float32 -> float32
    r = np.trunc(v.astype(np.float64) + np.copysign(0.5, v))  # exact for float32 v
    return np.clip(r + zp, -128, 127).astype(np.int8)


def dequantize_int8(q: np.ndarray, *, scale: float, zero_point: int) -> np.ndarray:
    """``float32(scale) * float32(q - zero_point)``, as the device computes it.

    Examples
    --------
    >>> dequantize_int8(np.array([0, -2, 127], dtype=np.int8), scale=0.5, zero_point=-1)
    array([ 0.5, -0.5, 64. ], dtype=float32)
    """
    s, zp = _check_qparams(scale, zero_point)
    arr = np.asarray(q)
    if arr.dtype != np.int8:
        raise ConfigError(f"q has dtype {arr.dtype}; expected int8 (from quantize_int8)")
    return (s * (arr.astype(np.int32) - zp).astype(np.float32)).astype(np.float32)


def fake_quantize_int8(x: np.ndarray, *, scale: float, zero_point: int) -> np.ndarray:
    """Quantise then dequantise: the float32 values the int8 model actually sees.

    Examples
    --------
    >>> fake_quantize_int8(np.array([0.3, 0.2]), scale=0.25, zero_point=0)
    array([0.25, 0.25], dtype=float32)
    """
    return dequantize_int8(quantize_int8(x, scale=scale, zero_point=zero_point), scale=scale, zero_point=zero_point)
