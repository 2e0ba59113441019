"""Spectral analysis for IMU and vibration signals: Welch PSD, band powers, spectral peaks.

* :func:`welch` - averaged periodogram, equal to :func:`scipy.signal.welch` with the same
  arguments (``average='mean'``, one-sided, ``nfft = nperseg``, no boundary padding).
* :func:`band_powers` - power in contiguous bands ``[edge_b, edge_b+1)`` of a power
  spectrum; :func:`band_bins` gives the bin ranges (the C twin reads them from
  ``dsp_params.h`` so that both sides use exactly the same bins).
* :func:`spectral_peaks` - the ``n_peaks`` highest local maxima of a spectrum, with
  optional parabolic (quadratic) interpolation of frequency and height.

Band membership rule (used everywhere in the suite): bin ``k`` at frequency ``f_k``
belongs to band ``[lo, hi)`` if ``lo <= f_k < hi``; the band whose ``hi`` is the top
bin's frequency (the Nyquist frequency for even ``n``) also includes that bin. Every
band must contain at least one bin.

The C twins are in ``firmware_templates/dsp/tm_spectral.{h,c}``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinyml_suite.common.dsp._checks import (
    as_signal,
    check_choice,
    check_float,
    check_int,
    check_power_of_two,
)
from tinyml_suite.common.errors import ConfigError

__all__ = [
    "BandPowerParams",
    "SpectralPeaksParams",
    "WelchParams",
    "band_bins",
    "band_powers",
    "spectral_peaks",
    "welch",
    "window_coefficients",
]

_WINDOWS = ("hann", "hamming", "boxcar")


def window_coefficients(name: str, n: int) -> np.ndarray:
    """Periodic (DFT-even) window of length ``n`` in float64, as ``scipy.signal.get_window``.

    ``hann``: ``0.5 - 0.5 cos(2 pi i / n)``; ``hamming``: ``0.54 - 0.46 cos(2 pi i / n)``;
    ``boxcar``: ones. The C twin computes the same formula in double and rounds to float.

    Examples
    --------
    >>> window_coefficients("hann", 4).round(12).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    check_choice("window", name, _WINDOWS)
    n = check_int("n", n, lo=1)
    c = np.cos(2.0 * np.pi * np.arange(n) / n)
    if name == "hann":
        return 0.5 - 0.5 * c
    if name == "hamming":
        return 0.54 - 0.46 * c
    return np.ones(n)


def _as_tuple(name: str, value: object) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{name}={value!r} must be a list of numbers")
    return tuple(value)


@dataclass(kw_only=True, frozen=True)
class WelchParams:
    """Welch power spectral density estimate.

    Attributes
    ----------
    nperseg : int
        Segment (FFT) length in samples; a power of two (the device FFT needs one).
    noverlap : int or None
        Overlap between segments in samples, ``0 <= noverlap < nperseg``;
        None means ``nperseg // 2``.
    window : {'hann', 'hamming', 'boxcar'}
        Periodic window applied to each segment.
    detrend : {'constant', 'none'}
        Remove each segment's mean before the window (scipy's default) or not.
    scaling : {'density', 'spectrum'}
        Power spectral density in units**2/Hz (``|X|^2 / (fs * sum w^2)``) or power
        spectrum in units**2 (``|X|^2 / (sum w)^2``); both one-sided (doubled except at
        DC and Nyquist).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "WELCH"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "window": {"hann": 0, "hamming": 1, "boxcar": 2},
        "detrend": {"none": 0, "constant": 1},
        "scaling": {"density": 0, "spectrum": 1},
    }

    nperseg: int = 256
    noverlap: int | None = None
    window: str = "hann"
    detrend: str = "constant"
    scaling: str = "density"

    def __post_init__(self) -> None:
        check_power_of_two("nperseg", self.nperseg, lo=4)
        if self.noverlap is None:
            object.__setattr__(self, "noverlap", self.nperseg // 2)
        check_int("noverlap", self.noverlap, lo=0, hi=self.nperseg - 1)
        check_choice("window", self.window, _WINDOWS)
        check_choice("detrend", self.detrend, ("constant", "none"))
        check_choice("scaling", self.scaling, ("density", "spectrum"))

    @property
    def hop(self) -> int:
        """Samples between segment starts, ``nperseg - noverlap``."""
        return self.nperseg - int(self.noverlap)

    def n_segments(self, n: int) -> int:
        """Number of segments in ``n`` samples (0 if ``n < nperseg``)."""
        return 0 if n < self.nperseg else 1 + (n - self.nperseg) // self.hop

    def c_defines(self, **_: Any) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h`` (adds ``WELCH_HOP``, ``WELCH_N_BINS``)."""
        from tinyml_suite.common.dsp.c_params import params_defines

        out = params_defines(self)
        out["WELCH_HOP"] = self.hop
        out["WELCH_N_BINS"] = self.nperseg // 2 + 1
        return out


