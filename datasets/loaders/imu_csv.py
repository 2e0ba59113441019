"""Labelled IMU CSV folders, in the Edge Impulse / Arduino capture styles.

Layouts (label from the folder or from the file name)::

    <root>/<label>/<anything>.csv            label_from: folder
    <root>/<label>.<id>.csv                  label_from: filename (Edge Impulse export)
    <root>/<label>_<anything>.csv            label_from: filename

Each file starts with a header naming the columns, e.g. ``aX,aY,aZ,gX,gY,gZ`` (the
Arduino IMU capture sketch) or ``timestamp,accX,accY,accZ`` (Edge Impulse CSV); a
timestamp column is optional. A file holds one recording, or several separated by
blank lines (or by a repeated header line). Delimiters ``,``, ``;`` or tab.

Columns are found by common names (``aX``/``accX``/``acc_x``/``ax``...; ``gX``/``gyrX``/
``gyro_x``...) or named in ``columns``. Values are converted to the suite's units
(accelerometer g, gyroscope rad/s) from ``accel_unit``/``gyro_unit``. Without a
timestamp the file's rate is ``sample_rate``; with one, the rate is measured per
recording and jittered samples are put on a uniform grid. Every recording is then
resampled to ``target_rate``. Missing values (empty fields, ``nan``) are interpolated
over gaps of at most ``max_missing_gap`` samples; longer gaps, rows with the wrong
number of fields and unparseable numbers are refused with the file and line.

Users come from ``user_regex`` (a regex with a ``user`` group, matched against the
path relative to ``root``); without it each recording is its own group and the
held-out splits are drawn per label (stratified).
"""

from __future__ import annotations

import csv
import io
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
    GYRO_CHANNELS,
    GYRO_UNITS,
    LabelledStream,
    Recording,
    augment_recording,
    build_split,
    fill_missing,
    fit_window,
    slide,
    split_groups,
    to_rate,
)

__all__ = ["COLUMN_ALIASES", "ImuCsv", "find_columns", "read_imu_csv"]

log = logging.getLogger(__name__)

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "ax": ("ax", "accx", "acc_x", "accelx", "accel_x", "accelerometerx", "accelerometer_x", "a_x", "linaccx"),
    "ay": ("ay", "accy", "acc_y", "accely", "accel_y", "accelerometery", "accelerometer_y", "a_y", "linaccy"),
    "az": ("az", "accz", "acc_z", "accelz", "accel_z", "accelerometerz", "accelerometer_z", "a_z", "linaccz"),
    "gx": ("gx", "gyrx", "gyrox", "gyro_x", "gyr_x", "gyroscopex", "gyroscope_x", "g_x"),
    "gy": ("gy", "gyry", "gyroy", "gyro_y", "gyr_y", "gyroscopey", "gyroscope_y", "g_y"),
    "gz": ("gz", "gyrz", "gyroz", "gyro_z", "gyr_z", "gyroscopez", "gyroscope_z", "g_z"),
    "timestamp": ("timestamp", "time", "t", "ms", "millis", "timestamp_ms", "time_ms", "ts"),
}
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _norm(name: str) -> str:
    return re.sub(r"[\s()\[\]/]+", "", name.strip().lower()).replace("-", "_")


def find_columns(header: list[str], mapping: dict[str, str] | None, *, source: str) -> dict[str, int]:
    """Column index of each canonical channel (and ``timestamp``) found in ``header``.

    Examples
    --------
    >>> find_columns(["timestamp", "accX", "accY", "accZ"], None, source="f.csv")
    {'ax': 1, 'ay': 2, 'az': 3, 'timestamp': 0}
    """
    normed = [_norm(h) for h in header]
    out: dict[str, int] = {}
    if mapping:
        for canon, col in mapping.items():
            if canon not in COLUMN_ALIASES:
                raise ConfigError(
                    f"dataset.columns key {canon!r} is not a channel; use {', '.join(COLUMN_ALIASES)}"
                )
            if col is None:
                continue
            if _norm(str(col)) not in normed:
                raise DatasetError(
                    f"{source}: column {col!r} (dataset.columns.{canon}) is not in the header {header}"
                )
            out[canon] = normed.index(_norm(str(col)))
    for canon, aliases in COLUMN_ALIASES.items():
        if canon in out or (mapping and canon in mapping):
            continue
        for alias in aliases:
            if alias in normed:
                out[canon] = normed.index(alias)
                break
    return out


