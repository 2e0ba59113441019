"""Butterworth IIR filters as second-order sections, batch and streaming.

The filter is designed once (:func:`butter_sos`) as a cascade of biquads, the form that
is numerically safe in float32 on a microcontroller, and applied either to whole
signals (:func:`sosfilt`, optionally zero-phase for offline use) or chunk by chunk
(:class:`SosFilter`, the streaming form the firmware runs). The C twin is
``firmware_templates/dsp/tm_biquad.{h,c}`` (Direct Form II transposed, float32), fed
with the same float32 coefficients through ``dsp_params.h``.

Numerics: coefficients are designed in float64 by :func:`scipy.signal.butter` and
rounded once to float32 (what the device stores). Filtering runs in float64 over those
float32 coefficients with :func:`scipy.signal.sosfilt` (Direct Form II transposed, zero
initial state) and the output is rounded to float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.signal

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["ButterworthParams", "SosFilter", "butter_filter", "butter_sos", "sosfilt"]

_KINDS = ("lowpass", "highpass", "bandpass", "bandstop")


@dataclass(kw_only=True, frozen=True)
class ButterworthParams:
    """A Butterworth filter: response type, order and cutoff frequencies.

    Attributes
    ----------
    kind : {'lowpass', 'highpass', 'bandpass', 'bandstop'}
        Response type.
    order : int
        Filter order, 1..12. Band filters have twice this many poles
        (``order`` sections); low/high-pass filters have ``ceil(order / 2)`` sections.
    cutoff_hz : float or tuple of 2 floats
        -3 dB frequency in Hz (low/high-pass) or the (low, high) band edges in Hz
        (band-pass/stop). Must lie strictly between 0 and the Nyquist frequency of the
        sample rate the filter is designed for.
    zero_phase : bool
        Offline only: filter forwards and backwards (:func:`scipy.signal.sosfiltfilt`),
        doubling the attenuation in dB and cancelling the phase delay. The device filters
        causally, so features meant for deployment keep this False.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "BUTTER"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "kind": {"lowpass": 0, "highpass": 1, "bandpass": 2, "bandstop": 3}
    }

    kind: str = "lowpass"
    order: int = 4
    cutoff_hz: float | tuple[float, float] = 1000.0
    zero_phase: bool = False

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, _KINDS)
        check_int("order", self.order, lo=1, hi=12)
        cut = self.cutoff_hz
        if self.kind in ("bandpass", "bandstop"):
            if isinstance(cut, (str, bytes)) or not hasattr(cut, "__len__") or len(cut) != 2:
                raise ConfigError(
                    f"cutoff_hz={cut!r} must be a pair (low_hz, high_hz) for kind={self.kind!r}"
                )
            lo = check_float("cutoff_hz[0]", cut[0], lo=0.0, lo_open=True)
            hi = check_float("cutoff_hz[1]", cut[1], lo=0.0, lo_open=True)
            if not lo < hi:
                raise ConfigError(
                    f"cutoff_hz=({lo}, {hi}) must be increasing (low_hz < high_hz) for kind={self.kind!r}"
                )
            object.__setattr__(self, "cutoff_hz", (lo, hi))
        else:
            if hasattr(cut, "__len__") and not isinstance(cut, str):
                if len(cut) != 1:
                    raise ConfigError(
                        f"cutoff_hz={cut!r} must be one frequency in Hz for kind={self.kind!r}"
                    )
                cut = cut[0]
            object.__setattr__(
                self, "cutoff_hz", check_float("cutoff_hz", cut, lo=0.0, lo_open=True)
            )
        if not isinstance(self.zero_phase, (bool, np.bool_)):
            raise ConfigError(f"zero_phase={self.zero_phase!r} must be True or False")

    @property
    def n_sections(self) -> int:
        """Number of biquad sections the design has."""
        return self.order if self.kind in ("bandpass", "bandstop") else (self.order + 1) // 2

    def c_defines(self, *, sample_rate: float) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h`` (fields + designed coefficients).

        Adds ``BUTTER_SAMPLE_RATE``, ``BUTTER_N_SECTIONS`` and ``BUTTER_SOS``, a brace
        initializer of ``6 * n_sections`` float32 values in scipy's
        ``[b0, b1, b2, a0, a1, a2]`` order (``a0 == 1``).

        Examples
        --------
        >>> d = ButterworthParams(kind="lowpass", order=2, cutoff_hz=100.0).c_defines(sample_rate=1000)
        >>> d["BUTTER_N_SECTIONS"], len(d["BUTTER_SOS"])
        (1, 6)
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        if self.zero_phase:
            raise ConfigError(
                "zero_phase=True is offline only (forward-backward filtering needs the whole "
                "signal); set zero_phase=False for features that run on the device"
            )
        out = params_defines(self)
        sos = butter_sos(sample_rate=sample_rate, params=self)
        out["BUTTER_SAMPLE_RATE"] = float(sample_rate)
        out["BUTTER_N_SECTIONS"] = int(sos.shape[0])
        out["BUTTER_SOS"] = tuple(float(v) for v in sos.ravel())
        return out


