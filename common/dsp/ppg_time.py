"""Raw PPG + ACC windows for a time-domain CNN (the ``ppg_time`` front end, TEMPONet / TimePPG input).

Each channel of the window optionally band-passed (causal Butterworth from a zero state,
as the device does on the window) and standardised (the ACC std floored at
``acc_floor_g`` so a still wrist stays near zero). C twin:
``firmware_templates/dsp/tm_fe_ppg_time.c`` (``PPGTIME_*`` defines). The feature
extractor is :class:`tinyml_suite.common.features.ppg.PpgTime`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_float
from tinyml_suite.common.dsp.filters import ButterworthParams, butter_sos, sosfilt
from tinyml_suite.common.dsp.normalize import ZScoreParams, zscore

__all__ = ["PpgTimeParams", "ppg_time"]


@dataclass(kw_only=True, frozen=True)
class PpgTimeParams:
    """Raw windows for a time-domain CNN (TEMPONet / TimePPG input).

    Attributes
    ----------
    bandpass_hz : tuple of 2 floats or None
        Causal Butterworth band-pass applied to every channel of the window from a zero
        state (what the device does on the window), or None for none.
    order : int
        Butterworth order of the band-pass.
    standardize : bool
        Standardise each channel of each window (zero mean, unit std; ACC uses the
        ``acc_floor_g`` floor on its std so a still wrist stays near zero).
    acc_floor_g : float
        Lower bound of the ACC std used for standardisation (g).
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "PPGTIME"

    bandpass_hz: tuple[float, float] | None = None
    order: int = 2
    standardize: bool = True
    acc_floor_g: float = 0.05

    def __post_init__(self) -> None:
        if self.bandpass_hz is not None:
            ButterworthParams(kind="bandpass", order=self.order, cutoff_hz=tuple(self.bandpass_hz))
            object.__setattr__(self, "bandpass_hz", tuple(float(v) for v in self.bandpass_hz))
        check_float("acc_floor_g", self.acc_floor_g, lo=0.0, lo_open=True)


def ppg_time(x: np.ndarray, *, sample_rate: float, params: PpgTimeParams) -> np.ndarray:
    """The ``ppg_time`` features: ``(n, 4, samples)`` windows -> ``(n, samples, 4)`` float32.

    Examples
    --------
    >>> ppg_time(np.ones((1, 4, 256)), sample_rate=32.0, params=PpgTimeParams()).shape
    (1, 256, 4)
    """
    p = params
    x = as_signal(x, name="x", min_ndim=3)
    if p.bandpass_hz is not None:
        sos = butter_sos(sample_rate=sample_rate,
                         params=ButterworthParams(kind="bandpass", order=p.order, cutoff_hz=p.bandpass_hz))
        x = sosfilt(x, sos=sos)
    if p.standardize:
        ppg = zscore(x[:, :1], params=ZScoreParams())
        a64 = x[:, 1:].astype(np.float64)
        mean = a64.mean(axis=-1, keepdims=True)
        std = np.maximum(a64.std(axis=-1, keepdims=True), float(np.float32(p.acc_floor_g)))
        acc = (x[:, 1:] - mean.astype(np.float32)) / std.astype(np.float32)
        x = np.concatenate([ppg, acc.astype(np.float32)], axis=1)
    return np.ascontiguousarray(np.transpose(x, (0, 2, 1)), dtype=np.float32)
