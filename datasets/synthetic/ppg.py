"""Wrist PPG + 3-axis accelerometer simulator, and the shared heart-rate windowing.

The offline default dataset of the heart_rate app (``dataset=ppg_sim``). Each simulated
subject follows an activity protocol (rest, walking, running, aperiodic arm movement, and
the SPC 2015 test protocol's exercises: forearm and upper-arm exercise, jumping,
push-ups, boxing; and the transitions between them). The simulator models, in this order:

1. **Heart-rate trajectory**: a resting rate per subject, a target per activity, a
   first-order lag towards the target (faster up than down) and a slow random drift.
2. **Beat-to-beat variability**: RR intervals with respiratory sinus arrhythmia, a
   0.1 Hz (LF) component and jitter, all shrinking with exercise intensity.
3. **Pulse shape**: per beat, a systolic and a diastolic (dicrotic) Gaussian wave on
   the beat's phase axis; the diastolic wave shrinks as the rate rises.
4. **Respiratory modulation** of the pulse amplitude and of the baseline, and
   **baseline wander** (low-pass random walk).
5. **Motion**: a 3-axis accelerometer (in g) with gravity on a slowly rotating wrist,
   arm swing at half the step cadence with harmonics (so the 2nd arm harmonic sits on
   the step cadence, which during running sits near the heart rate) and step impacts;
   aperiodic arm movement as band-limited noise; the exercises as a periodic movement at
   their own rate (forearm 0.5-1.5 Hz, upper arm 0.3-1 Hz, jumping 1.5-2.5 Hz, push-ups
   0.3-0.7 Hz, boxing 1-2.5 Hz with an irregular rhythm): linear acceleration with
   harmonics, a rotation of the wrist that turns gravity between the axes, and impacts
   (jumping, punches). Push-ups move the wrist little (the hand is on the floor, the
   forearm tilts) but press on it: a strong artefact behind weak ACC lines. The PPG motion
   artefact is a per-subject linear + quadratic coupling of the dynamic acceleration
   (gravity rotation included), scaled per activity segment to that activity's
   artefact-to-pulse ratio.
6. **Sensor noise** (white) and **saturation** (the PPG is clipped to an ADC range).

The reference heart rate of a window is ``60 / mean(RR)`` over the beat intervals that
lie wholly inside it (how ECG-derived references such as SPC 2015's ``BPM0`` are made).
Everything is deterministic for a seed.

This module also holds :class:`HrRecording` and :func:`recordings_to_splits`, which the
real-format PPG loaders (SPC 2015, PPG-DaLiA, CSV) share: every PPG dataset of the app
yields windows ``x[i] = (ppg, acc_x, acc_y, acc_z)`` at the same rate, split by subject.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from tinyml_suite.common.data import Dataset, DataSplits, Split
from tinyml_suite.common.dsp import ImuWindowParams, imu_windows
from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = [
    "ACTIVITIES",
    "EXERCISES",
    "PROTOCOLS",
    "PPG_CHANNELS",
    "SimRecording",
    "simulate_wrist_ppg",
    "random_protocol",
    "window_reference_bpm",
    "HrRecording",
    "recordings_to_splits",
    "AUGMENT_ACTIVITIES",
    "add_synthetic_motion",
    "augment_options",
    "PpgSim",
]

log = logging.getLogger(__name__)

#: Activity codes (``meta['activity']``); -1 means unknown (real data without labels).
ACTIVITIES: tuple[str, ...] = ("rest", "walk", "run", "arm", "forearm", "upper_arm", "jump", "pushup", "boxing")
#: The SPC 2015 test protocol's exercises (Zhang et al. 2015: forearm and upper-arm
#: exercise, running, jumping, push-ups; intensive arm movements such as boxing).
EXERCISES: tuple[str, ...] = ("forearm", "upper_arm", "jump", "pushup", "boxing")
#: Channel order of every PPG dataset of the heart_rate app.
PPG_CHANNELS: tuple[str, ...] = ("ppg", "acc_x", "acc_y", "acc_z")

# Per activity: heart-rate rise over rest (BPM range), step cadence (Hz range),
# arm-swing acceleration (g range), impact acceleration (g range), artefact-to-pulse
# amplitude ratio range, respiration rate (Hz range), exercise intensity (0..1); for the
# exercises also the movement rate (Hz range) and the wrist rotation (rad range).
_ACT = {
    "rest": dict(rise=(0, 5), cadence=(0, 0), swing=(0, 0), impact=(0, 0), artefact=(0.0, 0.1), resp=(0.2, 0.3), intensity=0.0),
    "walk": dict(rise=(20, 40), cadence=(1.6, 2.0), swing=(0.15, 0.45), impact=(0.05, 0.25), artefact=(0.2, 0.8), resp=(0.3, 0.4), intensity=0.4),
    "run": dict(rise=(55, 100), cadence=(2.4, 2.9), swing=(0.5, 1.4), impact=(0.3, 1.2), artefact=(0.4, 1.3), resp=(0.45, 0.65), intensity=1.0),
    "arm": dict(rise=(5, 20), cadence=(0, 0), swing=(0.15, 0.5), impact=(0, 0), artefact=(0.3, 1.0), resp=(0.25, 0.35), intensity=0.2),
    "forearm": dict(rise=(5, 25), cadence=(0, 0), swing=(0.1, 0.4), impact=(0, 0), artefact=(0.7, 1.8), resp=(0.25, 0.4), intensity=0.3,
                    rate=(0.5, 1.5), rotation=(0.6, 1.4)),
    "upper_arm": dict(rise=(10, 35), cadence=(0, 0), swing=(0.15, 0.5), impact=(0, 0), artefact=(0.5, 1.4), resp=(0.3, 0.45), intensity=0.4,
                      rate=(0.3, 1.0), rotation=(0.8, 1.6)),
    "jump": dict(rise=(50, 90), cadence=(0, 0), swing=(0.3, 1.0), impact=(0.8, 2.5), artefact=(0.5, 1.5), resp=(0.45, 0.65), intensity=0.9,
                 rate=(1.5, 2.5), rotation=(0.2, 0.6)),
    "pushup": dict(rise=(30, 60), cadence=(0, 0), swing=(0.02, 0.08), impact=(0, 0), artefact=(0.6, 1.6), resp=(0.35, 0.55), intensity=0.7,
                   rate=(0.3, 0.7), rotation=(0.2, 0.5)),
    "boxing": dict(rise=(40, 80), cadence=(0, 0), swing=(0.5, 1.5), impact=(0.5, 2.0), artefact=(1.0, 2.2), resp=(0.45, 0.65), intensity=0.8,
                   rate=(1.0, 2.5), rotation=(0.3, 0.8)),
}


@dataclasses.dataclass
class SimRecording:
    """One simulated recording.

    Attributes
    ----------
    ppg : [shape=(n,), float32] wrist PPG (arbitrary units, pulse amplitude about 1)
    acc : [shape=(3, n), float32] accelerometer in g
    hr_bpm : [shape=(n,), float32] instantaneous heart rate, ``60 / RR`` of the current beat
    beats : [shape=(n_beats,), float64] beat onset times in seconds
    activity : [shape=(n,), int8] activity code per sample (index into ``ACTIVITIES``)
    cadence_hz : [shape=(n,), float32] step cadence per sample (0 when not stepping)
    sample_rate : float, Hz
    """

    ppg: np.ndarray
    acc: np.ndarray
    hr_bpm: np.ndarray
    beats: np.ndarray
    activity: np.ndarray
    cadence_hz: np.ndarray
    sample_rate: float


#: Protocol families of :func:`random_protocol`.
PROTOCOLS: tuple[str, ...] = ("mixed", "gait", "exercise")


def random_protocol(duration_s: float, rng: np.random.Generator, kind: str = "mixed") -> list[tuple[str, float]]:
    """A random activity protocol: rest first, then activities of 40-150 s.

    ``kind``: ``"gait"`` (rest, walking, running, aperiodic arm movement; every protocol
    with room for it walks then runs, so each subject shows a cadence harmonic near the
    heart rate), ``"exercise"`` (the SPC 2015 test protocol: rest, then the exercises of
    :data:`EXERCISES` in random order, with rests and runs between them) or ``"mixed"``
    (walk, run and two exercises first, then any activity). Running is always entered
    from walking (a warm-up).

    Examples
    --------
    >>> p = random_protocol(300.0, np.random.default_rng(0))
    >>> p[0][0], round(sum(d for _, d in p), 6)
    ('rest', 300.0)
    >>> sorted({a for a, _ in random_protocol(900.0, np.random.default_rng(1), "exercise")} - {"rest", "walk", "run"})
    ['boxing', 'forearm', 'jump', 'pushup', 'upper_arm']
    """
    if duration_s <= 0:
        raise ConfigError(f"duration_s={duration_s} must be > 0 seconds")
    if kind not in PROTOCOLS:
        raise ConfigError(f"protocol kind {kind!r} is unknown; choose from {', '.join(PROTOCOLS)}")
    out: list[tuple[str, float]] = [("rest", float(rng.uniform(30, 60)))]
    pool = ("rest", "walk", "run", "arm") if kind == "gait" else (*ACTIVITIES,) if kind == "mixed" else ("rest", "walk", "run", *EXERCISES)
    if kind == "gait":
        core = ["walk", "run"]
    elif kind == "mixed":
        core = ["walk", "run", *(str(a) for a in rng.choice(EXERCISES, 2, replace=False))]
    else:
        core = [str(a) for a in rng.permutation(EXERCISES)]
        core = [a for pair in zip(core, ["rest"] * len(core)) for a in pair]
    while sum(d for _, d in out) < duration_s:
        if core:
            act = core.pop(0)
            if act == "rest" and kind == "exercise":
                out.append((act, float(rng.uniform(15, 40))))
                continue
        else:
            prev = out[-1][0]
            choices = [a for a in pool if a != prev]
            if prev != "walk":
                choices = [a for a in choices if a != "run"] or ["walk"]
            act = str(rng.choice(choices))
        out.append((act, float(rng.uniform(40, 150))))
    # trim to the requested duration
    total = 0.0
    trimmed = []
    for act, d in out:
        d = min(d, duration_s - total)
        if d <= 0:
            break
        trimmed.append((act, d))
        total += d
    return trimmed


def _lowpass_noise(rng: np.random.Generator, n: int, fs: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Unit-std Gaussian noise low-passed below ``cutoff_hz`` (zero-phase)."""
    white = rng.standard_normal(n + int(4 * fs / max(cutoff_hz, 1e-3)))
    sos = scipy.signal.butter(order, min(cutoff_hz, 0.45 * fs), fs=fs, output="sos")
    y = scipy.signal.sosfiltfilt(sos, white)[-n:]
    return y / (np.std(y) + 1e-12)


