"""The classic DSP baseline: spectral peak tracking with accelerometer-aware motion suppression.

No learning. Per 8 s window, in time order per recording:

1. **Spectra** (:func:`tinyml_suite.common.dsp.ppg_spectrum.ppg_spectra`): the PPG and the
   three ACC axes, mean removed, Hann-windowed, zero-padded to 1024 points (1.875 BPM
   bins at 32 Hz), over 0.5-4 Hz; the PPG normalised to its maximum, the ACC against an
   absolute floor (a still wrist suppresses nothing).
2. **Motion stage** (:class:`tinyml_suite.common.dsp.MotionSuppressor`, the DSP block
   with a C twin): the PPG spectrum times a gain that the ACC spectra drive down where
   the wrist moves (arm swing, step cadence, exercise repetitions, their harmonics):
   spectral subtraction or a Wiener gain with a recursive signal estimate (``motion``).
3. **Tracking prior** (:class:`~tinyml_suite.apps.heart_rate.postprocess.HrTracker`): a
   causal HMM forward filter over the BPM grid, emission = the suppressed spectrum, the
   motion level and the re-acquisition distribution from the ACC spectrum, the estimate
   refined to the parabolic peak nearest the posterior maximum.
4. **Time-domain beats for clean windows**: when the ACC is quiet (mean axis std below
   ``clean_motion_g``), beats are detected on the zero-phase band-passed PPG
   (:func:`tinyml_suite.common.dsp.detect_peaks`, adaptive threshold, refractory
   period) and ``60 / mean(inter-beat interval)`` - what the ECG reference measures -
   replaces the spectral estimate when the two agree within ``td_agree_bpm``.

Every signal step is a :mod:`tinyml_suite.common.dsp` block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tinyml_suite.apps.heart_rate.postprocess import HrTracker, TrackParams, recording_segments
from tinyml_suite.common.dsp import (
    ButterworthParams,
    MotionSuppressionParams,
    MotionSuppressor,
    PeakParams,
    butter_filter,
    detect_peaks,
)
from tinyml_suite.common.dsp._checks import check_float
from tinyml_suite.common.dsp.ppg_spectrum import PpgSpectrumParams, ppg_spectra
from tinyml_suite.common.errors import ConfigError

__all__ = ["DspParams", "baseline_spectra", "suppressed_spectra", "time_domain_bpm", "dsp_estimates"]


@dataclass(kw_only=True, frozen=True)
class DspParams:
    """Parameters of the DSP baseline (see the module docstring).

    Attributes
    ----------
    motion : MotionSuppressionParams
        The motion stage (step 2).
    clean_motion_g : float
        Mean ACC axis std (g) below which a window counts as clean; 0 disables step 4.
    td_agree_bpm : float
        Largest spectral / time-domain disagreement for step 4 to apply (BPM).
    tracking : TrackParams
        The tracking prior (step 3).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 2
    C_PREFIX: ClassVar[str] = "HRDSP"

    motion: MotionSuppressionParams = field(default_factory=MotionSuppressionParams)
    clean_motion_g: float = 0.04
    td_agree_bpm: float = 8.0
    tracking: TrackParams = field(default_factory=TrackParams)

    def __post_init__(self) -> None:
        check_float("clean_motion_g", self.clean_motion_g, lo=0.0)
        check_float("td_agree_bpm", self.td_agree_bpm, lo=0.0)
        if not isinstance(self.tracking, TrackParams):
            raise ConfigError(f"tracking={self.tracking!r} must be a TrackParams")
        if not isinstance(self.motion, MotionSuppressionParams):
            raise ConfigError(f"motion={self.motion!r} must be a MotionSuppressionParams")


def baseline_spectra(x: np.ndarray, sample_rate: float,
                     spec_params: PpgSpectrumParams = PpgSpectrumParams(compress="linear")) -> tuple[np.ndarray, np.ndarray]:
    """``(grid_bpm [n_bins], spectra [n, 4, n_bins])``: step 1 on windows ``x`` (n, 4, samples)."""
    freqs, s = ppg_spectra(x, sample_rate=sample_rate, params=spec_params)
    return (freqs * np.float32(60.0)).astype(np.float32), s


