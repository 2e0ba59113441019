"""K-means distance baseline for anomaly detection (numpy only).

Fit K-means on standardised features of normal training windows; the anomaly score of
a window is its squared Euclidean distance to the nearest centroid. It is the
classical, model-free reference the autoencoder must beat (or at least match at a
smaller footprint): ``k x n_features`` floats of "model".

Lloyd's algorithm with k-means++ seeding (Arthur & Vassilvitskii 2007), ``n_init``
seeded restarts, the lowest inertia kept; an empty cluster is re-seeded on the point
farthest from its centroid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = ["KMeans", "kmeans_plus_plus"]


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances ``(n, k)`` between rows of ``x`` and ``c``."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre drawn with probability proportional to D^2.

    >>> x = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> c = kmeans_plus_plus(x, 2, np.random.default_rng(0))
    >>> sorted(np.round(c[:, 0]).tolist())
    [0.0, 10.0]
    """
    n = x.shape[0]
    centres = [x[rng.integers(n)]]
    d2 = _sq_dist(x, np.asarray(centres)).min(1)
    for _ in range(1, k):
        total = d2.sum()
        idx = int(rng.integers(n)) if total <= 0 else int(rng.choice(n, p=d2 / total))
        centres.append(x[idx])
        d2 = np.minimum(d2, _sq_dist(x, x[idx : idx + 1])[:, 0])
    return np.asarray(centres, dtype=np.float64)


@dataclass
class KMeans:
    """K-means clustering; ``score(x)`` = squared distance to the nearest centroid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> km = KMeans(k=2, seed=0).fit(x)
    >>> sorted(np.abs(np.round(km.centroids[:, 0])).tolist())
    [0.0, 5.0]
    >>> bool(km.score(np.array([[2.5, 2.5]]))[0] > 10 * km.score(np.array([[0.0, 0.0]]))[0])
    True
    """

    k: int = 8
    n_init: int = 4
    max_iter: int = 100
    tol: float = 1e-6
    seed: int = 0
    centroids: np.ndarray | None = None
    inertia: float = float("inf")

    def fit(self, x: np.ndarray) -> KMeans:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise ConfigError(f"K-means needs a non-empty (n, features) array; got shape {x.shape}")
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"kmeans k={self.k} must be an integer >= 1")
        if self.k > len(x):
            raise ConfigError(f"kmeans k={self.k} exceeds the {len(x)} training windows; lower k")
        rng = np.random.default_rng(self.seed)
        best_c, best_inertia = None, np.inf
        for _ in range(max(1, int(self.n_init))):
            c = kmeans_plus_plus(x, int(self.k), rng)
            prev = np.inf
            for _ in range(int(self.max_iter)):
                d = _sq_dist(x, c)
                assign = d.argmin(1)
                inertia = float(d[np.arange(len(x)), assign].sum())
                for j in range(c.shape[0]):
                    members = x[assign == j]
                    if len(members):
                        c[j] = members.mean(0)
                    else:  # re-seed an empty cluster on the worst-fitted point
                        far = int(d[np.arange(len(x)), assign].argmax())
                        c[j] = x[far]
                if prev - inertia <= self.tol * max(prev, 1e-12):
                    break
                prev = inertia
            d = _sq_dist(x, c)
            inertia = float(d.min(1).sum())
            if inertia < best_inertia:
                best_c, best_inertia = c.copy(), inertia
        self.centroids, self.inertia = best_c, best_inertia
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        """Squared distance of each row of ``x`` to its nearest centroid [shape=(n,)]."""
        if self.centroids is None:
            raise ConfigError("KMeans.score() before fit()")
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.centroids.shape[1]:
            raise ConfigError(
                f"K-means was fitted on {self.centroids.shape[1]} features; got an array of shape {x.shape}"
            )
        return _sq_dist(x, self.centroids).min(1)
