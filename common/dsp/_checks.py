"""Argument checks shared by the DSP blocks.

Every public DSP function validates its arguments at the top, before any compute, and
raises :class:`~tinyml_suite.common.errors.ConfigError` (a ``ValueError``) whose message
names the parameter, the value, the valid range and, where there is one, the fix.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "as_signal",
    "check_int",
    "check_float",
    "check_choice",
    "check_power_of_two",
]


def as_signal(x: object, *, name: str = "signal", min_ndim: int = 1, min_length: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float32 array with time on the last axis.

    Raises ``ConfigError`` for non-numeric, complex, empty, too-short or non-finite input.

    Examples
    --------
    >>> as_signal([1, 2, 3]).dtype
    dtype('float32')
    >>> as_signal([1.0, float("nan")])
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: signal contains 1 non-finite value(s) (NaN or inf); clean or interpolate the input first
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ConfigError(
            f"{name} has dtype {arr.dtype}; expected a real numeric array (float32 preferred)"
        )
    if arr.ndim < min_ndim:
        raise ConfigError(f"{name} has {arr.ndim} dimension(s); expected at least {min_ndim} (time last)")
    if arr.size == 0:
        raise ConfigError(f"{name} is empty (shape {arr.shape}); expected at least {min_length} sample(s)")
    if arr.shape[-1] < min_length:
        raise ConfigError(
            f"{name} has {arr.shape[-1]} sample(s) on its last axis; expected at least {min_length}"
        )
    arr = arr.astype(np.float32, copy=False)
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ConfigError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf); clean or interpolate the input first"
        )
    return arr


def check_int(name: str, value: object, *, lo: int | None = None, hi: int | None = None) -> int:
    """Check an integer parameter lies in ``[lo, hi]`` and return it as ``int``.

    >>> check_int("n_mels", 0, lo=1)
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: n_mels=0 must be an integer >= 1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name}={value!r} must be an integer{_range_text(lo, hi)}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ConfigError(f"{name}={v} must be an integer{_range_text(lo, hi)}")
    return v


def check_float(
    name: str,
    value: object,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Check a real parameter lies in the range and return it as ``float``.

    >>> check_float("fmax", 9000.0, hi=8000.0)
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: fmax=9000.0 must be a finite number <= 8000.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ConfigError(f"{name}={value!r} must be a finite number{_range_text(lo, hi, lo_open, hi_open)}")
    v = float(value)
    bad_lo = lo is not None and (v <= lo if lo_open else v < lo)
    bad_hi = hi is not None and (v >= hi if hi_open else v > hi)
    if bad_lo or bad_hi:
        raise ConfigError(f"{name}={v} must be a finite number{_range_text(lo, hi, lo_open, hi_open)}")
    return v


def check_choice(name: str, value: object, choices: tuple) -> object:
    """Check ``value`` is one of ``choices``.

    >>> check_choice("window", "hamm", ("hann", "hamming"))
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: window='hamm' is not supported; choose one of: 'hann', 'hamming'
    """
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{name}={value!r} is not supported; choose one of: {options}")
    return value


def check_power_of_two(name: str, value: object, *, lo: int = 2, hi: int | None = None) -> int:
    """Check an integer is a power of two (FFT sizes on the device).

    >>> check_power_of_two("n_fft", 500)
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: n_fft=500 must be a power of two >= 2 (e.g. 512)
    """
    v = check_int(name, value, lo=lo, hi=hi)
    if v & (v - 1):
        nxt = 1 << v.bit_length()
        raise ConfigError(f"{name}={v} must be a power of two{_range_text(lo, hi)} (e.g. {nxt})")
    return v


def _range_text(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi}")
    return (" " + " and ".join(parts)) if parts else ""
