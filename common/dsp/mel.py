"""Mel scale conversions and the triangular mel filterbank (``librosa.filters.mel``).

Two mel scales:

- ``'htk'``: ``mel = 2595 log10(1 + f / 700)`` (HTK, TensorFlow, MLPerf Tiny);
- ``'slaney'``: linear below 1 kHz (``mel = 3 f / 200``), logarithmic above
  (``mel = 15 + 27 ln(f / 1000) / ln(6.4)``), the Auditory Toolbox scale that is
  librosa's default.

The filterbank places ``n_mels + 2`` points evenly on the chosen mel scale between
``fmin`` and ``fmax``; filter ``m`` is a triangle that rises linearly **in Hz** from point
``m`` to point ``m + 1`` and falls to point ``m + 2``, sampled at the FFT bin frequencies
``k * sample_rate / n_fft``. ``norm='slaney'`` scales each triangle by
``2 / (f[m + 2] - f[m])`` so that all have the same area. This is exactly
``librosa.filters.mel(sr=..., n_fft=..., n_mels=..., fmin=..., fmax=..., htk=scale == 'htk',
norm=norm)``. (TensorFlow's ``linear_to_mel_weight_matrix`` draws its triangles linear in
mel, not in Hz, and skips the DC bin, so its weights differ slightly.)

The C twin (``tm_mel_init`` in ``firmware_templates/dsp/tm_mel.c``) computes the same
weights in double precision at start-up and stores only the non-zero span of each band.
"""

from __future__ import annotations

import functools

import numpy as np

from tinyml_suite.common.dsp._checks import check_choice, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = [
    "MEL_NORMS",
    "MEL_SCALES",
    "check_mel_range",
    "hz_to_mel",
    "mel_filterbank",
    "mel_frequencies",
    "mel_to_hz",
]

MEL_SCALES: tuple[str, ...] = ("htk", "slaney")
MEL_NORMS: tuple = (None, "slaney")

# Slaney scale constants: linear part below _F_BREAK Hz, log part above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_F_BREAK = 1000.0  # Hz
_MEL_BREAK = _F_BREAK / _F_SP  # = 15 mel
_LOGSTEP = np.log(6.4) / 27.0  # ln(Hz ratio) per mel in the log part


def hz_to_mel(frequency, *, scale: str = "htk"):
    """Convert frequencies in Hz to mels.

    Parameters
    ----------
    frequency : float or np.ndarray
        Frequencies in Hz (>= 0).
    scale : {'htk', 'slaney'}

    Returns
    -------
    float or np.ndarray (float64)

    Examples
    --------
    >>> round(float(hz_to_mel(1000.0)), 3)
    999.986
    >>> round(float(hz_to_mel(1000.0, scale="slaney")), 9)
    15.0
    >>> hz_to_mel(np.array([0.0, 500.0]), scale="slaney")
    array([0. , 7.5])
    """
    check_choice("scale", scale, MEL_SCALES)
    f = np.asarray(frequency, dtype=np.float64)
    if scale == "htk":
        out = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        lin = f / _F_SP
        with np.errstate(divide="ignore"):
            log = _MEL_BREAK + np.log(np.maximum(f, 1e-300) / _F_BREAK) / _LOGSTEP
        out = np.where(f >= _F_BREAK, log, lin)
    return float(out) if out.ndim == 0 else out


def mel_to_hz(mel, *, scale: str = "htk"):
    """Convert mels to frequencies in Hz (the inverse of :func:`hz_to_mel`).

    Examples
    --------
    >>> round(float(mel_to_hz(hz_to_mel(440.0))), 6)
    440.0
    >>> round(float(mel_to_hz(15.0, scale="slaney")), 9)
    1000.0
    """
    check_choice("scale", scale, MEL_SCALES)
    m = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        out = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        out = np.where(m >= _MEL_BREAK, _F_BREAK * np.exp(_LOGSTEP * (m - _MEL_BREAK)), _F_SP * m)
    return float(out) if out.ndim == 0 else out


def mel_frequencies(n: int, *, fmin: float, fmax: float, scale: str = "htk") -> np.ndarray:
    """``n`` frequencies (Hz, float64) evenly spaced on the mel scale from fmin to fmax.

    Examples
    --------
    >>> mel_frequencies(3, fmin=0.0, fmax=2000.0, scale="slaney").round(1)
    array([   0. ,  836.1, 2000. ])
    """
    n = check_int("n", n, lo=1)
    lo, hi = hz_to_mel(float(fmin), scale=scale), hz_to_mel(float(fmax), scale=scale)
    return np.asarray(mel_to_hz(np.linspace(lo, hi, n), scale=scale), dtype=np.float64)


