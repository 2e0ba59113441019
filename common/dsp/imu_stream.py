"""Windowing of multi-channel sensor streams (IMU, PPG + accelerometer, ...), batch and streaming.

:func:`imu_windows` cuts a recording into windows of ``window_length`` samples every
``hop_length`` samples (no padding; a trailing partial window is dropped).
:class:`ImuStream` does the same to a stream that arrives in chunks of any size, as the
firmware receives it, and emits exactly the windows :func:`imu_windows` would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinyml_suite.common.dsp._checks import as_signal, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["ImuStream", "ImuWindowParams", "imu_windows"]


@dataclass(kw_only=True, frozen=True)
class ImuWindowParams:
    """Window length and hop, in samples.

    Attributes
    ----------
    window_length : int
        Samples per window (>= 1).
    hop_length : int
        Samples between window starts (>= 1; larger than ``window_length`` skips
        samples between windows).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "IMUWIN"

    window_length: int = 128
    hop_length: int = 64

    def __post_init__(self) -> None:
        check_int("window_length", self.window_length, lo=1)
        check_int("hop_length", self.hop_length, lo=1)

    def n_windows(self, n: int) -> int:
        """Number of complete windows in ``n`` samples."""
        return 0 if n < self.window_length else 1 + (n - self.window_length) // self.hop_length


def imu_windows(signal: np.ndarray, *, params: ImuWindowParams = ImuWindowParams()) -> np.ndarray:
    """Frame a multi-channel recording into windows.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n_channels, n)]
        Channels by time, ``n >= window_length``.
    params : ImuWindowParams
        Window length and hop.

    Returns
    -------
    windows : np.ndarray [shape=(..., n_windows, n_channels, window_length), dtype=float32]
        ``windows[..., i, c, :] == signal[..., c, i * hop : i * hop + window_length]``.

    Examples
    --------
    >>> x = np.arange(20, dtype=np.float32).reshape(2, 10)
    >>> w = imu_windows(x, params=ImuWindowParams(window_length=4, hop_length=3))
    >>> w.shape, w[1, 0].tolist()
    ((3, 2, 4), [3.0, 4.0, 5.0, 6.0])
    """
    if not isinstance(params, ImuWindowParams):
        raise ConfigError(f"params={params!r} must be an ImuWindowParams")
    x = as_signal(signal, min_ndim=2)
    if x.shape[-1] < params.window_length:
        raise ConfigError(
            f"signal has {x.shape[-1]} samples, fewer than window_length={params.window_length}; "
            "use a longer recording or a shorter window"
        )
    v = sliding_window_view(x, params.window_length, axis=-1)[..., :: params.hop_length, :]
    # (..., C, n_windows, L) -> (..., n_windows, C, L)
    return np.ascontiguousarray(np.swapaxes(v, -3, -2), dtype=np.float32)


class ImuStream:
    """Streaming windowing: push chunks of any size, get complete windows as they fill.

    Holds at most ``window_length - 1`` samples per channel between calls (plus the
    chunk being processed). Concatenating every :meth:`push` result along axis 0 equals
    :func:`imu_windows` of the concatenated chunks.

    Parameters
    ----------
    n_channels : int
        Channels per sample (e.g. 3 for an accelerometer, 6 with a gyroscope).
    params : ImuWindowParams
        Window length and hop.

    Examples
    --------
    >>> s = ImuStream(n_channels=3, params=ImuWindowParams(window_length=4, hop_length=2))
    >>> s.push(np.zeros((3, 5))).shape, s.push(np.zeros((3, 1))).shape, s.samples_seen
    ((1, 3, 4), (1, 3, 4), 6)
    """

    def __init__(self, *, n_channels: int, params: ImuWindowParams = ImuWindowParams()) -> None:
        if not isinstance(params, ImuWindowParams):
            raise ConfigError(f"params={params!r} must be an ImuWindowParams")
        self.n_channels = check_int("n_channels", n_channels, lo=1)
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Forget all samples, as at construction."""
        self._buf = np.zeros((self.n_channels, 0), dtype=np.float32)
        self._buf_start = 0  # stream index of self._buf[:, 0]
        self._next = 0  # stream index where the next window starts
        self.samples_seen = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add samples; return the windows completed by them.

        Parameters
        ----------
        chunk : np.ndarray [shape=(n_channels, k)]
            The next ``k >= 0`` samples of every channel.

        Returns
        -------
        windows : np.ndarray [shape=(n_new, n_channels, window_length), dtype=float32]
        """
        arr = np.asarray(chunk)
        if arr.ndim != 2 or arr.shape[0] != self.n_channels:
            raise ConfigError(
                f"chunk has shape {arr.shape}; expected (n_channels={self.n_channels}, k)"
            )
        L, hop = self.params.window_length, self.params.hop_length
        if arr.shape[1] == 0:
            return np.zeros((0, self.n_channels, L), dtype=np.float32)
        x = as_signal(arr, name="chunk")
        self.samples_seen += x.shape[1]
        buf = np.concatenate([self._buf, x], axis=1)
        end = self._buf_start + buf.shape[1]  # stream index one past the last sample
        out = []
        while self._next + L <= end:
            a = self._next - self._buf_start
            out.append(buf[:, a : a + L])
            self._next += hop
        # Keep only samples that a future window can still use (fewer than L of them).
        keep_from = min(self._next, end)
        self._buf = buf[:, keep_from - self._buf_start :].copy()
        self._buf_start = keep_from
        if not out:
            return np.zeros((0, self.n_channels, L), dtype=np.float32)
        return np.stack(out, axis=0)
