"""Log-mel energies: framing -> window -> |FFT|^power -> mel filterbank -> log.

Per frame ``t`` of ``frame_length`` samples (no centring by default, see :mod:`.frames`)::

    X[k]    = rfft(w * frame_t, n_fft)[k]                         k = 0 .. n_fft/2
    S[k]    = |X[k]|^power                                        power 1 (magnitude) or 2
    E[m]    = sum_k fb[m, k] S[k]                                 fb: :func:`.mel_filterbank`
    out[m]  = log(max(E[m] + log_offset, log_floor))              log = ln or 10 log10 ('db')

The defaults are the MLPerf Tiny keyword-spotting front end (and TensorFlow's
``tf.signal`` recipe it uses): 16 kHz audio, 30 ms Hann window (480 samples), 20 ms
stride (320), 512-point FFT, magnitude spectrum, 40 HTK-mel bands from 20 to 4000 Hz,
natural log of ``E + 1e-6``. A 1 s clip gives ``1 + (16000 - 480) // 320 = 49`` frames:
frame ``t`` covers samples ``[320 t, 320 t + 480)``, the last one ends at sample 15840 and
the remaining 160 samples start no complete frame. Our triangles follow librosa (linear in
Hz), which differ slightly from TensorFlow's (linear in mel), see :mod:`.mel`.

librosa equivalent (checked by tests/test_dsp_audio.py): with ``power=2``, ``log='db'``,
``log_offset=0`` and ``log_floor=1e-10`` the output equals
``librosa.power_to_db(librosa.feature.melspectrogram(y=pad(y, p), sr=sr, n_fft=n_fft,
hop_length=hop, win_length=frame_length, center=False, power=2, htk=..., norm=...),
ref=1.0, amin=1e-10, top_db=None)`` where ``p = (n_fft - frame_length) // 2`` zeros are
padded at both ends (librosa centres the window inside the n_fft frame). ``top_db``
clipping is not offered: it depends on the loudest frame of the whole clip, so a device
that streams cannot reproduce it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.fft

from tinyml_suite.common.dsp._checks import (
    as_signal,
    check_choice,
    check_float,
    check_int,
    check_power_of_two,
)
from tinyml_suite.common.dsp.frames import frame
from tinyml_suite.common.dsp.mel import MEL_NORMS, MEL_SCALES, check_mel_range, mel_filterbank
from tinyml_suite.common.dsp.stft import _check_params_type, check_stft_fields, fft_workers
from tinyml_suite.common.dsp.windows import WINDOW_CODES, get_window
from tinyml_suite.common.errors import ConfigError

__all__ = ["LOG_KINDS", "LogMelParams", "log_compress", "logmel"]

#: The log applied to the band energies: natural log, or decibels (10 log10).
LOG_KINDS: tuple[str, ...] = ("ln", "db")

#: Largest FFT the device code is built for by default (tm_fft.h TM_FFT_MAX_N may be raised).
_MAX_DEVICE_N_FFT = 4096


@dataclass(kw_only=True, frozen=True)
class LogMelParams:
    """Parameters of the log-mel front end (defaults: MLPerf Tiny KWS at 16 kHz).

    The sample rate is not a field: it belongs to the data and is passed to
    :func:`logmel` (and written to ``dsp_params.h`` as ``<PREFIX>_SAMPLE_RATE``).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "LOGMEL"
    C_ENUMS: ClassVar[dict] = {
        "window": WINDOW_CODES,
        "pad_mode": {"constant": 0, "reflect": 1},
        "mel_scale": {"htk": 0, "slaney": 1},
        "mel_norm": {None: 0, "slaney": 1},
        "power": {1.0: 1, 2.0: 2},
        "log": {"ln": 0, "db": 1},
    }

    frame_length: int = 480
    """Samples per frame (window length); 480 = 30 ms at 16 kHz."""
    hop_length: int = 320
    """Samples between frame starts (stride); 320 = 20 ms at 16 kHz."""
    n_fft: int = 512
    """FFT length: a power of two (the device FFT), >= frame_length; zero-padded at the end."""
    window: str = "hann"
    """Window shape: 'hann', 'hamming' or 'rectangular'."""
    periodic_window: bool = True
    """Periodic (DFT-even) window if True, symmetric if False."""
    center: bool = False
    """Centre frames on t * hop_length by padding frame_length // 2 on both ends (batch only;
    a streaming device cannot, so the C code and :class:`AudioFrontend` refuse it)."""
    pad_mode: str = "constant"
    """Padding for center=True: 'constant' (zeros) or 'reflect'."""
    n_mels: int = 40
    """Number of mel bands."""
    fmin: float = 20.0
    """Lowest filterbank edge, Hz."""
    fmax: float = 4000.0
    """Highest filterbank edge, Hz (<= sample_rate / 2)."""
    mel_scale: str = "htk"
    """Mel scale: 'htk' (TensorFlow, MLPerf) or 'slaney' (librosa's default)."""
    mel_norm: str | None = None
    """Triangle normalisation: None (peak 1) or 'slaney' (equal area, librosa's default)."""
    power: float = 1.0
    """Exponent of the spectrum: 1.0 magnitude (MLPerf/TensorFlow) or 2.0 power (librosa)."""
    log: str = "ln"
    """'ln' (natural log, MLPerf) or 'db' (10 log10, librosa's power_to_db)."""
    log_offset: float = 1e-6
    """Added to each band energy before the log (MLPerf: 1e-6); >= 0."""
    log_floor: float = 0.0
    """Lower clamp after the offset (librosa's amin, e.g. 1e-10); >= 0. log_offset + log_floor
    must be > 0 so that silence gives a finite value: log(max(log_offset, log_floor))."""

    def __post_init__(self) -> None:
        check_logmel_fields(self)

    @property
    def n_bins(self) -> int:
        """FFT bins per frame, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def num_frames(self, n_samples: int) -> int:
        """Frames produced from ``n_samples`` samples (49 for 16000 with the defaults)."""
        from tinyml_suite.common.dsp.frames import num_frames

        return num_frames(
            n_samples,
            frame_length=self.frame_length,
            hop_length=self.hop_length,
            center=self.center,
        )


def check_logmel_fields(p: LogMelParams) -> None:
    """Validate the sample-rate-independent fields (run by ``__post_init__``)."""
    check_stft_fields(p)
    check_power_of_two("n_fft", p.n_fft, lo=2, hi=_MAX_DEVICE_N_FFT)
    check_int("n_mels", p.n_mels, lo=1)
    check_float("fmin", p.fmin, lo=0.0)
    check_float("fmax", p.fmax, lo=0.0, lo_open=True)
    if p.fmin >= p.fmax:
        raise ConfigError(f"fmin={p.fmin:g} Hz must be below fmax={p.fmax:g} Hz")
    check_choice("mel_scale", p.mel_scale, MEL_SCALES)
    check_choice("mel_norm", p.mel_norm, MEL_NORMS)
    if isinstance(p.power, bool) or p.power not in (1, 2):
        raise ConfigError(
            f"power={p.power!r} is not supported; choose 1.0 (magnitude) or 2.0 (power spectrum)"
        )
    check_choice("log", p.log, LOG_KINDS)
    off = check_float("log_offset", p.log_offset, lo=0.0)
    floor = check_float("log_floor", p.log_floor, lo=0.0)
    if off == 0.0 and floor == 0.0:
        raise ConfigError(
            "log_offset=0 and log_floor=0: a silent band would give log(0) = -inf; "
            "set log_offset > 0 (e.g. 1e-6) or log_floor > 0 (e.g. 1e-10)"
        )


def log_compress(energy: np.ndarray, *, params: LogMelParams, inplace: bool = False) -> np.ndarray:
    """``log(max(energy + log_offset, log_floor))`` in float32 (ln or 10 log10).

    ``inplace=True`` overwrites ``energy`` (a float32 array) instead of copying it.

    Examples
    --------
    >>> log_compress(np.array([0.0, np.e - 1e-6], dtype=np.float32), params=LogMelParams())
    array([-13.815511,   1.      ], dtype=float32)
    """
    e = np.asarray(energy, dtype=np.float32)
    out = e if inplace else e.copy()
    if params.log_offset:
        out += np.float32(params.log_offset)
    if params.log_floor:
        np.maximum(out, np.float32(params.log_floor), out=out)
    if params.log == "ln":
        return np.log(out, out=out)
    np.log10(out, out=out)
    return np.multiply(out, np.float32(10.0), out=out)


def _check_rate(sample_rate: int, p: LogMelParams) -> int:
    return check_mel_range(sample_rate=sample_rate, fmin=p.fmin, fmax=p.fmax)[0]


def _filterbank(sample_rate: int, p: LogMelParams) -> np.ndarray:
    return mel_filterbank(
        sample_rate=sample_rate,
        n_fft=p.n_fft,
        n_mels=p.n_mels,
        fmin=p.fmin,
        fmax=p.fmax,
        scale=p.mel_scale,
        norm=p.mel_norm,
    )


@dataclass(frozen=True)
class _Bands:
    """The filterbank stored the way the device stores it: per band, the first FFT bin
    and the weights of its non-zero span; ``lo:hi`` is the union of the spans."""

    lo: int
    hi: int
    starts: tuple[int, ...]
    weights: tuple[np.ndarray, ...]
    padded_rows: np.ndarray  # (n_mels, max_len): row of bin start + j in the [lo, hi) block
    padded_weights: np.ndarray  # (n_mels, max_len) float32: weight j, 0 past the band's end


@functools.lru_cache(maxsize=32)
def _bands(sample_rate: int, p: LogMelParams) -> _Bands:
    fb = _filterbank(sample_rate, p)
    starts, weights = [], []
    for row in fb:
        nz = np.flatnonzero(row)  # never empty: mel_filterbank refuses empty bands
        starts.append(int(nz[0]))
        weights.append(row[nz[0] : nz[-1] + 1].copy())
    lo = min(starts)
    hi = max(s + len(w) for s, w in zip(starts, weights))
    width = max(len(w) for w in weights)
    rows = np.zeros((len(starts), width), dtype=np.intp)
    padded = np.zeros((len(starts), width), dtype=np.float32)
    for m, (s, w) in enumerate(zip(starts, weights)):
        rows[m] = np.minimum(np.arange(s, s + width), hi - 1) - lo
        padded[m, : len(w)] = w
    return _Bands(
        lo=lo,
        hi=hi,
        starts=tuple(starts),
        weights=tuple(weights),
        padded_rows=rows,
        padded_weights=padded,
    )


#: Frames processed together, from windowing to features (keeps the working set in cache).
_CHUNK_FRAMES = 2048


def _frontend_t(
    signal: np.ndarray, sample_rate: int, p: LogMelParams, cepstral: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Log-mel (or, given the DCT/lifter matrix, MFCC) features, feature-major.

    Returns ``(features [shape=(n_features, N)], frames_shape)`` where ``N`` counts all
    frames of all batch entries (batch-major) and ``frames_shape = (*batch, n_frames)``.

    Frames go through in chunks of about ``_CHUNK_FRAMES``: window into a reused
    zero-padded buffer, FFT, then per frame and in a fixed order (band by band, bin by
    bin, as the C code does) the band sums, the log and the DCT -- never a BLAS product,
    whose rounding depends on how many frames it is given. So a frame's features are
    bit-identical whether it is computed alone (streaming) or among a million (batch).
    """
    x = as_signal(signal)
    frames = frame(
        x,
        frame_length=p.frame_length,
        hop_length=p.hop_length,
        center=p.center,
        pad_mode=p.pad_mode,
    )
    frames_shape = frames.shape[:-1]
    n_t = frames.shape[-2]
    frames = frames.reshape((-1, n_t, p.frame_length))  # merges batch dims; still a view
    n_b = frames.shape[0]
    win = get_window(p.window, p.frame_length, periodic=p.periodic_window)
    bands = _bands(sample_rate, p)
    n_out = p.n_mels if cepstral is None else cepstral.shape[0]
    out = np.empty((n_out, n_b * n_t), dtype=np.float32)
    # Whole clips per chunk when clips are short; otherwise slices of one clip.
    clips_per_chunk = max(1, _CHUNK_FRAMES // n_t)
    frames_per_chunk = min(n_t, _CHUNK_FRAMES)
    buf = np.zeros((clips_per_chunk * frames_per_chunk, p.n_fft), dtype=np.float32)
    workers = fft_workers()
    for b0 in range(0, n_b, clips_per_chunk):
        b1 = min(n_b, b0 + clips_per_chunk)
        for t0 in range(0, n_t, frames_per_chunk):
            t1 = min(n_t, t0 + frames_per_chunk)
            n = (b1 - b0) * (t1 - t0)
            padded = buf[:n]
            np.multiply(
                frames[b0:b1, t0:t1],
                win,
                out=padded.reshape(b1 - b0, t1 - t0, p.n_fft)[..., : p.frame_length],
            )
            spec = scipy.fft.rfft(padded, axis=-1, workers=workers)
            feats = _features_from_fft(spec, p, bands, cepstral)
            if t0 == 0 and t1 == n_t:
                out[:, b0 * n_t : b1 * n_t] = feats
            else:  # one clip, frames t0..t1
                out[:, b0 * n_t + t0 : b0 * n_t + t1] = feats
    return out, frames_shape


def _features_from_fft(
    spec: np.ndarray, p: LogMelParams, bands: _Bands, cepstral: np.ndarray | None
) -> np.ndarray:
    """``(n_features, n)`` from the ``(n, n_bins)`` complex64 spectra of n frames."""
    n = spec.shape[0]
    # |X|^2 = re^2 + im^2 of the bins the bands use (two float32 squares and one add, as
    # in C), written bins-major so that each bin is a contiguous row.
    squares = np.square(spec[:, bands.lo : bands.hi].view(np.float32))
    mag = np.empty((bands.hi - bands.lo, n), dtype=np.float32)
    np.add(squares[:, 0::2].T, squares[:, 1::2].T, out=mag)
    if p.power == 1:
        np.sqrt(mag, out=mag)
    # Band sums: step j adds weight j of every band to its sum (bands shorter than j + 1
    # add an exact 0), so each sum runs over its bins in order, as in C.
    energy = np.zeros((p.n_mels, n), dtype=np.float32)
    term = np.empty((p.n_mels, n), dtype=np.float32)
    for j in range(bands.padded_weights.shape[1]):
        np.multiply(mag[bands.padded_rows[:, j]], bands.padded_weights[:, j : j + 1], out=term)
        energy += term
    logs = log_compress(energy, params=p, inplace=True)
    if cepstral is None:
        return logs
    return apply_cepstral(cepstral, logs, scratch=term)


def apply_cepstral(
    cepstral: np.ndarray, logs: np.ndarray, scratch: np.ndarray | None = None
) -> np.ndarray:
    """``cepstral @ logs`` (``(k, m) @ (m, n)``, float32) summed over m in order, like the C
    loop ``acc += C[k][m] * L[m]``: elementwise steps only, so each column's result does
    not depend on how many columns there are."""
    n = logs.shape[1]
    ceps = np.zeros((cepstral.shape[0], n), dtype=np.float32)
    term = np.empty_like(ceps) if scratch is None else scratch[: cepstral.shape[0]]
    for m in range(cepstral.shape[1]):
        np.multiply(logs[m], cepstral[:, m : m + 1], out=term)
        ceps += term
    return ceps


def _dot_rows(w: np.ndarray, rows: np.ndarray, acc: np.ndarray, tmp: np.ndarray) -> None:
    """``acc += sum_j w[j] * rows[j]``, accumulated in order j = 0, 1, ... in float32.

    Elementwise numpy operations only: each column's result is the same sequence of
    float32 roundings as the C loop ``acc += w[j] * x[j]`` and does not depend on how
    many columns there are (a BLAS or einsum product may reorder the sum by size).
    """
    for j in range(len(w)):
        np.multiply(rows[j], w[j], out=tmp)
        acc += tmp


def _to_librosa_layout(feats_t: np.ndarray, frames_shape: tuple[int, ...]) -> np.ndarray:
    """``(n_features, N)`` -> ``(..., n_features, n_frames)``, C-contiguous."""
    return np.ascontiguousarray(np.moveaxis(feats_t.reshape((-1,) + frames_shape), 0, -2))


def logmel(
    signal: np.ndarray, *, sample_rate: int, params: LogMelParams | None = None
) -> np.ndarray:
    """Log-mel energies of ``signal`` (see the module docstring for the exact definition).

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n_samples)]
        Real, finite audio (any numeric dtype; computed in float32).
    sample_rate : int
        Sampling rate, Hz; ``params.fmax`` must not exceed ``sample_rate / 2``.
    params : LogMelParams, optional
        Front-end parameters; default ``LogMelParams()`` (MLPerf Tiny KWS).

    Returns
    -------
    np.ndarray [shape=(..., n_mels, n_frames), dtype=float32]
        librosa's layout (bands, then time); a model wanting (time, bands) transposes.

    Raises
    ------
    ConfigError
        fmax above Nyquist, a signal shorter than one frame, empty/NaN/complex input, ...

    Examples
    --------
    >>> x = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    >>> feats = logmel(x, sample_rate=16000)
    >>> feats.shape, feats.dtype
    ((40, 49), dtype('float32'))
    >>> round(float(logmel(np.zeros(16000), sample_rate=16000).max()), 4)  # silence: ln(1e-6)
    -13.8155
    """
    p = LogMelParams() if params is None else params
    _check_params_type(p, LogMelParams)
    sr = _check_rate(sample_rate, p)
    return _to_librosa_layout(*_frontend_t(signal, sr, p))
