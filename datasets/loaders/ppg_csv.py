"""Plain CSV recordings: ``time, ppg, acc_x, acc_y, acc_z[, hr]``, one file per recording.

For your own wrist data. Every ``*.csv`` under ``root`` is one recording; its subject is
the ``subject`` option's column if present, else the file name's stem (so files named
``alice_run1.csv`` and ``alice_run2.csv`` can be grouped with ``subject_from: prefix``,
which takes the stem up to the first ``_``). The first row is a header naming the
columns; the default names are below and ``columns`` maps others onto them:

* ``time``: seconds (evenly sampled; the rate is the median step, jitter up to 5 %)
* ``ppg``: the PPG in any unit
* ``acc_x``, ``acc_y``, ``acc_z``: acceleration, multiplied by ``acc_scale`` to get g
* ``hr``: reference heart rate in BPM (e.g. from a chest strap), per sample; blank or
  NaN where unknown. Window ``i`` gets the mean of the ``hr`` samples inside it. Needed
  for training and scoring; without it the loader refuses the file.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.dsp import resample
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ppg import HrRecording, recordings_to_splits

__all__ = ["PpgCsv", "read_ppg_csv"]

log = logging.getLogger(__name__)

DEFAULT_COLUMNS = {"time": "time", "ppg": "ppg", "acc_x": "acc_x", "acc_y": "acc_y", "acc_z": "acc_z", "hr": "hr"}


def read_ppg_csv(
    path: Path,
    *,
    sample_rate: float,
    columns: dict[str, str] | None = None,
    acc_scale: float = 1.0,
    window_s: float = 8.0,
    hop_s: float = 2.0,
    subject: str | None = None,
) -> HrRecording:
    """Read one CSV recording and resample it to ``sample_rate``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> t = np.arange(0, 12, 0.04)
    >>> rows = "\\n".join(f"{v:.2f},{np.sin(2*np.pi*1.2*v):.4f},0,0,1,72" for v in t)
    >>> _ = open(p, "w").write("time,ppg,acc_x,acc_y,acc_z,hr\\n" + rows + "\\n")
    >>> r = read_ppg_csv(Path(p), sample_rate=32.0)
    >>> r.signals.shape, r.ref_bpm.round(1).tolist()
    ((4, 384), [72.0, 72.0, 72.0])
    """
    cols = {**DEFAULT_COLUMNS, **(columns or {})}
    unknown = sorted(set(columns or {}) - set(DEFAULT_COLUMNS))
    if unknown:
        raise ConfigError(f"dataset.columns.{unknown[0]} is not a known column role; roles: {', '.join(DEFAULT_COLUMNS)}")
    try:
        with open(path, newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh))]
    except StopIteration:
        raise DatasetError(f"{path} is empty; expected a header row and samples") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    where = {}
    for role in ("time", "ppg", "acc_x", "acc_y", "acc_z", "hr"):
        name = cols[role]
        if name in header:
            where[role] = header.index(name)
        elif role == "hr":
            raise DatasetError(
                f"{path} has no reference heart-rate column '{name}' (header: {', '.join(header)}); "
                "add one in BPM or map yours with dataset.columns.hr=<name>"
            )
        else:
            raise DatasetError(
                f"{path} has no column '{name}' for {role} (header: {', '.join(header)}); "
                f"rename it or set dataset.columns.{role}=<name>"
            )
    try:
        data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=[where[r] for r in ("time", "ppg", "acc_x", "acc_y", "acc_z", "hr")],
                             dtype=np.float64, invalid_raise=True, ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{path}: malformed rows ({exc}); every row needs the header's number of fields") from None
    if data.shape[0] < 2:
        raise DatasetError(f"{path} has {data.shape[0]} sample row(s); a recording needs at least one {window_s:g} s window")
    t, ppg, acc, hr = data[:, 0], data[:, 1], data[:, 2:5] * float(acc_scale), data[:, 5]
    bad = ~np.isfinite(np.column_stack([t, ppg, acc]))
    if bad.any():
        row = int(np.argwhere(bad)[0][0]) + 2
        raise DatasetError(f"{path}: line {row} has a missing or non-numeric time/ppg/acc value; fill or drop it")
    dt = np.diff(t)
    if np.any(dt <= 0):
        raise DatasetError(f"{path}: time is not strictly increasing (line {int(np.argmax(dt <= 0)) + 3})")
    step = float(np.median(dt))
    if np.max(np.abs(dt - step)) > 0.05 * step:
        raise DatasetError(
            f"{path}: samples are unevenly spaced (median step {step:.6g} s, worst {dt[np.argmax(np.abs(dt - step))]:.6g} s); "
            "resample the file to a constant rate first"
        )
    # the mean step over the whole file (immune to per-row rounding of the time column),
    # snapped to a whole number of Hz when it is that within 0.1 %
    rate = (len(t) - 1) / float(t[-1] - t[0])
    rate = float(round(rate)) if abs(rate - round(rate)) <= 1e-3 * rate else round(rate, 3)
    signals = np.concatenate([ppg[None], acc.T]).astype(np.float32)
    signals = resample(signals, orig_rate=rate, target_rate=sample_rate)
    n = signals.shape[-1]
    win, hop = int(round(window_s * sample_rate)), int(round(hop_s * sample_rate))
    n_win = 0 if n < win else 1 + (n - win) // hop
    t_win = np.arange(n_win) * hop_s
    ref = np.full(n_win, np.nan, dtype=np.float32)
    rel = t - t[0]
    for i, s in enumerate(t_win):
        m = (rel >= s) & (rel < s + window_s) & np.isfinite(hr)
        if m.sum() > 0:
            ref[i] = float(hr[m].mean())
    if n_win and not np.isfinite(ref).any():
        raise DatasetError(f"{path}: the hr column is empty; it must hold reference BPM values")
    return HrRecording(subject or path.stem, signals, ref)


@dataclass(frozen=True)
class PpgCsvOptions:
    """Options of :class:`PpgCsv`; ``conf/dataset/ppg_csv.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder of *.csv, one recording per file (header row required)
    sample_rate: float = 32.0  # Hz the app runs at; files are resampled from their own rate
    columns: Any = field(default_factory=lambda: {})  # role -> header name, e.g. {ppg: green, hr: polar_bpm}
    acc_scale: float = 1.0  # multiply the ACC columns by this to get g (0.001 for milli-g, 0.10197 for m/s^2)
    subject_from: str = 'stem'  # stem: one subject per file; prefix: the stem up to the first "_"
    fold: Any = None
    test_subjects: Any = None
    val_subjects: Any = None
    n_test: int = 1
    n_val: int = 1
    all_test: bool = False  # true: every window is test data (evaluate a trained model on your files)
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class PpgCsv(Dataset):
    """Your own PPG + ACC recordings as CSV files (see the module docstring for the format).

    Options (``conf/dataset/ppg_csv.yaml``): ``root``, ``sample_rate`` (Hz the app uses),
    ``columns`` (role -> header name), ``acc_scale``, ``subject_from`` (stem|prefix),
    split ``fold``/``test_subjects``/``val_subjects``/``n_test``/``n_val``/``all_test``.
    """

    name = "ppg_csv"
    task = "regression"
    modality = "ppg"
    VERSION = 2
    Options = PpgCsvOptions

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        root = require_dir(o.pop("root", None), dataset=self.name, hint="CSV files with time,ppg,acc_x,acc_y,acc_z,hr columns")
        smoke = bool(o.pop("smoke", False))
        fs = float(o.pop("sample_rate", 32.0))
        columns = dict(o.pop("columns", None) or {})
        acc_scale = float(o.pop("acc_scale", 1.0))
        subject_from = str(o.pop("subject_from", "stem"))
        if subject_from not in ("stem", "prefix"):
            raise ConfigError(f"dataset.subject_from={subject_from!r} must be 'stem' or 'prefix'")
        split_opts = {k: o.pop(k) for k in ("test_subjects", "val_subjects", "fold", "n_test", "n_val", "all_test") if k in o}
        split_opts = {k: v for k, v in split_opts.items() if v is not None}
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of ppg_csv; see conf/dataset/ppg_csv.yaml")
        files = sorted(root.rglob("*.csv"))
        if not files:
            raise DatasetError(f"dataset.root={root} holds no .csv files")
        if smoke:
            files = files[:3]
        recs = []
        for p in files:
            subject = p.stem.split("_")[0] if subject_from == "prefix" else p.stem
            recs.append(read_ppg_csv(p, sample_rate=fs, columns=columns, acc_scale=acc_scale, subject=subject))
        return recordings_to_splits(recs, name=self.name, sample_rate=fs, seed=self.seed, **split_opts)
