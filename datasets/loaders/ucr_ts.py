"""UCR/UEA time-series classification archive, ``.ts`` format (sktime's format).

A problem is a pair of files ``<root>/<Problem>_TRAIN.ts`` and ``<Problem>_TEST.ts``
(optionally inside ``<root>/<Problem>/``)::

    # comments
    @problemName BasicMotions
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6
    @equalLength true
    @seriesLength 100
    @classLabel true Standing Running Walking Badminton
    @data
    -0.74,0.12,...:0.3,...:...:Standing      <- one case: dimensions split by ':', label last

Missing values (``?``, ``NaN``) are interpolated over short gaps; unequal lengths
(``@equalLength false``) are padded or cropped to ``window_samples``; the archive states
no sample rate, so ``sample_rate`` is required, and cases are resampled to
``target_rate`` when it differs. Time-stamped files (``@timeStamps true``) are refused.

The archive has no subject ids: the official TRAIN file is split into train and
validation (stratified by class, seeded), the TEST file is the test split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.imu_common import (
    ACCEL_CHANNELS,
    GYRO_CHANNELS,
    build_split,
    fill_missing,
    fit_window,
    to_rate,
)

__all__ = ["UcrTs", "parse_ts"]

log = logging.getLogger(__name__)


def parse_ts(text: str, *, source: str) -> tuple[dict[str, Any], list[np.ndarray], list[str]]:
    """Header, cases [each shape=(dims, n), NaN where missing] and labels of a .ts text.

    Examples
    --------
    >>> h, xs, ys = parse_ts("@problemName P\\n@classLabel true a b\\n@data\\n1,2,3:4,5,6:a\\n1,?,2:3,3,3:b\\n", source="p")
    >>> h["classlabel"], [x.shape for x in xs], ys, bool(np.isnan(xs[1][0, 1]))
    (['a', 'b'], [(2, 3), (2, 3)], ['a', 'b'], True)
    """
    header: dict[str, Any] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DatasetError(f"{source} line {lineno}: expected an @tag before @data, got {line[:40]!r}")
            tag, _, rest = line[1:].partition(" ")
            tag = tag.lower()
            if tag == "data":
                in_data = True
                if header.get("timestamps") == "true":
                    raise DatasetError(
                        f"{source}: @timeStamps true is not supported; export the series without "
                        "time stamps (values only)"
                    )
                continue
            if tag == "classlabel":
                parts = rest.split()
                header[tag] = parts[1:] if parts and parts[0].lower() == "true" else None
            else:
                header[tag] = rest.strip().lower() if tag != "problemname" else rest.strip()
            continue
        fields = line.split(":")
        has_label = header.get("classlabel") is not None
        if has_label:
            if len(fields) < 2:
                raise DatasetError(f"{source} line {lineno}: no ':<label>' at the end of the case")
            label = fields[-1].strip()
            fields = fields[:-1]
            if label not in header["classlabel"]:
                raise DatasetError(
                    f"{source} line {lineno}: label {label!r} is not in @classLabel {header['classlabel']}"
                )
        else:
            raise DatasetError(f"{source}: @classLabel false (a regression problem) is not a gesture dataset")
        dims = []
        for d, f in enumerate(fields):
            if "(" in f:
                raise DatasetError(f"{source} line {lineno}: time-stamped values are not supported")
            try:
                vals = [np.nan if v.strip() in ("?", "", "NaN", "nan") else float(v) for v in f.split(",")]
            except ValueError as exc:
                raise DatasetError(f"{source} line {lineno}, dimension {d}: {exc}") from None
            dims.append(vals)
        lengths = {len(v) for v in dims}
        if len(lengths) != 1:
            raise DatasetError(
                f"{source} line {lineno}: dimensions have different lengths {sorted(lengths)}; "
                "this loader needs one length per case"
            )
        if cases and len(dims) != cases[0].shape[0]:
            raise DatasetError(
                f"{source} line {lineno}: {len(dims)} dimensions but earlier cases have {cases[0].shape[0]}"
            )
        cases.append(np.asarray(dims, dtype=np.float64))
        labels.append(label)
    if not in_data:
        raise DatasetError(f"{source}: no @data line; is it a UCR/UEA .ts file?")
    if not cases:
        raise DatasetError(f"{source}: no cases after @data")
    return header, cases, labels


@dataclass(frozen=True)
class UcrTsOptions:
    """Options of :class:`UcrTs`; ``conf/dataset/ucr_ts.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder holding <Problem>_TRAIN.ts and <Problem>_TEST.ts
    problem: Any = None  # problem name; null: the only *_TRAIN.ts in root
    sample_rate: Any = field(default=None, metadata={"required": True})  # Hz of the series (the format does not store it; BasicMotions: 10)
    target_rate: Any = None  # Hz the app runs at (null: sample_rate)
    window_samples: Any = None  # samples per window (null: the longest case)
    channels: Any = None  # channel names (null: ax,ay,az[,gx,gy,gz] for 3/6 dims, else d0..)
    val_fraction: float = 0.2  # share of TRAIN cases held out for validation, per class
    max_missing_gap: int = 5  # longest run of missing values ('?') that is interpolated
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class UcrTs(Dataset):
    """A UCR/UEA classification problem in the .ts format.

    Options (``conf/dataset/ucr_ts.yaml``)
    ----------------------------------------
    root : folder holding <problem>_TRAIN.ts and <problem>_TEST.ts
    problem : problem name (null: the only *_TRAIN.ts in root)
    sample_rate : rate of the series in Hz (the archive does not state it)
    target_rate : rate the app runs at (null: sample_rate)
    window_samples : model window (null: the longest case after resampling)
    channels : channel names (null: ax.. for 3 or 6 dimensions, else d0, d1, ...)
    val_fraction : share of the TRAIN cases held out for validation (per class)
    max_missing_gap : longest run of missing values that is interpolated
    """

    name = "ucr_ts"
    task = "classification"
    modality = "imu"
    VERSION = 1
    Options = UcrTsOptions


    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # checks the options against Options
        o = self.options
        if o["sample_rate"] is None or float(o["sample_rate"]) <= 0:
            raise ConfigError(
                f"dataset.sample_rate={o['sample_rate']} must be the series' rate in Hz (> 0); "
                "the .ts format does not store it (e.g. dataset.sample_rate=10 for BasicMotions)"
            )
        if not 0.0 <= float(o["val_fraction"]) < 1.0:
            raise ConfigError(f"dataset.val_fraction={o['val_fraction']} must be in [0, 1)")

    @property
    def rate(self) -> float:
        o = self.options
        return float(o["target_rate"] or o["sample_rate"])

    def _paths(self) -> tuple[Path, Path]:
        o = self.options
        root = require_dir(o["root"], dataset="ucr_ts", hint="<Problem>_TRAIN.ts and <Problem>_TEST.ts")
        problem = o["problem"]
        if problem is None:
            found = sorted(root.glob("*_TRAIN.ts")) or sorted(root.glob("*/*_TRAIN.ts"))
            if len(found) != 1:
                names = [p.name[: -len("_TRAIN.ts")] for p in found]
                raise DatasetError(
                    f"dataset.root={root} holds {len(found)} problems {names}; choose one with dataset.problem=<name>"
                )
            problem = found[0].name[: -len("_TRAIN.ts")]
            base = found[0].parent
        else:
            base = root / problem if (root / problem).is_dir() else root
        paths = (base / f"{problem}_TRAIN.ts", base / f"{problem}_TEST.ts")
        for p in paths:
            if not p.is_file():
                raise DatasetError(f"{p} does not exist; the ucr_ts loader needs both {problem}_TRAIN.ts and _TEST.ts")
        return paths

    def _load(self) -> DataSplits:
        o = self.options
        p_train, p_test = self._paths()
        parts = {}
        labels: list[str] | None = None
        for key, path in (("train", p_train), ("test", p_test)):
            header, cases, ys = parse_ts(path.read_text(errors="replace"), source=str(path))
            if labels is None:
                labels = list(header["classlabel"])
            xs = []
            for i, c in enumerate(cases):
                src = f"{path} case {i}"
                x = fill_missing(c, max_gap=int(o["max_missing_gap"]), source=src)
                xs.append(to_rate(x, orig_rate=float(o["sample_rate"]), target_rate=self.rate, source=src))
            parts[key] = (xs, ys)
        assert labels is not None
        dims = parts["train"][0][0].shape[0]
        if parts["test"][0][0].shape[0] != dims:
            raise DatasetError(f"{p_test}: {parts['test'][0][0].shape[0]} dimensions but {p_train} has {dims}")
        channels = o["channels"]
        if channels is None:
            channels = {3: ACCEL_CHANNELS, 6: ACCEL_CHANNELS + GYRO_CHANNELS}.get(dims, tuple(f"d{i}" for i in range(dims)))
        if len(channels) != dims:
            raise ConfigError(f"dataset.channels names {len(channels)} channels but the problem has {dims} dimensions")
        L = o["window_samples"] or max(x.shape[1] for xs, _ in parts.values() for x in xs)
        L = int(L)
        rng = np.random.default_rng([self.seed, 19])
        train_x, train_y = parts["train"]
        val_idx: set[int] = set()
        for lab in labels:
            idx = [i for i, y in enumerate(train_y) if y == lab]
            k = round(float(o["val_fraction"]) * len(idx))
            val_idx |= set(rng.permutation(idx)[:k].tolist())
        out = {}
        for split, xs, ys, sel in (
            ("train", train_x, train_y, [i for i in range(len(train_x)) if i not in val_idx]),
            ("val", train_x, train_y, sorted(val_idx)),
            ("test", parts["test"][0], parts["test"][1], list(range(len(parts["test"][0])))),
        ):
            if o["smoke"]:
                sel = sel[: max(1, len(sel) // 4)]
            out[split] = build_split(
                [fit_window(xs[i], L) for i in sel],
                [labels.index(ys[i]) for i in sel],
                [f"{split}{i}" for i in sel],
                {"length": [xs[i].shape[1] for i in sel]},
                dims, L,
            )
        return DataSplits(**out, sample_rate=self.rate, channels=tuple(channels), task="classification",
                          labels=tuple(labels), name=self.name)
