"""Speaker conversion: one synthetic utterance -> many plausible speakers (Praat, PSOLA).

A text-to-speech voice is one speaker. Real keyword spotters hear men, women and
children, whose voices differ mainly in two things that a vocoder can change
independently: the **vocal-tract length**, which scales every formant by about the same
factor, and the **fundamental frequency** (F0, the pitch). :func:`convert_speaker` does
both with Praat's "Change gender" command (through ``praat-parselmouth``): the sound is
resampled to shift the formants by ``formant_ratio``, and PSOLA (pitch-synchronous
overlap-add) restores the duration and sets the pitch contour to a new median F0 and
range; a duration factor changes the speaking rate.

:func:`draw_speaker` draws a target speaker from published adult and child statistics:

* **F0.** Peterson & Barney (1952, Table II) measured mean F0 of 132 Hz (men), 223 Hz
  (women) and 264 Hz (children) over ten American English vowels; Hillenbrand, Getty,
  Clark & Wheeler (1995) found about 138 Hz (men), 227 Hz (women) and 235 Hz (10-12 year
  old children). The typical speaking ranges quoted by Titze (1994, *Principles of
  Voice Production*) are about 85-180 Hz for men and 165-255 Hz for women. Here the
  group median is the Peterson & Barney mean, and a speaker's median F0 is log-normal
  around it with a spread of 12 % (about +-1 semitone x 2), clipped to
  :data:`F0_LIMITS_HZ` (the Titze ranges, and 200-350 Hz for children).
* **Formants.** Formant frequencies scale inversely with vocal-tract length. Peterson
  & Barney's women/men ratios of F1-F3 average about 1.16 (1.09-1.22 by vowel and
  formant) and their children/men ratios about 1.33 (1.24-1.46); Fant (1966, "A note on
  vocal tract size factors and non-uniform F-pattern scalings", STL-QPSR 7(4)) reports
  the same female/male factor of about 1.17. A speaker's formant ratio (relative to an
  average adult man) is normal around 1.00 (men), 1.16 (women) and 1.33 (children) with
  a standard deviation of 0.04 (individual vocal tracts differ by a few per cent within
  a group), clipped to [0.88, 1.45].

The conversion ratio applied to a source voice is ``target / source`` (a male source
voice such as Piper's ``en_US-joe`` has ``source_formant_ratio=1.0``).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> s = draw_speaker(rng)
>>> s.group in GROUPS and F0_LIMITS_HZ[s.group][0] <= s.f0_hz <= F0_LIMITS_HZ[s.group][1]
True
>>> x = vowel(f0_hz=120.0, formants_hz=(700.0, 1200.0, 2600.0), seconds=0.4, sample_rate=16000)
>>> y = convert_speaker(x, sample_rate=16000, speaker=SpeakerProfile(f0_hz=220.0, formant_ratio=1.2))
>>> abs(median_f0(y, sample_rate=16000) - 220.0) < 15.0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyml_suite.common.errors import ConfigError, TinyMLError

__all__ = [
    "F0_LIMITS_HZ",
    "GROUPS",
    "GROUP_F0_HZ",
    "GROUP_FORMANT_RATIO",
    "SpeakerPopulation",
    "SpeakerProfile",
    "convert_speaker",
    "draw_speaker",
    "mean_formants",
    "median_f0",
    "praat_available",
    "vowel",
]

GROUPS: tuple[str, ...] = ("man", "woman", "child")

#: Mean F0 per group, Hz (Peterson & Barney 1952, Table II).
GROUP_F0_HZ: dict[str, float] = {"man": 132.0, "woman": 223.0, "child": 264.0}

#: Mean formant ratio per group relative to an average adult man (Peterson & Barney 1952
#: F1-F3 averaged over vowels; Fant 1966).
GROUP_FORMANT_RATIO: dict[str, float] = {"man": 1.00, "woman": 1.16, "child": 1.33}

#: Speaking-F0 limits per group, Hz (Titze 1994 for adults; children from Peterson &
#: Barney's and Hillenbrand et al.'s 235-264 Hz means +-30 %).
F0_LIMITS_HZ: dict[str, tuple[float, float]] = {"man": (85.0, 180.0), "woman": (165.0, 255.0), "child": (200.0, 350.0)}

_F0_LOG_SD = 0.12
_FORMANT_SD = 0.04
_FORMANT_LIMITS = (0.88, 1.45)


def praat_available() -> bool:
    """Whether ``praat-parselmouth`` can be imported (the ``voices`` extra)."""
    try:
        import parselmouth  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(kw_only=True, frozen=True)
class SpeakerProfile:
    """A target speaker for :func:`convert_speaker`."""

    f0_hz: float
    """Median F0 of the converted utterance, Hz."""
    formant_ratio: float = 1.0
    """Formant frequencies relative to an average adult man (vocal-tract length factor)."""
    pitch_range: float = 1.0
    """Factor on the F0 excursions around the median (1 = as spoken, 0 = monotone)."""
    duration: float = 1.0
    """Duration factor (1.2 = 20 % slower), pitch and formants unchanged."""
    group: str = "man"
    """'man', 'woman' or 'child' (the population it was drawn from; informative only)."""

    def __post_init__(self) -> None:
        if not 50.0 <= float(self.f0_hz) <= 500.0:
            raise ConfigError(f"speaker f0_hz={self.f0_hz} must be within 50-500 Hz")
        if not 0.7 <= float(self.formant_ratio) <= 1.6:
            raise ConfigError(f"speaker formant_ratio={self.formant_ratio} must be within 0.7-1.6")
        if not 0.0 <= float(self.pitch_range) <= 3.0:
            raise ConfigError(f"speaker pitch_range={self.pitch_range} must be within 0-3")
        if not 0.5 <= float(self.duration) <= 2.0:
            raise ConfigError(f"speaker duration={self.duration} must be within 0.5-2")


@dataclass(kw_only=True, frozen=True)
class SpeakerPopulation:
    """Who :func:`draw_speaker` draws: group shares and the prosody ranges."""

    man: float = 0.45
    woman: float = 0.45
    child: float = 0.10
    pitch_range: tuple[float, float] = (0.6, 1.6)
    """Range of the F0-excursion factor (flat to lively intonation)."""
    duration: tuple[float, float] = (0.85, 1.2)
    """Range of the duration factor (speaking rate)."""

    def __post_init__(self) -> None:
        shares = (self.man, self.woman, self.child)
        if min(shares) < 0 or sum(shares) <= 0:
            raise ConfigError(f"speaker population shares man/woman/child={shares} must be >= 0 with a positive sum")
        for name in ("pitch_range", "duration"):
            lo, hi = (float(v) for v in getattr(self, name))
            if not 0 <= lo <= hi:
                raise ConfigError(f"speaker population {name}=[{lo}, {hi}] must be [low, high] with 0 <= low <= high")

    @property
    def weights(self) -> np.ndarray:
        w = np.array([self.man, self.woman, self.child], dtype=np.float64)
        return w / w.sum()


def draw_speaker(rng: np.random.Generator, population: SpeakerPopulation | None = None) -> SpeakerProfile:
    """A random speaker from the published group statistics (see the module docstring)."""
    pop = population or SpeakerPopulation()
    group = GROUPS[int(rng.choice(len(GROUPS), p=pop.weights))]
    lo, hi = F0_LIMITS_HZ[group]
    f0 = float(np.clip(GROUP_F0_HZ[group] * math.exp(rng.normal(0.0, _F0_LOG_SD)), lo, hi))
    ratio = float(np.clip(rng.normal(GROUP_FORMANT_RATIO[group], _FORMANT_SD), *_FORMANT_LIMITS))
    return SpeakerProfile(
        f0_hz=f0, formant_ratio=ratio, group=group,
        pitch_range=float(rng.uniform(*pop.pitch_range)), duration=float(rng.uniform(*pop.duration)),
    )


def convert_speaker(
    x: np.ndarray,
    *,
    sample_rate: int,
    speaker: SpeakerProfile,
    source_formant_ratio: float = 1.0,
    seed: int | None = None,
) -> np.ndarray:
    """``x`` spoken by ``speaker``: formants x ``formant_ratio / source_formant_ratio``, new F0.

    Praat's "Change gender" (pitch floor 75 Hz, ceiling 600 Hz). Returns float32 at
    ``sample_rate``, peak-normalised to 0.5; an input without any voiced frame (Praat
    finds no pitch) comes back with the formant shift and duration only. The
    resynthesis draws random numbers (unvoiced stretches); ``seed`` seeds Praat's
    generator for this call, so the output is reproducible.

    Raises
    ------
    TinyMLError
        When ``praat-parselmouth`` is not installed (``pip install 'tinyml-suite[voices]'``).
    """
    try:
        import parselmouth
        from parselmouth.praat import call, run
    except ImportError:
        raise TinyMLError(
            "speaker conversion needs praat-parselmouth: pip install 'tinyml-suite[voices]'"
        ) from None
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < int(0.03 * sample_rate):
        raise ConfigError(f"convert_speaker needs a 1-D signal of at least 30 ms; got shape {x.shape}")
    ratio = float(speaker.formant_ratio) / float(source_formant_ratio)
    snd = parselmouth.Sound(x, sampling_frequency=float(sample_rate))
    if seed is not None:
        run(f"random_initializeWithSeedUnsafelyButPredictably ({int(seed) % (1 << 31)})")
    out = call(snd, "Change gender", 75.0, 600.0, ratio, float(speaker.f0_hz), float(speaker.pitch_range),
               float(speaker.duration))
    if seed is not None:
        run("random_initializeSafelyAndUnpredictably ()")
    y = np.asarray(out.values[0], dtype=np.float64)
    out_rate = float(out.sampling_frequency)
    if abs(out_rate - sample_rate) > 0.5:  # pragma: no cover - Praat keeps the rate
        from tinyml_suite.common.dsp.resample import resample

        y = resample(y.astype(np.float32), orig_rate=int(round(out_rate)), target_rate=sample_rate)
    y = np.nan_to_num(np.asarray(y, dtype=np.float64))
    peak = float(np.abs(y).max()) if len(y) else 0.0
    return (y * (0.5 / peak)).astype(np.float32) if peak > 0 else y.astype(np.float32)


# -- measuring (tests, reports) ------------------------------------------------------------


def median_f0(x: np.ndarray, *, sample_rate: int, floor: float = 60.0, ceiling: float = 500.0) -> float:
    """Median F0 of the voiced frames, Hz (Praat's autocorrelation pitch); NaN when unvoiced."""
    import parselmouth

    snd = parselmouth.Sound(np.asarray(x, dtype=np.float64), sampling_frequency=float(sample_rate))
    f0 = snd.to_pitch(pitch_floor=floor, pitch_ceiling=ceiling).selected_array["frequency"]
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if len(f0) else float("nan")


def mean_formants(
    x: np.ndarray, *, sample_rate: int, n: int = 2, max_formant_hz: float = 3500.0, n_tracked: int = 3
) -> np.ndarray:
    """Median F1..Fn over the frames that have them, Hz (Praat's Burg formant tracker).

    Praat looks for ``n_tracked`` formants below ``max_formant_hz``; measure a shifted
    voice with the ceiling scaled by the same ratio, so that the tracker sees the same
    number of formants.
    """
    import parselmouth

    snd = parselmouth.Sound(np.asarray(x, dtype=np.float64), sampling_frequency=float(sample_rate))
    fm = snd.to_formant_burg(max_number_of_formants=n_tracked, maximum_formant=max_formant_hz)
    times = np.arange(fm.n_frames) * fm.time_step + fm.t1
    out = []
    for k in range(1, n + 1):
        v = np.array([fm.get_value_at_time(k, t) for t in times], dtype=np.float64)
        v = v[np.isfinite(v)]
        out.append(float(np.median(v)) if len(v) else float("nan"))
    return np.array(out)


def vowel(
    *, f0_hz: float, formants_hz: tuple[float, ...], seconds: float, sample_rate: int, bandwidth_hz: float = 80.0
) -> np.ndarray:
    """A steady synthetic vowel (glottal pulse train through formant resonators), peak 0.5.

    A test signal with known F0 and formants for measuring a conversion.
    """
    import scipy.signal

    n = int(seconds * sample_rate)
    src = np.zeros(n)
    period = sample_rate / f0_hz
    src[(np.arange(0, n, period)).astype(int)] = 1.0
    src = scipy.signal.lfilter([1.0], [1.0, -0.95], src)  # glottal roll-off
    y = src
    for f in formants_hz:
        r = math.exp(-math.pi * bandwidth_hz / sample_rate)
        theta = 2 * math.pi * f / sample_rate
        y = scipy.signal.lfilter([1.0 - r], [1.0, -2 * r * math.cos(theta), r * r], y)
    y = y * np.hanning(n) ** 0.25
    return (0.5 * y / np.abs(y).max()).astype(np.float32)
