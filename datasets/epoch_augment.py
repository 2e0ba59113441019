"""Fresh augmentation every epoch: new shift, gain, noise and room for cached keyword clips.

A generated (and cached) training set is one fixed draw of the augmentation; a model
trained on it for 30 epochs sees every clip with the same noise, room and position 30
times. :func:`fresh_clips` re-draws, vectorised over a batch of finished 1 s clips, the
cheap part of that augmentation so that every epoch can get new copies:

1. **shift**: the clip is rolled so that its word (``onset``, ``length``) lands at a new
   random position, still whole inside the clip (a clip without a word, ``onset < 0``, is
   rolled anywhere; its background is stationary, so the wrap is inaudible);
2. **room** (probability ``rir_prob``): convolution with an impulse response from a bank
   (simulated rooms, drawn once per run), re-levelled to the clip's RMS;
3. **noise** (probability ``noise_prob``): a random segment of a noise bank (coloured
   noise, and recorded background where the dataset has some) at an SNR drawn from
   ``snr_db`` against the clip's active level (:func:`active_levels`);
4. **gain**: a level change drawn from ``gain_db``, limited so that no sample exceeds
   0.99 (a louder copy, never a clipped one).

The cost is a few tenths of a millisecond per clip (one FFT convolution for the clips
that get a room; the rest is indexing and sums), against about 2 ms per clip for the
generator's full chain, so a share of the training set can be renewed every epoch on
two cores. Every draw comes from the ``rng`` passed in.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = np.zeros((2, 16000), np.float32); x[:, 4000:8000] = 0.1
>>> bank = noise_bank(rng, sample_rate=16000, seconds=1.0)
>>> y, onsets = fresh_clips(x, rng, EpochAugmentParams(), onsets=np.array([4000, -1]),
...                          lengths=np.array([4000, 0]), noise=bank, rirs=[])
>>> y.shape, y.dtype, bool(0 <= onsets[0] <= 12000), int(onsets[1])
((2, 16000), dtype('float32'), True, -1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.signal

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.datasets.audio_augment import coloured_noise

__all__ = ["EpochAugmentParams", "active_levels", "fresh_clips", "noise_bank"]


@dataclass(kw_only=True, frozen=True)
class EpochAugmentParams:
    """What :func:`fresh_clips` re-draws (see the module docstring)."""

    share: float = 0.5
    """Share of the training clips renewed each epoch (0: the cached draw only)."""
    shift: bool = True
    """Move the word to a new random position inside the clip."""
    gain_db: tuple[float, float] = (-10.0, 10.0)
    """Level change range, dB."""
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (5.0, 30.0)
    """SNR of the added noise against the clip's active level, dB."""
    rir_prob: float = 0.25
    rooms: int = 16
    """Impulse responses in the bank (simulated rooms; exponential tails without pyroomacoustics)."""

    def __post_init__(self) -> None:
        for name in ("share", "noise_prob", "rir_prob"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"app.epoch_augment.{name}={v} must be a fraction in [0, 1]")
        for name in ("gain_db", "snr_db"):
            try:
                a, b = (float(v) for v in getattr(self, name))
            except (TypeError, ValueError):
                raise ConfigError(f"app.epoch_augment.{name}={getattr(self, name)!r} must be a pair [low, high]") from None
            if a > b:
                raise ConfigError(f"app.epoch_augment.{name}=[{a}, {b}] must have low <= high")
            object.__setattr__(self, name, (a, b))
        if int(self.rooms) < 1:
            raise ConfigError(f"app.epoch_augment.rooms={self.rooms} must be >= 1")


