"""IEEE Signal Processing Cup 2015 (TROIKA data, Zhang, Pi & Liu, IEEE TBME 2015).

Files as distributed (read unchanged, found anywhere under ``root``):

* ``DATA_<nn>_TYPE<tt>.mat`` (the 12 training subjects), key ``sig``: 6 x N at 125 Hz,
  rows ECG, PPG1, PPG2, ACC x, ACC y, ACC z (ACC in g); reference
  ``DATA_<nn>_TYPE<tt>_BPMtrace.mat``, key ``BPM0``: one heart rate per 8 s window,
  windows shifted by 2 s (window ``i`` = samples ``[250 i, 250 i + 1000)``).
* With ``include_extra=true`` also ``DATA_S<nn>_T<tt>.mat`` + ``BPM_S<nn>_T<tt>.mat``
  (the extra training recording) and the test set ``TEST_S<nn>_T<tt>.mat`` (5 rows, no
  ECG) + ``True_S<nn>_T<tt>.mat``.

The PPG channel is the mean of PPG1 and PPG2 (``ppg: mean``; or ``ppg1``/``ppg2``).
Signals are resampled to ``sample_rate`` (default 32 Hz, the app's rate) with
:func:`tinyml_suite.common.dsp.resample`; the window grid is unchanged (8 s / 2 s).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.dsp import resample
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ppg import HrRecording, recordings_to_splits

__all__ = ["Spc2015", "find_spc_files", "read_spc_recording"]

log = logging.getLogger(__name__)

SPC_RATE = 125.0
_TRAIN = re.compile(r"^DATA_(\d+)_TYPE(\d+)\.mat$", re.IGNORECASE)
_EXTRA = re.compile(r"^DATA_(S\d+_T\d+)\.mat$", re.IGNORECASE)
_TEST = re.compile(r"^TEST_(S\d+_T\d+)\.mat$", re.IGNORECASE)


def find_spc_files(root: Path, include_extra: bool = False) -> list[tuple[str, Path, Path]]:
    """``(subject, signal file, reference file)`` triples under ``root``, sorted by subject."""
    out: dict[str, tuple[str, Path, Path]] = {}
    for p in sorted(root.rglob("*.mat")):
        m = _TRAIN.match(p.name)
        if m:
            subject, ref = m.group(1), p.with_name(p.stem + "_BPMtrace.mat")
        elif include_extra and (m := _EXTRA.match(p.name)):
            subject, ref = f"X_{m.group(1)}", p.with_name(f"BPM_{m.group(1)}.mat")
        elif include_extra and (m := _TEST.match(p.name)):
            subject, ref = f"T_{m.group(1)}", p.with_name(f"True_{m.group(1)}.mat")
        else:
            continue
        if not ref.exists():
            raise DatasetError(f"{p} has no reference file {ref.name} beside it; copy the dataset's reference files too")
        if subject in out:
            raise DatasetError(f"subject {subject} appears twice under {root} ({out[subject][1]} and {p}); keep one copy")
        out[subject] = (subject, p, ref)
    return [out[k] for k in sorted(out)]


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


def read_spc_recording(sig_path: Path, ref_path: Path, *, subject: str, sample_rate: float, ppg: str = "mean") -> HrRecording:
    """One SPC 2015 recording as an :class:`HrRecording` at ``sample_rate``."""
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
    signals = np.concatenate([choice[ppg][None], rows[2:5]]).astype(np.float32)
    if not np.all(np.isfinite(signals)):
        raise DatasetError(f"{sig_path} contains NaN/inf samples")
    signals = resample(signals, orig_rate=SPC_RATE, target_rate=sample_rate)
    return HrRecording(subject, signals, ref.astype(np.float32))


class Spc2015(Dataset):
    """SPC 2015 wrist PPG + ACC with ECG-derived reference heart rate (12 subjects).

    Options (``conf/dataset/spc2015.yaml``): ``root`` (folder with the .mat files),
    ``sample_rate`` (Hz, default 32), ``ppg`` (mean|ppg1|ppg2), ``include_extra``,
    split: ``fold`` (leave-one-subject-out, 0..11) or ``test_subjects``/``val_subjects``
    (ids such as "01" or indices) or a seeded ``n_test``/``n_val`` draw; ``smoke`` keeps
    3 subjects x 60 windows.
    """

    name = "spc2015"
    task = "regression"
    apps = ("heart_rate",)
    VERSION = 1

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        root = require_dir(o.pop("root", None), dataset=self.name,
                           hint="the SPC 2015 DATA_*_TYPE*.mat and *_BPMtrace.mat files")
        smoke = bool(o.pop("smoke", False))
        fs = float(o.pop("sample_rate", 32.0))
        ppg = str(o.pop("ppg", "mean"))
        include_extra = bool(o.pop("include_extra", False))
        split_opts = {k: o.pop(k) for k in ("test_subjects", "val_subjects", "fold", "n_test", "n_val") if k in o}
        split_opts = {k: v for k, v in split_opts.items() if v is not None}
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of spc2015; see conf/dataset/spc2015.yaml")
        files = find_spc_files(root, include_extra)
        if not files:
            raise DatasetError(f"dataset.root={root} holds no SPC 2015 files (DATA_<nn>_TYPE<tt>.mat + _BPMtrace.mat)")
        if smoke:
            files = files[:3]
        recs = []
        for subject, sig, ref in files:
            r = read_spc_recording(sig, ref, subject=subject, sample_rate=fs, ppg=ppg)
            if smoke:
                r.ref_bpm = r.ref_bpm[:60]
            recs.append(r)
        log.info("spc2015: %d recordings from %s", len(recs), root)
        return recordings_to_splits(recs, name=self.name, sample_rate=fs, seed=self.seed, **split_opts)
