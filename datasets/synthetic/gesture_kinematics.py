"""Kinematic IMU gesture synthesis: hand trajectories -> accelerometer and gyroscope.

The physics, in one place (world frame: x right, y forward away from the user, z up):

* A hand **trajectory** ``p(t)`` [m] is a sum of motion segments. Strokes follow the
  minimum-jerk profile ``s(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5`` (Flash & Hogan 1985),
  whose velocity and acceleration vanish at both ends, so a sum of strokes is smooth.
  Letters (wing/W, ring/O, slope/L) are drawn in a vertical plane in front of the user;
  punch, flex and shake are 3-D; idle is no motion; negatives are other movements.
* The device **orientation** ``R(t)`` (body -> world) is the user's grip ``R_base``
  rotated in the world frame by a slow drift, physiological tremor, the wrist rotation
  that goes with the hand's displacement (per-user coupling) and, for flex/twist
  gestures, the forearm rotation itself: ``R = Rot(rotvec_world(t)) * R_base``.
* **Accelerometer** = specific force in body axes, in g:
  ``f_b = R^T (p''(t) / g0 + [0, 0, 1])`` (at rest it reads +1 g along body "up").
* **Gyroscope** = body-frame angular rate [rad/s] from the orientation itself:
  ``exp([w_b]x * 2 dt) = R(t - dt)^T R(t + dt)``.
* Both are computed on an internal grid ``oversample`` times finer than the IMU rate
  and averaged over each output sample period (the sensor's digital low-pass), then
  the **sensor model** applies per-axis scale error, bias, white noise, quantisation to
  the resolution and saturation at the full-scale range.

Everything is deterministic for a given :class:`numpy.random.Generator` state.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = [
    "ALL_NEGATIVE_KINDS",
    "BACKGROUND",
    "CLASSES",
    "EXTRA_NEGATIVE_KINDS",
    "G0",
    "GESTURES",
    "Motion",
    "NEGATIVE_KINDS",
    "Render",
    "Segment",
    "SensorModel",
    "UserStyle",
    "make_motion",
    "min_jerk",
    "render",
    "replace_user",
    "return_motion",
    "sample_sensor",
    "sample_user",
    "sensor_readings",
    "time_scaled",
]

G0 = 9.80665  # standard gravity, m/s^2
GESTURES: tuple[str, ...] = ("wing", "ring", "slope", "punch", "flex", "shake")
BACKGROUND: tuple[str, ...] = ("idle", "negative")
CLASSES: tuple[str, ...] = GESTURES + BACKGROUND

# Nominal durations at tempo 1 [s] and letter height at size 1 [m].
_DURATION = {"wing": 1.5, "ring": 1.3, "slope": 1.2, "punch": 0.55, "flex": 1.4, "shake": 1.0}
_LETTER_M = 0.30
NEGATIVE_KINDS: tuple[str, ...] = ("reach", "walk", "twist", "stir", "tap", "lift", "partial", "wander")
# Near misses of the wand letters and everyday arm motion, drawn only on request (not in
# GestureSynth's own random pool: a reversed ring is another simulated user's ring there).
EXTRA_NEGATIVE_KINDS: tuple[str, ...] = ("reverse", "swing")
ALL_NEGATIVE_KINDS: tuple[str, ...] = NEGATIVE_KINDS + EXTRA_NEGATIVE_KINDS


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk position profile, 0 -> 1 on ``tau`` in [0, 1] (clipped outside).

    Examples
    --------
    >>> min_jerk(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    t = np.clip(tau, 0.0, 1.0)
    return t**3 * (10.0 - 15.0 * t + 6.0 * t**2)


@dataclass(frozen=True)
class Motion:
    """A motion segment: displacement and extra world-frame rotation over ``duration`` s.

    ``disp(t)`` [shape=(n, 3), m] is 0 at ``t <= 0`` and holds its final value for
    ``t >= duration``; ``rot(t)`` [shape=(n, 3), rad] is a world-frame rotation vector
    added to the orientation (0 for most gestures). ``kind`` is the class or negative
    kind it was made for.
    """

    kind: str
    duration: float
    disp: Callable[[np.ndarray], np.ndarray]
    rot: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class UserStyle:
    """How one (simulated) person performs gestures and holds the device."""

    user_id: str
    size: float  # letter/gesture size multiplier (1 = 0.30 m letters)
    tempo: float  # duration multiplier (> 1: slower)
    base_rotvec: tuple[float, float, float]  # grip: device -> world at rest (rad)
    plane_yaw: float  # drawing plane turned about z (rad)
    plane_tilt: float  # drawing plane leaned back about x (rad)
    aspect: float  # letter width / height
    slant: float  # letter shear (u += slant * v)
    coupling: tuple[float, float, float]  # wrist rotation per hand displacement (rad/m): pitch, roll, yaw
    jitter: float  # waypoint noise, fraction of letter size
    overlap: float  # fraction by which consecutive strokes overlap in time (corner rounding)
    ring_ccw: bool  # draws the ring counter-clockwise
    tremor_rad: float  # physiological tremor amplitude (rad)
    drift_rad: float  # slow orientation drift amplitude (rad)


@dataclass(frozen=True)
class SensorModel:
    """One IMU's imperfections (per device; in g and rad/s)."""

    accel_bias: tuple[float, float, float]
    accel_scale: tuple[float, float, float]  # gain, 1 = perfect
    accel_noise: float  # white noise rms per sample (g)
    accel_range: float  # full scale (g); readings saturate at +-range
    accel_resolution: float  # LSB (g); 0 disables quantisation
    gyro_bias: tuple[float, float, float]
    gyro_scale: tuple[float, float, float]
    gyro_noise: float  # rad/s rms per sample
    gyro_range: float  # rad/s
    gyro_resolution: float  # rad/s

    @staticmethod
    def ideal(accel_range: float = 1e9, gyro_range: float = 1e9) -> SensorModel:
        """A perfect sensor (no bias, gain 1, no noise, no quantisation)."""
        return SensorModel(
            (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0.0, accel_range, 0.0,
            (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0.0, gyro_range, 0.0,
        )


def sample_user(
    rng: np.random.Generator,
    user_id: str,
    *,
    size: float = 1.0,
    tempo: float = 1.0,
    wrist: float = 1.0,
    roll: float = 0.0,
) -> UserStyle:
    """Draw a person's style; ``size``/``tempo`` are global multipliers.

    ``wrist`` scales how much the device pitches (and, with ``roll == 0``, rolls) with
    the hand's displacement. ``roll > 0`` (rad/m) gives every user a strong, mostly
    right-handed roll with sideways motion (``roll * U(0.6, 1.4)``, sign flipped for
    20 % of users): a wand or pen drawn by turning the wrist.
    """
    grip = rng.normal(0.0, [0.30, 0.30, 0.25])  # ~17/17/14 degrees
    return UserStyle(
        user_id=user_id,
        size=float(size * rng.uniform(0.65, 1.45)),
        tempo=float(tempo * rng.uniform(0.7, 1.35)),
        base_rotvec=tuple(float(v) for v in grip),
        plane_yaw=float(rng.normal(0.0, 0.25)),
        plane_tilt=float(rng.normal(0.0, 0.2)),
        aspect=float(rng.uniform(0.75, 1.3)),
        slant=float(rng.normal(0.0, 0.15)),
        coupling=(
            float(rng.uniform(0.3, 2.5) * wrist),
            float(rng.normal(0.0, 0.6) * wrist) if roll <= 0 else float(
                roll * rng.uniform(0.6, 1.4) * (-1.0 if rng.random() < 0.2 else 1.0)
            ),
            float(rng.uniform(0.3, 2.5)),
        ),
        jitter=float(rng.uniform(0.02, 0.10)),
        overlap=float(rng.uniform(0.0, 0.35)),
        ring_ccw=bool(rng.random() < 0.2),
        tremor_rad=float(rng.uniform(0.0003, 0.0015)),
        drift_rad=float(rng.uniform(0.02, 0.12)),
    )


def sample_sensor(
    rng: np.random.Generator,
    *,
    accel_range_g: float = 4.0,
    gyro_range_dps: float = 2000.0,
    accel_noise_g: float = 0.01,
    gyro_noise_dps: float = 0.3,
    accel_resolution_g: float = 0.001,
    gyro_resolution_dps: float = 0.07,
    accel_bias_g: float = 0.03,
    gyro_bias_dps: float = 2.0,
    scale_error: float = 0.02,
) -> SensorModel:
    """Draw one device's bias and gain errors; the rest comes from the arguments."""
    d2r = math.pi / 180.0
    return SensorModel(
        accel_bias=tuple(float(v) for v in rng.normal(0.0, accel_bias_g, 3)),
        accel_scale=tuple(float(v) for v in 1.0 + rng.normal(0.0, scale_error, 3)),
        accel_noise=float(accel_noise_g * rng.uniform(0.7, 1.5)),
        accel_range=float(accel_range_g),
        accel_resolution=float(accel_resolution_g),
        gyro_bias=tuple(float(v) for v in rng.normal(0.0, gyro_bias_dps * d2r, 3)),
        gyro_scale=tuple(float(v) for v in 1.0 + rng.normal(0.0, scale_error, 3)),
        gyro_noise=float(gyro_noise_dps * d2r * rng.uniform(0.7, 1.5)),
        gyro_range=float(gyro_range_dps * d2r),
        gyro_resolution=float(gyro_resolution_dps * d2r),
    )


# -- motion building blocks ---------------------------------------------------------


def _strokes(points: np.ndarray, durations: np.ndarray, overlap: float) -> tuple[Callable, float]:
    """Sum of min-jerk strokes through ``points`` [shape=(m+1, 3)]; returns (disp, total)."""
    deltas = np.diff(points, axis=0)
    starts = np.zeros(len(durations))
    for i in range(1, len(durations)):
        starts[i] = starts[i - 1] + durations[i - 1] * (1.0 - overlap)
    total = float(starts[-1] + durations[-1])

    def disp(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        s = min_jerk((t[:, None] - starts[None, :]) / durations[None, :])  # (n, m)
        return s @ deltas

    return disp, total


def _stroke_durations(points: np.ndarray, total: float) -> np.ndarray:
    """Split ``total`` seconds over strokes in proportion to sqrt(length) (Fitts-like)."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    w = np.sqrt(np.maximum(lengths, 1e-6))
    return total * w / w.sum()


def _plane_basis(user: UserStyle) -> np.ndarray:
    """Rows: world directions of the drawing plane's u (right) and v (up) axes."""
    r = Rotation.from_euler("zx", [user.plane_yaw, user.plane_tilt])
    return r.apply(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))


def _letter_points(kind: str, user: UserStyle, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Waypoints (u, v) of a polyline letter, in metres, with the user's style."""
    if kind == "wing":  # W: down, up, down, up
        uv = np.array([[-0.5, 0.5], [-0.25, -0.5], [0.0, 0.15], [0.25, -0.5], [0.5, 0.5]])
    elif kind == "slope":  # slanted stroke down-left, then a horizontal stroke right
        uv = np.array([[0.3, 0.5], [-0.3, -0.5], [0.45, -0.5]])
    else:  # pragma: no cover - guarded by make_motion
        raise ValueError(kind)
    uv = uv.copy()
    uv[:, 0] *= user.aspect
    uv[:, 0] += user.slant * uv[:, 1]
    uv += rng.normal(0.0, user.jitter, uv.shape)
    return uv * scale


def _letter(kind: str, user: UserStyle, rng: np.random.Generator, duration: float, scale: float) -> Motion:
    basis = _plane_basis(user)
    if kind == "ring":
        r = 0.5 * scale
        sign = 1.0 if user.ring_ccw else -1.0
        turn = 2.0 * math.pi * rng.uniform(0.95, 1.1)
        theta0 = math.pi / 2.0
        ax, ay = user.aspect * rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)

        def disp(t: np.ndarray) -> np.ndarray:
            th = theta0 + sign * turn * min_jerk(np.asarray(t) / duration)
            uv = np.stack([ax * r * np.cos(th), ay * r * (np.sin(th) - 1.0)], axis=-1)
            return uv @ basis

        return Motion("ring", duration, disp)
    uv = _letter_points(kind, user, rng, scale)
    pts = uv @ basis
    durs = _stroke_durations(pts, duration)
    ov = user.overlap
    # Rescale so that the overlapped strokes still last ``duration`` in total.
    starts_total = durs.sum() - ov * durs[:-1].sum()
    durs = durs * duration / starts_total
    disp, total = _strokes(pts, durs, ov)
    return Motion(kind, total, disp)


def _rot_about(axis: int, angle: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def rot(t: np.ndarray) -> np.ndarray:
        out = np.zeros((len(t), 3))
        out[:, axis] = angle(np.asarray(t, dtype=np.float64))
        return out

    return rot


def make_motion(kind: str, user: UserStyle, rng: np.random.Generator, *, negative_kind: str | None = None) -> Motion | None:
    """One performance of ``kind`` (a gesture, 'negative' or 'idle') by ``user``.

    Returns None for 'idle' (no motion beyond drift, sway and tremor).
    """
    if kind == "idle":
        return None
    tempo = user.tempo * rng.uniform(0.85, 1.15)
    size = user.size * rng.uniform(0.88, 1.12)
    letter = _LETTER_M * size
    if kind in ("wing", "ring", "slope"):
        return _letter(kind, user, rng, _DURATION[kind] * tempo, letter)
    if kind == "punch":
        reach = rng.uniform(0.18, 0.35) * size
        t_out = _DURATION["punch"] * tempo * rng.uniform(0.35, 0.5)
        t_back = _DURATION["punch"] * tempo - t_out
        direction = Rotation.from_euler("zx", rng.normal(0.0, [0.15, 0.15])).apply([0.0, 1.0, 0.0])
        pts = np.stack([np.zeros(3), reach * direction, np.zeros(3)])
        disp, total = _strokes(pts, np.array([t_out, t_back * 1.3]), 0.0)
        return Motion("punch", total, disp)
    if kind == "flex":
        phi_max = rng.uniform(1.2, 2.0)  # forearm lift, rad (70-115 deg)
        radius = rng.uniform(0.25, 0.33)
        d = _DURATION["flex"] * tempo
        t_up = d * rng.uniform(0.4, 0.55)

        def phi(t: np.ndarray) -> np.ndarray:
            return phi_max * (min_jerk(t / t_up) - min_jerk((t - t_up) / (d - t_up)))

        def disp(t: np.ndarray) -> np.ndarray:
            f = phi(np.asarray(t, dtype=np.float64))
            return np.stack([np.zeros_like(f), radius * (np.cos(f) - 1.0), radius * np.sin(f)], axis=-1)

        return Motion("flex", d, disp, _rot_about(0, phi))
    if kind == "shake":
        freq = rng.uniform(3.0, 5.5)
        cycles = int(rng.integers(3, 7))
        d = cycles / freq * max(tempo, 0.6) ** 0.3
        amp = rng.uniform(0.025, 0.06) * math.sqrt(size)
        k_yaw = rng.uniform(3.0, 8.0)  # wrist yaw per metre of shake

        def env(t: np.ndarray) -> np.ndarray:
            return np.sin(np.pi * np.clip(t / d, 0.0, 1.0)) ** 2

        def shake_x(t: np.ndarray) -> np.ndarray:
            t = np.asarray(t, dtype=np.float64)
            return amp * env(t) * np.sin(2.0 * np.pi * freq * np.clip(t, 0.0, d))

        def disp(t: np.ndarray) -> np.ndarray:
            x = shake_x(t)
            return np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=-1)

        return Motion("shake", d, disp, _rot_about(2, lambda t: -k_yaw * shake_x(t)))
    if kind == "negative":
        return _negative(negative_kind or str(rng.choice(NEGATIVE_KINDS)), user, rng, tempo, size)
    raise ValueError(f"unknown gesture kind {kind!r}")


def _negative(kind: str, user: UserStyle, rng: np.random.Generator, tempo: float, size: float) -> Motion:
    """Movements that are not gestures (they must not trigger a detection)."""
    if kind == "reach":  # 1-3 random 3-D strokes (reaching, pointing, putting down)
        m = int(rng.integers(1, 4))
        pts = np.vstack([np.zeros(3), np.cumsum(rng.normal(0.0, 0.15, (m, 3)) * size, axis=0)])
        total = rng.uniform(0.6, 1.4) * tempo * math.sqrt(m)
        disp, total = _strokes(pts, _stroke_durations(pts, total), rng.uniform(0.0, 0.4))
        return Motion("negative", total, disp)
    if kind == "walk":  # steps: vertical bounce and forward sway
        f = rng.uniform(1.6, 2.2)
        d = rng.uniform(1.5, 3.0) * tempo
        az, ax = rng.uniform(0.015, 0.04), rng.uniform(0.005, 0.02)

        def disp(t: np.ndarray) -> np.ndarray:
            t = np.asarray(t, dtype=np.float64)
            e = np.sin(np.pi * np.clip(t / d, 0.0, 1.0))
            ph = 2.0 * np.pi * f * np.clip(t, 0.0, d)
            return np.stack([ax * e * np.sin(ph / 2.0), np.zeros_like(t), az * e * np.sin(ph)], axis=-1)

        return Motion("negative", d, disp)
    if kind == "twist":  # wrist roll and back (turning a key, a door knob)
        ang = rng.uniform(0.6, 1.6) * rng.choice([-1.0, 1.0])
        d = rng.uniform(0.5, 1.2) * tempo
        half = d / 2.0
        return Motion(
            "negative", d, lambda t: np.zeros((len(t), 3)),
            _rot_about(1, lambda t: ang * (min_jerk(t / half) - min_jerk((t - half) / half))),
        )
    if kind == "stir":  # small circles in the horizontal plane (not the drawing plane)
        r = rng.uniform(0.03, 0.09) * size
        turns = rng.uniform(1.0, 3.0)
        d = turns * rng.uniform(0.5, 0.9) * tempo

        def disp(t: np.ndarray) -> np.ndarray:
            th = 2.0 * np.pi * turns * min_jerk(np.asarray(t) / d)
            return np.stack([r * (np.cos(th) - 1.0), r * np.sin(th), np.zeros_like(th)], axis=-1)

        return Motion("negative", d, disp)
    if kind == "tap":  # short jabs (tapping, knocking)
        n = int(rng.integers(1, 4))
        depth = rng.uniform(0.02, 0.06)
        direction = rng.normal(0.0, 1.0, 3)
        direction /= np.linalg.norm(direction)
        pts = np.zeros((2 * n + 1, 3))
        pts[1::2] = depth * direction
        disp, total = _strokes(pts, np.full(2 * n, rng.uniform(0.08, 0.15) * tempo), 0.0)
        return Motion("negative", total, disp)
    if kind == "lift":  # raise or lower the hand with a forearm rotation
        dz = rng.uniform(0.1, 0.35) * rng.choice([-1.0, 1.0]) * size
        pitch = rng.uniform(0.1, 0.6) * np.sign(dz)
        d = rng.uniform(0.6, 1.2) * tempo
        pts = np.array([[0.0, 0.0, 0.0], [rng.normal(0, 0.05), rng.normal(0, 0.05), dz]])
        disp, _ = _strokes(pts, np.array([d]), 0.0)
        return Motion("negative", d, disp, _rot_about(0, lambda t: pitch * min_jerk(t / d)))
    if kind == "wander":  # continuous random motion: waving, fidgeting, gesticulating
        d = rng.uniform(1.5, 4.0) * math.sqrt(tempo)
        k = 4
        freqs = rng.uniform(0.4, 3.5, (k, 3))
        acc_g = rng.uniform(0.05, 0.35, (k, 3)) * math.sqrt(size)  # acceleration amplitude per term, g
        amps = acc_g * G0 / (2.0 * np.pi * freqs) ** 2  # metres
        phases = rng.uniform(0.0, 2.0 * np.pi, (k, 3))
        r_freqs = rng.uniform(0.3, 2.0, (k, 3))
        r_amps = rng.uniform(0.05, 0.35, (k, 3))
        r_phases = rng.uniform(0.0, 2.0 * np.pi, (k, 3))
        ramp = min(0.3, d / 4.0)

        def env(t: np.ndarray) -> np.ndarray:
            return min_jerk(t / ramp) * min_jerk((d - t) / ramp)

        def osc(t, a, f, ph) -> np.ndarray:
            t = np.asarray(t, dtype=np.float64)
            s = np.einsum("kc,nkc->nc", a, np.sin(2.0 * np.pi * f[None] * t[:, None, None] + ph[None]))
            s0 = np.einsum("kc,kc->c", a, np.sin(ph))  # start from rest at the origin
            return (s - s0[None]) * env(np.clip(t, 0.0, d))[:, None]

        return Motion("negative", d, lambda t: osc(t, amps, freqs, phases),
                      lambda t: osc(t, r_amps, r_freqs, r_phases))
    if kind == "partial":  # the first third to half of a letter, then stop
        letter = str(rng.choice(["wing", "ring", "slope"]))
        full = make_motion(letter, user, rng)
        assert full is not None
        cut = full.duration * rng.uniform(0.3, 0.5)
        return Motion("negative", cut, lambda t, f=full.disp, c=cut: f(np.minimum(np.asarray(t, dtype=np.float64), c)))
    if kind == "reverse":  # a letter drawn backwards: the last stroke first, the ring the other way
        letter = str(rng.choice(["wing", "ring", "slope"]))
        full = make_motion(letter, user, rng)
        assert full is not None
        return _reversed(full)
    if kind == "swing":  # arm swinging while walking: a pendulum about the shoulder + step bounce
        f = rng.uniform(0.8, 1.1)  # Hz, one swing per two steps
        d = rng.uniform(2.0, 4.0)
        arm = rng.uniform(0.5, 0.7)  # shoulder to hand, m
        amp = rng.uniform(0.25, 0.6)  # swing amplitude, rad (15-35 deg)
        bounce = rng.uniform(0.01, 0.03)
        ramp = min(0.5, d / 4.0)

        def angle(t: np.ndarray) -> np.ndarray:
            t = np.clip(np.asarray(t, dtype=np.float64), 0.0, d)
            env = min_jerk(t / ramp) * min_jerk((d - t) / ramp)
            return amp * env * np.sin(2.0 * np.pi * f * t)

        def disp(t: np.ndarray) -> np.ndarray:
            a = angle(t)
            tc = np.clip(np.asarray(t, dtype=np.float64), 0.0, d)
            step = bounce * np.sin(4.0 * np.pi * f * tc) * min_jerk(tc / ramp) * min_jerk((d - tc) / ramp)
            return np.stack([np.zeros_like(a), arm * np.sin(a), arm * (1.0 - np.cos(a)) + step], axis=-1)

        return Motion("negative", d, disp, _rot_about(0, angle))
    raise ValueError(f"unknown negative kind {kind!r}; choose from {ALL_NEGATIVE_KINDS}")


def _reversed(motion: Motion) -> Motion:
    """``motion`` played backwards from where it ends: same path, opposite direction.

    The displacement starts at 0 (``disp_r(t) = disp(T - t) - disp(T)``), so the hand
    ends where the forward motion would have started.
    """
    d = motion.duration
    end = motion.disp(np.array([d]))[0]

    def disp(t: np.ndarray) -> np.ndarray:
        return motion.disp(d - np.clip(np.asarray(t, dtype=np.float64), 0.0, d)) - end

    rot = motion.rot
    rot_end = None if rot is None else rot(np.array([d]))[0]
    return Motion(
        "negative", d, disp,
        None if rot is None else (lambda t: rot(d - np.clip(np.asarray(t, dtype=np.float64), 0.0, d)) - rot_end),
    )


def return_motion(offset: np.ndarray, rng: np.random.Generator, tempo: float = 1.0) -> Motion:
    """Bring the hand back by ``-offset`` (m), slowly (after a gesture in a stream)."""
    offset = np.asarray(offset, dtype=np.float64)
    d = rng.uniform(0.8, 1.5) * tempo
    pts = np.stack([np.zeros(3), -offset])
    disp, _ = _strokes(pts, np.array([d]), 0.0)
    return Motion("return", d, disp)


# -- rendering ------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A motion placed on a timeline at ``start`` seconds."""

    start: float
    motion: Motion


@dataclass
class Render:
    """A rendered timeline at the IMU rate (ideal, noise-free physics).

    Attributes
    ----------
    t : [shape=(n,)] sample times (s), the centre of each sample's averaging period
    accel : [shape=(n, 3)] specific force in body axes (g), before the sensor model
    gyro : [shape=(n, 3)] body angular rate (rad/s), before the sensor model
    rotation : scipy Rotation of length n, body -> world, at ``t``
    position : [shape=(n, 3)] hand position (m) at ``t``
    """

    t: np.ndarray
    accel: np.ndarray
    gyro: np.ndarray
    rotation: Rotation
    position: np.ndarray


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float, f_lo: float, f_hi: float, k: int = 4) -> np.ndarray:
    """A smooth random signal per axis [shape=(n, 3)]: sum of ``k`` sinusoids."""
    freqs = rng.uniform(f_lo, f_hi, (k, 3))
    phases = rng.uniform(0.0, 2.0 * np.pi, (k, 3))
    amps = rng.normal(0.0, amp / math.sqrt(k), (k, 3))
    return np.einsum("kc,nkc->nc", amps, np.sin(2.0 * np.pi * freqs[None] * t[:, None, None] + phases[None]))


def render(
    segments: list[Segment],
    user: UserStyle,
    rng: np.random.Generator,
    *,
    duration: float,
    sample_rate: float,
    oversample: int = 4,
    sway_m: float = 0.01,
    still: bool = False,
) -> Render:
    """Render motion segments into ideal accelerometer and gyroscope signals.

    Parameters
    ----------
    segments : motions placed on the timeline (they may overlap; displacements add)
    user : the performer (grip, drift, tremor, wrist coupling)
    duration : length of the output in seconds; ``n = round(duration * sample_rate)``
    sample_rate : IMU output rate in Hz
    oversample : internal grid factor (each output sample averages this many)
    sway_m : amplitude of slow body sway (m)
    still : no drift, sway or tremor (for physics tests)
    """
    n = round(duration * sample_rate)
    if n < 1:
        raise ValueError(f"duration={duration} s at {sample_rate} Hz gives no samples")
    os_ = int(oversample)
    dt = 1.0 / (sample_rate * os_)
    pad = 2 * os_
    # Internal grid: sample k of the output averages internal points [k*os, (k+1)*os).
    m = n * os_ + 2 * pad
    ti = (np.arange(m) - pad + 0.5) * dt
    pos = np.zeros((m, 3))
    rot_extra = np.zeros((m, 3))
    for seg in segments:
        mot = seg.motion
        tl = ti - seg.start
        inside = (tl > 0) & (tl < mot.duration)
        after = tl >= mot.duration
        if inside.any():
            pos[inside] += mot.disp(tl[inside])
            if mot.rot is not None:
                rot_extra[inside] += mot.rot(tl[inside])
        if after.any():
            pos[after] += mot.disp(np.array([mot.duration]))[0]
            if mot.rot is not None:
                rot_extra[after] += mot.rot(np.array([mot.duration]))[0]
    if not still:
        pos += _smooth_noise(rng, ti, sway_m, 0.05, 0.4)
        pos += _smooth_noise(rng, ti, 3e-5, 8.0, 12.0, k=3)
    c_pitch, c_roll, c_yaw = user.coupling
    rv = rot_extra.copy()
    rv[:, 0] += c_pitch * pos[:, 2]  # raising the hand pitches the device up
    rv[:, 1] += c_roll * pos[:, 0]
    rv[:, 2] -= c_yaw * pos[:, 0]  # moving right turns it right
    if not still:
        rv += _smooth_noise(rng, ti, user.drift_rad, 0.02, 0.3)
        rv += _smooth_noise(rng, ti, user.tremor_rad, 7.0, 12.0, k=3)
    rot = Rotation.from_rotvec(rv) * Rotation.from_rotvec(np.asarray(user.base_rotvec))
    acc_w = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)
    f_w = acc_w / G0 + np.array([0.0, 0.0, 1.0])
    f_b = rot.inv().apply(f_w)
    # Body rate from the orientation: R(t-dt)^T R(t+dt) = exp(w_b * 2 dt).
    w_b = np.zeros((m, 3))
    w_b[1:-1] = (rot[:-2].inv() * rot[2:]).as_rotvec() / (2.0 * dt)
    core = slice(pad, pad + n * os_)

    def decimate(a: np.ndarray) -> np.ndarray:
        return a[core].reshape(n, os_, 3).mean(axis=1)

    centre = np.arange(n) * os_ + pad + (os_ - 1) / 2.0
    t_out = (centre - pad + 0.5) * dt
    # Orientation and position at each output sample's centre (nearest internal point).
    idx = np.round(centre).astype(int)
    return Render(
        t=t_out,
        accel=decimate(f_b),
        gyro=decimate(w_b),
        rotation=rot[idx],
        position=pos[idx],
    )