def _bandpass_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float) -> np.ndarray:
    white = rng.standard_normal(n + int(4 * fs))
    sos = scipy.signal.butter(2, (lo, min(hi, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    y = scipy.signal.sosfiltfilt(sos, white)[-n:]
    return y / (np.std(y) + 1e-12)


def simulate_wrist_ppg(
    duration_s: float,
    *,
    sample_rate: float = 32.0,
    rng: np.random.Generator | int = 0,
    protocol: Sequence[tuple[str, float]] | None = None,
    artefact_scale: float = 1.0,
    noise_std: float = 0.03,
    protocol_kind: str = "mixed",
) -> SimRecording:
    """Simulate one wrist PPG + accelerometer recording.

    Parameters
    ----------
    duration_s : float > 0
        Length in seconds (ignored when ``protocol`` is given: its durations add up).
    sample_rate : float >= 16
        Output rate in Hz (every component is computed in continuous time and sampled).
    rng : Generator or int
        Random generator or seed; the recording is a deterministic function of it.
    protocol : list of (activity, seconds), optional
        Activities from ``ACTIVITIES``; default :func:`random_protocol`.
    artefact_scale : float >= 0
        Multiplies the PPG motion artefact (0 gives a motion-free PPG with the same
        accelerometer), for tests and for curriculum experiments.
    noise_std : float >= 0
        Sensor white noise, relative to the pulse amplitude.
    protocol_kind : {'mixed', 'gait', 'exercise'}
        The family of the random protocol when ``protocol`` is not given.

    Returns
    -------
    SimRecording

    Examples
    --------
    >>> r = simulate_wrist_ppg(60.0, rng=1, protocol=[("rest", 60.0)])
    >>> r.ppg.shape, r.acc.shape, 45 < float(r.hr_bpm.mean()) < 95
    ((1920,), (3, 1920), True)
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    fs = float(sample_rate)
    if not fs >= 16.0:
        raise ConfigError(f"sample_rate={sample_rate} must be >= 16 Hz (the pulse has harmonics up to 8 Hz)")
    if artefact_scale < 0 or noise_std < 0:
        raise ConfigError("artefact_scale and noise_std must be >= 0")
    if protocol is None:
        protocol = random_protocol(float(duration_s), rng, protocol_kind)
    for act, d in protocol:
        if act not in _ACT:
            raise ConfigError(f"protocol activity {act!r} is unknown; choose from {', '.join(ACTIVITIES)}")
        if not d > 0:
            raise ConfigError(f"protocol duration {d} for {act!r} must be > 0 seconds")
    total = float(sum(d for _, d in protocol))
    n = int(round(total * fs))
    t = np.arange(n) / fs

    # -- subject constants ---------------------------------------------------------
    hr_rest = rng.uniform(55, 80)
    tau_up, tau_down = rng.uniform(15, 35), rng.uniform(35, 70)
    dicrotic = rng.uniform(0.25, 0.6)
    sys_phase, sys_width = rng.uniform(0.16, 0.24), rng.uniform(0.07, 0.10)
    dia_gap, dia_width = rng.uniform(0.22, 0.32), rng.uniform(0.09, 0.14)
    rsa = rng.uniform(0.03, 0.07)

    # -- activity schedule (per sample) --------------------------------------------
    act_idx = np.zeros(n, dtype=np.int8)
    target = np.zeros(n)
    cadence_target = np.zeros(n)
    swing_amp = np.zeros(n)
    impact_amp = np.zeros(n)
    art_amp = np.zeros(n)
    resp_target = np.zeros(n)
    intensity = np.zeros(n)
    ex_rate = np.zeros(n)  # exercise movement rate (Hz), 0 outside the exercises
    ex_rot = np.zeros(n)  # wrist rotation amplitude (rad)
    bounds = []
    start = 0
    for act, d in protocol:
        stop = min(n, start + int(round(d * fs)))
        spec = _ACT[act]
        act_idx[start:stop] = ACTIVITIES.index(act)
        target[start:stop] = min(hr_rest + rng.uniform(*spec["rise"]), 190.0)
        cadence_target[start:stop] = rng.uniform(*spec["cadence"]) if spec["cadence"][1] else 0.0
        swing_amp[start:stop] = rng.uniform(*spec["swing"]) if spec["swing"][1] else 0.0
        impact_amp[start:stop] = rng.uniform(*spec["impact"]) if spec["impact"][1] else 0.0
        art_amp[start:stop] = rng.uniform(*spec["artefact"])
        resp_target[start:stop] = rng.uniform(*spec["resp"])
        intensity[start:stop] = spec["intensity"]
        if "rate" in spec:
            ex_rate[start:stop] = rng.uniform(*spec["rate"])
            ex_rot[start:stop] = rng.uniform(*spec["rotation"])
        bounds.append((start, stop))
        start = stop

    # -- heart-rate trajectory: first-order lag to the target + slow drift ---------
    ctrl_fs = 4.0
    k = max(1, int(round(fs / ctrl_fs)))
    tc = t[::k]
    tgt = target[::k]
    hr = np.empty_like(tgt)
    hr[0] = hr_rest
    dt = k / fs
    for i in range(1, len(tgt)):
        tau = tau_up if tgt[i] > hr[i - 1] else tau_down
        hr[i] = hr[i - 1] + (tgt[i] - hr[i - 1]) * (1 - np.exp(-dt / tau))
    hr += 3.0 * _lowpass_noise(rng, len(hr), ctrl_fs, 0.01)
    hr = np.clip(hr, 40.0, 200.0)
    # smooth per-sample profiles (activity changes ramp over a few seconds)
    ramp = max(3, int(4.0 * ctrl_fs))
    kern = np.ones(ramp) / ramp

    def smooth(v: np.ndarray) -> np.ndarray:
        vc = v[::k]
        pad = np.pad(vc, (ramp, ramp), mode="edge")
        return np.interp(t, tc, np.convolve(pad, kern, mode="same")[ramp:-ramp])

    hr_cont = np.interp(t, tc, hr)
    cadence = smooth(cadence_target) * (1 + 0.02 * _lowpass_noise(rng, n, fs, 0.05))
    swing = smooth(swing_amp)
    impact = smooth(impact_amp)
    art = smooth(art_amp) * artefact_scale
    resp_f = smooth(resp_target)
    inten = smooth(intensity)
    resp_phase = 2 * np.pi * np.cumsum(resp_f) / fs + rng.uniform(0, 2 * np.pi)

    # -- beats: RR from the trajectory + RSA + LF + jitter -------------------------
    lf_phase0 = rng.uniform(0, 2 * np.pi)
    beats = [rng.uniform(0, 0.5)]
    while beats[-1] < total + 2.0:
        tb = beats[-1]
        i = min(n - 1, int(tb * fs))
        var_scale = 1.0 - 0.75 * inten[i]
        rr = 60.0 / hr_cont[i]
        rr *= 1 + var_scale * (rsa * np.sin(resp_phase[i]) + 0.02 * np.sin(2 * np.pi * 0.1 * tb + lf_phase0))
        rr *= 1 + 0.01 * var_scale * rng.standard_normal()
        beats.append(tb + max(rr, 0.28))
    beats_arr = np.asarray(beats)
    rr_arr = np.diff(beats_arr)
    idx = np.searchsorted(beats_arr, t, side="right") - 1
    valid = idx >= 0
    idx_c = np.clip(idx, 0, len(rr_arr) - 1)
    phase = np.where(valid, (t - beats_arr[idx_c]) / rr_arr[idx_c], 0.0)
    hr_inst = 60.0 / rr_arr[idx_c]

    # -- pulse shape: systolic + diastolic Gaussians, continuous at beat edges -----
    beat_amp = 1.0 + 0.05 * rng.standard_normal(len(rr_arr))
    beat_hr = 60.0 / rr_arr
    beat_dic = dicrotic * np.clip(1.2 - (beat_hr - 60.0) / 100.0, 0.25, 1.2)

    def pulse(ph: np.ndarray, dic: np.ndarray) -> np.ndarray:
        s = np.exp(-0.5 * ((ph - sys_phase) / sys_width) ** 2)
        d = dic * np.exp(-0.5 * ((ph - sys_phase - dia_gap) / dia_width) ** 2)
        return s + d

    dic_s = beat_dic[idx_c]
    p0 = pulse(np.zeros(n), dic_s)
    p1 = pulse(np.ones(n), dic_s)
    wave = pulse(phase, dic_s) - (p0 + (p1 - p0) * phase)
    wave = np.where(valid, wave, 0.0)
    am = 1.0 + rng.uniform(0.08, 0.2) * np.sin(resp_phase)
    ppg_clean = wave * beat_amp[idx_c] * am
    ppg_clean += rng.uniform(0.05, 0.2) * np.sin(resp_phase + 0.5)  # respiratory baseline
    ppg_clean += rng.uniform(0.2, 0.6) * _lowpass_noise(rng, n, fs, 0.08)  # baseline wander

    # -- accelerometer: gravity on a rotating wrist + arm swing + impacts ----------
    g_dir = rng.standard_normal(3)
    g_dir /= np.linalg.norm(g_dir)
    drift = np.stack([_lowpass_noise(rng, n, fs, 0.02) for _ in range(3)]) * 0.3
    gravity = g_dir[:, None] + drift
    gravity /= np.linalg.norm(gravity, axis=0, keepdims=True)
    arm_f = cadence / 2.0
    arm_phase = 2 * np.pi * np.cumsum(arm_f) / fs + rng.uniform(0, 2 * np.pi)
    motion = np.zeros((3, n))
    harm_gain = np.array([1.0, 0.45, 0.2, 0.1])
    for axis in range(3):
        axis_gain = rng.uniform(0.3, 1.0)
        for h, hg in enumerate(harm_gain, start=1):
            motion[axis] += axis_gain * hg * rng.uniform(0.5, 1.0) * np.cos(h * arm_phase + rng.uniform(0, 2 * np.pi))
    motion *= swing
    step_phase = np.mod(2 * arm_phase, 2 * np.pi)  # steps at twice the arm rate
    impulse = np.exp(-0.5 * ((step_phase - np.pi) / 0.25) ** 2)
    impulse -= impulse.mean()
    imp_gain = rng.uniform(0.3, 1.0, 3)
    motion += imp_gain[:, None] * impulse * impact
    # aperiodic arm movement (activity "arm"), and a little tremor everywhere
    arm_mask = smooth((act_idx == ACTIVITIES.index("arm")).astype(float))
    if arm_mask.any():
        motion += np.stack([_bandpass_noise(rng, n, fs, 0.3, 3.0) for _ in range(3)]) * 0.35 * arm_mask * swing / np.maximum(swing.max(), 1e-9)
    # the exercises: periodic movement at their own rate (boxing: an irregular rhythm)
    if np.any(ex_rate > 0):
        ex_mask = smooth((ex_rate > 0).astype(float))
        motion *= 1.0 - ex_mask  # gait swing/impacts only outside the exercises
        boxing = smooth((act_idx == ACTIVITIES.index("boxing")).astype(float))
        rate = smooth(ex_rate) * (1 + (0.03 + 0.3 * boxing) * _lowpass_noise(rng, n, fs, 0.3))
        ex_phase = 2 * np.pi * np.cumsum(np.maximum(rate, 0.05)) / fs + rng.uniform(0, 2 * np.pi)
        lin = np.zeros((3, n))
        for axis in range(3):
            axis_gain = rng.uniform(0.3, 1.0)
            for h, hg in enumerate((1.0, 0.6, 0.3, 0.15), start=1):
                lin[axis] += axis_gain * hg * rng.uniform(0.5, 1.0) * np.cos(h * ex_phase + rng.uniform(0, 2 * np.pi))
        hit = np.exp(-0.5 * ((np.mod(ex_phase, 2 * np.pi) - np.pi) / 0.2) ** 2)
        hit -= hit.mean()
        motion += (lin * smooth(swing_amp) + rng.uniform(0.3, 1.0, 3)[:, None] * hit * impact) * ex_mask
        # wrist rotation about a random axis turns gravity between the axes (Rodrigues)
        u = rng.standard_normal(3)
        u /= np.linalg.norm(u)
        theta = smooth(ex_rot) * ex_mask * (np.sin(ex_phase + rng.uniform(0, 2 * np.pi)) + 0.3 * np.sin(2 * ex_phase))
        cos_t, sin_t = np.cos(theta), np.sin(theta)
        cross = np.cross(u[:, None], gravity, axis=0)
        dot = (u[:, None] * gravity).sum(0)
        rotated = gravity * cos_t + cross * sin_t + u[:, None] * dot * (1 - cos_t)
        motion += rotated - gravity
    motion += 0.005 * rng.standard_normal((3, n))
    acc = gravity + motion

    # -- PPG motion artefact: per-subject linear + quadratic coupling --------------
    c_lin = rng.standard_normal(3)
    c_quad = 0.3 * rng.standard_normal(3)
    art_raw = (c_lin[:, None] * motion).sum(0) + (c_quad[:, None] * motion**2).sum(0)
    sos = scipy.signal.butter(2, (0.3, min(6.0, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    art_raw = scipy.signal.sosfilt(sos, art_raw)
    # Normalise the coupling per activity segment so that `art` is that activity's
    # artefact-to-pulse amplitude ratio (a push-up's weak wrist motion still presses hard).
    for a, b in bounds:
        seg_std = float(np.std(art_raw[a:b])) if b - a > fs else 0.0
        art_raw[a:b] /= max(seg_std, 1e-3)
    ppg = ppg_clean + art * art_raw * 0.35
    ppg += noise_std * rng.standard_normal(n)
    # saturation: an ADC range a few pulse amplitudes wide around the clean signal's mean
    center = float(np.mean(ppg_clean))
    ppg = np.clip(ppg, center - 3.0, center + 3.0)
    acc = np.clip(acc, -8.0, 8.0)

    return SimRecording(
        ppg=ppg.astype(np.float32),
        acc=acc.astype(np.float32),
        hr_bpm=hr_inst.astype(np.float32),
        beats=beats_arr[beats_arr < total],
        activity=act_idx,
        cadence_hz=cadence.astype(np.float32),
        sample_rate=fs,
    )


def window_reference_bpm(beats: np.ndarray, starts_s: np.ndarray, window_s: float) -> np.ndarray:
    """Reference HR per window: ``60 / mean(RR)`` of the beat intervals inside it.

    Parameters
    ----------
    beats : [shape=(n_beats,)] beat times in seconds, increasing
    starts_s : [shape=(n_windows,)] window start times in seconds
    window_s : window length in seconds

    Returns
    -------
    [shape=(n_windows,), float32] BPM (NaN where a window holds fewer than 2 beats)

    Examples
    --------
    >>> window_reference_bpm(np.arange(0, 20, 0.75), np.array([0.0, 2.0]), 8.0).round(3).tolist()
    [80.0, 80.0]
    """
    b = np.asarray(beats, dtype=np.float64)
    out = np.full(len(starts_s), np.nan, dtype=np.float64)
    for i, s in enumerate(np.asarray(starts_s, dtype=np.float64)):
        lo, hi = np.searchsorted(b, s, side="left"), np.searchsorted(b, s + window_s, side="right")
        if hi - lo >= 2:
            out[i] = 60.0 * (hi - lo - 1) / (b[hi - 1] - b[lo])
    return out.astype(np.float32)


# -- training augmentation: synthetic motion on real windows ----------------------------

#: Activities :func:`add_synthetic_motion` draws from by default: the test protocol's
#: exercises and running.
AUGMENT_ACTIVITIES: tuple[str, ...] = (*EXERCISES, "run")


def _bandpassed_std(x: np.ndarray, fs: float) -> np.ndarray:
    sos = scipy.signal.butter(2, (0.5, min(4.0, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    return scipy.signal.sosfiltfilt(sos, np.asarray(x, np.float64), axis=-1).std(axis=-1)


def add_synthetic_motion(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: float,
    activities: Sequence[str] = AUGMENT_ACTIVITIES,
    artefact: tuple[float, float] = (0.5, 1.5),
    bank_size: int = 8,
) -> np.ndarray:
    """Real windows with simulated arm motion added, consistently to the PPG and the ACC.

    Each activity of ``activities`` is simulated ``bank_size`` times (fresh subjects, one
    minute each, :func:`simulate_wrist_ppg`), each twice from the same seed, with and
    without the PPG artefact: the difference is the artefact, the simulated accelerometer
    minus its mean is the motion. For each window ``x[i] = (ppg, acc_x, acc_y, acc_z)``
    one of those recordings is drawn and cut at a random offset. The motion is
    added to the ACC channels (gravity stays the real one) and the artefact, scaled by
    the window's pulse amplitude (band-passed PPG std, relative to the simulated clean
    PPG's) times a ratio drawn from ``artefact``, to the PPG. The reference heart rate is
    unchanged: the model sees motion lines that the ACC explains on top of a real pulse,
    and learns to ignore them.

    Parameters
    ----------
    x : np.ndarray [shape=(n, 4, samples)]
        Windows at ``sample_rate`` (ACC in g).
    rng : np.random.Generator
    sample_rate : float
    activities : sequence of str
        Names from :data:`ACTIVITIES` (not "rest").
    artefact : (float, float)
        Range of the artefact-to-pulse ratio multiplier.

    Returns
    -------
    np.ndarray [shape=(n, 4, samples), float32]

    Examples
    --------
    >>> w = simulate_wrist_ppg(30.0, rng=0, protocol=[("rest", 30.0)])
    >>> x = np.concatenate([w.ppg[None], w.acc])[None, :, :256]
    >>> y = add_synthetic_motion(x, np.random.default_rng(1), sample_rate=32.0, activities=["jump"])
    >>> y.shape, float(y[0, 1:].std(axis=-1).max()) > 5 * float(x[0, 1:].std(axis=-1).max())
    ((1, 4, 256), True)
    """
    x = np.asarray(x, np.float32)
    if x.ndim != 3 or x.shape[1] != len(PPG_CHANNELS):
        raise ConfigError(f"x has shape {x.shape}; expected (n, 4, samples) = (ppg, acc_x, acc_y, acc_z) windows")
    acts = [str(a) for a in activities]
    bad = [a for a in acts if a not in _ACT or a == "rest"]
    if not acts or bad:
        raise ConfigError(f"augmentation activities {bad or acts} are not motions; choose from {', '.join(ACTIVITIES[1:])}")
    lo, hi = (float(v) for v in artefact)
    if not 0 <= lo <= hi:
        raise ConfigError(f"artefact={artefact} must be a range 0 <= low <= high")
    if int(bank_size) < 1:
        raise ConfigError(f"bank_size={bank_size} must be >= 1")
    fs = float(sample_rate)
    n_t = x.shape[-1]
    lead, seconds = 6.0, max(60.0, 4 * n_t / fs)  # the activity ramps in over the first seconds
    # a bank of simulated recordings per activity (fresh subjects), cut at random offsets
    bank: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = {}
    for act in acts:
        for _ in range(bank_size):
            seed = int(rng.integers(2**31))
            proto = [(act, seconds + lead)]
            moving = simulate_wrist_ppg(0.0, sample_rate=fs, rng=seed, protocol=proto)
            still = simulate_wrist_ppg(0.0, sample_rate=fs, rng=seed, protocol=proto, artefact_scale=0.0)
            start = int(lead * fs)
            art = (moving.ppg - still.ppg)[start:]
            sim_pulse = float(np.median(_bandpassed_std(
                np.stack([still.ppg[start + k : start + k + n_t] for k in range(0, len(art) - n_t + 1, n_t)]), fs)))
            bank.setdefault(act, []).append((art, moving.acc[:, start:], sim_pulse))
    out = x.copy()
    pulse = _bandpassed_std(x[:, 0], fs)
    for i in range(len(x)):
        art, acc, sim_pulse = bank[acts[int(rng.integers(len(acts)))]][int(rng.integers(bank_size))]
        k = int(rng.integers(len(art) - n_t + 1))
        scale = float(pulse[i]) / max(sim_pulse, 1e-6) * rng.uniform(lo, hi)
        a = acc[:, k : k + n_t]
        out[i, 0] += (art[k : k + n_t] * scale).astype(np.float32)
        out[i, 1:] += (a - a.mean(axis=1, keepdims=True)).astype(np.float32)
    return out


def augment_options(options: dict[str, Any]) -> dict[str, Any]:
    """Pop a PPG dataset's ``augment_*`` options into :func:`recordings_to_splits` keywords.

    ``augment_copies`` (int >= 0), ``augment_activities`` (names), ``augment_artefact``
    ([low, high]); missing or null ones keep the defaults.

    Examples
    --------
    >>> augment_options({"augment_copies": 1, "augment_artefact": [0.2, 1.0], "root": "x"})
    {'augment_copies': 1, 'augment_artefact': (0.2, 1.0)}
    """
    out: dict[str, Any] = {}
    copies = options.pop("augment_copies", None)
    if copies is not None:
        out["augment_copies"] = int(copies)
    acts = options.pop("augment_activities", None)
    if acts is not None:
        out["augment_activities"] = tuple(str(a) for a in ([acts] if isinstance(acts, str) else acts))
    art = options.pop("augment_artefact", None)
    if art is not None:
        vals = [float(v) for v in art]
        if len(vals) != 2:
            raise ConfigError(f"dataset.augment_artefact={list(art)} must be [low, high]")
        out["augment_artefact"] = (vals[0], vals[1])
    return out


# -- shared by every PPG dataset of the app -------------------------------------------


@dataclasses.dataclass
class HrRecording:
    """One PPG + ACC recording at the app's rate, with a reference HR per window.

    Attributes
    ----------
    subject : str
        Subject id (the leave-subject-out group).
    signals : [shape=(4, n), float32] ``PPG_CHANNELS`` (PPG in its own units, ACC in g)
    ref_bpm : [shape=(n_windows,)] reference HR of window ``i`` = samples
        ``[i * hop, i * hop + window)``; NaN drops the window.
    activity : [shape=(n,), int] optional per-sample activity code (-1 unknown)
    name : str, optional
        Recording name (``meta['recording']``); default: the subject id.
    """

    subject: str
    signals: np.ndarray
    ref_bpm: np.ndarray
    activity: np.ndarray | None = None
    name: str | None = None


def _pick(subjects: list[str], spec: Any, what: str) -> list[str]:
    """Subjects named by id (str) or by index (int) into the sorted list."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, (str, int)) else list(spec)
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) < len(subjects):
                raise DatasetError(
                    f"{what}={item} is out of range: there are {len(subjects)} subjects "
                    f"(0..{len(subjects) - 1}: {', '.join(subjects)})"
                )
            out.append(subjects[int(item)])
        else:
            name = str(item)
            if name not in subjects:
                raise DatasetError(
                    f"{what} names subject {name!r}, which is not in the data; subjects: {', '.join(subjects)}"
                )
            out.append(name)
    return out


def recordings_to_splits(
    recordings: Sequence[HrRecording],
    *,
    name: str,
    sample_rate: float,
    window_s: float = 8.0,
    hop_s: float = 2.0,
    test_subjects: Any = None,
    val_subjects: Any = None,
    fold: int | None = None,
    n_test: int = 1,
    n_val: int = 1,
    seed: int = 0,
    all_test: bool = False,
    augment_copies: int = 0,
    augment_activities: Sequence[str] = AUGMENT_ACTIVITIES,
    augment_artefact: tuple[float, float] = (0.5, 1.5),
) -> DataSplits:
    """Window the recordings and split them by subject.

    Subject choice, first match wins: ``fold=k`` (leave-one-subject-out: test =
    subject ``k`` of the sorted list, val = subject ``k + 1`` modulo n); explicit
    ``test_subjects``/``val_subjects`` (ids or indices); otherwise a seeded draw of
    ``n_test`` test and ``n_val`` validation subjects. With a single subject (or
    ``all_test``), every window goes to the test split and the training split holds a
    copy of it (for evaluation-only runs of a trained model or a DSP method).

    Meta columns: ``t_s`` (window start, s), ``rec`` (recording index), ``recording``
    (its name), ``activity`` (majority activity code, -1 unknown), ``motion_g`` (mean ACC
    std in the window). Windows whose reference is NaN (or not positive) are left out,
    with a warning naming the recording and the count (``extra['dropped_reference_windows']``
    holds the total).

    ``augment_copies`` > 0 appends that many copies of the training windows with
    simulated motion added (:func:`add_synthetic_motion`; seeded from ``seed``); their
    ``rec`` is offset by 10,000 per copy and ``meta['augmented']`` is 1 (0 elsewhere).
    Validation and test windows are never augmented.
    """
    if not recordings:
        raise DatasetError(f"dataset={name} found no recordings")
    fs = float(sample_rate)
    win, hop = int(round(window_s * fs)), int(round(hop_s * fs))
    params = ImuWindowParams(window_length=win, hop_length=hop)
    subjects = sorted({r.subject for r in recordings})
    if fold is not None:
        if not 0 <= int(fold) < len(subjects):
            raise DatasetError(
                f"fold={fold} is out of range; this data has {len(subjects)} subjects (fold 0..{len(subjects) - 1})"
            )
        test = [subjects[int(fold)]]
        val = [subjects[(int(fold) + 1) % len(subjects)]] if len(subjects) > 2 else []
    else:
        test = _pick(subjects, test_subjects, "test_subjects")
        val = _pick(subjects, val_subjects, "val_subjects")
        rest = [s for s in subjects if s not in test and s not in val]
        rng = np.random.default_rng([seed, 7])
        order = list(rng.permutation(rest))
        if not test and not all_test and len(subjects) > 1:
            test, order = order[:n_test], order[n_test:]
        if not val and len(order) > 1 and not all_test:
            val, order = order[:n_val], order[n_val:]
    overlap = set(test) & set(val)
    if overlap:
        raise DatasetError(f"subject(s) {sorted(overlap)} are in both test_subjects and val_subjects; pick disjoint sets")

    parts: dict[str, dict[str, list]] = {k: {"x": [], "y": [], "g": [], "t": [], "rec": [], "name": [], "act": [], "mot": []}
                                         for k in ("train", "val", "test")}
    dropped = 0
    for ri, rec in enumerate(recordings):
        sig = np.asarray(rec.signals, dtype=np.float32)
        if sig.ndim != 2 or sig.shape[0] != len(PPG_CHANNELS):
            raise DatasetError(f"recording of subject {rec.subject} has shape {sig.shape}; expected (4, n) = (ppg, acc_x, acc_y, acc_z)")
        if sig.shape[1] < win:
            log.warning("recording of subject %s is shorter than one %g s window; skipped", rec.subject, window_s)
            continue
        if not np.all(np.isfinite(sig)):
            raise DatasetError(f"recording of subject {rec.subject} contains NaN/inf samples; clean the file first")
        w = imu_windows(sig, params=params)
        m = min(len(w), len(rec.ref_bpm))
        w, ref = w[:m], np.asarray(rec.ref_bpm[:m], dtype=np.float32)
        starts = np.arange(m) * hop
        act = np.full(m, -1, dtype=np.int16)
        if rec.activity is not None:
            a = np.asarray(rec.activity)
            for i, s in enumerate(starts):
                seg = a[s : s + win]
                seg = seg[seg >= 0]
                if seg.size:
                    act[i] = np.bincount(seg.astype(int)).argmax()
        keep = np.isfinite(ref) & (ref > 0)
        if not keep.all():
            dropped += int((~keep).sum())
            log.warning("recording %s: %d of %d reference values are NaN or not positive; those windows are left out",
                        rec.name or rec.subject, int((~keep).sum()), m)
        split = "test" if (rec.subject in test or all_test or len(subjects) == 1) else "val" if rec.subject in val else "train"
        d = parts[split]
        d["x"].append(w[keep])
        d["y"].append(ref[keep])
        d["g"].append(np.full(int(keep.sum()), rec.subject))
        d["t"].append((starts / fs)[keep])
        d["rec"].append(np.full(int(keep.sum()), ri))
        d["name"].append(np.full(int(keep.sum()), rec.name or rec.subject))
        d["act"].append(act[keep])
        d["mot"].append(w[keep, 1:].std(axis=-1).mean(axis=-1))

    def build(d: dict[str, list]) -> Split:
        if not d["x"]:
            return Split(np.zeros((0, 4, win), np.float32), np.zeros(0, np.float32), np.zeros(0, dtype="<U8"),
                         {"t_s": np.zeros(0), "rec": np.zeros(0, np.int32), "recording": np.zeros(0, dtype="<U8"),
                          "activity": np.zeros(0, np.int16), "motion_g": np.zeros(0, np.float32)})
        return Split(
            np.concatenate(d["x"]),
            np.concatenate(d["y"]).astype(np.float32),
            np.concatenate(d["g"]).astype(str),
            {
                "t_s": np.concatenate(d["t"]).astype(np.float64),
                "rec": np.concatenate(d["rec"]).astype(np.int32),
                "recording": np.concatenate(d["name"]).astype(str),
                "activity": np.concatenate(d["act"]).astype(np.int16),
                "motion_g": np.concatenate(d["mot"]).astype(np.float32),
            },
        )

    splits = {k: build(v) for k, v in parts.items()}
    for v in splits.values():
        v.meta["augmented"] = np.zeros(len(v), np.int8)
    if int(augment_copies) < 0:
        raise ConfigError(f"augment_copies={augment_copies} must be >= 0")
    if int(augment_copies) > 0 and len(splits["train"]) and not all_test:
        tr = splits["train"]
        rng = np.random.default_rng([seed, 11])
        copies = [tr]
        for c in range(int(augment_copies)):
            xa = add_synthetic_motion(tr.x, rng, sample_rate=fs, activities=augment_activities, artefact=augment_artefact)
            meta = {**tr.meta, "rec": tr.meta["rec"] + 10000 * (c + 1), "augmented": np.ones(len(tr), np.int8),
                    "motion_g": xa[:, 1:].std(axis=-1).mean(axis=-1).astype(np.float32)}
            copies.append(Split(xa, tr.y, tr.groups, meta))
        splits["train"] = Split(np.concatenate([c.x for c in copies]), np.concatenate([c.y for c in copies]),
                                np.concatenate([c.groups for c in copies]),
                                {k: np.concatenate([c.meta[k] for c in copies]) for k in tr.meta})
        log.info("%s: %d training windows with synthetic motion added (%d copies)", name,
                 len(splits["train"]) - len(tr), int(augment_copies))
    if len(splits["train"]) == 0:
        if len(splits["test"]) == 0:
            raise DatasetError(f"dataset={name} has no complete {window_s:g} s window with a reference heart rate")
        splits["train"] = splits["test"]  # evaluation-only data (one subject or all_test)
    return DataSplits(
        splits["train"], splits["val"], splits["test"], fs, PPG_CHANNELS, "regression", (), name,
        extra={"window_s": np.asarray(window_s, np.float64), "hop_s": np.asarray(hop_s, np.float64),
               "dropped_reference_windows": np.asarray(dropped, np.int64)},
    )


@dataclass(frozen=True)
class PpgSimOptions:
    """Options of :class:`PpgSim`; ``conf/dataset/ppg_sim.yaml`` overrides them."""

    n_subjects: int = 16  # simulated subjects (the leave-subject-out groups)
    minutes: float = 10.0  # recording length per subject, minutes
    n_test: int = 3  # subjects held out for the test split (seeded draw)
    n_val: int = 2  # subjects held out for validation
    sample_rate: float = 32.0  # Hz, the app's processing rate (PPG and ACC)
    window_s: float = 8.0  # s, one reference HR per window (SPC 2015 / PPG-DaLiA convention)
    hop_s: float = 2.0  # s between window starts
    artefact_scale: float = 1.0  # motion-artefact strength (0 = motion-free PPG)
    noise_std: float = 0.03  # sensor white noise relative to the pulse amplitude
    protocol: str = 'mixed'  # mixed (walk, run, 2 exercises, then any) | gait (rest/walk/run/arm) | exercise (forearm, upper_arm, jump, pushup, boxing)
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class PpgSim(Dataset):
    """Simulated wrist PPG + ACC subjects (the heart_rate app's offline default).

    Options (``conf/dataset/ppg_sim.yaml``): ``n_subjects``, ``minutes`` per subject,
    ``n_val``/``n_test`` subjects (or ``test_subjects``/``val_subjects``/``fold``),
    ``sample_rate`` (Hz), ``window_s``/``hop_s``, ``artefact_scale``, ``noise_std``,
    ``protocol`` (mixed|gait|exercise, see :func:`random_protocol`), ``smoke`` (5 subjects x 3 minutes: 3 train, 1 val, 1 test).
    """

    name = "ppg_sim"
    task = "regression"
    modality = "ppg"
    VERSION = 4
    Options = PpgSimOptions

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        smoke = bool(o.pop("smoke", False))
        n_subjects = int(o.pop("n_subjects", 16))
        minutes = float(o.pop("minutes", 10.0))
        if smoke:
            n_subjects, minutes = min(n_subjects, 5), min(minutes, 3.0)
        if n_subjects < 1 or minutes * 60 < float(o.get("window_s", 8.0)):
            raise ConfigError(f"ppg_sim needs n_subjects >= 1 and minutes >= one window (got {n_subjects}, {minutes})")
        fs = float(o.pop("sample_rate", 32.0))
        window_s, hop_s = float(o.pop("window_s", 8.0)), float(o.pop("hop_s", 2.0))
        art, noise = float(o.pop("artefact_scale", 1.0)), float(o.pop("noise_std", 0.03))
        kind = str(o.pop("protocol", "mixed"))
        if kind not in PROTOCOLS:
            raise ConfigError(f"dataset.protocol={kind!r} is not supported; choose one of: {', '.join(PROTOCOLS)}")
        split_opts = {k: o.pop(k) for k in ("test_subjects", "val_subjects", "fold", "n_test", "n_val") if k in o}
        split_opts = {k: v for k, v in split_opts.items() if v is not None}
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of ppg_sim; see conf/dataset/ppg_sim.yaml")
        from tinyml_suite.common.console import progress

        recs = []
        for s in progress(range(n_subjects), desc="ppg_sim subjects", leave=False):
            r = simulate_wrist_ppg(minutes * 60.0, sample_rate=fs, rng=np.random.default_rng([self.seed, s]),
                                   artefact_scale=art, noise_std=noise, protocol_kind=kind)
            n_win = 1 + (len(r.ppg) - int(window_s * fs)) // int(hop_s * fs)
            ref = window_reference_bpm(r.beats, np.arange(n_win) * hop_s, window_s)
            recs.append(HrRecording(f"sim{s:02d}", np.concatenate([r.ppg[None], r.acc]), ref, r.activity))
        if smoke and "test_subjects" not in split_opts and "fold" not in split_opts:
            split_opts.update(n_test=1, n_val=1)  # 3 training subjects
        return recordings_to_splits(recs, name=self.name, sample_rate=fs, window_s=window_s, hop_s=hop_s,
                                    seed=self.seed, **split_opts)
