"""Accelerometer-driven motion-artefact suppression of a PPG power spectrum.

Wrist motion puts lines into the PPG spectrum (arm swing, steps, exercise repetitions
and their harmonics) that can be stronger than the pulse. The accelerometer sees the
same motion, so its spectrum says which PPG lines are probably artefacts. This block
turns the ACC spectra into a per-bin *noise estimate* ``N`` and multiplies the PPG
spectrum by a gain that removes what ``N`` explains (Wiener-type spectral subtraction,
in the spirit of Temko, "Accurate heart rate monitoring during physical exercises using
PPG", IEEE TBME 2017, which uses the ACC spectra as the noise estimate of a Wiener
filter):

1. ``N[k] = max over axes of acc[axis, k]``, widened by a running maximum over
   ``+- spread_bins`` bins (a motion line leaks into its neighbours and wanders a little
   within a window); ``acc`` is each axis's power spectrum normalised to [0, 1] by the
   caller (:func:`tinyml_suite.common.dsp.ppg_spectrum.ppg_spectra` divides each axis by
   ``max(its maximum, acc_floor_g^2)``, so a still wrist gives ``N`` near 0).
2. The gain, by ``rule``:

   * ``"subtract"``: ``G = max(1 - strength * N, gain_floor)``;
   * ``"wiener"``: ``G = max(S / (S + strength * N + 1e-12), gain_floor)``, with ``S`` the
     signal estimate: the PPG spectrum itself, or (``history > 0``, streaming with
     :class:`MotionSuppressor`) its recursive average ``S_t = history * S_{t-1} +
     (1 - history) * P_t`` over the windows so far. A line that persists in the PPG
     while the ACC is quiet at its frequency keeps its weight; a line the ACC explains
     loses it in proportion to how much the ACC dominates there. That adaptation is
     what makes the stage adaptive (a pulse line under weak motion survives, a motion
     line under strong motion does not).

   ``G`` is clipped to at most 1.
3. Output ``P * G`` (float32; not renormalised, so the caller sees how much of the PPG's
   power survived).

Float32 throughout, in the order the C twin computes it
(``firmware_templates/dsp/tm_motion.c``; ``tests/test_motion_dsp.py`` holds the two
together on the golden file ``tests/golden/motion_v1.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import as_signal, check_choice, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["MotionSuppressionParams", "motion_noise", "motion_gain", "suppress_motion", "MotionSuppressor"]

_RULES = ("subtract", "wiener")
_EPS = np.float32(1e-12)


@dataclass(kw_only=True, frozen=True)
class MotionSuppressionParams:
    """Parameters of the motion-artefact stage (see the module docstring).

    Attributes
    ----------
    rule : {'subtract', 'wiener'}
        The gain rule.
    strength : float
        Weight of the ACC noise estimate ``N`` in the gain, >= 0 (0 switches the stage off).
    gain_floor : float
        Smallest gain, in [0, 1]: how much of a fully ACC-explained line is kept.
    spread_bins : int
        Half-width of the running maximum that widens ``N``, in bins (>= 0).
    history : float
        Forgetting factor of the Wiener signal estimate across windows, in [0, 1)
        (0: the current window only; only streaming use, :class:`MotionSuppressor`,
        carries it from window to window). Unused by ``"subtract"``.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "MOTION"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {"rule": {"subtract": 0, "wiener": 1}}

    rule: str = "subtract"
    strength: float = 0.9
    gain_floor: float = 0.05
    spread_bins: int = 2
    history: float = 0.0

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, _RULES)
        check_float("strength", self.strength, lo=0.0)
        check_float("gain_floor", self.gain_floor, lo=0.0, hi=1.0)
        check_int("spread_bins", self.spread_bins, lo=0, hi=64)
        check_float("history", self.history, lo=0.0, hi=1.0, hi_open=True)

    def c_defines(self, **_: Any) -> dict[str, Any]:
        """``MOTION_*`` defines for ``dsp_params.h``."""
        from tinyml_suite.common.dsp.c_params import params_defines

        return params_defines(self)


