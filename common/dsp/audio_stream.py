"""Streaming audio front end: push chunks of any size, get each new feature frame once.

:class:`AudioFrontend` keeps the samples of the frame in progress between calls (the
only state), so that the frames it returns, over any chunking of a stream, equal the
frames :func:`.logmel` / :func:`.mfcc` compute from the whole stream at once (the tests
check this for random chunkings). It is what a device does: every ``hop_length`` new
samples complete one frame of ``frame_length`` samples, which is turned into one
feature vector.
"""

from __future__ import annotations

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal
from tinyml_suite.common.dsp.logmel import (
    LogMelParams,
    _check_rate,
    _frontend_t,
    _to_librosa_layout,
)
from tinyml_suite.common.dsp.mfcc import MfccParams, _cepstral_matrix
from tinyml_suite.common.errors import ConfigError

__all__ = ["AudioFrontend"]


class AudioFrontend:
    """Incremental log-mel or MFCC features of an audio stream.

    Parameters
    ----------
    sample_rate : int
        Sampling rate of the stream, Hz.
    params : LogMelParams or MfccParams, optional
        Front-end parameters (an :class:`.MfccParams` gives MFCCs, a plain
        :class:`.LogMelParams` log-mel energies); default ``MfccParams()``.
        ``center`` must be False: a stream has no future samples to centre on.

    Attributes
    ----------
    n_features : int
        Feature values per frame (``n_mfcc`` or ``n_mels``).
    frames_emitted : int
        Frames returned since construction or the last :meth:`reset`.
    samples_pending : int
        Samples held for the next frame (always < ``frame_length`` after a push).

    Examples
    --------
    >>> from tinyml_suite.common.dsp.mfcc import mfcc
    >>> x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> fe = AudioFrontend(16000)
    >>> parts = [fe.push(c) for c in np.array_split(x, 7)]
    >>> [p.shape[-1] for p in parts]
    [6, 7, 7, 8, 7, 7, 7]
    >>> stream = np.concatenate(parts, axis=-1)
    >>> stream.shape, bool(np.array_equal(stream, mfcc(x, sample_rate=16000)))  # bit-identical
    ((10, 49), True)
    """

    def __init__(self, sample_rate: int, params: LogMelParams | None = None) -> None:
        p = MfccParams() if params is None else params
        if not isinstance(p, LogMelParams):
            raise ConfigError(
                f"params must be a LogMelParams or MfccParams; got {type(p).__name__}"
            )
        if p.center:
            raise ConfigError(
                "center=True cannot stream (the first frame would need samples before the "
                "stream starts and the last one samples after it ends); use center=False"
            )
        self.sample_rate = _check_rate(sample_rate, p)
        self.params = p
        self._is_mfcc = isinstance(p, MfccParams)
        self.n_features = p.n_mfcc if self._is_mfcc else p.n_mels
        self.reset()

    def reset(self) -> None:
        """Forget the pending samples and the channel layout; start a new stream."""
        self._pending: np.ndarray | None = None
        self._skip = 0  # samples to drop before the next frame starts (hop > frame_length)
        self.frames_emitted = 0

    @property
    def samples_pending(self) -> int:
        return 0 if self._pending is None else int(self._pending.shape[-1])

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Append ``chunk`` to the stream and return the features of the completed frames.

        Parameters
        ----------
        chunk : np.ndarray [shape=(..., n)]
            New samples, time last; any length, including 0. Leading (channel/batch)
            dimensions must stay the same for the whole stream.

        Returns
        -------
        np.ndarray [shape=(..., n_features, n_new_frames), dtype=float32]
            ``n_new_frames`` may be 0.
        """
        x = np.asarray(chunk)
        if x.ndim >= 1 and x.shape[-1] == 0 and x.dtype.kind in "biuf":
            x = x.astype(np.float32)
        else:
            x = as_signal(x, name="chunk")
        if self._pending is None:
            self._pending = np.zeros(x.shape[:-1] + (0,), dtype=np.float32)
        elif x.shape[:-1] != self._pending.shape[:-1]:
            raise ConfigError(
                f"chunk has leading shape {x.shape[:-1]} but this stream started with "
                f"{self._pending.shape[:-1]}; keep the channel layout or call reset()"
            )
        if self._skip:
            dropped = min(self._skip, x.shape[-1])
            x = x[..., dropped:]
            self._skip -= dropped
        buf = np.concatenate([self._pending, x], axis=-1)
        p = self.params
        n_new = (
            0
            if buf.shape[-1] < p.frame_length
            else 1 + (buf.shape[-1] - p.frame_length) // p.hop_length
        )
        if n_new == 0:
            self._pending = buf
            return np.zeros(buf.shape[:-1] + (self.n_features, 0), dtype=np.float32)
        used = (n_new - 1) * p.hop_length + p.frame_length
        cepstral = _cepstral_matrix(p.n_mfcc, p.n_mels, float(p.lifter)) if self._is_mfcc else None
        feats = _to_librosa_layout(*_frontend_t(buf[..., :used], self.sample_rate, p, cepstral))
        self._pending = buf[..., n_new * p.hop_length :].copy()
        self._skip = max(0, n_new * p.hop_length - buf.shape[-1])
        self.frames_emitted += n_new
        return feats
