"""Pan-Tompkins R-peak detection (the decision stage), HR per window and HRV.

The signal stages are :func:`tinyml_suite.common.dsp.qrs.pan_tompkins` (the ``ecg_qrs``
features: ``hp`` = high-passed ECG, ``bp`` = QRS band-pass, ``mwi`` = moving-window
integral of the squared derivative). The decision stage follows Pan & Tompkins (1985)
on the integrated signal:

1. **Candidates**: peaks of ``mwi`` at least ``refractory_s`` apart
   (:func:`tinyml_suite.common.dsp.detect_peaks`, no threshold).
2. **Learning**: over the first ``learn_s`` seconds, the signal level
   ``SPKI = spk_init * max(mwi)`` and the noise level ``NPKI = npk_init * mean(mwi)``.
3. **Thresholds**: ``THR1 = NPKI + 0.25 (SPKI - NPKI)``, ``THR2 = 0.5 THR1``. A candidate
   at or above ``THR1`` is a QRS (``SPKI <- 0.125 v + 0.875 SPKI``), unless it comes within
   ``t_wave_s`` of the previous QRS with a maximal band-pass slope below
   ``t_slope_ratio`` times that QRS's slope: a T wave, counted as noise. A candidate
   below ``THR1`` is noise (``NPKI <- 0.125 v + 0.875 NPKI``).
4. **Search-back**: when a new candidate arrives more than ``searchback`` x the mean of
   the last 8 RR intervals after the last QRS, the highest noise candidate above
   ``THR2`` since then (and at least ``refractory_s`` after it) becomes a QRS
   (``SPKI <- 0.25 v + 0.75 SPKI``).
5. **R apex**: the sample of largest ``|hp|`` in the ``r_search_s`` seconds ending
   ``r_lag_s`` seconds before the ``mwi`` peak (the integral peaks after the QRS).

Everything is causal with a bounded delay, so the device runs the same logic sample by
sample (``firmware_templates/apps/heart_rate/ecg_beats.c``), held to this code by a
parity test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.apps.heart_rate.metrics import beat_metrics, hr_metrics, hrv_metrics
from tinyml_suite.common.dsp import PeakParams, detect_peaks
from tinyml_suite.common.dsp._checks import check_float
from tinyml_suite.common.errors import ConfigError

__all__ = ["QrsDetectorParams", "detect_qrs", "window_hr", "score_records",
           "detector_c_context", "detector_ram_bytes"]


@dataclass(kw_only=True, frozen=True)
class QrsDetectorParams:
    """Decision-stage parameters (see the module docstring); times in seconds."""

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "QRSDET"

    refractory_s: float = 0.2
    learn_s: float = 2.0
    spk_init: float = 0.25
    npk_init: float = 0.5
    t_wave_s: float = 0.36
    t_slope_ratio: float = 0.5
    searchback: float = 1.66
    rr_init_s: float = 0.8
    r_search_s: float = 0.25
    r_lag_s: float = 0.0
    irregular_low: float = 0.92
    irregular_high: float = 1.16
    irregular_factor: float = 0.5

    def __post_init__(self) -> None:
        check_float("refractory_s", self.refractory_s, lo=0.05, hi=1.0)
        check_float("learn_s", self.learn_s, lo=0.5, hi=30.0)
        check_float("spk_init", self.spk_init, lo=0.0, hi=1.0, lo_open=True)
        check_float("npk_init", self.npk_init, lo=0.0, hi=2.0)
        check_float("t_wave_s", self.t_wave_s, lo=0.0, hi=1.0)
        check_float("t_slope_ratio", self.t_slope_ratio, lo=0.0, hi=1.0)
        check_float("searchback", self.searchback, lo=1.0, hi=5.0)
        check_float("rr_init_s", self.rr_init_s, lo=0.2, hi=3.0)
        check_float("r_search_s", self.r_search_s, lo=0.01, hi=1.0)
        check_float("r_lag_s", self.r_lag_s, lo=0.0, hi=0.5)
        check_float("irregular_low", self.irregular_low, lo=0.0, hi=1.0)
        check_float("irregular_high", self.irregular_high, lo=1.0)
        check_float("irregular_factor", self.irregular_factor, lo=0.0, hi=1.0, lo_open=True)


def _n(seconds: float, fs: float) -> int:
    return max(1, int(round(seconds * fs)))


def detect_qrs(features: np.ndarray, *, sample_rate: float, params: QrsDetectorParams = QrsDetectorParams(),
               n_int: int | None = None) -> np.ndarray:
    """R-peak sample indices from the ``ecg_qrs`` features of one record.

    Parameters
    ----------
    features : np.ndarray [shape=(3, n)]
        ``hp``, ``bp``, ``mwi`` rows (:func:`tinyml_suite.common.dsp.qrs.pan_tompkins`).
    sample_rate : float
        Hz.
    params : QrsDetectorParams
    n_int : int, optional
        Samples of the moving-window integral (default: 150 ms), the window in which the
        band-pass slope of a candidate is measured.

    Returns
    -------
    np.ndarray [shape=(n_beats,), int64], increasing.

    Examples
    --------
    >>> from tinyml_suite.common.dsp.qrs import pan_tompkins
    >>> from tinyml_suite.datasets.synthetic.ecg import simulate_ecg
    >>> r = simulate_ecg(30.0, rng=1, pvc_rate=0.0)
    >>> det = detect_qrs(pan_tompkins(r.ecg, sample_rate=360.0), sample_rate=360.0)
    >>> len(det) == len(r.beats) and bool(np.all(np.abs(det - r.beats) <= 5))
    True
    """
    f = np.asarray(features, np.float32)
    if f.ndim != 2 or f.shape[0] != 3:
        raise ConfigError(f"features have shape {f.shape}; detect_qrs takes the (3, n) ecg_qrs rows of one record")
    fs = float(sample_rate)
    p = params
    hp, bp, mwi = f[0], f[1], f[2]
    n = mwi.shape[0]
    n_int = n_int or _n(0.15, fs)
    learn = min(n, _n(p.learn_s, fs))
    if n < 3:
        return np.zeros(0, np.int64)
    cands = detect_peaks(mwi, sample_rate=fs, params=PeakParams(min_distance_s=p.refractory_s, threshold_mode="none"))
    slope = np.abs(np.diff(bp, prepend=bp[:1]))
    spki = np.float32(p.spk_init) * np.float32(mwi[:learn].max())
    npki = np.float32(p.npk_init) * np.float32(mwi[:learn].astype(np.float64).mean())
    refr = _n(p.refractory_s, fs)
    t_wave = _n(p.t_wave_s, fs)
    rr_hist: list[int] = []
    rr_init = _n(p.rr_init_s, fs)
    last_qrs = -1
    last_slope = np.float32(0.0)
    best_idx, best_val = -1, np.float32(0.0)  # search-back candidate since the last QRS
    qrs: list[int] = []

    # the device holds these as float32 constants: compare with the same values
    irr_lo, irr_hi = float(np.float32(p.irregular_low)), float(np.float32(p.irregular_high))
    searchback = float(np.float32(p.searchback))

    def thr1() -> np.float32:
        t = np.float32(npki + np.float32(0.25) * (spki - npki))
        if len(rr_hist) >= 2:
            avg = sum(rr_hist) / len(rr_hist)
            if not irr_lo * avg <= rr_hist[-1] <= irr_hi * avg:
                t = np.float32(t * np.float32(p.irregular_factor))
        return t

    def accept(idx: int, value: np.float32, factor: float) -> None:
        nonlocal spki, last_qrs, last_slope, best_idx, best_val
        spki = np.float32(np.float32(factor) * value + np.float32(1.0 - factor) * spki)
        if last_qrs >= 0:
            rr_hist.append(idx - last_qrs)
            del rr_hist[:-8]
        last_qrs = idx
        last_slope = np.float32(slope[max(0, idx - n_int) : idx + 1].max())
        qrs.append(idx)
        best_idx, best_val = -1, np.float32(0.0)

    for c in cands.tolist():
        v = np.float32(mwi[c])
        # search-back before handling the new candidate
        rr_avg = (sum(rr_hist) / len(rr_hist)) if rr_hist else float(rr_init)
        if last_qrs >= 0 and c - last_qrs > searchback * rr_avg and best_idx >= 0 and best_val >= np.float32(0.5) * thr1():
            accept(best_idx, best_val, 0.25)
        t1 = thr1()
        if v >= t1:
            s = np.float32(slope[max(0, c - n_int) : c + 1].max())
            if last_qrs >= 0 and c - last_qrs < t_wave and s < np.float32(p.t_slope_ratio) * last_slope:
                npki = np.float32(np.float32(0.125) * v + np.float32(0.875) * npki)
                continue
            accept(c, v, 0.125)
        else:
            npki = np.float32(np.float32(0.125) * v + np.float32(0.875) * npki)
            if (last_qrs < 0 or c - last_qrs >= refr) and v > best_val:
                best_idx, best_val = c, v
    # R apex on the high-passed ECG
    lag, width = int(round(p.r_lag_s * fs)), _n(p.r_search_s, fs)
    out = []
    for q in qrs:
        b = max(0, q - lag + 1)
        a = max(0, b - width)
        if b <= a:
            continue
        out.append(a + int(np.argmax(np.abs(hp[a:b]))))
    out_arr = np.unique(np.asarray(out, np.int64))
    return out_arr


def window_hr(beats: np.ndarray, n_samples: int, sample_rate: float, window_s: float = 8.0, hop_s: float = 2.0) -> np.ndarray:
    """HR per window (``60 / mean RR`` of the beats inside; NaN with fewer than 2 beats).

    Examples
    --------
    >>> window_hr(np.arange(0, 3600, 360), 3600, 360.0).round(1).tolist()  # 10 s: windows at 0 and 2 s
    [60.0, 60.0]
    """
    from tinyml_suite.datasets.synthetic.ppg import window_reference_bpm

    fs = float(sample_rate)
    n_win = 0 if n_samples < window_s * fs else 1 + int((n_samples / fs - window_s) // hop_s)
    return window_reference_bpm(np.asarray(beats, np.float64) / fs, np.arange(n_win) * hop_s, window_s)


def _outside(idx: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    keep = np.ones(len(idx), bool)
    for a, b in np.asarray(intervals, np.int64).reshape(-1, 2):
        keep &= ~((idx >= a) & (idx < b))
    return np.asarray(idx)[keep]


def score_records(refs: list[tuple[np.ndarray, np.ndarray]], dets: list[np.ndarray], names: Any, n_samples: Any, *,
                  sample_rate: float, tol_s: float = 0.15, edge_s: float = 0.0, window_s: float = 8.0,
                  hop_s: float = 2.0, exclude: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Beat-by-beat Se/PPV (gross over all beats, and per record), HR per window, HRV.

    ``edge_s`` seconds at each end of a record, and the ``exclude`` intervals of each
    record (ventricular flutter episodes), are left out of the beat comparison; ``se_all``
    and ``ppv_all`` are the figures without the ``exclude`` intervals removed.
    Returns ``mae_bpm`` (HR per window from detected vs annotated beats), ``se``,
    ``ppv``, ``tp``/``fn``/``fp``, ``per_record`` and ``hrv`` (detected vs reference).
    """
    fs = float(sample_rate)
    tp = fn = fp = 0
    tp_all = fn_all = fp_all = 0
    per: dict[str, Any] = {}
    est_all, ref_all, grp = [], [], []
    hrv_rows = {}
    exclude = exclude if exclude is not None else [np.zeros((0, 2), np.int64)] * len(dets)
    for (ref, _sym), det, name, n, ex in zip(refs, dets, list(names), list(n_samples), exclude):
        n = int(n)
        start, stop = int(round(edge_s * fs)), n - int(round(edge_s * fs))
        m_all = beat_metrics(ref, det, sample_rate=fs, tol_s=tol_s, start=start, stop=stop)
        tp_all, fn_all, fp_all = tp_all + m_all["tp"], fn_all + m_all["fn"], fp_all + m_all["fp"]
        m = beat_metrics(_outside(ref, ex), _outside(det, ex), sample_rate=fs, tol_s=tol_s, start=start, stop=stop)
        m["excluded_s"] = float(sum(int(b) - int(a) for a, b in np.asarray(ex).reshape(-1, 2)) / fs)
        tp, fn, fp = tp + m["tp"], fn + m["fn"], fp + m["fp"]
        per[str(name)] = m
        r_hr = window_hr(ref, n, fs, window_s, hop_s)
        d_hr = window_hr(det, n, fs, window_s, hop_s)
        ok = np.isfinite(r_hr)
        d_hr = np.where(np.isfinite(d_hr), d_hr, 0.0)
        est_all.append(d_hr[ok])
        ref_all.append(r_hr[ok])
        grp.append(np.full(int(ok.sum()), str(name)))
        hr_ref, hr_det = hrv_metrics(ref, sample_rate=fs), hrv_metrics(det, sample_rate=fs)
        hrv_rows[str(name)] = {k: {"reference": hr_ref[k], "detected": hr_det[k]} for k in ("mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct")}
    hr = hr_metrics(np.concatenate(est_all), np.concatenate(ref_all), np.concatenate(grp)) if est_all else {}
    out = {
        "mae_bpm": hr.get("mae_bpm", float("nan")),
        "rmse_bpm": hr.get("rmse_bpm", float("nan")),
        "se": tp / (tp + fn) if tp + fn else float("nan"),
        "ppv": tp / (tp + fp) if tp + fp else float("nan"),
        "tp": tp, "fn": fn, "fp": fp,
        "se_all": tp_all / (tp_all + fn_all) if tp_all + fn_all else float("nan"),
        "ppv_all": tp_all / (tp_all + fp_all) if tp_all + fp_all else float("nan"),
        "excluded_s": float(sum(v["excluded_s"] for v in per.values())),
        "tolerance_s": tol_s,
        "exclude_edges_s": edge_s,
        "n_records": len(per),
        "per_record": per,
        "hrv": hrv_rows,
    }
    if hrv_rows:
        errs = {k: float(np.nanmean([abs(v[k]["detected"] - v[k]["reference"]) for v in hrv_rows.values()]))
                for k in ("mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct")}
        out["hrv_mean_abs_error"] = errs
    return out


