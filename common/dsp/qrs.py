"""Pan-Tompkins QRS pre-processing: band-pass, derivative, squaring, moving-window integration.

The signal stages of Pan & Tompkins (IEEE TBME 1985) for R-peak detection, all causal
so the device runs them sample by sample (``firmware_templates/dsp/tm_pan_tompkins.{h,c}``,
:class:`PanTompkinsStream` here) with the same output as the batch function:

1. ``hp``: the ECG high-passed at ``highpass_hz`` (Butterworth, removes baseline wander;
   the R apex is located on it),
2. ``bp``: the QRS band-pass ``band_hz`` (Butterworth; 5-15 Hz keeps the QRS energy and
   rejects P/T waves, wander, muscle noise and mains),
3. the five-point derivative ``d[n] = fs / 8 * (2 bp[n] + bp[n-1] - bp[n-3] - 2 bp[n-4])``
   (zero history before the first sample),
4. squaring ``d^2`` (all positive, emphasises the steep QRS slopes),
5. ``mwi``: the mean of the last ``N = round(integration_s * fs)`` squared values (zero
   history), one lobe per QRS complex.

The decision stage (adaptive thresholds, T-wave rejection, search-back) is the
heart_rate app's (``apps/heart_rate/ecg.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.signal

from tinyml_suite.common.dsp._checks import as_signal, check_float, check_int
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt
from tinyml_suite.common.errors import ConfigError

__all__ = ["PanTompkinsParams", "pan_tompkins", "PanTompkinsStream"]

#: Five-point derivative taps (times fs / 8), newest sample first.
DERIVATIVE_TAPS = np.array([2.0, 1.0, 0.0, -1.0, -2.0])


@dataclass(kw_only=True, frozen=True)
class PanTompkinsParams:
    """Filters and integration window of the Pan-Tompkins pre-processing.

    Attributes
    ----------
    highpass_hz : float
        Cut-off of the baseline-removing high-pass of the ``hp`` output (Hz, > 0).
    band_hz : tuple of 2 floats
        QRS band-pass edges (Hz), below the Nyquist frequency.
    order : int
        Butterworth order of both filters (1..4).
    integration_s : float
        Moving-window integration length in seconds (about the widest QRS, 150 ms).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "PANTOMP"

    highpass_hz: float = 0.5
    band_hz: tuple[float, float] = (5.0, 15.0)
    order: int = 2
    integration_s: float = 0.15

    def __post_init__(self) -> None:
        check_float("highpass_hz", self.highpass_hz, lo=0.0, lo_open=True)
        check_int("order", self.order, lo=1, hi=4)
        band = ButterworthParams(kind="bandpass", order=self.order, cutoff_hz=tuple(self.band_hz)).cutoff_hz
        object.__setattr__(self, "band_hz", band)
        check_float("integration_s", self.integration_s, lo=0.0, lo_open=True)

    def filters(self, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """The float32 SOS of the high-pass and of the band-pass at ``sample_rate``."""
        hp = butter_sos(sample_rate=sample_rate, params=ButterworthParams(kind="highpass", order=self.order, cutoff_hz=self.highpass_hz))
        bp = butter_sos(sample_rate=sample_rate, params=ButterworthParams(kind="bandpass", order=self.order, cutoff_hz=self.band_hz))
        return hp, bp

    def integration_samples(self, sample_rate: float) -> int:
        """``N = max(1, round(integration_s * sample_rate))``."""
        fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        return max(1, int(round(self.integration_s * fs)))

    def c_defines(self, *, sample_rate: float) -> dict[str, Any]:
        """``#define`` names for ``dsp_params.h``: the fields, both SOS tables, ``PANTOMP_N_INT``."""
        from tinyml_suite.common.dsp.c_params import params_defines

        hp, bp = self.filters(sample_rate)
        out = params_defines(self, sample_rate=int(round(sample_rate)))
        out["PANTOMP_HP_SECTIONS"] = int(hp.shape[0])
        out["PANTOMP_HP_SOS"] = tuple(float(v) for v in hp.ravel())
        out["PANTOMP_BP_SECTIONS"] = int(bp.shape[0])
        out["PANTOMP_BP_SOS"] = tuple(float(v) for v in bp.ravel())
        out["PANTOMP_N_INT"] = self.integration_samples(sample_rate)
        out["PANTOMP_DERIV_SCALE"] = float(np.float32(float(sample_rate) / 8.0))
        return out


def pan_tompkins(signal: np.ndarray, *, sample_rate: float, params: PanTompkinsParams = PanTompkinsParams()) -> np.ndarray:
    """The Pan-Tompkins signals of ECG leads.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        ECG (any unit; mV in the suite's datasets), time last.
    sample_rate : float > 0
        Hz; ``band_hz`` must lie below its Nyquist frequency.
    params : PanTompkinsParams

    Returns
    -------
    np.ndarray [shape=(..., 3, n), dtype=float32]
        ``hp``, ``bp`` and ``mwi`` (see the module docstring); computed in float64 from
        the float32 filter outputs, rounded to float32.

    Examples
    --------
    >>> fs = 360.0
    >>> x = np.zeros(720); x[360] = 1.0                # one sharp "QRS"
    >>> y = pan_tompkins(x, sample_rate=fs)
    >>> y.shape, 360 < int(np.argmax(y[2])) < 360 + 0.2 * fs
    ((3, 720), True)
    """
    if not isinstance(params, PanTompkinsParams):
        raise ConfigError(f"params={params!r} must be a PanTompkinsParams")
    x = as_signal(signal)
    fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
    hp_sos, bp_sos = params.filters(fs)
    hp = sosfilt(x, sos=hp_sos)
    bp = sosfilt(x, sos=bp_sos)
    b = bp.astype(np.float64)
    pad = np.concatenate([np.zeros(b.shape[:-1] + (4,)), b], axis=-1)
    n = b.shape[-1]
    d = sum(DERIVATIVE_TAPS[k] * pad[..., 4 - k : 4 - k + n] for k in range(5)) * (fs / 8.0)
    sq = d * d
    n_int = params.integration_samples(fs)
    mwi = scipy.signal.lfilter(np.full(n_int, 1.0 / n_int), [1.0], sq, axis=-1)
    return np.stack([hp, bp, mwi.astype(np.float32)], axis=-2)


class PanTompkinsStream:
    """Sample-by-sample Pan-Tompkins pre-processing; chunked output equals :func:`pan_tompkins`.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(500).astype(np.float32)
    >>> s = PanTompkinsStream(sample_rate=250.0)
    >>> y = np.concatenate([s.process(x[:123]), s.process(x[123:])], axis=-1)
    >>> bool(np.allclose(y, pan_tompkins(x, sample_rate=250.0), rtol=1e-5, atol=1e-6))
    True
    """

    def __init__(self, *, sample_rate: float, params: PanTompkinsParams = PanTompkinsParams()) -> None:
        self.fs = check_float("sample_rate", sample_rate, lo=0.0, lo_open=True)
        self.params = params
        hp, bp = params.filters(self.fs)
        self._hp = (hp.astype(np.float64), np.zeros((hp.shape[0], 2)))
        self._bp = (bp.astype(np.float64), np.zeros((bp.shape[0], 2)))
        self._hist = np.zeros(4)
        self._n_int = params.integration_samples(self.fs)
        self._sq = np.zeros(self._n_int)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """The next ``k`` samples -> ``(3, k)`` float32 (hp, bp, mwi)."""
        x = as_signal(chunk, name="chunk").astype(np.float64)
        if x.ndim != 1:
            raise ConfigError(f"chunk has shape {x.shape}; PanTompkinsStream takes one lead, 1-D chunks")
        hp, self._hp = self._filter(self._hp, x)
        bp, self._bp = self._filter(self._bp, x)
        b = bp.astype(np.float32).astype(np.float64)
        pad = np.concatenate([self._hist, b])
        k = len(b)
        d = sum(DERIVATIVE_TAPS[j] * pad[4 - j : 4 - j + k] for j in range(5)) * (self.fs / 8.0)
        self._hist = pad[-4:]
        sq = np.concatenate([self._sq, d * d])
        csum = np.convolve(sq, np.full(self._n_int, 1.0 / self._n_int), mode="valid")[1:]
        self._sq = sq[-self._n_int :]
        return np.stack([hp.astype(np.float32), bp.astype(np.float32), csum.astype(np.float32)])

    @staticmethod
    def _filter(state: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        sos, zi = state
        y, zf = scipy.signal.sosfilt(sos, x, zi=zi)
        return y, (sos, zf)