def noise_bank(
    rng: np.random.Generator,
    *,
    sample_rate: int,
    seconds: float = 8.0,
    betas: Sequence[float] = (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0),
    recorded: np.ndarray | None = None,
) -> np.ndarray:
    """Noises of unit RMS, one per row: coloured noise of each spectral slope ``betas``
    (0 white, 1 pink, 2 brown) and, when given, a ``recorded`` background cut into rows.

    Examples
    --------
    >>> b = noise_bank(np.random.default_rng(0), sample_rate=16000, seconds=0.5)
    >>> b.shape, round(float(np.sqrt(np.mean(b[3] ** 2))), 3)
    ((6, 8000), 1.0)
    """
    n = int(seconds * sample_rate)
    rows = [coloured_noise(n, float(b), rng) for b in betas]
    if recorded is not None and len(recorded) >= n:
        r = np.asarray(recorded, np.float64)
        for k in range(min(16, len(r) // n)):
            seg = r[k * n : (k + 1) * n]
            rms = np.sqrt(np.mean(seg**2))
            if rms > 1e-8:
                rows.append((seg / rms).astype(np.float32))
    return np.stack(rows).astype(np.float32)


def active_levels(x: np.ndarray, *, frame: int = 320) -> np.ndarray:
    """Per clip (rows of ``x``): RMS of the louder half of its ``frame``-sample frames.

    The batched form of :func:`~tinyml_suite.datasets.audio_augment.active_rms`.

    Examples
    --------
    >>> x = np.concatenate([np.zeros((1, 3200)), np.ones((1, 3200))], axis=1)
    >>> active_levels(x).round(3).tolist()
    [1.0]
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[1] // frame
    e = np.mean(x[:, : n * frame].reshape(len(x), n, frame).astype(np.float64) ** 2, axis=2)
    e = np.sort(e, axis=1)[:, n // 2 :]
    return np.sqrt(e.mean(axis=1))


def fresh_clips(
    x: np.ndarray,
    rng: np.random.Generator,
    params: EpochAugmentParams,
    *,
    onsets: np.ndarray,
    lengths: np.ndarray,
    noise: np.ndarray,
    rirs: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """New copies of the clips ``x`` [shape=(n, samples)] (module docstring, steps 1-4).

    Parameters
    ----------
    onsets, lengths : np.ndarray [shape=(n,)]
        Where the word is in each clip, samples (``onset < 0``: no word, e.g. silence).
    noise : np.ndarray [shape=(k, m)]
        Noise bank of unit-RMS rows (:func:`noise_bank`); ``m`` may be shorter than a clip.
    rirs : sequence of 1-D arrays
        Room impulse responses (empty: no room step).

    Returns
    -------
    clips : np.ndarray [shape=(n, samples), dtype=float32]
    onsets : np.ndarray [shape=(n,)]
        The words' new positions (-1 where there is no word).
    """
    p = params
    y = np.array(x, dtype=np.float32, copy=True)
    n, n_samples = y.shape
    onsets = np.asarray(onsets, dtype=np.int64)
    lengths = np.clip(np.asarray(lengths, dtype=np.int64), 0, n_samples)
    new_on = onsets.copy()
    if p.shift and n:
        word = onsets >= 0
        room = np.maximum(n_samples - lengths, 0)
        target = (rng.random(n) * (room + 1)).astype(np.int64)
        delta = np.where(word, target - onsets, rng.integers(0, n_samples, size=n))
        new_on = np.where(word, target, -1)
        cols = np.arange(n_samples)
        for i in np.flatnonzero(delta % n_samples):
            y[i] = y[i, (cols - delta[i]) % n_samples]
    if rirs and p.rir_prob > 0:
        pick = np.flatnonzero(rng.random(n) < p.rir_prob)
        which = rng.integers(0, len(rirs), size=len(pick))
        for r in np.unique(which):
            rows = pick[which == r]
            before = np.sqrt(np.mean(y[rows].astype(np.float64) ** 2, axis=1))
            wet = scipy.signal.fftconvolve(y[rows], np.asarray(rirs[r], np.float32)[None, :], axes=1)[:, :n_samples]
            after = np.sqrt(np.mean(wet.astype(np.float64) ** 2, axis=1))
            y[rows] = wet * (before / np.maximum(after, 1e-12))[:, None]
    if p.noise_prob > 0 and len(noise):
        pick = np.flatnonzero(rng.random(n) < p.noise_prob)
        if len(pick):
            level = active_levels(y[pick])
            snr = rng.uniform(*p.snr_db, size=len(pick))
            bank_rows = rng.integers(0, len(noise), size=len(pick))
            m = noise.shape[1]
            starts = rng.integers(0, m, size=len(pick))
            idx = (starts[:, None] + np.arange(n_samples)[None, :]) % m
            seg = noise[bank_rows[:, None], idx]
            seg_rms = np.sqrt(np.mean(seg.astype(np.float64) ** 2, axis=1))  # each segment at unit RMS
            y[pick] += seg * (level * 10 ** (-snr / 20.0) / np.maximum(seg_rms, 1e-12))[:, None].astype(np.float32)
    gain = 10 ** (rng.uniform(*p.gain_db, size=n) / 20.0)
    peak = np.abs(y).max(axis=1) if n_samples else np.zeros(n)
    gain = np.minimum(gain, 0.99 / np.maximum(peak, 1e-9))  # louder, but never clipped
    y *= gain[:, None].astype(np.float32)
    return y, new_on
