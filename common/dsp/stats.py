"""Time-domain statistics of a window: mean, std, RMS, skewness, kurtosis, crest, p2p, ZCR.

One call returns all eight as a named stack, in the fixed order of :data:`STAT_NAMES`
(the order the C twin ``firmware_templates/dsp/tm_stats.{h,c}`` writes them).

Definitions (``x`` is one window of ``n`` samples, ``m = mean(x)``,
``m_k = mean((x - m)**k)``):

============  ==================================================================
mean          ``m``
std           ``sqrt(m_2)`` (population, ``ddof=0``)
rms           ``sqrt(mean(x**2))``
skewness      ``m_3 / m_2**1.5`` (biased, = ``scipy.stats.skew(x)``)
kurtosis      ``m_4 / m_2**2 - 3`` if ``fisher`` (excess, = ``scipy.stats.kurtosis(x)``),
              else ``m_4 / m_2**2`` (Pearson, ``fisher=False``); biased estimator
crest         ``max|x| / rms``
p2p           ``max(x) - min(x)``
zcr           fraction of the ``n - 1`` adjacent pairs whose signs differ, where a
              sample counts as positive when ``>= 0``; of ``x - m`` if
              ``zcr_center`` (so a gravity offset does not hide the oscillation)
============  ==================================================================

Degenerate windows: when ``std <= 1e-5 * max|x|`` (a constant window, up to float32
rounding) skewness is 0 and kurtosis is that of a Gaussian (0 Fisher, 3 Pearson);
when ``rms == 0`` the crest factor is 0. A one-sample window has ``zcr = 0``. Outputs
are always finite.

Moments are computed in float64 with two passes (mean first) and rounded to float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal
from tinyml_suite.common.errors import ConfigError

__all__ = ["STAT_NAMES", "StatsParams", "time_stats"]

STAT_NAMES: tuple[str, ...] = ("mean", "std", "rms", "skewness", "kurtosis", "crest", "p2p", "zcr")

# Relative threshold below which a window counts as constant (see module docstring).
_DEGENERATE_REL = 1e-5


@dataclass(kw_only=True, frozen=True)
class StatsParams:
    """Options of :func:`time_stats`.

    Attributes
    ----------
    fisher : bool
        Kurtosis as excess over a Gaussian (Fisher, Gaussian = 0) if True, else
        Pearson's (Gaussian = 3). Same meaning as in :func:`scipy.stats.kurtosis`.
    zcr_center : bool
        Count zero crossings of the mean-removed window (True) or of the raw one.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "STATS"

    fisher: bool = True
    zcr_center: bool = True

    def __post_init__(self) -> None:
        for name in ("fisher", "zcr_center"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be True or False")

    def c_defines(self, **_: Any) -> dict[str, Any]:
        """``#define`` names and values for ``dsp_params.h`` (adds ``STATS_COUNT``)."""
        from tinyml_suite.common.dsp.c_params import params_defines

        out = params_defines(self)
        out["STATS_COUNT"] = len(STAT_NAMES)
        return out


def time_stats(signal: np.ndarray, *, params: StatsParams = StatsParams()) -> tuple[np.ndarray, list[str]]:
    """Eight time-domain statistics of each window, along the last axis.

    Parameters
    ----------
    signal : np.ndarray [shape=(..., n)]
        Real windows, time on the last axis; ``n >= 1``.
    params : StatsParams
        Kurtosis convention and ZCR centring.

    Returns
    -------
    stats : np.ndarray [shape=(..., 8), dtype=float32]
        In the order of ``names``.
    names : list of str
        :data:`STAT_NAMES`: mean, std, rms, skewness, kurtosis, crest, p2p, zcr.

    Examples
    --------
    >>> x = np.array([1.0, -1.0, 1.0, -1.0])
    >>> s, names = time_stats(x)
    >>> dict(zip(names, s.round(3).tolist()))
    {'mean': 0.0, 'std': 1.0, 'rms': 1.0, 'skewness': 0.0, 'kurtosis': -2.0, 'crest': 1.0, 'p2p': 2.0, 'zcr': 1.0}
    """
    if not isinstance(params, StatsParams):
        raise ConfigError(f"params={params!r} must be a StatsParams")
    x = as_signal(signal).astype(np.float64)
    n = x.shape[-1]
    mean = x.mean(axis=-1)
    d = x - mean[..., None]
    m2 = np.mean(d * d, axis=-1)
    m3 = np.mean(d * d * d, axis=-1)
    m4 = np.mean((d * d) ** 2, axis=-1)
    std = np.sqrt(m2)
    rms = np.sqrt(np.mean(x * x, axis=-1))
    peak = np.max(np.abs(x), axis=-1)
    degenerate = std <= _DEGENERATE_REL * peak
    safe_m2 = np.where(degenerate, 1.0, m2)
    skew = np.where(degenerate, 0.0, m3 / safe_m2**1.5)
    kurt = np.where(degenerate, 3.0, m4 / safe_m2**2)
    if params.fisher:
        kurt = kurt - 3.0
    crest = np.where(rms > 0, peak / np.where(rms > 0, rms, 1.0), 0.0)
    p2p = np.max(x, axis=-1) - np.min(x, axis=-1)
    z = d if params.zcr_center else x
    if n > 1:
        pos = z >= 0
        zcr = np.count_nonzero(pos[..., 1:] != pos[..., :-1], axis=-1) / (n - 1)
    else:
        zcr = np.zeros(x.shape[:-1])
    out = np.stack([mean, std, rms, skew, kurt, crest, p2p, zcr], axis=-1)
    return out.astype(np.float32), list(STAT_NAMES)
