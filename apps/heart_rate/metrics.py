"""Heart-rate metrics: per-window MAE/RMSE (overall and per subject), Bland-Altman, beat matching, HRV.

Conventions (SPC 2015 / PPG-DaLiA practice): one estimate per 8 s window, windows every
2 s; errors in BPM against the ECG-derived reference of the same window. R-peak
detection is scored beat by beat: a detection matches an annotated beat when it lies
within the tolerance (150 ms) and each annotation matches at most one detection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = ["hr_metrics", "bland_altman", "match_beats", "beat_metrics", "hrv_metrics"]


def bland_altman(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Bias (mean of pred - ref) and 95 % limits of agreement (bias +- 1.96 SD).

    Examples
    --------
    >>> r = bland_altman(np.array([61.0, 79.0, 101.0]), np.array([60.0, 80.0, 100.0]))
    >>> round(r["bias_bpm"], 3), round(r["sd_bpm"], 3)
    (0.333, 1.155)
    """
    d = np.asarray(pred, np.float64) - np.asarray(ref, np.float64)
    if d.size == 0:
        return {"bias_bpm": float("nan"), "sd_bpm": float("nan"), "loa_low_bpm": float("nan"), "loa_high_bpm": float("nan")}
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    return {"bias_bpm": bias, "sd_bpm": sd, "loa_low_bpm": bias - 1.96 * sd, "loa_high_bpm": bias + 1.96 * sd}


def hr_metrics(pred: np.ndarray, ref: np.ndarray, groups: np.ndarray | None = None) -> dict[str, Any]:
    """MAE, RMSE, Bland-Altman and per-group (subject) figures of per-window HR estimates.

    Parameters
    ----------
    pred, ref : [shape=(n,)] estimated and reference heart rate, BPM
    groups : [shape=(n,)] optional subject id per window

    Returns
    -------
    dict with ``mae_bpm``, ``rmse_bpm``, ``mape_pct``, ``within_5bpm`` (fraction of windows
    with an error <= 5 BPM), Bland-Altman keys, ``n``, and ``per_subject``
    ({id: {mae_bpm, rmse_bpm, n}}) plus ``mae_subject_mean_bpm`` (mean of per-subject MAEs,
    the leave-one-subject-out summary) when ``groups`` is given.

    Examples
    --------
    >>> m = hr_metrics(np.array([60.0, 82.0, 100.0, 95.0]), np.array([62.0, 80.0, 100.0, 100.0]),
    ...                np.array(["a", "a", "b", "b"]))
    >>> m["mae_bpm"], round(m["rmse_bpm"], 4), m["per_subject"]["b"]["mae_bpm"], m["mae_subject_mean_bpm"]
    (2.25, 2.8723, 2.5, 2.25)
    """
    p = np.asarray(pred, np.float64).reshape(-1)
    r = np.asarray(ref, np.float64).reshape(-1)
    if p.shape != r.shape:
        raise ConfigError(f"pred has {p.size} values but ref has {r.size}; one estimate per window is needed")
    if not np.all(np.isfinite(p)):
        raise ConfigError(f"pred holds {int((~np.isfinite(p)).sum())} non-finite heart rate(s); the estimator must always output a number")
    err = p - r
    out: dict[str, Any] = {
        "mae_bpm": float(np.mean(np.abs(err))) if err.size else float("nan"),
        "rmse_bpm": float(np.sqrt(np.mean(err**2))) if err.size else float("nan"),
        "mape_pct": float(np.mean(np.abs(err) / np.maximum(r, 1e-9)) * 100) if err.size else float("nan"),
        "within_5bpm": float(np.mean(np.abs(err) <= 5.0)) if err.size else float("nan"),
        "n": int(err.size),
    }
    out.update(bland_altman(p, r))
    if groups is not None and err.size:
        g = np.asarray(groups).astype(str)
        per = {}
        for s in sorted(set(g.tolist())):
            m = g == s
            per[s] = {"mae_bpm": float(np.mean(np.abs(err[m]))), "rmse_bpm": float(np.sqrt(np.mean(err[m] ** 2))),
                      "n": int(m.sum())}
        out["per_subject"] = per
        out["mae_subject_mean_bpm"] = float(np.mean([v["mae_bpm"] for v in per.values()]))
    return out


