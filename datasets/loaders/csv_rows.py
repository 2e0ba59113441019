"""Labelled windows, one per CSV row: the smallest loader (the worked example of docs/DEVELOPING.md).

Layout of ``dataset.root``::

    train.csv    test.csv    [val.csv]
    label,v0,v1,...,v<n-1>          <- one header row, then one window per row

A row holds ``channels`` interleaved channels (``v0`` is channel 0 at time 0, ``v1``
channel 1 at time 0, ...). Labels are strings; the classes are the labels of
``train.csv`` in sorted order. Without ``val.csv`` a seeded ``val_fraction`` of the
training rows is held out for validation. Every problem is one line naming the file
and the row.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for part in ("train", "test"):
...     _ = (root / f"{part}.csv").write_text("label,v0,v1,v2,v3\\nup,1,2,3,4\\ndown,4,3,2,1\\nup,1,2,3,5\\n")
>>> data = CsvRows(root=str(root), sample_rate=4.0, val_fraction=0.0, cache=False).load()
>>> data.labels, data.train.x.shape, data.sample_rate
(('down', 'up'), (3, 1, 4), 4.0)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = ["CsvRows", "CsvRowsOptions"]


@dataclass(frozen=True)
class CsvRowsOptions:
    """Options of :class:`CsvRows`; ``conf/dataset/csv_rows.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder holding train.csv, test.csv (val.csv)
    sample_rate: float = 100.0  # Hz of the samples in a row
    channels: int = 1  # channels interleaved in each row
    val_fraction: float = 0.2  # training rows held out for validation when there is no val.csv
    smoke: bool = False  # set by debug=smoke: at most 20 rows per file

    def __post_init__(self) -> None:
        if not self.sample_rate > 0:
            raise ConfigError(f"dataset.sample_rate={self.sample_rate} must be > 0 Hz")
        if self.channels < 1:
            raise ConfigError(f"dataset.channels={self.channels} must be >= 1")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"dataset.val_fraction={self.val_fraction} must be in [0, 1)")


def read_rows(path: Path, *, channels: int, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Windows [shape=(n, channels, samples)] float32 and their labels from one CSV file."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it ({exc})") from None
    if len(rows) < 2:
        raise DatasetError(f"{path}: no rows after the header; expected label,v0,v1,...")
    width = len(rows[0]) - 1
    if width < channels or width % channels:
        raise DatasetError(f"{path}: the header has {width} values, not a multiple of channels={channels}")
    labels, values = [], []
    for line, row in enumerate(rows[1:limit + 1 if limit else None], start=2):
        if len(row) != width + 1:
            raise DatasetError(f"{path}:{line}: {len(row)} fields, the header has {width + 1}")
        try:
            values.append([float(v) for v in row[1:]])
        except ValueError:
            raise DatasetError(f"{path}:{line}: a value is not a number") from None
        labels.append(row[0].strip())
    x = np.asarray(values, dtype=np.float32)
    if not np.isfinite(x).all():
        raise DatasetError(f"{path}: holds NaN or inf values")
    # interleaved channels: (n, samples, channels) -> (n, channels, samples)
    return x.reshape(len(x), width // channels, channels).transpose(0, 2, 1).copy(), labels


class CsvRows(Dataset):
    """Windows from ``train.csv``/``test.csv`` (see the module docstring)."""

    name = "csv_rows"
    task = "classification"
    VERSION = 1
    Options = CsvRowsOptions

    def _load(self) -> DataSplits:
        p: CsvRowsOptions = self.params
        root = require_dir(p.root, dataset=self.name, hint="train.csv and test.csv (label,v0,v1,... rows)")
        limit = 20 if p.smoke else None
        for part in ("train", "test"):
            if not (root / f"{part}.csv").is_file():
                raise DatasetError(f"dataset.root={root} has no {part}.csv; expected train.csv and test.csv")
        x_train, l_train = read_rows(root / "train.csv", channels=p.channels, limit=limit)
        classes = tuple(sorted(set(l_train)))

        def split(x: np.ndarray, labels: list[str], path: Path) -> Split:
            unknown = sorted(set(labels) - set(classes))
            if unknown:
                raise DatasetError(f"{path}: labels {unknown} do not occur in train.csv ({', '.join(classes)})")
            return Split(x, np.array([classes.index(lab) for lab in labels], dtype=np.int64))

        train = split(x_train, l_train, root / "train.csv")
        if (root / "val.csv").is_file():
            val = split(*read_rows(root / "val.csv", channels=p.channels, limit=limit), root / "val.csv")
        else:
            order = np.random.default_rng(self.seed).permutation(len(train))
            n_val = int(round(p.val_fraction * len(train)))
            val, train = train.subset(order[:n_val]), train.subset(order[n_val:])
        test = split(*read_rows(root / "test.csv", channels=p.channels, limit=limit), root / "test.csv")
        channel_names = tuple(f"ch{i}" for i in range(p.channels))
        return DataSplits(train, val, test, float(p.sample_rate), channel_names, self.task, classes, self.name)