def butter_sos(*, sample_rate: float, params: ButterworthParams) -> np.ndarray:
    """Design a Butterworth filter as float32 second-order sections.

    Parameters
    ----------
    sample_rate : float > 0
        Sample rate in Hz.
    params : ButterworthParams
        Response type, order and cutoffs; every cutoff must be < ``sample_rate / 2``.

    Returns
    -------
    sos : np.ndarray [shape=(n_sections, 6), dtype=float32]
        Rows ``[b0, b1, b2, 1, a1, a2]``, the layout of :func:`scipy.signal.sosfilt`.

    Raises
    ------
    ConfigError
        A cutoff at or above the Nyquist frequency, or a non-positive sample rate.

    Examples
    --------
    >>> p = ButterworthParams(kind="bandpass", order=2, cutoff_hz=(0.5, 5.0))
    >>> butter_sos(sample_rate=50, params=p).shape
    (2, 6)
    >>> butter_sos(sample_rate=8, params=p)
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: cutoff_hz=5.0 must be below the Nyquist frequency 4.0 Hz (sample_rate=8.0); lower the cutoff or raise the sample rate
    """
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    nyq = fs / 2.0
    cuts = params.cutoff_hz if isinstance(params.cutoff_hz, tuple) else (params.cutoff_hz,)
    for c in cuts:
        if c >= nyq:
            raise ConfigError(
                f"cutoff_hz={c} must be below the Nyquist frequency {nyq} Hz (sample_rate={fs}); "
                "lower the cutoff or raise the sample rate"
            )
    sos = scipy.signal.butter(
        params.order, params.cutoff_hz, btype=params.kind, fs=fs, output="sos"
    )
    return np.ascontiguousarray(sos, dtype=np.float32)


def _check_sos(sos: object) -> np.ndarray:
    arr = np.asarray(sos)
    if arr.dtype.kind not in "iuf" or arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] < 1:
        raise ConfigError(
            f"sos has shape {arr.shape} and dtype {arr.dtype}; expected real (n_sections, 6) "
            "second-order sections, e.g. from butter_sos()"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError("sos contains non-finite coefficients; redesign the filter")
    if not np.allclose(arr[:, 3], 1.0):
        raise ConfigError(
            f"sos has a0={arr[:, 3].tolist()}; every section must be normalised to a0 == 1"
        )
    return arr.astype(np.float64)


def _padlen(sos: np.ndarray) -> int:
    # scipy.signal.sosfiltfilt's default edge padding.
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - n_zeros)


def sosfilt(signal: np.ndarray, *, sos: np.ndarray, zero_phase: bool = False) -> np.ndarray:
    """Filter along the last axis with second-order sections, from a zero state.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real input, time on the last axis, any batch dimensions in front.
    sos : np.ndarray [shape=(n_sections, 6)]
        Second-order sections with ``a0 == 1`` (e.g. :func:`butter_sos`).
    zero_phase : bool
        Forward-backward filtering (:func:`scipy.signal.sosfiltfilt`, default odd
        padding); offline only. Needs ``n > 3 * (2 * n_sections + 1)`` samples.

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=float32]
        Equal to ``scipy.signal.sosfilt(sos, signal)`` (or ``sosfiltfilt``) computed in
        float64 on the float32 input, then rounded to float32.

    Examples
    --------
    >>> sos = butter_sos(sample_rate=100, params=ButterworthParams(kind="lowpass", order=2, cutoff_hz=10.0))
    >>> y = sosfilt(np.ones((3, 200)), sos=sos)
    >>> y.shape, y.dtype, round(float(y[0, -1]), 4)
    ((3, 200), dtype('float32'), 1.0)
    """
    sos64 = _check_sos(sos)
    x = as_signal(signal).astype(np.float64)
    if zero_phase:
        pad = _padlen(sos64)
        if x.shape[-1] <= pad:
            raise ConfigError(
                f"signal has {x.shape[-1]} samples; zero_phase filtering with {len(sos64)} "
                f"section(s) needs more than {pad}; use a longer signal or zero_phase=False"
            )
        y = scipy.signal.sosfiltfilt(sos64, x, axis=-1)
    else:
        y = scipy.signal.sosfilt(sos64, x, axis=-1)
    return np.ascontiguousarray(y, dtype=np.float32)


