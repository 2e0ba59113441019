"""Heart-rate tracking: a causal HMM forward filter over a BPM grid that recovers from a wrong lock.

Both estimators of the app produce, per 8 s window, a non-negative score over a grid of
heart rates: the DSP baseline its motion-suppressed PPG spectrum, the CNN its softmax
over HR bins. :class:`HrTracker` turns that sequence into one estimate per window:

1. **motion level** ``m`` in [0, 1]: the largest value of the window's ACC spectrum
   (``acc``, the front end's per-axis normalised ACC power, max over axes; 0 without
   one). A still wrist gives ``m`` near 0, motion above the front end's ACC floor 1.
2. **predict**: the previous posterior is blurred by a Gaussian transition kernel of
   ``sigma_bpm`` (how far the heart rate moves in one 2 s hop) and mixed with a
   re-acquisition distribution ``r`` of weight ``u``: the track can always jump. ``r`` is
   uniform, or (``reacquire_acc > 0``) ``max(1 - reacquire_acc * acc, 0.001)`` normalised,
   so a jump does not land on a line the accelerometer explains.
3. **update**: multiplied by the emission ``(score / max(score))^gamma + floor``
   (``normalize=False``: ``score^gamma + floor``, for scores whose absolute level means
   something, such as a motion-suppressed spectrum: a window whose lines were all
   suppressed then leaves the prediction as it is) and renormalised.
4. **estimate**: the posterior's maximum, refined either to the parabolic peak of the
   emission nearest to it (``refine='peak'``, for spectra) or to the posterior's mean
   over +- ``refine_bins`` (``refine='mean'``, for softmax outputs).

**Start.** A recording starts from a flat posterior, or (``init_bpm`` set) from an even
mixture of a flat one and a Gaussian of ``init_sigma_bpm`` around ``init_bpm``: a wrist
usually starts at a resting or walking heart rate, and a strong motion line at twice
that rate in the very first window then does not win by default.

**Recovering from a wrong lock.** ``gamma`` and ``u`` depend on the motion level:
``gamma_t = gamma_motion + (gamma - gamma_motion) (1 - m)`` and
``u_t = uniform^(1 - m) * uniform_motion^m``. While the wrist moves, the evidence is
flattened and jumps are rare (a motion line that outshines the pulse for a while cannot
capture the track); once it is still, the evidence is sharp and re-acquisition is cheap,
so a track that did lock onto a motion line returns to the pulse within a few windows.
With ``gamma_motion``/``uniform_motion`` unset the tracker is the plain forward filter of
version 1.

Causal (no look-ahead, one estimate per window as it arrives, like the device). The
firmware twin is ``firmware_templates/apps/heart_rate/postprocess.c`` (it reads ``acc``
from the features it is handed), held to this code by a parity test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyml_suite.common.dsp._checks import check_choice, check_float, check_int
from tinyml_suite.common.errors import ConfigError

__all__ = ["TrackParams", "HrTracker", "track", "recording_segments", "hr_grid"]


def hr_grid(min_bpm: float, step_bpm: float, n_bins: int) -> np.ndarray:
    """``min_bpm + step_bpm * k``, k = 0..n_bins-1 (float32, as the device stores it).

    Examples
    --------
    >>> hr_grid(30.0, 1.875, 4).tolist()
    [30.0, 31.875, 33.75, 35.625]
    """
    check_float("min_bpm", min_bpm, lo=0.0)
    check_float("step_bpm", step_bpm, lo=0.0, lo_open=True)
    check_int("n_bins", n_bins, lo=3)
    return (np.float32(min_bpm) + np.float32(step_bpm) * np.arange(n_bins, dtype=np.float32)).astype(np.float32)


@dataclass(kw_only=True, frozen=True)
class TrackParams:
    """Parameters of :class:`HrTracker` (see the module docstring).

    Attributes
    ----------
    sigma_bpm : float
        Std of the heart-rate change per window hop (BPM), > 0.
    uniform : float
        Weight of the re-acquisition component of the prediction while still, in [0, 1).
    gamma : float
        Exponent applied to the emission while still (> 0).
    floor : float
        Added to the emission so no heart rate is ever ruled out (>= 0).
    refine : {'peak', 'mean', 'none'}
        How the estimate is refined around the posterior maximum.
    refine_bins : int
        Half-width of the refinement neighbourhood, in bins.
    gamma_motion : float or None
        Emission exponent while the wrist moves (None: ``gamma``).
    uniform_motion : float or None
        Re-acquisition weight while the wrist moves, in [0, 1) (None: ``uniform``).
    reacquire_acc : float
        How much the ACC spectrum keeps re-acquisition off motion lines, in [0, 1].
    normalize : bool
        Divide the emission by its maximum before the exponent.
    init_bpm : float or None
        Centre of the starting prior's Gaussian half (None: a flat start).
    init_sigma_bpm : float
        Its width (BPM), > 0.
    """

    IMPLEMENTATION_VERSION: ClassVar[int] = 2
    C_PREFIX: ClassVar[str] = "HRTRACK"
    C_ENUMS: ClassVar[dict[str, dict[str, int]]] = {"refine": {"peak": 0, "mean": 1, "none": 2}}

    sigma_bpm: float = 3.75
    uniform: float = 0.01
    gamma: float = 0.5
    floor: float = 0.001
    refine: str = "peak"
    refine_bins: int = 2
    gamma_motion: float | None = None
    uniform_motion: float | None = None
    reacquire_acc: float = 0.0
    normalize: bool = True
    init_bpm: float | None = None
    init_sigma_bpm: float = 30.0

    def __post_init__(self) -> None:
        check_float("sigma_bpm", self.sigma_bpm, lo=0.0, lo_open=True)
        check_float("uniform", self.uniform, lo=0.0, hi=1.0, hi_open=True)
        check_float("gamma", self.gamma, lo=0.0, lo_open=True)
        check_float("floor", self.floor, lo=0.0)
        check_choice("refine", self.refine, ("peak", "mean", "none"))
        check_int("refine_bins", self.refine_bins, lo=0)
        if self.gamma_motion is not None:
            check_float("gamma_motion", self.gamma_motion, lo=0.0, lo_open=True)
        if self.uniform_motion is not None:
            check_float("uniform_motion", self.uniform_motion, lo=0.0, hi=1.0, hi_open=True)
        check_float("reacquire_acc", self.reacquire_acc, lo=0.0, hi=1.0)
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise ConfigError(f"normalize={self.normalize!r} must be true or false")
        if self.init_bpm is not None:
            check_float("init_bpm", self.init_bpm, lo=0.0, lo_open=True)
        check_float("init_sigma_bpm", self.init_sigma_bpm, lo=0.0, lo_open=True)

    def initial(self, grid_bpm: np.ndarray) -> np.ndarray:
        """The posterior a recording starts from (float32, sums to 1).

        Examples
        --------
        >>> g = hr_grid(30.0, 1.875, 113)
        >>> p = TrackParams(init_bpm=80.0).initial(g)
        >>> round(float(p.sum()), 5), float(g[np.argmax(p)]) == 78.75 or float(g[np.argmax(p)]) == 80.625
        (1.0, True)
        """
        g = np.asarray(grid_bpm, np.float64)
        flat = np.full(g.size, 1.0 / g.size)
        if self.init_bpm is None:
            return flat.astype(np.float32)
        bump = np.exp(-0.5 * ((g - self.init_bpm) / self.init_sigma_bpm) ** 2)
        return (0.5 * bump / bump.sum() + 0.5 * flat).astype(np.float32)

    @property
    def motion_gamma(self) -> float:
        """The emission exponent at full motion."""
        return float(self.gamma if self.gamma_motion is None else self.gamma_motion)

    @property
    def motion_uniform(self) -> float:
        """The re-acquisition weight at full motion."""
        return float(self.uniform if self.uniform_motion is None else self.uniform_motion)

    def kernel(self, step_bpm: float) -> np.ndarray:
        """The normalised float32 Gaussian transition kernel on a grid of ``step_bpm``.

        Half-width ``ceil(3 sigma / step)`` bins.

        Examples
        --------
        >>> k = TrackParams(sigma_bpm=3.75).kernel(1.875)
        >>> len(k), round(float(k.sum()), 6)
        (13, 1.0)
        """
        s = self.sigma_bpm / float(step_bpm)
        half = int(np.ceil(3.0 * s))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / s) ** 2)
        return (k / k.sum()).astype(np.float32)


class HrTracker:
    """Causal HMM forward filter over a BPM grid; float32 throughout, like the device.

    Examples
    --------
    >>> grid = hr_grid(30.0, 1.875, 113)
    >>> t = HrTracker(grid)
    >>> bump = lambda bpm: np.exp(-0.5 * ((grid - bpm) / 3.0) ** 2)
    >>> [round(t.step(bump(72) + 0.5 * bump(150)), 1) for _ in range(3)]
    [72.0, 72.0, 72.0]
    >>> round(t.step(0.8 * bump(75) + bump(150)), 1)   # a stronger artefact far away loses
    75.0
    """

    def __init__(self, grid_bpm: np.ndarray, params: TrackParams = TrackParams()) -> None:
        grid = np.asarray(grid_bpm, np.float32)
        if grid.ndim != 1 or grid.size < 3 or not np.all(np.diff(grid) > 0):
            raise ConfigError("grid_bpm must be an increasing 1-D grid of at least 3 heart rates")
        step = np.diff(grid.astype(np.float64))
        if not np.allclose(step, step[0], rtol=1e-4):
            raise ConfigError("grid_bpm must be evenly spaced")
        self.grid = grid
        self.step_bpm = float(step[0])
        self.params = params
        self.kernel = params.kernel(self.step_bpm)
        self.reset()

    def reset(self) -> None:
        """Start a new recording: the starting prior (flat unless ``init_bpm`` is set)."""
        self.post = self.params.initial(self.grid)
        self.last_motion = 0.0

    def step(self, score: np.ndarray, acc: np.ndarray | None = None) -> float:
        """Update with one window's score (and ACC spectrum) over the grid; return the estimate (BPM).

        ``acc`` [shape=(n_bins,)]: the window's normalised ACC power on the grid (max over
        axes, in [0, 1]); None for no accelerometer (motion level 0).
        """
        p = self.params
        n = self.grid.size
        e = np.asarray(score, np.float32)
        if e.shape != self.grid.shape:
            raise ConfigError(f"score has shape {e.shape}; expected one value per grid bin ({n})")
        e = np.maximum(e, np.float32(0.0))
        one = np.float32(1.0)
        if acc is None:
            a, m = None, np.float32(0.0)
        else:
            a = np.asarray(acc, np.float32)
            if a.shape != self.grid.shape:
                raise ConfigError(f"acc has shape {a.shape}; expected one value per grid bin ({n})")
            m = np.float32(min(max(float(a.max()), 0.0), 1.0))
        self.last_motion = float(m)
        gamma = np.float32(p.motion_gamma) + (np.float32(p.gamma) - np.float32(p.motion_gamma)) * (one - m)
        u = np.float32(np.power(np.float32(p.uniform), one - m) * np.power(np.float32(p.motion_uniform), m))
        # predict
        prior = np.convolve(self.post, self.kernel, mode="same").astype(np.float32)
        prior = prior / np.float32(prior.sum())
        if a is not None and p.reacquire_acc > 0:
            r = np.maximum(one - np.float32(p.reacquire_acc) * a, np.float32(0.001))
            r = r / np.float32(r.sum())
        else:
            r = np.float32(1.0 / n)
        prior = prior * (one - u) + u * r
        # update
        if p.normalize:
            mx = np.float32(e.max())
            em = (e / mx) if mx > 0 else np.ones_like(e)
        else:
            em = e
        em = np.power(em, gamma).astype(np.float32) + np.float32(p.floor)
        post = prior * em
        self.post = (post / np.float32(post.sum())).astype(np.float32)
        return self.estimate(e)

    def estimate(self, score: np.ndarray) -> float:
        """The refined estimate from the current posterior (see ``refine``)."""
        p = self.params
        post, grid, n = self.post, self.grid, self.grid.size
        j = int(np.argmax(post))
        a, b = max(0, j - p.refine_bins), min(n, j + p.refine_bins + 1)
        #: posterior mass within +- refine_bins of the maximum (the device's "confidence")
        self.last_confidence = float(post[a:b].sum())
        if p.refine == "none" or p.refine_bins == 0:
            return float(grid[j])
        if p.refine == "mean":
            w = post[a:b]
            return float(np.float32((w * grid[a:b]).sum()) / np.float32(w.sum()))
        e = np.asarray(score, np.float32)
        best, best_v = -1, np.float32(-1.0)
        for k in range(max(1, j - p.refine_bins), min(n - 1, j + p.refine_bins + 1)):
            if e[k] > e[k - 1] and e[k] >= e[k + 1]:
                v = e[k] * post[k]
                if v > best_v:
                    best, best_v = k, v
        if best < 0:
            return float(grid[j])
        y0, y1, y2 = e[best - 1], e[best], e[best + 1]
        den = np.float32(y0 - 2 * y1 + y2)
        off = np.float32(0.5) * (y0 - y2) / den if den < 0 else np.float32(0.0)
        return float(grid[best] + off * np.float32(self.step_bpm))


def recording_segments(rec: np.ndarray, t_s: np.ndarray, hop_s: float) -> list[np.ndarray]:
    """Index arrays of consecutive windows (same recording, ``hop_s`` apart), in time order.

    Examples
    --------
    >>> [s.tolist() for s in recording_segments(np.array([0, 0, 0, 1, 1]), np.array([0, 2, 6, 0, 2.0]), 2.0)]
    [[0, 1], [2], [3, 4]]
    """
    rec = np.asarray(rec)
    t = np.asarray(t_s, np.float64)
    order = np.lexsort((t, rec))
    segs: list[list[int]] = []
    for i in order:
        if segs and rec[segs[-1][-1]] == rec[i] and abs(t[i] - t[segs[-1][-1]] - hop_s) < 1e-6:
            segs[-1].append(int(i))
        else:
            segs.append([int(i)])
    return [np.asarray(s, np.int64) for s in segs]


def track(scores: np.ndarray, grid_bpm: np.ndarray, segments: list[np.ndarray],
          params: TrackParams = TrackParams(), acc: np.ndarray | None = None) -> np.ndarray:
    """Run :class:`HrTracker` over each segment of windows; one estimate per window (BPM).

    ``acc`` [shape=(n_windows, n_bins)]: each window's ACC spectrum on the grid (optional).
    """
    scores = np.asarray(scores)
    out = np.zeros(len(scores), np.float64)
    tracker = HrTracker(grid_bpm, params)
    for seg in segments:
        tracker.reset()
        for i in seg:
            out[i] = tracker.step(scores[i], None if acc is None else acc[i])
    return out
