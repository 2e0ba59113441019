"""A small ctypes binding to espeak-ng (the library shipped in the ``espeakng-loader`` wheel).

Only what the keyword generator needs: initialise in synchronous mode, pick a voice
(``<language>[+<variant>]``), set rate / pitch / pitch range / volume, synthesise a text
and collect the 16-bit samples through the synthesis callback.

espeak-ng keeps global state (one voice, one callback per process), so this module holds
ONE synthesiser per process (:func:`get_synth`); parallel generation uses processes.

Examples
--------
>>> synth = get_synth()                                   # doctest: +SKIP
>>> audio = synth.synth("yes", voice="en-us+f3", rate=160)  # doctest: +SKIP
>>> synth.sample_rate                                     # doctest: +SKIP
22050
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from pathlib import Path

import numpy as np

from tinyml_suite.common.errors import DatasetError

__all__ = [
    "PITCH_RANGE",
    "RATE_RANGE",
    "Espeak",
    "english_languages",
    "get_synth",
    "voice_variants",
]

# espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS returns from espeak_Synth when done.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_PARAMETER values (speak_lib.h).
_P_RATE, _P_VOLUME, _P_PITCH, _P_RANGE, _P_WORDGAP = 1, 2, 3, 4, 7
# espeak_Synth flags: text is UTF-8.
_CHARS_UTF8 = 1
#: espeak-ng's accepted speaking rates (words per minute) and pitch / range (0-99).
RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 99)

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _paths() -> tuple[str, str]:
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a listed dependency
        raise DatasetError(
            "the text-to-speech dataset needs espeak-ng: pip install 'espeakng-loader>=0.2.4,<0.3'"
        ) from exc
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


class Espeak:
    """One espeak-ng synthesiser (use :func:`get_synth`; the library is process-global).

    Attributes
    ----------
    sample_rate : int
        Output rate of the synthesiser in Hz (22050 for espeak-ng).
    """

    def __init__(self) -> None:
        lib_path, self.data_path = _paths()
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as exc:
            raise DatasetError(f"cannot load espeak-ng from {lib_path} ({exc}); reinstall espeakng-loader") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        # espeak-ng seeds its noise generator (Klatt voices, breath) from the clock at start-up
        self._set_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._set_seed is not None:
            self._set_seed.argtypes = [ctypes.c_long]
            self._set_seed.restype = None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if rate <= 0:
            raise DatasetError(
                f"espeak-ng failed to initialise with data at {self.data_path}; reinstall espeakng-loader"
            )
        self.sample_rate = int(rate)
        self._lib = lib
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self._voice: str | None = None

    def _collect(self, wav, n: int, events) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0: continue synthesis

    def set_voice(self, voice: str) -> None:
        """Select ``<language>[+<variant>]``, e.g. ``en-us+f3``; DatasetError if unknown."""
        if voice == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise DatasetError(
                f"espeak-ng has no voice {voice!r}; use a language such as "
                f"{', '.join(english_languages()[:4])} with an optional +variant "
                f"(e.g. +f3, +m2, +klatt3; see voice_variants())"
            )
        self._voice = voice

    def synth(
        self,
        text: str,
        *,
        voice: str = "en-us",
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        word_gap: int = 0,
        seed: int = 0,
    ) -> np.ndarray:
        """Synthesise ``text``; return int16-scaled float32 samples in [-1, 1] at :attr:`sample_rate`.

        Parameters
        ----------
        text : str
            Words to speak (UTF-8).
        voice : str
            ``<language>[+<variant>]``.
        rate : int
            Words per minute, clipped to :data:`RATE_RANGE`.
        pitch, pitch_range : int
            Base pitch and pitch range (intonation), 0-99.
        volume : int
            Amplitude, 0-200 (100 = normal).
        word_gap : int
            Pause between words in units of 10 ms.
        seed : int
            Seed of espeak-ng's noise generator (aspiration, Klatt voices) for this call.

        Returns
        -------
        np.ndarray [shape=(n,), dtype=float32]
            Empty if espeak produced nothing (e.g. punctuation only).
        """
        if not text or not text.strip():
            raise DatasetError("text-to-speech was given an empty word; check dataset.keywords")
        with self._lock:
            self.set_voice(voice)
            lib = self._lib
            lib.espeak_SetParameter(_P_RATE, int(np.clip(rate, *RATE_RANGE)), 0)
            lib.espeak_SetParameter(_P_PITCH, int(np.clip(pitch, *PITCH_RANGE)), 0)
            lib.espeak_SetParameter(_P_RANGE, int(np.clip(pitch_range, *PITCH_RANGE)), 0)
            lib.espeak_SetParameter(_P_VOLUME, int(np.clip(volume, 0, 200)), 0)
            lib.espeak_SetParameter(_P_WORDGAP, int(max(word_gap, 0)), 0)
            if self._set_seed is not None:
                self._set_seed(int(seed) & 0x7FFFFFFF)
            data = text.encode("utf-8") + b"\0"
            self._chunks = []
            status = lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise DatasetError(f"espeak-ng failed to synthesise {text!r} (status {status})")
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return (np.concatenate(chunks).astype(np.float32) / 32768.0).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _synth_for_pid(pid: int) -> Espeak:
    return Espeak()


def get_synth() -> Espeak:
    """The process's synthesiser (created on first use; a forked child gets its own)."""
    return _synth_for_pid(os.getpid())


def english_languages() -> list[str]:
    """English voices of the bundled espeak-ng data (dialects such as en-us, en-gb-scotland).

    Examples
    --------
    >>> "en-us" in english_languages()
    True
    """
    _, data = _paths()
    root = Path(data) / "lang" / "gmw"
    names = sorted(p.name.lower() for p in root.iterdir() if p.name.lower().startswith("en"))
    # en-shaw is the Shavian alphabet (same speech as en); it adds nothing.
    return [n for n in names if n != "en-shaw"]


def voice_variants() -> list[str]:
    """Voice variants (``+<name>``) of the bundled data: m1..m8, f1..f5, klatt.., named voices.

    Examples
    --------
    >>> {"m3", "f2", "klatt3"} <= set(voice_variants())
    True
    """
    _, data = _paths()
    root = Path(data) / "voices" / "!v"
    return sorted(p.name for p in root.iterdir() if p.is_file())
