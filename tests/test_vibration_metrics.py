"""ROC/AUC/partial AUC/thresholds (common/metrics.py), K-means, the anomaly score and alarm,
and the app's detection tables - against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_suite.apps.vibration_anomaly.app import VibrationAnomalyApp, detection_table
from tinyml_suite.apps.vibration_anomaly.kmeans import KMeans
from tinyml_suite.apps.vibration_anomaly.postprocess import Alarm, alarm_sequence, anomaly_score
from tinyml_suite.common.data import Split
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.metrics import (
    binary_metrics,
    partial_auc,
    roc_auc,
    roc_curve,
    threshold_at_fpr,
)


def test_auc_hand_cases():
    assert roc_auc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert roc_auc([0, 0, 1, 1], [4, 3, 2, 1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [5, 5, 5, 5]) == 0.5
    # 3 negatives, 2 positives: pairs (pos > neg) = 2 + 3, ties (pos 2 == neg 2) count 1/2 -> 5.5 / 6
    assert roc_auc([0, 0, 0, 1, 1], [1, 2, 3, 2, 9]) == pytest.approx(4.5 / 6)
    fpr, tpr, thr = roc_curve([0, 0, 0, 1, 1], [1, 2, 3, 2, 9])
    assert fpr.tolist() == [0, 0, 1 / 3, 2 / 3, 1] and tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thr.tolist() == [np.inf, 9, 3, 2, 1]


def test_auc_equals_trapezoid_of_roc_with_ties(rng):
    for _ in range(100):
        n = int(rng.integers(4, 40))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = rng.integers(0, 6, n).astype(float)
        fpr, tpr, _ = roc_curve(y, s)
        assert roc_auc(y, s) == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-12)
        assert partial_auc(y, s, 1.0) == pytest.approx(roc_auc(y, s), abs=1e-12)


def test_partial_auc_hand_cases_and_chance_level(rng):
    # one negative outranks every positive: ROC (0,0) -> (1/4, 0) -> (1/4, 1) -> (1, 1)
    y = [0, 0, 0, 0, 1, 1]
    s = [0, 1, 2, 9, 5, 6]
    assert partial_auc(y, s, 0.25) == 0.0
    assert partial_auc(y, s, 0.5) == pytest.approx((0.25 * 1.0) / 0.5)
    # a useless detector: the ROC is the diagonal, area over [0, p] = p^2 / 2 -> normalised p / 2
    y = np.r_[np.zeros(20000), np.ones(20000)]
    s = rng.standard_normal(40000)
    assert partial_auc(y, s, 0.1) == pytest.approx(0.05, abs=0.01)
    assert roc_auc(y, s) == pytest.approx(0.5, abs=0.01)


def test_threshold_at_fpr_keeps_the_false_alarm_rate(rng):
    neg = rng.standard_normal(1000)
    for fpr in (0.0, 0.01, 0.05, 0.2):
        thr = threshold_at_fpr(neg, fpr)
        assert np.mean(neg > thr) <= fpr + 1e-12
        assert np.mean(neg >= thr) > fpr  # the lowest such threshold: one step lower exceeds it
    assert threshold_at_fpr([3.0, 1.0, 2.0], 0.0) == 3.0


def test_binary_metrics_hand_case():
    m = binary_metrics([0, 0, 0, 1, 1, 1], [0.1, 0.6, 0.2, 0.7, 0.4, 0.9], 0.5)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 1, 2, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["fpr"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: roc_auc([1, 1], [0.1, 0.2]), "both classes"),
        (lambda: roc_auc([0, 1, 1], [0.1, 0.2]), "same length"),
        (lambda: roc_auc([0, 1], [0.1, float("nan")]), "non-finite"),
        (lambda: roc_auc([0, 2], [0.1, 0.2]), "0 .negative/normal. or 1"),
        (lambda: partial_auc([0, 1], [0, 1], 0.0), "max_fpr"),
        (lambda: threshold_at_fpr([], 0.1), "at least one"),
        (lambda: threshold_at_fpr([1.0], 1.0), r"fpr=1.0 must be in \[0, 1\)"),
    ],
)
def test_metric_errors_are_one_line(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_kmeans_finds_clusters_and_scores_distance(rng):
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 8.0]])
    x = np.concatenate([c + 0.1 * rng.standard_normal((60, 2)) for c in centres])
    km = KMeans(k=3, seed=1).fit(x)
    found = km.centroids[np.lexsort(np.round(km.centroids).T[::-1])]
    np.testing.assert_allclose(found, centres[np.lexsort(centres.T[::-1])], atol=0.05)
    assert km.score(np.array([[5.0, 5.0]]))[0] < 0.01
    assert km.score(np.array([[2.5, 2.5]]))[0] == pytest.approx(12.5, rel=0.05)
    again = KMeans(k=3, seed=1).fit(x)
    np.testing.assert_array_equal(again.centroids, km.centroids)
    with pytest.raises(ConfigError, match="k=10 exceeds"):
        KMeans(k=10).fit(x[:5])
    with pytest.raises(ConfigError, match="fitted on 2 features"):
        km.score(np.zeros((1, 3)))


def test_anomaly_score_and_alarm_hysteresis():
    assert anomaly_score(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist() == [12.5, 0.0]
    thr = 1.0
    # raised only after 3 consecutive windows above 1.0; a single dip does not clear it;
    # cleared after 3 windows below the release level 0.8 (0.9 is not below it)
    s = [2, 2, 0, 2, 2, 2, 0.5, 2, 0.5, 0.9, 0.5, 0.5, 0.5, 2]
    a = alarm_sequence(np.array(s), thr, on_windows=3, off_windows=3, release_ratio=0.8).astype(int).tolist()
    assert a == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    al = Alarm(threshold=thr, on_windows=1, off_windows=1, release_ratio=1.0)
    assert [al.update(v) for v in (2, 0.5, 1.0, 1.5)] == [True, False, False, True]
    with pytest.raises(ConfigError, match="release_ratio"):
        Alarm(threshold=1.0, release_ratio=1.5)


def test_detection_table_per_fault_and_severity():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    split = Split(np.zeros((8, 1, 4)), y, None, {
        "fault": np.array(["normal"] * 3 + ["ir"] * 2 + ["or"] * 3),
        "severity": np.array([0, 0, 0, 1, 2, 1, 1, 2]),
    })
    scores = np.array([0.1, 0.2, 0.3, 0.25, 0.9, 0.15, 0.8, 0.95])
    t = detection_table(scores, split, ("normal", "ir", "or"), threshold=0.5)
    assert t["per_fault"]["ir"]["detection_rate"] == 0.5 and t["per_fault"]["or"]["detection_rate"] == pytest.approx(2 / 3)
    assert t["per_fault"]["ir"]["auc"] == pytest.approx(5 / 6)  # 0.25 beats 2 of 3 normals, 0.9 all
    assert t["per_severity"]["1"]["n"] == 3 and t["per_severity"]["2"]["detection_rate"] == 1.0
    assert t["per_fault_severity"]["or/1"]["detection_rate"] == 0.5


@pytest.mark.parametrize(
    "opts, match",
    [({"false_alarm_rate": 1.5}, "false_alarm_rate"), ({"max_fpr": 0}, "max_fpr"),
     ({"alarm_on_windows": 0}, "alarm_on_windows"), ({"release_ratio": 2}, "release_ratio"),
     ({"kmeans_k": 0}, "kmeans_k")],
)
def test_app_options_are_checked(opts, match):
    with pytest.raises(ConfigError, match=match):
        VibrationAnomalyApp(name="vibration_anomaly", **opts)