def butter_filter(signal: np.ndarray, *, sample_rate: float, params: ButterworthParams) -> np.ndarray:
    """Design and apply a Butterworth filter (causal, or zero-phase if ``params.zero_phase``).

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real input, time on the last axis.
    sample_rate : float > 0
        Sample rate of ``signal`` in Hz.
    params : ButterworthParams
        The filter.

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=float32]

    Examples
    --------
    >>> t = np.arange(1000) / 1000.0
    >>> x = np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 200 * t)
    >>> y = butter_filter(x, sample_rate=1000, params=ButterworthParams(order=4, cutoff_hz=20.0, zero_phase=True))
    >>> bool(np.max(np.abs(y[200:800] - np.sin(2 * np.pi * 5 * t[200:800]))) < 0.01)
    True
    """
    x = as_signal(signal)
    sos = butter_sos(sample_rate=sample_rate, params=params)
    return sosfilt(x, sos=sos, zero_phase=params.zero_phase)


class SosFilter:
    """Streaming second-order-section filter: chunked output equals :func:`sosfilt`.

    The state (two float64 delays per section and per channel) persists across calls to
    :meth:`process`, so feeding a signal in chunks of any sizes gives exactly the batch
    result. The firmware's ``tm_biquad_process`` is the float32 C twin.

    Parameters
    ----------
    sos : np.ndarray [shape=(n_sections, 6)]
        Second-order sections with ``a0 == 1``.
    batch_shape : tuple of int
        Shape of the leading dimensions of every chunk (e.g. ``(3,)`` for a 3-axis IMU
        stream of chunks shaped ``(3, k)``); ``()`` for a single channel.

    Examples
    --------
    >>> sos = butter_sos(sample_rate=100, params=ButterworthParams(order=3, cutoff_hz=10.0))
    >>> x = np.random.default_rng(0).standard_normal((2, 50)).astype(np.float32)
    >>> f = SosFilter(sos, batch_shape=(2,))
    >>> y = np.concatenate([f.process(x[:, :7]), f.process(x[:, 7:8]), f.process(x[:, 8:])], axis=-1)
    >>> bool(np.array_equal(y, sosfilt(x, sos=sos)))
    True
    """

    def __init__(self, sos: np.ndarray, *, batch_shape: tuple[int, ...] = ()) -> None:
        self.sos = _check_sos(sos)
        shape = tuple(batch_shape)
        for i, d in enumerate(shape):
            check_int(f"batch_shape[{i}]", d, lo=1)
        self.batch_shape = shape
        self._zi = np.zeros((self.sos.shape[0], *shape, 2), dtype=np.float64)

    def reset(self) -> None:
        """Return to the zero initial state (as at construction)."""
        self._zi[...] = 0.0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Filter the next chunk.

        Parameters
        ----------
        chunk : np.ndarray [shape=(*batch_shape, k)]
            The next ``k >= 0`` samples of every channel.

        Returns
        -------
        y : np.ndarray [shape=(*batch_shape, k), dtype=float32]
        """
        arr = np.asarray(chunk)
        if arr.shape[:-1] != self.batch_shape or arr.ndim != len(self.batch_shape) + 1:
            raise ConfigError(
                f"chunk has shape {arr.shape}; expected (*batch_shape, k) = "
                f"{self.batch_shape + ('k',)} as given to SosFilter(batch_shape=...)"
            )
        if arr.shape[-1] == 0:
            return np.zeros(arr.shape, dtype=np.float32)
        x = as_signal(arr, name="chunk").astype(np.float64)
        y, self._zi = scipy.signal.sosfilt(self.sos, x, axis=-1, zi=self._zi)
        return np.ascontiguousarray(y, dtype=np.float32)
