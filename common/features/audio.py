"""Audio front ends: MFCC (the MLPerf Tiny keyword-spotting front end) and log-mel.

Both call :mod:`tinyml_suite.common.dsp` (:func:`~tinyml_suite.common.dsp.mfcc`,
:func:`~tinyml_suite.common.dsp.logmel`) on mono windows and return the model input
``(n, frames, coefficients, 1)``: time on the first axis, like an image of height
``frames`` that a 2-D convolution network reads (MLPerf's 49 x 10 x 1).

The parameters ARE the DSP parameter dataclasses (:class:`~tinyml_suite.common.dsp.MfccParams`,
:class:`~tinyml_suite.common.dsp.LogMelParams`), so the features config, the numpy code
and the firmware's ``dsp_params.h`` share one source of truth. On the device the C99
twins (``tm_mfcc.c`` / ``tm_logmel.c`` with ``tm_mel.c``, ``tm_frames.c``, ``tm_fft.c``)
compute the same frames; ``tm_fe_audio.c`` is the ``tm_features.h`` front end that lays
them out as the model input.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((2, 1, 16000)).astype(np.float32)
>>> Mfcc(sample_rate=16000)(x).shape
(2, 49, 10, 1)
>>> LogMel(sample_rate=16000)(x).shape
(2, 49, 40, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyml_suite.common.dsp import LogMelParams, MfccParams, logmel, mfcc
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = ["LogMel", "Mfcc"]

#: The C twins every audio front end needs (relative to firmware_templates/dsp).
_COMMON_C = ["tm_fft.c", "tm_frames.c", "tm_mel.c"]


def _mono(x: np.ndarray, kind: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 3:
        raise ConfigError(
            f"features kind={kind} expects windows of shape (n, channels, samples); got {arr.shape}"
        )
    if arr.shape[1] != 1:
        raise ConfigError(
            f"features kind={kind} is for mono audio but the data has {arr.shape[1]} channels; "
            "mix the channels down in the dataset (e.g. read_wav(channels='mix'))"
        )
    return arr[:, 0, :]


class _AudioFrontEnd(FeatureExtractor):
    """Shared parts: mono input, (n, frames, coefficients, 1) output, C sources."""

    _block_c = ""

    def __init__(self, *, sample_rate: float, **params: Any) -> None:
        super().__init__(sample_rate=sample_rate, **params)
        rate = float(sample_rate)
        if abs(rate - round(rate)) > 1e-9:
            raise ConfigError(f"features kind={self.kind} needs a whole sample rate in Hz; got {rate}")
        self._rate = int(round(rate))
        if self.params.center:
            raise ConfigError(
                "features.center=true cannot be deployed (a device streams: no samples before the "
                "start or after the end to centre frames on); use features.center=false"
            )
        # validate the rate against the parameters now (fmax vs Nyquist), not at the first window
        from tinyml_suite.common.dsp.mel import check_mel_range

        check_mel_range(sample_rate=self._rate, fmin=self.params.fmin, fmax=self.params.fmax)

    def _compute(self, mono: np.ndarray) -> np.ndarray:  # (n, samples) -> (n, coeffs, frames)
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mono = _mono(x, self.kind)
        if mono.shape[-1] < self.params.frame_length:
            raise ConfigError(
                f"windows of {mono.shape[-1]} samples are shorter than one frame "
                f"(features.frame_length={self.params.frame_length}); use longer clips"
            )
        feats = self._compute(mono)  # (n, coeffs, frames)
        return np.ascontiguousarray(np.swapaxes(feats, 1, 2)[..., None], dtype=np.float32)

    def n_frames(self, n_samples: int) -> int:
        """Feature frames per window of ``n_samples`` (49 for 1 s at the defaults)."""
        return self.params.num_frames(n_samples)

    def dsp_params(self) -> list[Any]:
        return [self.params]

    def c_sources(self) -> list[str]:
        return [*_COMMON_C, self._block_c, "tm_fe_audio.c"]

    def c_scratch_bytes(self) -> int:
        """Static RAM of the C front end (an upper bound): the tm_mfcc_t / tm_logmel_t state
        (window, FFT in/out, mel spans and weights, log-mels and DCT matrix for MFCC), the
        FFT's quarter-wave twiddle table, the framer buffer and one feature frame."""
        p = self.params
        n_fft = p.n_fft
        state = 4 * (p.frame_length + n_fft + (n_fft + 2) + 2 * (n_fft // 2 + 1)) + 2 * 4 * p.n_mels
        state += 128  # config, FFT state and counters
        if isinstance(p, MfccParams):
            state += 4 * (p.n_mels + p.n_mfcc * p.n_mels)
        twiddles = 4 * (max(n_fft, 1024) // 4 + 1)  # tm_fft.c table: TM_FFT_MAX_N (1024) / 4 + 1
        framer = 4 * p.frame_length
        n_out = p.n_mfcc if isinstance(p, MfccParams) else p.n_mels
        return int(state + twiddles + framer + 4 * n_out)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["output_layout"] = "(frames, coefficients, 1)"
        return d


class Mfcc(_AudioFrontEnd):
    """MFCCs, ``(n, frames, n_mfcc, 1)``; defaults: MLPerf Tiny KWS (49 x 10 per 1 s at 16 kHz).

    Parameters are the fields of :class:`~tinyml_suite.common.dsp.MfccParams` (30 ms Hann
    window, 20 ms stride, 512-point FFT, 40 HTK mel bands 20-4000 Hz, ln, 10 coefficients).
    """

    kind = "mfcc"
    Params = MfccParams
    _block_c = "tm_mfcc.c"

    def _compute(self, mono: np.ndarray) -> np.ndarray:
        return mfcc(mono, sample_rate=self._rate, params=self.params)


class LogMel(_AudioFrontEnd):
    """Log-mel energies, ``(n, frames, n_mels, 1)``; defaults: 49 x 40 per 1 s at 16 kHz.

    Parameters are the fields of :class:`~tinyml_suite.common.dsp.LogMelParams`.
    """

    kind = "logmel"
    Params = LogMelParams
    _block_c = "tm_logmel.c"

    def _compute(self, mono: np.ndarray) -> np.ndarray:
        return logmel(mono, sample_rate=self._rate, params=self.params)
