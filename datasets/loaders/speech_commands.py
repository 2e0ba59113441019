"""Google Speech Commands (v0.01 and v0.02), read from the official folder layout.

Layout (both versions)::

    <root>/<word>/<speaker>_nohash_<n>.wav      16 kHz mono 16-bit, at most 1 s
    <root>/validation_list.txt, testing_list.txt  official split lists (paths as word/file.wav)
    <root>/_background_noise_/*.wav             long noise recordings (optional here)

Splits: a clip listed in ``validation_list.txt`` / ``testing_list.txt`` is validation /
test, every other clip training. When a list file is missing, the dataset's own rule
decides (SHA-1 of the file name without its ``_nohash_`` part, 10 % / 10 %, see
:func:`which_set`), so clips of one speaker never straddle two splits either way.

Classes: the keywords (default the ten of the standard 12-class task), ``_unknown_`` drawn
from every other word, and ``_silence_``; unknown and silence each make up
``unknown_percentage`` / ``silence_percentage`` percent of a split's keyword count, as in
TensorFlow's ``speech_commands`` input pipeline (10 % and 10 % by default). Silence clips
are 1 s cuts of ``_background_noise_`` at a random volume; when the folder is absent
(e.g. a subset), coloured noise at a random low level replaces it (logged).

The standalone v0.02 test set (``speech_commands_test_set_v0.02``: the ten words plus
``_silence_/`` and ``_unknown_/`` folders of recorded clips, 4,890 in all, MLPerf Tiny's
test set) is read as it is: its silence and unknown clips are used instead of drawn ones.
Without list files it would be split by hash; score a model on all of it with
``tinyml evaluate <run> dataset=speech_commands dataset.root=<test set> split=all``.

Training clips are augmented (``augment_copies`` times each, with
:class:`~tinyml_suite.datasets.audio_augment.AugmentParams` from ``augment``), mixing in
``_background_noise_`` when present; validation and test clips stay as recorded.

Examples
--------
>>> which_set("bed/0c40e715_nohash_0.wav") in ("training", "validation", "testing")
True
>>> parse_clip_name("yes/3cfc6b3a_nohash_2.wav")
('yes', '3cfc6b3a', 2)
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split, require_dir
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.audio_augment import AugmentParams
from tinyml_suite.datasets.keywords import DEFAULT_KEYWORDS, check_keywords

__all__ = ["BACKGROUND_DIR", "SpeechCommands", "parse_clip_name", "scan_clips", "which_set"]

log = logging.getLogger(__name__)

BACKGROUND_DIR = "_background_noise_"
#: class folders of the v0.02 standalone test set (speech_commands_test_set_v0.02)
LABELLED_DIRS = ("_silence_", "_unknown_")
_MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
_NAME = re.compile(r"^(?P<speaker>[^_/\\]+)_nohash_(?P<n>\d+)\.wav$", re.IGNORECASE)
_HINT = "Speech Commands word folders (<word>/<speaker>_nohash_<n>.wav)"


def which_set(filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """The dataset's documented split rule: 'training', 'validation' or 'testing'.

    Hashes the base name with everything from ``_nohash_`` on removed, so all clips of
    one speaker land in the same split.
    """
    base = Path(filename).name
    hash_name = re.sub(r"_nohash_.*$", "", base)
    h = int(hashlib.sha1(hash_name.encode("utf-8")).hexdigest(), 16)
    percentage = (h % (_MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / _MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def parse_clip_name(rel: str) -> tuple[str, str, int]:
    """``word/<speaker>_nohash_<n>.wav`` -> ``(word, speaker, n)``; DatasetError otherwise."""
    parts = Path(rel).parts
    m = _NAME.match(parts[-1]) if parts else None
    if len(parts) < 2 or m is None:
        raise DatasetError(
            f"{rel}: not a Speech Commands clip name; expected <word>/<speaker>_nohash_<n>.wav"
        )
    return parts[-2].lower(), m.group("speaker"), int(m.group("n"))


def scan_clips(root: str | Path) -> list[tuple[str, str, str]]:
    """Every clip under ``root``: sorted ``(relative_path, word, speaker)``.

    Files that do not follow the naming scheme are skipped with one warning.
    """
    root = require_dir(root, dataset="speech_commands", hint=_HINT)
    out: list[tuple[str, str, str]] = []
    skipped = 0
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if word_dir.name in LABELLED_DIRS:  # the v0.02 standalone test set's class folders
            out += [(f"{word_dir.name}/{f.name}", word_dir.name, f"{word_dir.name}:{f.stem}")
                    for f in sorted(word_dir.glob("*.wav"))]
            continue
        if word_dir.name.startswith("_") or word_dir.name.startswith("."):
            continue
        for f in sorted(word_dir.glob("*.wav")):
            rel = f"{word_dir.name}/{f.name}"
            try:
                word, speaker, _ = parse_clip_name(rel)
            except DatasetError:
                skipped += 1
                continue
            out.append((rel, word, speaker))
    if skipped:
        log.warning("speech_commands: skipped %d .wav files not named <speaker>_nohash_<n>.wav", skipped)
    if not out:
        raise DatasetError(f"dataset.root={root} holds no {_HINT}; point it at the extracted dataset")
    return out


def _read_list(root: Path, name: str) -> set[str] | None:
    path = root / name
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text list of clips (binary content); copy it again from the dataset") from None
    return {ln.strip().replace("\\", "/") for ln in text.splitlines() if ln.strip()}


@dataclass(frozen=True)
class SpeechCommandsOptions:
    """Options of :class:`SpeechCommands`; ``conf/dataset/speech_commands.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # the extracted dataset: <root>/<word>/<speaker>_nohash_<n>.wav
    keywords: Any = DEFAULT_KEYWORDS  # any words, unique and non-empty; quote yes/no/on/off in YAML
    silence_percentage: float = 10.0  # _silence_ clips as % of a split's keyword clips (TensorFlow's default)
    unknown_percentage: float = 10.0  # _unknown_ clips (all other words) as % of a split's keyword clips
    sample_rate: int = 16000  # Hz; other rates are resampled
    clip_seconds: float = 1.0  # shorter clips are zero-padded at the end
    max_per_class: Any = None  # cap on keyword clips per class and split (quick experiments)
    augment_copies: int = 1  # augmented versions of each training clip (0: clean clips only)
    smoke: bool = False  # set by debug=smoke: a tiny dataset
    augment: Any = field(default_factory=AugmentParams)  # AugmentParams fields (datasets/audio_augment.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", check_keywords(self.keywords))  # non-empty, unique, words