def detector_c_context(params: QrsDetectorParams, sample_rate: float) -> dict[str, Any]:
    """The detector's constants for ``app_settings.h`` (samples at ``sample_rate``)."""
    fs = float(sample_rate)
    return {
        "qrs_refractory": _n(params.refractory_s, fs),
        "qrs_learn": _n(params.learn_s, fs),
        "qrs_spk_init": params.spk_init,
        "qrs_npk_init": params.npk_init,
        "qrs_t_wave": _n(params.t_wave_s, fs),
        "qrs_t_slope_ratio": params.t_slope_ratio,
        "qrs_searchback": params.searchback,
        "qrs_rr_init": _n(params.rr_init_s, fs),
        "qrs_r_search": _n(params.r_search_s, fs),
        "qrs_r_lag": int(round(params.r_lag_s * fs)),
        "qrs_n_int": _n(0.15, fs),
        "qrs_irregular_low": params.irregular_low,
        "qrs_irregular_high": params.irregular_high,
        "qrs_irregular_factor": params.irregular_factor,
        "qrs_ring": qrs_ring_samples(params, fs),
        "qrs_sample_rate": fs,
    }


def qrs_ring_samples(params: QrsDetectorParams, sample_rate: float) -> int:
    """Look-back the device keeps (hp, slope, mwi): the R search window and the slope window
    behind a candidate, plus up to 1 s between a candidate and its confirmation."""
    fs = float(sample_rate)
    return max(_n(0.15, fs), _n(params.r_search_s, fs) + int(round(params.r_lag_s * fs))) + _n(1.0, fs)


def detector_ram_bytes(params: QrsDetectorParams, sample_rate: float) -> int:
    """Static RAM of the device detector: three look-back rings (hp, slope, mwi), the
    candidate queue, the tm_peaks and Pan-Tompkins state (a generous 512 bytes)."""
    return 12 * qrs_ring_samples(params, sample_rate) + 512
