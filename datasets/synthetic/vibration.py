"""Rotating-machine vibration simulator: the offline default of the vibration_anomaly app.

One *recording* is a few seconds of one accelerometer on the drive-end bearing housing
of a motor running at a constant nominal speed and load (both drawn per recording),
in g, at ``sample_rate_hz``. The signal is a sum of physical components:

* **shaft harmonics**: ``sum_k a_k sin(k theta(t) + phi_k)`` where ``theta`` is the
  shaft angle (the speed wobbles slowly by ``speed_wobble`` around the nominal value).
  A healthy machine has a small residual imbalance (1x) and smaller 2x..5x terms.
* **gear mesh**: a tone at ``gear_teeth`` x shaft speed with +-1x sidebands.
* **structural noise**: white noise exciting the housing resonance, plus broadband
  sensor noise.
* **faults** (one per faulty recording, at severity 1, 2 or 3):

  - ``imbalance``: the 1x amplitude grows by ``imbalance_gain[severity]``;
  - ``misalignment``: strong 2x (and 3x) relative to 1x;
  - ``looseness``: many harmonics and half-harmonics (0.5x, 1.5x, ...) plus a rattle
    impact once per revolution, with random amplitude;
  - ``outer_race``, ``inner_race``, ``ball``: rolling-element bearing defects. Each
    time a rolling element meets the defect the impact excites the housing resonance,
    a decaying sinusoid ``exp(-zeta wn t) sin(wd t)`` (a single-degree-of-freedom
    mode, ``resonance_hz``, damping ratio ``damping``). Impacts repeat at the defect
    frequency with random slip (each impact time jitters by ``slip_jitter`` of the
    period, the 1-2 % slip of real bearings). An outer-race defect sits in the load
    zone (constant impact strength); an inner-race defect rotates with the shaft
    through the load zone, so its impacts are amplitude-modulated at the shaft rate
    (sidebands at +-1x around BPFI); a ball defect strikes both races, at twice the
    ball spin frequency, modulated at the cage rate (FTF) as the ball orbits through
    the load zone. The load distribution is Stribeck's,
    ``q(psi) = (1 - (1 - cos psi) / (2 eps))**1.5`` inside the zone (``eps = 0.5``:
    a half-loaded bearing, zone of +-90 degrees).

* **sensor**: clipping at the accelerometer's range ``sensor_range_g`` and an
  ``adc_bits`` quantiser over that range.

Bearing kinematics (rigid rolling without slip; Randall & Antoni, "Rolling element
bearing diagnostics - A tutorial", Mechanical Systems and Signal Processing 25 (2011)
485-520, eq. 1-4; the same formulas as the CWRU Bearing Data Center's fault-frequency
table). With shaft rate ``fr``, ``n`` rolling elements of diameter ``d`` on pitch
diameter ``D`` and contact angle ``phi``, ``r = (d / D) cos(phi)``::

    FTF  = fr / 2 * (1 - r)                 cage (fundamental train) frequency
    BPFO = n fr / 2 * (1 - r)               ball pass frequency, outer race
    BPFI = n fr / 2 * (1 + r)               ball pass frequency, inner race
    BSF  = D fr / (2 d) * (1 - r**2)        ball spin frequency
    ball defect impacts at 2 * BSF          (it strikes both races per spin)

The defaults are the CWRU drive-end bearing, an SKF 6205-2RS JEM (n = 9,
d = 0.3126 in, D = 1.537 in, phi = 0), giving, in multiples of the shaft speed,
BPFI 5.4152, BPFO 3.5848, FTF 0.3983 and 2 x BSF ("rolling element" in CWRU's table)
4.7134; CWRU's table lists 5.4152, 3.5848, 0.39828 and 4.7135 (the last digits differ
because the published dimensions are rounded).

Everything is drawn from ``numpy.random.default_rng([seed, split, class, recording])``,
so a dataset is deterministic for its seed and a recording does not change when
others are added. Recordings are the split unit: train, validation and test hold
different recordings (``groups``), each with its own speed, load, resonance and noise.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, Split
from tinyml_suite.common.errors import ConfigError

__all__ = [
    "BEARING_FAULTS",
    "FAULTS",
    "BearingGeometry",
    "MachineParams",
    "VibrationSim",
    "fault_frequency_hz",
    "simulate_recording",
]

log = logging.getLogger(__name__)

BEARING_FAULTS = ("inner_race", "ball", "outer_race")
FAULTS = (*BEARING_FAULTS, "imbalance", "misalignment", "looseness")
_SPLITS = ("train", "val", "test")


@dataclass(kw_only=True, frozen=True)
class BearingGeometry:
    """Rolling-element bearing geometry (lengths in any one unit).

    Examples
    --------
    >>> o = BearingGeometry().orders()
    >>> round(o["bpfi"], 4), round(o["bpfo"], 4), round(o["rolling_element"], 4)
    (5.4152, 3.5848, 4.7134)
    """

    n_elements: int = 9
    element_diameter: float = 0.3126
    pitch_diameter: float = 1.537
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if int(self.n_elements) < 3:
            raise ConfigError(f"bearing.n_elements={self.n_elements} must be an integer >= 3")
        if not 0 < self.element_diameter < self.pitch_diameter:
            raise ConfigError(
                f"bearing.element_diameter={self.element_diameter} must be > 0 and below "
                f"pitch_diameter={self.pitch_diameter}"
            )
        if not 0 <= self.contact_angle_deg < 90:
            raise ConfigError(f"bearing.contact_angle_deg={self.contact_angle_deg} must be in [0, 90)")

    def orders(self) -> dict[str, float]:
        """Defect frequencies in multiples of the shaft speed (see the module docstring)."""
        r = self.element_diameter / self.pitch_diameter * np.cos(np.deg2rad(self.contact_angle_deg))
        n = int(self.n_elements)
        bsf = self.pitch_diameter / (2.0 * self.element_diameter) * (1.0 - r * r)
        return {
            "ftf": float(0.5 * (1.0 - r)),
            "bpfo": float(n / 2.0 * (1.0 - r)),
            "bpfi": float(n / 2.0 * (1.0 + r)),
            "bsf": float(bsf),
            "rolling_element": float(2.0 * bsf),
        }


def fault_frequency_hz(fault: str, shaft_hz: float, bearing: BearingGeometry = BearingGeometry()) -> float:
    """Repetition frequency of a fault's impacts in Hz (bearing faults), else the shaft rate.

    >>> round(fault_frequency_hz("outer_race", 30.0), 3)
    107.543
    """
    o = bearing.orders()
    return shaft_hz * {"inner_race": o["bpfi"], "outer_race": o["bpfo"], "ball": o["rolling_element"]}.get(
        fault, 1.0
    )


@dataclass(kw_only=True, frozen=True)
class MachineParams:
    """Physical parameters of the simulated machine (ranges are drawn per recording).

    Amplitudes are in g (acceleration at the sensor), frequencies in Hz. Severity 1 is
    set near the detection limit (the healthy machines' own spread), 3 is obvious.
    """

    rpm_range: tuple[float, float] = (1500.0, 1800.0)  # nominal no-load speed per recording
    load_hp_range: tuple[float, float] = (0.0, 3.0)  # motor load per recording
    slip_per_hp: float = 0.012  # induction-motor speed drop per HP of load (fraction)
    speed_wobble: float = 0.002  # slow speed fluctuation within a recording (fraction)
    unbalance_g: tuple[float, float] = (0.03, 0.06)  # healthy residual 1x amplitude
    harmonics_rel: tuple[float, ...] = (0.25, 0.08, 0.04, 0.02)  # 2x..5x relative to 1x
    gear_teeth: int = 23  # 0: no gear
    gear_mesh_g: tuple[float, float] = (0.015, 0.03)  # gear-mesh tone amplitude
    resonance_hz: float = 3000.0  # housing resonance excited by impacts
    resonance_spread: float = 0.05  # +- fraction, per recording (mounting differences)
    damping: float = 0.05  # damping ratio zeta of the resonance
    structural_noise_g: tuple[float, float] = (0.01, 0.02)  # random excitation of the resonance
    sensor_noise_g: tuple[float, float] = (0.01, 0.02)  # broadband white noise (rms)
    slip_jitter: float = 0.015  # std of impact times, as a fraction of the impact period
    bearing_impact_g: tuple[float, float, float] = (0.08, 0.2, 0.5)  # peak ringing, severity 1..3
    imbalance_gain: tuple[float, float, float] = (1.8, 2.8, 4.5)  # 1x growth, severity 1..3
    misalignment_2x: tuple[float, float, float] = (0.6, 1.2, 2.5)  # 2x relative to 1x
    looseness_level: tuple[float, float, float] = (0.25, 0.6, 1.2)  # harmonic level relative to 1x
    load_impact_gain: float = 0.15  # bearing impacts grow by this fraction per HP
    sensor_range_g: float = 16.0  # accelerometer full scale (+-)
    adc_bits: int = 16  # quantiser resolution over the full scale (0: no quantisation)

    def __post_init__(self) -> None:
        for name in ("rpm_range", "load_hp_range", "unbalance_g", "gear_mesh_g", "structural_noise_g",
                     "sensor_noise_g"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ConfigError(f"machine.{name}={getattr(self, name)} must be a range 0 <= low <= high")
        if self.rpm_range[0] <= 0:
            raise ConfigError(f"machine.rpm_range={self.rpm_range} must be above 0 rpm")
        for name in ("bearing_impact_g", "imbalance_gain", "misalignment_2x", "looseness_level"):
            if len(getattr(self, name)) != 3:
                raise ConfigError(f"machine.{name} needs 3 values (severity 1, 2, 3)")
        if not 0 < self.damping < 1:
            raise ConfigError(f"machine.damping={self.damping} must be in (0, 1) (e.g. 0.05)")
        if self.sensor_range_g <= 0:
            raise ConfigError(f"machine.sensor_range_g={self.sensor_range_g} must be > 0")


def _resonator(impulses: np.ndarray, fs: float, fn: float, zeta: float) -> np.ndarray:
    """Ring a single-degree-of-freedom mode with an impulse train (impulse invariance).

    Each unit impulse becomes ``exp(-zeta wn t) sin(wd t)``: a peak of about 1 g.
    """
    import scipy.signal

    wn = 2 * np.pi * fn
    wd = wn * np.sqrt(1 - zeta * zeta)
    r = np.exp(-zeta * wn / fs)
    th = wd / fs
    return scipy.signal.lfilter([0.0, r * np.sin(th)], [1.0, -2 * r * np.cos(th), r * r], impulses)


def _load_zone(angle: np.ndarray, eps: float = 0.5, floor: float = 0.05) -> np.ndarray:
    """Stribeck load distribution at angle ``angle`` from the load direction (0..1)."""
    q = 1.0 - (1.0 - np.cos(angle)) / (2.0 * eps)
    return np.maximum(np.clip(q, 0.0, None) ** 1.5, floor)


def _impulse_times(phase_cycles: np.ndarray, t: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Times where a monotone phase (in cycles) crosses integers, with slip jitter."""
    k = np.arange(np.ceil(phase_cycles[0]), np.floor(phase_cycles[-1]) + 1)
    if k.size == 0:
        return np.zeros(0)
    times = np.interp(k, phase_cycles, t)
    period = np.gradient(times) if times.size > 1 else np.array([t[-1] - t[0]])
    return times + jitter * period * rng.standard_normal(times.size)


def simulate_recording(
    rng: np.random.Generator,
    *,
    sample_rate_hz: float,
    seconds: float,
    fault: str = "normal",
    severity: int = 0,
    machine: MachineParams = MachineParams(),
    bearing: BearingGeometry = BearingGeometry(),
) -> tuple[np.ndarray, dict[str, float]]:
    """One recording of the drive-end accelerometer, in g.

    Parameters
    ----------
    rng : np.random.Generator
        Source of every random choice (speed, load, phases, noise, slip).
    sample_rate_hz : float
        Output rate in Hz; must exceed twice ``machine.resonance_hz`` (with margin).
    seconds : float
        Duration.
    fault : str
        ``"normal"`` or one of :data:`FAULTS`.
    severity : int
        1, 2 or 3 for a fault (ignored for ``"normal"``).

    Returns
    -------
    x : np.ndarray [shape=(n_samples,), dtype=float32]
    info : dict
        ``shaft_hz`` (mean shaft rate), ``rpm``, ``load_hp``, ``resonance_hz``,
        ``fault_hz`` (impact rate of a bearing fault, else the shaft rate).

    Examples
    --------
    >>> x, info = simulate_recording(np.random.default_rng(0), sample_rate_hz=12000, seconds=0.5)
    >>> x.shape, 20 < info["shaft_hz"] < 31
    ((6000,), True)
    """
    if fault != "normal" and fault not in FAULTS:
        raise ConfigError(f"fault={fault!r} is not one of normal, {', '.join(FAULTS)}")
    if fault != "normal" and severity not in (1, 2, 3):
        raise ConfigError(f"severity={severity} must be 1, 2 or 3 for fault={fault}")
    m = machine
    fs = float(sample_rate_hz)
    fn = m.resonance_hz * (1 + m.resonance_spread * rng.uniform(-1, 1))
    if fn >= 0.45 * fs:
        raise ConfigError(
            f"machine.resonance_hz={m.resonance_hz} (up to {fn:.0f} Hz with its spread) needs "
            f"sample_rate_hz > {fn / 0.45:.0f}; raise the rate or lower the resonance"
        )
    n = round(seconds * fs)
    t = np.arange(n) / fs
    load = rng.uniform(*m.load_hp_range)
    rpm = rng.uniform(*m.rpm_range) * (1 - m.slip_per_hp * load)
    f0 = rpm / 60.0
    wobble = 1 + m.speed_wobble * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi))
    fr = f0 * wobble
    theta = 2 * np.pi * np.cumsum(fr) / fs + rng.uniform(0, 2 * np.pi)  # shaft angle (rad)
    x = np.zeros(n)

    # shaft harmonics (healthy imbalance and its harmonics)
    a1 = rng.uniform(*m.unbalance_g)
    amps = {1.0: a1}
    for k, rel in enumerate(m.harmonics_rel, start=2):
        amps[float(k)] = a1 * rel * rng.uniform(0.7, 1.3)
    s = severity - 1
    if fault == "imbalance":
        amps[1.0] *= m.imbalance_gain[s]
    elif fault == "misalignment":
        amps[2.0] = a1 * m.misalignment_2x[s] * rng.uniform(0.85, 1.15)
        amps[3.0] = amps.get(3.0, 0.0) + 0.4 * amps[2.0]
    elif fault == "looseness":
        level = m.looseness_level[s]
        for k in range(2, 11):
            amps[float(k)] = amps.get(float(k), 0.0) + a1 * level * rng.uniform(0.6, 1.2) / np.sqrt(k)
        for k in (0.5, 1.5, 2.5, 3.5):
            amps[k] = a1 * 0.5 * level * rng.uniform(0.6, 1.2)
    for order, amp in amps.items():
        x += amp * np.sin(order * theta + rng.uniform(0, 2 * np.pi))

    # gear mesh with +-1x sidebands
    if m.gear_teeth > 0:
        g = rng.uniform(*m.gear_mesh_g)
        zt = m.gear_teeth * theta
        x += g * np.sin(zt + rng.uniform(0, 2 * np.pi))
        x += 0.3 * g * np.sin(zt - theta + rng.uniform(0, 2 * np.pi))
        x += 0.3 * g * np.sin(zt + theta + rng.uniform(0, 2 * np.pi))

    # impacts exciting the housing resonance
    impulses = np.zeros(n)
    orders = bearing.orders()
    fault_hz = float(f0)

    def add_impacts(order: float, amp_fn) -> None:
        times = _impulse_times(order * theta / (2 * np.pi), t, rng, m.slip_jitter)
        idx = np.round(times * fs).astype(int)
        ok = (idx >= 0) & (idx < n)
        np.add.at(impulses, idx[ok], amp_fn(times[ok]))

    if fault in BEARING_FAULTS:
        a = m.bearing_impact_g[s] * (1 + m.load_impact_gain * load)
        if fault == "outer_race":  # stationary defect in the load zone
            fault_hz = f0 * orders["bpfo"]
            add_impacts(orders["bpfo"], lambda tt: a * rng.uniform(0.9, 1.1, tt.size))
        elif fault == "inner_race":  # rotates with the shaft through the load zone
            fault_hz = f0 * orders["bpfi"]
            phi = rng.uniform(0, 2 * np.pi)
            add_impacts(
                orders["bpfi"],
                lambda tt: a * _load_zone(np.interp(tt, t, theta) + phi) * rng.uniform(0.9, 1.1, tt.size),
            )
        else:  # ball: both races, orbiting with the cage through the load zone
            fault_hz = f0 * orders["rolling_element"]
            phi = rng.uniform(0, 2 * np.pi)
            add_impacts(
                orders["rolling_element"],
                lambda tt: a * _load_zone(orders["ftf"] * np.interp(tt, t, theta) + phi)
                * rng.uniform(0.6, 1.1, tt.size),
            )
    elif fault == "looseness":  # rattling: one impact per revolution, random strength
        a = m.bearing_impact_g[s] * 0.8
        add_impacts(1.0, lambda tt: a * rng.uniform(0.3, 1.0, tt.size))
    structural = rng.uniform(*m.structural_noise_g)
    # white excitation scaled so the resonance's random response has rms ~ `structural`
    zeta = m.damping
    gain = np.sqrt(4 * zeta * 2 * np.pi * fn / fs)
    impulses = impulses + structural * gain * rng.standard_normal(n)
    x += _resonator(impulses, fs, fn, zeta)
    x += rng.uniform(*m.sensor_noise_g) * rng.standard_normal(n)

    # sensor: range and quantiser
    x = np.clip(x, -m.sensor_range_g, m.sensor_range_g)
    if m.adc_bits > 0:
        step = 2 * m.sensor_range_g / 2**m.adc_bits
        x = np.round(x / step) * step
    info = {"shaft_hz": float(f0), "rpm": float(rpm), "load_hp": float(load), "resonance_hz": float(fn),
            "fault_hz": fault_hz}
    return x.astype(np.float32), info


