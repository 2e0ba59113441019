"""Machine-vibration front end: spectrum, envelope spectrum and time statistics per window.

:func:`vibration_features` (the ``vibration`` features,
:class:`tinyml_suite.common.features.vibration.VibrationFeatures`) turns each channel of a raw accelerometer
window (in g) into one flat vector, concatenated channel by channel, for a dense
autoencoder or classifier. Every block is a :mod:`tinyml_suite.common.dsp` function:

Every block reads the window with its mean removed (the device's accelerometer may
carry a large DC offset; the training data has none), and every block is a
:mod:`tinyml_suite.common.dsp` function:

1. **spectrum** - :func:`~tinyml_suite.common.dsp.log_band_energies`: Hann-windowed FFT
   frames (``lbe_n_fft`` samples every ``lbe_hop_length``), ``lbe_n_bands`` linear (or
   log) bands from ``lbe_fmin_hz`` to ``lbe_fmax_hz``, natural log of the band energy,
   averaged over the window's frames. Coarse bands averaged over several short frames
   give stable estimates of where the energy is (resonances excited by impacts,
   broadband noise) and hardly move when the speed changes.
2. **shaft harmonics** (``low_n_bands > 0``) - the same function on the whole window
   (``low_n_fft``, 7.8 Hz bins at 8 kHz) with ``low_n_bands`` log-spaced bands between
   ``low_fmin_hz`` and ``low_fmax_hz``: 1x, 2x, half orders and their growth (imbalance,
   misalignment, looseness). ``low_fmin_hz`` >= 3 bins keeps any residual DC out
   (a periodic Hann window has no leakage beyond 1 bin). These bands follow the shaft
   speed, so a recipe that must generalise across loads (speeds) can switch them off.
3. **envelope spectrum** - :func:`~tinyml_suite.common.dsp.envelope_spectrum`: causal
   Butterworth band-pass around the structural resonance (``env_band_*``), Hilbert
   envelope, mean removed, Hann window, amplitude spectrum; then
   :func:`~tinyml_suite.common.dsp.band_powers` sums the squared amplitudes into
   ``env_n_bands`` linear bands between ``env_fmin_hz`` and ``env_fmax_hz`` (natural
   log). Bearing defects show here, at BPFO/BPFI/2xBSF and their harmonics.
4. **statistics** - :func:`~tinyml_suite.common.dsp.time_stats`: ``ln`` of the (AC) RMS,
   Pearson kurtosis, crest factor and peak-to-peak of the window; with the envelope
   block, also ``ln`` RMS and kurtosis of the band-passed signal (impulsiveness of the
   resonance band, the classic bearing indicator).

Every value is a logarithm, so the features share one scale (a few units) and an int8
input tensor resolves them all. The band-pass runs causally from a zero state on each
window, as the device does. The device front end is
``firmware_templates/dsp/tm_fe_vibration.c`` (with ``tm_envelope.c``, the C twin of
the envelope spectrum); its parameters come from ``VibrationFeatures.c_defines``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import check_float, check_int
from tinyml_suite.common.dsp.band_energy import LogBandEnergyParams, log_band_energies
from tinyml_suite.common.dsp.envelope import EnvelopeSpectrumParams, envelope_spectrum
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt
from tinyml_suite.common.dsp.spectral import BandPowerParams, band_bins, band_powers
from tinyml_suite.common.dsp.stats import StatsParams, time_stats
from tinyml_suite.common.errors import ConfigError

__all__ = [
    "VIB_IMPLEMENTATION_VERSION",
    "VibrationFeatureParams",
    "check_vibration_rate",
    "envelope_band_bins",
    "vibration_feature_names",
    "vibration_features",
]

#: Version of the feature layout and transforms (C: VIB_IMPLEMENTATION_VERSION).
VIB_IMPLEMENTATION_VERSION = 1


@dataclass(kw_only=True, frozen=True)
class VibrationFeatureParams:
    """Options of :class:`VibrationFeatures` (frequencies in Hz).

    Attributes
    ----------
    lbe_n_fft, lbe_hop_length, lbe_window, lbe_n_bands, lbe_spacing, lbe_fmin_hz, lbe_fmax_hz
        The spectrum block (:class:`~tinyml_suite.common.dsp.LogBandEnergyParams`):
        FFT/frame length (power of two, <= the window), hop (None: n_fft / 2), window,
        number of bands, ``log`` or ``linear`` spacing, band range (None: Nyquist).
    low_n_fft, low_n_bands, low_fmin_hz, low_fmax_hz
        The shaft-harmonic block: FFT length (power of two, <= the window; hop n_fft / 2,
        Hann), log-spaced bands over ``[fmin, fmax)``; ``low_n_bands = 0`` disables it.
    envelope : bool
        Include the envelope-spectrum block (and the band-passed statistics).
    env_band_low_hz, env_band_high_hz, env_filter_order
        Butterworth band-pass around the resonance excited by bearing impacts.
    env_fmin_hz, env_fmax_hz, env_n_bands
        Envelope-spectrum bands: ``env_n_bands`` equal bands over ``[fmin, fmax)``.
    stats : bool
        Include the time statistics of the raw window.
    log_floor : float
        Added before every logarithm (> 0).
    """

    C_PREFIX: ClassVar[str] = "VIB"
    IMPLEMENTATION_VERSION: ClassVar[int] = VIB_IMPLEMENTATION_VERSION

    lbe_n_fft: int = 256  # short frames (32 ms at 8 kHz) ...
    lbe_hop_length: int | None = 128  # ... every 16 ms, band energies averaged over the window's frames
    lbe_window: str = "hann"
    lbe_n_bands: int = 8  # 500 Hz bands at 8 kHz: where the energy is (resonances, noise), speed-insensitive
    lbe_spacing: str = "linear"
    lbe_fmin_hz: float = 0.0  # Hz (the window's mean is removed first)
    lbe_fmax_hz: float | None = None  # Hz; None: Nyquist
    low_n_fft: int = 1024  # shaft-harmonic block: one FFT over the window (7.8 Hz bins at 8 kHz)
    low_n_bands: int = 8  # log-spaced bands; 0 switches the block off
    low_fmin_hz: float = 20.0  # Hz, just below 1x (25-30 Hz); >= 3 bins keeps DC out
    low_fmax_hz: float = 500.0  # Hz, up to about 17x
    envelope: bool = True  # envelope-spectrum block + band-passed statistics
    env_band_low_hz: float = 2000.0  # Hz, band-pass around the structural resonance excited by impacts
    env_band_high_hz: float = 3800.0  # Hz, below the common anti-alias cutoff
    env_filter_order: int = 4  # Butterworth order (4 biquads for a band-pass)
    env_fmin_hz: float = 10.0  # Hz, envelope bands from here ...
    env_fmax_hz: float = 500.0  # Hz ... to here: BPFO/BPFI/2xBSF and harmonics at 1500-1800 rpm
    env_n_bands: int = 14  # 35 Hz bands
    stats: bool = True  # ln RMS, kurtosis, crest factor, peak-to-peak of the window
    log_floor: float = 1e-10  # added before every logarithm

    def __post_init__(self) -> None:
        self.lbe()  # validates the spectrum block (one-line ConfigError naming the field)
        check_int("low_n_bands", self.low_n_bands, lo=0)
        if self.low_n_bands:
            self.low()
        if self.envelope:
            self.bandpass()
            self.envelope_params()
            lo = check_float("env_fmin_hz", self.env_fmin_hz, lo=0.0)
            check_float("env_fmax_hz", self.env_fmax_hz, lo=lo, lo_open=True)
            check_int("env_n_bands", self.env_n_bands, lo=1)
        check_float("log_floor", self.log_floor, lo=0.0, lo_open=True)
        for name in ("envelope", "stats"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"features.{name}={getattr(self, name)!r} must be true or false")

    def lbe(self) -> LogBandEnergyParams:
        """The spectrum block's DSP parameters."""
        return LogBandEnergyParams(
            n_fft=self.lbe_n_fft, hop_length=self.lbe_hop_length, window=self.lbe_window,
            n_bands=self.lbe_n_bands, spacing=self.lbe_spacing, fmin_hz=self.lbe_fmin_hz,
            fmax_hz=self.lbe_fmax_hz, log_floor=self.log_floor,
        )

    def low(self) -> LogBandEnergyParams:
        """The shaft-harmonic block's DSP parameters (log bands, whole-window FFT)."""
        return LogBandEnergyParams(
            n_fft=self.low_n_fft, hop_length=None, window="hann", n_bands=self.low_n_bands, spacing="log",
            fmin_hz=self.low_fmin_hz, fmax_hz=self.low_fmax_hz, log_floor=self.log_floor,
        )

    def bandpass(self) -> ButterworthParams:
        """The causal band-pass of the envelope block (the device's biquads)."""
        return ButterworthParams(kind="bandpass", order=self.env_filter_order,
                                 cutoff_hz=(self.env_band_low_hz, self.env_band_high_hz), zero_phase=False)

    def envelope_params(self) -> EnvelopeSpectrumParams:
        """The envelope-spectrum block's DSP parameters (causal band-pass, Hann)."""
        return EnvelopeSpectrumParams(
            band_low_hz=self.env_band_low_hz, band_high_hz=self.env_band_high_hz,
            filter_order=self.env_filter_order, zero_phase=False, window="hann", fmax_hz=None,
        )

    def env_bands(self) -> BandPowerParams:
        """Bands over the envelope spectrum (squared amplitudes summed, natural log)."""
        edges = tuple(float(v) for v in np.linspace(self.env_fmin_hz, self.env_fmax_hz, self.env_n_bands + 1))
        return BandPowerParams(edges_hz=edges, integrate=False, log=True, log_floor=self.log_floor)

    @property
    def n_stats(self) -> int:
        return (4 if self.stats else 0) + (2 if self.envelope else 0)

    @property
    def per_channel(self) -> int:
        return self.lbe_n_bands + self.low_n_bands + (self.env_n_bands if self.envelope else 0) + self.n_stats


