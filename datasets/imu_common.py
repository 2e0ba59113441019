"""Shared by the IMU gesture loaders (magic wand, IMU CSV, UCR/UEA .ts) and the synthesiser.

* :class:`Recording`: one labelled multi-channel recording (channels, n) with its user.
* :class:`LabelledStream`: a continuous recording with the time spans of its gestures,
  for streaming evaluation (event detection, false triggers per minute).
* :func:`fill_missing`, :func:`to_rate`: missing values and other sample rates.
* :func:`fit_window`, :func:`slide`: recordings -> fixed-length model windows.
* :func:`split_groups`: assign whole users (or recordings) to train/val/test.
* :func:`augment_recording`: rotated / scaled / time-stretched training copies.
* :func:`reversed_recording`, :func:`partial_recording`: near misses made from a gesture
  (the same path drawn backwards, a gesture abandoned part-way) to teach rejection.

Canonical units and channel order (every gesture dataset emits them, so one feature
configuration fits them all): accelerometer ``ax, ay, az`` in g, then, when present,
gyroscope ``gx, gy, gz`` in rad/s.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np

from tinyml_suite.common.data import Split
from tinyml_suite.common.errors import DatasetError

__all__ = [
    "ACCEL_CHANNELS",
    "ACCEL_UNITS",
    "GYRO_CHANNELS",
    "GYRO_UNITS",
    "LabelledStream",
    "Recording",
    "augment_recording",
    "build_split",
    "fill_missing",
    "fit_window",
    "match_orientation",
    "partial_recording",
    "reversed_recording",
    "slide",
    "split_groups",
    "to_rate",
]

log = logging.getLogger(__name__)

ACCEL_CHANNELS = ("ax", "ay", "az")
GYRO_CHANNELS = ("gx", "gy", "gz")
# Factors converting a unit into the canonical one (g for acceleration, rad/s for rate).
ACCEL_UNITS = {"g": 1.0, "mg": 1e-3, "m/s2": 1.0 / 9.80665, "m/s^2": 1.0 / 9.80665}
GYRO_UNITS = {"rad/s": 1.0, "dps": np.pi / 180.0, "deg/s": np.pi / 180.0, "mdps": np.pi / 180e3}


@dataclasses.dataclass
class Recording:
    """One recording: ``x`` [shape=(channels, n)] float32 in canonical units."""

    x: np.ndarray
    label: str
    group: str  # user (or recording id when users are unknown)
    source: str  # file (and index) it came from, for error messages
    continuous: bool = False  # a long recording to slide windows over (vs one gesture)


@dataclasses.dataclass
class LabelledStream:
    """A continuous recording and the gestures in it.

    ``events`` are ``(start_s, end_s, label)`` of gestures that should be detected;
    ``distractors`` the same for movements that should not (negatives).
    """

    x: np.ndarray  # (channels, n) float32
    sample_rate: float
    events: list[tuple[float, float, str]]
    distractors: list[tuple[float, float, str]]
    group: str

    @property
    def seconds(self) -> float:
        return self.x.shape[-1] / self.sample_rate


def fill_missing(x: np.ndarray, *, max_gap: int, source: str) -> np.ndarray:
    """Linearly interpolate NaN runs of at most ``max_gap`` samples in each channel.

    Longer gaps (or a channel with no valid value) raise a one-line DatasetError that
    names the recording and the option to change.

    Examples
    --------
    >>> fill_missing(np.array([[1.0, np.nan, 3.0]]), max_gap=1, source="r").tolist()
    [[1.0, 2.0, 3.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    if not bad.any():
        return x.astype(np.float32)
    out = x.copy()
    n = x.shape[-1]
    idx = np.arange(n)
    for c in range(x.shape[0]):
        b = bad[c]
        if not b.any():
            continue
        if b.all():
            raise DatasetError(f"{source}: channel {c} has no valid value; drop the recording or the channel")
        # Longest run of missing values.
        edges = np.diff(np.concatenate([[0], b.astype(np.int8), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        if runs.max() > max_gap:
            raise DatasetError(
                f"{source}: {int(runs.max())} consecutive missing values in channel {c}, more than "
                f"dataset.max_missing_gap={max_gap}; raise it to interpolate, or clean the file"
            )
        out[c, b] = np.interp(idx[b], idx[~b], x[c, ~b])
    return out.astype(np.float32)


def to_rate(x: np.ndarray, *, orig_rate: float, target_rate: float, source: str) -> np.ndarray:
    """Resample ``x`` [shape=(channels, n)] to ``target_rate`` with the DSP library."""
    from tinyml_suite.common.dsp import resample
    from tinyml_suite.common.errors import ConfigError

    x = np.asarray(x, dtype=np.float64)
    if abs(orig_rate - target_rate) <= 1e-9 * target_rate:
        return x.astype(np.float32)
    # The polyphase filter pads with zeros: remove the straight line through the first
    # and last samples (gravity, offsets) first and add it back after, so the edges of
    # a recording do not ramp towards zero.
    n = x.shape[-1]
    line_in = x[:, :1] + (x[:, -1:] - x[:, :1]) * (np.arange(n) / max(n - 1, 1))
    try:
        y = resample(x - line_in, orig_rate=round(float(orig_rate), 3), target_rate=float(target_rate))
    except ConfigError as exc:
        raise DatasetError(f"{source}: cannot resample {orig_rate} Hz -> {target_rate} Hz ({exc})") from None
    m = y.shape[-1]
    t_out = np.arange(m) * (float(orig_rate) / float(target_rate))  # in input-sample units
    line_out = x[:, :1] + (x[:, -1:] - x[:, :1]) * (t_out / max(n - 1, 1))
    return (y + line_out).astype(np.float32)


def fit_window(
    x: np.ndarray,
    length: int,
    *,
    offset: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Place a one-gesture recording in a window of ``length`` samples.

    A shorter recording is padded by holding its first and last samples (the device at
    rest before and after the gesture); a longer one is cropped. ``offset`` is where the
    recording starts in the window (negative: crop from the recording); None centres
    it, or draws it uniformly at random when ``rng`` is given.

    Examples
    --------
    >>> fit_window(np.array([[1.0, 2.0]]), 4).tolist()
    [[1.0, 1.0, 2.0, 2.0]]
    >>> fit_window(np.array([[1.0, 2.0, 3.0, 4.0]]), 2).tolist()
    [[2.0, 3.0]]
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    slack = length - n
    if offset is None:
        if rng is not None:
            offset = int(rng.integers(min(0, slack), max(0, slack) + 1))
        else:
            offset = slack // 2
    if slack >= 0:
        offset = int(np.clip(offset, 0, slack))
        left = np.repeat(x[:, :1], offset, axis=1)
        right = np.repeat(x[:, -1:], slack - offset, axis=1)
        return np.concatenate([left, x, right], axis=1)
    offset = int(np.clip(offset, slack, 0))
    return x[:, -offset : -offset + length].copy()


def slide(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Windows [shape=(k, channels, length)] every ``hop`` samples (DSP library framing)."""
    from tinyml_suite.common.dsp import ImuWindowParams, imu_windows

    if x.shape[-1] < length:
        return np.zeros((0, x.shape[0], length), dtype=np.float32)
    return imu_windows(x, params=ImuWindowParams(window_length=length, hop_length=hop))


def split_groups(
    groups: Sequence[str],
    *,
    val: Sequence[str] | float,
    test: Sequence[str] | float,
    rng: np.random.Generator,
    what: str = "user",
) -> dict[str, str]:
    """Assign every group to 'train', 'val' or 'test' (a group never spans two splits).

    ``val``/``test`` are explicit group names, a count, or a fraction of the groups.
    Unknown names raise a DatasetError listing the known ones.

    Examples
    --------
    >>> a = split_groups(["u1", "u2", "u3"], val=["u2"], test=["u3"], rng=np.random.default_rng(0))
    >>> a["u1"], a["u2"], a["u3"]
    ('train', 'val', 'test')
    """
    known = sorted(set(groups))
    assign = {g: "train" for g in known}
    free = list(known)
    order = list(rng.permutation(len(known)))
    chosen: dict[str, list[str]] = {}
    for name, spec in (("test", test), ("val", val)):
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            k = round(spec * len(known)) if isinstance(spec, float) and spec < 1 else int(spec)
            pick = [known[i] for i in order if known[i] in free][:k]
        else:
            pick = [str(s) for s in (spec or [])]
            unknown = [p for p in pick if p not in assign]
            if unknown:
                raise DatasetError(
                    f"dataset.{name}_users names unknown {what}(s) {unknown}; known: {', '.join(known)}"
                )
            clash = [p for p in pick if p not in free]
            if clash:
                raise DatasetError(f"{what}(s) {clash} are in both dataset.val_users and dataset.test_users")
        for p in pick:
            assign[p] = name
            free.remove(p)
        chosen[name] = pick
    if not free:
        raise DatasetError(
            f"no {what} is left for training after choosing val {chosen.get('val')} and test "
            f"{chosen.get('test')}; hold out fewer"
        )
    return assign


def build_split(
    x: list[np.ndarray], y: list[int], groups: list[str], meta: dict[str, list], channels: int, length: int
) -> Split:
    """Stack lists of windows into a :class:`Split` (an empty split keeps its shape)."""
    if x:
        xs = np.stack(x).astype(np.float32)
    else:
        xs = np.zeros((0, channels, length), dtype=np.float32)
    return Split(
        xs,
        np.asarray(y, dtype=np.int64),
        np.asarray(groups, dtype=str),
        {k: np.asarray(v) for k, v in meta.items()},
    )


def augment_recording(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    rotate_deg: float = 0.0,
    gain: float = 0.0,
    stretch: float = 0.0,
) -> np.ndarray:
    """A randomly perturbed copy of an IMU recording [shape=(channels, n)] (training only).

    * rotation: every 3-axis group (accelerometer, gyroscope) is rotated by the same
      random rotation of up to ``rotate_deg`` degrees about a random axis - the same
      motion measured by a device held at another angle;
    * gain: all channels times ``1 + U(-gain, gain)``;
    * stretch: time scaled by ``1 + U(-stretch, stretch)`` (linear interpolation), a
      slower or faster performance.

    Examples
    --------
    >>> x = np.tile(np.array([[0.0], [0.0], [1.0]]), (1, 50))
    >>> y = augment_recording(x, np.random.default_rng(1), rotate_deg=30.0)
    >>> tilt = np.degrees(np.arccos(y[2, 0]))  # gravity now 0-30 degrees off z
    >>> bool(np.allclose(np.linalg.norm(y, axis=0), 1.0)), bool(0.0 < tilt <= 30.0)
    (True, True)
    """
    from scipy.spatial.transform import Rotation

    y = np.asarray(x, dtype=np.float64)
    if stretch > 0:
        f = 1.0 + rng.uniform(-stretch, stretch)
        n = y.shape[1]
        m = max(2, round(n * f))
        src = np.linspace(0.0, n - 1.0, m)
        y = np.stack([np.interp(src, np.arange(n), ch) for ch in y])
    if rotate_deg > 0:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        rot = Rotation.from_rotvec(axis * np.radians(rng.uniform(0.0, rotate_deg)))
        for c in range(0, y.shape[0] - y.shape[0] % 3, 3):
            y[c : c + 3] = rot.apply(y[c : c + 3].T).T
    if gain > 0:
        y = y * (1.0 + rng.uniform(-gain, gain))
    return y.astype(np.float32)


def reversed_recording(x: np.ndarray) -> np.ndarray:
    """The recording of the same movement performed backwards [shape=(channels, n)].

    Drawing a path in the opposite direction, ``p_r(t) = p(T - t)`` with the orientation
    ``R_r(t) = R(T - t)``, gives exactly the time-reversed specific force
    ``f_r(t) = f(T - t)``, and the negated, time-reversed angular rate: accelerometer
    channels are reversed in time, gyroscope channels (3-5, canonical order) also negated.

    Examples
    --------
    >>> reversed_recording(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0],
    ...                              [0.5, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))[[0, 3]].tolist()
    [[3.0, 2.0, 1.0], [-0.0, -0.0, -0.5]]
    """
    y = np.asarray(x, dtype=np.float32)[:, ::-1].copy()
    y[3:6] *= -1.0
    return y


def partial_recording(x: np.ndarray, fraction: float) -> np.ndarray:
    """The first ``fraction`` of a recording, then the device held where it stopped.

    A gesture abandoned part-way (the first stroke of a W, half a circle). The result has
    the original length: the last kept sample is held.

    Examples
    --------
    >>> partial_recording(np.array([[0.0, 1.0, 2.0, 3.0]]), 0.5).tolist()
    [[0.0, 1.0, 1.0, 1.0]]
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"partial fraction={fraction} must be in (0, 1)")
    y = np.asarray(x, dtype=np.float32).copy()
    keep = max(1, round(y.shape[-1] * fraction))
    y[:, keep:] = y[:, keep - 1 : keep]
    return y


def match_orientation(x: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotate a recording so that its first accelerometer sample points along ``up``.

    The smallest rotation taking the first sample's direction to ``up`` (a direction in
    body axes, e.g. gravity as another device read it at rest) is applied to every
    3-axis group: the same motion, with the device held at that other angle.

    Examples
    --------
    >>> y = match_orientation(np.array([[0.0, 0.5], [0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 0.0, 0.0]))
    >>> np.round(y, 6).tolist()
    [[1.0, 1.0], [0.0, 0.0], [0.0, -0.5]]
    """
    from scipy.spatial.transform import Rotation

    y = np.asarray(x, dtype=np.float64).copy()
    a = y[:3, 0] / max(float(np.linalg.norm(y[:3, 0])), 1e-9)
    b = np.asarray(up, dtype=np.float64) / max(float(np.linalg.norm(up)), 1e-9)
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if s < 1e-9 and c > 0:  # already there
        rot = Rotation.identity()
    elif s < 1e-9:  # opposite: half a turn about any normal
        normal = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        rot = Rotation.from_rotvec(np.pi * normal / np.linalg.norm(normal))
    else:
        rot = Rotation.from_rotvec(axis / s * np.arctan2(s, c))
    for k in range(0, y.shape[0] - y.shape[0] % 3, 3):
        y[k : k + 3] = rot.apply(y[k : k + 3].T).T
    return y.astype(np.float32)