def motion_noise(acc: np.ndarray, *, params: MotionSuppressionParams) -> np.ndarray:
    """The noise estimate ``N``: the largest ACC axis per bin, widened by ``+- spread_bins``.

    Parameters
    ----------
    acc : np.ndarray [shape=(..., n_axes, n_bins)]
        Normalised ACC power spectra (>= 0, typically in [0, 1]).
    params : MotionSuppressionParams

    Returns
    -------
    np.ndarray [shape=(..., n_bins), dtype=float32]

    Examples
    --------
    >>> acc = np.zeros((3, 8), np.float32)
    >>> acc[1, 3] = 1.0
    >>> motion_noise(acc, params=MotionSuppressionParams(spread_bins=1)).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    a = as_signal(acc, name="acc", min_ndim=2)
    if np.any(a < 0):
        raise ConfigError("acc holds negative values; pass ACC power spectra (>= 0)")
    n = a.max(axis=-2)
    s = int(params.spread_bins)
    if s == 0 or n.shape[-1] == 1:
        return n.astype(np.float32)
    padded = np.pad(n, [(0, 0)] * (n.ndim - 1) + [(s, s)], mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * s + 1, axis=-1)
    return windows.max(axis=-1).astype(np.float32)


def motion_gain(ppg: np.ndarray, noise: np.ndarray, *, params: MotionSuppressionParams,
                signal: np.ndarray | None = None) -> np.ndarray:
    """The per-bin gain ``G`` in [gain_floor, 1] (float32).

    ``ppg`` and ``noise`` [shape=(..., n_bins)]; ``signal`` is the Wiener signal estimate
    (default: ``ppg``), ignored by ``"subtract"``.

    Examples
    --------
    >>> p = np.array([1.0, 0.5, 0.2], np.float32)
    >>> n = np.array([1.0, 0.0, 0.5], np.float32)
    >>> [round(float(v), 3) for v in motion_gain(p, n, params=MotionSuppressionParams(strength=0.9))]
    [0.1, 1.0, 0.55]
    >>> [round(float(v), 3) for v in motion_gain(p, n, params=MotionSuppressionParams(rule="wiener", strength=1.0, gain_floor=0.0))]
    [0.5, 1.0, 0.286]
    """
    p = as_signal(ppg, name="ppg")
    n = as_signal(noise, name="noise")
    if p.shape != n.shape:
        raise ConfigError(f"ppg has shape {p.shape} but noise has {n.shape}; give one noise value per PPG bin")
    beta, floor = np.float32(params.strength), np.float32(params.gain_floor)
    if params.rule == "subtract":
        g = np.float32(1.0) - beta * n
    else:
        s = p if signal is None else as_signal(signal, name="signal")
        if s.shape != p.shape:
            raise ConfigError(f"signal has shape {s.shape}; expected {p.shape} (one value per PPG bin)")
        g = s / (s + beta * n + _EPS)
    return np.minimum(np.maximum(g, floor), np.float32(1.0)).astype(np.float32)


def suppress_motion(ppg: np.ndarray, acc: np.ndarray, *, params: MotionSuppressionParams,
                    signal: np.ndarray | None = None) -> np.ndarray:
    """``ppg * motion_gain(ppg, motion_noise(acc))``: one window (or a batch) without history.

    Parameters
    ----------
    ppg : np.ndarray [shape=(..., n_bins)]
        PPG power spectrum (normalised to its maximum by convention, any scale works).
    acc : np.ndarray [shape=(..., n_axes, n_bins)]
        Normalised ACC power spectra on the same bins.
    params : MotionSuppressionParams
    signal : np.ndarray [shape=(..., n_bins)], optional
        Wiener signal estimate (default: ``ppg``).

    Returns
    -------
    np.ndarray [shape=(..., n_bins), dtype=float32]

    Examples
    --------
    >>> k = np.arange(64)
    >>> ppg = (np.exp(-0.5 * ((k - 20) / 1.5) ** 2) + 2 * np.exp(-0.5 * ((k - 40) / 1.5) ** 2)).astype(np.float32)
    >>> acc = np.zeros((3, 64), np.float32); acc[0, 40] = 1.0   # the ACC explains the line at bin 40
    >>> int(np.argmax(ppg)), int(np.argmax(suppress_motion(ppg, acc, params=MotionSuppressionParams())))
    (40, 20)
    """
    p = as_signal(ppg, name="ppg")
    a = as_signal(acc, name="acc", min_ndim=2)
    if a.shape[:-2] != p.shape[:-1] or a.shape[-1] != p.shape[-1]:
        raise ConfigError(f"acc has shape {a.shape}; expected (..., n_axes, {p.shape[-1]}) matching ppg {p.shape}")
    return (p * motion_gain(p, motion_noise(a, params=params), params=params, signal=signal)).astype(np.float32)


class MotionSuppressor:
    """Streaming motion stage: one window after another, carrying the Wiener signal estimate.

    Examples
    --------
    >>> ms = MotionSuppressor(MotionSuppressionParams(rule="wiener", strength=4.0, history=0.8, spread_bins=0))
    >>> ppg = np.array([1.0, 0.3], np.float32); acc = np.array([[1.0, 0.0]], np.float32)
    >>> [round(float(v), 3) for v in ms.step(ppg, acc)]   # first window: S = ppg
    [0.2, 0.3]
    """

    def __init__(self, params: MotionSuppressionParams = MotionSuppressionParams()) -> None:
        if not isinstance(params, MotionSuppressionParams):
            raise ConfigError(f"params={params!r} must be a MotionSuppressionParams")
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Start a new recording (no signal history)."""
        self.signal: np.ndarray | None = None

    def step(self, ppg: np.ndarray, acc: np.ndarray) -> np.ndarray:
        """One window: ``ppg`` [shape=(n_bins,)], ``acc`` [shape=(n_axes, n_bins)] -> cleaned ``ppg``."""
        p = as_signal(ppg, name="ppg")
        if p.ndim != 1:
            raise ConfigError(f"MotionSuppressor.step takes one window; ppg has shape {p.shape}")
        h = np.float32(self.params.history)
        if self.signal is None or self.signal.shape != p.shape:
            self.signal = p.copy()
        else:
            self.signal = (h * self.signal + (np.float32(1.0) - h) * p).astype(np.float32)
        return suppress_motion(p, acc, params=self.params, signal=self.signal)
