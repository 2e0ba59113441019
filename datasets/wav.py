"""Robust WAV reading for the loaders: one mono float32 signal at the rate the app needs.

:func:`read_wav` reads any PCM/float WAV that ``soundfile`` understands and

* refuses, with a one-line :class:`~tinyml_suite.common.errors.DatasetError` naming the
  file and the fix: a missing or corrupt file, a truncated one (its header declares more
  audio than the file holds: :func:`check_riff`), a file with no samples, or one
  holding NaN/inf;
* mixes several channels down to mono (their mean), or refuses them with
  ``channels="refuse"``;
* resamples any other rate (8 kHz, 44.1 kHz, ...) to ``sample_rate`` with the polyphase
  resampler of :mod:`tinyml_suite.common.dsp.resample`, or refuses it with
  ``resample=False``.

:func:`fit_length` pads or crops a clip to a fixed number of samples (Speech Commands
clips shorter than 1 s are padded with zeros at the end, as TensorFlow's loader does).

Examples
--------
>>> import tempfile, pathlib, soundfile as sf
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tone.wav"
>>> sf.write(path, np.sin(np.arange(8000) / 5.0) * 0.5, 8000, subtype="PCM_16")
>>> x = read_wav(path, sample_rate=16000)
>>> x.dtype, x.shape
(dtype('float32'), (16000,))
>>> fit_length(x, 20000).shape
(20000,)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from tinyml_suite.common.errors import DatasetError

__all__ = ["check_riff", "fit_length", "read_wav", "wav_info"]

log = logging.getLogger(__name__)

_CHANNEL_MODES = ("mix", "first", "refuse")
_warned: set[tuple[str, object]] = set()


def _warn_once(kind: str, value: object, message: str) -> None:
    if (kind, value) not in _warned:
        _warned.add((kind, value))
        log.warning(message)


def check_riff(path: str | os.PathLike) -> None:
    """Refuse a RIFF/WAVE file whose header promises more audio than the file holds.

    libsndfile reads a truncated WAV (a copy cut short, a recording whose writer was
    killed) as whatever samples are there, without a word; a 1 s clip cut after 100
    bytes becomes a 28-sample "clip". The ``data`` chunk's declared size is compared
    with the bytes present. A declared size of 0 or 0xFFFFFFFF (written by streaming
    encoders that never went back to fill it in) is accepted. Files that are not
    RIFF/WAVE are left to the decoder.

    Examples
    --------
    >>> import tempfile, pathlib, soundfile as sf
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cut.wav"
    >>> sf.write(p, np.zeros(16000), 16000, subtype="PCM_16")
    >>> p.write_bytes(p.read_bytes()[:100])
    100
    >>> check_riff(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.DatasetError: ...cut.wav: truncated: its header declares 32000 bytes of audio but the file holds 56 ...
    """
    import struct

    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, csize = struct.unpack("<4sI", fh.read(8))
            body = pos + 8
            if cid == b"data":
                present = size - body
                if csize not in (0, 0xFFFFFFFF) and csize > present:
                    raise DatasetError(
                        f"{p}: truncated: its header declares {csize} bytes of audio but the file holds "
                        f"{present} ({100.0 * present / csize:.1f} %); copy it again or delete it"
                    )
                return
            if body + csize > size:
                raise DatasetError(
                    f"{p}: truncated inside its '{cid.decode('latin-1')}' header chunk, before any audio; "
                    "copy it again or delete it"
                )
            pos = body + csize + (csize & 1)  # chunks are padded to an even size
    raise DatasetError(f"{p}: a WAV file without audio (no 'data' chunk); copy it again or delete it")


def wav_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)`` of a WAV file; DatasetError if unreadable or truncated."""
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: no such file; check the dataset folder")
    try:
        check_riff(p)
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    try:
        info = sf.info(str(p))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise DatasetError(
            f"{p}: not a readable WAV file ({_reason(exc)}); delete or re-export it as 16-bit PCM WAV"
        ) from None
    return int(info.samplerate), int(info.channels), int(info.frames)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def read_wav(
    path: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    channels: str = "mix",
    resample: bool = True,
) -> np.ndarray:
    """Read a WAV file as mono float32 in [-1, 1] at ``sample_rate`` Hz.

    Parameters
    ----------
    path : path-like
        The file.
    sample_rate : int
        Rate the caller needs, Hz; other rates are resampled (or refused).
    channels : {'mix', 'first', 'refuse'}
        What to do with multi-channel files: average the channels, keep the first one, or
        raise a DatasetError.
    resample : bool
        Resample other rates to ``sample_rate`` (True) or raise a DatasetError (False).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]

    Raises
    ------
    DatasetError
        Missing, corrupt, empty or non-finite file; a refused channel count or rate.
    """
    import soundfile as sf

    if channels not in _CHANNEL_MODES:
        raise DatasetError(f"channels={channels!r} is not one of {_CHANNEL_MODES}")
    p = Path(path)
    rate, _, frames = wav_info(p)
    if frames == 0:
        raise DatasetError(f"{p}: the file has no samples (empty WAV); delete it or re-record it")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:
        raise DatasetError(
            f"{p}: not a readable WAV file ({_reason(exc)}); delete or re-export it as 16-bit PCM WAV"
        ) from None
    if data.shape[0] == 0:
        raise DatasetError(f"{p}: the file has no samples (empty WAV); delete it or re-record it")
    if not np.all(np.isfinite(data)):
        raise DatasetError(f"{p}: holds NaN or infinite samples; re-export it as 16-bit PCM WAV")
    if data.shape[1] > 1:
        if channels == "refuse":
            raise DatasetError(
                f"{p}: has {data.shape[1]} channels but mono audio is required; convert it to mono "
                "(e.g. sox in.wav -c 1 out.wav) or read it with channels='mix'"
            )
        _warn_once("channels", data.shape[1], f"{p}: {data.shape[1]} channels; "
                   f"{'averaged to mono' if channels == 'mix' else 'keeping the first channel'} "
                   "(further multi-channel files are converted silently)")
        x = data.mean(axis=1) if channels == "mix" else data[:, 0]
    else:
        x = data[:, 0]
    x = np.ascontiguousarray(x, dtype=np.float32)
    if int(rate) != int(sample_rate):
        if not resample:
            raise DatasetError(
                f"{p}: sampled at {rate} Hz but {sample_rate} Hz is required; resample the file "
                "or allow resampling (resample=True)"
            )
        from tinyml_suite.common.dsp.resample import resample as _resample

        _warn_once("rate", int(rate), f"{p}: {rate} Hz resampled to {sample_rate} Hz "
                   "(further files at this rate are resampled silently)")
        x = _resample(x, orig_rate=int(rate), target_rate=int(sample_rate))
    return x


def fit_length(x: np.ndarray, n: int, *, offset: int = 0) -> np.ndarray:
    """Pad with zeros at the end, or crop starting at ``offset``, to exactly ``n`` samples.

    Examples
    --------
    >>> fit_length(np.ones(3, np.float32), 5)
    array([1., 1., 1., 0., 0.], dtype=float32)
    >>> fit_length(np.arange(5, dtype=np.float32), 3, offset=1)
    array([1., 2., 3.], dtype=float32)
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) >= n:
        offset = int(np.clip(offset, 0, len(x) - n))
        return x[offset : offset + n].copy()
    out = np.zeros(n, dtype=np.float32)
    out[: len(x)] = x
    return out