def match_beats(ref: np.ndarray, det: np.ndarray, tol: int) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detected to reference beats within ``tol`` samples.

    Greedy in time (both lists sorted): each reference beat takes the nearest unmatched
    detection within ``tol``; the standard beat-by-beat comparison (ANSI/AAMI EC57
    uses a 150 ms window).

    Returns
    -------
    ref_matched : [shape=(n_ref,), bool]
    det_matched : [shape=(n_det,), bool]

    Examples
    --------
    >>> rm, dm = match_beats(np.array([100, 200, 300]), np.array([105, 190, 260, 420]), tol=20)
    >>> rm.tolist(), dm.tolist()
    ([True, True, False], [True, True, False, False])
    """
    ref = np.sort(np.asarray(ref, np.int64))
    det = np.sort(np.asarray(det, np.int64))
    rm = np.zeros(len(ref), bool)
    dm = np.zeros(len(det), bool)
    j0 = 0
    for i, r in enumerate(ref):
        while j0 < len(det) and det[j0] < r - tol:
            j0 += 1
        best, best_d = -1, tol + 1
        j = j0
        while j < len(det) and det[j] <= r + tol:
            if not dm[j] and abs(int(det[j]) - int(r)) < best_d:
                best, best_d = j, abs(int(det[j]) - int(r))
            j += 1
        if best >= 0:
            dm[best] = True
            rm[i] = True
    return rm, dm


def beat_metrics(ref: np.ndarray, det: np.ndarray, *, sample_rate: float, tol_s: float = 0.15,
                 start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """Sensitivity and positive predictivity of detected beats.

    Only beats in ``[start, stop)`` count on either side (e.g. to exclude the first
    seconds of a record, where a detector is still learning its thresholds).

    Examples
    --------
    >>> beat_metrics(np.array([100, 200, 300]), np.array([105, 190, 260, 420]), sample_rate=100.0, tol_s=0.2)
    {'tp': 2, 'fn': 1, 'fp': 2, 'se': 0.6666666666666666, 'ppv': 0.5}
    """
    ref = np.asarray(ref, np.int64)
    det = np.asarray(det, np.int64)
    stop = np.iinfo(np.int64).max if stop is None else stop
    ref = ref[(ref >= start) & (ref < stop)]
    det = det[(det >= start) & (det < stop)]
    rm, dm = match_beats(ref, det, int(round(tol_s * sample_rate)))
    tp, fn, fp = int(rm.sum()), int((~rm).sum()), int((~dm).sum())
    return {"tp": tp, "fn": fn, "fp": fp,
            "se": tp / (tp + fn) if tp + fn else float("nan"),
            "ppv": tp / (tp + fp) if tp + fp else float("nan")}


def hrv_metrics(beats: np.ndarray, *, sample_rate: float, max_rr_change: float = 0.2) -> dict[str, float]:
    """Time-domain HRV of a beat sequence: mean NN, SDNN, RMSSD (ms), pNN50 (%), mean HR.

    NN intervals are the RR intervals that differ from the previous one by at most
    ``max_rr_change`` (fraction), a simple ectopic/artefact filter (set it to ``inf`` to
    keep all RR intervals).

    Examples
    --------
    >>> b = np.cumsum([0, 250, 260, 240, 250, 300]) # samples at 250 Hz -> RR 1.0, 1.04, ...
    >>> h = hrv_metrics(b, sample_rate=250.0, max_rr_change=1.0)
    >>> round(h["mean_nn_ms"], 1), round(h["rmssd_ms"], 1), h["pnn50_pct"]
    (1040.0, 111.4, 50.0)
    """
    b = np.asarray(beats, np.float64)
    rr = np.diff(b) / float(sample_rate)
    if rr.size >= 2 and np.isfinite(max_rr_change):
        ok = np.ones(rr.size, bool)
        ok[1:] = np.abs(np.diff(rr)) <= max_rr_change * rr[:-1]
        nn = rr[ok]
    else:
        nn = rr
    if nn.size < 2:
        nan = float("nan")
        return {"mean_nn_ms": nan, "sdnn_ms": nan, "rmssd_ms": nan, "pnn50_pct": nan, "mean_hr_bpm": nan, "n_nn": int(nn.size)}
    dnn = np.diff(nn)
    return {
        "mean_nn_ms": float(nn.mean() * 1000),
        "sdnn_ms": float(nn.std(ddof=1) * 1000),
        "rmssd_ms": float(np.sqrt(np.mean(dnn**2)) * 1000),
        "pnn50_pct": float(np.mean(np.abs(dnn) > 0.05) * 100),
        "mean_hr_bpm": float(60.0 / nn.mean()),
        "n_nn": int(nn.size),
    }
