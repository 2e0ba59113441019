"""IMU feature extractors: normalised raw windows and per-axis spectral features.

Both take raw windows ``x`` [shape=(n, channels, samples)] in the suite's IMU units
(accelerometer ``ax, ay, az`` in g, then gyroscope ``gx, gy, gz`` in rad/s; see
:mod:`tinyml_suite.datasets.imu_common`) and are built only from
:mod:`tinyml_suite.common.dsp`:

* ``imu_raw`` (:class:`ImuRaw`): each channel scaled by a fixed factor,
  ``(x - offset_c) / scale_c`` (:func:`~tinyml_suite.common.dsp.zscore` with fixed
  statistics), laid out ``(samples, channels)`` for a 1-D CNN. The device runs
  ``tm_zscore_apply`` (``firmware_templates/dsp/tm_fe_imu_raw.c``).
* ``imu_spectral`` (:class:`ImuSpectral`): Edge-Impulse-style spectral features per
  axis (optional Butterworth filter, RMS, skewness, kurtosis, Welch band powers;
  :func:`~tinyml_suite.common.dsp.imu_spectral`), flattened ``(channels * features,)``
  for a dense net. The device runs ``tm_imuspec_axis``
  (``firmware_templates/dsp/tm_fe_imu_spectral.c``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from tinyml_suite.common.dsp import ImuSpectralParams, ZScoreParams, imu_spectral, zscore
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = ["ImuRaw", "ImuRawParams", "ImuSpectral", "ImuSpectralFeatureParams"]


def _windows(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 3:
        raise ConfigError(f"IMU features take windows of shape (n, channels, samples); got {arr.shape}")
    return arr


@dataclass(kw_only=True, frozen=True)
class ImuRawParams:
    """Options of :class:`ImuRaw`.

    Attributes
    ----------
    accel_scale : float
        Divisor of the accelerometer channels (0-2), in g (> 0).
    gyro_scale : float
        Divisor of the gyroscope channels (3-5), in rad/s (> 0).
    scale : tuple of float
        Per-channel divisors (one per channel, or one for all); overrides
        ``accel_scale``/``gyro_scale``. Needed for other than 3 or 6 channels.
    offset : tuple of float
        Per-channel values subtracted first (one per channel, or one for all); empty: 0.
    """

    accel_scale: float = 2.0
    gyro_scale: float = 8.0
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("accel_scale", "gyro_scale"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(f"features.{name}={v!r} must be a number > 0")
        object.__setattr__(self, "scale", tuple(float(v) for v in self.scale))
        object.__setattr__(self, "offset", tuple(float(v) for v in self.offset))
        if any(not v > 0 for v in self.scale):
            raise ConfigError(f"features.scale={list(self.scale)} must hold numbers > 0")


class ImuRaw(FeatureExtractor):
    """Raw IMU windows scaled per channel, as ``(samples, channels)``.

    Examples
    --------
    >>> f = ImuRaw(sample_rate=50.0, accel_scale=2.0, gyro_scale=8.0)
    >>> x = np.zeros((1, 6, 4), dtype=np.float32); x[0, 2] = 1.0; x[0, 5] = 4.0
    >>> f(x)[0, 0].tolist()
    [0.0, 0.0, 0.5, 0.0, 0.0, 0.5]
    """

    kind = "imu_raw"
    Params = ImuRawParams

    def __init__(self, *, sample_rate: float, **params: Any) -> None:
        super().__init__(sample_rate=sample_rate, **params)
        self._channels: int | None = None

    def zscore_params(self, n_channels: int) -> ZScoreParams:
        """The fixed statistics (offset, scale) for ``n_channels`` channels."""
        p = self.params
        if p.scale:
            if len(p.scale) not in (1, n_channels):
                raise ConfigError(
                    f"features.scale has {len(p.scale)} values but the data has {n_channels} channels; "
                    "give one per channel or one for all"
                )
            scale = p.scale * (n_channels if len(p.scale) == 1 else 1)
        elif n_channels in (3, 6):
            scale = (p.accel_scale,) * 3 + (p.gyro_scale,) * (n_channels - 3)
        else:
            raise ConfigError(
                f"the data has {n_channels} channels, not 3 (accel) or 6 (accel + gyro); set "
                f"features.scale to one divisor per channel (e.g. features.scale=[{','.join(['1.0'] * n_channels)}])"
            )
        if p.offset and len(p.offset) not in (1, n_channels):
            raise ConfigError(
                f"features.offset has {len(p.offset)} values but the data has {n_channels} channels"
            )
        offset = (p.offset * (n_channels if len(p.offset) == 1 else 1)) if p.offset else (0.0,) * n_channels
        return ZScoreParams(mean=offset, std=scale)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        arr = _windows(x)
        zp = self.zscore_params(arr.shape[1])
        self._channels = arr.shape[1]
        z = zscore(arr, params=zp, axis=-2)
        return np.ascontiguousarray(np.transpose(z, (0, 2, 1)), dtype=np.float32)

    def dsp_params(self) -> list[Any]:
        if self._channels is None:
            raise ConfigError("ImuRaw.dsp_params() needs the channel count: compute features first")
        return [self.zscore_params(self._channels)]

    def c_sources(self) -> list[str]:
        return ["tm_normalize.c", "tm_fe_imu_raw.c"]

    def c_scratch_bytes(self) -> int:
        return 0


@dataclass(kw_only=True, frozen=True)
class ImuSpectralFeatureParams(ImuSpectralParams):
    """Options of :class:`ImuSpectral`: the fields of
    :class:`~tinyml_suite.common.dsp.ImuSpectralParams` (units, ranges and checks are
    its own), with a log floor of 1e-6 for the gesture features."""

    log_floor: float = 1e-6

    def dsp(self) -> ImuSpectralParams:
        """The plain DSP parameters (what ``imu_spectral`` and ``dsp_params.h`` take)."""
        return ImuSpectralParams(**{f.name: getattr(self, f.name) for f in fields(ImuSpectralParams)})


class ImuSpectral(FeatureExtractor):
    """Per-axis RMS, skewness, kurtosis and band powers, flattened channel-major.

    Examples
    --------
    >>> f = ImuSpectral(sample_rate=50.0, band_edges_hz=[0.5, 4.0, 12.0])
    >>> f(np.random.default_rng(0).normal(size=(2, 3, 128))).shape
    (2, 15)
    """

    kind = "imu_spectral"
    Params = ImuSpectralFeatureParams

    def __init__(self, *, sample_rate: float, **params: Any) -> None:
        super().__init__(sample_rate=sample_rate, **params)
        p = self.params.dsp()
        nyq = self.sample_rate / 2.0
        if max(p.band_edges_hz) > nyq:
            raise ConfigError(
                f"features.band_edges_hz={list(p.band_edges_hz)} goes above the Nyquist frequency "
                f"{nyq:g} Hz of the {self.sample_rate:g} Hz data; lower the top edge"
            )
        self._dsp = p
        self._samples: int | None = None

    @property
    def feature_names(self) -> list[str]:
        from tinyml_suite.common.dsp import imu_spectral_names

        return imu_spectral_names(self._dsp)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        arr = _windows(x)
        self._samples = arr.shape[-1]
        f = imu_spectral(arr, sample_rate=self.sample_rate, params=self._dsp)  # (n, C, F)
        return np.ascontiguousarray(f.reshape(f.shape[0], -1), dtype=np.float32)

    def dsp_params(self) -> list[Any]:
        return [self._dsp]

    def c_sources(self) -> list[str]:
        return ["tm_fft.c", "tm_frames.c", "tm_biquad.c", "tm_stats.c", "tm_spectral.c", "tm_fe_imu_spectral.c"]

    def c_scratch_bytes(self) -> int:
        """Work buffer of ``tm_imuspec_axis`` plus the block's state (window, filter)."""
        n = self._samples or 0
        p = self._dsp
        sections = 0 if p.filter_kind == "none" else (p.filter_order + 1) // 2
        work = n + 2 * p.nperseg + 2 + p.nperseg // 2 + 1
        return 4 * (work + p.nperseg + 2 * sections + 8 * sections)