def check_mel_range(*, sample_rate: int, fmin: float, fmax: float) -> tuple[int, float, float]:
    """Validate ``sample_rate`` and ``0 <= fmin < fmax <= sample_rate / 2`` (Nyquist)."""
    sr = check_int("sample_rate", sample_rate, lo=1)
    nyquist = sr / 2.0
    lo = check_float("fmin", fmin, lo=0.0)
    hi = check_float("fmax", fmax, lo=0.0, lo_open=True)
    if hi > nyquist:
        raise ConfigError(
            f"fmax={hi:g} Hz is above the Nyquist frequency sample_rate/2 = {nyquist:g} Hz "
            f"(sample_rate={sr}); lower fmax to at most {nyquist:g} or raise sample_rate"
        )
    if lo >= hi:
        raise ConfigError(f"fmin={lo:g} Hz must be below fmax={hi:g} Hz")
    return sr, lo, hi


def mel_filterbank(
    *,
    sample_rate: int,
    n_fft: int,
    n_mels: int = 40,
    fmin: float = 0.0,
    fmax: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
) -> np.ndarray:
    """Triangular mel filterbank matrix (see the module docstring for the definition).

    Parameters
    ----------
    sample_rate : int > 0
        Sampling rate of the signal, Hz.
    n_fft : int >= 2
        FFT length; the filterbank has ``n_fft // 2 + 1`` columns (bins 0 .. Nyquist).
    n_mels : int >= 1
        Number of mel bands (rows).
    fmin, fmax : float
        Lowest and highest edge, Hz; ``0 <= fmin < fmax <= sample_rate / 2``.
        ``fmax=None`` means ``sample_rate / 2``.
    scale : {'htk', 'slaney'}
        Mel scale (librosa ``htk=True`` / ``htk=False``).
    norm : {None, 'slaney'}
        None: peak-1 triangles; 'slaney': equal-area triangles (librosa's default).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1), dtype=float32]
        Read-only (cached per argument set); ``mel = fb @ power`` gives band energies.

    Raises
    ------
    ConfigError
        ``fmax`` above Nyquist, ``fmin >= fmax``, a band that contains no FFT bin (too
        many bands for the FFT resolution), or another parameter out of range.

    Examples
    --------
    >>> fb = mel_filterbank(sample_rate=16000, n_fft=512, n_mels=40, fmin=20.0, fmax=4000.0)
    >>> fb.shape, fb.dtype, float(fb.max()) <= 1.0
    ((40, 257), dtype('float32'), True)
    >>> mel_filterbank(sample_rate=16000, n_fft=512, fmax=9000.0)
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: fmax=9000 Hz is above the Nyquist frequency sample_rate/2 = 8000 Hz (sample_rate=16000); lower fmax to at most 8000 or raise sample_rate
    """
    sr = check_int("sample_rate", sample_rate, lo=1)
    n_fft = check_int("n_fft", n_fft, lo=2)
    n_mels = check_int("n_mels", n_mels, lo=1)
    hi = sr / 2.0 if fmax is None else fmax
    sr, lo, hi = check_mel_range(sample_rate=sr, fmin=fmin, fmax=hi)
    check_choice("scale", scale, MEL_SCALES)
    check_choice("norm", norm, MEL_NORMS)
    return _mel_filterbank_cached(sr, n_fft, n_mels, lo, hi, scale, norm)


@functools.lru_cache(maxsize=32)
def _mel_filterbank_cached(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, scale: str, norm: str | None
) -> np.ndarray:
    fb = mel_weights_float64(sr, n_fft, n_mels, fmin, fmax, scale, norm).astype(np.float32)
    empty = np.flatnonzero(~(fb > 0).any(axis=1))
    if empty.size:
        raise ConfigError(
            f"n_mels={n_mels} is too many for n_fft={n_fft} at sample_rate={sr} between "
            f"fmin={fmin:g} and fmax={fmax:g} Hz: band(s) {empty.tolist()} contain no FFT bin "
            f"(bin spacing {sr / n_fft:g} Hz); lower n_mels, raise fmin or raise n_fft"
        )
    fb.setflags(write=False)
    return fb


def mel_weights_float64(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, scale: str, norm: str | None
) -> np.ndarray:
    """The filterbank in float64 without checks (the reference the C twin follows)."""
    bin_hz = np.arange(n_fft // 2 + 1, dtype=np.float64) * (sr / n_fft)
    edges = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, scale=scale)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_hz - left) / (centre - left)
    falling = (right - bin_hz) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= 2.0 / (right - left)
    return weights
