"""The ``vibration`` feature extractor: :func:`tinyml_suite.common.dsp.vibration.vibration_features`
(spectrum, envelope spectrum and time statistics per window; the blocks, their versioned
parameters :class:`~tinyml_suite.common.dsp.vibration.VibrationFeatureParams` and the
C twin ``tm_fe_vibration.c`` are described there) for the pipeline, with what the
deploy layer needs (C defines, sources, float operations, scratch RAM).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyml_suite.common.dsp import LogBandEnergyParams, StatsParams
from tinyml_suite.common.dsp.vibration import (
    VIB_IMPLEMENTATION_VERSION,
    VibrationFeatureParams,
    check_vibration_rate,
    envelope_band_bins,
    vibration_feature_names,
    vibration_features,
)
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = ["VIB_IMPLEMENTATION_VERSION", "VibrationFeatureParams", "VibrationFeatures"]  # (the first two re-exported)


class VibrationFeatures(FeatureExtractor):
    """Spectrum, envelope spectrum and statistics of each channel, flattened.

    Examples
    --------
    >>> f = VibrationFeatures(sample_rate=8000.0)
    >>> x = np.random.default_rng(0).normal(size=(2, 1, 1024)).astype(np.float32)
    >>> f(x).shape, f.feature_names[:2], f.feature_names[8:10], f.feature_names[-1]
    ((2, 36), ['lbe00_0Hz', 'lbe01_500Hz'], ['low00_20Hz', 'low01_30Hz'], 'bp_kurtosis')
    """

    kind = "vibration"
    Params = VibrationFeatureParams

    def __init__(self, *, sample_rate: float, **params: Any) -> None:
        super().__init__(sample_rate=sample_rate, **params)
        check_vibration_rate(self.params, self.sample_rate)
        self._samples: int | None = None

    @property
    def feature_names(self) -> list[str]:
        return vibration_feature_names(self.params, self.sample_rate)

    def _env_bins(self, n: int) -> np.ndarray:
        return envelope_band_bins(self.params, self.sample_rate, n)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = vibration_features(x, sample_rate=self.sample_rate, params=self.params)
        self._samples = int(np.shape(x)[-1])  # for c_defines and the RAM estimate
        return out

    # -- device --------------------------------------------------------------------
    def dsp_params(self) -> list[Any]:
        p: VibrationFeatureParams = self.params
        out: list[Any] = [p.lbe(), StatsParams(fisher=False)]  # (the low block: VIB_LOW_* in c_defines)
        if p.envelope:
            out += [p.bandpass(), p.envelope_params(), p.env_bands()]
        return out

    def c_defines(self) -> dict[str, Any]:
        """Every ``#define`` of ``dsp_params.h`` for the device front end."""
        from tinyml_suite.common.dsp.c_params import params_defines

        if self._samples is None:
            raise ConfigError("VibrationFeatures.c_defines() needs the window length: compute features first")
        p: VibrationFeatureParams = self.params
        fs = self.sample_rate
        out: dict[str, Any] = {
            "VIB_IMPLEMENTATION_VERSION": VIB_IMPLEMENTATION_VERSION,
            "VIB_WINDOW_SAMPLES": self._samples,
            "VIB_N_LBE": p.lbe_n_bands,
            "VIB_N_LBE_FRAMES": 1 + (self._samples - p.lbe_n_fft) // p.lbe().hop_length,
            "VIB_LOW_N_BANDS": p.low_n_bands,
            "VIB_ENVELOPE": int(p.envelope),
            "VIB_N_ENV": p.env_n_bands if p.envelope else 0,
            "VIB_STATS": int(p.stats),
            "VIB_N_STATS": p.n_stats,
            "VIB_PER_CHANNEL": p.per_channel,
            "VIB_LOG_FLOOR": float(p.log_floor),
        }
        out.update(p.lbe().c_defines(sample_rate=fs))
        if p.low_n_bands:  # a second log-band-energy block, computed with the FFT/band kernels
            low = p.low()
            bins = low.bins(fs)
            out.update({
                "VIB_LOW_N_FFT": low.n_fft, "VIB_LOW_HOP": low.hop_length,
                "VIB_LOW_N_FRAMES": 1 + (self._samples - low.n_fft) // low.hop_length,
                "VIB_LOW_WINDOW": LogBandEnergyParams.C_ENUMS["window"][low.window],
                "VIB_LOW_BIN_LO": tuple(int(v) for v in bins[:, 0]),
                "VIB_LOW_BIN_HI": tuple(int(v) for v in bins[:, 1]),
            })
        out.update(StatsParams(fisher=False).c_defines())
        if p.envelope:
            n = self._samples
            if n & (n - 1):
                raise ConfigError(
                    f"the device's envelope FFT needs a power-of-two window; dataset.window_samples={n} "
                    "(use e.g. 1024) or set features.envelope=false"
                )
            out.update(p.bandpass().c_defines(sample_rate=fs))
            out.update(params_defines(p.envelope_params(), sample_rate=round(fs)))
            out["ENVSPEC_N_FFT"] = int(n)
            out["ENVSPEC_N_BINS"] = int(self._env_bins(n)[:, 1].max())  # bins the bands read
            out.update(p.env_bands().c_defines(sample_rate=fs, n_fft=self._samples))
        return out

    def c_sources(self) -> list[str]:
        return ["tm_fft.c", "tm_frames.c", "tm_biquad.c", "tm_stats.c", "tm_spectral.c", "tm_envelope.c",
                "tm_fe_vibration.c"]

    def dsp_flops(self, window_shape: tuple[int, int]) -> int:
        """Float operations of ``tm_fe_vibration.c`` per window (for the latency estimate).

        The deploy layer's convention: a real FFT of N points costs 2.5 N log2 N, window +
        power + band sums 8 N; plus, here, 2 N for the mean removal, 9 per biquad section
        per sample, the Hilbert envelope's two FFTs and 6 N of glue, the envelope
        spectrum's FFT and 4 N, and 10 N per set of statistics.
        """
        import math

        channels, n = int(window_shape[0]), int(window_shape[1])
        p: VibrationFeatureParams = self.params

        def fft_block(n_fft: int, hop: int) -> float:
            frames = 1 + (n - n_fft) // hop
            return frames * (2.5 * n_fft * math.log2(n_fft) + 8 * n_fft)

        total = 2.0 * n + fft_block(p.lbe_n_fft, p.lbe().hop_length)
        if p.low_n_bands:
            total += fft_block(p.low_n_fft, p.low().hop_length)
        if p.envelope:
            fft = 2.5 * n * math.log2(n)
            total += 9.0 * p.env_filter_order * n + 3 * fft + 10.0 * n + 10.0 * n
        if p.stats:
            total += 10.0 * n
        return int(channels * total)

    def c_scratch_bytes(self) -> int:
        """Static RAM of ``tm_fe_vibration.c``: LBE state, shared scratch, centred and
        band-passed copies of the window, envelope state and spectrum, low-block window."""
        p: VibrationFeatureParams = self.params
        n = self._samples or max(p.lbe_n_fft, p.low_n_fft if p.low_n_bands else 0)
        scratch = max(2 * p.lbe_n_fft + 2, 3 * n + 2 if p.envelope else 0,
                      2 * p.low_n_fft + 2 if p.low_n_bands else 0)
        floats = p.lbe_n_fft + p.lbe_n_bands + scratch + n  # LBE window + bands, scratch, centred window
        if p.low_n_bands:
            floats += p.low_n_fft + p.low_n_bands
        if p.envelope:
            n_bins = int(self._env_bins(n)[:, 1].max())
            floats += n + n + n_bins + 4 * p.env_filter_order  # band-passed copy, env window, spectrum, state
        return 4 * floats