def check_vibration_rate(params: VibrationFeatureParams, sample_rate: float) -> None:
    """One-line ConfigError for bands the data's rate cannot hold (above Nyquist, no bin)."""
    p = params
    nyq = sample_rate / 2
    p.lbe().edges_hz(sample_rate)  # fmax above Nyquist -> one-line error
    if p.low_n_bands:
        p.low().bins(sample_rate)  # a band without a bin -> one-line error
    if p.envelope:
        if p.env_band_high_hz >= nyq:
            raise ConfigError(
                f"features.env_band_high_hz={p.env_band_high_hz} must be below the Nyquist frequency "
                f"{nyq:g} Hz of the {sample_rate:g} Hz data"
            )
        if p.env_fmax_hz > nyq:
            raise ConfigError(f"features.env_fmax_hz={p.env_fmax_hz} is above Nyquist ({nyq:g} Hz)")


def vibration_feature_names(params: VibrationFeatureParams, sample_rate: float) -> list[str]:
    """Names of one channel's features, in order (``lbe00_0Hz``, ..., ``bp_kurtosis``)."""
    p = params
    edges = p.lbe().edges_hz(sample_rate)
    names = [f"lbe{i:02d}_{edges[i]:.0f}Hz" for i in range(p.lbe_n_bands)]
    if p.low_n_bands:
        low = p.low().edges_hz(sample_rate)
        names += [f"low{i:02d}_{low[i]:.0f}Hz" for i in range(p.low_n_bands)]
    if p.envelope:
        env = p.env_bands().edges_hz
        names += [f"env{i:02d}_{env[i]:.0f}Hz" for i in range(p.env_n_bands)]
    if p.stats:
        names += ["rms", "kurtosis", "crest", "p2p"]
    if p.envelope:
        names += ["bp_rms", "bp_kurtosis"]
    return names


