"""Hilbert envelope and the bearing envelope spectrum.

A bearing defect makes the structure ring at a resonance every time a ball passes the
defect; the ringing's *envelope* repeats at the defect frequency (BPFO, BPFI, ...).
:func:`envelope_spectrum` isolates the resonance with a Butterworth band-pass, takes the
Hilbert envelope, removes its mean and returns the amplitude spectrum of the envelope,
where the defect frequency and its harmonics show as peaks.

Host-side analysis (no C twin): the envelope needs an FFT over the whole record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_int
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt
from tinyml_suite.common.dsp.spectral import window_coefficients
from tinyml_suite.common.errors import ConfigError

__all__ = ["EnvelopeSpectrumParams", "envelope_spectrum", "hilbert_envelope"]


def hilbert_envelope(signal: np.ndarray) -> np.ndarray:
    """Magnitude of the analytic signal along the last axis.

    The analytic signal is built in the frequency domain: the full FFT is kept at DC
    (and at Nyquist for even ``n``), doubled at positive frequencies and zeroed at
    negative ones, then inverted. Equal to ``np.abs(scipy.signal.hilbert(signal))``.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real signal.

    Returns
    -------
    envelope : np.ndarray [shape=(..., n), dtype=float32]

    Examples
    --------
    >>> t = np.arange(1000) / 1000.0
    >>> am = (1 + 0.5 * np.cos(2 * np.pi * 5 * t)) * np.cos(2 * np.pi * 100 * t)
    >>> env = hilbert_envelope(am)
    >>> bool(np.max(np.abs(env - (1 + 0.5 * np.cos(2 * np.pi * 5 * t)))) < 1e-6)
    True
    """
    x = as_signal(signal).astype(np.float64)
    n = x.shape[-1]
    h = np.zeros(n)
    h[0] = 1.0
    if n % 2 == 0:
        h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[1 : (n + 1) // 2] = 2.0
    analytic = np.fft.ifft(np.fft.fft(x, axis=-1) * h, axis=-1)
    return np.abs(analytic).astype(np.float32)


@dataclass(kw_only=True, frozen=True)
class EnvelopeSpectrumParams:
    """Options of :func:`envelope_spectrum`.

    Attributes
    ----------
    band_low_hz, band_high_hz : float
        Pass band around the structural resonance, in Hz (``0 < low < high < Nyquist``).
    filter_order : int
        Butterworth band-pass order (1..12; the filter has ``2 * order`` poles).
    zero_phase : bool
        Forward-backward band-pass (offline); False filters causally.
    window : {'hann', 'boxcar'}
        Window on the mean-removed envelope before the FFT.
    fmax_hz : float or None
        Keep envelope-spectrum bins up to this frequency (None: up to Nyquist).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "ENVSPEC"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {"window": {"hann": 0, "boxcar": 2}}

    band_low_hz: float = 2000.0
    band_high_hz: float = 4000.0
    filter_order: int = 4
    zero_phase: bool = True
    window: str = "hann"
    fmax_hz: float | None = 500.0

    def __post_init__(self) -> None:
        lo = check_float("band_low_hz", self.band_low_hz, lo=0.0, lo_open=True)
        check_float("band_high_hz", self.band_high_hz, lo=lo, lo_open=True)
        check_int("filter_order", self.filter_order, lo=1, hi=12)
        check_choice("window", self.window, ("hann", "boxcar"))
        if self.fmax_hz is not None:
            check_float("fmax_hz", self.fmax_hz, lo=0.0, lo_open=True)
        if not isinstance(self.zero_phase, (bool, np.bool_)):
            raise ConfigError(f"zero_phase={self.zero_phase!r} must be True or False")


def envelope_spectrum(
    signal: np.ndarray, *, sample_rate: float, params: EnvelopeSpectrumParams = EnvelopeSpectrumParams()
) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum of the band-passed signal's Hilbert envelope.

    Steps: Butterworth band-pass ``[band_low_hz, band_high_hz]`` -> :func:`hilbert_envelope`
    -> subtract the envelope's mean -> window ``w`` -> ``A_k = 2 |rfft(.)_k| / sum(w)``
    (so a sinusoidal envelope component of amplitude ``a`` at a bin frequency reads ``a``;
    the DC and Nyquist bins are halved accordingly) -> bins up to ``fmax_hz``.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Vibration record(s), time last.
    sample_rate : float > 0
        Sample rate in Hz.
    params : EnvelopeSpectrumParams
        Resonance band, filter, window and frequency range.

    Returns
    -------
    freqs : np.ndarray [shape=(n_bins,), dtype=float32]
        ``k * sample_rate / n`` for the kept bins.
    amplitude : np.ndarray [shape=(..., n_bins), dtype=float32]

    Examples
    --------
    >>> fs = 12000.0
    >>> t = np.arange(12000) / fs
    >>> x = (1 + 0.8 * np.cos(2 * np.pi * 107.0 * t)) * np.sin(2 * np.pi * 3000.0 * t)
    >>> f, a = envelope_spectrum(x, sample_rate=fs, params=EnvelopeSpectrumParams())
    >>> float(f[np.argmax(a)]), round(float(a.max()), 2)
    (107.0, 0.8)
    """
    if not isinstance(params, EnvelopeSpectrumParams):
        raise ConfigError(f"params={params!r} must be an EnvelopeSpectrumParams")
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    x = as_signal(signal, min_length=2)
    bp = ButterworthParams(
        kind="bandpass", order=params.filter_order, cutoff_hz=(params.band_low_hz, params.band_high_hz)
    )
    if params.fmax_hz is not None and params.fmax_hz > fs / 2:
        raise ConfigError(
            f"fmax_hz={params.fmax_hz} is above the Nyquist frequency {fs / 2} Hz; lower it or use None"
        )
    y = sosfilt(x, sos=butter_sos(sample_rate=fs, params=bp), zero_phase=params.zero_phase)
    env = hilbert_envelope(y).astype(np.float64)
    env -= env.mean(axis=-1, keepdims=True)
    n = env.shape[-1]
    w = window_coefficients(params.window, n)
    amp = 2.0 * np.abs(np.fft.rfft(env * w, axis=-1)) / np.sum(w)
    amp[..., 0] /= 2.0
    if n % 2 == 0:
        amp[..., -1] /= 2.0
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    if params.fmax_hz is not None:
        keep = freqs <= params.fmax_hz
        freqs, amp = freqs[keep], amp[..., keep]
    return freqs.astype(np.float32), amp.astype(np.float32)