def _is_number(tok: str) -> bool:
    tok = tok.strip()
    if tok == "" or tok.lower() == "nan":
        return True
    try:
        float(tok)
    except ValueError:
        return False
    return True


def read_imu_csv(text: str, *, source: str) -> tuple[list[str], list[list[list[str]]]]:
    """Split a CSV text into its header and recordings (rows of string fields).

    Recordings are separated by blank lines or by a repeated header line.

    Examples
    --------
    >>> h, recs = read_imu_csv("aX,aY,aZ\\n1,2,3\\n4,5,6\\n\\n7,8,9\\n", source="x.csv")
    >>> h, [len(r) for r in recs]
    (['aX', 'aY', 'aZ'], [2, 1])
    """
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise DatasetError(f"{source}: the file is empty; expected a header line such as aX,aY,aZ,gX,gY,gZ")
    delim = max((",", ";", "\t"), key=first.count)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delim))]
    if all(_is_number(h) for h in header):
        raise DatasetError(
            f"{source}: the first line {first.strip()!r} is data, not a header; add a header naming "
            "the columns (e.g. aX,aY,aZ,gX,gY,gZ)"
        )
    recordings: list[list[list[str]]] = []
    current: list[list[str]] = []
    seen_header = False
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            if current:
                recordings.append(current)
                current = []
            continue
        fields = [f.strip() for f in next(csv.reader(io.StringIO(line), delimiter=delim))]
        if fields == header:
            if seen_header and current:
                recordings.append(current)
                current = []
            seen_header = True
            continue
        if len(fields) != len(header):
            raise DatasetError(
                f"{source} line {lineno}: {len(fields)} fields but the header has {len(header)}; "
                "fix the row (missing values may be left empty, but keep the delimiters)"
            )
        bad = next((f for f in fields if not _is_number(f)), None)
        if bad is not None:
            raise DatasetError(f"{source} line {lineno}: {bad!r} is not a number")
        current.append(fields)
    if current:
        recordings.append(current)
    if not recordings:
        raise DatasetError(f"{source}: a header and no sample rows; record data into it or delete it")
    return header, recordings


