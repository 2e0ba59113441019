"""PPG-DaLiA (Reiss et al., Sensors 2019): one pickle per subject, read with a restricted unpickler.

Files as distributed: ``<root>/S<k>/S<k>.pkl`` (any depth under ``root``). Each pickle
holds a dict::

    {"signal": {"wrist": {"BVP": (N, 1) at 64 Hz, "ACC": (M, 3) at 32 Hz in 1/64 g, ...},
                "chest": {...}},
     "label": (n_windows,) reference HR in BPM per 8 s window, 2 s shift (from ECG),
     "activity": (K, 1) at 4 Hz, "subject": "S1", ...}

A pickle can run arbitrary code when it is loaded. :func:`safe_load_pickle` allows only
what these files contain (numpy arrays, dtypes and scalars, and plain containers) and
refuses any other global with a :class:`DatasetError`, before anything is executed.
"""

from __future__ import annotations

import io
import logging
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.dsp import resample
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ppg import HrRecording, augment_options, recordings_to_splits

__all__ = ["PpgDalia", "safe_load_pickle", "RestrictedUnpickler", "ALLOWED_GLOBALS"]

log = logging.getLogger(__name__)

BVP_RATE, ACC_RATE, ACC_PER_G = 64.0, 32.0, 64.0

#: The only globals a data pickle may reference: numpy array reconstruction (numpy 1.x
#: and 2.x module names), dtypes, scalars, and plain containers.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")]
    + [(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")]
    + [("numpy", "ndarray"), ("numpy", "dtype")]
    + [("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "bytearray", "complex", "slice")]
    + [("__builtin__", n) for n in ("set", "frozenset", "bytearray", "complex")]
    + [("collections", "OrderedDict")]
    # protocol-2 pickles made by Python 3 store bytes as _codecs.encode(str, 'latin1')
    + [("_codecs", "encode")]
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS`."""

    source = "<pickle>"

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            if module == "_codecs":
                import codecs

                def encode(obj: Any, encoding: str = "utf-8") -> bytes:
                    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
                        raise DatasetError(f"{self.source}: refusing _codecs.encode({type(obj).__name__}, {encoding!r})")
                    return codecs.encode(obj, encoding)

                return encode
            return super().find_class(module, name)
        raise DatasetError(
            f"{self.source}: refusing to unpickle {module}.{name}; a PPG-DaLiA file holds only numpy "
            "arrays and plain containers, so this file is corrupt or malicious (not loaded)"
        )


def safe_load_pickle(path: str | Path) -> Any:
    """Load a data pickle with :class:`RestrictedUnpickler` (Python 2 pickles: latin1).

    Examples
    --------
    >>> import pickle, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "ok.pkl")
    >>> with open(p, "wb") as fh:
    ...     pickle.dump({"a": np.arange(3)}, fh)
    >>> safe_load_pickle(p)["a"].tolist()
    [0, 1, 2]
    >>> with open(p, "wb") as fh:
    ...     pickle.dump(os.system, fh)
    >>> safe_load_pickle(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.DatasetError: ...: refusing to unpickle posix.system; ...
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    up = RestrictedUnpickler(io.BytesIO(data), encoding="latin1")
    up.source = str(path)
    try:
        return up.load()
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path} is not a readable pickle ({type(exc).__name__}: {exc})") from None


def _get(d: Any, keys: tuple[str, ...], path: Path) -> Any:
    cur = d
    for i, k in enumerate(keys):
        if not isinstance(cur, dict) or k not in cur:
            raise DatasetError(f"{path} has no {'/'.join(keys[: i + 1])}; is this a PPG-DaLiA S<k>.pkl file?")
        cur = cur[k]
    return cur


def _array(d: Any, keys: tuple[str, ...], path: Path) -> np.ndarray:
    value = _get(d, keys, path)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: {'/'.join(keys)} is not an array of numbers; is this a PPG-DaLiA S<k>.pkl file?") from None
    if not np.all(np.isfinite(arr)):
        raise DatasetError(f"{path}: {'/'.join(keys)} holds NaN or inf values; the file is damaged")
    return arr


def read_dalia_recording(path: Path, *, sample_rate: float) -> HrRecording:
    """One subject's wrist BVP + ACC and reference HR at ``sample_rate``.

    Checked: BVP and ACC hold finite numbers, ACC is (n, 3), the signal is long enough
    for one 8 s window, BVP and ACC cover the same time, and the reference holds no
    more 8 s / 2 s windows than the signal has (one window of slack) and only heart
    rates (20-300 BPM).
    """
    d = safe_load_pickle(path)
    bvp = _array(d, ("signal", "wrist", "BVP"), path).reshape(-1)
    acc = _array(d, ("signal", "wrist", "ACC"), path)
    label = _array(d, ("label",), path).reshape(-1)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise DatasetError(f"{path}: wrist ACC has shape {acc.shape}; expected (n, 3)")
    seconds = len(bvp) / BVP_RATE
    if seconds < 8.0:
        raise DatasetError(f"{path}: {seconds:.1f} s of BVP, shorter than one 8 s window; the file is damaged")
    if abs(len(acc) / ACC_RATE - seconds) > 2.0:
        raise DatasetError(f"{path}: BVP lasts {seconds:.1f} s but ACC {len(acc) / ACC_RATE:.1f} s; the file is damaged")
    fit = int((seconds - 8.0) // 2.0) + 1
    if len(label) > fit + 1:
        raise DatasetError(
            f"{path}: {len(label)} reference heart rates (8 s windows every 2 s) but the signal's "
            f"{seconds:.1f} s hold {fit}; the file is damaged or its signal is cut short"
        )
    if len(label) == 0 or label.min() < 20.0 or label.max() > 300.0:
        raise DatasetError(f"{path}: the reference label must be heart rates in BPM (20-300); "
                           f"found {len(label)} values in [{label.min() if len(label) else 0:g}, "
                           f"{label.max() if len(label) else 0:g}]")
    subject = str(d.get("subject", path.stem)) if isinstance(d, dict) else path.stem
    ppg = resample(bvp, orig_rate=BVP_RATE, target_rate=sample_rate)
    acc_r = resample(acc.T / ACC_PER_G, orig_rate=ACC_RATE, target_rate=sample_rate)
    n = min(ppg.shape[-1], acc_r.shape[-1])
    signals = np.concatenate([ppg[None, :n], acc_r[:, :n]]).astype(np.float32)
    return HrRecording(subject, signals, label.astype(np.float32))


@dataclass(frozen=True)
class PpgDaliaOptions:
    """Options of :class:`PpgDalia`; ``conf/dataset/ppg_dalia.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder holding S1/S1.pkl ... S15/S15.pkl (read with a restricted unpickler)
    sample_rate: float = 32.0  # Hz; BVP resampled from 64 Hz, ACC kept at 32 Hz (converted to g)
    fold: Any = None  # leave-one-subject-out: test = subject <fold> (0..14), val = the next one
    test_subjects: Any = None  # or explicit ids ("S1".."S15") / indices
    val_subjects: Any = None
    n_test: int = 3
    n_val: int = 2
    augment_copies: Any = None  # training copies with simulated arm motion (null: none; datasets/synthetic/ppg.py)
    augment_activities: Any = None  # activities of the simulated motion (null: recordings_to_splits' list)
    augment_artefact: Any = None  # [low, high] artefact-to-pulse ratio multiplier range of the copies
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class PpgDalia(Dataset):
    """PPG-DaLiA wrist BVP + ACC (15 subjects, daily-life activities).

    Options (``conf/dataset/ppg_dalia.yaml``): ``root``, ``sample_rate`` (Hz, default
    32), split ``fold``/``test_subjects``/``val_subjects``/``n_test``/``n_val``;
    ``smoke`` keeps 3 subjects x 60 windows.
    """

    name = "ppg_dalia"
    task = "regression"
    modality = "ppg"
    VERSION = 2
    Options = PpgDaliaOptions

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        root = require_dir(o.pop("root", None), dataset=self.name, hint="the PPG-DaLiA S<k>/S<k>.pkl files")
        smoke = bool(o.pop("smoke", False))
        fs = float(o.pop("sample_rate", 32.0))
        split_opts = {k: o.pop(k) for k in ("test_subjects", "val_subjects", "fold", "n_test", "n_val") if k in o}
        split_opts = {k: v for k, v in split_opts.items() if v is not None}
        split_opts.update(augment_options(o))
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of ppg_dalia; see conf/dataset/ppg_dalia.yaml")
        files = sorted((p for p in root.rglob("*.pkl") if re.fullmatch(r"S\d+\.pkl", p.name)),
                       key=lambda p: int(p.stem[1:]))
        if not files:
            raise DatasetError(f"dataset.root={root} holds no PPG-DaLiA pickles (S<k>.pkl, e.g. S1/S1.pkl)")
        if smoke:
            files = files[:3]
        recs = []
        for p in files:
            r = read_dalia_recording(p, sample_rate=fs)
            if smoke:
                r.ref_bpm = r.ref_bpm[:60]
            recs.append(r)
        log.info("ppg_dalia: %d subjects from %s", len(recs), root)
        return recordings_to_splits(recs, name=self.name, sample_rate=fs, seed=self.seed, **split_opts)
