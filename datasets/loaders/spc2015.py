"""IEEE Signal Processing Cup 2015 (TROIKA data, Zhang, Pi & Liu, IEEE TBME 2015).

The official distribution is read unchanged, and so is a flat folder of the same files
(any depth under ``root``)::

    Training_data/        DATA_<nn>_TYPE<tt>.mat + DATA_<nn>_TYPE<tt>_BPMtrace.mat   (12 subjects)
    Extra_TrainingData/   DATA_S<nn>_T<tt>.mat + BPM_S<nn>_T<tt>.mat                 (include_extra)
    TestData/             TEST_S<nn>_T<tt>.mat                                       (include_extra)
    TrueBPM/              True_S<nn>_T<tt>.mat   (the test references, a sibling folder)

* ``sig``: 6 x N at 125 Hz, rows ECG, PPG1, PPG2, ACC x, ACC y, ACC z (ACC in g); the
  test files have 5 rows (no ECG).
* ``BPM0``: one heart rate per 8 s window, windows shifted by 2 s (window ``i`` =
  samples ``[250 i, 250 i + 1000)``), so a recording of N samples has
  ``(N - 1000) // 250 + 1`` windows. A reference file with another length is an error
  naming both lengths (``reference_length: trim`` keeps the common windows instead,
  with a warning). NaN reference values are reported (a warning per recording, naming
  how many) and their windows left out.

A reference is looked up beside its signal file first, then anywhere under ``root``
(the official ``TrueBPM/`` folder); two candidates for one signal are an error.

Subjects: the training files are subjects ``"01"`` .. ``"12"``; the extra and test
recordings are named ``S<nn>_T<tt>`` and grouped by subject ``S<nn>`` (the extra
training recording ``DATA_S04_T01`` and the test recording ``TEST_S04_T02`` are the same
person, so they always land in the same split). ``meta['recording']`` names each
window's recording.

The PPG channel is the mean of PPG1 and PPG2 (``ppg: mean``; or ``ppg1``/``ppg2``).
Signals are resampled to ``sample_rate`` (default 32 Hz, the app's rate) with
:func:`tinyml_suite.common.dsp.resample`; the window grid is unchanged (8 s / 2 s).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.dsp import resample
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ppg import HrRecording, augment_options, recordings_to_splits

__all__ = ["Spc2015", "SpcFile", "find_spc_files", "read_spc_recording", "spc_window_count"]

log = logging.getLogger(__name__)

SPC_RATE = 125.0
#: Window and hop of the references, in samples at 125 Hz (8 s, 2 s).
SPC_WINDOW, SPC_HOP = 1000, 250
_TRAIN = re.compile(r"^DATA_(\d+)_TYPE(\d+)\.mat$", re.IGNORECASE)
_EXTRA = re.compile(r"^DATA_(S(\d+)_T\d+)\.mat$", re.IGNORECASE)
_TEST = re.compile(r"^TEST_(S(\d+)_T\d+)\.mat$", re.IGNORECASE)


class SpcFile(NamedTuple):
    """One recording: its subject (the split group), name, signal and reference files, kind."""

    subject: str
    recording: str
    signal: Path
    reference: Path
    kind: str  # "training" | "extra" | "test"


def spc_window_count(n_samples: int) -> int:
    """Reference windows of a 125 Hz recording: ``(n - 1000) // 250 + 1`` (0 if shorter than 8 s).

    Examples
    --------
    >>> spc_window_count(37937), spc_window_count(999), spc_window_count(1000)
    (148, 0, 1)
    """
    return 0 if n_samples < SPC_WINDOW else (int(n_samples) - SPC_WINDOW) // SPC_HOP + 1


def _reference_for(sig: Path, ref_name: str, index: dict[str, list[Path]], root: Path) -> Path:
    beside = sig.with_name(ref_name)
    if beside.exists():
        return beside
    found = index.get(ref_name.lower(), [])
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise DatasetError(
            f"{sig.name}: {len(found)} reference files named {ref_name} under {root} "
            f"({', '.join(str(p) for p in found)}); keep one"
        )
    raise DatasetError(
        f"{sig} has no reference file {ref_name} beside it or anywhere under {root} (the official "
        "layout keeps test references in TrueBPM/); copy the dataset's reference files too"
    )


def find_spc_files(root: Path, include_extra: bool = False) -> list[SpcFile]:
    """The recordings under ``root`` (official layout or flat), sorted by subject then recording.

    ``include_extra`` adds the extra training recording(s) (``DATA_S<nn>_T<tt>``) and the
    test recordings (``TEST_S<nn>_T<tt>``, references ``True_S<nn>_T<tt>`` in ``TrueBPM/``).
    """
    root = Path(root)
    mats = sorted(root.rglob("*.mat"))
    index: dict[str, list[Path]] = {}
    for p in mats:
        index.setdefault(p.name.lower(), []).append(p)
    out: dict[str, SpcFile] = {}
    for p in mats:
        if m := _TRAIN.match(p.name):
            subject, rec, ref_name, kind = m.group(1), m.group(1), p.stem + "_BPMtrace.mat", "training"
        elif include_extra and (m := _EXTRA.match(p.name)):
            subject, rec, ref_name, kind = f"S{int(m.group(2)):02d}", m.group(1), f"BPM_{m.group(1)}.mat", "extra"
        elif include_extra and (m := _TEST.match(p.name)):
            subject, rec, ref_name, kind = f"S{int(m.group(2)):02d}", m.group(1), f"True_{m.group(1)}.mat", "test"
        else:
            continue
        ref = _reference_for(p, ref_name, index, root)
        key = f"{kind}:{rec}"
        if key in out:
            raise DatasetError(f"recording {rec} appears twice under {root} ({out[key].signal} and {p}); keep one copy")
        out[key] = SpcFile(subject, rec, p, ref, kind)
    return sorted(out.values(), key=lambda f: (f.subject, f.recording))


def _loadmat(path: Path, key: str) -> np.ndarray:
    import scipy.io

    try:
        content = scipy.io.loadmat(str(path))
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DatasetError(f"{path} is not a readable MATLAB .mat file ({type(exc).__name__}: {exc})") from None
    if key not in content:
        keys = ", ".join(k for k in content if not k.startswith("__"))
        raise DatasetError(f"{path} has no variable '{key}' (found: {keys or 'none'}); is this an SPC 2015 file?")
    return np.asarray(content[key], dtype=np.float64)


def read_spc_recording(sig_path: Path, ref_path: Path, *, subject: str, sample_rate: float, ppg: str = "mean",
                       recording: str | None = None, reference_length: str = "exact") -> HrRecording:
    """One SPC 2015 recording as an :class:`HrRecording` at ``sample_rate``.

    The reference must hold one value per 8 s / 2 s window of the signal
    (:func:`spc_window_count`); ``reference_length='trim'`` keeps the windows both have.
    """
    if reference_length not in ("exact", "trim"):
        raise ConfigError(f"dataset.reference_length={reference_length!r} must be 'exact' or 'trim'")
    sig = _loadmat(sig_path, "sig")
    if sig.ndim != 2 or sig.shape[0] not in (5, 6):
        raise DatasetError(
            f"{sig_path}: 'sig' has shape {sig.shape}; expected 6 x N (ECG, PPG1, PPG2, ACC x/y/z) or 5 x N (test files)"
        )
    rows = sig[1:] if sig.shape[0] == 6 else sig
    choice = {"mean": (rows[0] + rows[1]) / 2.0, "ppg1": rows[0], "ppg2": rows[1]}
    if ppg not in choice:
        raise ConfigError(f"dataset.ppg={ppg!r} is not supported; choose one of: mean, ppg1, ppg2")
    ref = _loadmat(ref_path, "BPM0").ravel()
    n_win = spc_window_count(sig.shape[1])
    if ref.size != n_win:
        msg = (f"{ref_path.name} holds {ref.size} reference values but {sig_path.name} ({sig.shape[1]} samples at "
               f"125 Hz) has {n_win} windows of 8 s every 2 s")
        if reference_length == "exact":
            raise DatasetError(f"{msg}; is it the right reference file? (dataset.reference_length=trim keeps "
                               f"the first {min(ref.size, n_win)} windows)")
        log.warning("%s; keeping the first %d (reference_length=trim)", msg, min(ref.size, n_win))
        ref = ref[: min(ref.size, n_win)]
    n_nan = int(np.count_nonzero(~np.isfinite(ref)))
    if n_nan:
        log.warning("%s: %d of %d reference values are NaN/inf; those windows are left out", ref_path.name, n_nan, ref.size)
    signals = np.concatenate([choice[ppg][None], rows[2:5]]).astype(np.float32)
    if not np.all(np.isfinite(signals)):
        bad = int(np.count_nonzero(~np.isfinite(signals)))
        raise DatasetError(f"{sig_path} contains {bad} NaN/inf samples; clean the file first")
    signals = resample(signals, orig_rate=SPC_RATE, target_rate=sample_rate)
    return HrRecording(subject, signals, ref.astype(np.float32), name=recording or subject)


@dataclass(frozen=True)
class Spc2015Options:
    """Options of :class:`Spc2015`; ``conf/dataset/spc2015.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # the official folder (Training_data/, Extra_TrainingData/, TestData/ + TrueBPM/) or a flat one
    sample_rate: float = 32.0  # Hz; resampled from 125 Hz
    ppg: str = 'mean'  # mean | ppg1 | ppg2 (the two wrist PPG channels)
    include_extra: bool = False  # also DATA_S<nn>_T<tt> (+ BPM_) and TEST_S<nn>_T<tt> (+ TrueBPM/True_) when present: subjects S<nn>
    reference_length: str = 'exact'  # exact: a BPM0 trace must hold one value per 8 s / 2 s window (else an error); trim
    fold: Any = None  # leave-one-subject-out: test = subject <fold> (0..11), val = the next one
    test_subjects: Any = None  # or explicit ids ("01".."12", "S04") / indices
    val_subjects: Any = None
    n_test: int = 1  # seeded draw when neither fold nor test_subjects is given
    n_val: int = 1
    augment_copies: Any = None  # training copies with simulated arm motion (null: none; datasets/synthetic/ppg.py)
    augment_activities: Any = None  # activities of the simulated motion (null: recordings_to_splits' list)
    augment_artefact: Any = None  # [low, high] artefact-to-pulse ratio multiplier range of the copies
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class Spc2015(Dataset):
    """SPC 2015 wrist PPG + ACC with ECG-derived reference heart rate (12 subjects).

    Options (``conf/dataset/spc2015.yaml``): ``root`` (the official folder or a flat folder
    of the .mat files), ``sample_rate`` (Hz, default 32), ``ppg`` (mean|ppg1|ppg2),
    ``include_extra`` (also the extra training and the test recordings), ``reference_length``
    (exact|trim), split: ``fold`` (leave-one-subject-out over the sorted subjects; 0..11
    are the training subjects 01..12) or ``test_subjects``/``val_subjects`` (ids such as
    "01" or "S04", or indices) or a seeded ``n_test``/``n_val`` draw; ``smoke`` keeps
    3 recordings x 60 windows.
    """

    name = "spc2015"
    task = "regression"
    modality = "ppg"
    VERSION = 2
    Options = Spc2015Options

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        root = require_dir(o.pop("root", None), dataset=self.name,
                           hint="the SPC 2015 files (Training_data/ with DATA_*_TYPE*.mat and *_BPMtrace.mat)")
        smoke = bool(o.pop("smoke", False))
        fs = float(o.pop("sample_rate", 32.0))
        ppg = str(o.pop("ppg", "mean"))
        include_extra = bool(o.pop("include_extra", False))
        ref_len = str(o.pop("reference_length", "exact"))
        split_opts = {k: o.pop(k) for k in ("test_subjects", "val_subjects", "fold", "n_test", "n_val") if k in o}
        split_opts = {k: v for k, v in split_opts.items() if v is not None}
        split_opts.update(augment_options(o))
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of spc2015; see conf/dataset/spc2015.yaml")
        files = find_spc_files(root, include_extra)
        if not files:
            raise DatasetError(f"dataset.root={root} holds no SPC 2015 files (DATA_<nn>_TYPE<tt>.mat + _BPMtrace.mat)")
        if smoke:
            files = files[:3]
        recs = []
        for f in files:
            r = read_spc_recording(f.signal, f.reference, subject=f.subject, sample_rate=fs, ppg=ppg,
                                   recording=f.recording, reference_length=ref_len)
            if smoke:
                r.ref_bpm = r.ref_bpm[:60]
            recs.append(r)
        kinds = {k: sum(f.kind == k for f in files) for k in ("training", "extra", "test")}
        log.info("spc2015: %d recordings from %s (%s)", len(recs), root,
                 ", ".join(f"{n} {k}" for k, n in kinds.items() if n))
        return recordings_to_splits(recs, name=self.name, sample_rate=fs, seed=self.seed, **split_opts)