def envelope_band_bins(params: VibrationFeatureParams, sample_rate: float, n: int) -> np.ndarray:
    """The envelope-spectrum bins of each envelope band for windows of ``n`` samples."""
    return band_bins(np.fft.rfftfreq(n, 1.0 / sample_rate), params.env_bands().edges_hz, name="envelope bands")


def vibration_features(x: np.ndarray, *, sample_rate: float, params: VibrationFeatureParams) -> np.ndarray:
    """The ``vibration`` features: ``(n, channels, samples)`` windows in g -> ``(n, channels * per_channel)`` float32.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 1, 1024)).astype(np.float32)
    >>> vibration_features(x, sample_rate=8000.0, params=VibrationFeatureParams()).shape
    (2, 36)
    """
    p = params
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 3:
        raise ConfigError(f"vibration features take windows of shape (n, channels, samples); got {arr.shape}")
    for key in ("lbe_n_fft", "low_n_fft") if p.low_n_bands else ("lbe_n_fft",):
        if arr.shape[-1] < getattr(p, key):
            raise ConfigError(
                f"windows of {arr.shape[-1]} samples are shorter than features.{key}="
                f"{getattr(p, key)}; lower it or lengthen dataset.window_samples"
            )
    if p.envelope:
        envelope_band_bins(p, sample_rate, arr.shape[-1])  # a band without an envelope bin -> one-line error
    fs = sample_rate
    centred = arr - arr.mean(axis=-1, keepdims=True)  # float32, as on the device
    parts = [log_band_energies(centred, sample_rate=fs, params=p.lbe()).mean(axis=-1)]  # (n, C, bands)
    if p.low_n_bands:
        parts.append(log_band_energies(centred, sample_rate=fs, params=p.low()).mean(axis=-1))
    if p.envelope:
        freqs, amp = envelope_spectrum(centred, sample_rate=fs, params=p.envelope_params())
        parts.append(band_powers(amp.astype(np.float64) ** 2, freqs=freqs, params=p.env_bands()))
    floor = p.log_floor
    sp = StatsParams(fisher=False)
    if p.stats:
        s, names = time_stats(centred, params=sp)
        k = {n: i for i, n in enumerate(names)}
        parts.append(np.log(np.stack([s[..., k["rms"]], s[..., k["kurtosis"]], s[..., k["crest"]],
                                      s[..., k["p2p"]]], axis=-1).astype(np.float64) + floor))
    if p.envelope:
        y = sosfilt(centred, sos=butter_sos(sample_rate=fs, params=p.bandpass()), zero_phase=False)
        s, names = time_stats(y, params=sp)
        k = {n: i for i, n in enumerate(names)}
        parts.append(np.log(np.stack([s[..., k["rms"]], s[..., k["kurtosis"]]], axis=-1).astype(np.float64)
                            + floor))
    out = np.concatenate([np.asarray(q, dtype=np.float32) for q in parts], axis=-1)  # (n, C, F)
    return np.ascontiguousarray(out.reshape(out.shape[0], -1), dtype=np.float32)
