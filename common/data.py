"""What a dataset hands to the pipeline: splits of raw windows with labels and groups.

Every loader (real formats) and every synthetic generator in ``tinyml_suite.datasets``
returns a :class:`DataSplits`. Raw signals are float32 with time on the last axis:
``x`` has shape ``(n, channels, samples)``. Features are computed later, by the
pipeline's feature stage, so the same data can feed different front ends.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.errors import DatasetError, TinyMLError
from tinyml_suite.common.io import config_hash

__all__ = ["Split", "DataKind", "DataSplits", "Dataset", "TASKS", "require_dir"]

log = logging.getLogger(__name__)

TASKS = ("classification", "regression", "anomaly")


@dataclasses.dataclass
class Split:
    """One split: ``x`` [shape=(n, channels, samples)], ``y`` [shape=(n,)].

    ``y`` holds class indices (classification, anomaly: 0 = normal) or float targets
    (regression). ``groups`` names who/what each example came from (speaker, user,
    subject, recording) so that no group is on both sides of a split. ``meta`` holds
    extra per-example columns (e.g. fault type, severity, load), each of length n.
    """

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    meta: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y)
        if self.x.ndim != 3:
            raise DatasetError(
                f"split x has shape {self.x.shape}; expected (n, channels, samples)"
            )
        n = len(self.x)
        if len(self.y) != n:
            raise DatasetError(f"split has {n} examples but {len(self.y)} labels")
        if self.groups is not None:
            self.groups = np.asarray(self.groups)
            if len(self.groups) != n:
                raise DatasetError(f"split has {n} examples but {len(self.groups)} group ids")
        for key, col in self.meta.items():
            if len(col) != n:
                raise DatasetError(f"split meta column {key!r} has {len(col)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: np.ndarray) -> Split:
        """The examples at ``index`` (an index array or boolean mask)."""
        return Split(
            self.x[index],
            self.y[index],
            None if self.groups is None else self.groups[index],
            {k: np.asarray(v)[index] for k, v in self.meta.items()},
        )


@dataclasses.dataclass(frozen=True)
class DataKind:
    """What windows are: what a dataset provides (:attr:`DataSplits.kind`) or an app needs (``App.needs``).

    An empty field means "any": a dataset of no stated modality suits every app, and an
    app that names no channels takes any.

    Examples
    --------
    >>> need = DataKind(modality="ppg", task="regression", channels=("ppg", "acc_x", "acc_y", "acc_z"))
    >>> need.refuses(DataKind(modality="ecg", task="regression", channels=("ecg",), sample_rate=360.0))
    'ecg windows'
    >>> need.refuses(DataKind(modality="ppg", task="regression", channels=("ppg",)))
    'channels (ppg)'
    >>> DataKind(task="anomaly").refuses(DataKind(modality="vibration", task="classification")) is None
    True
    """

    modality: str = ""  # the sensor: "audio", "imu", "ppg", "ecg", "vibration", ...
    task: str = ""  # one of TASKS (an anomaly app also takes labelled classification windows)
    channels: tuple[str, ...] = ()  # channel names, in order
    sample_rate: float | None = None  # Hz

    def describe(self) -> str:
        """``"windows of ppg (regression; channels ppg, acc_x, ...; 32 Hz)"``."""
        parts = [p for p in (self.task, f"channels {', '.join(self.channels)}" if self.channels else "",
                             f"{self.sample_rate:g} Hz" if self.sample_rate else "") if p]
        return f"windows of {self.modality or 'any sensor'}" + (f" ({'; '.join(parts)})" if parts else "")

    def refuses(self, data: DataKind) -> str | None:
        """What of ``data`` this need does not accept (None: it accepts it)."""
        if self.modality and data.modality and data.modality != self.modality:
            return f"{data.modality} windows"
        if self.task and data.task and data.task != self.task and not (self.task == "anomaly" and data.task == "classification"):
            return f"a {data.task} task"
        if self.channels and tuple(data.channels) != tuple(self.channels):
            return f"channels ({', '.join(data.channels)})"
        if self.sample_rate and data.sample_rate and abs(float(data.sample_rate) - float(self.sample_rate)) > 1e-6:
            return f"{data.sample_rate:g} Hz"
        return None


@dataclasses.dataclass
class DataSplits:
    """Train/val/test splits plus what the rest of the pipeline needs to know."""

    train: Split
    val: Split
    test: Split
    sample_rate: float
    channels: tuple[str, ...]
    task: str
    labels: tuple[str, ...] = ()
    name: str = ""
    #: extra arrays (saved with the cache); ``extra["skipped"]`` (str array) lists what the
    #: loader skipped on purpose, one "<count> <what> (<where>)" line each (in stats())
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: the sensor (``Dataset.modality``; set by :meth:`Dataset.load`); "" unstated
    modality: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DatasetError(f"task={self.task!r} is not one of {TASKS}")
        self.channels = tuple(self.channels)
        self.labels = tuple(self.labels)
        for name in ("train", "val", "test"):
            split = getattr(self, name)
            if split.x.shape[1] != len(self.channels):
                raise DatasetError(
                    f"{name} split has {split.x.shape[1]} channels but the dataset names "
                    f"{len(self.channels)} ({', '.join(self.channels)})"
                )
        if len(self.train) == 0:
            raise DatasetError(f"dataset {self.name!r} has an empty training split")

    @property
    def kind(self) -> DataKind:
        """What these windows are (compared with ``App.needs`` by ``App.check_data``)."""
        return DataKind(self.modality, self.task, tuple(self.channels), float(self.sample_rate))

    def stats(self) -> dict[str, Any]:
        """Counts per split (and per class for labelled tasks), for reports."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "sample_rate": self.sample_rate,
            "channels": list(self.channels),
            "labels": list(self.labels),
            "window_samples": int(self.train.x.shape[-1]),
        }
        for name in ("train", "val", "test"):
            split = getattr(self, name)
            entry: dict[str, Any] = {"n": len(split)}
            if split.groups is not None:
                entry["groups"] = int(len(np.unique(split.groups)))
            if self.labels and self.task != "regression":
                counts = np.bincount(split.y.astype(int), minlength=len(self.labels))
                entry["per_class"] = {lab: int(c) for lab, c in zip(self.labels, counts)}
            elif self.task == "regression" and len(split):
                entry["target_mean"] = float(np.mean(split.y))
                entry["target_std"] = float(np.std(split.y))
            out[name] = entry
        if "skipped" in self.extra:  # what a loader skipped on purpose (logged, counted)
            out["skipped"] = [str(v) for v in np.atleast_1d(self.extra["skipped"])]
        return out

    # -- caching -----------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array plus a header, as a flat mapping (no pickles: str or numbers only)."""
        arrays: dict[str, np.ndarray] = {}
        for name in ("train", "val", "test"):
            split = getattr(self, name)
            arrays[f"{name}.x"] = split.x
            arrays[f"{name}.y"] = split.y
            if split.groups is not None:
                arrays[f"{name}.groups"] = _no_objects(split.groups)
            for key, col in split.meta.items():
                arrays[f"{name}.meta.{key}"] = _no_objects(np.asarray(col))
        for key, value in self.extra.items():
            if isinstance(value, np.ndarray):
                arrays[f"extra.{key}"] = _no_objects(value)
        header = {
            "sample_rate": self.sample_rate,
            "channels": list(self.channels),
            "task": self.task,
            "labels": list(self.labels),
            "name": self.name,
            "modality": self.modality,
        }
        arrays["header"] = np.array(repr(header))
        return arrays

    @classmethod
    def from_arrays(cls, z: dict[str, np.ndarray]) -> DataSplits:
        """Inverse of :meth:`to_arrays`."""
        import ast

        header = ast.literal_eval(str(z["header"]))
        splits = {}
        for name in ("train", "val", "test"):
            meta = {k.split(".", 2)[2]: z[k] for k in z if k.startswith(f"{name}.meta.")}
            groups = z.get(f"{name}.groups")
            splits[name] = Split(z[f"{name}.x"], z[f"{name}.y"], groups, meta)
        extra = {k[len("extra."):]: z[k] for k in z if k.startswith("extra.")}
        return cls(**splits, extra=extra, **header)

    def save(self, path: Path) -> None:
        """Save to one checksummed ``.npz``, atomically (:func:`~tinyml_suite.common.cache.save_arrays`)."""
        from tinyml_suite.common.cache import save_arrays

        save_arrays(path, self.to_arrays())

    @classmethod
    def load_npz(cls, path: Path) -> DataSplits:
        """Inverse of :meth:`save` (``CacheDamaged`` when the file cannot be trusted)."""
        from tinyml_suite.common.cache import load_arrays

        return cls.from_arrays(load_arrays(path))


