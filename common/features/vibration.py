"""Machine-vibration front end: spectrum, envelope spectrum and time statistics per window.

``vibration`` (:class:`VibrationFeatures`) turns each channel of a raw accelerometer
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
the envelope spectrum); its parameters come from :meth:`VibrationFeatures.c_defines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp import (
    BandPowerParams,
    ButterworthParams,
    EnvelopeSpectrumParams,
    LogBandEnergyParams,
    StatsParams,
    band_powers,
    butter_sos,
    envelope_spectrum,
    log_band_energies,
    sosfilt,
    time_stats,
)
from tinyml_suite.common.dsp._checks import check_float, check_int
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features import FeatureExtractor

__all__ = ["VIB_IMPLEMENTATION_VERSION", "VibrationFeatureParams", "VibrationFeatures"]

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
        p: VibrationFeatureParams = self.params
        nyq = self.sample_rate / 2
        p.lbe().edges_hz(self.sample_rate)  # fmax above Nyquist -> one-line error
        if p.low_n_bands:
            p.low().bins(self.sample_rate)  # a band without a bin -> one-line error
        if p.envelope:
            if p.env_band_high_hz >= nyq:
                raise ConfigError(
                    f"features.env_band_high_hz={p.env_band_high_hz} must be below the Nyquist frequency "
                    f"{nyq:g} Hz of the {self.sample_rate:g} Hz data"
                )
            if p.env_fmax_hz > nyq:
                raise ConfigError(f"features.env_fmax_hz={p.env_fmax_hz} is above Nyquist ({nyq:g} Hz)")
        self._samples: int | None = None

    @property
    def feature_names(self) -> list[str]:
        p: VibrationFeatureParams = self.params
        edges = p.lbe().edges_hz(self.sample_rate)
        names = [f"lbe{i:02d}_{edges[i]:.0f}Hz" for i in range(p.lbe_n_bands)]
        if p.low_n_bands:
            low = p.low().edges_hz(self.sample_rate)
            names += [f"low{i:02d}_{low[i]:.0f}Hz" for i in range(p.low_n_bands)]
        if p.envelope:
            env = p.env_bands().edges_hz
            names += [f"env{i:02d}_{env[i]:.0f}Hz" for i in range(p.env_n_bands)]
        if p.stats:
            names += ["rms", "kurtosis", "crest", "p2p"]
        if p.envelope:
            names += ["bp_rms", "bp_kurtosis"]
        return names

    def _check(self, x: np.ndarray) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != 3:
            raise ConfigError(f"vibration features take windows of shape (n, channels, samples); got {arr.shape}")
        for key in ("lbe_n_fft", "low_n_fft") if self.params.low_n_bands else ("lbe_n_fft",):
            if arr.shape[-1] < getattr(self.params, key):
                raise ConfigError(
                    f"windows of {arr.shape[-1]} samples are shorter than features.{key}="
                    f"{getattr(self.params, key)}; lower it or lengthen dataset.window_samples"
                )
        if self.params.envelope:
            self._env_bins(arr.shape[-1])  # a band without an envelope bin -> one-line error
        return arr

    def _env_freqs(self, n: int) -> np.ndarray:
        return np.fft.rfftfreq(n, 1.0 / self.sample_rate)

    def _env_bins(self, n: int) -> np.ndarray:
        from tinyml_suite.common.dsp import band_bins

        return band_bins(self._env_freqs(n), self.params.env_bands().edges_hz, name="envelope bands")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        arr = self._check(x)
        p: VibrationFeatureParams = self.params
        fs = self.sample_rate
        self._samples = int(arr.shape[-1])
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
