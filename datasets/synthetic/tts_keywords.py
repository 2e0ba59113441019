"""Keyword clips synthesised by text-to-speech (espeak-ng): the wake_word default dataset.

Any keyword list works without a recording (``dataset.keywords=[lights,on,off]``). Each
example is a fresh utterance: a random English dialect (en-us, en-gb-scotland, en-029,
...) with a random voice variant (+m1..+m8, +f1..+f5, klatt models, named voices),
speaking rate, pitch and pitch range, trimmed, resampled from 22.05 kHz to 16 kHz and
turned into a 1 s clip by :class:`~tinyml_suite.datasets.audio_augment.Augmenter`
(speed, reverb, time shift, noise, band-limiting, gain).

Classes: the keywords, ``_silence_`` (background noise only) and ``_unknown_`` (other
words, see :func:`~tinyml_suite.datasets.keywords.unknown_vocabulary`), in the
proportions ``silence_share`` and ``unknown_share`` (relative to one keyword's count).

Splits are held out by voice variant: a variant (a 'speaker') is in exactly one of
train / val / test, chosen by a hash of its name (like Speech Commands' file hashing),
so validation and test measure generalisation to unseen voices.

Generation is deterministic for a seed (each example has its own
``SeedSequence([seed, split, index])``, whatever the number of worker processes), cached
by the pipeline, and shows a progress bar. espeak-ng is process-global, so
``workers`` processes generate in parallel; every chunk of clips is synthesised in a fresh
process (espeak-ng carries state from one utterance to the next, see
:func:`_map_fresh_processes`).

Examples
--------
>>> ds = TtsKeywords(keywords=["yes", "no"], per_keyword=4, cache=False, seed=0)  # doctest: +SKIP
>>> data = ds.load()                                                            # doctest: +SKIP
>>> data.labels, data.sample_rate, data.train.x.shape[1:]                       # doctest: +SKIP
(('yes', 'no', '_silence_', '_unknown_'), 16000.0, (1, 16000))
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = ["DEFAULT_VOICE", "TtsKeywords", "synth_utterance", "voice_split"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
DEFAULT_VOICE = "en-us"


def voice_split(variant: str, *, val_percent: float = 10.0, test_percent: float = 10.0) -> str:
    """Which split a voice variant belongs to ('train', 'val' or 'test'), from a hash of its name.

    Examples
    --------
    >>> voice_split("m3") in ("train", "val", "test")
    True
    >>> voice_split("m3") == voice_split("m3")
    True
    """
    h = int(hashlib.sha1(f"tts-variant:{variant}".encode()).hexdigest(), 16)
    pct = (h % 10_000) / 100.0
    if pct < val_percent:
        return "val"
    if pct < val_percent + test_percent:
        return "test"
    return "train"


def synth_utterance(
    text: str,
    *,
    voice: str,
    rate: int,
    pitch: int,
    pitch_range: int,
    sample_rate: int = 16000,
    seed: int = 0,
) -> np.ndarray:
    """One dry utterance at ``sample_rate``: synthesised, trimmed, resampled, peak 0.5.

    Returns an empty array if espeak produced no audible sound.
    """
    from tinyml_suite.common.dsp.resample import resample
    from tinyml_suite.datasets.audio_augment import trim_silence
    from tinyml_suite.datasets.synthetic.espeak import get_synth

    synth = get_synth()
    x = synth.synth(text, voice=voice, rate=rate, pitch=pitch, pitch_range=pitch_range, seed=seed)
    x = trim_silence(x, sample_rate=synth.sample_rate, top_db=40.0, margin_s=0.01)
    if len(x) < 0.05 * synth.sample_rate:
        return np.zeros(0, dtype=np.float32)
    y = resample(x, orig_rate=synth.sample_rate, target_rate=sample_rate)
    peak = float(np.abs(y).max())
    return (y * (0.5 / peak)).astype(np.float32) if peak > 0 else y


# -- the work one process does ------------------------------------------------------------


def _job_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), index]))


def _draw_voice(rng: np.random.Generator, spec: dict[str, Any]) -> tuple[str, str, int, int, int]:
    lang = spec["languages"][rng.integers(len(spec["languages"]))]
    variant = spec["variants"][rng.integers(len(spec["variants"]))]
    voice = lang if variant == "" else f"{lang}+{variant}"
    rate = int(rng.integers(spec["rate"][0], spec["rate"][1] + 1))
    pitch = int(rng.integers(spec["pitch"][0], spec["pitch"][1] + 1))
    prange = int(rng.integers(spec["pitch_range"][0], spec["pitch_range"][1] + 1))
    return voice, variant, rate, pitch, prange


def _text(word: str, rng: np.random.Generator, punctuation: list[str]) -> str:
    """The word with a random trailing mark: espeak-ng intones '.', '!', '?' and ',' differently."""
    if not punctuation:
        return word
    return word + punctuation[int(rng.integers(len(punctuation)))]


def _generate_chunk(spec: dict[str, Any], jobs: list[tuple[int, str]]) -> list[tuple[np.ndarray, str, int, int]]:
    """Make the clips of ``jobs`` = [(index, word or SILENCE)]; returns (clip, voice, onset, length)."""
    from tinyml_suite.datasets.audio_augment import Augmenter, AugmentParams
    from tinyml_suite.datasets.keywords import SILENCE

    sr = spec["sample_rate"]
    n = spec["n_samples"]
    babble_rng = np.random.default_rng(np.random.SeedSequence([spec["seed"], 99, SPLITS.index(spec["split"])]))
    bank = []
    for _ in range(spec["babble_bank"]):
        voice, _, rate, pitch, prange = _draw_voice(babble_rng, spec)
        word = spec["babble_words"][babble_rng.integers(len(spec["babble_words"]))]
        u = synth_utterance(word, voice=voice, rate=rate, pitch=pitch, pitch_range=prange, sample_rate=sr,
                            seed=int(babble_rng.integers(1 << 31)))
        if len(u):
            bank.append(u)
    aug = Augmenter(
        AugmentParams.from_options(spec["augment"]), sample_rate=sr,
        noise_bank=spec["noise_bank"], speech_bank=bank,
    )
    out = []
    for index, word in jobs:
        rng = _job_rng(spec["seed"], spec["split"], index)
        if word == SILENCE:
            out.append((aug.silence_clip(rng, n_samples=n), "", -1, 0))
            continue
        for _attempt in range(5):
            voice, _, rate, pitch, prange = _draw_voice(rng, spec)
            u = synth_utterance(_text(word, rng, spec["punctuation"]), voice=voice, rate=rate, pitch=pitch, pitch_range=prange,
                                sample_rate=sr, seed=int(rng.integers(1 << 31)))
            if len(u):
                break
        else:
            raise DatasetError(f"espeak-ng produced no sound for {word!r}; check dataset.keywords / unknown_words")
        clip, onset = aug.speech_clip(u, rng, n_samples=n)
        out.append((clip, voice, int(onset), int(min(len(u), n))))
    return out


def _run_chunk(args: tuple[dict[str, Any], list[tuple[int, str]]]) -> list[tuple[np.ndarray, str, int, int]]:
    return _generate_chunk(*args)


#: Examples per chunk; each chunk is synthesised in a fresh process.
_CHUNK = 256


def _map_fresh_processes(spec: dict[str, Any], chunks: list[list[tuple[int, str]]], workers: int):
    """Run :func:`_generate_chunk` on every chunk, each in a FRESH process, in order.

    espeak-ng's output depends on its history within a process (pitch-flutter phase,
    echo buffer, ... are static variables that neither re-initialisation nor
    ``espeak_ng_SetRandSeed`` resets), so a chunk is only reproducible if its process has
    synthesised nothing before it. A fork server gives each chunk a pristine process
    cheaply; the result is then the same for any number of workers.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["tinyml_suite.datasets.synthetic.tts_keywords"])
    with ProcessPoolExecutor(max(1, workers), mp_context=ctx, max_tasks_per_child=1) as pool:
        yield from pool.map(_run_chunk, [(spec, c) for c in chunks])


