"""Short-time Fourier transform and its power and magnitude spectra.

Each frame of ``frame_length`` samples (see :mod:`.frames`) is multiplied by the window
and zero-padded **at its end** to ``n_fft`` samples before a real FFT (TensorFlow's
``tf.signal.stft`` convention and what the device does). librosa instead pads the window
to ``n_fft`` symmetrically; that is a circular shift of the frame, so the power and
magnitude spectra are identical and only the phase of :func:`stft` differs (by
``exp(2j pi k p / n_fft)`` with ``p = (n_fft - frame_length) // 2``) -- and librosa's frame
``t`` starts ``p`` samples later than ours.

Output layout is librosa's: ``(..., n_bins, n_frames)`` with ``n_bins = n_fft // 2 + 1``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.fft

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_int
from tinyml_suite.common.dsp.frames import PAD_MODES, frame
from tinyml_suite.common.dsp.windows import WINDOW_CODES, WINDOWS, get_window
from tinyml_suite.common.errors import ConfigError

__all__ = ["StftParams", "fft_workers", "magnitude_spectrum", "power_spectrum", "stft"]


def fft_workers() -> int:
    """Threads given to ``scipy.fft`` for batch transforms: ``TINYML_FFT_WORKERS`` or 1.

    Set the environment variable ``TINYML_FFT_WORKERS`` (e.g. to 2, or -1 for all cores)
    to parallelise the FFT of large batches; results are identical either way.

    Examples
    --------
    >>> fft_workers() >= -1
    True
    """
    text = os.environ.get("TINYML_FFT_WORKERS", "1")
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"TINYML_FFT_WORKERS={text!r} must be an integer (threads for scipy.fft, -1 = all)"
        ) from None


@dataclass(kw_only=True, frozen=True)
class StftParams:
    """Parameters of the short-time Fourier transform.

    Defaults are the MLPerf Tiny keyword-spotting front end at 16 kHz (30 ms window,
    20 ms stride, 512-point FFT).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "STFT"
    C_ENUMS: ClassVar[dict] = {"window": WINDOW_CODES, "pad_mode": {"constant": 0, "reflect": 1}}

    frame_length: int = 480
    """Samples per analysis frame (the window length), >= 1."""
    hop_length: int = 320
    """Samples between consecutive frame starts (the stride), >= 1."""
    n_fft: int = 512
    """FFT length, >= frame_length; frames are zero-padded at the end up to it."""
    window: str = "hann"
    """Window shape: 'hann', 'hamming' or 'rectangular'."""
    periodic_window: bool = True
    """Periodic (DFT-even) window if True, symmetric if False."""
    center: bool = False
    """Pad frame_length // 2 samples on both ends so frame t is centred on t * hop."""
    pad_mode: str = "constant"
    """Padding for center=True: 'constant' (zeros) or 'reflect'."""

    def __post_init__(self) -> None:
        check_stft_fields(self)

    @property
    def n_bins(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1


def check_stft_fields(p) -> None:
    """Validate the STFT fields shared by :class:`StftParams` and the mel feature params."""
    fl = check_int("frame_length", p.frame_length, lo=1)
    check_int("hop_length", p.hop_length, lo=1)
    n_fft = check_int("n_fft", p.n_fft, lo=1)
    if n_fft < fl:
        raise ConfigError(
            f"n_fft={n_fft} must be >= frame_length={fl} (frames are zero-padded up to n_fft, "
            f"never truncated); raise n_fft to at least {1 << (fl - 1).bit_length()}"
        )
    check_choice("window", p.window, WINDOWS)
    check_choice("pad_mode", p.pad_mode, PAD_MODES)
    for name in ("periodic_window", "center"):
        if not isinstance(getattr(p, name), (bool, np.bool_)):
            raise ConfigError(f"{name}={getattr(p, name)!r} must be True or False")


def _fft_frames(signal: np.ndarray, p) -> np.ndarray:
    """Frame, window, zero-pad and FFT: ``(..., n_frames, n_bins)`` complex64.

    Each frame is transformed on its own (the result of one frame does not depend on
    the others), which is what makes streaming bit-identical to batch processing.
    """
    x = as_signal(signal)
    frames = frame(
        x,
        frame_length=p.frame_length,
        hop_length=p.hop_length,
        center=p.center,
        pad_mode=p.pad_mode,
    )
    win = get_window(p.window, p.frame_length, periodic=p.periodic_window)
    # Windowed frames written straight into a zero-padded buffer: one pass, and the FFT
    # of an n_fft-long buffer is faster than letting scipy pad each frame.
    buf = np.zeros(frames.shape[:-1] + (p.n_fft,), dtype=np.float32)
    np.multiply(frames, win, out=buf[..., : p.frame_length])
    return scipy.fft.rfft(buf, axis=-1, overwrite_x=True, workers=fft_workers())


def _spectrum_frames(signal: np.ndarray, p, *, power: float | None) -> np.ndarray:
    """``(..., n_frames, n_bins)``: the complex spectrum (power None) or float32 ``|X|^power``."""
    spec = _fft_frames(signal, p)
    if power is None:
        return spec
    mag2 = power_from_fft(spec)
    if power == 2.0:
        return mag2
    if power == 1.0:
        return np.sqrt(mag2, out=mag2)
    return np.power(mag2, np.float32(power / 2.0), out=mag2)


def power_from_fft(spec: np.ndarray) -> np.ndarray:
    """``re^2 + im^2`` of a complex64 array, float32, computed like the C code
    (two float32 squares, one float32 add; no complex temporaries)."""
    pairs = spec.view(np.float32).reshape(spec.shape + (2,))
    out = np.square(pairs[..., 0])
    out += np.square(pairs[..., 1])
    return out


def stft(signal: np.ndarray, *, params: StftParams | None = None) -> np.ndarray:
    """Complex short-time Fourier transform.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n_samples)]
        Real, finite samples (converted to float32).
    params : StftParams, optional
        Framing, window and FFT length; default ``StftParams()``.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames), dtype=complex64]
        ``X[..., k, t] = sum_n w[n] x[t * hop + n] exp(-2j pi k n / n_fft)``.

    Examples
    --------
    >>> p = StftParams(frame_length=4, hop_length=2, n_fft=4, window="rectangular")
    >>> stft(np.array([1.0, 0, 0, 0, 0, 0]), params=p)[:, 0]
    array([1.+0.j, 1.+0.j, 1.+0.j], dtype=complex64)
    >>> stft(np.zeros(16000)).shape
    (257, 49)
    """
    p = StftParams() if params is None else params
    _check_params_type(p, StftParams)
    return np.swapaxes(_spectrum_frames(signal, p, power=None), -1, -2)


def power_spectrum(signal: np.ndarray, *, params: StftParams | None = None) -> np.ndarray:
    """Power spectrogram ``|X|^2`` of :func:`stft`.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames), dtype=float32]

    Examples
    --------
    >>> p = StftParams(frame_length=8, hop_length=8, n_fft=8, window="rectangular")
    >>> power_spectrum(np.ones(8), params=p)[:, 0]  # DC only: 8^2
    array([64.,  0.,  0.,  0.,  0.], dtype=float32)
    """
    p = StftParams() if params is None else params
    _check_params_type(p, StftParams)
    return np.swapaxes(_spectrum_frames(signal, p, power=2.0), -1, -2)


def magnitude_spectrum(signal: np.ndarray, *, params: StftParams | None = None) -> np.ndarray:
    """Magnitude spectrogram ``|X|`` of :func:`stft`.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames), dtype=float32]

    Examples
    --------
    >>> p = StftParams(frame_length=8, hop_length=8, n_fft=8, window="rectangular")
    >>> magnitude_spectrum(np.ones(8), params=p)[:, 0]
    array([8., 0., 0., 0., 0.], dtype=float32)
    """
    p = StftParams() if params is None else params
    _check_params_type(p, StftParams)
    return np.swapaxes(_spectrum_frames(signal, p, power=1.0), -1, -2)


def _check_params_type(p: object, cls: type) -> None:
    if not isinstance(p, cls):
        raise ConfigError(f"params must be a {cls.__name__}; got {type(p).__name__}")
