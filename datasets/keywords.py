"""The keyword vocabulary: wake_word class labels and the word lists the datasets draw from.

The label order is always ``keywords..., "_silence_", "_unknown_"`` (the two extra classes
only when enabled), so index ``i < len(keywords)`` is keyword ``i``. The firmware's
``kCategoryLabels`` is written from the same tuple.

Examples
--------
>>> make_labels(["yes", "no"])
('yes', 'no', '_silence_', '_unknown_')
>>> len(DEFAULT_KEYWORDS), "dog" in unknown_vocabulary(DEFAULT_KEYWORDS)
(10, True)
>>> "know" in unknown_vocabulary(["no"])   # a homophone of a keyword is never 'unknown'
False
>>> near_misses(["go", "no"])[:4]            # interleaved by keyword, never a keyword
('so', 'now', 'low', 'new')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "COMMON_WORDS",
    "DEFAULT_KEYWORDS",
    "HOMOPHONES",
    "SILENCE",
    "SPEECH_COMMANDS_V1_WORDS",
    "SPEECH_COMMANDS_V2_EXTRA",
    "UNKNOWN",
    "check_keywords",
    "NEAR_MISSES",
    "keyword_count",
    "make_labels",
    "near_misses",
    "unknown_vocabulary",
]

SILENCE = "_silence_"
UNKNOWN = "_unknown_"

#: The ten command words of the standard 12-class Speech Commands task (MLPerf Tiny KWS).
DEFAULT_KEYWORDS: tuple[str, ...] = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

#: The 30 words of Speech Commands v0.01 (v0.02 adds five more).
SPEECH_COMMANDS_V1_WORDS: tuple[str, ...] = DEFAULT_KEYWORDS + (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
)
SPEECH_COMMANDS_V2_EXTRA: tuple[str, ...] = ("backward", "forward", "follow", "learn", "visual")

#: Non-keyword vocabulary for the text-to-speech 'unknown' class: frequent short English
#: words, the auxiliary words of Speech Commands, and near-rhymes of the default keywords
#: (the usual false triggers: dog/down, no/now, left/lift, ...).
COMMON_WORDS: tuple[str, ...] = SPEECH_COMMANDS_V1_WORDS[10:] + SPEECH_COMMANDS_V2_EXTRA + (
    # near-rhymes and confusables of the default keywords
    "yet", "yeah", "less", "mess", "guess", "chess", "dress", "yellow", "yesterday",
    "now", "new", "knee", "note", "nose", "snow", "noon", "nope",
    "cup", "pup", "us", "app", "upper", "hop", "hope",
    "town", "gown", "done", "dawn", "doubt", "dough", "drown", "crown", "brown", "round",
    "lift", "loft", "laughed", "lest", "felt", "lend", "lens", "leaf", "let",
    "light", "ride", "bright", "night", "write", "white", "rate", "ripe", "rice", "fight",
    "in", "an", "own", "one", "won", "un", "and", "odd", "honest",
    "of", "cough", "often", "oft", "awful", "offer", "office", "eff",
    "step", "shop", "top", "stock", "spot", "stuff", "store", "strap", "stub", "sob",
    "goat", "ghost", "grow", "glow", "gold", "gap", "got", "good", "goal", "ago",
    # frequent words
    "the", "be", "to", "have", "it", "for", "not", "with", "he", "as", "you", "do", "at",
    "this", "but", "his", "by", "from", "they", "we", "say", "her", "she", "or", "will",
    "my", "all", "would", "there", "their", "what", "so", "out", "if", "about", "who",
    "get", "which", "when", "make", "can", "like", "time", "just", "him", "take",
    "people", "into", "year", "your", "some", "could", "them", "see", "other", "than",
    "then", "look", "only", "come", "its", "over", "think", "also", "back", "after",
    "use", "how", "our", "work", "first", "well", "way", "even", "want", "because",
    "any", "these", "give", "day", "most", "very", "water", "music", "light", "open",
    "close", "start", "play", "pause", "next", "previous", "volume", "louder", "quiet",
    "hello", "okay", "computer", "phone", "lamp", "door", "window", "kitchen", "table",
    "chair", "green", "blue", "red", "orange", "purple", "black", "morning", "evening",
    "coffee", "dinner", "lunch", "money", "letter", "paper", "garden", "river", "mountain",
    "forest", "city", "street", "car", "train", "plane", "boat", "horse", "mouse",
    "rabbit", "monkey", "tiger", "lion", "apple", "banana", "bread", "cheese", "milk",
    "sugar", "salt", "pepper", "butter", "doctor", "teacher", "sister", "brother",
    "mother", "father", "baby", "friend", "family", "school", "number", "question",
    "answer", "problem", "moment", "minute", "hour", "week", "month", "ten", "twenty",
    "hundred", "thousand", "million", "alpha", "bravo", "charlie", "delta", "echo",
    "foxtrot", "hotel", "india", "juliet", "kilo", "lima", "mike", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
    "yankee", "zulu", "wake", "sleep", "listen", "hey", "please", "thanks", "sorry",
    "maybe", "never", "always", "later", "soon", "here", "where", "why", "again",
)

#: Words that sound like a keyword; never used as 'unknown' when that keyword is chosen.
HOMOPHONES: dict[str, tuple[str, ...]] = {
    "no": ("know",),
    "yes": (),
    "right": ("write", "rite", "wright"),
    "two": ("to", "too"),
    "four": ("for", "fore"),
    "eight": ("ate",),
    "one": ("won",),
    "go": ("ago",),
}


#: Hand-picked near misses of the default keywords: words a listener could take for the
#: keyword (one sound changed, added or dropped). Generated into ``_unknown_`` so that the
#: confusable pairs (go/no, dog/down, off/of, left/lift, ...) are learnt.
NEAR_MISSES: dict[str, tuple[str, ...]] = {
    "yes": ("yet", "yeah", "yep", "less", "mess", "guess", "chess", "dress", "yell", "yeast", "this", "ask"),
    "no": ("now", "new", "note", "nose", "snow", "nope", "low", "so", "toe", "row", "mow", "gnaw"),
    "up": ("cup", "pup", "app", "hop", "upper", "us", "hub", "tub", "yup", "oops", "ups", "pop"),
    "down": ("town", "gown", "dawn", "done", "doubt", "drown", "crown", "brown", "round", "dog", "noun", "sound"),
    "left": ("lift", "loft", "laughed", "lest", "felt", "lend", "lens", "leaf", "let", "theft", "deft", "lifter"),
    "right": ("ride", "bright", "night", "white", "rate", "ripe", "rice", "fight", "light", "rye", "bite", "kite"),
    "on": ("in", "an", "own", "un", "and", "odd", "honest", "con", "don", "john", "um", "ohm"),
    "off": ("of", "cough", "often", "oft", "awful", "offer", "eff", "doff", "oaf", "if", "ah", "laugh"),
    "stop": ("step", "shop", "top", "stock", "spot", "stuff", "store", "strap", "stub", "sob", "stomp", "drop"),
    "go": ("so", "low", "two", "do", "who", "toe", "dough", "goat", "grow", "glow", "goal", "ghost"),
    "dog": ("dig", "dug", "dock", "fog", "log", "hog", "jog", "duck", "talk", "bog", "dot", "doc"),
}

#: Onsets tried by :func:`near_misses` for keywords without a hand-picked list.
_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "w", "sh", "ch", "st", "br", "dr", "tr")


def _rhymes(word: str) -> list[str]:
    """Spelling-level near misses of ``word``: its rime behind other onsets (go -> bo, do, fo, ...)."""
    i = 0
    while i < len(word) and word[i] not in "aeiou":
        i += 1
    onset, rime = word[:i], word[i:]
    if not rime:
        return []
    return [o + rime for o in _ONSETS if o != onset]


def near_misses(keywords: Sequence[str], *, per_keyword: int = 12) -> tuple[str, ...]:
    """Words that sound almost like one of ``keywords`` (never a keyword or its homophone).

    Hand-picked lists (:data:`NEAR_MISSES`) for the default keywords; any other keyword
    gets its rime behind other onsets ('lamp' -> 'bamp', 'damp', ...), which espeak-ng and
    Piper pronounce by their letter-to-sound rules. Up to ``per_keyword`` per keyword,
    interleaved keyword by keyword.
    """
    kws = check_keywords(keywords)
    banned = set(kws)
    for kw in kws:
        banned.update(HOMOPHONES.get(kw, ()))
    lists = []
    for kw in kws:
        cands = list(NEAR_MISSES.get(kw, ())) or _rhymes(kw)
        lists.append([w for w in cands if w not in banned][:per_keyword])
    out: list[str] = []
    for j in range(max((len(c) for c in lists), default=0)):
        for c in lists:
            if j < len(c) and c[j] not in out:
                out.append(c[j])
    return tuple(out)


def check_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    """Normalised keyword tuple: lower-case, unique, non-empty; ConfigError otherwise.

    Examples
    --------
    >>> check_keywords(["Yes", "no"])
    ('yes', 'no')
    """
    if isinstance(keywords, str):
        keywords = [keywords]
    out: list[str] = []
    for kw in keywords:
        if isinstance(kw, bool):
            raise ConfigError(
                f"keyword {kw!r} is a boolean: YAML reads yes/no/on/off as true/false; quote them "
                "(keywords: [\"yes\", \"no\"]) or pass dataset.keywords=[yes,no] on the command line"
            )
        k = str(kw).strip().lower()
        if not k or k.startswith("_"):
            raise ConfigError(
                f"keyword {kw!r} is not a word; give dataset.keywords=[word, ...] (e.g. [yes,no])"
            )
        if k in out:
            raise ConfigError(f"keyword {k!r} is listed twice in dataset.keywords; list each word once")
        out.append(k)
    if not out:
        raise ConfigError("dataset.keywords is empty; give at least one keyword, e.g. [yes,no]")
    return tuple(out)


def make_labels(keywords: Sequence[str], *, silence: bool = True, unknown: bool = True) -> tuple[str, ...]:
    """``keywords + (_silence_,) + (_unknown_,)``."""
    return check_keywords(keywords) + ((SILENCE,) if silence else ()) + ((UNKNOWN,) if unknown else ())


def keyword_count(labels: Sequence[str]) -> int:
    """How many leading labels are keywords (not ``_silence_``/``_unknown_``).

    >>> keyword_count(("yes", "no", "_silence_", "_unknown_"))
    2
    """
    return sum(1 for lab in labels if lab not in (SILENCE, UNKNOWN))


def unknown_vocabulary(keywords: Sequence[str], words: Sequence[str] | None = None) -> tuple[str, ...]:
    """The 'unknown' words: ``words`` (default :data:`COMMON_WORDS`) minus the keywords and
    their homophones, deduplicated in order."""
    kws = set(check_keywords(keywords))
    banned = set(kws)
    for kw in kws:
        banned.update(HOMOPHONES.get(kw, ()))
    seen: set[str] = set()
    out = []
    for w in words if words is not None else COMMON_WORDS:
        w = str(w).strip().lower()
        if w and w not in banned and w not in seen:
            seen.add(w)
            out.append(w)
    if not out:
        raise ConfigError("the unknown-word list is empty after removing the keywords; add dataset.unknown_words")
    return tuple(out)