def sensor_readings(ideal: Render, sensor: SensorModel, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Apply the sensor model; return ``(accel [g], gyro [rad/s])``, each (n, 3) float32."""

    def apply(x: np.ndarray, bias, scale, noise, resolution, full_scale) -> np.ndarray:
        y = x * np.asarray(scale) + np.asarray(bias)
        if noise > 0:
            y = y + rng.normal(0.0, noise, y.shape)
        if resolution > 0:
            y = np.round(y / resolution) * resolution
        return np.clip(y, -full_scale, full_scale).astype(np.float32)

    a = apply(ideal.accel, sensor.accel_bias, sensor.accel_scale, sensor.accel_noise,
              sensor.accel_resolution, sensor.accel_range)
    g = apply(ideal.gyro, sensor.gyro_bias, sensor.gyro_scale, sensor.gyro_noise,
              sensor.gyro_resolution, sensor.gyro_range)
    return a, g


def replace_user(user: UserStyle, **changes) -> UserStyle:
    """A copy of ``user`` with some fields changed (e.g. no drift for tests)."""
    return dataclasses.replace(user, **changes)


def time_scaled(motion: Motion, factor: float) -> Motion:
    """The same motion played ``factor`` times slower (``factor < 1``: faster)."""
    if factor <= 0:
        raise ValueError(f"factor={factor} must be > 0")
    rot = motion.rot
    return Motion(
        motion.kind,
        motion.duration * factor,
        lambda t: motion.disp(np.asarray(t, dtype=np.float64) / factor),
        None if rot is None else (lambda t: rot(np.asarray(t, dtype=np.float64) / factor)),
    )
