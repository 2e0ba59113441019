"""Post-processing of the vibration autoencoder: anomaly score and alarm with hysteresis.

The same algorithm runs on the device in ``firmware_templates/apps/vibration_anomaly/
postprocess.c`` (a host-compiled test holds the two to the same output).

* **Score** - the model outputs the reconstruction residual in standardised feature
  units (``model.py``: ``decoder(encoder(z)) - z``, ``z`` the standardised features),
  so the anomaly score is the mean squared residual, :func:`anomaly_score`.
* **Alarm** - :class:`Alarm`: raised after ``on_windows`` consecutive windows whose score
  is above ``threshold`` (calibrated on held-out normal data at the configured false
  alarm rate); cleared after ``off_windows`` consecutive windows below
  ``release_ratio * threshold``. Both the count and the lower release level are
  hysteresis: one noisy window neither raises nor clears the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = ["Alarm", "alarm_sequence", "anomaly_score"]


def anomaly_score(residual: np.ndarray) -> np.ndarray:
    """Mean squared residual per window [shape=(n,)], float64.

    >>> anomaly_score(np.array([[1.0, -1.0, 0.0, 2.0]])).tolist()
    [1.5]
    """
    r = np.asarray(residual, dtype=np.float64)
    return (r * r).reshape(len(r), -1).mean(axis=1)


@dataclass
class Alarm:
    """Alarm state machine with count and level hysteresis.

    Examples
    --------
    >>> a = Alarm(threshold=1.0, on_windows=2, off_windows=2, release_ratio=0.5)
    >>> [a.update(s) for s in [2, 0, 2, 2, 0.8, 0.4, 0.3, 2]]
    [False, False, False, True, True, True, False, False]
    """

    threshold: float
    on_windows: int = 3
    off_windows: int = 3
    release_ratio: float = 0.8
    active: bool = False
    _count: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if int(self.on_windows) < 1 or int(self.off_windows) < 1:
            raise ConfigError(
                f"app.alarm_on_windows={self.on_windows} and alarm_off_windows={self.off_windows} must be >= 1"
            )
        if not 0 < float(self.release_ratio) <= 1:
            raise ConfigError(f"app.release_ratio={self.release_ratio} must be in (0, 1]")

    def reset(self) -> None:
        self.active = False
        self._count = 0

    def update(self, score: float) -> bool:
        """Feed one window's score; return the alarm state after it.

        Compares in float32 with the release level ``float32(threshold) *
        float32(release_ratio)``, exactly as the C code does.
        """
        s = np.float32(score)
        if not self.active:
            self._count = self._count + 1 if s > np.float32(self.threshold) else 0
            if self._count >= self.on_windows:
                self.active, self._count = True, 0
        else:
            release = np.float32(self.threshold) * np.float32(self.release_ratio)
            self._count = self._count + 1 if s < release else 0
            if self._count >= self.off_windows:
                self.active, self._count = False, 0
        return self.active


def alarm_sequence(scores: np.ndarray, threshold: float, *, on_windows: int = 3, off_windows: int = 3,
                   release_ratio: float = 0.8) -> np.ndarray:
    """Alarm state after each window of one continuous recording [shape=(n,), bool].

    >>> alarm_sequence(np.array([0, 5, 5, 5, 0, 0, 0]), 1.0).astype(int).tolist()
    [0, 0, 0, 1, 1, 1, 0]
    """
    a = Alarm(threshold, on_windows, off_windows, release_ratio)
    return np.array([a.update(s) for s in np.asarray(scores, dtype=np.float32)], dtype=bool)
