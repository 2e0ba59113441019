"""Case Western Reserve University (CWRU) bearing data: the official MATLAB files.

Each ``.mat`` file holds one recording: ``X<rec>_DE_time`` (drive-end accelerometer),
``X<rec>_FE_time`` (fan end), ``X<rec>_BA_time`` (base), as column vectors in g, and
``X<rec>RPM`` (motor speed; missing in a few files). What a file is comes from its name:

* descriptive names ``<fault><size>[@<position>]_<load>.mat``: ``Normal_0``, ``IR007_2``,
  ``B014_0``, ``OR021@6_3`` (IR inner race, B ball, OR outer race; size in mils; outer-race
  position in clock hours; load in HP);
* the original record numbers (``105.mat``): looked up in :data:`RECORDS` (the normal
  baseline and the 12 kHz drive-end fault set), extendable with ``record_names``.

Sample rate: ``folder_rates[<folder name>]``, else a ``12k``/``48k`` token in the folder
name (``12k_DE``), else ``sample_rate_hz``; otherwise a one-line error. The CWRU normal
baseline (records 97-100) was recorded at 48 kHz, the 12 kHz drive-end faults at 12 kHz.

Preprocessing, identical for every recording: remove the recording's mean (the sensors
are AC-coupled; the offsets differ between files), then resample to ``target_rate_hz``
with :func:`tinyml_suite.common.dsp.resample` (scipy's polyphase resampler,
Kaiser-windowed FIR). Default 8 kHz, a rate BELOW both sources: 48 kHz -> 8 kHz
(1/6) and 12 kHz -> 8 kHz (2/3) then pass the same anti-alias design (cutoff at the
output Nyquist, transition width proportional to the output rate), and the band where
the two acquisition chains differ (the native 12 kHz chain rolls off above about 5 kHz,
a resampled 48 kHz recording does not) is removed from every recording. Otherwise that
band alone tells the normal recording (48 kHz) from the faults (12 kHz). An optional
``lowpass_hz`` adds the same zero-phase Butterworth low-pass to every recording.
``bench/vibration_cwru.py`` measures a rate detector on the result.

Splits never put windows of one recording into both train and test:

* ``split: by_load``: recordings at ``test_loads`` are the test set, the others train;
* ``split: by_file``: a seeded ``test_fraction`` of each class's recordings is held out.

Validation is the last ``val_fraction`` (a contiguous time block) of every training
recording. A class that has no recording on one side (the single normal recording of
the public set, load 0 only) is cut in time into contiguous train/val/test blocks
(``single_recording_blocks``); windows never straddle a block boundary. Such windows
carry ``meta["time_split"] = 1`` and the choice is logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.loaders.vibration_folder import Recording, split_recordings

__all__ = ["CWRU", "RECORDS", "CwruFile", "parse_name", "read_mat"]

log = logging.getLogger(__name__)

CLASSES = ("normal", "inner_race", "ball", "outer_race")
_CODES = {"normal": "normal", "ir": "inner_race", "b": "ball", "or": "outer_race"}
_NAME_RE = re.compile(r"^(normal|ir|b|or)(\d{3})?(?:@(\d{1,2}))?_(\d)$", re.IGNORECASE)
# Nominal motor speed per load (HP), from the CWRU Bearing Data Center's tables; used
# when a file has no X<rec>RPM key.
NOMINAL_RPM = {0: 1797.0, 1: 1772.0, 2: 1750.0, 3: 1730.0}


def _table() -> dict[int, str]:
    rec: dict[int, str] = {97: "Normal_0", 98: "Normal_1", 99: "Normal_2", 100: "Normal_3"}
    # 12 kHz drive-end faults: first record number of each (fault, size, position) at loads 0..3
    starts = {
        "IR007": 105, "B007": 118, "OR007@6": 130, "OR007@3": 144, "IR014": 169, "B014": 185,
        "OR014@6": 197, "IR021": 209, "B021": 222, "OR021@6": 234, "OR021@3": 246, "OR021@12": 258,
        "IR028": 3001, "B028": 3005,
    }
    for name, first in starts.items():
        for load in range(4):
            rec[first + load] = f"{name}_{load}"
    rec.update({156: "OR007@12_0", 158: "OR007@12_1", 159: "OR007@12_2", 160: "OR007@12_3"})
    return rec


#: CWRU record number -> descriptive name (normal baseline + 12 kHz drive-end faults).
RECORDS: dict[int, str] = _table()


@dataclass(frozen=True)
class CwruFile:
    """What a file name says about its recording."""

    path: Path
    name: str  # descriptive name, e.g. "IR007_2"
    fault: str  # normal | inner_race | ball | outer_race
    size_mils: int  # 0 for normal
    position: int  # outer-race defect position in clock hours (0 if n/a)
    load_hp: int


def parse_name(path: Path, record_names: dict[int, str] | None = None) -> CwruFile:
    """Fault type, size, position and load from a CWRU file name.

    Examples
    --------
    >>> f = parse_name(Path("OR021@6_0.mat"))
    >>> f.fault, f.size_mils, f.position, f.load_hp
    ('outer_race', 21, 6, 0)
    >>> parse_name(Path("105.mat")).name
    'IR007_0'
    """
    stem = path.stem
    name = stem
    if stem.isdigit():
        table = {**RECORDS, **{int(k): str(v) for k, v in (record_names or {}).items()}}
        if int(stem) not in table:
            raise DatasetError(
                f"{path.name}: record {int(stem)} is not in the CWRU table; rename the file "
                f"like IR007_0.mat or add dataset.record_names={{{int(stem)}: IR007_0}}"
            )
        name = table[int(stem)]
    m = _NAME_RE.match(name)
    if not m:
        raise DatasetError(
            f"{path.name}: cannot read fault, size and load from the name; expected "
            "<fault><size>[@<pos>]_<load>.mat such as IR007_2.mat, OR021@6_0.mat, Normal_0.mat"
        )
    code, size, pos, load = m.groups()
    fault = _CODES[code.lower()]
    if fault != "normal" and size is None:
        raise DatasetError(f"{path.name}: a fault file needs its size in mils, e.g. IR007_0.mat")
    return CwruFile(path, name, fault, int(size or 0), int(pos or 0), int(load))


def read_mat(path: Path, channels: tuple[str, ...]) -> tuple[dict[str, np.ndarray], float | None] | None:
    """The requested channels (``DE``/``FE``/``BA``) and the RPM of one CWRU ``.mat`` file.

    Returns None when a requested channel is missing. When a file holds several
    records, the one with an RPM key is used (else the lowest record number).
    """
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise DatasetError(
            f"cannot read {path}: {exc}; CWRU files are MATLAB v5 .mat as downloaded"
        ) from None
    recs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in mat.items():
        m = re.match(r"^X(\d+)_(DE|FE|BA)_time$", key)
        if m:
            if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
                raise DatasetError(f"{path}: {key} is not an array of numbers; the file is damaged")
            recs.setdefault(m.group(1), {})[m.group(2)] = np.asarray(value, dtype=np.float64).ravel()
    if not recs:
        raise DatasetError(f"{path}: no X<rec>_DE_time/_FE_time/_BA_time key; is this a CWRU file?")
    with_rpm = sorted(r for r in recs if f"X{r}RPM" in mat)
    rec = with_rpm[0] if with_rpm else min(recs)
    if len(recs) > 1:
        log.warning("%s holds records %s; using X%s", path.name, sorted(recs), rec)
    if any(c not in recs[rec] for c in channels):
        return None
    for c in channels:
        x = recs[rec][c]
        if len(x) < 2:
            raise DatasetError(f"{path}: X{rec}_{c}_time holds {len(x)} sample(s); the file is damaged")
        if not np.all(np.isfinite(x)):
            raise DatasetError(f"{path}: X{rec}_{c}_time holds NaN or inf (first at sample "
                               f"{int(np.argmax(~np.isfinite(x)))}); the file is damaged")
    rpm = None
    if f"X{rec}RPM" in mat:
        r = np.ravel(np.asarray(mat[f"X{rec}RPM"], dtype=np.float64)) if np.asarray(mat[f"X{rec}RPM"]).dtype.kind in "biuf" else []
        rpm = float(r[0]) if len(r) and np.isfinite(r[0]) and r[0] > 0 else None
    return {c: recs[rec][c] for c in channels}, rpm


@dataclass(frozen=True)
class CWRUOptions:
    """Options of :class:`CWRU`; ``conf/dataset/cwru.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder of CWRU .mat files (any depth), e.g. ../shared/data/cwru
    channels: tuple[str, ...] = ('DE',)  # DE (drive end), FE (fan end), BA (base); files lacking one are skipped
    classes: tuple[str, ...] = ('normal', 'inner_race', 'ball', 'outer_race')  # labels, in this order (normal first)
    sizes: Any = None  # fault sizes to keep in mils, e.g. [7, 14, 21]; null: all
    folder_rates: Any = field(default_factory=dict)  # Hz per folder name (the YAML: the CWRU normal baseline is 48 kHz)
    sample_rate_hz: Any = None  # Hz of files whose folder has no rate (no 12k/48k token, not in folder_rates)
    target_rate_hz: float = 8000.0  # Hz every recording is resampled to (below both 12 and 48 kHz, see the loader)
    lowpass_hz: Any = None  # optional common zero-phase low-pass after resampling (Hz)
    remove_dc: bool = True  # subtract each recording's mean
    window_samples: int = 1024  # samples per window (128 ms at 8 kHz)
    hop_samples: Any = None  # samples between validation/test windows (null: window_samples // 2)
    train_hop_samples: Any = None  # samples between training windows (overlap = augmentation; null: hop_samples)
    split: str = 'by_load'  # by_load: test = recordings at test_loads; by_file: seeded test_fraction per class
    test_loads: tuple[int, ...] = (2,)  # HP
    test_fraction: float = 0.5  # by_file only
    val_fraction: float = 0.2  # last part of each training recording used for validation (time block)
    single_recording_blocks: tuple[float, ...] = (0.6, 0.2, 0.2)  # train/val/test time blocks for a class on one side only (normal)
    record_names: Any = field(default_factory=lambda: {})  # extra record number -> name, e.g. {109: IR007_0} for 48 kHz drive-end files
    smoke: bool = False  # set by debug=smoke: a tiny dataset
    lowpass_order: int = 8  # order of the optional low-pass