def _windows(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Cut a 1-D recording into windows ``(n_windows, window)`` (no padding)."""
    if x.shape[-1] < window:
        return np.zeros((0, window), dtype=np.float32)
    from numpy.lib.stride_tricks import sliding_window_view

    return np.ascontiguousarray(sliding_window_view(x, window)[::hop])


@dataclass(frozen=True)
class VibrationSimOptions:
    """Options of :class:`VibrationSim`; ``conf/dataset/vibration_sim.yaml`` overrides them."""

    sample_rate_hz: float = 8000.0  # Hz, the app's accelerometer rate (CWRU is resampled to it too)
    window_samples: int = 1024  # samples per window (128 ms at 8 kHz)
    hop_samples: Any = None  # samples between windows (no overlap) (null: window_samples)
    seconds: float = 2.0  # length of one recording (15 windows)
    faults: tuple[str, ...] = FAULTS  # labels: normal, then these
    severities: tuple[int, ...] = (1, 2, 3)  # cycled over each fault class's recordings
    recordings: Any = field(default_factory=lambda: {'train': 30, 'val': 10, 'test': 10})  # per fault class
    normal_recordings: Any = field(default_factory=lambda: {'train': 60, 'val': 20, 'test': 20})  # the autoencoder trains on these
    machine: Any = field(default_factory=lambda: {})  # overrides of MachineParams (datasets/synthetic/vibration.py), e.g. {resonance_hz: 2500}
    bearing: Any = field(default_factory=lambda: {})  # overrides of BearingGeometry; default: CWRU drive end, SKF 6205-2RS
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class VibrationSim(Dataset):
    """Simulated drive-end vibration: normal and faulty recordings cut into windows.

    Options (``conf/dataset/vibration_sim.yaml``)
    ---------------------------------------------
    sample_rate_hz : float
        Output rate (8 kHz, the rate the CWRU recipe resamples to).
    window_samples, hop_samples : int
        Window length and hop in samples (hop = window: no overlap).
    seconds : float
        Length of one recording.
    faults : list of str
        Fault classes (labels are ``normal`` then these, in this order).
    severities : list of int
        Severities cycled over the faulty recordings of each class.
    recordings : dict
        Recordings per fault class per split, ``{train: .., val: .., test: ..}``.
    normal_recordings : dict
        Normal recordings per split (the autoencoder trains on these).
    machine, bearing : dict
        Overrides of :class:`MachineParams` and :class:`BearingGeometry`.
    smoke : bool
        Few, short recordings (``debug=smoke``).
    """

    name: ClassVar[str] = "vibration_sim"
    task: ClassVar[str] = "classification"  # y = 0 normal, > 0 a fault: anomaly or classifier
    modality: ClassVar[str] = "vibration"
    VERSION: ClassVar[int] = 1
    Options = VibrationSimOptions

    def _config(self) -> dict[str, Any]:
        o = dict(self.options)
        faults = list(o.get("faults", FAULTS))
        bad = [f for f in faults if f not in FAULTS]
        if bad or not faults or len(set(faults)) != len(faults):
            raise ConfigError(
                f"dataset.faults={faults} must be distinct names from: {', '.join(FAULTS)}"
            )
        sev = [int(s) for s in o.get("severities", (1, 2, 3))]
        if not sev or any(s not in (1, 2, 3) for s in sev):
            raise ConfigError(f"dataset.severities={sev} must be a non-empty list of 1, 2, 3")
        rec = {k: int(v) for k, v in dict(o.get("recordings", {"train": 30, "val": 10, "test": 10})).items()}
        nrec = {k: int(v) for k, v in dict(o.get("normal_recordings", {"train": 60, "val": 20, "test": 20})).items()}
        for name, d in (("recordings", rec), ("normal_recordings", nrec)):
            if set(d) != set(_SPLITS) or any(v < 0 for v in d.values()):
                raise ConfigError(f"dataset.{name}={d} must give train, val and test counts >= 0")
        if nrec["train"] < 1:
            raise ConfigError("dataset.normal_recordings.train must be >= 1 (the autoencoder trains on them)")
        fs = float(o.get("sample_rate_hz", 8000.0))
        window = int(o.get("window_samples", 1024))
        hop = int(o.get("hop_samples") or window)
        seconds = float(o.get("seconds", 2.0))
        if bool(o.get("smoke", False)):
            rec = {k: min(v, 2 if k != "train" else 3) for k, v in rec.items()}
            nrec = {k: min(v, 4 if k != "train" else 8) for k, v in nrec.items()}
            seconds = min(seconds, max(1.0, 3 * window / fs))
        if window < 16 or hop < 1:
            raise ConfigError(f"dataset.window_samples={window} must be >= 16 and hop_samples={hop} >= 1")
        if seconds * fs < window:
            raise ConfigError(
                f"dataset.seconds={seconds} gives {int(seconds * fs)} samples, fewer than "
                f"window_samples={window}; lengthen the recordings"
            )
        try:
            machine = MachineParams(**{k: tuple(v) if isinstance(v, list) else v
                                       for k, v in dict(o.get("machine") or {}).items()})
            bearing = BearingGeometry(**dict(o.get("bearing") or {}))
        except TypeError as exc:
            raise ConfigError(f"dataset.machine/bearing: {exc}") from None
        return {"faults": faults, "severities": sev, "recordings": rec, "normal_recordings": nrec, "fs": fs,
                    "window": window, "hop": hop, "seconds": seconds, "machine": machine, "bearing": bearing}

    def _load(self) -> DataSplits:
        from tinyml_suite.common.console import progress

        c = self._config()
        labels = ("normal", *c["faults"])
        jobs = []
        for si, split in enumerate(_SPLITS):
            for ci, label in enumerate(labels):
                count = c["normal_recordings"][split] if ci == 0 else c["recordings"][split]
                for r in range(count):
                    sev = 0 if ci == 0 else c["severities"][r % len(c["severities"])]
                    jobs.append((si, split, ci, label, r, sev))
        parts: dict[str, dict[str, list]] = {s: {"x": [], "y": [], "g": [], "fault": [], "sev": [],
                                                  "load": [], "rpm": []} for s in _SPLITS}
        for si, split, ci, label, r, sev in progress(jobs, desc="simulating recordings", leave=False):
            rng = np.random.default_rng([self.seed, si, ci, r])
            x, info = simulate_recording(rng, sample_rate_hz=c["fs"], seconds=c["seconds"], fault=label,
                                         severity=sev, machine=c["machine"], bearing=c["bearing"])
            w = _windows(x, c["window"], c["hop"])
            k = len(w)
            p = parts[split]
            p["x"].append(w[:, None, :])
            p["y"] += [ci] * k
            p["g"] += [f"{split}-{label}-{r:03d}"] * k
            p["fault"] += [label] * k
            p["sev"] += [sev] * k
            p["load"] += [info["load_hp"]] * k
            p["rpm"] += [info["rpm"]] * k

        def build(p: dict[str, list]) -> Split:
            x = np.concatenate(p["x"]) if p["x"] else np.zeros((0, 1, c["window"]), np.float32)
            return Split(
                x, np.asarray(p["y"], dtype=np.int64), np.asarray(p["g"], dtype=str),
                {"fault": np.asarray(p["fault"], dtype=str), "severity": np.asarray(p["sev"], dtype=np.int64),
                 "load_hp": np.asarray(p["load"], dtype=np.float32), "rpm": np.asarray(p["rpm"], dtype=np.float32)},
            )

        return DataSplits(
            build(parts["train"]), build(parts["val"]), build(parts["test"]),
            sample_rate=c["fs"], channels=("accel",), task=self.task, labels=labels, name=self.name,
            extra={"bearing_orders": np.asarray([c["bearing"].orders()[k] for k in
                                                 ("ftf", "bpfo", "bpfi", "bsf", "rolling_element")])},
        )


def machine_defaults() -> dict[str, Any]:
    """The default :class:`MachineParams` as plain data (for docs and configs)."""
    return {f.name: f.default for f in dataclasses.fields(MachineParams)}
