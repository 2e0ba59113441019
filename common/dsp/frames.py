"""Framing: cut a signal into overlapping frames (a strided view, no copy where possible).

Convention: frames come out as ``(..., n_frames, frame_length)`` -- one frame per row,
samples contiguous in the last axis, the layout an FFT over the last axis wants and the
order a device produces them in. (librosa's ``util.frame`` returns the transpose,
``(..., frame_length, n_frames)``; use ``np.swapaxes(frames, -1, -2)`` to get it.)

Frame ``t`` holds ``signal[..., t * hop_length : t * hop_length + frame_length]`` and
``n_frames = 1 + (n_samples - frame_length) // hop_length``: no padding, a trailing
partial frame is dropped (what a streaming device does). With ``center=True`` the
signal is first padded by ``frame_length // 2`` samples on both sides, so that frame
``t`` is centred on sample ``t * hop_length`` (librosa's ``center=True``, except that
librosa pads by ``n_fft // 2``).
"""

from __future__ import annotations

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["PAD_MODES", "frame", "num_frames"]

#: Padding modes for ``center=True``: zeros, or the signal mirrored about its ends.
PAD_MODES: tuple[str, ...] = ("constant", "reflect")


def num_frames(n_samples: int, *, frame_length: int, hop_length: int, center: bool = False) -> int:
    """Number of frames :func:`frame` makes from ``n_samples`` samples.

    ``1 + (n_samples - frame_length) // hop_length`` (after padding by
    ``2 * (frame_length // 2)`` samples when ``center``); 0 if the signal is shorter than
    one frame.

    Examples
    --------
    >>> num_frames(16000, frame_length=480, hop_length=320)  # MLPerf Tiny KWS: 49 frames
    49
    >>> num_frames(100, frame_length=480, hop_length=320)
    0
    """
    n = check_int("n_samples", n_samples, lo=0)
    fl = check_int("frame_length", frame_length, lo=1)
    hop = check_int("hop_length", hop_length, lo=1)
    if center:
        n += 2 * (fl // 2)
    return 0 if n < fl else 1 + (n - fl) // hop


def frame(
    signal: np.ndarray,
    *,
    frame_length: int,
    hop_length: int,
    center: bool = False,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Cut ``signal`` into overlapping frames along its last axis.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n_samples)]
        Real, finite samples; converted to float32 (no copy if it already is).
    frame_length : int >= 1
        Samples per frame.
    hop_length : int >= 1
        Samples between the starts of consecutive frames.
    center : bool
        Pad ``frame_length // 2`` samples on both sides first, so frame ``t`` is centred
        on sample ``t * hop_length``. Default False (the device convention).
    pad_mode : {'constant', 'reflect'}
        Padding used when ``center``: zeros, or the signal reflected about its ends.

    Returns
    -------
    np.ndarray [shape=(..., n_frames, frame_length), dtype=float32]
        A read-only strided view of the (float32, possibly padded) signal: modifying it is
        refused, copy it first (``frames.copy()``) if you need to.

    Raises
    ------
    ConfigError
        Non-positive ``frame_length``/``hop_length``, a signal shorter than one frame,
        an empty, non-finite or non-real signal, or an unknown ``pad_mode``.

    Examples
    --------
    >>> frame(np.arange(10), frame_length=4, hop_length=3)
    array([[0., 1., 2., 3.],
           [3., 4., 5., 6.],
           [6., 7., 8., 9.]], dtype=float32)
    >>> frame(np.zeros((2, 16000)), frame_length=480, hop_length=320).shape
    (2, 49, 480)
    >>> frame(np.arange(4), frame_length=4, hop_length=2, center=True)
    array([[0., 0., 0., 1.],
           [0., 1., 2., 3.],
           [2., 3., 0., 0.]], dtype=float32)
    """
    fl = check_int("frame_length", frame_length, lo=1)
    hop = check_int("hop_length", hop_length, lo=1)
    check_choice("pad_mode", pad_mode, PAD_MODES)
    x = as_signal(signal)
    if center:
        pad = fl // 2
        if pad_mode == "reflect" and x.shape[-1] <= pad:
            raise ConfigError(
                f"pad_mode='reflect' needs more than frame_length//2={pad} samples; the signal "
                f"has {x.shape[-1]}: use pad_mode='constant' or a longer signal"
            )
        widths = [(0, 0)] * (x.ndim - 1) + [(pad, pad)]
        x = np.pad(x, widths, mode=pad_mode)
    n = x.shape[-1]
    if n < fl:
        raise ConfigError(
            f"frame_length={fl} is longer than the signal ({n} samples on its last axis"
            f"{' after centre padding' if center else ''}); pad the signal to at least {fl} "
            "samples or use a shorter frame"
        )
    windows = np.lib.stride_tricks.sliding_window_view(x, fl, axis=-1)
    return windows[..., ::hop, :]
