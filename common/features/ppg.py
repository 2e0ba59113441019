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

All of them are compositions of :mod:`tinyml_suite.common.dsp` blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp import (
    ButterworthParams,
    MotionSuppressionParams,
    StftParams,
    ZScoreParams,
    butter_sos,
    get_window,
    power_spectrum,
    sosfilt,
    suppress_motion,
    zscore,
)
from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_power_of_two
from tinyml_suite.common.dsp.qrs import PanTompkinsParams, pan_tompkins
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = [
    "PpgSpectrumParams",
    "ppg_spectra",
    "spectrum_bins",
    "PpgSpectrum",
    "PpgTimeParams",
    "PpgTime",
    "EcgQrs",
]

_ACC_MODES = ("axes", "sum", "none")
_COMPRESS = ("log", "sqrt", "linear")


@dataclass(kw_only=True, frozen=True)
class PpgSpectrumParams:
    """PPG + ACC spectra over the heart-rate band.

    Attributes
    ----------
    n_fft : int
        FFT length (power of two, >= the window length); the window is zero-padded to it,
        so the bin spacing is ``sample_rate / n_fft`` (1.875 BPM at 32 Hz and 1024).
    window : {'hann', 'hamming', 'rectangular'}
        Analysis window applied to the whole (mean-removed) window.
    fmin_hz, fmax_hz : float
        Band kept, both ends included when they fall on a bin (Hz).
    acc_mode : {'axes', 'sum', 'none'}
        ACC channels in the output: one spectrum per axis, their sum, or none.
    acc_floor_g : float
        An ACC spectrum is divided by ``max(its band maximum, acc_floor_g**2)``, the
        power being expressed as the squared amplitude (g^2) of a sinusoid; so motion
        weaker than about ``acc_floor_g`` stays small instead of being scaled up to 1.
    compress : {'log', 'sqrt', 'linear'}
        Applied to the normalised power ``p`` in [0, 1]: ``1 + ln(max(p, floor)) / -ln(floor)``
        (also in [0, 1]), ``sqrt(p)`` or ``p``.
    log_floor : float
        Relative floor of the log compression (0 < floor < 1).
    motion_channel : bool
        Add, after the PPG, the PPG spectrum through the motion stage
        (:func:`tinyml_suite.common.dsp.suppress_motion` with the ``motion_*`` fields, no
        history: each window alone), normalised like the PPG (its own power / the PPG's
        maximum) and compressed.
    motion_rule, motion_strength, motion_gain_floor, motion_spread_bins
        The motion stage's ``rule``, ``strength``, ``gain_floor`` and ``spread_bins``
        (:class:`~tinyml_suite.common.dsp.MotionSuppressionParams`).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 2
    C_PREFIX: ClassVar[str] = "PPGSPEC"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "window": {"hann": 0, "hamming": 1, "rectangular": 2},
        "acc_mode": {"axes": 0, "sum": 1, "none": 2},
        "compress": {"log": 0, "sqrt": 1, "linear": 2},
        "motion_rule": {"subtract": 0, "wiener": 1},
    }

    n_fft: int = 1024
    window: str = "hann"
    fmin_hz: float = 0.5
    fmax_hz: float = 4.0
    acc_mode: str = "axes"
    acc_floor_g: float = 0.05
    compress: str = "log"
    log_floor: float = 0.001
    motion_channel: bool = False
    motion_rule: str = "subtract"
    motion_strength: float = 0.9
    motion_gain_floor: float = 0.05
    motion_spread_bins: int = 2

    def __post_init__(self) -> None:
        check_power_of_two("n_fft", self.n_fft, lo=16)
        check_choice("window", self.window, ("hann", "hamming", "rectangular"))
        lo = check_float("fmin_hz", self.fmin_hz, lo=0.0)
        hi = check_float("fmax_hz", self.fmax_hz, lo=0.0, lo_open=True)
        if not lo < hi:
            raise ConfigError(f"fmin_hz={lo} must be below fmax_hz={hi}")
        check_choice("acc_mode", self.acc_mode, _ACC_MODES)
        check_float("acc_floor_g", self.acc_floor_g, lo=0.0, lo_open=True)
        check_choice("compress", self.compress, _COMPRESS)
        check_float("log_floor", self.log_floor, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        if not isinstance(self.motion_channel, (bool, np.bool_)):
            raise ConfigError(f"motion_channel={self.motion_channel!r} must be true or false")
        self.motion_params  # validates the motion_* fields  # noqa: B018

    @property
    def n_acc(self) -> int:
        """Number of ACC channels in the output."""
        return {"axes": 3, "sum": 1, "none": 0}[self.acc_mode]

    @property
    def n_channels(self) -> int:
        """Output channels: the PPG, the motion-suppressed PPG (if any), the ACC channels."""
        return 1 + int(self.motion_channel) + self.n_acc

    @property
    def motion_params(self) -> MotionSuppressionParams:
        """The motion stage of the ``motion_channel`` (per window: no history)."""
        return MotionSuppressionParams(rule=self.motion_rule, strength=self.motion_strength,
                                       gain_floor=self.motion_gain_floor, spread_bins=self.motion_spread_bins)


def spectrum_bins(sample_rate: float, params: PpgSpectrumParams) -> tuple[int, int]:
    """First and one-past-last FFT bin of the band: ``ceil(fmin / df)``, ``floor(fmax / df) + 1``.

    Examples
    --------
    >>> spectrum_bins(32.0, PpgSpectrumParams())
    (16, 129)
    """
    df = float(sample_rate) / params.n_fft
    lo = int(np.ceil(params.fmin_hz / df - 1e-9))
    hi = int(np.floor(params.fmax_hz / df + 1e-9)) + 1
    if params.fmax_hz >= sample_rate / 2:
        raise ConfigError(
            f"fmax_hz={params.fmax_hz} must be below the Nyquist frequency {sample_rate / 2} Hz; lower it"
        )
    if hi - lo < 3:
        raise ConfigError(
            f"the band [{params.fmin_hz}, {params.fmax_hz}] Hz holds {max(hi - lo, 0)} bins at n_fft={params.n_fft}; "
            "widen it or raise n_fft"
        )
    return lo, hi


def ppg_spectra(x: np.ndarray, *, sample_rate: float, params: PpgSpectrumParams) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (not yet compressed) PPG and ACC power spectra over the band.

    Parameters
    ----------
    x : np.ndarray [shape=(n, 4, samples)]
        Windows of (ppg, acc_x, acc_y, acc_z), ACC in g.
    sample_rate : float
        Hz.
    params : PpgSpectrumParams

    Returns
    -------
    freqs_hz : np.ndarray [shape=(n_bins,), float32]
    spectra : np.ndarray [shape=(n, 4, n_bins), float32]
        Channel 0: PPG power / its band maximum. Channels 1-3: ACC power as the squared
        sinusoid amplitude (g^2), divided by ``max(band maximum, acc_floor_g^2)``.

    Examples
    --------
    >>> t = np.arange(256) / 32.0
    >>> x = np.stack([np.sin(2 * np.pi * 1.5 * t), 0 * t, 0 * t, 0.5 * np.sin(2 * np.pi * t)])[None]
    >>> f, s = ppg_spectra(x, sample_rate=32.0, params=PpgSpectrumParams())
    >>> float(f[np.argmax(s[0, 0])]), float(f[np.argmax(s[0, 3])]), float(s[0, 1].max())
    (1.5, 1.0, 0.0)
    """
    x = as_signal(x, name="x", min_ndim=3)
    if x.shape[-2] != 4:
        raise ConfigError(f"x has {x.shape[-2]} channels; ppg_spectrum needs 4 (ppg, acc_x, acc_y, acc_z)")
    n = x.shape[-1]
    if params.n_fft < n:
        raise ConfigError(f"n_fft={params.n_fft} must be >= the window length {n}; raise it to {1 << (n - 1).bit_length()}")
    lo, hi = spectrum_bins(sample_rate, params)
    centred = (x - x.mean(axis=-1, keepdims=True, dtype=np.float64)).astype(np.float32)
    sp = StftParams(frame_length=n, hop_length=n, n_fft=params.n_fft, window=params.window)
    power = power_spectrum(centred, params=sp)[..., lo:hi, 0]  # (n, 4, n_bins)
    win_sum = float(np.sum(get_window(params.window, n).astype(np.float64)))
    out = np.empty_like(power)
    ppg_max = power[:, 0].max(axis=-1, keepdims=True)
    out[:, 0] = power[:, 0] / np.maximum(ppg_max, np.float32(1e-30))
    acc = power[:, 1:] * np.float32(4.0 / win_sum**2)  # -> squared sinusoid amplitude, g^2
    floor_g = np.float64(np.float32(params.acc_floor_g))  # the float32 constant the device holds
    acc_max = np.maximum(acc.max(axis=-1, keepdims=True), np.float32(floor_g * floor_g))
    out[:, 1:] = acc / acc_max
    freqs = (np.arange(lo, hi) * (sample_rate / params.n_fft)).astype(np.float32)
    return freqs, out


