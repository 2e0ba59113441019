"""Mel-frequency cepstral coefficients: log-mel energies -> orthonormal DCT-II -> lifter.

Per frame, from the log-mel vector ``L[0 .. n_mels-1]`` of :func:`.logmel`::

    c[k] = s_k sum_n L[n] cos(pi k (2n + 1) / (2 n_mels)),   k = 0 .. n_mfcc - 1
    s_0 = sqrt(1 / n_mels),  s_k = sqrt(2 / n_mels)            (orthonormal DCT-II,
                                                               scipy.fft.dct(norm='ortho'))
    out[k] = c[k] (1 + (lifter / 2) sin(pi (k + 1) / lifter))  if lifter > 0 (librosa's lifter)

The DCT and the lifter are folded into one ``(n_mfcc, n_mels)`` matrix (computed in
float64, stored as float32), applied per frame by summing over the mel bands in order,
as the C twin does (not a BLAS product, whose rounding depends on the batch size).

Defaults (:class:`MfccParams`) are the MLPerf Tiny keyword-spotting front end: the
log-mel defaults of :class:`.LogMelParams` and 10 coefficients, so a 1 s clip at 16 kHz
gives ``(10, 49)``. Note: TensorFlow's ``mfccs_from_log_mel_spectrograms`` (used by the
MLPerf reference scripts) scales all coefficients by ``sqrt(2 / n_mels)``, so its ``c[0]``
is ``sqrt(2)`` times ours; the other coefficients agree.

librosa equivalent (checked by tests/test_dsp_audio.py): with the librosa-style log-mel
settings (see :mod:`.logmel`), ``librosa.feature.mfcc(S=<that log-mel>, n_mfcc=n_mfcc,
dct_type=2, norm='ortho', lifter=lifter)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import check_float, check_int
from tinyml_suite.common.dsp.logmel import (
    LogMelParams,
    _check_rate,
    _frontend_t,
    _to_librosa_layout,
    apply_cepstral,
)
from tinyml_suite.common.dsp.stft import _check_params_type
from tinyml_suite.common.errors import ConfigError

__all__ = ["MfccParams", "dct_matrix", "lifter_weights", "mfcc", "mfcc_from_logmel"]


@dataclass(kw_only=True, frozen=True)
class MfccParams(LogMelParams):
    """Parameters of the MFCC front end: every :class:`.LogMelParams` field, plus the
    number of coefficients and the lifter. Defaults: MLPerf Tiny KWS (49 x 10 per 1 s)."""

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "MFCC"

    n_mfcc: int = 10
    """Number of cepstral coefficients kept, 1 <= n_mfcc <= n_mels."""
    lifter: float = 0.0
    """Sinusoidal lifter length (librosa's ``lifter``); 0 disables liftering."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("n_mfcc", self.n_mfcc, lo=1)
        if self.n_mfcc > self.n_mels:
            raise ConfigError(
                f"n_mfcc={self.n_mfcc} must be <= n_mels={self.n_mels} (a DCT of n_mels values "
                "has n_mels coefficients); lower n_mfcc or raise n_mels"
            )
        check_float("lifter", self.lifter, lo=0.0)


def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II matrix, ``[shape=(n_mfcc, n_mels)]``, float64.

    Examples
    --------
    >>> d = dct_matrix(4, 4)
    >>> np.allclose(d @ d.T, np.eye(4))
    True
    """
    n_mfcc = check_int("n_mfcc", n_mfcc, lo=1)
    n_mels = check_int("n_mels", n_mels, lo=n_mfcc)
    k = np.arange(n_mfcc, dtype=np.float64)[:, None]
    n = np.arange(n_mels, dtype=np.float64)[None, :]
    d = np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * n_mels)) * np.sqrt(2.0 / n_mels)
    d[0] *= np.sqrt(0.5)
    return d


def lifter_weights(n_mfcc: int, lifter: float) -> np.ndarray:
    """``1 + (lifter / 2) sin(pi (k + 1) / lifter)`` for k < n_mfcc (all ones if lifter=0).

    Examples
    --------
    >>> lifter_weights(3, 0.0)
    array([1., 1., 1.])
    >>> lifter_weights(2, 2.0)
    array([2., 1.])
    """
    n_mfcc = check_int("n_mfcc", n_mfcc, lo=1)
    lifter = check_float("lifter", lifter, lo=0.0)
    if lifter == 0.0:
        return np.ones(n_mfcc)
    return 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, n_mfcc + 1) / lifter)


@functools.lru_cache(maxsize=32)
def _cepstral_matrix(n_mfcc: int, n_mels: int, lifter: float) -> np.ndarray:
    m = (lifter_weights(n_mfcc, lifter)[:, None] * dct_matrix(n_mfcc, n_mels)).astype(np.float32)
    m.setflags(write=False)
    return m


def mfcc_from_logmel(logmel_frames: np.ndarray, *, params: MfccParams) -> np.ndarray:
    """DCT + lifter of log-mel energies.

    Parameters
    ----------
    logmel_frames : np.ndarray [shape=(..., n_mels, n_frames)]
        Output of :func:`.logmel` with the same params.
    params : MfccParams

    Returns
    -------
    np.ndarray [shape=(..., n_mfcc, n_frames), dtype=float32]

    Examples
    --------
    >>> p = MfccParams(n_mels=4, n_mfcc=2, fmax=2000.0, n_fft=512)
    >>> mfcc_from_logmel(np.ones((4, 3), dtype=np.float32), params=p).round(4)
    array([[2., 2., 2.],
           [0., 0., 0.]], dtype=float32)
    """
    _check_params_type(params, MfccParams)
    x = np.asarray(logmel_frames, dtype=np.float32)
    if x.ndim < 2 or x.shape[-2] != params.n_mels:
        raise ConfigError(
            f"logmel_frames has shape {x.shape}; expected (..., n_mels={params.n_mels}, n_frames)"
        )
    cepstral = _cepstral_matrix(params.n_mfcc, params.n_mels, float(params.lifter))
    logs = np.moveaxis(x, -2, 0)  # (n_mels, ..., n_frames)
    ceps = apply_cepstral(cepstral, logs.reshape(params.n_mels, -1))
    return np.ascontiguousarray(np.moveaxis(ceps.reshape((-1,) + logs.shape[1:]), 0, -2))


def mfcc(signal: np.ndarray, *, sample_rate: int, params: MfccParams | None = None) -> np.ndarray:
    """MFCCs of ``signal`` (see the module docstring for the exact definition).

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n_samples)]
        Real, finite audio (any numeric dtype; computed in float32).
    sample_rate : int
        Sampling rate, Hz; ``params.fmax`` must not exceed ``sample_rate / 2``.
    params : MfccParams, optional
        Front-end parameters; default ``MfccParams()`` (MLPerf Tiny KWS).

    Returns
    -------
    np.ndarray [shape=(..., n_mfcc, n_frames), dtype=float32]
        librosa's layout (coefficients, then time). ``n_frames = 1 + (n_samples -
        frame_length) // hop_length`` without centring: 49 for a 1 s clip at the defaults.

    Raises
    ------
    ConfigError
        fmax above Nyquist, a signal shorter than one frame, empty/NaN/complex input, ...

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clips = rng.standard_normal((3, 16000)).astype(np.float32)
    >>> mfcc(clips, sample_rate=16000).shape
    (3, 10, 49)
    >>> mfcc(clips, sample_rate=8000, params=MfccParams(fmax=4000.0)).shape
    (3, 10, 49)
    """
    p = MfccParams() if params is None else params
    _check_params_type(p, MfccParams)
    sr = _check_rate(sample_rate, p)
    cepstral = _cepstral_matrix(p.n_mfcc, p.n_mels, float(p.lifter))
    return _to_librosa_layout(*_frontend_t(signal, sr, p, cepstral))
