"""TensorFlow Lite Micro "magic wand" accelerometer capture logs.

Format (as published with the TensorFlow magic_wand example, and as the capture
firmware prints it over a serial terminal)::

    <root>/<label>/output_<label>_<user>.txt      wing, ring, slope: one file per user
    <root>/negative/output_negative_<n>.txt        negative: continuous, no user name

Each line is ``x,y,z`` in milli-g; ``-,-,-`` separates recordings (one gesture each);
the ``script``/``screen`` terminal lines around them (escape sequences, prompts,
"Script started on ...") and CRLF line endings are skipped. Recordings of a gesture
file become one window each (padded by holding the first/last sample, or cropped);
negative files are one continuous recording each, cut into overlapping windows.

Groups: the user from the file name (``output_wing_dengyl.txt`` -> ``dengyl``); a
negative file is its own group (``negative_1``), so no recording is on both sides of
a split. The capture rate is 25 Hz (the example's LIS2DH12 setting; the logs' own
``Script started/done`` timestamps bound it below by about 22 Hz).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.imu_common import (
    ACCEL_CHANNELS,
    ACCEL_UNITS,
    LabelledStream,
    Recording,
    augment_recording,
    build_split,
    fill_missing,
    fit_window,
    match_orientation,
    partial_recording,
    reversed_recording,
    slide,
    split_groups,
    to_rate,
)

__all__ = ["MAGIC_WAND_RATE", "MagicWand", "parse_capture_log"]

log = logging.getLogger(__name__)

MAGIC_WAND_RATE = 25.0  # Hz, the example's accelerometer output data rate
# White noise of the logs, g rms per axis: 0.02-0.06 g measured on still stretches (the
# end of negative_2, the first samples of the gesture recordings); simulated windows get it.
WAND_NOISE_G = 0.04
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|"
_SAMPLE = re.compile(rf"^({_NUM}),({_NUM}),({_NUM})$")
_SEPARATOR = "-,-,-"


_DATA_LIKE = re.compile(r"^[-+0-9.eEnaN\s]*,[-+0-9.eEnaN,\s]*$")


def parse_capture_log(text: str, *, source: str = "<log>") -> list[np.ndarray]:
    """Recordings [each shape=(3, n), float64, NaN where a value is missing] of one log.

    Lines that are neither samples nor separators (terminal noise: prompts, escape
    sequences, "Script started ...") are skipped. A line made of numbers and commas that
    is not ``x,y,z`` (a wrong field count, a cut-off line) is a DatasetError naming
    ``source`` and the line: dropping it would shift the recording silently.

    Examples
    --------
    >>> recs = parse_capture_log("Script started\\r\\n-,-,-\\r\\n1.0,2.0,3.0\\r\\n4,5,6\\r\\n-,-,-\\r\\n7,8,9\\r\\n")
    >>> [r.shape for r in recs], recs[0][:, 1].tolist()
    ([(3, 2), (3, 1)], [4.0, 5.0, 6.0])
    """
    recordings: list[np.ndarray] = []
    current: list[list[float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line == _SEPARATOR:
            if current:
                recordings.append(np.asarray(current, dtype=np.float64).T)
            current = []
            continue
        m = _SAMPLE.match(line)
        if m is None:
            if _DATA_LIKE.match(line):
                n = line.count(",") + 1
                what = f"{n} fields where x,y,z has 3" if n != 3 else "a value that is not a number"
                raise DatasetError(
                    f"{source} line {lineno}: {what} ({line[:40]!r}); fix or delete the line"
                )
            continue
        current.append([float(v) if v else np.nan for v in m.groups()])
    if current:
        recordings.append(np.asarray(current, dtype=np.float64).T)
    return recordings


@dataclass(frozen=True)
class MagicWandOptions:
    """Options of :class:`MagicWand`; ``conf/dataset/magic_wand.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder holding wing/ ring/ slope/ negative/ (output_<gesture>_<user>.txt)
    labels: tuple[str, ...] = ('wing', 'ring', 'slope', 'negative')
    negative_label: str = 'negative'  # the class whose logs are continuous (cut into overlapping windows)
    sample_rate: float = 25.0  # Hz, rate of the capture logs
    target_rate: Any = None  # Hz the app runs at; null keeps 25 Hz (logs are resampled otherwise)
    unit: str = 'mg'  # logged unit; converted to g
    window_samples: int = 128  # samples per window (5.12 s at 25 Hz), gestures centred and edge-padded
    negative_hop: int = 32  # samples between negative windows (1.28 s)
    min_samples: int = 10  # shorter recordings (double button presses) are dropped
    train_shifts: int = 2  # augmented copies of each training gesture (random offset in the window + below)
    augment_rotate_deg: float = 0.0  # copies rotated by up to this angle (a device held differently), degrees
    augment_gain: float = 0.0  # copies scaled by 1 +- this
    augment_stretch: float = 0.0  # copies played 1 +- this faster/slower
    augment_negatives: bool = False  # also add augmented copies of the negative training windows
    synthetic_negative_share: float = 0.0  # simulated non-gesture windows, as a share of the training windows
    synthetic_negative_kinds: Any = None  # simulated families and their relative shares (mapping; list: equal)
    reversed_negatives: tuple[str, ...] = ()  # gestures whose training recordings, drawn backwards, are negatives
    partial_negatives: tuple[str, ...] = ()  # gestures whose training recordings, stopped at 30-50 %, are negatives
    near_miss_copies: int = 1  # augmented windows per recording and near miss
    train_negative_hop: Any = None  # samples between training windows of the negative logs (null: negative_hop)
    negative_copies: Any = None  # augmented copies per training negative window (null: train_shifts)
    gesture_streams: bool = False  # streams() also renders each gesture recording, held still around it
    val_users: tuple[str, ...] = ('lsj', 'negative_2')  # held-out groups: a user and a negative log
    test_users: tuple[str, ...] = ('liucx', 'negative_1')
    max_missing_gap: int = 3  # longest run of missing samples that is interpolated
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class MagicWand(Dataset):
    """The magic wand gestures (accelerometer only), split by user.

    Options (``conf/dataset/magic_wand.yaml``)
    -------------------------------------------
    root : folder holding ``<label>/output_<label>_<user>.txt``
    labels : classes to load (folder names); 'negative' is read as continuous logs
    sample_rate : rate of the logs in Hz (25)
    target_rate : rate the app runs at; the logs are resampled to it (null: sample_rate)
    unit : unit of the logged values ('mg'; converted to g)
    window_samples : samples per model window (at target_rate)
    negative_hop : samples between consecutive negative windows
    min_samples : shorter recordings (button bounces) are dropped
    train_shifts : augmented copies of each training recording (random offset in the
        window, and the ``augment_*`` perturbations)
    augment_rotate_deg, augment_gain, augment_stretch : random rotation (degrees), gain
        and time stretch of the copies (:func:`.imu_common.augment_recording`)
    augment_negatives : also add augmented copies of the negative training windows
    synthetic_negative_share : simulated non-gesture windows added to the training split,
        as a share of it after they are added (0.25: one training window in four)
        (:func:`~tinyml_suite.datasets.synthetic.gestures.synthetic_background`)
    synthetic_negative_kinds : the simulated families and their relative shares
        (mapping ``kind: weight``; a list: equal shares; null: the historical mix)
    reversed_negatives : labels whose training recordings, drawn backwards
        (:func:`.imu_common.reversed_recording`), are added as negatives
    partial_negatives : labels whose training recordings, abandoned after 30-50 % of
        their samples (:func:`.imu_common.partial_recording`), are added as negatives
    near_miss_copies : augmented windows per recording for each of the two near misses
    train_negative_hop : samples between training windows of the negative logs (null:
        ``negative_hop``; smaller: more time shifts of the few real negatives)
    negative_copies : augmented copies per training negative window (null:
        ``train_shifts``); every other copy is the motion drawn backwards
    gesture_streams : :meth:`streams` also renders every gesture recording as a stream
        (held still for one window length before and after), to measure detection
        after the debounce
    val_users, test_users : groups held out (users and negative files, e.g. negative_1)
    max_missing_gap : longest run of missing values filled by interpolation
    """

    name = "magic_wand"
    task = "classification"
    modality = "imu"
    VERSION = 2
    Options = MagicWandOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # checks the options against Options
        o = self.options
        if o["unit"] not in ACCEL_UNITS:
            raise ConfigError(f"dataset.unit={o['unit']!r} must be one of {sorted(ACCEL_UNITS)}")
        if int(o["window_samples"]) < 8 or int(o["negative_hop"]) < 1:
            raise ConfigError("dataset.window_samples must be >= 8 and dataset.negative_hop >= 1")
        if not 0.0 <= float(o["synthetic_negative_share"]) < 1.0:
            raise ConfigError(
                f"dataset.synthetic_negative_share={o['synthetic_negative_share']} must be in [0, 1): "
                "the share of the training windows that are simulated"
            )
        for key in ("reversed_negatives", "partial_negatives"):
            bad = [lab for lab in o[key] if lab not in o["labels"] or lab == o["negative_label"]]
            if bad:
                raise ConfigError(
                    f"dataset.{key}={list(o[key])}: {bad} are not gesture labels of dataset.labels={list(o['labels'])}"
                )
        if o["train_negative_hop"] is not None and int(o["train_negative_hop"]) < 1:
            raise ConfigError(f"dataset.train_negative_hop={o['train_negative_hop']} must be >= 1 (or null)")
        if o["negative_copies"] is not None and int(o["negative_copies"]) < 0:
            raise ConfigError(f"dataset.negative_copies={o['negative_copies']} must be >= 0 (or null)")
        if int(o["near_miss_copies"]) < 1:
            raise ConfigError(f"dataset.near_miss_copies={o['near_miss_copies']} must be >= 1")

    def cache_key(self) -> str:
        """Options + loader version, + the synthesiser's version when it adds negatives."""
        key = super().cache_key()
        if float(self.options.get("synthetic_negative_share") or 0) > 0:
            from tinyml_suite.common.io import config_hash
            from tinyml_suite.datasets.synthetic.gestures import GestureSynth

            key = config_hash({"loader": key, "synth_version": GestureSynth.VERSION}, length=16)
        return key

    @property
    def rate(self) -> float:
        o = self.options
        return float(o["target_rate"] or o["sample_rate"])

    # -- reading -----------------------------------------------------------------------
    def _files(self) -> dict[str, list[Path]]:
        o = self.options
        root = require_dir(
            o["root"], dataset="magic_wand",
            hint="wing/ ring/ slope/ negative/ folders of output_<gesture>_<user>.txt capture logs",
        )
        found: dict[str, list[Path]] = {}
        for label in o["labels"]:
            files = sorted((root / label).glob("output_*.txt")) if (root / label).is_dir() else []
            if not files:
                files = sorted(root.glob(f"output_{label}_*.txt"))
            if not files:
                raise DatasetError(
                    f"dataset.root={root} has no capture logs for label '{label}' "
                    f"(expected {root}/{label}/output_{label}_<user>.txt); fix the folder or dataset.labels"
                )
            found[label] = files
        return found

    def recordings(self) -> list[Recording]:
        """Every recording of every file, resampled, in g."""
        o = self.options
        scale = ACCEL_UNITS[o["unit"]]
        fs, target = float(o["sample_rate"]), self.rate
        out: list[Recording] = []
        dropped = 0
        for label, files in self._files().items():
            for path in files:
                stem = path.stem
                prefix = f"output_{label}_"
                who = stem[len(prefix):] if stem.startswith(prefix) else stem.removeprefix("output_")
                negative = label == o["negative_label"]
                group = f"{label}_{who}" if negative else who
                text = path.read_bytes().decode("utf-8", errors="replace")
                recs = parse_capture_log(text, source=str(path))
                if not recs:
                    raise DatasetError(
                        f"{path}: no 'x,y,z' sample lines found; is it a magic wand capture log?"
                    )
                for i, r in enumerate(recs):
                    if r.shape[1] < int(o["min_samples"]):
                        dropped += 1
                        continue
                    src = f"{path} recording {i}"
                    x = fill_missing(r * scale, max_gap=int(o["max_missing_gap"]), source=src)
                    x = to_rate(x, orig_rate=fs, target_rate=target, source=src)
                    out.append(Recording(x, label, group, src, continuous=negative))
        if dropped:
            log.info("magic_wand: dropped %d recordings shorter than %d samples", dropped, o["min_samples"])
        return out

    # -- windows and splits ------------------------------------------------------------
    def _load(self) -> DataSplits:
        o = self.options
        labels = tuple(o["labels"])
        recs = self.recordings()
        rng = np.random.default_rng([self.seed, 11])
        assign = split_groups(
            [r.group for r in recs], val=o["val_users"], test=o["test_users"], rng=rng
        )
        L, hop = int(o["window_samples"]), int(o["negative_hop"])
        shifts = int(o["train_shifts"])
        buckets: dict[str, dict[str, list]] = {
            s: {"x": [], "y": [], "g": [], "rec": []} for s in ("train", "val", "test")
        }
        aug = {"rotate_deg": float(o["augment_rotate_deg"]), "gain": float(o["augment_gain"]),
               "stretch": float(o["augment_stretch"])}
        for k, rec in enumerate(recs):
            split = assign[rec.group]
            b = buckets[split]
            if rec.continuous:
                train_hop = int(o["train_negative_hop"] or hop) if split == "train" else hop
                wins = list(slide(rec.x, L, train_hop))
                if not wins:  # shorter than one window: pad it
                    wins = [fit_window(rec.x, L)]
                if split == "train" and o["augment_negatives"]:
                    # every other copy is drawn backwards: still not a gesture, and new motion
                    copies = shifts if o["negative_copies"] is None else int(o["negative_copies"])
                    wins += [fit_window(augment_recording(reversed_recording(w) if (i + c) % 2 else w, rng, **aug),
                                        L, rng=rng)
                             for i, w in enumerate(list(wins)) for c in range(copies)]
            else:
                wins = [fit_window(rec.x, L)]
                if split == "train":
                    wins += [fit_window(augment_recording(rec.x, rng, **aug), L, rng=rng) for _ in range(shifts)]
            for w in wins:
                b["x"].append(w)
                b["y"].append(labels.index(rec.label))
                b["g"].append(rec.group)
                b["rec"].append(k)
        near = self._near_misses(recs, assign, labels, rng, aug)
        b = buckets["train"]
        for w, k in near:
            b["x"].append(w)
            b["y"].append(labels.index(o["negative_label"]))
            b["g"].append(recs[k].group)
            b["rec"].append(k)
        share = float(o["synthetic_negative_share"])
        if share > 0:
            from tinyml_suite.datasets.synthetic.gestures import synthetic_background

            if o["negative_label"] not in labels:
                raise ConfigError(
                    f"dataset.synthetic_negative_share={share} needs the negative class "
                    f"'{o['negative_label']}' among dataset.labels={list(labels)}"
                )
            n_syn = round(share * len(b["x"]) / (1.0 - share))
            kinds = o["synthetic_negative_kinds"]
            # The wand's style, as conf/dataset/gesture_synth_wand.yaml: slow letters, 2 g
            # range, the device pitching and rolling with the hand (a pointer), and the
            # logs' noise (WAND_NOISE_G).
            syn = synthetic_background(
                n_syn, seed=self.seed, sample_rate=self.rate, window_samples=L, axes="accel",
                tempo=2.0, accel_range_g=2.0, wrist=2.0, roll=5.0, accel_noise_g=WAND_NOISE_G,
                kinds=None if kinds is None else (dict(kinds) if isinstance(kinds, dict) else list(kinds)),
            )
            # Held as the real users hold the wand: each simulated window starts at the
            # orientation of a random training gesture, then gets the same augmentation;
            # otherwise orientation alone tells simulated (= negative) from real windows.
            ups = [r.x[:, 0] for r in recs if not r.continuous and assign[r.group] == "train"]
            if ups:
                syn = [fit_window(augment_recording(match_orientation(w, ups[int(rng.integers(len(ups)))]), rng, **aug),
                                  L, rng=rng) for w in syn]
            for w in syn:
                b["x"].append(w)
                b["y"].append(labels.index(o["negative_label"]))
                b["g"].append("synthetic")
                b["rec"].append(-1)
            log.info("magic_wand: %d simulated negative windows (%.0f %% of %d training windows), "
                     "%d near-miss windows from real training gestures", len(syn), 100.0 * len(syn) / len(b["x"]),
                     len(b["x"]), len(near))
        if o["smoke"]:
            for b in buckets.values():
                keep = sorted(rng.permutation(len(b["x"]))[: max(1, len(b["x"]) // 4)].tolist()) if b["x"] else []
                for key in b:
                    b[key] = [b[key][i] for i in keep]
        splits = {
            s: build_split(v["x"], v["y"], v["g"], {"recording": v["rec"]}, 3, L)
            for s, v in buckets.items()
        }
        return DataSplits(
            **splits, sample_rate=self.rate, channels=ACCEL_CHANNELS, task="classification",
            labels=labels, name=self.name,
        )

    def _near_misses(self, recs: list[Recording], assign: dict[str, str], labels: tuple[str, ...],
                     rng: np.random.Generator, aug: dict[str, float]) -> list[tuple[np.ndarray, int]]:
        """Negative windows made from the training gestures: drawn backwards, or abandoned.

        Returns ``(window, recording index)`` pairs; each is an augmented copy (random
        offset, rotation, gain, stretch) like the gestures' own training copies.
        """
        o = self.options
        L = int(o["window_samples"])
        out: list[tuple[np.ndarray, int]] = []
        for k, rec in enumerate(recs):
            if rec.continuous or assign[rec.group] != "train":
                continue
            variants = []
            if rec.label in o["reversed_negatives"]:
                variants.append(reversed_recording(rec.x))
            if rec.label in o["partial_negatives"]:
                variants.append(partial_recording(rec.x, float(rng.uniform(0.3, 0.5))))
            for x in variants:
                out += [(fit_window(augment_recording(x, rng, **aug), L, rng=rng), k)
                        for _ in range(int(o["near_miss_copies"]))]
        return out

    def streams(self, split: str = "test", seconds: float | None = None) -> list[LabelledStream]:
        """The negative logs of ``split`` as continuous streams (no gesture in them).

        Running the detector over them measures false triggers per minute on real,
        non-gesture motion. With ``gesture_streams``, every gesture recording of the
        split follows as its own stream: the device held still (first and last sample)
        for one window length before and after the gesture, whose span is the event.
        """
        o = self.options
        recs = self.recordings()
        assign = split_groups([r.group for r in recs], val=o["val_users"], test=o["test_users"],
                              rng=np.random.default_rng([self.seed, 11]))
        fs = self.rate
        out = [
            LabelledStream(r.x, fs, [], [(0.0, r.x.shape[1] / fs, "negative")], r.group)
            for r in recs
            if r.continuous and assign[r.group] == split
        ]
        if o["gesture_streams"]:
            L = int(o["window_samples"])
            for r in recs:
                if r.continuous or assign[r.group] != split:
                    continue
                n = r.x.shape[1]
                x = fit_window(r.x, n + 2 * L, offset=L)
                out.append(LabelledStream(x, fs, [(L / fs, (L + n) / fs, r.label)], [], r.group))
        return out
