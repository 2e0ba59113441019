"""Peak detection with a refractory period and an absolute or adaptive threshold.

The algorithm is causal, so the firmware runs it sample by sample
(``firmware_templates/dsp/tm_peaks.{h,c}``, output delayed by about the refractory
period) and finds exactly the peaks this batch function finds:

1. **Local maxima** as in :func:`scipy.signal.find_peaks`: a sample, or a flat run of
   equal samples, higher than the sample before and the sample after; the peak of a
   flat run is its middle sample ``(first + last) // 2``. The first and last samples
   are never peaks.
2. **Threshold** (``threshold_mode``): ``'none'``; ``'absolute'``: the peak value must be
   ``>= threshold``; ``'adaptive'``: it must be ``>= adaptive_factor * M``, where ``M``
   is the maximum of the ``adaptive_window_s`` seconds of signal ending at the peak
   (for a flat run: ending at its first sample), computed in float32.
3. **Refractory period** of ``d = max(1, round(min_distance_s * sample_rate))``
   samples, applied greedily in time order: a peak closer than ``d`` samples to the
   currently kept peak replaces it if strictly higher and is dropped otherwise (ties
   keep the earlier peak); a peak ``d`` or more samples after it is kept.

Relation to ``scipy.signal.find_peaks(x, height=threshold, distance=d)``: the kept
peaks are the same whenever no three candidate peaks form a rising chain
``a < b < c`` with ``b - a < d``, ``c - b < d`` and ``c - a >= d`` (scipy's global
height-order rule would keep ``a`` and ``c``; a causal detector cannot know that ``a``
survives without unbounded delay, and keeps only ``c``). In every case, kept peaks are
at least ``d`` samples apart and every dropped candidate has a candidate at least as
high within ``d`` samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.ndimage

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float
from tinyml_suite.common.errors import ConfigError

__all__ = ["PeakParams", "detect_peaks", "local_maxima"]


@dataclass(kw_only=True, frozen=True)
class PeakParams:
    """Options of :func:`detect_peaks`.

    Attributes
    ----------
    min_distance_s : float
        Refractory period in seconds (>= 0); peaks closer than this compete.
    threshold_mode : {'none', 'absolute', 'adaptive'}
        How candidate peaks are thresholded (see the module docstring).
    threshold : float
        Minimum peak value for ``'absolute'`` (signal units).
    adaptive_factor : float
        Fraction of the recent maximum a peak must reach for ``'adaptive'`` (0..1].
    adaptive_window_s : float
        Length of the recent-maximum window in seconds for ``'adaptive'`` (> 0).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "PEAKS"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "threshold_mode": {"none": 0, "absolute": 1, "adaptive": 2}
    }

    min_distance_s: float = 0.3
    threshold_mode: str = "absolute"
    threshold: float = 0.0
    adaptive_factor: float = 0.5
    adaptive_window_s: float = 2.0

    def __post_init__(self) -> None:
        check_float("min_distance_s", self.min_distance_s, lo=0.0)
        check_choice("threshold_mode", self.threshold_mode, ("none", "absolute", "adaptive"))
        check_float("threshold", self.threshold)
        check_float("adaptive_factor", self.adaptive_factor, lo=0.0, hi=1.0, lo_open=True)
        check_float("adaptive_window_s", self.adaptive_window_s, lo=0.0, lo_open=True)

    def distance_samples(self, sample_rate: float) -> int:
        """Refractory period in samples, ``max(1, round(min_distance_s * sample_rate))``."""
        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        return max(1, round(self.min_distance_s * fs))

    def window_samples(self, sample_rate: float) -> int:
        """Adaptive window in samples, ``max(1, round(adaptive_window_s * sample_rate))``."""
        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        return max(1, round(self.adaptive_window_s * fs))

    def c_defines(self, *, sample_rate: float) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h``.

        Adds ``PEAKS_MIN_DISTANCE`` and ``PEAKS_WINDOW`` (samples) at ``sample_rate``.
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        out = params_defines(self)
        out["PEAKS_SAMPLE_RATE"] = float(sample_rate)
        out["PEAKS_MIN_DISTANCE"] = self.distance_samples(sample_rate)
        out["PEAKS_WINDOW"] = self.window_samples(sample_rate)
        return out