class SpeechCommands(Dataset):
    """Speech Commands keyword spotting (see the module docstring).

    Options (``conf/dataset/speech_commands.yaml``)
    ----------------------------------------------
    root : str
        The extracted dataset folder (required).
    keywords : list of str
        Words to spot (default: yes, no, up, down, left, right, on, off, stop, go).
    silence_percentage, unknown_percentage : float
        Size of ``_silence_`` / ``_unknown_`` as a percentage of a split's keyword clips
        (0 drops the class).
    augment_copies : int
        Augmented versions of each training clip (0: train on the clean clips).
    augment : mapping
        :class:`~tinyml_suite.datasets.audio_augment.AugmentParams` fields.
    max_per_class : int or None
        Cap on clips per keyword and split (quick experiments).
    smoke : bool
        A few clips per class (for ``debug=smoke``).
    """

    name = "speech_commands"
    task = "classification"
    modality = "audio"
    VERSION = 1
    Options = SpeechCommandsOptions

    def _load(self) -> DataSplits:
        from tinyml_suite.common.console import progress
        from tinyml_suite.datasets.audio_augment import Augmenter, AugmentParams
        from tinyml_suite.datasets.keywords import (
            SILENCE,
            UNKNOWN,
            check_keywords,
            make_labels,
        )
        from tinyml_suite.datasets.wav import fit_length, read_wav

        o = self.options
        root = require_dir(o.get("root"), dataset="speech_commands", hint=_HINT)
        keywords = check_keywords(o["keywords"])
        sr = int(o.get("sample_rate", 16000))
        n_samples = int(round(float(o.get("clip_seconds", 1.0)) * sr))
        silence_pct = float(o.get("silence_percentage", 10.0))
        unknown_pct = float(o.get("unknown_percentage", 10.0))
        if silence_pct < 0 or unknown_pct < 0:
            raise ConfigError("dataset.silence_percentage and unknown_percentage must be >= 0")
        copies = int(o.get("augment_copies", 1))
        if copies < 0:
            raise ConfigError(f"dataset.augment_copies={copies} must be >= 0")
        aug_params = AugmentParams.from_options(o.get("augment"))
        max_per_class = o.get("max_per_class")
        smoke = bool(o.get("smoke", False))

        clips = scan_clips(root)
        words_present = sorted({w for _, w, _ in clips})
        missing = [k for k in keywords if k not in words_present]
        if missing:
            raise DatasetError(
                f"dataset.root={root} has no clips of keyword(s) {missing}; words present: "
                f"{', '.join(words_present[:40])}"
            )
        val_list = _read_list(root, "validation_list.txt")
        test_list = _read_list(root, "testing_list.txt")
        if val_list is None or test_list is None:
            log.warning("speech_commands: validation_list.txt/testing_list.txt missing; splitting by speaker hash")

        def split_of(rel: str) -> str:
            if val_list is not None and test_list is not None:
                return "validation" if rel in val_list else "testing" if rel in test_list else "training"
            return which_set(rel)

        labels = make_labels(keywords, silence=silence_pct > 0, unknown=unknown_pct > 0)
        index = {lab: i for i, lab in enumerate(labels)}
        noise_bank = self._background(root, sr)
        splits: dict[str, Split] = {}
        names = {"training": "train", "validation": "val", "testing": "test"}
        recorded_silence = any(w == SILENCE for _, w, _ in clips)
        for split_no, (set_name, key) in enumerate(names.items()):
            # one generator per split (choice of unknowns, silence) and one for augmentation,
            # so the evaluation splits do not depend on how much augmentation was drawn
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 11, split_no]))
            aug_rng = np.random.default_rng(np.random.SeedSequence([self.seed, 12, split_no]))
            in_set = [(rel, w, s) for rel, w, s in clips if split_of(rel) == set_name]
            kw = [c for c in in_set if c[1] in keywords]
            # recorded _silence_ / _unknown_ clips (standalone test set) are kept as they are
            rec_sil = [c for c in in_set if c[1] == SILENCE] if SILENCE in index else []
            rec_unk = [c for c in in_set if c[1] == UNKNOWN] if UNKNOWN in index else []
            unk = [c for c in in_set if c[1] not in keywords and c[1] not in LABELLED_DIRS]
            cap = 6 if smoke and key == "train" else 3 if smoke else max_per_class
            if cap:
                by_word: dict[str, list] = {}
                for c in kw:
                    by_word.setdefault(c[1], []).append(c)
                kw = [c for w in keywords for c in by_word.get(w, [])[: int(cap)]]
            n_unknown = min(len(unk), math.ceil(len(kw) * unknown_pct / 100.0)) if UNKNOWN in index else 0
            if smoke:
                n_unknown = min(n_unknown, 3) if n_unknown else 0
            chosen_unk = [unk[i] for i in sorted(rng.permutation(len(unk))[:n_unknown])]
            n_silence = math.ceil(len(kw) * silence_pct / 100.0) if SILENCE in index and not recorded_silence else 0
            items = kw + chosen_unk + rec_unk + rec_sil
            xs: list[np.ndarray] = []
            ys: list[int] = []
            groups: list[str] = []
            words: list[str] = []
            for rel, w, spk in progress(items, desc=f"speech_commands {key}", leave=False, unit="clip"):
                xs.append(fit_length(read_wav(root / rel, sample_rate=sr), n_samples))
                ys.append(index[w] if w in index else index[UNKNOWN])  # _silence_/_unknown_ folders too
                groups.append(spk)
                words.append(w)
            sil_aug = Augmenter(AugmentParams.from_options({**(o.get("augment") or {}), "real_noise_prob": 1.0}),
                                sample_rate=sr, noise_bank=noise_bank)
            for _ in range(n_silence):
                xs.append(sil_aug.silence_clip(rng, n_samples=n_samples))
                ys.append(index[SILENCE])
                groups.append(f"noise:{key}")
                words.append(SILENCE)
            if not xs:
                x = np.zeros((0, 1, n_samples), dtype=np.float32)
            else:
                x = np.stack(xs)[:, None, :]
            y = np.asarray(ys, dtype=np.int64)
            g = np.asarray(groups)
            wd = np.asarray(words)
            if key == "train" and copies > 0 and len(x):
                # babble from unknown-word clips only: a keyword under another keyword would blur labels
                speech = [x[i, 0] for i in np.flatnonzero(y == index.get(UNKNOWN, -1))[:200]]
                aug = Augmenter(aug_params, sample_rate=sr, noise_bank=noise_bank, speech_bank=speech)
                reps = []
                for c in range(copies):
                    xa = np.empty_like(x)
                    for i in range(len(x)):
                        xa[i, 0] = x[i, 0] if wd[i] == SILENCE and c == 0 else (
                            aug.recorded_clip(x[i, 0], aug_rng) if wd[i] != SILENCE
                            else sil_aug.silence_clip(aug_rng, n_samples=n_samples))
                    reps.append(xa)
                x = np.concatenate(reps)
                y, g, wd = np.tile(y, copies), np.tile(g, copies), np.tile(wd, copies)
            if key == "train" and len(x) == 0:
                raise DatasetError(
                    f"dataset.root={root}: no training clips of {list(keywords)} (all are in the "
                    "validation/testing lists); use a folder with training clips"
                )
            splits[key] = Split(x, y, groups=g, meta={"word": wd})
            log.info("speech_commands %s: %d keyword, %d unknown, %d silence clips%s", key, len(kw),
                     len(chosen_unk), n_silence, f" x {copies} augmented" if key == "train" and copies else "")
        extra: dict[str, Any] = {}
        if noise_bank:
            extra["background"] = np.concatenate(noise_bank)[: 120 * sr].astype(np.float32)
        return DataSplits(
            splits["train"], splits["val"], splits["test"], sample_rate=float(sr), channels=("mic",),
            task="classification", labels=labels, name=self.name, extra=extra,
        )

    def _background(self, root: Path, sr: int) -> list[np.ndarray]:
        from tinyml_suite.datasets.wav import read_wav

        folder = root / BACKGROUND_DIR
        files = sorted(folder.glob("*.wav")) if folder.is_dir() else []
        if not files:
            log.warning(
                "speech_commands: no %s/ in %s; silence and training noise use synthetic coloured noise",
                BACKGROUND_DIR, root,
            )
            return []
        return [read_wav(f, sample_rate=sr) for f in files]