class CWRU(Dataset):
    """CWRU bearing recordings, windowed, with a file- or load-held-out split.

    Options: see ``conf/dataset/cwru.yaml`` (every key is documented there).
    """

    name: ClassVar[str] = "cwru"
    task: ClassVar[str] = "classification"  # y = 0 normal, > 0 a fault: anomaly or classifier
    modality: ClassVar[str] = "vibration"
    VERSION: ClassVar[int] = 1
    Options = CWRUOptions

    def _opt(self, key: str, default: Any) -> Any:
        v = self.options.get(key, default)
        return default if v is None and default is not None else v

    def _rate(self, path: Path, root: Path) -> float:
        folder = path.parent.name
        rates = {str(k): float(v) for k, v in dict(self._opt("folder_rates", {}) or {}).items()}
        if folder in rates:
            return rates[folder]
        m = re.search(r"(?<![0-9])(12|48)k", folder, re.IGNORECASE)
        if m:
            return float(m.group(1)) * 1000.0
        if self.options.get("sample_rate_hz"):
            return float(self.options["sample_rate_hz"])
        rel = path.relative_to(root)
        raise DatasetError(
            f"cannot tell the sample rate of {rel}: put 12k or 48k in its folder name (e.g. 12k_DE), "
            f"or set dataset.folder_rates.{folder}=12000 or dataset.sample_rate_hz=12000"
        )

    def _files(self, root: Path) -> list[CwruFile]:
        record_names = dict(self._opt("record_names", {}) or {})
        files = sorted(root.rglob("*.mat"))
        if not files:
            raise DatasetError(f"dataset.root={root} holds no .mat file; expected the CWRU .mat files")
        classes = tuple(self._opt("classes", CLASSES))
        bad = [c for c in classes if c not in CLASSES]
        if bad or not classes or classes[0] != "normal":
            raise ConfigError(
                f"dataset.classes={list(classes)} must start with normal and name only {', '.join(CLASSES)}"
            )
        sizes = self._opt("sizes", None)
        out = []
        for p in files:
            f = parse_name(p, record_names)
            if f.fault not in classes:
                continue
            if sizes is not None and f.fault != "normal" and f.size_mils not in [int(s) for s in sizes]:
                continue
            out.append(f)
        return out

    def _load(self) -> DataSplits:
        from tinyml_suite.common.console import progress
        from tinyml_suite.common.dsp import ButterworthParams, butter_sos, resample, sosfilt

        root = require_dir(self.options.get("root"), dataset="cwru",
                           hint="the CWRU .mat files, e.g. 12k_DE/IR007_0.mat and Normal/Normal_0.mat")
        channels = tuple(str(c).upper() for c in self._opt("channels", ["DE"]))
        if not channels or any(c not in ("DE", "FE", "BA") for c in channels):
            raise ConfigError(f"dataset.channels={list(channels)} must name DE, FE and/or BA")
        fs = float(self._opt("target_rate_hz", 8000.0))
        window = int(self._opt("window_samples", 1024))
        hop = int(self._opt("hop_samples", window // 2))
        train_hop = int(self._opt("train_hop_samples", hop))
        lowpass = self.options.get("lowpass_hz")
        if window < 16 or hop < 1 or train_hop < 1:
            raise ConfigError(f"dataset.window_samples={window} must be >= 16 and the hops >= 1")
        if lowpass is not None and not 0 < float(lowpass) < fs / 2:
            raise ConfigError(f"dataset.lowpass_hz={lowpass} must be in (0, {fs / 2}) Hz or null")
        classes = tuple(self._opt("classes", CLASSES))
        files = self._files(root)
        smoke = bool(self._opt("smoke", False))

        recs: list[Recording] = []
        skipped = []
        rates = set()
        sos = None
        if lowpass is not None:
            sos = butter_sos(sample_rate=fs, params=ButterworthParams(
                kind="lowpass", order=int(self._opt("lowpass_order", 8)), cutoff_hz=float(lowpass)))
        for f in progress(files, desc="reading CWRU", leave=False):
            got = read_mat(f.path, channels)
            if got is None:
                skipped.append(f.path.name)
                continue
            data, rpm = got
            rate = self._rate(f.path, root)
            rates.add(rate)
            x = np.stack([data[c] for c in channels])
            if bool(self._opt("remove_dc", True)):
                x = x - x.mean(axis=-1, keepdims=True)
            x = resample(x, orig_rate=rate, target_rate=fs)
            if sos is not None:
                x = sosfilt(x, sos=sos, zero_phase=True)
            if smoke:
                x = x[:, : 12 * window]
            meta = {"fault": f.fault, "severity": f.size_mils, "load_hp": f.load_hp, "position": f.position,
                    "rpm": rpm if rpm is not None else NOMINAL_RPM.get(f.load_hp, float("nan")),
                    "source_rate_hz": rate}
            recs.append(Recording(x.astype(np.float32), f.fault, f.name, meta))
        if skipped:
            log.warning("Skipped %d file(s) without channel(s) %s: %s", len(skipped), "/".join(channels),
                        ", ".join(skipped))
        if not recs:
            raise DatasetError(f"no CWRU file under {root} has the channel(s) {'/'.join(channels)}")
        present = {r.label for r in recs}
        if "normal" not in present:
            raise DatasetError(f"no normal recording (Normal_<load>.mat) under {root}; the anomaly "
                               "recipe and the classifier both need one")
        labels = tuple(c for c in classes if c in present)
        for r, held_out in zip(recs, self._assign(recs, labels)):
            r.test = held_out
        train, val, test, time_split = split_recordings(
            recs, labels, window=window, hop=hop, train_hop=train_hop,
            val_fraction=float(self._opt("val_fraction", 0.2)),
            blocks=tuple(float(v) for v in self._opt("single_recording_blocks", [0.6, 0.2, 0.2])),
            meta_types={"fault": str, "severity": np.int64, "load_hp": np.float32, "position": np.int64,
                        "rpm": np.float32, "source_rate_hz": np.float32},
        )
        for name, split in (("train", train), ("test", test)):
            if len(split) == 0:
                raise DatasetError(
                    f"the CWRU {name} split is empty (split={self._opt('split', 'by_load')}, "
                    f"test_loads={list(self._opt('test_loads', [2]))}); check the files' loads and the split options"
                )
        return DataSplits(
            train, val, test, sample_rate=fs, channels=channels, task=self.task, labels=labels, name=self.name,
            extra={"source_rates_hz": np.asarray(sorted(rates), dtype=np.float64),
                   "time_split_classes": np.asarray(sorted(time_split), dtype=str)},
        )

    def _assign(self, recs: list[Recording], labels: tuple[str, ...]) -> list[bool]:
        """True for the recordings held out for test."""
        split = str(self._opt("split", "by_load"))
        if split == "by_load":
            test_loads = [int(v) for v in self._opt("test_loads", [2])]
            return [int(r.meta["load_hp"]) in test_loads for r in recs]
        if split == "by_file":
            frac = float(self._opt("test_fraction", 0.5))
            if not 0 < frac < 1:
                raise ConfigError(f"dataset.test_fraction={frac} must be in (0, 1)")
            rng = np.random.default_rng(self.seed)
            out = [False] * len(recs)
            for lab in labels:
                idx = [i for i, r in enumerate(recs) if r.label == lab]
                if len(idx) < 2:
                    continue
                k = min(len(idx) - 1, max(1, round(frac * len(idx))))
                for i in rng.permutation(idx)[:k]:
                    out[int(i)] = True
            return out
        raise ConfigError(f"dataset.split={split!r} must be 'by_load' or 'by_file'")