def suppressed_spectra(x: np.ndarray, sample_rate: float, params: DspParams = DspParams(),
                       spec_params: PpgSpectrumParams = PpgSpectrumParams(compress="linear"),
                       rec: np.ndarray | None = None, t_s: np.ndarray | None = None,
                       hop_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """``(grid_bpm [n_bins], spectra [n, n_bins])``: steps 1-2 on windows ``x`` (n, 4, samples).

    With ``rec``/``t_s`` the motion stage runs in each recording's time order (its Wiener
    signal estimate carried from window to window); without, each window alone.

    Examples
    --------
    >>> t = np.arange(256) / 32.0
    >>> ppg = np.sin(2 * np.pi * 1.2 * t) + 2 * np.sin(2 * np.pi * 2.5 * t)  # HR 72 + artefact 150
    >>> acc = np.stack([0.5 * np.sin(2 * np.pi * 2.5 * t), 0 * t, 0 * t])
    >>> grid, s = suppressed_spectra(np.concatenate([ppg[None], acc])[None], 32.0)
    >>> float(grid[np.argmax(s[0])])
    71.25
    """
    grid, s = baseline_spectra(x, sample_rate, spec_params)
    out = np.empty((len(s), s.shape[-1]), np.float32)
    ms = MotionSuppressor(params.motion)
    if rec is None or t_s is None:
        for i in range(len(s)):
            ms.reset()
            out[i] = ms.step(s[i, 0], s[i, 1:])
        return grid, out
    for seg in recording_segments(rec, t_s, hop_s):
        ms.reset()
        for i in seg:
            out[i] = ms.step(s[i, 0], s[i, 1:])
    return grid, out


def time_domain_bpm(ppg: np.ndarray, sample_rate: float) -> float:
    """``60 / mean(IBI)`` from beats on the band-passed PPG (NaN if too few or too irregular).

    Examples
    --------
    >>> t = np.arange(256) / 32.0
    >>> abs(time_domain_bpm(np.sin(2 * np.pi * 1.25 * t), 32.0) - 75.0) < 0.5  # 75 BPM, beats on a 32 Hz grid
    True
    """
    y = butter_filter(ppg, sample_rate=sample_rate,
                      params=ButterworthParams(kind="bandpass", order=2, cutoff_hz=(0.5, 4.0), zero_phase=True))
    peaks = detect_peaks(y, sample_rate=sample_rate,
                         params=PeakParams(min_distance_s=60.0 / 210.0, threshold_mode="adaptive",
                                           adaptive_factor=0.4, adaptive_window_s=2.0))
    if len(peaks) < 4:
        return float("nan")
    ibi = np.diff(peaks) / sample_rate
    med = np.median(ibi)
    ok = np.abs(ibi - med) <= 0.25 * med
    if ok.sum() < 3:
        return float("nan")
    return float(60.0 / ibi[ok].mean())


def dsp_estimates(x: np.ndarray, *, sample_rate: float, rec: np.ndarray, t_s: np.ndarray, hop_s: float = 2.0,
                  params: DspParams = DspParams()) -> np.ndarray:
    """The full baseline on windows ``x`` [shape=(n, 4, samples)] -> BPM [shape=(n,)].

    ``rec`` and ``t_s`` (recording index and window start per window: the ``meta``
    columns of the PPG datasets) give the time order the motion stage and the tracker follow.
    """
    grid, s = baseline_spectra(x, sample_rate)
    est = np.zeros(len(x), np.float64)
    tracker = HrTracker(grid, params.tracking)
    ms = MotionSuppressor(params.motion)
    motion = x[:, 1:].std(axis=-1).mean(axis=-1)
    acc = s[:, 1:].max(axis=1)
    for seg in recording_segments(rec, t_s, hop_s):
        tracker.reset()
        ms.reset()
        for i in seg:
            e = tracker.step(ms.step(s[i, 0], s[i, 1:]), acc[i])
            if params.clean_motion_g > 0 and motion[i] < params.clean_motion_g:
                td = time_domain_bpm(x[i, 0], sample_rate)
                if np.isfinite(td) and abs(td - e) <= params.td_agree_bpm:
                    e = td
            est[i] = e
    return est
