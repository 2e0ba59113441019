"""Analysis windows for framed spectra (Hann, Hamming, rectangular).

The C twin is ``tm_window_fill`` in ``firmware_templates/dsp/tm_frames.c``; both compute
the cosine in double precision and round once to float32, so the two agree to within
one float32 rounding step.
"""

from __future__ import annotations

import numpy as np

from tinyml_suite.common.dsp._checks import check_choice, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["WINDOWS", "WINDOW_CODES", "get_window"]

#: Supported window names.
WINDOWS: tuple[str, ...] = ("hann", "hamming", "rectangular")

#: Integer codes the C code switches on (``TM_WINDOW_*`` in ``tm_frames.h``).
WINDOW_CODES: dict[str, int] = {"hann": 0, "hamming": 1, "rectangular": 2}


def get_window(name: str, length: int, *, periodic: bool = True) -> np.ndarray:
    """A window of ``length`` samples, float32.

    ``w[n] = a - (1 - a) cos(2 pi n / D)`` with ``a = 0.5`` (Hann) or ``0.54`` (Hamming),
    ``D = length`` for a periodic window (the DFT-even window used for spectral analysis;
    ``scipy.signal.get_window(name, length, fftbins=True)``, librosa's default) and
    ``D = length - 1`` for a symmetric one (``scipy.signal.windows.hann(length, sym=True)``,
    filter design). ``rectangular`` is all ones.

    Parameters
    ----------
    name : {'hann', 'hamming', 'rectangular'}
        Window shape.
    length : int >= 1
        Number of samples.
    periodic : bool
        Periodic (True, default) or symmetric (False).

    Returns
    -------
    np.ndarray [shape=(length,), dtype=float32]

    Raises
    ------
    ConfigError
        Unknown ``name`` or ``length < 1``.

    Examples
    --------
    >>> get_window("hann", 4)
    array([0. , 0.5, 1. , 0.5], dtype=float32)
    >>> get_window("hann", 5, periodic=False)
    array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    >>> get_window("hamming", 3).round(2)
    array([0.08, 0.77, 0.77], dtype=float32)
    """
    check_choice("window", name, WINDOWS)
    n = check_int("window length", length, lo=1)
    if not isinstance(periodic, (bool, np.bool_)):
        raise ConfigError(
            f"periodic={periodic!r} must be True (spectral analysis) or False (symmetric)"
        )
    if name == "rectangular":
        return np.ones(n, dtype=np.float32)
    if n == 1:
        return np.ones(1, dtype=np.float32)
    a = 0.5 if name == "hann" else 0.54
    denom = n if periodic else n - 1
    w = a - (1.0 - a) * np.cos(2.0 * np.pi * np.arange(n, dtype=np.float64) / denom)
    return w.astype(np.float32)
