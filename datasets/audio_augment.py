"""Audio augmentation for keyword clips, and SpecAugment-style masks on features.

Used by both wake_word datasets (the text-to-speech generator and the Speech Commands
loader) so that synthetic and real clips get the same treatment. One call of
:meth:`Augmenter.speech_clip` turns a dry utterance into a 1 s training clip:

1. speed/pitch perturbation: resampling by a factor in ``speed`` (changes duration, pitch
   and formants together, like vocal-tract-length perturbation);
2. synthetic reverberation (probability ``reverb_prob``): convolution with an
   exponentially decaying noise impulse response of RT60 in ``rt60_s``, mixed with the
   direct path;
3. time shift: placement at a random offset in the clip (the loudest ``clip`` samples
   are kept when the utterance is longer);
4. background noise (probability ``noise_prob``) at an SNR drawn from ``snr_db``, measured
   against the utterance's energy: real noise recordings when a bank is given, else
   coloured noise (spectral slope 1/f^beta, beta in ``noise_beta``) or babble (a few
   other utterances summed);
5. band-limiting (probability ``bandlimit_prob``): Butterworth high-pass and low-pass with
   random corners (microphone and channel colouring);
6. gain: the clip's RMS level is drawn from ``level_dbfs``; samples are clipped to [-1, 1].

:meth:`Augmenter.silence_clip` makes a 'silence' example: background noise alone, at a
random level, sometimes almost digital silence.

Filtering uses :mod:`tinyml_suite.common.dsp` (Butterworth SOS design and filtering,
polyphase resampling); the rest is numpy/scipy. Every random draw comes from the
``rng`` passed in, so a seed reproduces a clip exactly.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> aug = Augmenter(AugmentParams(), sample_rate=16000)
>>> word = np.sin(2 * np.pi * 300 * np.arange(6000) / 16000).astype(np.float32)
>>> clip, onset = aug.speech_clip(word, rng, n_samples=16000)
>>> clip.shape, clip.dtype, 0 <= onset < 16000
((16000,), dtype('float32'), True)
>>> spec_augment(np.zeros((2, 49, 10, 1), np.float32), rng).shape
(2, 49, 10, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "AugmentParams",
    "Augmenter",
    "SpecAugmentParams",
    "active_rms",
    "coloured_noise",
    "mix_at_snr",
    "reverb_ir",
    "spec_augment",
    "trim_silence",
]


def _pair(name: str, value: Any, lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"augment.{name}={value!r} must be a pair [low, high]") from None
    if not a <= b:
        raise ConfigError(f"augment.{name}=[{a}, {b}] must have low <= high")
    if (lo is not None and a < lo) or (hi is not None and b > hi):
        raise ConfigError(f"augment.{name}=[{a}, {b}] must lie within [{lo}, {hi}]")
    return a, b


def _prob(name: str, value: Any) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ConfigError(f"augment.{name}={value!r} must be a probability in [0, 1]")
    return v


@dataclass(kw_only=True, frozen=True)
class AugmentParams:
    """Ranges and probabilities of the clip augmentation (see the module docstring).

    ``enabled=False`` turns everything off except placement (clean clips, for tests and
    for evaluation splits that should stay dry).
    """

    enabled: bool = True
    speed: tuple[float, float] = (0.88, 1.12)
    """Resampling factor range (1.1 = 10 % faster and higher)."""
    speed_prob: float = 0.8
    reverb_prob: float = 0.5
    rt60_s: tuple[float, float] = (0.1, 0.8)
    """Reverberation time range, seconds."""
    wet: tuple[float, float] = (0.2, 0.8)
    """Reverberant share of the mix."""
    noise_prob: float = 0.9
    snr_db: tuple[float, float] = (0.0, 30.0)
    """Signal-to-noise ratio range, dB: active speech level (RMS of the louder half of the
    utterance's 20 ms frames) over the noise RMS."""
    noise_beta: tuple[float, float] = (-1.0, 2.0)
    """Spectral slope range of coloured noise: 0 white, 1 pink, 2 brown, -1 blue."""
    babble_prob: float = 0.3
    """Share of noisy clips whose noise is babble (when a speech bank is given)."""
    real_noise_prob: float = 0.7
    """Share of noisy clips whose noise is a real recording (when a noise bank is given)."""
    noise_volume: tuple[float, float] | None = None
    """If set, noise is mixed by amplitude instead of SNR, TensorFlow/MLPerf style: the
    recording as it is (synthetic noise at RMS 0.1) times a factor drawn from this range."""
    bandlimit_prob: float = 0.5
    highpass_hz: tuple[float, float] = (50.0, 400.0)
    lowpass_hz: tuple[float, float] = (2500.0, 7500.0)
    level_dbfs: tuple[float, float] = (-40.0, -12.0)
    """RMS level range of the final clip, dB relative to full scale."""
    gain_prob: float = 1.0
    """Share of speech clips re-levelled to a random level in ``level_dbfs`` (the others keep
    their level: a recording's own, or the middle of the range for synthetic speech)."""
    max_shift_s: float = 0.0
    """For clips that are already 1 s (real recordings): roll by up to this many seconds
    (zero fill) instead of placing a trimmed utterance."""

    def __post_init__(self) -> None:
        for name in ("speed_prob", "reverb_prob", "noise_prob", "babble_prob", "real_noise_prob",
                     "bandlimit_prob", "gain_prob"):
            object.__setattr__(self, name, _prob(name, getattr(self, name)))
        object.__setattr__(self, "speed", _pair("speed", self.speed, 0.5, 2.0))
        object.__setattr__(self, "rt60_s", _pair("rt60_s", self.rt60_s, 0.01, 3.0))
        object.__setattr__(self, "wet", _pair("wet", self.wet, 0.0, 1.0))
        object.__setattr__(self, "snr_db", _pair("snr_db", self.snr_db, -20.0, 80.0))
        object.__setattr__(self, "noise_beta", _pair("noise_beta", self.noise_beta, -2.0, 3.0))
        object.__setattr__(self, "highpass_hz", _pair("highpass_hz", self.highpass_hz, 1.0, None))
        object.__setattr__(self, "lowpass_hz", _pair("lowpass_hz", self.lowpass_hz, 100.0, None))
        object.__setattr__(self, "level_dbfs", _pair("level_dbfs", self.level_dbfs, -90.0, 0.0))
        if self.noise_volume is not None:
            object.__setattr__(self, "noise_volume", _pair("noise_volume", self.noise_volume, 0.0, 10.0))
        if float(self.max_shift_s) < 0:
            raise ConfigError(f"augment.max_shift_s={self.max_shift_s} must be >= 0 seconds")

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> AugmentParams:
        """Build from a config mapping; an unknown key is a one-line ConfigError."""
        options = dict(options or {})
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - valid)
        if unknown:
            raise ConfigError(
                f"dataset.augment.{unknown[0]} is not an augmentation option; valid: {', '.join(sorted(valid))}"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


# -- building blocks -------------------------------------------------------------------


def trim_silence(x: np.ndarray, *, sample_rate: int, top_db: float = 40.0, margin_s: float = 0.01) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``top_db`` below the peak, keeping a margin.

    Meant for dry synthetic speech (no background noise).

    Examples
    --------
    >>> x = np.concatenate([np.zeros(1000), np.ones(500), np.zeros(1000)]).astype(np.float32)
    >>> len(trim_silence(x, sample_rate=16000, margin_s=0.0))
    500
    >>> len(trim_silence(x, sample_rate=16000, margin_s=0.01))
    820
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return x
    mag = np.abs(x)
    peak = float(mag.max())
    if peak <= 0:
        return x[:0]
    idx = np.flatnonzero(mag >= peak * 10 ** (-top_db / 20))
    margin = int(margin_s * sample_rate)
    return x[max(0, idx[0] - margin) : min(len(x), idx[-1] + 1 + margin)]


def active_rms(x: np.ndarray, *, frame: int = 320) -> float:
    """RMS over the louder half of ``frame``-sample frames (the speech, not the pauses).

    Examples
    --------
    >>> round(active_rms(np.concatenate([np.zeros(3200), np.ones(3200)])), 3)
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    e = np.sort(e)[n // 2 :]
    return float(np.sqrt(e.mean()))


def coloured_noise(n: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f^beta, unit RMS, float32.

    Examples
    --------
    >>> x = coloured_noise(16000, 1.0, np.random.default_rng(0))
    >>> x.shape, round(float(np.sqrt(np.mean(x ** 2))), 3)
    ((16000,), 1.0)
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-beta / 2.0)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    rms = np.sqrt(np.mean(x**2))
    return (x / rms if rms > 0 else x).astype(np.float32)


def reverb_ir(rt60_s: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying noise impulse response (-60 dB after ``rt60_s``), unit energy.

    Examples
    --------
    >>> h = reverb_ir(0.3, 16000, np.random.default_rng(0))
    >>> len(h), round(float(np.sum(h ** 2)), 3)
    (4800, 1.0)
    """
    n = max(1, int(rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    h = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # ln(1000) = 6.9078: -60 dB
    h[: int(0.002 * sample_rate)] *= np.linspace(0, 1, int(0.002 * sample_rate))  # soft onset
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float, *, signal_rms: float | None = None) -> np.ndarray:
    """``signal + g * noise`` with ``g`` chosen so that signal/noise energy is ``snr_db``.

    Examples
    --------
    >>> s = np.ones(100, np.float32); n = np.ones(100, np.float32)
    >>> round(float((mix_at_snr(s, n, 20.0) - s).mean()), 3)
    0.1
    """
    s_rms = float(np.sqrt(np.mean(np.asarray(signal, np.float64) ** 2))) if signal_rms is None else signal_rms
    n_rms = float(np.sqrt(np.mean(np.asarray(noise, np.float64) ** 2)))
    if n_rms <= 0 or s_rms <= 0:
        return np.asarray(signal, dtype=np.float32).copy()
    g = s_rms / n_rms * 10 ** (-snr_db / 20.0)
    return (signal + g * noise).astype(np.float32)


def _speed(x: np.ndarray, factor: float) -> np.ndarray:
    from tinyml_suite.common.dsp.resample import resample

    up = 100
    down = int(round(factor * up))
    if down == up:
        return x
    # playing back ``down/up`` times faster = resampling to up/down of the length
    return resample(x, orig_rate=down, target_rate=up)


class Augmenter:
    """Applies :class:`AugmentParams` to utterances and makes silence clips.

    Parameters
    ----------
    params : AugmentParams
    sample_rate : int
        Rate of every signal given and returned, Hz.
    noise_bank : sequence of 1-D arrays, optional
        Real background recordings (e.g. Speech Commands ``_background_noise_``), any lengths.
    speech_bank : sequence of 1-D arrays, optional
        Utterances used to build babble noise.
    """

    def __init__(
        self,
        params: AugmentParams,
        *,
        sample_rate: int,
        noise_bank: Sequence[np.ndarray] = (),
        speech_bank: Sequence[np.ndarray] = (),
    ) -> None:
        self.p = params
        self.sample_rate = int(sample_rate)
        self.noise_bank = [np.asarray(b, np.float32) for b in noise_bank if len(b) > 0]
        self.speech_bank = [np.asarray(b, np.float32) for b in speech_bank if len(b) > 0]
        self._filters: dict[tuple[str, int], np.ndarray] = {}

    # -- noise -------------------------------------------------------------------
    def noise(self, n: int, rng: np.random.Generator, *, normalize: bool = True) -> np.ndarray:
        """One background of ``n`` samples: real, babble or coloured; at unit RMS, or with
        ``normalize=False`` a recording at its recorded level (synthetic noise at RMS 0.1)."""
        p = self.p
        if self.noise_bank and rng.random() < p.real_noise_prob:
            src = self.noise_bank[rng.integers(len(self.noise_bank))]
            if len(src) >= n:
                start = int(rng.integers(0, len(src) - n + 1))
                x = src[start : start + n].astype(np.float64)
            else:
                x = np.resize(src, n).astype(np.float64)
            if not normalize:
                return x.astype(np.float32)
            rms = np.sqrt(np.mean(x**2))
            if rms > 1e-8:
                return (x / rms).astype(np.float32)
        scale = 1.0 if normalize else 0.1
        if self.speech_bank and rng.random() < p.babble_prob:
            return (scale * self._babble(n, rng)).astype(np.float32)
        return (scale * coloured_noise(n, float(rng.uniform(*p.noise_beta)), rng)).astype(np.float32)

    def _babble(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(n, dtype=np.float64)
        for _ in range(int(rng.integers(3, 8))):
            u = self.speech_bank[rng.integers(len(self.speech_bank))]
            u = u / (active_rms(u) + 1e-9)
            start = int(rng.integers(-len(u) // 2, n))
            a, b = max(0, start), min(n, start + len(u))
            if b > a:
                out[a:b] += u[a - start : b - start] * rng.uniform(0.3, 1.0)
        out += 0.05 * rng.standard_normal(n)
        rms = np.sqrt(np.mean(out**2))
        return (out / rms).astype(np.float32)

    # -- filters -----------------------------------------------------------------
    def _bandlimit(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt

        p = self.p
        nyq = self.sample_rate / 2.0
        kind = rng.choice(["low", "high", "band"])
        y = x
        if kind in ("high", "band"):
            fc = float(np.exp(rng.uniform(*np.log(p.highpass_hz))))
            if fc < nyq * 0.9:
                sos = butter_sos(sample_rate=self.sample_rate, params=ButterworthParams(kind="highpass", order=2, cutoff_hz=fc))
                y = sosfilt(y, sos=sos)
        if kind in ("low", "band"):
            fc = float(rng.uniform(*p.lowpass_hz))
            if fc < nyq * 0.95:
                order = int(rng.integers(2, 7))
                sos = butter_sos(sample_rate=self.sample_rate, params=ButterworthParams(kind="lowpass", order=order, cutoff_hz=fc))
                y = sosfilt(y, sos=sos)
        return np.asarray(y, dtype=np.float32)

    def _reverb(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        p = self.p
        h = reverb_ir(float(rng.uniform(*p.rt60_s)), self.sample_rate, rng)
        wet = scipy.signal.fftconvolve(x, h)[: len(x) + len(h) // 2]
        dry = np.zeros_like(wet)
        dry[: len(x)] = x
        mix = float(rng.uniform(*p.wet))
        dry_rms, wet_rms = np.sqrt(np.mean(dry**2)), np.sqrt(np.mean(wet**2))
        if wet_rms > 0:
            wet *= dry_rms / wet_rms
        return ((1 - mix) * dry + mix * wet).astype(np.float32)

    # -- clips -------------------------------------------------------------------
    def place(self, utterance: np.ndarray, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Put the utterance at a random offset; return ``(clip, onset_sample)``."""
        u = np.asarray(utterance, dtype=np.float32)
        clip = np.zeros(n_samples, dtype=np.float32)
        if len(u) >= n_samples:
            # keep the loudest n_samples window
            e = np.cumsum(np.concatenate([[0.0], u.astype(np.float64) ** 2]))
            start = int(np.argmax(e[n_samples:] - e[:-n_samples]))
            clip[:] = u[start : start + n_samples]
            return clip, 0
        onset = int(rng.integers(0, n_samples - len(u) + 1))
        clip[onset : onset + len(u)] = u
        return clip, onset

    def speech_clip(
        self, utterance: np.ndarray, rng: np.random.Generator, *, n_samples: int
    ) -> tuple[np.ndarray, int]:
        """A training clip from a dry utterance (see the module docstring); ``(clip, onset)``."""
        p = self.p
        u = np.asarray(utterance, dtype=np.float32)
        if p.enabled and rng.random() < p.speed_prob:
            u = _speed(u, float(rng.uniform(*p.speed)))
        if p.enabled and rng.random() < p.reverb_prob:
            u = self._reverb(u, rng)
        speech_rms = active_rms(u)
        clip, onset = self.place(u, n_samples, rng)
        if not p.enabled:
            return self._level(clip, rng, fixed=True), onset
        if rng.random() < p.noise_prob:
            clip = mix_at_snr(clip, self.noise(n_samples, rng), float(rng.uniform(*p.snr_db)),
                              signal_rms=speech_rms)
        if rng.random() < p.bandlimit_prob:
            clip = self._bandlimit(clip, rng)
        return self._level(clip, rng, fixed=rng.random() >= p.gain_prob), onset

    def recorded_clip(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a clip that is already ``n`` samples long (a real recording)."""
        p = self.p
        x = np.asarray(clip, dtype=np.float32)
        n = len(x)
        if not p.enabled:
            return x.copy()
        shift = int(rng.uniform(-p.max_shift_s, p.max_shift_s) * self.sample_rate)
        if shift:
            y = np.zeros_like(x)
            if shift > 0:
                y[shift:] = x[: n - shift]
            else:
                y[:shift] = x[-shift:]
            x = y
        if rng.random() < p.speed_prob:
            x = _fit(_speed(x, float(rng.uniform(*p.speed))), n)
        if rng.random() < p.reverb_prob:
            x = self._reverb(x, rng)[:n]
        if rng.random() < p.noise_prob:
            if p.noise_volume is not None:
                x = (x + float(rng.uniform(*p.noise_volume)) * self.noise(n, rng, normalize=False)).astype(np.float32)
            else:
                x = mix_at_snr(x, self.noise(n, rng), float(rng.uniform(*p.snr_db)), signal_rms=active_rms(x))
        if rng.random() < p.bandlimit_prob:
            x = self._bandlimit(x, rng)
        if rng.random() < p.gain_prob:
            return self._level(x, rng)
        return np.clip(x, -1.0, 1.0).astype(np.float32)

    def silence_clip(self, rng: np.random.Generator, *, n_samples: int) -> np.ndarray:
        """Background only, at a random level (10 % of them near digital silence)."""
        x = self.noise(n_samples, rng)
        if self.p.enabled and rng.random() < self.p.bandlimit_prob:
            x = self._bandlimit(x, rng)
        lo, hi = self.p.level_dbfs
        level = rng.uniform(-90.0, -60.0) if rng.random() < 0.1 else rng.uniform(lo - 15.0, hi - 6.0)
        return _scale_to(x, level)

    def _level(self, x: np.ndarray, rng: np.random.Generator, fixed: bool = False) -> np.ndarray:
        lo, hi = self.p.level_dbfs
        level = (lo + hi) / 2 if fixed else float(rng.uniform(lo, hi))
        return _scale_to(x, level)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        start = (len(x) - n) // 2
        return x[start : start + n]
    out = np.zeros(n, dtype=np.float32)
    start = (n - len(x)) // 2
    out[start : start + len(x)] = x
    return out


def _scale_to(x: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))
    if rms <= 0:
        return np.asarray(x, dtype=np.float32).copy()
    y = np.asarray(x, np.float64) * (10 ** (level_dbfs / 20.0) / rms)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


# -- SpecAugment ----------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class SpecAugmentParams:
    """Masks on model inputs ``(n, frames, features, 1)`` (Park et al. 2019, without warping)."""

    prob: float = 0.5
    """Share of training examples that get masks."""
    time_masks: int = 2
    time_width: int = 6
    """Largest time mask, frames (20 ms each at the default stride)."""
    freq_masks: int = 1
    freq_width: int = 2
    """Largest feature mask, coefficients / bands."""

    def __post_init__(self) -> None:
        _prob("spec_augment.prob", self.prob)
        for name in ("time_masks", "time_width", "freq_masks", "freq_width"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"spec_augment.{name}={getattr(self, name)} must be >= 0")


def spec_augment(X: np.ndarray, rng: np.random.Generator, params: SpecAugmentParams | None = None) -> np.ndarray:
    """A copy of ``X`` [shape=(n, frames, features, ...)] with time and feature masks.

    A masked region is set to the example's mean value (a neutral level for
    log-energies and cepstra alike). Examples chosen with probability ``params.prob``.
    """
    p = SpecAugmentParams() if params is None else params
    X = np.array(X, dtype=np.float32, copy=True)
    if X.ndim < 3 or len(X) == 0:
        return X
    n, t_len, f_len = X.shape[:3]
    chosen = np.flatnonzero(rng.random(n) < p.prob)
    for i in chosen:
        fill = float(X[i].mean())
        for _ in range(p.time_masks):
            w = int(rng.integers(0, p.time_width + 1))
            if w:
                t0 = int(rng.integers(0, max(1, t_len - w)))
                X[i, t0 : t0 + w] = fill
        for _ in range(p.freq_masks):
            w = int(rng.integers(0, p.freq_width + 1))
            if w:
                f0 = int(rng.integers(0, max(1, f_len - w)))
                X[i, :, f0 : f0 + w] = fill
    return X
