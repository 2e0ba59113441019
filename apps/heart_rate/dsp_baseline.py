"""The classic DSP baseline: spectral peak tracking with accelerometer-aware motion suppression.

No learning. Per 8 s window, in time order per recording:

1. **Spectra** (:func:`tinyml_suite.common.features.ppg.ppg_spectra`): the PPG and the
   three ACC axes, mean removed, Hann-windowed, zero-padded to 1024 points (1.875 BPM
   bins at 32 Hz), over 0.5-4 Hz; the PPG normalised to its maximum, the ACC against an
   absolute floor (a still wrist suppresses nothing).
2. **Motion suppression**: the PPG spectrum is multiplied by
   ``max(1 - suppression * A(f), floor)``, ``A(f)`` the largest normalised ACC axis
   spectrum, widened by a running maximum over +- ``acc_spread_bins`` bins: where the
   wrist moves (arm swing, step cadence, their harmonics), the PPG loses weight.
3. **Tracking prior** (:class:`~tinyml_suite.apps.heart_rate.postprocess.HrTracker`): a
   causal HMM forward filter over the BPM grid, emission = the suppressed spectrum, the
   estimate refined to the parabolic peak nearest the posterior maximum.
4. **Time-domain beats for clean windows**: when the ACC is quiet (mean axis std below
   ``clean_motion_g``), beats are detected on the zero-phase band-passed PPG
   (:func:`tinyml_suite.common.dsp.detect_peaks`, adaptive threshold, refractory
   period) and ``60 / mean(inter-beat interval)`` - what the ECG reference measures -
   replaces the spectral estimate when the two agree within ``td_agree_bpm``.

Every signal step is a :mod:`tinyml_suite.common.dsp` block.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.ndimage

from tinyml_suite.apps.heart_rate.postprocess import HrTracker, TrackParams, recording_segments
from tinyml_suite.common.dsp import ButterworthParams, PeakParams, butter_filter, detect_peaks
from tinyml_suite.common.dsp._checks import check_float, check_int
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features.ppg import PpgSpectrumParams, ppg_spectra

__all__ = ["DspParams", "suppressed_spectra", "time_domain_bpm", "dsp_estimates", "dsp_params_from"]


@dataclass(kw_only=True, frozen=True)
class DspParams:
    """Parameters of the DSP baseline (see the module docstring).

    Attributes
    ----------
    suppression : float
        Weight of the ACC spectrum in the motion suppression, 0 (off) .. 1.
    floor : float
        Smallest suppression factor (0..1).
    acc_spread_bins : int
        Half-width of the running maximum that widens the ACC spectrum (bins).
    clean_motion_g : float
        Mean ACC axis std (g) below which a window counts as clean; 0 disables step 4.
    td_agree_bpm : float
        Largest spectral / time-domain disagreement for step 4 to apply (BPM).
    tracking : TrackParams
        The tracking prior (step 3).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "HRDSP"

    suppression: float = 0.9
    floor: float = 0.05
    acc_spread_bins: int = 2
    clean_motion_g: float = 0.04
    td_agree_bpm: float = 8.0
    tracking: TrackParams = field(default_factory=TrackParams)

    def __post_init__(self) -> None:
        check_float("suppression", self.suppression, lo=0.0, hi=1.0)
        check_float("floor", self.floor, lo=0.0, hi=1.0)
        check_int("acc_spread_bins", self.acc_spread_bins, lo=0)
        check_float("clean_motion_g", self.clean_motion_g, lo=0.0)
        check_float("td_agree_bpm", self.td_agree_bpm, lo=0.0)
        if not isinstance(self.tracking, TrackParams):
            raise ConfigError(f"tracking={self.tracking!r} must be a TrackParams")


def dsp_params_from(options: dict[str, Any] | None) -> DspParams:
    """A :class:`DspParams` from a config mapping (``tracking`` nested), one-line errors.

    Examples
    --------
    >>> dsp_params_from({"suppression": 0.5, "tracking": {"gamma": 1.0}}).tracking.gamma
    1.0
    >>> dsp_params_from({"supression": 0.5})
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: app.dsp_baseline.supression is not a parameter; valid: acc_spread_bins, clean_motion_g, floor, suppression, td_agree_bpm, tracking
    """
    opts = dict(options or {})
    valid = {f.name for f in dataclasses.fields(DspParams)}
    unknown = sorted(set(opts) - valid)
    if unknown:
        raise ConfigError(f"app.dsp_baseline.{unknown[0]} is not a parameter; valid: {', '.join(sorted(valid))}")
    from tinyml_suite.apps.heart_rate.postprocess import params_from

    tracking = params_from(opts.pop("tracking", None))
    return DspParams(tracking=tracking, **opts)


def suppressed_spectra(x: np.ndarray, sample_rate: float, params: DspParams = DspParams(),
                       spec_params: PpgSpectrumParams = PpgSpectrumParams(compress="linear")) -> tuple[np.ndarray, np.ndarray]:
    """``(grid_bpm [n_bins], spectra [n, n_bins])``: steps 1-2 on windows ``x`` (n, 4, samples).

    Examples
    --------
    >>> t = np.arange(256) / 32.0
    >>> ppg = np.sin(2 * np.pi * 1.2 * t) + 2 * np.sin(2 * np.pi * 2.5 * t)  # HR 72 + artefact 150
    >>> acc = np.stack([0.5 * np.sin(2 * np.pi * 2.5 * t), 0 * t, 0 * t])
    >>> grid, s = suppressed_spectra(np.concatenate([ppg[None], acc])[None], 32.0)
    >>> float(grid[np.argmax(s[0])])
    71.25
    """
    freqs, s = ppg_spectra(x, sample_rate=sample_rate, params=spec_params)
    acc = s[:, 1:].max(axis=1)
    if params.acc_spread_bins:
        acc = scipy.ndimage.maximum_filter1d(acc, size=2 * params.acc_spread_bins + 1, axis=-1, mode="nearest")
    weight = np.maximum(1.0 - params.suppression * acc, params.floor).astype(np.float32)
    return (freqs * np.float32(60.0)).astype(np.float32), (s[:, 0] * weight).astype(np.float32)


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
    columns of the PPG datasets) give the time order the tracker follows.
    """
    grid, spec = suppressed_spectra(x, sample_rate, params)
    est = np.zeros(len(x), np.float64)
    tracker = HrTracker(grid, params.tracking)
    motion = x[:, 1:].std(axis=-1).mean(axis=-1)
    for seg in recording_segments(rec, t_s, hop_s):
        tracker.reset()
        for i in seg:
            e = tracker.step(spec[i])
            if params.clean_motion_g > 0 and motion[i] < params.clean_motion_g:
                td = time_domain_bpm(x[i, 0], sample_rate)
                if np.isfinite(td) and abs(td - e) <= params.td_agree_bpm:
                    e = td
            est[i] = e
    return est
