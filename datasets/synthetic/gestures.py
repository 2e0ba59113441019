"""The gesture app's offline default dataset: kinematically simulated IMU gestures.

Each simulated user (:func:`~.gesture_kinematics.sample_user`) has their own size,
tempo, grip, drawing plane, letter style, wrist coupling, tremor, drift and their own
IMU (bias, gain error, noise); each example is one window in which one gesture (or an
idle or negative movement) is performed at a random time by that user. Splits hold out
whole users. :meth:`GestureSynth.streams` renders continuous recordings of the held-out
users with gestures and negative movements embedded in idle motion, for the app's
streaming evaluation. The physics is described in :mod:`.gesture_kinematics`.

Output channels: ``ax, ay, az`` in g and, with ``axes='accel_gyro'``, ``gx, gy, gz`` in
rad/s (see :mod:`tinyml_suite.datasets.imu_common`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.datasets.imu_common import (
    ACCEL_CHANNELS,
    GYRO_CHANNELS,
    LabelledStream,
    build_split,
    split_groups,
)
from tinyml_suite.datasets.synthetic.gesture_kinematics import (
    ALL_NEGATIVE_KINDS,
    BACKGROUND,
    CLASSES,
    GESTURES,
    NEGATIVE_KINDS,
    Segment,
    make_motion,
    render,
    replace_user,
    return_motion,
    sample_sensor,
    sample_user,
    sensor_readings,
    time_scaled,
)

__all__ = ["GestureSynth", "synth_labels", "synthetic_background", "write_imu_csv_folder"]

log = logging.getLogger(__name__)

_AXES = {"accel": ACCEL_CHANNELS, "accel_gyro": ACCEL_CHANNELS + GYRO_CHANNELS}


def synth_labels(gestures: list[str], background: list[str], merge: dict[str, str]) -> tuple[str, ...]:
    """Class labels in order: gestures, then the (merged) background labels.

    Examples
    --------
    >>> synth_labels(["wing", "ring"], ["idle", "negative"], {"idle": "negative"})
    ('wing', 'ring', 'negative')
    """
    out: list[str] = []
    for k in [*gestures, *background]:
        lab = merge.get(k, k)
        if lab not in out:
            out.append(lab)
    return tuple(out)


@dataclass(frozen=True)
class GestureSynthOptions:
    """Options of :class:`GestureSynth`; ``conf/dataset/gesture_synth.yaml`` overrides them."""

    sample_rate: float = 50.0  # Hz, IMU output data rate
    window_samples: int = 128  # samples per window (2.56 s at 50 Hz)
    axes: str = 'accel_gyro'  # accel_gyro: ax,ay,az (g) + gx,gy,gz (rad/s); accel: 3 channels
    gestures: tuple[str, ...] = ('wing', 'ring', 'slope', 'punch', 'flex', 'shake')  # W, O, L letters + 3-D gestures
    background: tuple[str, ...] = ('idle', 'negative')  # non-gesture classes: still hand, other movements
    merge: Any = field(default_factory=lambda: {})  # relabel classes, e.g. {idle: negative}
    n_users: int = 40  # simulated people (each with own style and own IMU)
    val_users: int = 5  # people held out for validation
    test_users: int = 5  # people held out for test (and for the streaming evaluation)
    reps: int = 30  # examples per gesture per user
    background_reps: int = 40  # examples per background class per user (negatives are the most varied)
    tempo: float = 1.0  # gesture duration multiplier (2.0: twice as slow)
    size: float = 1.0  # gesture size multiplier (1.0: 30 cm letters)
    wrist: float = 1.0  # multiplier of the device's pitch (and random roll) with the hand's motion
    roll: float = 0.0  # rad/m: consistent roll with sideways motion (a wand turned by the wrist); 0: small random roll
    accel_range_g: float = 4.0  # accelerometer full scale, g (readings saturate)
    gyro_range_dps: float = 2000.0  # gyroscope full scale, deg/s
    accel_noise_g: float = 0.01  # accelerometer white noise, g rms per sample
    gyro_noise_dps: float = 0.3  # gyroscope white noise, deg/s rms per sample
    oversample: int = 4  # internal physics grid = 4 x sample_rate
    return_prob: float = 0.5  # chance the hand moves back home after a gesture (as in streams)
    stream_seconds: float = 60.0  # continuous stream per test user for the streaming evaluation, s
    stream_gap_s: tuple[float, ...] = (2.0, 5.0)  # idle time between events in a stream, s
    stream_negative_fraction: float = 0.3  # share of stream events that are negative movements
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class GestureSynth(Dataset):
    """Simulated accelerometer (+ gyroscope) gesture windows, split by user.

    Options (``conf/dataset/gesture_synth.yaml``)
    ---------------------------------------------
    sample_rate : IMU rate in Hz
    window_samples : samples per example window
    axes : 'accel_gyro' (6 channels) or 'accel' (3)
    gestures : gestures to simulate (subset of wing, ring, slope, punch, flex, shake)
    background : non-gesture classes (subset of idle, negative)
    merge : relabel classes, e.g. ``{idle: negative}`` for one "not a gesture" class
    n_users, val_users, test_users : simulated people and how many are held out
    reps : examples per class per user (background classes: ``background_reps``)
    tempo, size : global multipliers of gesture duration and size
    wrist : multiplier of the device's pitch/roll per metre of hand motion
    roll : consistent roll per metre of sideways motion, rad/m (0: small random roll)
    accel_range_g, gyro_range_dps, accel_noise_g, gyro_noise_dps : sensor model
    oversample : internal physics grid factor
    return_prob : chance that the hand moves back home after a gesture in a window
    stream_seconds : length of each held-out user's continuous stream
    stream_gap_s : idle time between events in streams, [min, max] seconds
    stream_negative_fraction : share of stream events that are negative movements
    """

    name = "gesture_synth"
    task = "classification"
    modality = "imu"
    VERSION = 2
    Options = GestureSynthOptions

    def __init__(self, **options: Any) -> None:
        defaults: dict[str, Any] = {
            "sample_rate": 50.0,
            "window_samples": 128,
            "axes": "accel_gyro",
            "gestures": list(GESTURES),
            "background": list(BACKGROUND),
            "merge": {},
            "n_users": 40,
            "val_users": 5,
            "test_users": 5,
            "reps": 30,
            "background_reps": 40,
            "tempo": 1.0,
            "size": 1.0,
            "wrist": 1.0,
            "roll": 0.0,
            "accel_range_g": 4.0,
            "gyro_range_dps": 2000.0,
            "accel_noise_g": 0.01,
            "gyro_noise_dps": 0.3,
            "oversample": 4,
            "return_prob": 0.5,
            "stream_seconds": 60.0,
            "stream_gap_s": [2.0, 5.0],
            "stream_negative_fraction": 0.3,
            "smoke": False,
        }
        unknown = sorted(set(options) - set(defaults) - {"name", "seed", "cache"})
        if unknown:
            raise ConfigError(
                f"dataset.{unknown[0]} is not an option of gesture_synth; valid: {', '.join(sorted(defaults))}"
            )
        options.pop("name", None)
        seed = options.pop("seed", 0)
        cache = options.pop("cache", True)
        merged = {**defaults, **options}
        super().__init__(seed=seed, cache=cache, **merged)
        self._check()

    # -- options ---------------------------------------------------------------------
    def _check(self) -> None:
        o = self.options
        if o["axes"] not in _AXES:
            raise ConfigError(f"dataset.axes={o['axes']!r} must be one of {sorted(_AXES)}")
        bad = [g for g in o["gestures"] if g not in GESTURES]
        if bad or not o["gestures"]:
            raise ConfigError(f"dataset.gestures={list(o['gestures'])} must be a non-empty subset of {list(GESTURES)}")
        bad = [g for g in o["background"] if g not in BACKGROUND]
        if bad:
            raise ConfigError(f"dataset.background={list(o['background'])} must be a subset of {list(BACKGROUND)}")
        for k in o["merge"]:
            if k not in CLASSES:
                raise ConfigError(f"dataset.merge key {k!r} is not a class; classes: {', '.join(CLASSES)}")
        if float(o["sample_rate"]) <= 0:
            raise ConfigError(f"dataset.sample_rate={o['sample_rate']} must be > 0 Hz")
        if int(o["window_samples"]) < 8:
            raise ConfigError(f"dataset.window_samples={o['window_samples']} must be >= 8")
        n_users = self._n_users()
        held = sum(self._held_out())
        if n_users - held < 1:
            raise ConfigError(
                f"dataset.n_users={n_users} leaves no training user after val_users={o['val_users']} "
                f"and test_users={o['test_users']}"
            )
        lo, hi = (float(v) for v in o["stream_gap_s"])
        if not 0 < lo <= hi:
            raise ConfigError(f"dataset.stream_gap_s={list(o['stream_gap_s'])} must be [min, max] with 0 < min <= max")

    def _held_out(self) -> tuple[int, int]:
        """(val, test) users; a smoke run holds out at most one of each."""
        o = self.options
        val, test = int(o["val_users"]), int(o["test_users"])
        return (min(val, 1), min(test, 1)) if o["smoke"] else (val, test)

    def _n_users(self) -> int:
        o = self.options
        if o["smoke"]:
            return min(int(o["n_users"]), sum(self._held_out()) + 4)
        return int(o["n_users"])

    @property
    def labels(self) -> tuple[str, ...]:
        o = self.options
        return synth_labels(list(o["gestures"]), list(o["background"]), dict(o["merge"]))

    @property
    def channels(self) -> tuple[str, ...]:
        return _AXES[self.options["axes"]]

    def _user(self, index: int):
        o = self.options
        rng = np.random.default_rng([self.seed, 1000 + index])
        user = sample_user(rng, f"user{index:02d}", size=float(o["size"]), tempo=float(o["tempo"]),
                           wrist=float(o["wrist"]), roll=float(o["roll"]))
        sensor = sample_sensor(
            rng,
            accel_range_g=float(o["accel_range_g"]),
            gyro_range_dps=float(o["gyro_range_dps"]),
            accel_noise_g=float(o["accel_noise_g"]),
            gyro_noise_dps=float(o["gyro_noise_dps"]),
        )
        return user, sensor

    def _assignment(self) -> dict[str, str]:
        names = [f"user{i:02d}" for i in range(self._n_users())]
        val, test = self._held_out()
        return split_groups(
            names, val=val, test=test,
            rng=np.random.default_rng([self.seed, 7]),
        )

    def _readings(self, ideal, sensor, rng) -> np.ndarray:
        acc, gyr = sensor_readings(ideal, sensor, rng)
        parts = [acc] if self.options["axes"] == "accel" else [acc, gyr]
        return np.concatenate(parts, axis=1).T.astype(np.float32)

    # -- examples --------------------------------------------------------------------
    def example(self, kind: str, user, sensor, rng: np.random.Generator, *, negative_kind: str | None = None):
        """One window ``(x [shape=(channels, n)], meta)`` of ``kind`` by ``user``."""
        o = self.options
        fs = float(o["sample_rate"])
        n = int(o["window_samples"])
        span = n / fs
        margin = min(0.1, 0.05 * span)
        motion = make_motion(kind, user, rng, negative_kind=negative_kind)
        segments = []
        start = 0.0
        if motion is not None:
            room = span - 2 * margin
            if motion.duration > room:
                motion = time_scaled(motion, room / motion.duration)
            start = float(rng.uniform(margin, max(margin, span - margin - motion.duration)))
            segments.append(Segment(start, motion))
            # As in a stream: the hand often moves back home after a gesture.
            offset = motion.disp(np.array([motion.duration]))[0]
            if np.linalg.norm(offset) > 0.03 and rng.random() < float(o["return_prob"]):
                segments.append(Segment(start + motion.duration + float(rng.uniform(0.2, 0.5)),
                                        return_motion(offset, rng, user.tempo)))
        ideal = render(segments, user, rng, duration=span, sample_rate=fs, oversample=int(o["oversample"]))
        meta = {
            "start_s": start,
            "duration_s": 0.0 if motion is None else motion.duration,
            "kind": kind if kind != "negative" else f"negative:{negative_kind}",
        }
        return self._readings(ideal, sensor, rng), meta

    def _load(self) -> DataSplits:
        from tinyml_suite.common.console import progress

        o = self.options
        labels = self.labels
        merge = dict(o["merge"])
        reps = int(o["reps"])
        bg_reps = int(o["background_reps"]) if o["background_reps"] is not None else reps
        if o["smoke"]:
            reps, bg_reps = min(reps, 4), min(bg_reps, 4)
        assign = self._assignment()
        kinds = [(g, reps) for g in o["gestures"]] + [(b, bg_reps) for b in o["background"]]
        buckets: dict[str, dict[str, list]] = {
            s: {"x": [], "y": [], "g": [], "kind": [], "start_s": [], "duration_s": []}
            for s in ("train", "val", "test")
        }
        for i in progress(range(self._n_users()), desc="gesture_synth users", leave=False):
            user, sensor = self._user(i)
            rng = np.random.default_rng([self.seed, 2000 + i])
            b = buckets[assign[user.user_id]]
            for kind, count in kinds:
                for r in range(count):
                    neg = NEGATIVE_KINDS[r % len(NEGATIVE_KINDS)] if kind == "negative" else None
                    x, meta = self.example(kind, user, sensor, rng, negative_kind=neg)
                    b["x"].append(x)
                    b["y"].append(labels.index(merge.get(kind, kind)))
                    b["g"].append(user.user_id)
                    for k in ("kind", "start_s", "duration_s"):
                        b[k].append(meta[k])
        splits = {
            s: build_split(
                v["x"], v["y"], v["g"],
                {"kind": v["kind"], "start_s": v["start_s"], "duration_s": v["duration_s"]},
                len(self.channels), int(o["window_samples"]),
            )
            for s, v in buckets.items()
        }
        return DataSplits(
            **splits,
            sample_rate=float(o["sample_rate"]),
            channels=self.channels,
            task="classification",
            labels=labels,
            name=self.name,
        )

    # -- continuous streams ----------------------------------------------------------
    def streams(self, split: str = "test", seconds: float | None = None) -> list[LabelledStream]:
        """One continuous recording per user of ``split`` with embedded gestures.

        Events are spaced by idle gaps drawn from ``stream_gap_s``; after a gesture the
        hand returns to its home position (a slow movement that is not an event). A
        ``stream_negative_fraction`` of the events are negative movements
        (``distractors``).
        """
        o = self.options
        fs = float(o["sample_rate"])
        total = float(seconds if seconds is not None else o["stream_seconds"])
        if o["smoke"] and seconds is None:
            total = min(total, 30.0)
        assign = self._assignment()
        gap_lo, gap_hi = (float(v) for v in o["stream_gap_s"])
        out = []
        for i in range(self._n_users()):
            user, sensor = self._user(i)
            if assign[user.user_id] != split:
                continue
            rng = np.random.default_rng([self.seed, 3000 + i])
            t = float(rng.uniform(1.0, 2.5))
            segments: list[Segment] = []
            events: list[tuple[float, float, str]] = []
            distractors: list[tuple[float, float, str]] = []
            while True:
                if rng.random() < float(o["stream_negative_fraction"]):
                    kind = "negative"
                    motion = make_motion(kind, user, rng, negative_kind=str(rng.choice(NEGATIVE_KINDS)))
                else:
                    kind = str(rng.choice(list(o["gestures"])))
                    motion = make_motion(kind, user, rng)
                assert motion is not None
                if t + motion.duration + 1.0 > total:
                    break
                segments.append(Segment(t, motion))
                (events if kind != "negative" else distractors).append((t, t + motion.duration, kind))
                t += motion.duration
                offset = motion.disp(np.array([motion.duration]))[0]
                if np.linalg.norm(offset) > 0.03:
                    back = return_motion(offset, rng, user.tempo)
                    t += float(rng.uniform(0.2, 0.5))
                    segments.append(Segment(t, back))
                    t += back.duration
                t += float(rng.uniform(gap_lo, gap_hi))
            ideal = render(segments, user, rng, duration=total, sample_rate=fs, oversample=int(o["oversample"]))
            out.append(LabelledStream(self._readings(ideal, sensor, rng), fs, events, distractors, user.user_id))
        return out


def synthetic_background(
    n: int,
    *,
    seed: int,
    sample_rate: float,
    window_samples: int,
    axes: str = "accel",
    tempo: float = 1.0,
    accel_range_g: float = 4.0,
    wrist: float = 1.0,
    roll: float = 0.0,
    accel_noise_g: float = 0.01,
    n_users: int = 20,
    kinds: Mapping[str, float] | Sequence[str] | None = None,
) -> np.ndarray:
    """``n`` simulated non-gesture windows [shape=(n, channels, window_samples)].

    Extra "not a gesture" examples for a real dataset whose negative class is thin (the
    magic wand has 4 negative logs), from ``n_users`` simulated people.

    ``kinds`` maps each simulated family to its relative share: ``idle``, the negative
    movements of :data:`~.gesture_kinematics.ALL_NEGATIVE_KINDS` (incl. the wand letters
    drawn backwards, ``reverse``, and walking arm swing, ``swing``) and the simulator's
    gestures that are not the dataset's own (``punch``, ``flex``, ``shake``). A list
    gives every family the same share; None is the historical mix (1/6 idle, 1/3
    ``wander``, the rest the other :data:`~.gesture_kinematics.NEGATIVE_KINDS` in turn).
    Each family gets ``round(n * share)`` windows (largest remainders, so they sum to
    ``n``), shuffled. Simulated users all draw their letters one way (rings clockwise),
    so that a ``reverse`` ring is never another user's ring.
    """
    allowed = set(ALL_NEGATIVE_KINDS) | {"idle"} | set(GESTURES)
    if kinds is None:
        plan = []
        others = [k for k in NEGATIVE_KINDS if k != "wander"]
        for k in range(int(n)):
            plan.append("idle" if k % 6 == 0 else "wander" if k % 6 in (1, 2) else others[(k // 6) % len(others)])
    else:
        weights = dict(kinds) if isinstance(kinds, Mapping) else {str(k): 1.0 for k in kinds}
        bad = sorted(k for k in weights if k not in allowed)
        if bad or not weights or any(float(w) < 0 for w in weights.values()) or not sum(map(float, weights.values())):
            raise ConfigError(
                f"simulated negative kinds {bad or dict(weights)} invalid: give non-negative shares of "
                f"{sorted(allowed)} (not all zero)"
            )
        plan = _apportion(int(n), {k: float(w) for k, w in weights.items()}, np.random.default_rng([seed, 4001]))
    ds = GestureSynth(
        seed=seed, cache=False, sample_rate=sample_rate, window_samples=window_samples, axes=axes,
        gestures=["wing"], tempo=tempo, accel_range_g=accel_range_g, wrist=wrist, roll=roll, n_users=n_users,
        accel_noise_g=accel_noise_g, val_users=0, test_users=0,
    )
    users = []
    for i in range(n_users):
        user, sensor = ds._user(i)
        users.append((replace_user(user, ring_ccw=False), sensor))
    rng = np.random.default_rng([seed, 4000])
    out = []
    for k, kind in enumerate(plan):
        user, sensor = users[k % n_users]
        if kind in ALL_NEGATIVE_KINDS:
            out.append(ds.example("negative", user, sensor, rng, negative_kind=kind)[0])
        else:
            out.append(ds.example(kind, user, sensor, rng)[0])
    if not out:
        return np.zeros((0, len(_AXES[axes]), int(window_samples)), dtype=np.float32)
    return np.stack(out).astype(np.float32)


def _apportion(n: int, weights: dict[str, float], rng: np.random.Generator) -> list[str]:
    """``n`` family names in proportion to ``weights`` (largest remainders), shuffled.

    Examples
    --------
    >>> sorted(_apportion(5, {"a": 3.0, "b": 1.0}, np.random.default_rng(0)))
    ['a', 'a', 'a', 'a', 'b']
    """
    names = [k for k, w in weights.items() if w > 0]
    share = np.array([weights[k] for k in names]) / sum(weights[k] for k in names)
    exact = share * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - int(counts.sum())]:
        counts[i] += 1
    plan = [name for name, c in zip(names, counts) for _ in range(int(c))]
    return [plan[i] for i in rng.permutation(len(plan))]


def write_imu_csv_folder(
    root: str | Path,
    *,
    n_users: int = 10,
    reps: int = 10,
    sample_rate: float = 119.0,
    seconds: float = 2.5,
    seed: int = 0,
    gestures: list[str] | None = None,
) -> Path:
    """Write simulated gestures as an Arduino-style labelled IMU CSV folder.

    ``<root>/<label>/<user>.csv``: a header ``timestamp,aX,aY,aZ,gX,gY,gZ`` (ms, g,
    deg/s - what the Arduino LSM9DS1 library reports), then one recording per gesture
    separated by blank lines, sampled at ``sample_rate`` with +-2 % timestamp jitter.
    Read it back with ``dataset=imu_csv dataset.root=<root>
    dataset.user_regex='(?P<user>user[0-9]+)'``.
    """
    root = Path(root)
    kinds = list(gestures or GESTURES) + list(BACKGROUND)
    n = round(seconds * sample_rate)
    ds = GestureSynth(seed=seed, cache=False, sample_rate=sample_rate, window_samples=n, n_users=n_users,
                      val_users=0, test_users=0)
    rng = np.random.default_rng([seed, 5000])
    for i in range(n_users):
        user, sensor = ds._user(i)
        for kind in kinds:
            lines = ["timestamp,aX,aY,aZ,gX,gY,gZ"]
            t0 = 0.0
            for r in range(reps):
                neg = NEGATIVE_KINDS[r % len(NEGATIVE_KINDS)] if kind == "negative" else None
                x, _ = ds.example(kind, user, sensor, rng, negative_kind=neg)
                t = t0 + (np.arange(n) + rng.uniform(-0.02, 0.02, n)) * 1000.0 / sample_rate
                for k in range(n):
                    a = x[:3, k]
                    g = np.degrees(x[3:, k])
                    lines.append(f"{t[k]:.1f},{a[0]:.4f},{a[1]:.4f},{a[2]:.4f},{g[0]:.2f},{g[1]:.2f},{g[2]:.2f}")
                lines.append("")
                t0 = float(t[-1]) + 3000.0
            folder = root / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{user.user_id}.csv").write_text("\n".join(lines) + "\n")
    return root


if __name__ == "__main__":  # python -m tinyml_suite.datasets.synthetic.gestures --write-csv DIR
    import argparse

    ap = argparse.ArgumentParser(description="write simulated gestures as a labelled IMU CSV folder")
    ap.add_argument("--write-csv", required=True, metavar="DIR")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--rate", type=float, default=119.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(write_imu_csv_folder(a.write_csv, n_users=a.users, reps=a.reps, sample_rate=a.rate, seed=a.seed))