def _no_objects(a: np.ndarray) -> np.ndarray:
    if a.dtype == object:
        return a.astype(str)
    return a


def require_dir(root: str | os.PathLike | None, *, dataset: str, hint: str) -> Path:
    """Check a dataset folder exists and is not empty; raise a one-line DatasetError.

    ``hint`` says what the folder should hold (e.g. "the CWRU .mat files").
    """
    if root in (None, "", "???"):
        raise DatasetError(
            f"dataset={dataset} needs a folder: pass dataset.root=/path/to/{dataset} ({hint})"
        )
    path = Path(os.path.expanduser(str(root)))
    if not path.exists():
        raise DatasetError(
            f"dataset.root={path} does not exist; point it at the folder holding {hint}"
        )
    if not path.is_dir():
        raise DatasetError(f"dataset.root={path} is a file; point it at the folder holding {hint}")
    if not any(path.iterdir()):
        raise DatasetError(f"dataset.root={path} is empty; expected {hint}")
    return path


#: name -> Dataset class, for every class that declares its ``Options``
_DATASETS: dict[str, type[Dataset]] = {}


class Dataset(ABC):
    """Base class of loaders and synthetic generators.

    Subclasses set ``name``, ``task`` and ``modality`` (the sensor; with the channels and
    rate of the loaded splits, :attr:`DataSplits.kind` is what the dataset provides, which
    each app compares with what it needs), declare their options as a dataclass ``Options`` (defaults, types and ranges in one
    place; ``conf/dataset/<name>.yaml`` only overrides them) and implement
    :meth:`_load`. The options arrive as keyword arguments, are checked by
    :func:`~tinyml_suite.common.config.parse_options` (an unknown key is a one-line error
    with a did-you-mean) and are available as ``self.params`` (the dataclass) and
    ``self.options`` (the same as a plain dict). :meth:`load` caches the result by
    :meth:`cache_key` (the class, its ``VERSION``, its options and the content of the
    files they name) under ``~/.cache/tinyml-suite/datasets`` (or ``$TINYML_CACHE``),
    unless ``cache=False``.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "classification"
    #: the sensor the windows come from: "audio", "imu", "ppg" (PPG + ACC), "ecg",
    #: "vibration", ...; "" for a generic loader (every app may read it)
    modality: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    #: the options dataclass (None only for plugins that have not declared one yet:
    #: their options are then taken as given)
    Options: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and cls.Options is not None:
            _DATASETS[cls.name] = cls

    def __init__(self, *, seed: int = 0, cache: bool = True, **options: Any) -> None:
        from tinyml_suite.common.config import check_seed, parse_options

        options.pop("name", None)  # the config's name, already a class attribute
        if self.Options is not None:
            self.params = parse_options(self.Options, options, where="dataset", owner=f"dataset={self.name}")
            options = dataclasses.asdict(self.params)
        self.seed = check_seed(seed)
        self.cache = bool(cache)
        self.options = options

    @abstractmethod
    def _load(self) -> DataSplits:
        """Build the splits (no caching here)."""

    def cache_key(self) -> str:
        """Hash of everything that determines the data.

        The class and its ``VERSION``, the seed and every option; a path option
        (:func:`is_path_option`: ``root``, ``*_dir``, ...) naming an existing file or
        folder counts by its content (:func:`~tinyml_suite.common.cache.fingerprint`), so a
        changed file anywhere under ``dataset.root`` gives a new key. Other options count
        by value only: a word or a mark such as ``'.'`` is never taken for a folder (the
        key would then follow every file in the working directory). Computed once per
        instance.
        """
        if getattr(self, "_cache_key", None) is None:
            ident = {
                "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "version": self.VERSION,
                "seed": self.seed,
                "options": {k: _path_ident(v) if is_path_option(k) else v for k, v in sorted(self.options.items())},
            }
            self._cache_key = config_hash(ident, length=16)
        return self._cache_key

    def load(self) -> DataSplits:
        """The splits, from the cache when possible (a damaged entry is rebuilt)."""
        from tinyml_suite.common.cache import read_entry, write_entry

        if not self.cache:
            return self._stamped(self._load())
        entry = f"{self.name or type(self).__name__}-{self.cache_key()}"
        arrays = read_entry("datasets", entry)
        if arrays is not None:
            try:
                data = DataSplits.from_arrays(arrays)
            except (TinyMLError, KeyError, ValueError, SyntaxError) as exc:
                log.warning("cache entry %s does not hold a dataset (%s); rebuilding it", entry, exc)
            else:
                log.info("Loading cached dataset %s", entry)
                return self._stamped(data)
        data = self._stamped(self._load())
        write_entry("datasets", entry, data.to_arrays())
        return data

    def _stamped(self, data: DataSplits) -> DataSplits:
        data.modality = data.modality or self.modality
        return data


def is_path_option(name: str) -> bool:
    """Whether a dataset option names a file or folder: ``root``, ``path``, ``file`` or a
    name ending in ``_root``, ``_dir``, ``_path`` or ``_file``.

    Examples
    --------
    >>> [is_path_option(n) for n in ("root", "noise_dir", "real_dir", "punctuation", "keywords")]
    [True, True, True, False, False]
    """
    return name in ("root", "path", "file") or name.endswith(("_root", "_dir", "_path", "_file"))


def _path_ident(value: Any) -> Any:
    """Options that name existing files or folders count by a fingerprint of their content."""
    from tinyml_suite.common.cache import fingerprint

    if isinstance(value, (str, os.PathLike)) and str(value) and str(value) != "???":
        p = Path(os.path.expanduser(str(value)))
        if p.is_dir() or p.is_file():
            return f"{p.resolve()}@{fingerprint(p)}"
    if hasattr(value, "items"):
        return {str(k): _path_ident(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_path_ident(v) for v in value]
    return value
