"""Class names of the vibration_anomaly app.

Label 0 is always ``normal``; every other label is a fault, so one dataset serves the
anomaly recipe (0 normal, > 0 anomalous) and the fault classifier.
"""

from __future__ import annotations

__all__ = ["BEARING_CLASSES", "NORMAL", "SIM_FAULTS", "is_anomaly"]

import numpy as np

NORMAL = "normal"
#: The supervised fault classifier's classes (CWRU's and the simulator's bearing subset).
BEARING_CLASSES = ("normal", "inner_race", "ball", "outer_race")
#: Every fault the simulator makes (datasets/synthetic/vibration.py).
SIM_FAULTS = ("inner_race", "ball", "outer_race", "imbalance", "misalignment", "looseness")


def is_anomaly(y: np.ndarray) -> np.ndarray:
    """Boolean anomaly labels from class indices (0 = normal).

    >>> is_anomaly(np.array([0, 2, 1, 0])).tolist()
    [False, True, True, False]
    """
    return np.asarray(y).astype(int) > 0
