"""Detection metrics shared by the apps: ROC, AUC, partial AUC, thresholds (numpy only).

Convention: ``labels`` are 1 for the positive class (an anomaly, a fault, a keyword)
and 0 for the negative one; ``scores`` are higher for "more positive"; a window is
declared positive when ``score > threshold`` (strictly).

* :func:`roc_curve` - the empirical ROC, one point per distinct score (ties handled as
  one step, as in scikit-learn), from ``(0, 0)`` to ``(1, 1)``.
* :func:`roc_auc` - the area under it, computed as the Mann-Whitney statistic
  ``P(score_pos > score_neg) + 0.5 P(score_pos == score_neg)``, which equals the
  trapezoidal area of :func:`roc_curve` exactly.
* :func:`partial_auc` - the area over ``FPR in [0, max_fpr]`` divided by ``max_fpr``
  (the DCASE / MLPerf Tiny anomaly-detection convention: 1.0 is perfect, a random
  detector scores ``max_fpr / 2``; NOT scikit-learn's McClish-standardised value).
* :func:`threshold_at_fpr` - the threshold that keeps the false-alarm rate on negative
  (normal) scores at or below a target.
* :func:`binary_metrics` - precision, recall, F1 and the false-positive rate at a
  threshold.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = ["binary_metrics", "partial_auc", "roc_auc", "roc_curve", "threshold_at_fpr"]


def _check(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ConfigError(f"labels ({y.size}) and scores ({s.size}) must have the same length")
    if not np.all(np.isfinite(s)):
        raise ConfigError(f"scores contain {int(np.sum(~np.isfinite(s)))} non-finite value(s)")
    yb = y.astype(bool)
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise ConfigError("labels must be 0 (negative/normal) or 1 (positive/anomaly)")
    if yb.all() or not yb.any():
        raise ConfigError(
            f"ROC needs both classes; got {int(yb.sum())} positive and {int((~yb).sum())} negative example(s)"
        )
    return yb, s


def roc_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rate, true-positive rate and thresholds of the empirical ROC.

    Returns
    -------
    fpr, tpr : np.ndarray [shape=(k + 1,)]
        From (0, 0) to (1, 1), one point per distinct score.
    thresholds : np.ndarray [shape=(k + 1,)]
        Point ``i`` is "positive when score >= thresholds[i]"; ``thresholds[0] = inf``.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    distinct = np.flatnonzero(np.diff(s_sorted)) if s.size > 1 else np.zeros(0, dtype=int)
    ends = np.r_[distinct, s.size - 1]
    tps = np.cumsum(y_sorted)[ends]
    fps = (ends + 1) - tps
    tpr = np.r_[0.0, tps / y.sum()]
    fpr = np.r_[0.0, fps / (~y).sum()]
    thr = np.r_[np.inf, s_sorted[ends]]
    return fpr, tpr, thr


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos n_neg), ties count one half).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.5, 0.5])
    0.5
    """
    y, s = _check(labels, scores)
    # average ranks (ties share the mean rank)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    s_sorted = s[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1, s.size]
    for a, b in itertools.pairwise(bounds):
        ranks[order[a:b]] = 0.5 * (a + b - 1) + 1.0
    n_pos = int(y.sum())
    n_neg = s.size - n_pos
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def partial_auc(labels: Any, scores: Any, max_fpr: float = 0.1) -> float:
    """ROC area over ``FPR in [0, max_fpr]``, divided by ``max_fpr`` (DCASE convention).

    The ROC is linearly interpolated at ``max_fpr``.

    Examples
    --------
    >>> partial_auc([0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 4, 5], max_fpr=0.25)
    1.0
    >>> round(partial_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], max_fpr=0.5), 3)
    0.5
    """
    if not 0 < float(max_fpr) <= 1:
        raise ConfigError(f"max_fpr={max_fpr} must be in (0, 1]")
    fpr, tpr, _ = roc_curve(labels, scores)
    # Interpolate tpr at max_fpr on the right-continuous upper envelope of the ROC steps.
    stop = np.searchsorted(fpr, max_fpr, side="right")
    x = np.r_[fpr[:stop], max_fpr]
    if stop < fpr.size and fpr[stop - 1] < max_fpr:
        a, b = stop - 1, stop
        t = (max_fpr - fpr[a]) / (fpr[b] - fpr[a])
        y_end = tpr[a] + t * (tpr[b] - tpr[a])
    else:
        y_end = tpr[stop - 1]
    y = np.r_[tpr[:stop], y_end]
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))
    return area / float(max_fpr)


def threshold_at_fpr(negative_scores: Any, fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``negative_scores`` is <= ``fpr``.

    With ``score > threshold`` as the decision, at most ``floor(fpr * n)`` of the ``n``
    negative scores exceed the returned threshold (the ``floor(fpr * n) + 1``-th largest).

    Examples
    --------
    >>> threshold_at_fpr(np.arange(100.0), 0.05)
    94.0
    >>> threshold_at_fpr([1.0, 2.0, 3.0], 0.0)
    3.0
    """
    s = np.sort(np.asarray(negative_scores, dtype=np.float64).ravel())[::-1]
    if s.size == 0:
        raise ConfigError("threshold_at_fpr needs at least one normal (negative) score")
    if not np.all(np.isfinite(s)):
        raise ConfigError("negative_scores contain non-finite values")
    if not 0 <= float(fpr) < 1:
        raise ConfigError(f"fpr={fpr} must be in [0, 1) (e.g. 0.01 for 1 % false alarms)")
    k = int(np.floor(float(fpr) * s.size + 1e-9))
    return float(s[min(k, s.size - 1)])


def binary_metrics(labels: Any, scores: Any, threshold: float) -> dict[str, float | int]:
    """Counts, precision, recall, F1 and false-positive rate of ``score > threshold``.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.3)
    >>> m["tp"], m["fp"], m["precision"], m["recall"], round(m["f1"], 3)
    (2, 1, 0.6666666666666666, 1.0, 0.8)
    """
    y = np.asarray(labels).ravel().astype(bool)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ConfigError(f"labels ({y.size}) and scores ({s.size}) must have the same length")
    pred = s > float(threshold)
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = int(np.sum(~pred & ~y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "precision": precision, "recall": recall, "f1": f1,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
    }