def _welch64(x: np.ndarray, fs: float, p: WelchParams) -> np.ndarray:
    """Welch PSD in float64 of a float64 array (checked by the caller)."""
    w = window_coefficients(p.window, p.nperseg)
    seg = sliding_window_view(x, p.nperseg, axis=-1)[..., :: p.hop, :]
    if p.detrend == "constant":
        seg = seg - seg.mean(axis=-1, keepdims=True)
    spec = np.fft.rfft(seg * w, axis=-1)
    power = spec.real**2 + spec.imag**2
    if p.scaling == "density":
        power = power / (fs * np.sum(w * w))
    else:
        power = power / np.sum(w) ** 2
    power[..., 1:-1] *= 2.0  # one-sided; nperseg is even so the last bin is Nyquist
    return power.mean(axis=-2)


def welch(signal: np.ndarray, *, sample_rate: float, params: WelchParams = WelchParams()) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density along the last axis.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real signal, ``n >= params.nperseg``.
    sample_rate : float > 0
        Sample rate in Hz.
    params : WelchParams
        Segment length, overlap, window, detrending and scaling.

    Returns
    -------
    freqs : np.ndarray [shape=(nperseg // 2 + 1,), dtype=float32]
        Bin frequencies in Hz, ``k * sample_rate / nperseg``.
    psd : np.ndarray [shape=(..., nperseg // 2 + 1), dtype=float32]
        Equal to ``scipy.signal.welch(signal, fs=sample_rate, window=params.window,
        nperseg=params.nperseg, noverlap=params.noverlap, detrend=params.detrend or False,
        scaling=params.scaling)`` (computed in float64, rounded to float32).

    Examples
    --------
    >>> fs = 100.0
    >>> x = np.sin(2 * np.pi * 12.5 * np.arange(1000) / fs)
    >>> f, p = welch(x, sample_rate=fs, params=WelchParams(nperseg=64))
    >>> float(f[np.argmax(p)])
    12.5
    """
    if not isinstance(params, WelchParams):
        raise ConfigError(f"params={params!r} must be a WelchParams")
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    x = as_signal(signal)
    if x.shape[-1] < params.nperseg:
        raise ConfigError(
            f"signal has {x.shape[-1]} samples, fewer than nperseg={params.nperseg}; "
            "use a longer window or a smaller nperseg"
        )
    psd = _welch64(x.astype(np.float64), fs, params)
    freqs = np.fft.rfftfreq(params.nperseg, 1.0 / fs)
    return freqs.astype(np.float32), psd.astype(np.float32)


@dataclass(kw_only=True, frozen=True)
class BandPowerParams:
    """Contiguous frequency bands over a power spectrum.

    Attributes
    ----------
    edges_hz : tuple of float
        ``n_bands + 1`` strictly increasing band edges in Hz, ``>= 0``; band ``b`` is
        ``[edges_hz[b], edges_hz[b+1])`` (see the module's band membership rule).
    integrate : bool
        Multiply each band's sum by the bin width ``df`` (True: the input is a density,
        e.g. Welch ``scaling='density'``, and the result is power in units**2; False:
        the input is already a power per bin and the result is its plain sum).
    log : bool
        Return ``ln(power + log_floor)`` instead of power.
    log_floor : float
        Added before the logarithm (> 0), so silent bands stay finite.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "BANDS"

    edges_hz: tuple[float, ...] = (0.5, 1.5, 3.0, 6.0, 12.0)
    integrate: bool = True
    log: bool = False
    log_floor: float = 1e-10

    def __post_init__(self) -> None:
        edges = tuple(
            check_float(f"edges_hz[{i}]", v, lo=0.0) for i, v in enumerate(_as_tuple("edges_hz", self.edges_hz))
        )
        if len(edges) < 2:
            raise ConfigError(f"edges_hz={edges} must hold at least 2 edges (one band)")
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ConfigError(f"edges_hz={edges} must be strictly increasing")
        object.__setattr__(self, "edges_hz", edges)
        check_float("log_floor", self.log_floor, lo=0.0, lo_open=True)
        for name in ("integrate", "log"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be True or False")

    @property
    def n_bands(self) -> int:
        """Number of bands, ``len(edges_hz) - 1``."""
        return len(self.edges_hz) - 1

    def c_defines(self, *, sample_rate: float, n_fft: int) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h``, for spectra of ``n_fft`` points.

        Adds ``BANDS_N_BANDS``, ``BANDS_BIN_LO``/``BANDS_BIN_HI`` (brace initializers of
        the half-open bin ranges from :func:`band_bins` over ``rfftfreq(n_fft, 1 /
        sample_rate)``) and ``BANDS_BIN_WIDTH``.
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        freqs = np.fft.rfftfreq(check_int("n_fft", n_fft, lo=2), 1.0 / fs)
        bins = band_bins(freqs, self.edges_hz)
        out = params_defines(self)
        out["BANDS_N_BANDS"] = self.n_bands
        out["BANDS_BIN_LO"] = tuple(int(v) for v in bins[:, 0])
        out["BANDS_BIN_HI"] = tuple(int(v) for v in bins[:, 1])
        out["BANDS_BIN_WIDTH"] = float(freqs[1] - freqs[0])
        return out


def band_bins(freqs: np.ndarray, edges_hz: tuple[float, ...], *, name: str = "edges_hz") -> np.ndarray:
    """Half-open bin ranges ``[start, stop)`` of contiguous bands over a frequency axis.

    Parameters
    ----------
    freqs : np.ndarray [shape=(n_bins,)]
        Increasing, evenly spaced bin frequencies in Hz (e.g. from :func:`welch`).
    edges_hz : tuple of float
        ``n_bands + 1`` increasing edges, all within ``[0, freqs[-1]]``.

    Returns
    -------
    bins : np.ndarray [shape=(n_bands, 2), dtype=int64]

    Raises
    ------
    ConfigError
        An edge above the top frequency, or a band with no bin.

    Examples
    --------
    >>> band_bins(np.arange(5) * 10.0, (0.0, 15.0, 40.0)).tolist()
    [[0, 2], [2, 5]]
    """
    f = np.asarray(freqs, dtype=np.float64)
    if f.ndim != 1 or f.size < 2:
        raise ConfigError(f"freqs has shape {f.shape}; expected a 1-D axis of at least 2 bins")
    top = float(f[-1])
    edges = np.asarray(edges_hz, dtype=np.float64)
    if edges[-1] > top * (1 + 1e-9):
        raise ConfigError(
            f"{name}[-1]={edges[-1]} is above the top bin frequency {top} Hz (Nyquist); "
            "lower it or raise the sample rate"
        )
    start = np.searchsorted(f, edges[:-1], side="left")
    stop = np.searchsorted(f, edges[1:], side="left")
    if edges[-1] >= top * (1 - 1e-9):
        stop[-1] = f.size
    empty = np.flatnonzero(stop <= start)
    if empty.size:
        b = int(empty[0])
        raise ConfigError(
            f"band {b} [{edges[b]}, {edges[b + 1]}) Hz of {name} contains no frequency bin "
            f"(bin spacing {f[1] - f[0]:.6g} Hz); widen the band or use a longer FFT"
        )
    return np.stack([start, stop], axis=-1).astype(np.int64)


def band_powers(spectrum: np.ndarray, *, freqs: np.ndarray, params: BandPowerParams = BandPowerParams()) -> np.ndarray:
    """Power in each band of a one-sided power spectrum.

    Parameters
    ----------
    spectrum : np.ndarray [shape=(..., n_bins)]
        Power spectrum or density on the axis ``freqs`` (e.g. from :func:`welch`).
    freqs : np.ndarray [shape=(n_bins,)]
        Evenly spaced bin frequencies in Hz.
    params : BandPowerParams
        Band edges, integration and log options.

    Returns
    -------
    powers : np.ndarray [shape=(..., n_bands), dtype=float32]
        ``sum(spectrum[..., start:stop]) * df`` per band (``* df`` only when
        ``params.integrate``), then ``ln(. + log_floor)`` when ``params.log``.
        Over bands that tile ``[0, Nyquist]`` the powers of a Welch density sum to the
        mean power of the windowed segments (Parseval).

    Examples
    --------
    >>> f = np.arange(5) * 10.0
    >>> band_powers(np.ones(5), freqs=f, params=BandPowerParams(edges_hz=(0.0, 15.0, 40.0))).tolist()
    [20.0, 30.0]
    """
    if not isinstance(params, BandPowerParams):
        raise ConfigError(f"params={params!r} must be a BandPowerParams")
    s = as_signal(spectrum, name="spectrum").astype(np.float64)
    f = np.asarray(freqs, dtype=np.float64)
    if f.ndim != 1 or f.shape[0] != s.shape[-1]:
        raise ConfigError(
            f"freqs has shape {f.shape} but spectrum has {s.shape[-1]} bins on its last axis; "
            "pass the frequency axis of this spectrum"
        )
    bins = band_bins(f, params.edges_hz)
    out = np.stack([s[..., a:b].sum(axis=-1) for a, b in bins], axis=-1)
    if params.integrate:
        out = out * (f[1] - f[0])
    if params.log:
        if np.any(out + params.log_floor <= 0):
            raise ConfigError(
                f"spectrum has bands with negative power (min {float(out.min()):.3g}); log band powers need a "
                "power spectrum (e.g. from welch), not signed values"
            )
        out = np.log(out + params.log_floor)
    return out.astype(np.float32)


@dataclass(kw_only=True, frozen=True)
class SpectralPeaksParams:
    """Top-k spectral peak picking (host side; no C twin yet).

    Attributes
    ----------
    n_peaks : int
        How many peaks to return (>= 1); missing peaks are padded with 0.0 Hz, 0.0.
    interpolate : bool
        Refine each peak by fitting a parabola through the peak bin and its two
        neighbours: ``p = 0.5 (a - c) / (a - 2b + c)`` bins (``|p| < 0.5``), frequency
        ``(k + p) df``, height ``b - 0.25 (a - c) p``. On a log (dB) magnitude spectrum
        this is the classic quadratic interpolation of a windowed sinusoid.
    fmin_hz : float
        Ignore peaks below this frequency (e.g. to skip the DC region).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "SPECPEAKS"

    n_peaks: int = 3
    interpolate: bool = True
    fmin_hz: float = 0.0

    def __post_init__(self) -> None:
        check_int("n_peaks", self.n_peaks, lo=1)
        check_float("fmin_hz", self.fmin_hz, lo=0.0)
        if not isinstance(self.interpolate, (bool, np.bool_)):
            raise ConfigError(f"interpolate={self.interpolate!r} must be True or False")


def spectral_peaks(
    spectrum: np.ndarray, *, freqs: np.ndarray, params: SpectralPeaksParams = SpectralPeaksParams()
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and heights of the highest local maxima of a spectrum.

    A local maximum is a bin strictly higher than both neighbours (the first and last
    bins never qualify; flat tops are not peaks). Peaks are ranked by height (ties:
    lower frequency first) and the ``n_peaks`` highest are returned, highest first.
    Without interpolation the result equals the ``n_peaks`` highest of
    ``scipy.signal.find_peaks(spectrum)`` on spectra without plateaus.

    Parameters
    ----------
    spectrum : np.ndarray [shape=(..., n_bins)]
        Magnitude, power or dB spectrum; ``n_bins >= 3``.
    freqs : np.ndarray [shape=(n_bins,)]
        Evenly spaced bin frequencies in Hz.
    params : SpectralPeaksParams
        Number of peaks, interpolation, lowest frequency.

    Returns
    -------
    peak_freqs : np.ndarray [shape=(..., n_peaks), dtype=float32]
    peak_heights : np.ndarray [shape=(..., n_peaks), dtype=float32]

    Examples
    --------
    >>> f = np.arange(8) * 1.0
    >>> s = np.array([0, 1, 0, 0, 3, 2, 0, 0.0])
    >>> pf, ph = spectral_peaks(s, freqs=f, params=SpectralPeaksParams(n_peaks=3))
    >>> pf.round(3).tolist(), ph.round(3).tolist()
    ([4.25, 1.0, 0.0], [3.125, 1.0, 0.0])
    """
    if not isinstance(params, SpectralPeaksParams):
        raise ConfigError(f"params={params!r} must be a SpectralPeaksParams")
    s = as_signal(spectrum, name="spectrum", min_length=3).astype(np.float64)
    f = np.asarray(freqs, dtype=np.float64)
    if f.ndim != 1 or f.shape[0] != s.shape[-1]:
        raise ConfigError(
            f"freqs has shape {f.shape} but spectrum has {s.shape[-1]} bins on its last axis; "
            "pass the frequency axis of this spectrum"
        )
    df = f[1] - f[0]
    a, b, c = s[..., :-2], s[..., 1:-1], s[..., 2:]
    is_peak = (b > a) & (b > c) & (f[1:-1] >= params.fmin_hz)
    k = min(params.n_peaks, is_peak.shape[-1])
    ranked = np.where(is_peak, b, -np.inf)
    idx = np.argsort(-ranked, axis=-1, kind="stable")[..., :k]
    valid = np.take_along_axis(is_peak, idx, axis=-1)
    ya = np.take_along_axis(a, idx, axis=-1)
    yb = np.take_along_axis(b, idx, axis=-1)
    yc = np.take_along_axis(c, idx, axis=-1)
    pk_f = f[1:-1][idx]
    pk_h = yb
    if params.interpolate:
        denom = np.where(valid, ya - 2.0 * yb + yc, -1.0)
        p = np.where(valid, 0.5 * (ya - yc) / denom, 0.0)
        pk_f = pk_f + p * df
        pk_h = yb - 0.25 * (ya - yc) * p
    pk_f = np.where(valid, pk_f, 0.0)
    pk_h = np.where(valid, pk_h, 0.0)
    missing = params.n_peaks - k
    if missing:
        zeros = np.zeros(pk_f.shape[:-1] + (missing,))
        pk_f = np.concatenate([pk_f, zeros], axis=-1)
        pk_h = np.concatenate([pk_h, zeros], axis=-1)
    return pk_f.astype(np.float32), pk_h.astype(np.float32)
