"""Polyphase resampling between arbitrary sample rates, for the dataset loaders.

The rate ratio ``target / orig`` is reduced to a fraction ``up / down`` (rates are read
as exact decimals, so 29.97 Hz is 2997/100) and the signal is resampled with
:func:`scipy.signal.resample_poly` (Kaiser-windowed FIR anti-aliasing filter, beta 5,
zero padding at the edges). Host-side only: loaders bring every recording to the rate
the app's features and firmware use.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.signal

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["rational_ratio", "resample"]


def rational_ratio(orig_rate: float, target_rate: float, *, max_factor: int = 10_000) -> tuple[int, int]:
    """The reduced ``(up, down)`` with ``up / down == target_rate / orig_rate``.

    Parameters
    ----------
    orig_rate, target_rate : float > 0
        Sample rates in Hz, read as exact decimals.
    max_factor : int
        Largest ``up`` or ``down`` accepted (the polyphase filter grows with them).

    Raises
    ------
    ConfigError
        A non-positive or non-finite rate, or a ratio whose terms exceed ``max_factor``.

    Examples
    --------
    >>> rational_ratio(44100, 16000)
    (160, 441)
    >>> rational_ratio(360, 125)
    (25, 72)
    >>> rational_ratio(30.0, 29.97)
    (999, 1000)
    """
    o = check_float("orig_rate", orig_rate, lo=0.0, lo_open=True)
    t = check_float("target_rate", target_rate, lo=0.0, lo_open=True)
    check_int("max_factor", max_factor, lo=1)
    ratio = Fraction(repr(t)) / Fraction(repr(o))
    up, down = ratio.numerator, ratio.denominator
    if max(up, down) > max_factor:
        raise ConfigError(
            f"resampling {o} Hz -> {t} Hz needs the ratio {up}/{down}, whose terms exceed "
            f"max_factor={max_factor}; round the rates (e.g. to whole Hz)"
        )
    return up, down


def resample(signal: np.ndarray, *, orig_rate: float, target_rate: float, padtype: str = "constant") -> np.ndarray:
    """Resample along the last axis from ``orig_rate`` to ``target_rate``.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real signal, time last.
    orig_rate, target_rate : float > 0
        Sample rates in Hz.
    padtype : {"constant", "line", "mean", "edge"}
        How the signal is extended past its ends for the filter (scipy's ``padtype``).
        "constant" (zeros, the default) makes a signal with an offset (gravity on an
        accelerometer) ramp towards zero at its edges; "line" or "mean" do not.

    Returns
    -------
    y : np.ndarray [shape=(..., ceil(n * up / down)), dtype=float32]
        ``scipy.signal.resample_poly(signal, up, down, axis=-1)`` (float64 compute) with
        ``(up, down) = rational_ratio(orig_rate, target_rate)``; a copy when the rates
        are equal.

    Examples
    --------
    >>> x = np.sin(2 * np.pi * 1.0 * np.arange(360) / 360.0)
    >>> y = resample(x, orig_rate=360, target_rate=125)
    >>> y.shape, y.dtype
    ((125,), dtype('float32'))
    >>> g = np.ones(100)                                     # a constant (gravity) offset
    >>> float(resample(g, orig_rate=100, target_rate=50)[0]) < 0.9     # zeros pulled in
    True
    >>> float(resample(g, orig_rate=100, target_rate=50, padtype="line")[0])
    1.0
    """
    x = as_signal(signal)
    check_choice("padtype", padtype, ("constant", "line", "mean", "edge"))
    up, down = rational_ratio(orig_rate, target_rate)
    if up == down:
        return x.copy()
    y = scipy.signal.resample_poly(x.astype(np.float64), up, down, axis=-1, padtype=padtype)
    return np.ascontiguousarray(y, dtype=np.float32)
