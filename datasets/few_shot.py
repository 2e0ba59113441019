"""Few-shot keywords: the text-to-speech set plus N real recordings per keyword from a folder.

This is how a user with their own keywords works: type the words (``dataset.keywords``),
record each a few times, and train on both. :class:`FewShotKeywords`
(``dataset=tts_fewshot``) is :class:`~tinyml_suite.datasets.synthetic.tts_keywords.TtsKeywords`
with four more options:

``real_dir``
    A folder laid out like Speech Commands: ``<word>/<speaker>_nohash_<n>.wav``, any
    sample rate, mono or stereo (read by :mod:`tinyml_suite.datasets.wav`).
``real_per_keyword``
    How many recordings of each keyword to use (N). The choice is deterministic for a
    seed (sorted by a hash of the file name); fewer are used where fewer exist.
``real_speaker_percent``
    Only speakers whose ``SHA-1(id) mod 100`` lies in ``[low, high)``: hold speakers out
    of training and score on them (the bench does, with ``[0, 50]``).
``real_copies``
    Augmented copies of each recording added to the training split (shift, speed,
    room/noise/band-limit/level as for the synthetic clips, drawn afresh per copy).

Validation and test stay synthetic (nothing real is spent on model selection). The
synthetic part is generated and cached exactly as ``dataset=tts_keywords`` with the same
options, so trying N = 1, 3, 10 regenerates nothing.

Examples
--------
>>> FewShotKeywords(real_dir="/nowhere", real_per_keyword=-1).options["real_per_keyword"]
-1
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import DataSplits, Split
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords, TtsKeywordsOptions, _float_pair

__all__ = ["FewShotKeywords"]

log = logging.getLogger(__name__)

_REAL_OPTIONS = ("real_dir", "real_per_keyword", "real_speaker_percent", "real_copies")


@dataclass(frozen=True)
class FewShotKeywordsOptions(TtsKeywordsOptions):
    """Options of :class:`FewShotKeywords`: every tts_keywords option plus the real recordings."""

    real_dir: Any = field(default=None, metadata={"required": True})  # <word>/<speaker>_nohash_<n>.wav (any rate)
    real_per_keyword: int = 3  # N recordings per keyword (fewer where fewer exist)
    real_speaker_percent: tuple[float, ...] = (0, 100)  # speakers whose SHA-1(id) mod 100 is in [low, high)
    real_copies: int = 25  # augmented copies of each recording in the training split


class FewShotKeywords(TtsKeywords):
    """Text-to-speech keywords plus a few real recordings (see the module docstring)."""

    name = "tts_fewshot"
    Options = FewShotKeywordsOptions

    def load(self) -> DataSplits:
        """The synthetic splits (cached as ``tts_keywords``) with the recordings added to training."""
        if not self.options.get("real_dir"):
            raise ConfigError("dataset.real_dir is not set; name a folder of <word>/<speaker>_nohash_<n>.wav "
                              "recordings (or use dataset=tts_keywords)")
        for name in ("real_per_keyword", "real_copies"):  # refuse bad values before generating anything
            lowest = 0 if name == "real_per_keyword" else 1
            if int(self.options.get(name, lowest)) < lowest:
                raise ConfigError(f"dataset.{name}={self.options.get(name)} must be >= {lowest}")
        synthetic = {k: v for k, v in self.options.items() if k not in _REAL_OPTIONS}
        data = TtsKeywords(seed=self.seed, cache=self.cache, **synthetic).load()
        spec = self._spec()
        index = {lab: i for i, lab in enumerate(data.labels)}
        data.train = self._with_real_clips(data.train, spec, index, self._load_noise_bank(spec["sample_rate"]))
        return data

    def _load(self) -> DataSplits:  # pragma: no cover - load() composes the parts
        raise NotImplementedError

    def real_selection(self, keywords: tuple[str, ...]) -> list[tuple[str, str, str]]:
        """The recordings used: ``(relative_path, word, speaker)``, up to N per keyword."""
        from tinyml_suite.datasets.loaders.speech_commands import scan_clips

        o = self.options
        n = int(o.get("real_per_keyword", 3))
        if n < 0:
            raise ConfigError(f"dataset.real_per_keyword={n} must be >= 0")
        lo, hi = _float_pair("real_speaker_percent", o.get("real_speaker_percent", (0, 100)), 0.0, 100.0)
        clips = scan_clips(o["real_dir"])
        chosen = []
        for kw in keywords:
            cands = [c for c in clips if c[1] == kw
                     and lo <= int(hashlib.sha1(c[2].encode()).hexdigest(), 16) % 100 < hi]
            cands.sort(key=lambda c: hashlib.sha1(f"few-shot:{self.seed}:{c[0]}".encode()).hexdigest())
            chosen += cands[:n]
        return chosen

    def _with_real_clips(self, train: Split, spec: dict[str, Any], index: dict[str, int],
                         noise_bank: list[np.ndarray]) -> Split:
        """``train`` plus ``real_copies`` augmented copies of each chosen recording."""
        from tinyml_suite.datasets.audio_augment import Augmenter, AugmentParams
        from tinyml_suite.datasets.wav import fit_length, read_wav

        chosen = self.real_selection(spec["keywords"])
        copies = int(self.options.get("real_copies", 25))
        if copies < 1:
            raise ConfigError(f"dataset.real_copies={copies} must be >= 1")
        if not chosen:
            log.warning("dataset.real_dir: no recording of the keywords matched; training on synthetic clips only")
            return train
        root = Path(str(self.options["real_dir"]))
        n = spec["n_samples"]
        aug = Augmenter(AugmentParams.from_options({**spec["augment"], "max_shift_s": 0.1, "speed": (0.9, 1.1)}),
                        sample_rate=spec["sample_rate"], noise_bank=noise_bank)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 51]))
        xs, ys, groups, words = [], [], [], []
        for rel, word, speaker in chosen:
            x = fit_length(read_wav(root / rel, sample_rate=spec["sample_rate"]), n)
            for _ in range(copies):
                xs.append(aug.recorded_clip(x, rng))
                ys.append(index[word])
                groups.append(f"real:{speaker}")
                words.append(word)
        per_kw = {k: sum(1 for c in chosen if c[1] == k) for k in spec["keywords"]}
        log.info("few-shot: %d real recordings (%s) x %d augmented copies added to training",
                 len(chosen), ", ".join(f"{k} {v}" for k, v in per_kw.items()), copies)
        m = len(xs)
        extra = {"word": np.array(words), "voice": np.array(["real"] * m), "onset": np.zeros(m, np.int64),
                 "length": np.full(m, n, np.int64)}
        meta = {k: np.concatenate([v, extra[k]]) if k in extra else v for k, v in train.meta.items()}
        return Split(np.concatenate([train.x, np.stack(xs)[:, None, :]]), np.concatenate([train.y, ys]),
                     groups=np.concatenate([train.groups, groups]), meta=meta)
