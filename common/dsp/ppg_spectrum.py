"""PPG + accelerometer power spectra over the heart-rate band (the ``ppg_spectrum`` front end).

For each window (default 8 s): the zero-padded power spectrum of the PPG and of each
accelerometer axis over the heart-rate band (default 0.5-4 Hz = 30-240 BPM), each
normalised to its own maximum (the ACC with an absolute floor, so a still wrist gives a
near-zero ACC spectrum) and compressed; optionally (``motion_channel``) a second channel
holds the PPG spectrum after the accelerometer-driven motion stage
(:mod:`tinyml_suite.common.dsp.motion`, per window). Output ``(n_bins, channels)``: a 1-D
"image" over frequency that a small CNN reads, and the input of the heart_rate app's DSP
baseline. C twin: ``firmware_templates/dsp/tm_fe_ppg_spectrum.c`` (``PPGSPEC_*`` defines).
The feature extractor is :class:`tinyml_suite.common.features.ppg.PpgSpectrum`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_power_of_two
from tinyml_suite.common.dsp.motion import MotionSuppressionParams, suppress_motion
from tinyml_suite.common.dsp.stft import StftParams, power_spectrum
from tinyml_suite.common.dsp.windows import get_window
from tinyml_suite.common.errors import ConfigError

__all__ = ["PpgSpectrumParams", "compress_spectra", "ppg_spectra", "ppg_spectrum", "spectrum_bins"]

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


def compress_spectra(p: np.ndarray, params: PpgSpectrumParams) -> np.ndarray:
    """Normalised power in [0, 1] -> the ``params.compress`` scale (log, sqrt or linear), float32 as the device."""
    if params.compress == "log":
        floor = np.float32(params.log_floor)
        neg_log = np.float32(-np.log(np.float64(floor)))  # as the device: (float)(-log((double)floor))
        return (np.float32(1.0) + np.log(np.maximum(p, floor)) / neg_log).astype(np.float32)
    if params.compress == "sqrt":
        return np.sqrt(p).astype(np.float32)
    return p.astype(np.float32)


def ppg_spectrum(x: np.ndarray, *, sample_rate: float, params: PpgSpectrumParams) -> np.ndarray:
    """The ``ppg_spectrum`` features: ``(n, 4, samples)`` windows -> ``(n, n_bins, channels)`` float32.

    Channels: the PPG spectrum, the motion-suppressed PPG spectrum (``motion_channel``),
    then the ACC spectra (``acc_mode``: three axes, their sum, or none), compressed.

    Examples
    --------
    >>> ppg_spectrum(np.random.default_rng(0).standard_normal((2, 4, 256)), sample_rate=32.0,
    ...              params=PpgSpectrumParams()).shape
    (2, 113, 4)
    """
    p = params
    _, s = ppg_spectra(x, sample_rate=sample_rate, params=p)
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
    return np.ascontiguousarray(np.transpose(compress_spectra(s, p), (0, 2, 1)))