@dataclass(frozen=True)
class ImuCsvOptions:
    """Options of :class:`ImuCsv`; ``conf/dataset/imu_csv.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # <label>/*.csv, or <label>.<id>.csv / <label>_<...>.csv
    label_from: str = 'auto'  # folder | filename | auto (folder when files are in sub-folders)
    labels: Any = None  # classes to keep, in this order (null: every label found, sorted)
    negative_labels: tuple[str, ...] = ('idle', 'negative', 'noise', 'unknown')  # labels that are not gestures
    columns: Any = None  # {ax: <col>, ..., gz: <col>, timestamp: <col>}; null: detect common names
    axes: str = 'auto'  # accel | accel_gyro | auto (gyro when every file has it)
    accel_unit: str = 'g'  # g | mg | m/s2
    gyro_unit: str = 'dps'  # dps | rad/s | mdps
    timestamp_unit: str = 'ms'  # s | ms | us (when a timestamp column is present)
    sample_rate: Any = None  # Hz of files without a timestamp column (required for them)
    target_rate: Any = None  # Hz the app runs at; every recording is resampled to it (null: sample_rate)
    mode: str = 'segment'  # segment: one gesture per recording; continuous: slide windows
    window_samples: int = 128  # samples per window at target_rate
    hop: int = 32  # samples between windows (continuous mode)
    train_shifts: int = 2  # augmented copies of each training gesture (segment mode): random offset + below
    augment_rotate_deg: float = 15.0  # copies rotated by up to this angle (a device held differently), degrees
    augment_gain: float = 0.1  # copies scaled by 1 +- this
    augment_stretch: float = 0.1  # copies played 1 +- this faster/slower
    user_regex: Any = None  # e.g. '_(?P<user>[a-z0-9]+)\.csv$'; null: split recordings per label
    val_users: Any = 0.15  # user names (with user_regex) or a fraction of the groups
    test_users: Any = 0.15
    max_missing_gap: int = 3  # longest run of missing samples that is interpolated
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class ImuCsv(Dataset):
    """Labelled IMU recordings from CSV files (see the module docstring for layouts).

    Options (``conf/dataset/imu_csv.yaml``)
    -----------------------------------------
    root : the folder of CSV files
    label_from : 'folder', 'filename' or 'auto' (folder when files are in sub-folders)
    labels : classes to keep (null: every label found); 'negative_labels' are non-events
    columns : {ax: <col>, ..., gz: <col>, timestamp: <col>} to override auto-detection
    axes : 'accel', 'accel_gyro' or 'auto' (gyro when every file has it)
    accel_unit, gyro_unit : units in the files ('g', 'mg', 'm/s2'; 'dps', 'rad/s', 'mdps')
    timestamp_unit : 's', 'ms' or 'us'
    sample_rate : rate of files without timestamps (Hz)
    target_rate : rate the app runs at (null: sample_rate)
    mode : 'segment' (each recording is one gesture) or 'continuous' (slide windows)
    window_samples, hop : window length and hop (continuous mode) in samples
    train_shifts : augmented copies of each training gesture (segment mode): a random
        offset in the window and the ``augment_*`` perturbations
    augment_rotate_deg, augment_gain, augment_stretch : rotation (degrees), gain and
        time stretch of the copies (:func:`.imu_common.augment_recording`)
    user_regex : regex with a (?P<user>...) group matched on the relative path
    val_users, test_users : user names, or a fraction of the groups (per label without users)
    max_missing_gap : longest run of missing values that is interpolated
    """

    name = "imu_csv"
    task = "classification"
    modality = "imu"
    VERSION = 1
    Options = ImuCsvOptions


    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # checks the options against Options
        o = self.options
        checks = [
            ("label_from", ("auto", "folder", "filename")),
            ("axes", ("auto", "accel", "accel_gyro")),
            ("accel_unit", tuple(ACCEL_UNITS)),
            ("gyro_unit", tuple(GYRO_UNITS)),
            ("timestamp_unit", tuple(_TIME_UNITS)),
            ("mode", ("segment", "continuous")),
        ]
        for key, valid in checks:
            if o[key] not in valid:
                raise ConfigError(f"dataset.{key}={o[key]!r} must be one of {', '.join(valid)}")
        if o["sample_rate"] is None and o["target_rate"] is None:
            raise ConfigError(
                "dataset.sample_rate is not set; give the files' rate in Hz (e.g. dataset.sample_rate=119), "
                "or dataset.target_rate when every file has a timestamp column"
            )
        if o["user_regex"]:
            try:
                rx = re.compile(str(o["user_regex"]))
            except re.error as exc:
                raise ConfigError(f"dataset.user_regex={o['user_regex']!r} is not a valid regex ({exc})") from None
            if "user" not in rx.groupindex:
                raise ConfigError(f"dataset.user_regex={o['user_regex']!r} needs a named group (?P<user>...)")

    @property
    def rate(self) -> float:
        o = self.options
        return float(o["target_rate"] or o["sample_rate"])

    # -- reading -----------------------------------------------------------------------
    def _label_of(self, path: Path, root: Path) -> str:
        rel = path.relative_to(root)
        how = self.options["label_from"]
        if how == "auto":
            how = "folder" if len(rel.parts) > 1 else "filename"
        if how == "folder":
            if len(rel.parts) < 2:
                raise DatasetError(
                    f"{path}: dataset.label_from=folder but the file is not in a label folder; "
                    "use dataset.label_from=filename"
                )
            return rel.parts[0]
        stem = path.name[: -len(path.suffix)] if path.suffix else path.name
        return re.split(r"[._]", stem, maxsplit=1)[0]

    def _read_file(self, path: Path, root: Path) -> tuple[bool, list[tuple[np.ndarray, float]]]:
        """(has_gyro, [(x (channels, n) canonical units at the file rate, rate), ...])."""
        o = self.options
        src = str(path)
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        header, recs = read_imu_csv(text, source=src)
        cols = find_columns(header, dict(o["columns"]) if o["columns"] else None, source=src)
        missing = [c for c in ACCEL_CHANNELS if c not in cols]
        if missing:
            raise DatasetError(
                f"{src}: no accelerometer column for {missing} in header {header}; "
                "name them with dataset.columns={ax: <col>, ay: <col>, az: <col>}"
            )
        has_gyro = all(c in cols for c in GYRO_CHANNELS)
        chans = list(ACCEL_CHANNELS) + (list(GYRO_CHANNELS) if has_gyro else [])
        factors = [ACCEL_UNITS[o["accel_unit"]]] * 3 + [GYRO_UNITS[o["gyro_unit"]]] * (3 if has_gyro else 0)
        out = []
        for i, rows in enumerate(recs):
            rsrc = f"{src} recording {i}"
            arr = np.array([[float(f) if f and f.lower() != "nan" else np.nan for f in row] for row in rows])
            x = arr[:, [cols[c] for c in chans]].T * np.asarray(factors)[:, None]
            x = fill_missing(x, max_gap=int(o["max_missing_gap"]), source=rsrc)
            rate = o["sample_rate"]
            if "timestamp" in cols and len(rows) > 2:
                x, rate = self._regularise(arr[:, cols["timestamp"]], x, rsrc)
            if rate is None:
                raise DatasetError(
                    f"{src}: no timestamp column and dataset.sample_rate is not set; give the rate in Hz"
                )
            out.append((x, float(rate)))
        return has_gyro, out

    def _regularise(self, ts: np.ndarray, x: np.ndarray, src: str) -> tuple[np.ndarray, float]:
        """Put samples with timestamps on a uniform grid; return (x, measured rate)."""
        t = ts * _TIME_UNITS[self.options["timestamp_unit"]]
        if not np.all(np.isfinite(t)):
            raise DatasetError(f"{src}: missing timestamps; fill them or drop the timestamp column")
        dt = np.diff(t)
        if np.any(dt <= 0):
            raise DatasetError(f"{src}: timestamps are not increasing; sort the rows or check dataset.columns.timestamp")
        step = float(np.median(dt))
        rate = 1.0 / step
        rate = round(rate) if rate >= 20 else round(rate, 1)
        n = int(np.floor((t[-1] - t[0]) * rate + 1e-6)) + 1
        grid = t[0] + np.arange(n) / rate
        if np.max(np.abs(dt - step)) > 0.01 * step or n != len(t):
            x = np.stack([np.interp(grid, t, ch) for ch in x]).astype(np.float32)
        return x, float(rate)

    def recordings(self) -> list[Recording]:
        """Every recording, in canonical units, at ``target_rate``."""
        o = self.options
        root = require_dir(o["root"], dataset="imu_csv", hint="labelled IMU .csv files (<label>/*.csv or <label>.<id>.csv)")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".csv" and p.is_file())
        if not files:
            raise DatasetError(f"dataset.root={root} holds no .csv files; expected <label>/*.csv or <label>.<id>.csv")
        keep = set(o["labels"]) if o["labels"] else None
        rx = re.compile(str(o["user_regex"])) if o["user_regex"] else None
        read: list[tuple[str, str | None, Path, bool, list]] = []
        for path in files:
            label = self._label_of(path, root)
            if keep is not None and label not in keep:
                continue
            user = None
            if rx is not None:
                m = rx.search(str(path.relative_to(root)))
                if m is None:
                    raise DatasetError(
                        f"{path}: dataset.user_regex={o['user_regex']!r} does not match its path; fix the regex"
                    )
                user = m.group("user")
            has_gyro, recs = self._read_file(path, root)
            read.append((label, user, path, has_gyro, recs))
        if not read:
            raise DatasetError(f"dataset.root={root}: no file has one of dataset.labels={list(o['labels'])}")
        axes = o["axes"]
        all_gyro = all(r[3] for r in read)
        if axes == "auto":
            axes = "accel_gyro" if all_gyro else "accel"
        if axes == "accel_gyro" and not all_gyro:
            bad = next(str(r[2]) for r in read if not r[3])
            raise DatasetError(f"{bad}: dataset.axes=accel_gyro but the file has no gyroscope columns")
        nch = 6 if axes == "accel_gyro" else 3
        target = self.rate
        out = []
        for label, user, path, _, recs in read:
            for i, (x, rate) in enumerate(recs):
                src = f"{path} recording {i}"
                x = to_rate(x[:nch], orig_rate=rate, target_rate=target, source=src)
                group = user if user is not None else f"{path.relative_to(root)}#{i}"
                out.append(Recording(x, label, group, src, continuous=o["mode"] == "continuous"))
        return out

    # -- windows and splits ------------------------------------------------------------
    def _assign(self, recs: list[Recording]) -> dict[str, str]:
        o = self.options
        rng = np.random.default_rng([self.seed, 13])
        if o["user_regex"]:
            return split_groups([r.group for r in recs], val=o["val_users"], test=o["test_users"], rng=rng)
        for key in ("val_users", "test_users"):
            v = o[key]
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(
                    f"dataset.{key}={v!r} names users but dataset.user_regex is not set; give a fraction "
                    "(e.g. 0.15) or set user_regex"
                )
        assign: dict[str, str] = {}
        for label in sorted({r.label for r in recs}):
            groups = [r.group for r in recs if r.label == label]
            if len(set(groups)) < 3:
                assign.update({g: "train" for g in groups})
                log.warning("imu_csv: label %r has fewer than 3 recordings; all of them train", label)
                continue
            n = len(set(groups))
            k_val = max(1, round(float(o["val_users"]) * n)) if o["val_users"] else 0
            k_test = max(1, round(float(o["test_users"]) * n)) if o["test_users"] else 0
            assign.update(split_groups(groups, val=k_val, test=k_test, rng=rng, what="recording"))
        return assign

    def _load(self) -> DataSplits:
        o = self.options
        recs = self.recordings()
        labels = tuple(o["labels"]) if o["labels"] else tuple(sorted({r.label for r in recs}))
        nch = recs[0].x.shape[0]
        channels = ACCEL_CHANNELS + (GYRO_CHANNELS if nch == 6 else ())
        assign = self._assign(recs)
        L, hop = int(o["window_samples"]), int(o["hop"])
        rng = np.random.default_rng([self.seed, 17])
        buckets: dict[str, dict[str, list]] = {s: {"x": [], "y": [], "g": [], "rec": []} for s in ("train", "val", "test")}
        for k, rec in enumerate(recs):
            split = assign[rec.group]
            if rec.continuous:
                wins = list(slide(rec.x, L, hop)) or [fit_window(rec.x, L)]
            else:
                wins = [fit_window(rec.x, L)]
                if split == "train":
                    aug = {"rotate_deg": float(o["augment_rotate_deg"]), "gain": float(o["augment_gain"]),
                           "stretch": float(o["augment_stretch"])}
                    wins += [fit_window(augment_recording(rec.x, rng, **aug), L, rng=rng)
                             for _ in range(int(o["train_shifts"]))]
            b = buckets[split]
            for w in wins:
                b["x"].append(w)
                b["y"].append(labels.index(rec.label))
                b["g"].append(rec.group)
                b["rec"].append(k)
        if o["smoke"]:
            for b in buckets.values():
                n = len(b["x"])
                keep = sorted(rng.permutation(n)[: max(1, n // 4)].tolist()) if n else []
                for key in b:
                    b[key] = [b[key][i] for i in keep]
        splits = {s: build_split(v["x"], v["y"], v["g"], {"recording": v["rec"]}, nch, L) for s, v in buckets.items()}
        return DataSplits(**splits, sample_rate=self.rate, channels=channels, task="classification",
                          labels=labels, name=self.name)

    def streams(self, split: str = "test", seconds: float | None = None) -> list[LabelledStream]:
        """Held-out continuous recordings of negative labels (false-trigger streams)."""
        o = self.options
        if o["mode"] != "continuous":
            return []
        recs = self.recordings()
        assign = self._assign(recs)
        neg = set(o["negative_labels"])
        return [
            LabelledStream(r.x, self.rate, [], [(0.0, r.x.shape[1] / self.rate, r.label)], r.group)
            for r in recs
            if r.label in neg and assign[r.group] == split
        ]