def _compress(p: np.ndarray, params: PpgSpectrumParams) -> np.ndarray:
    if params.compress == "log":
        floor = np.float32(params.log_floor)
        neg_log = np.float32(-np.log(np.float64(floor)))  # as the device: (float)(-log((double)floor))
        return (np.float32(1.0) + np.log(np.maximum(p, floor)) / neg_log).astype(np.float32)
    if params.compress == "sqrt":
        return np.sqrt(p).astype(np.float32)
    return p.astype(np.float32)


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
        p: PpgSpectrumParams = self.params
        _, s = ppg_spectra(x, sample_rate=self.sample_rate, params=p)
        ppg = [s[:, :1]]
        if p.motion_channel:
            ppg.append(suppress_motion(s[:, 0], s[:, 1:], params=p.motion_params)[:, None])
        if p.acc_mode == "sum":
            acc = s[:, 1:].sum(axis=1, keepdims=True)
            acc /= np.maximum(acc.max(axis=-1, keepdims=True), np.float32(1.0))
            s = np.concatenate([*ppg, acc], axis=1)
        elif p.acc_mode == "none":
            s = np.concatenate(ppg, axis=1)
        else:
            s = np.concatenate([*ppg, s[:, 1:]], axis=1)
        return np.ascontiguousarray(np.transpose(_compress(s, p), (0, 2, 1)))

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


