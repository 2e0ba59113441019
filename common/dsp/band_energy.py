"""Log band energies of windowed FFT frames: the vibration feature.

The signal is cut into frames of ``n_fft`` samples every ``hop_length`` samples (no
padding), each frame is windowed and transformed, and the energy in ``n_bands`` bands
between ``fmin_hz`` and ``fmax_hz`` (linearly or logarithmically spaced) is returned as
its natural logarithm: a coarse log-spectrogram suited to autoencoders on machine
vibration.

Energy of band ``b`` in one frame, with ``X = rfft(w * frame)``::

    E_b = (1 / n_fft) * sum_{k in b} c_k |X_k|^2,   c_k = 1 at DC and Nyquist, else 2

so that bands tiling ``[0, Nyquist]`` add up to the frame's windowed energy
``sum((w * frame)**2)`` (Parseval). Bins are assigned to bands by the rule in
:mod:`tinyml_suite.common.dsp.spectral` (``lo <= f < hi``, top band closed).

The C twin is ``tm_lbe_frame`` in ``firmware_templates/dsp/tm_spectral.{h,c}``; it reads
the bin ranges computed here from ``dsp_params.h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinyml_suite.common.dsp._checks import (
    as_signal,
    check_choice,
    check_float,
    check_int,
    check_power_of_two,
)
from tinyml_suite.common.dsp.spectral import band_bins, window_coefficients
from tinyml_suite.common.errors import ConfigError

__all__ = ["LogBandEnergyParams", "log_band_energies"]


@dataclass(kw_only=True, frozen=True)
class LogBandEnergyParams:
    """Framing, window and bands of :func:`log_band_energies`.

    Attributes
    ----------
    n_fft : int
        Frame and FFT length in samples; a power of two.
    hop_length : int or None
        Samples between frame starts (>= 1); None means ``n_fft // 2``.
    window : {'hann', 'hamming', 'boxcar'}
        Periodic window applied to each frame.
    n_bands : int
        Number of bands (>= 1).
    spacing : {'linear', 'log'}
        Band edges ``linspace(fmin, fmax, n_bands + 1)`` or ``geomspace(...)``
        (``log`` needs ``fmin_hz > 0``).
    fmin_hz : float
        Lower edge of the first band in Hz (>= 0).
    fmax_hz : float or None
        Upper edge of the last band in Hz (<= Nyquist); None means the Nyquist frequency.
    log_floor : float
        Added to each energy before the natural logarithm (> 0).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "LBE"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {
        "window": {"hann": 0, "hamming": 1, "boxcar": 2},
        "spacing": {"linear": 0, "log": 1},
    }

    n_fft: int = 1024
    hop_length: int | None = None
    window: str = "hann"
    n_bands: int = 32
    spacing: str = "linear"
    fmin_hz: float = 0.0
    fmax_hz: float | None = None
    log_floor: float = 1e-10

    def __post_init__(self) -> None:
        check_power_of_two("n_fft", self.n_fft, lo=4)
        if self.hop_length is None:
            object.__setattr__(self, "hop_length", self.n_fft // 2)
        check_int("hop_length", self.hop_length, lo=1)
        check_choice("window", self.window, ("hann", "hamming", "boxcar"))
        check_int("n_bands", self.n_bands, lo=1, hi=self.n_fft // 2 + 1)
        check_choice("spacing", self.spacing, ("linear", "log"))
        lo = check_float("fmin_hz", self.fmin_hz, lo=0.0)
        if self.spacing == "log" and lo <= 0:
            raise ConfigError(f"fmin_hz={lo} must be > 0 for spacing='log' (e.g. 10.0)")
        if self.fmax_hz is not None:
            check_float("fmax_hz", self.fmax_hz, lo=lo, lo_open=True)
        check_float("log_floor", self.log_floor, lo=0.0, lo_open=True)

    def edges_hz(self, sample_rate: float) -> np.ndarray:
        """The ``n_bands + 1`` band edges in Hz at ``sample_rate``.

        Examples
        --------
        >>> LogBandEnergyParams(n_fft=64, n_bands=4).edges_hz(1000.0).tolist()
        [0.0, 125.0, 250.0, 375.0, 500.0]
        """
        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        nyq = fs / 2.0
        hi = nyq if self.fmax_hz is None else float(self.fmax_hz)
        if hi > nyq:
            raise ConfigError(
                f"fmax_hz={hi} is above the Nyquist frequency {nyq} Hz (sample_rate={fs}); "
                "lower fmax_hz or raise the sample rate"
            )
        if float(self.fmin_hz) >= hi:
            raise ConfigError(f"fmin_hz={self.fmin_hz} must be below fmax ({hi} Hz)")
        if self.spacing == "log":
            return np.geomspace(float(self.fmin_hz), hi, self.n_bands + 1)
        return np.linspace(float(self.fmin_hz), hi, self.n_bands + 1)

    def bins(self, sample_rate: float) -> np.ndarray:
        """Half-open bin ranges ``[start, stop)`` of the bands, shape ``(n_bands, 2)``."""
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / float(sample_rate))
        return band_bins(freqs, tuple(self.edges_hz(sample_rate)), name="band edges")

    def c_defines(self, *, sample_rate: float) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h``.

        Adds ``LBE_SAMPLE_RATE`` and the bin ranges ``LBE_BIN_LO``/``LBE_BIN_HI``
        (brace initializers of ``n_bands`` ints).
        """
        from tinyml_suite.common.dsp.c_params import params_defines

        bins = self.bins(sample_rate)
        out = params_defines(self)
        out["LBE_SAMPLE_RATE"] = float(sample_rate)
        out["LBE_BIN_LO"] = tuple(int(v) for v in bins[:, 0])
        out["LBE_BIN_HI"] = tuple(int(v) for v in bins[:, 1])
        return out


def log_band_energies(
    signal: np.ndarray, *, sample_rate: float, params: LogBandEnergyParams = LogBandEnergyParams()
) -> np.ndarray:
    """Natural-log band energies of windowed FFT frames.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real signal, ``n >= params.n_fft``.
    sample_rate : float > 0
        Sample rate in Hz.
    params : LogBandEnergyParams
        Frame length, hop, window and bands.

    Returns
    -------
    lbe : np.ndarray [shape=(..., n_bands, n_frames), dtype=float32]
        ``ln(E_b + log_floor)`` per band and frame, ``n_frames = 1 + (n - n_fft) // hop``.

    Raises
    ------
    ConfigError
        Signal shorter than ``n_fft``, ``fmax_hz`` above Nyquist, or a band with no bin
        (use fewer bands, a higher ``fmin_hz`` for log spacing, or a longer ``n_fft``).

    Examples
    --------
    >>> fs = 12000.0
    >>> x = np.sin(2 * np.pi * 1500.0 * np.arange(4096) / fs)
    >>> e = log_band_energies(x, sample_rate=fs, params=LogBandEnergyParams(n_fft=512, n_bands=6))
    >>> e.shape, int(np.argmax(e[:, 0]))
    ((6, 15), 1)
    """
    if not isinstance(params, LogBandEnergyParams):
        raise ConfigError(f"params={params!r} must be a LogBandEnergyParams")
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    x = as_signal(signal)
    if x.shape[-1] < params.n_fft:
        raise ConfigError(
            f"signal has {x.shape[-1]} samples, fewer than n_fft={params.n_fft}; "
            "use a longer window or a smaller n_fft"
        )
    bins = params.bins(fs)
    w = window_coefficients(params.window, params.n_fft)
    frames = sliding_window_view(x.astype(np.float64), params.n_fft, axis=-1)[..., :: params.hop_length, :]
    spec = np.fft.rfft(frames * w, axis=-1)
    power = spec.real**2 + spec.imag**2
    power[..., 1:-1] *= 2.0
    energy = np.stack([power[..., a:b].sum(axis=-1) for a, b in bins], axis=-2) / params.n_fft
    return np.log(energy + params.log_floor).astype(np.float32)
