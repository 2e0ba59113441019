"""Heart-rate front ends: PPG + accelerometer spectra, raw PPG + ACC windows, ECG QRS signals.

* ``ppg_spectrum`` (:class:`PpgSpectrum`): for each 8 s window, the zero-padded power
  spectrum of the PPG and of each accelerometer axis over the heart-rate band
  (default 0.5-4 Hz = 30-240 BPM), each normalised to its own maximum (the ACC with an
  absolute floor, so a still wrist gives a near-zero ACC spectrum) and compressed.
  Optionally (``motion_channel``) a second channel holds the PPG spectrum after the
  accelerometer-driven motion stage (:mod:`tinyml_suite.common.dsp.motion`, per window).
  Output ``(n_bins, channels)``: a 1-D "image" over frequency that a small CNN reads, and
  the input of the DSP baseline's spectral tracker. C twin: ``tm_fe_ppg_spectrum.c``.
* ``ppg_time`` (:class:`PpgTime`): the window itself, each channel standardised (and
  optionally band-passed), ``(samples, channels)`` - the TEMPONet/TimePPG input.
* ``ecg_qrs`` (:class:`EcgQrs`): the Pan-Tompkins pre-processing of an ECG lead
  (:func:`tinyml_suite.common.dsp.qrs.pan_tompkins`), ``(3, samples)`` = high-passed ECG,
  QRS band-pass, moving-window integral.

The computations and their versioned parameters are DSP blocks
(:mod:`tinyml_suite.common.dsp.ppg_spectrum`, :mod:`~tinyml_suite.common.dsp.ppg_time`,
:mod:`~tinyml_suite.common.dsp.qrs`); the classes here wrap them for the pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos
from tinyml_suite.common.dsp.ppg_spectrum import PpgSpectrumParams, ppg_spectra, ppg_spectrum, spectrum_bins
from tinyml_suite.common.dsp.ppg_time import PpgTimeParams, ppg_time
from tinyml_suite.common.dsp.qrs import PanTompkinsParams, pan_tompkins
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = [
    "PpgSpectrumParams",  # (common/dsp/ppg_spectrum.py, re-exported)
    "ppg_spectra",
    "spectrum_bins",
    "PpgSpectrum",
    "PpgTimeParams",  # (common/dsp/ppg_time.py, re-exported)
    "PpgTime",
    "EcgQrs",
]


class PpgSpectrum(FeatureExtractor):
    """PPG + ACC band spectra, ``(n_bins, 1 + n_acc)``: see :class:`PpgSpectrumParams`.

    Examples
    --------
    >>> fe = PpgSpectrum(sample_rate=32.0)
    >>> fe(np.random.default_rng(0).standard_normal((2, 4, 256))).shape
    (2, 113, 4)
    """

    kind = "ppg_spectrum"
    Params = PpgSpectrumParams

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ppg_spectrum(x, sample_rate=self.sample_rate, params=self.params)

    def acc_spectrum(self, features: np.ndarray) -> np.ndarray | None:
        """Each window's ACC spectrum from its features: the ACC channels decompressed, max over them.

        ``features`` [shape=(n, n_bins, channels)] as :meth:`__call__` returns them ->
        [shape=(n, n_bins), float32] in [0, 1] (what the heart-rate tracker takes as ``acc``;
        the firmware's tracker computes the same from the features it is handed), or None
        when the features hold no ACC channel (``acc_mode='none'``).

        Examples
        --------
        >>> fe = PpgSpectrum(sample_rate=32.0)
        >>> x = np.random.default_rng(0).standard_normal((2, 4, 256)).astype(np.float32)
        >>> _, s = ppg_spectra(x, sample_rate=32.0, params=fe.params)
        >>> bool(np.allclose(fe.acc_spectrum(fe(x)), np.maximum(s[:, 1:], 0.001).max(axis=1), rtol=1e-4))
        True
        """
        p: PpgSpectrumParams = self.params
        if p.n_acc == 0:
            return None
        first = 1 + int(p.motion_channel)
        v = np.asarray(features, np.float32)[..., first : first + p.n_acc]
        if p.compress == "log":
            neg_log = np.float32(-np.log(np.float64(np.float32(p.log_floor))))
            v = np.exp((v - np.float32(1.0)) * neg_log)
        elif p.compress == "sqrt":
            v = v * v
        return v.max(axis=-1).astype(np.float32)

    def freqs_hz(self) -> np.ndarray:
        """Centre frequency of each output bin (Hz)."""
        lo, hi = spectrum_bins(self.sample_rate, self.params)
        return (np.arange(lo, hi) * (self.sample_rate / self.params.n_fft)).astype(np.float32)

    def hr_grid_bpm(self) -> np.ndarray:
        """Heart rate of each output bin (BPM): the grid a frequency-aligned model predicts on."""
        return self.freqs_hz() * np.float32(60.0)

    def dsp_params(self) -> list[Any]:
        return [self.params, self.params.motion_params] if self.params.motion_channel else [self.params]

    def c_defines(self) -> dict[str, Any]:
        from tinyml_suite.common.dsp.c_params import params_defines

        lo, hi = spectrum_bins(self.sample_rate, self.params)
        out = params_defines(self.params, sample_rate=int(round(self.sample_rate)))
        out.update({"PPGSPEC_BIN_LO": lo, "PPGSPEC_BIN_HI": hi, "PPGSPEC_N_BINS": hi - lo,
                    "PPGSPEC_N_CHANNELS": self.params.n_channels})
        if self.params.motion_channel:
            out.update(params_defines(self.params.motion_params))
        return out

    def c_sources(self) -> list[str]:
        motion = ["tm_motion.c"] if self.params.motion_channel else []
        return ["tm_fft.c", "tm_frames.c", *motion, "tm_fe_ppg_spectrum.c"]

    def c_scratch_bytes(self) -> int:
        n = self.params.n_fft
        lo, hi = spectrum_bins(self.sample_rate, self.params)
        # window (<= n_fft), zero-padded input, FFT output, four band spectra (+ the motion
        # stage's state and the suppressed spectrum)
        motion = (3 * 128 + 2 + (hi - lo)) if self.params.motion_channel else 0
        return 4 * (n + n + (n + 2) + 4 * (hi - lo) + motion)


class PpgTime(FeatureExtractor):
    """Standardised (optionally band-passed) raw windows, ``(samples, 4)``.

    Examples
    --------
    >>> PpgTime(sample_rate=32.0)(np.ones((1, 4, 256))).shape
    (1, 256, 4)
    """

    kind = "ppg_time"
    Params = PpgTimeParams

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ppg_time(x, sample_rate=self.sample_rate, params=self.params)

    def dsp_params(self) -> list[Any]:
        return [self.params]

    def c_defines(self) -> dict[str, Any]:
        from tinyml_suite.common.dsp.c_params import params_defines

        p: PpgTimeParams = self.params
        out = params_defines(p, sample_rate=int(round(self.sample_rate)))
        out["PPGTIME_HAS_BANDPASS"] = int(p.bandpass_hz is not None)
        if p.bandpass_hz is not None:
            sos = butter_sos(sample_rate=self.sample_rate,
                             params=ButterworthParams(kind="bandpass", order=p.order, cutoff_hz=p.bandpass_hz))
            out["PPGTIME_N_SECTIONS"] = int(sos.shape[0])
            out["PPGTIME_SOS"] = tuple(float(v) for v in sos.ravel())
        out["PPGTIME_STANDARDIZE"] = int(p.standardize)
        return out

    def c_sources(self) -> list[str]:
        return ["tm_biquad.c", "tm_fe_ppg_time.c"]

    def c_scratch_bytes(self) -> int:
        return 4 * (1024 + 2 * 2 * self.params.order)  # one channel (<= 1024 samples) + filter state


class EcgQrs(FeatureExtractor):
    """Pan-Tompkins pre-processing of one ECG lead, ``(3, samples)``.

    Rows: the ECG high-passed at ``highpass_hz`` (where the R apex is located), the QRS
    band-pass, and the moving-window integral of the squared derivative (where QRS
    complexes are detected). See :func:`tinyml_suite.common.dsp.qrs.pan_tompkins`.

    Examples
    --------
    >>> EcgQrs(sample_rate=360.0)(np.zeros((2, 1, 720))).shape
    (2, 3, 720)
    """

    kind = "ecg_qrs"
    Params = PanTompkinsParams

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_signal(x, name="x", min_ndim=3)
        if x.shape[1] != 1:
            raise ConfigError(f"x has {x.shape[1]} channels; ecg_qrs takes one ECG lead")
        return pan_tompkins(x[:, 0], sample_rate=self.sample_rate, params=self.params)

    def dsp_params(self) -> list[Any]:
        return [self.params]

    def c_sources(self) -> list[str]:
        # tm_peaks.c: the streaming candidate-peak detector the ECG firmware's R-peak decision uses
        return ["tm_biquad.c", "tm_pan_tompkins.c", "tm_peaks.c", "tm_fe_ecg_qrs.c"]

    def c_scratch_bytes(self) -> int:
        n_int = self.params.integration_samples(self.sample_rate)
        return 4 * (2 * (2 * self.params.order + self.params.order) + 4 + n_int) + 64
