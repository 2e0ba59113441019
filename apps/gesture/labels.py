"""Gesture class names and which of them are events.

A classifier output is an *event* (reported by the detector and the firmware) unless
its label is a background label: the still hand and the other movements a model must
learn to ignore.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyml_suite.common.errors import ConfigError

__all__ = ["BACKGROUND", "DESCRIPTIONS", "GESTURES", "event_mask"]

GESTURES: tuple[str, ...] = ("wing", "ring", "slope", "punch", "flex", "shake")
BACKGROUND: tuple[str, ...] = ("idle", "negative")

DESCRIPTIONS = {
    "wing": "a W drawn in the air (the magic wand 'wing')",
    "ring": "an O, a circle drawn in the air (the magic wand 'ring')",
    "slope": "an L-like stroke: down-left, then right (the magic wand 'slope')",
    "punch": "a fast thrust forward and back",
    "flex": "a biceps curl: forearm raised about the elbow and lowered",
    "shake": "a quick side-to-side shake",
    "idle": "the hand at rest (tremor, drift, slow sway)",
    "negative": "any other movement (reaching, walking, twisting, stirring, tapping, partial letters)",
}


def event_mask(labels: Sequence[str], background: Sequence[str]) -> list[int]:
    """1 for each label that is an event, 0 for background labels.

    Examples
    --------
    >>> event_mask(["wing", "ring", "negative"], ["idle", "negative"])
    [1, 1, 0]
    """
    mask = [0 if lab in set(background) else 1 for lab in labels]
    if not any(mask):
        raise ConfigError(
            f"every label {list(labels)} is in app.background={list(background)}; nothing could be detected"
        )
    return mask