def local_maxima(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peaks and flat-run starts of the local maxima of a 1-D array (scipy's definition).

    Returns
    -------
    peaks : np.ndarray [shape=(n_peaks,), dtype=int64]
        Middle sample of each maximal run, ``(first + last) // 2``.
    starts : np.ndarray [shape=(n_peaks,), dtype=int64]
        First sample of each run.

    Examples
    --------
    >>> local_maxima(np.array([0, 2, 2, 2, 1, 3, 0, 4, 4]))
    (array([2, 5]), array([1, 5]))
    """
    x = np.asarray(x)
    n = x.shape[-1]
    bound = np.flatnonzero(x[1:] != x[:-1]) + 1
    starts = np.concatenate([[0], bound])
    ends = np.concatenate([bound - 1, [n - 1]])
    vals = x[starts]
    if starts.size < 3:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    mid = (vals[1:-1] > vals[:-2]) & (vals[1:-1] > vals[2:])
    s = starts[1:-1][mid]
    e = ends[1:-1][mid]
    return ((s + e) // 2).astype(np.int64), s.astype(np.int64)


def detect_peaks(signal: np.ndarray, *, sample_rate: float, params: PeakParams = PeakParams()) -> np.ndarray:
    """Indices of the peaks of a 1-D signal (refractory period, threshold).

    Parameters
    ----------
    signal : np.ndarray [shape=(n,)]
        One real signal (e.g. a band-passed PPG or ECG); batch by looping, since each
        signal has its own number of peaks.
    sample_rate : float > 0
        Sample rate in Hz (turns the seconds in ``params`` into samples).
    params : PeakParams
        Refractory period and threshold.

    Returns
    -------
    peaks : np.ndarray [shape=(n_peaks,), dtype=int64]
        Increasing sample indices.

    Examples
    --------
    >>> x = np.zeros(100); x[[10, 14, 40, 70]] = [1.0, 2.0, 1.5, 0.2]
    >>> detect_peaks(x, sample_rate=100.0, params=PeakParams(min_distance_s=0.1, threshold=0.5))
    array([14, 40])
    """
    if not isinstance(params, PeakParams):
        raise ConfigError(f"params={params!r} must be a PeakParams")
    x = as_signal(signal)
    if x.ndim != 1:
        raise ConfigError(
            f"signal has shape {x.shape}; detect_peaks takes one 1-D signal (loop over a batch)"
        )
    d = params.distance_samples(sample_rate)
    peaks, starts = local_maxima(x)
    vals = x[peaks]
    if params.threshold_mode == "absolute":
        keep = vals >= np.float32(params.threshold)
    elif params.threshold_mode == "adaptive":
        w = params.window_samples(sample_rate)
        # Trailing moving maximum: window [i - w + 1, i] ('nearest' repeats x[0], which
        # the window holds anyway).
        mmax = scipy.ndimage.maximum_filter1d(x, size=w, mode="nearest", origin=(w - 1) // 2)
        thr = np.float32(params.adaptive_factor) * mmax[starts]
        keep = vals >= thr
    else:
        keep = np.ones(peaks.shape, dtype=bool)
    peaks, vals = peaks[keep], vals[keep]
    out: list[int] = []
    pending, pending_val = -1, 0.0
    for p, v in zip(peaks.tolist(), vals.tolist()):
        if pending >= 0 and p - pending < d:
            if v > pending_val:
                pending, pending_val = p, v
        else:
            if pending >= 0:
                out.append(pending)
            pending, pending_val = p, v
    if pending >= 0:
        out.append(pending)
    return np.asarray(out, dtype=np.int64)
