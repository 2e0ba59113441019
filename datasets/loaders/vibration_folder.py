"""Folders of accelerometer recordings (CSV, .npy or .wav), labelled by folder name.

Layout::

    <root>/normal/pump1_morning.csv        one recording per file
    <root>/normal/pump2.npy
    <root>/bearing/pump1_after.wav
    <root>/misalignment/...

* CSV: one row per sample, one column per channel, comma-separated (``csv_delimiter``),
  an optional header row naming the channels; ``channels`` picks columns by name or
  index.
* .npy: shape ``(samples,)`` or ``(samples, channels)`` (time first, like the CSV).
* .wav: any PCM/float WAV readable by soundfile; samples in [-1, 1] are multiplied
  by ``wav_full_scale`` (the sensor's full scale in your unit, e.g. 16 for +-16 g).

The files' rate is ``sample_rate_hz`` (required for CSV/.npy; a WAV's header must agree
when it is given); every recording is resampled to ``target_rate_hz`` (null: keep).
Labels are the folder names: ``normal_label`` is class 0 (normal), the others follow in
alphabetical order, so the same data serves the anomaly recipe (0 normal, > 0 anomaly)
and the fault classifier.

Split by file, stratified by label and seeded: ``test_fraction`` of each label's files
are the test set; validation is the last ``val_fraction`` of every training file (a
time block). A label with fewer than 2 files is cut in time into train/val/test blocks
(``single_recording_blocks``) and its windows carry ``meta["time_split"] = 1``.

:func:`split_recordings` holds the split and windowing logic shared with the CWRU
loader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = ["Recording", "VibrationFolder", "cut_windows", "read_recording", "split_recordings"]

log = logging.getLogger(__name__)

EXTENSIONS = (".csv", ".npy", ".wav")


@dataclass
class Recording:
    """One continuous recording, already at the dataset's rate.

    ``meta`` holds per-recording scalars copied to every window (fault, severity, load...).
    """

    x: np.ndarray  # (channels, samples), float32
    label: str
    group: str  # unique id (file stem or relative path)
    meta: dict[str, Any] = field(default_factory=dict)
    test: bool = False  # held out for the test split


def cut_windows(n_samples: int, start: int, stop: int, window: int, hop: int) -> np.ndarray:
    """Start indices of the windows lying wholly inside ``[start, stop)``.

    >>> cut_windows(100, 10, 50, 16, 8).tolist()
    [10, 18, 26, 34]
    """
    stop = min(stop, n_samples)
    if stop - start < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(start, stop - window + 1, hop, dtype=np.int64)


def split_recordings(
    recs: list[Recording],
    labels: tuple[str, ...],
    *,
    window: int,
    hop: int,
    train_hop: int,
    val_fraction: float,
    blocks: tuple[float, float, float],
    meta_types: dict[str, type],
) -> tuple[Split, Split, Split, list[str]]:
    """Window recordings into train/val/test without a recording on both train and test.

    Recordings with ``test=True`` go to test whole. Training recordings give their first
    ``1 - val_fraction`` to train (windows every ``train_hop``) and the rest to
    validation. A label without recordings on both sides is cut in time into
    ``blocks`` (train, val, test fractions). Returns the splits and those labels.
    """
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"dataset.val_fraction={val_fraction} must be in [0, 1)")
    if len(blocks) != 3 or min(blocks) <= 0 or abs(sum(blocks) - 1) > 1e-6:
        raise ConfigError(
            f"dataset.single_recording_blocks={list(blocks)} must be 3 positive fractions summing to 1"
        )
    if window < 16 or hop < 1 or train_hop < 1:
        raise ConfigError(f"dataset.window_samples={window} must be >= 16 and the hops >= 1")
    time_split = []
    for lab in labels:
        sides = {r.test for r in recs if r.label == lab}
        if sides and sides != {False, True}:
            time_split.append(lab)
            log.warning(
                "Class %s has recordings on one side of the split only; cutting them in time into "
                "train/val/test blocks %s (no window straddles a block)", lab, list(blocks))
    n_ch = recs[0].x.shape[0] if recs else 1
    parts: dict[str, dict[str, list]] = {s: {"x": [], "y": [], "g": [], "ts": [], "meta": []}
                                         for s in ("train", "val", "test")}

    def add(split: str, r: Recording, starts: np.ndarray, ts: int) -> None:
        if not len(starts):
            return
        idx = starts[:, None] + np.arange(window)[None, :]
        p = parts[split]
        p["x"].append(r.x[:, idx].transpose(1, 0, 2))
        k = len(starts)
        p["y"] += [labels.index(r.label)] * k
        p["g"] += [r.group] * k
        p["ts"] += [ts] * k
        p["meta"] += [r.meta] * k

    for r in recs:
        if r.label not in labels:
            continue
        n = r.x.shape[-1]
        if r.label in time_split:
            a = round(blocks[0] * n)
            b = round((blocks[0] + blocks[1]) * n)
            add("train", r, cut_windows(n, 0, a, window, train_hop), 1)
            add("val", r, cut_windows(n, a, b, window, hop), 1)
            add("test", r, cut_windows(n, b, n, window, hop), 1)
        elif r.test:
            add("test", r, cut_windows(n, 0, n, window, hop), 0)
        else:
            a = round((1 - val_fraction) * n)
            add("train", r, cut_windows(n, 0, a, window, train_hop), 0)
            add("val", r, cut_windows(n, a, n, window, hop), 0)

    def build(p: dict[str, list]) -> Split:
        x = np.concatenate(p["x"]) if p["x"] else np.zeros((0, n_ch, window), np.float32)
        meta = {k: np.asarray([m.get(k, t()) for m in p["meta"]], dtype=t if t is not str else str)
                for k, t in meta_types.items()}
        meta["time_split"] = np.asarray(p["ts"], dtype=np.int64)
        return Split(x, np.asarray(p["y"], dtype=np.int64), np.asarray(p["g"], dtype=str), meta)

    return build(parts["train"]), build(parts["val"]), build(parts["test"]), time_split


def _read_csv(path: Path, delimiter: str, channels: list[Any] | None) -> tuple[np.ndarray, list[str]]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text CSV (binary content); expected one row per sample") from None
    cells = [c.strip() for c in first.strip().split(delimiter)]

    def is_num(c: str) -> bool:
        try:
            float(c)
            return True
        except ValueError:
            return False

    header = None if all(is_num(c) for c in cells if c) else cells
    try:
        import warnings

        with warnings.catch_warnings():  # an empty file is refused below, with its name
            warnings.simplefilter("ignore", UserWarning)
            data = np.loadtxt(path, delimiter=delimiter, skiprows=1 if header else 0, ndmin=2,
                              encoding="utf-8-sig")
    except ValueError as exc:  # includes UnicodeDecodeError further down the file
        raise DatasetError(
            f"{path}: not a numeric CSV ({str(exc)[:200]}); expected one row per sample, one column per channel"
        ) from None
    names = header or [str(i) for i in range(data.shape[1])]
    if channels is not None:
        cols = []
        for c in channels:
            if str(c) in names:
                cols.append(names.index(str(c)))
            elif isinstance(c, int) and 0 <= c < data.shape[1]:
                cols.append(c)
            else:
                raise DatasetError(f"{path}: no column {c!r}; columns are {', '.join(names)}")
        data = data[:, cols]
        names = [names[i] for i in cols]
    return data.T, names


def read_recording(
    path: Path,
    *,
    sample_rate_hz: float | None,
    channels: list[Any] | None = None,
    csv_delimiter: str = ",",
    wav_full_scale: float = 1.0,
) -> tuple[np.ndarray, float, list[str]]:
    """One file as ``(channels, samples)`` float64, its rate and its channel names."""
    ext = path.suffix.lower()
    if ext == ".wav":
        import soundfile as sf

        from tinyml_suite.datasets.wav import check_riff

        check_riff(path)  # a truncated copy is refused, not read short
        try:
            data, rate = sf.read(str(path), dtype="float64", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
            raise DatasetError(f"cannot read {path}: {exc}") from None
        if sample_rate_hz and abs(float(sample_rate_hz) - rate) > 1e-6:
            raise DatasetError(
                f"{path} is sampled at {rate} Hz but dataset.sample_rate_hz={sample_rate_hz}; "
                "fix the config (or set it to null to read WAV rates from their headers)"
            )
        x = data.T * float(wav_full_scale)
        names = [str(i) for i in range(x.shape[0])]
        if channels is not None:
            idx = [int(c) for c in channels]
            if max(idx) >= x.shape[0]:
                raise DatasetError(f"{path} has {x.shape[0]} channel(s); dataset.channels={channels}")
            x, names = x[idx], [names[i] for i in idx]
        _check_samples(path, x)
        return x, float(rate), names
    if not sample_rate_hz:
        raise DatasetError(
            f"{path.name}: CSV/.npy files carry no sample rate; set dataset.sample_rate_hz=<Hz>"
        )
    if ext == ".csv":
        x, names = _read_csv(path, csv_delimiter, channels)
    elif ext == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"cannot read {path}: {exc}") from None
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise DatasetError(
                f"{path}: array of shape {arr.shape} and dtype {arr.dtype}; expected numbers of shape "
                "(samples,) or (samples, channels)"
            )
        x = arr.T.astype(np.float64)
        names = [str(i) for i in range(x.shape[0])]
        if channels is not None:
            idx = [int(c) for c in channels]
            if max(idx) >= x.shape[0]:
                raise DatasetError(f"{path} has {x.shape[0]} channel(s); dataset.channels={channels}")
            x, names = x[idx], [names[i] for i in idx]
    else:
        raise DatasetError(f"{path}: unsupported file type; use {', '.join(EXTENSIONS)}")
    _check_samples(path, x)
    return x, float(sample_rate_hz), names


def _check_samples(path: Path, x: np.ndarray) -> None:
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 2:
        raise DatasetError(f"{path} holds no samples (shape {x.shape} as channels x samples); "
                           "a recording needs at least a window of samples")
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise DatasetError(f"{path} contains NaN or inf samples (first at sample {int(bad[1])}, channel "
                           f"{int(bad[0])}); clean the recording first")


@dataclass(frozen=True)
class VibrationFolderOptions:
    """Options of :class:`VibrationFolder`; ``conf/dataset/vibration_folder.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder with one subfolder per label (normal/ and one per fault)
    normal_label: str = 'normal'  # folder holding normal recordings (class 0)
    sample_rate_hz: Any = field(default=None, metadata={"required": True})  # Hz of the CSV/.npy files (WAV headers must agree)
    target_rate_hz: float | None = None  # Hz every recording is resampled to (null: keep; the YAML: 8000)
    channels: Any = None  # CSV column names or indices to keep; null: all
    csv_delimiter: str = ','
    wav_full_scale: float = 1.0  # WAV samples in [-1, 1] are multiplied by this (your unit's full scale)
    remove_dc: bool = True  # subtract each recording's mean
    window_samples: int = 1024  # samples per window
    hop_samples: Any = None  # samples between validation/test windows (null: window_samples // 2)
    train_hop_samples: Any = None  # samples between training windows (null: hop_samples)
    test_fraction: float = 0.2  # files per label held out for test (seeded, stratified)
    val_fraction: float = 0.2  # last part of each training file used for validation
    single_recording_blocks: tuple[float, ...] = (0.6, 0.2, 0.2)  # time blocks for a label with a single file
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class VibrationFolder(Dataset):
    """Accelerometer recordings in label folders; see the module docstring and
    ``conf/dataset/vibration_folder.yaml`` for the options."""

    name: ClassVar[str] = "vibration_folder"
    task: ClassVar[str] = "classification"
    modality: ClassVar[str] = "vibration"
    VERSION: ClassVar[int] = 1
    Options = VibrationFolderOptions

    def _load(self) -> DataSplits:
        from tinyml_suite.common.dsp import resample

        o = self.options
        root = require_dir(o.get("root"), dataset="vibration_folder",
                           hint="one subfolder per label (normal/, <fault>/) of .csv, .npy or .wav recordings")
        normal = str(o.get("normal_label", "normal"))
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        names = [p.name for p in folders]
        if normal not in names:
            raise DatasetError(
                f"dataset.root={root} has no '{normal}' folder (found: {', '.join(names) or 'none'}); "
                "put normal recordings there or set dataset.normal_label"
            )
        labels = (normal, *[n for n in names if n != normal])
        channels = o.get("channels")
        channels = None if channels is None else list(channels)
        target = o.get("target_rate_hz")
        recs: list[Recording] = []
        channel_names: list[str] | None = None
        rate_out = None
        for folder in folders:
            files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS)
            if not files:
                log.warning("Folder %s holds no %s file; label skipped", folder.name, "/".join(EXTENSIONS))
            for path in files:
                x, rate, cnames = read_recording(
                    path, sample_rate_hz=o.get("sample_rate_hz"), channels=channels,
                    csv_delimiter=str(o.get("csv_delimiter", ",")),
                    wav_full_scale=float(o.get("wav_full_scale", 1.0)))
                if channel_names is None or all(c.isdigit() for c in channel_names):
                    if channel_names is not None and len(cnames) != len(channel_names):
                        raise DatasetError(
                            f"{path} has {len(cnames)} channel(s) but earlier files have "
                            f"{len(channel_names)}; pick the same channels with dataset.channels=[...]"
                        )
                    channel_names = cnames  # named (CSV header) channels win over indices
                elif len(cnames) != len(channel_names):
                    raise DatasetError(
                        f"{path} has {len(cnames)} channel(s) but earlier files have {len(channel_names)}; "
                        "pick the same channels with dataset.channels=[...]"
                    )
                if bool(o.get("remove_dc", True)):
                    x = x - x.mean(axis=-1, keepdims=True)
                out_rate = float(target) if target else rate
                if rate_out is not None and out_rate != rate_out:
                    raise DatasetError(
                        f"{path} is at {rate} Hz but other files at {rate_out} Hz; set dataset.target_rate_hz "
                        "to resample them all to one rate"
                    )
                rate_out = out_rate
                x = resample(x, orig_rate=rate, target_rate=out_rate)
                rel = path.relative_to(root)
                recs.append(Recording(x.astype(np.float32), folder.name, str(rel.with_suffix("")),
                                      {"fault": folder.name, "severity": 0}))
        if not any(r.label == normal for r in recs):
            raise DatasetError(f"the '{normal}' folder under {root} holds no recording")
        labels = tuple(lab for lab in labels if any(r.label == lab for r in recs))
        frac = float(o.get("test_fraction", 0.2))
        if not 0 < frac < 1:
            raise ConfigError(f"dataset.test_fraction={frac} must be in (0, 1)")
        rng = np.random.default_rng(self.seed)
        for lab in labels:
            idx = [i for i, r in enumerate(recs) if r.label == lab]
            if len(idx) < 2:
                continue
            k = min(len(idx) - 1, max(1, round(frac * len(idx))))
            for i in rng.permutation(idx)[:k]:
                recs[int(i)].test = True
        window = int(o.get("window_samples", 1024))
        hop = int(o.get("hop_samples") or window // 2)
        if bool(o.get("smoke", False)):
            for r in recs:
                r.x = r.x[:, : 12 * window]
        train, val, test, _ = split_recordings(
            recs, labels, window=window, hop=hop, train_hop=int(o.get("train_hop_samples") or hop),
            val_fraction=float(o.get("val_fraction", 0.2)),
            blocks=tuple(float(v) for v in o.get("single_recording_blocks", (0.6, 0.2, 0.2))),
            meta_types={"fault": str, "severity": np.int64},
        )
        if len(train) == 0:
            raise DatasetError(
                f"no training window: recordings under {root} are shorter than window_samples={window}"
            )
        return DataSplits(train, val, test, sample_rate=float(rate_out), channels=tuple(channel_names or ()),
                          task=self.task, labels=labels, name=self.name)