# -- the dataset --------------------------------------------------------------------------


def _int_pair(name: str, value: Any, lo: int, hi: int) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"dataset.{name}={value!r} must be a pair [low, high]") from None
    if not lo <= a <= b <= hi:
        raise ConfigError(f"dataset.{name}=[{a}, {b}] must satisfy {lo} <= low <= high <= {hi}")
    return a, b


def _punctuation(value: Any) -> list[str]:
    marks = [str(v) for v in (value or [])]
    bad = [m for m in marks if m not in ("", ".", "!", "?", ",", ";", ":")]
    if bad:
        raise ConfigError(f"dataset.punctuation: {bad[0]!r} is not one of '', '.', '!', '?', ',', ';', ':'")
    return marks


class TtsKeywords(Dataset):
    """Synthetic keyword spotting data from espeak-ng (see the module docstring).

    Options (``conf/dataset/tts_keywords.yaml``)
    -------------------------------------------
    keywords : list of str
        Words to spot (default the ten Speech Commands words).
    unknown_words : list of str or None
        Vocabulary of ``_unknown_`` (default: ~300 common words and near-rhymes).
    per_keyword : int
        Training clips per keyword; val/test get ``eval_fraction`` of it each.
    silence_share, unknown_share : float
        Size of ``_silence_`` / ``_unknown_`` relative to one keyword (0 drops the class).
    languages : list of str or "english"
        espeak-ng languages to speak with (default: every English dialect).
    variants : list of str or "all"
        Voice variants; "" is the plain voice. Split across train/val/test by hash.
    val_percent, test_percent : float
        Share of variants held out for validation and test.
    rate, pitch, pitch_range : [low, high]
        espeak-ng words per minute, base pitch and pitch range (0-99).
    punctuation : list of str
        Marks appended at random ('', '.', '!', '?'): espeak-ng intones a statement, an
        exclamation and a question differently (prosody variety).
    augment : mapping
        :class:`~tinyml_suite.datasets.audio_augment.AugmentParams` fields.
    noise_dir : str or None
        Folder of real background-noise WAVs (e.g. Speech Commands ``_background_noise_``).
    workers : int
        Processes generating in parallel (1 = in this process).
    smoke : bool
        Tiny dataset (a few clips per class) for ``debug=smoke``.
    """

    name = "tts_keywords"
    task = "classification"
    apps = ("wake_word",)
    VERSION = 2

    def _spec(self) -> dict[str, Any]:
        from tinyml_suite.datasets.keywords import (
            DEFAULT_KEYWORDS,
            check_keywords,
            unknown_vocabulary,
        )
        from tinyml_suite.datasets.synthetic.espeak import english_languages, voice_variants

        o = self.options
        keywords = check_keywords(o.get("keywords") or DEFAULT_KEYWORDS)
        unknown = unknown_vocabulary(keywords, o.get("unknown_words"))
        langs = o.get("languages", "english")
        available = english_languages()
        if langs in (None, "english", "all"):
            langs = available
        langs = [str(v).lower() for v in langs]
        if not langs:
            raise ConfigError("dataset.languages is empty; use 'english' or a list such as [en-us,en]")
        variants = o.get("variants", "all")
        all_variants = voice_variants()
        if variants in (None, "all"):
            variants = ["", *[v for v in all_variants if " " not in v]]
        else:
            variants = [str(v) for v in variants]
            unknown_v = [v for v in variants if v and v not in all_variants]
            if unknown_v:
                raise ConfigError(
                    f"dataset.variants: {unknown_v[0]!r} is not an espeak-ng voice variant; "
                    f"choose from {', '.join(all_variants[:12])}, ... or 'all'"
                )
        val_pct = float(o.get("val_percent", 10.0))
        test_pct = float(o.get("test_percent", 10.0))
        if val_pct < 0 or test_pct < 0 or val_pct + test_pct >= 100:
            raise ConfigError(
                f"dataset.val_percent={val_pct} and test_percent={test_pct} must be >= 0 and sum below 100"
            )
        by_split = {s: [v for v in variants if voice_split(v, val_percent=val_pct, test_percent=test_pct) == s]
                    for s in SPLITS}
        for s in SPLITS:
            if not by_split[s]:  # too few variants to hold some out: share the list (logged)
                log.warning("no voice variant hashes to the %s split; using all %d variants there", s, len(variants))
                by_split[s] = variants
        per_kw = int(o.get("per_keyword", 400))
        if per_kw < 1:
            raise ConfigError(f"dataset.per_keyword={per_kw} must be >= 1")
        silence_share = float(o.get("silence_share", 1.0))
        unknown_share = float(o.get("unknown_share", 2.0))
        if silence_share < 0 or unknown_share < 0:
            raise ConfigError("dataset.silence_share and unknown_share must be >= 0")
        eval_fraction = float(o.get("eval_fraction", 0.15))
        if not 0 < eval_fraction <= 1:
            raise ConfigError(f"dataset.eval_fraction={eval_fraction} must be in (0, 1]")
        sr = int(o.get("sample_rate", 16000))
        if sr < 8000:
            raise ConfigError(f"dataset.sample_rate={sr} Hz is too low for speech; use 16000")
        clip_s = float(o.get("clip_seconds", 1.0))
        if not 0.3 <= clip_s <= 5.0:
            raise ConfigError(f"dataset.clip_seconds={clip_s} must be between 0.3 and 5 s")
        return {
            "keywords": keywords,
            "unknown": unknown,
            "languages": langs,
            "variants_by_split": by_split,
            "per_keyword": per_kw,
            "silence_share": silence_share,
            "unknown_share": unknown_share,
            "eval_fraction": eval_fraction,
            "rate": _int_pair("rate", o.get("rate", (110, 250)), 80, 450),
            "pitch": _int_pair("pitch", o.get("pitch", (15, 85)), 0, 99),
            "pitch_range": _int_pair("pitch_range", o.get("pitch_range", (10, 90)), 0, 99),
            "punctuation": _punctuation(o.get("punctuation", ("", ".", "!", "?"))),
            "augment": dict(o.get("augment") or {}),
            "sample_rate": sr,
            "n_samples": int(round(clip_s * sr)),
            "seed": self.seed,
        }

    def _plan(self, spec: dict[str, Any], split: str, rng: np.random.Generator) -> list[str]:
        """The word of every example of a split (keywords, SILENCE, unknown words)."""
        from tinyml_suite.datasets.keywords import SILENCE

        smoke = bool(self.options.get("smoke", False))
        n_kw = spec["per_keyword"] if split == "train" else max(1, math.ceil(spec["per_keyword"] * spec["eval_fraction"]))
        if smoke:
            n_kw = 6 if split == "train" else 3
        words: list[str] = []
        for kw in spec["keywords"]:
            words += [kw] * n_kw
        words += [SILENCE] * int(round(n_kw * spec["silence_share"]))
        n_unknown = int(round(n_kw * spec["unknown_share"]))
        unk = spec["unknown"]
        # cycle through the vocabulary in a shuffled order so every word appears
        order = np.concatenate([rng.permutation(len(unk)) for _ in range(n_unknown // len(unk) + 1)])
        words += [unk[i] for i in order[:n_unknown]]
        return words

    def _load_noise_bank(self, sample_rate: int) -> list[np.ndarray]:
        noise_dir = self.options.get("noise_dir")
        if not noise_dir:
            return []
        from tinyml_suite.common.data import require_dir
        from tinyml_suite.datasets.wav import read_wav

        root = require_dir(noise_dir, dataset="tts_keywords (noise_dir)", hint="background-noise .wav files")
        files = sorted(root.glob("*.wav"))
        if not files:
            raise DatasetError(f"dataset.noise_dir={root} holds no .wav files; point it at background-noise recordings")
        return [read_wav(f, sample_rate=sample_rate) for f in files]

    def _load(self) -> DataSplits:
        from tqdm.auto import tqdm

        from tinyml_suite.datasets.keywords import SILENCE, UNKNOWN, make_labels

        spec = self._spec()
        labels = make_labels(
            spec["keywords"], silence=spec["silence_share"] > 0, unknown=spec["unknown_share"] > 0
        )
        index = {lab: i for i, lab in enumerate(labels)}
        noise_bank = self._load_noise_bank(spec["sample_rate"])
        workers = max(1, int(self.options.get("workers", 1)))
        smoke = bool(self.options.get("smoke", False))
        plan_rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7]))
        splits: dict[str, Split] = {}
        for split in SPLITS:
            words = self._plan(spec, split, plan_rng)
            job_spec = {
                **{k: spec[k] for k in ("languages", "rate", "pitch", "pitch_range", "augment", "punctuation",
                                         "sample_rate", "n_samples", "seed")},
                "variants": spec["variants_by_split"][split],
                "split": split,
                "noise_bank": noise_bank,
                "babble_words": spec["unknown"],
                "babble_bank": 8 if smoke else 32,
            }
            jobs = list(enumerate(words))
            chunk = _CHUNK if not smoke else 16
            chunks = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
            # clips go straight into one preallocated array (one copy of the audio in memory)
            x = np.empty((len(words), 1, spec["n_samples"]), dtype=np.float32)
            results: list[tuple[None, str, int, int]] = []
            for part in tqdm(_map_fresh_processes(job_spec, chunks, workers), total=len(chunks),
                             desc=f"tts {split}", unit="chunk", leave=False):
                for clip, voice, onset, length in part:
                    x[len(results), 0] = clip
                    results.append((None, voice, onset, length))
            y = np.array([index[w] if w in index else index.get(UNKNOWN, -1) for w in words], dtype=np.int64)
            if (y < 0).any():  # pragma: no cover - the plan only draws known classes
                raise DatasetError("internal: a planned word has no class")
            voices = np.array([r[1] for r in results])
            groups = np.array([
                f"noise:{split}" if w == SILENCE else f"variant:{v.split('+', 1)[1] if '+' in v else '<plain>'}"
                for w, v in zip(words, voices)
            ])
            splits[split] = Split(
                x, y, groups=groups,
                meta={
                    "word": np.array(words),
                    "voice": voices,
                    "onset": np.array([r[2] for r in results], dtype=np.int64),
                    "length": np.array([r[3] for r in results], dtype=np.int64),
                },
            )
            log.info("tts %s: %d clips from %d voice variants", split, len(x), len(job_spec["variants"]))
        extra: dict[str, Any] = {}
        if noise_bank:
            extra["background"] = np.concatenate(noise_bank)[: 120 * spec["sample_rate"]].astype(np.float32)
        return DataSplits(
            splits["train"], splits["val"], splits["test"],
            sample_rate=float(spec["sample_rate"]), channels=("mic",), task="classification",
            labels=labels, name=self.name, extra=extra,
        )