@dataclass(kw_only=True, frozen=True)
class PpgTimeParams:
    """Raw windows for a time-domain CNN (TEMPONet / TimePPG input).

    Attributes
    ----------
    bandpass_hz : tuple of 2 floats or None
        Causal Butterworth band-pass applied to every channel of the window from a zero
        state (what the device does on the window), or None for none.
    order : int
        Butterworth order of the band-pass.
    standardize : bool
        Standardise each channel of each window (zero mean, unit std; ACC uses the
        ``acc_floor_g`` floor on its std so a still wrist stays near zero).
    acc_floor_g : float
        Lower bound of the ACC std used for standardisation (g).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "PPGTIME"

    bandpass_hz: tuple[float, float] | None = None
    order: int = 2
    standardize: bool = True
    acc_floor_g: float = 0.05

    def __post_init__(self) -> None:
        if self.bandpass_hz is not None:
            ButterworthParams(kind="bandpass", order=self.order, cutoff_hz=tuple(self.bandpass_hz))
            object.__setattr__(self, "bandpass_hz", tuple(float(v) for v in self.bandpass_hz))
        check_float("acc_floor_g", self.acc_floor_g, lo=0.0, lo_open=True)


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
        p: PpgTimeParams = self.params
        x = as_signal(x, name="x", min_ndim=3)
        if p.bandpass_hz is not None:
            sos = butter_sos(sample_rate=self.sample_rate,
                             params=ButterworthParams(kind="bandpass", order=p.order, cutoff_hz=p.bandpass_hz))
            x = sosfilt(x, sos=sos)
        if p.standardize:
            ppg = zscore(x[:, :1], params=ZScoreParams())
            a64 = x[:, 1:].astype(np.float64)
            mean = a64.mean(axis=-1, keepdims=True)
            std = np.maximum(a64.std(axis=-1, keepdims=True), float(np.float32(p.acc_floor_g)))
            acc = (x[:, 1:] - mean.astype(np.float32)) / std.astype(np.float32)
            x = np.concatenate([ppg, acc.astype(np.float32)], axis=1)
        return np.ascontiguousarray(np.transpose(x, (0, 2, 1)), dtype=np.float32)

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
