"""Per-axis spectral features for IMU windows (in the spirit of Edge Impulse's block).

For each axis of a window, in this order:

1. optional causal Butterworth low- or high-pass filter (zero initial state, as the
   device runs it; :func:`~tinyml_suite.common.dsp.filters.sosfilt`);
2. optional mean removal (``remove_mean``);
3. RMS, skewness and kurtosis of the result
   (:func:`~tinyml_suite.common.dsp.stats.time_stats` definitions; with ``remove_mean``
   the RMS equals the standard deviation);
4. power in ``len(band_edges_hz) - 1`` bands of the Welch PSD (density scaling,
   constant detrend, integrated over each band), optionally as ``ln(power + log_floor)``.

Output per axis: ``[rms, skewness, kurtosis, band_0, ..., band_{B-1}]``; the names come
from :func:`imu_spectral_names`. The C twin is ``tm_imuspec_axis`` in
``firmware_templates/dsp/tm_spectral.{h,c}``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import (
    as_signal,
    check_choice,
    check_float,
    check_int,
    check_power_of_two,
)
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt
from tinyml_suite.common.dsp.spectral import (
    BandPowerParams,
    WelchParams,
    band_bins,
    band_powers,
    welch,
)
from tinyml_suite.common.dsp.stats import StatsParams, time_stats
from tinyml_suite.common.errors import ConfigError

__all__ = ["ImuSpectralParams", "imu_spectral", "imu_spectral_names"]


@dataclass(kw_only=True, frozen=True)
class ImuSpectralParams:
    """Options of :func:`imu_spectral`.

    Attributes
    ----------
    filter_kind : {'none', 'lowpass', 'highpass'}
        Optional causal Butterworth filter before the features.
    filter_order : int
        Filter order (1..12).
    filter_cutoff_hz : float
        Filter -3 dB frequency in Hz (below Nyquist).
    remove_mean : bool
        Subtract each axis's mean (gravity, offsets) after the filter.
    fisher : bool
        Kurtosis as excess (True, Gaussian = 0) or Pearson (False, Gaussian = 3).
    nperseg : int
        Welch segment length (power of two, <= window length).
    noverlap : int or None
        Welch overlap in samples; None means ``nperseg // 2``.
    window : {'hann', 'hamming', 'boxcar'}
        Welch segment window.
    band_edges_hz : tuple of float
        Contiguous band edges in Hz for the spectral powers (``>= 2`` edges, <= Nyquist).
    log_bands : bool
        Return band powers as ``ln(power + log_floor)``.
    log_floor : float
        Floor added before the logarithm (> 0).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "IMUSPEC"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "filter_kind": {"none": -1, "lowpass": 0, "highpass": 1},
        "window": {"hann": 0, "hamming": 1, "boxcar": 2},
    }

    filter_kind: str = "none"
    filter_order: int = 4
    filter_cutoff_hz: float = 3.0
    remove_mean: bool = True
    fisher: bool = True
    nperseg: int = 64
    noverlap: int | None = None
    window: str = "hann"
    band_edges_hz: tuple[float, ...] = (0.5, 1.5, 3.0, 6.0, 12.0)
    log_bands: bool = True
    log_floor: float = 1e-10

    def __post_init__(self) -> None:
        check_choice("filter_kind", self.filter_kind, ("none", "lowpass", "highpass"))
        check_int("filter_order", self.filter_order, lo=1, hi=12)
        check_float("filter_cutoff_hz", self.filter_cutoff_hz, lo=0.0, lo_open=True)
        check_power_of_two("nperseg", self.nperseg, lo=4)
        if self.noverlap is None:
            object.__setattr__(self, "noverlap", self.nperseg // 2)
        check_int("noverlap", self.noverlap, lo=0, hi=self.nperseg - 1)
        check_choice("window", self.window, ("hann", "hamming", "boxcar"))
        for name in ("remove_mean", "fisher", "log_bands"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be True or False")
        # Normalises band_edges_hz to a tuple of floats and checks it.
        bands = BandPowerParams(edges_hz=self.band_edges_hz, log=self.log_bands, log_floor=self.log_floor)
        object.__setattr__(self, "band_edges_hz", bands.edges_hz)

    # The component blocks this one is made of.
    def filter_params(self) -> ButterworthParams | None:
        """The Butterworth filter, or None when ``filter_kind == 'none'``."""
        if self.filter_kind == "none":
            return None
        return ButterworthParams(kind=self.filter_kind, order=self.filter_order, cutoff_hz=self.filter_cutoff_hz)

    def welch_params(self) -> WelchParams:
        """The Welch estimate (density scaling, constant detrend)."""
        return WelchParams(nperseg=self.nperseg, noverlap=self.noverlap, window=self.window)

    def band_params(self) -> BandPowerParams:
        """The band powers (integrated density, optional log)."""
        return BandPowerParams(edges_hz=self.band_edges_hz, integrate=True, log=self.log_bands, log_floor=self.log_floor)

    @property
    def n_features(self) -> int:
        """Features per axis: 3 statistics + one power per band."""
        return 3 + len(self.band_edges_hz) - 1

    def c_defines(self, *, sample_rate: float) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h``.

        Adds ``IMUSPEC_N_FEATURES``, ``IMUSPEC_N_BANDS``, ``IMUSPEC_BIN_LO``/``_BIN_HI``
        (Welch bin ranges of the bands), ``IMUSPEC_BIN_WIDTH``, ``IMUSPEC_HOP`` and, with a
        filter, ``IMUSPEC_N_SECTIONS`` and ``IMUSPEC_SOS`` (float32 coefficients).
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        freqs = np.fft.rfftfreq(self.nperseg, 1.0 / fs)
        bins = band_bins(freqs, self.band_edges_hz, name="band_edges_hz")
        out = params_defines(self)
        out["IMUSPEC_SAMPLE_RATE"] = fs
        out["IMUSPEC_N_FEATURES"] = self.n_features
        out["IMUSPEC_N_BANDS"] = len(self.band_edges_hz) - 1
        out["IMUSPEC_HOP"] = self.nperseg - int(self.noverlap)
        out["IMUSPEC_BIN_LO"] = tuple(int(v) for v in bins[:, 0])
        out["IMUSPEC_BIN_HI"] = tuple(int(v) for v in bins[:, 1])
        out["IMUSPEC_BIN_WIDTH"] = float(freqs[1] - freqs[0])
        fp = self.filter_params()
        if fp is not None:
            sos = butter_sos(sample_rate=fs, params=fp)
            out["IMUSPEC_N_SECTIONS"] = int(sos.shape[0])
            out["IMUSPEC_SOS"] = tuple(float(v) for v in sos.ravel())
        else:
            out["IMUSPEC_N_SECTIONS"] = 0
        return out


def imu_spectral_names(params: ImuSpectralParams) -> list[str]:
    """Names of the per-axis features, in output order.

    Examples
    --------
    >>> imu_spectral_names(ImuSpectralParams(band_edges_hz=(0.5, 2.0, 8.0)))
    ['rms', 'skewness', 'kurtosis', 'band_0.5_2Hz', 'band_2_8Hz']
    """
    e = params.band_edges_hz
    return ["rms", "skewness", "kurtosis"] + [f"band_{a:g}_{b:g}Hz" for a, b in itertools.pairwise(e)]


def imu_spectral(signal: np.ndarray, *, sample_rate: float, params: ImuSpectralParams = ImuSpectralParams()) -> np.ndarray:
    """Per-axis RMS, skewness, kurtosis and spectral band powers of IMU windows.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Windows with time last; typically ``(n_windows, n_axes, n)``; every leading
        index (window, axis) is processed independently. ``n >= params.nperseg``.
    sample_rate : float > 0
        Sample rate in Hz.
    params : ImuSpectralParams
        Filter, statistics and spectral options.

    Returns
    -------
    features : np.ndarray [shape=(..., 3 + n_bands), dtype=float32]
        ``[rms, skewness, kurtosis, band powers...]`` per leading index (see
        :func:`imu_spectral_names`); reshape ``(..., n_axes * n_features)`` for a model.

    Examples
    --------
    >>> fs = 50.0
    >>> t = np.arange(128) / fs
    >>> x = np.stack([np.sin(2 * np.pi * 2.0 * t), 0.1 * np.sin(2 * np.pi * 9.0 * t)])
    >>> p = ImuSpectralParams(band_edges_hz=(0.5, 4.0, 12.0), log_bands=False)
    >>> f = imu_spectral(x, sample_rate=fs, params=p)
    >>> f.shape, bool(f[0, 3] > f[0, 4]), bool(f[1, 4] > f[1, 3])
    ((2, 5), True, True)
    """
    if not isinstance(params, ImuSpectralParams):
        raise ConfigError(f"params={params!r} must be an ImuSpectralParams")
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    x = as_signal(signal)
    if x.shape[-1] < params.nperseg:
        raise ConfigError(
            f"signal has {x.shape[-1]} samples, fewer than nperseg={params.nperseg}; "
            "use a longer window or a smaller nperseg"
        )
    fp = params.filter_params()
    if fp is not None:
        x = sosfilt(x, sos=butter_sos(sample_rate=fs, params=fp))
    if params.remove_mean:
        x = (x.astype(np.float64) - x.mean(axis=-1, keepdims=True, dtype=np.float64)).astype(np.float32)
    st, _ = time_stats(x, params=StatsParams(fisher=params.fisher))
    freqs, psd = welch(x, sample_rate=fs, params=params.welch_params())
    bands = band_powers(psd, freqs=freqs, params=params.band_params())
    return np.concatenate([st[..., 2:5], bands], axis=-1).astype(np.float32)
