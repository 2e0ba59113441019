"""Room impulse responses from simulated rooms (pyroomacoustics, image-source method).

A keyword spoken across a room reaches the microphone with early reflections and a
reverberant tail whose shape depends on the room's size, its absorption and where the
talker and the microphone stand. :func:`room_impulse_responses` draws shoebox rooms
(dimensions, RT60, positions), computes each room's impulse response with
pyroomacoustics' image-source model (absorption and reflection order from Sabine's
formula for the drawn RT60, :func:`pyroomacoustics.inverse_sabine`) and returns them at
unit energy (the level of the reverberant utterance is set later, with the rest of the
augmentation). The reflection order is capped (``max_order``) to bound the cost; the
late tail then decays somewhat faster than the nominal RT60.

The bank is drawn once per dataset split from a seed, so a dataset is reproducible,
and each utterance is convolved with a random member (``reverberate``).

Examples
--------
>>> irs = room_impulse_responses(2, sample_rate=16000, seed=0, params=RoomParams(max_order=6))  # doctest: +SKIP
>>> len(irs), irs[0].dtype                                                                      # doctest: +SKIP
(2, dtype('float32'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyml_suite.common.errors import ConfigError, TinyMLError

__all__ = ["RoomParams", "pyroomacoustics_available", "reverberate", "room_impulse_responses"]


def pyroomacoustics_available() -> bool:
    """Whether ``pyroomacoustics`` can be imported (the ``voices`` extra)."""
    try:
        import pyroomacoustics  # noqa: F401
    except ImportError:
        return False
    return True


def _pair(name: str, value: object, lo: float, hi: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConfigError(f"rooms.{name}={value!r} must be a pair [low, high]") from None
    if not lo <= a <= b <= hi:
        raise ConfigError(f"rooms.{name}=[{a}, {b}] must satisfy {lo} <= low <= high <= {hi}")
    return a, b


@dataclass(kw_only=True, frozen=True)
class RoomParams:
    """Ranges of the simulated rooms."""

    rt60_s: tuple[float, float] = (0.15, 0.8)
    """Reverberation time range (Sabine), seconds: a furnished living room to a bare hall."""
    length_m: tuple[float, float] = (3.0, 9.0)
    width_m: tuple[float, float] = (2.5, 7.0)
    height_m: tuple[float, float] = (2.3, 3.5)
    distance_m: tuple[float, float] = (0.3, 4.0)
    """Talker-to-microphone distance range, metres (capped by the room)."""
    max_order: int = 20
    """Largest image-source reflection order (cost grows with its cube)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rt60_s", _pair("rt60_s", self.rt60_s, 0.05, 3.0))
        for name in ("length_m", "width_m", "height_m"):
            object.__setattr__(self, name, _pair(name, getattr(self, name), 1.5, 50.0))
        object.__setattr__(self, "distance_m", _pair("distance_m", self.distance_m, 0.05, 50.0))
        if not 1 <= int(self.max_order) <= 100:
            raise ConfigError(f"rooms.max_order={self.max_order} must be within 1-100")


def _one_room(rng: np.random.Generator, sample_rate: int, p: RoomParams) -> np.ndarray:
    import pyroomacoustics as pra

    dim = np.array([rng.uniform(*p.length_m), rng.uniform(*p.width_m), rng.uniform(*p.height_m)])
    rt60 = float(rng.uniform(*p.rt60_s))
    try:
        e_abs, order = pra.inverse_sabine(rt60, dim)
    except ValueError:  # the room is too small for that RT60: the most reverberant it can be
        e_abs, order = 0.02, p.max_order
    room = pra.ShoeBox(dim, fs=sample_rate, materials=pra.Material(float(e_abs)), max_order=min(int(order), p.max_order))
    margin = 0.3
    src = np.array([rng.uniform(margin, d - margin) for d in dim])
    src[2] = rng.uniform(1.0, min(1.9, dim[2] - margin))  # a mouth's height, standing or seated
    # the microphone at a random distance and direction from the talker, inside the room
    for _ in range(50):
        dist = rng.uniform(*p.distance_m)
        v = rng.standard_normal(3)
        v[2] *= 0.3
        mic = src + dist * v / np.linalg.norm(v)
        if np.all(mic > margin) and np.all(mic < dim - margin):
            break
    else:
        mic = np.array([rng.uniform(margin, d - margin) for d in dim])
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    h = np.asarray(room.rir[0][0], dtype=np.float64)
    h = h[int(np.argmax(np.abs(h) > 0.05 * np.abs(h).max())):]  # start at the direct sound
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def room_impulse_responses(
    n: int, *, sample_rate: int, seed: int | np.random.SeedSequence, params: RoomParams | None = None
) -> list[np.ndarray]:
    """``n`` unit-energy room impulse responses, each starting at its direct sound.

    Raises
    ------
    TinyMLError
        When ``pyroomacoustics`` is not installed (``pip install 'tinyml-suite[voices]'``).
    """
    if not pyroomacoustics_available():
        raise TinyMLError("simulated rooms need pyroomacoustics: pip install 'tinyml-suite[voices]'")
    if n < 0:
        raise ConfigError(f"rooms: the number of rooms must be >= 0; got {n}")
    p = params or RoomParams()
    rng = np.random.default_rng(seed)
    return [_one_room(rng, int(sample_rate), p) for _ in range(int(n))]


def reverberate(x: np.ndarray, rir: np.ndarray, *, max_tail: int = 4800) -> np.ndarray:
    """``x`` convolved with ``rir``, keeping at most ``max_tail`` samples of the tail.

    Examples
    --------
    >>> x = np.ones(100, np.float32); h = np.zeros(10, np.float32); h[0] = 1.0
    >>> y = reverberate(x, h); len(y), float(y[:100].mean())
    (109, 1.0)
    """
    import scipy.signal

    x = np.asarray(x, dtype=np.float32)
    h = np.asarray(rir, dtype=np.float32)
    return scipy.signal.fftconvolve(x, h)[: len(x) + min(len(h) - 1, max_tail)].astype(np.float32)
