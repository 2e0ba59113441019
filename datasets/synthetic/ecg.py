"""Single-lead ECG simulator with R-peak annotations, and the shared ECG record format.

The offline default dataset of the ECG (R-peak / HRV) recipe of the heart_rate app
(``experiment=ecg_rpeaks``). Each beat is a sum of Gaussian waves placed in time around
its R peak (P, Q, R, S, T; the T wave and the PR interval scale with the RR interval,
as the QT interval does). Beat-to-beat variability (respiratory sinus arrhythmia, a
0.1 Hz component, jitter), premature ventricular beats (no P wave, wide QRS of either
polarity, a compensatory pause), amplitude modulation by respiration, baseline wander,
power-line interference, muscle (EMG) noise bursts and electrode-motion steps are added.
Annotations are the sample indices of the R-wave apexes (the QRS fiducial points a
cardiologist marks) and a symbol per beat (``N`` normal, ``V`` ventricular), as in
MIT-BIH's ``.atr`` files.

:func:`records_to_splits` is shared with the MIT-BIH loader: a record is one example
``x[i]`` is a short segment with a warm-up prefix (so the firmware's window stays small)
and :func:`stitch` puts a split's segments back into whole records; the reference beats
travel per record in ``DataSplits.extra`` (``<split>_beats``, ``<split>_beat_offsets``,
``<split>_symbols``) because their number differs per record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from tinyml_suite.common.data import Dataset, DataSplits, Split
from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = ["EcgRecord", "simulate_ecg", "records_to_splits", "stitch", "split_beats", "split_exclusions", "EcgSim"]


@dataclasses.dataclass
class EcgRecord:
    """One ECG record with its reference beats.

    Attributes
    ----------
    name : str (record id, the group of leave-record-out splits)
    ecg : [shape=(n,), float32] one lead, in mV
    beats : [shape=(n_beats,), int64] R-peak sample indices (reference annotations)
    symbols : [shape=(n_beats,), <U1] beat type per annotation (MIT-BIH symbols)
    sample_rate : float, Hz
    exclude : [shape=(k, 2), int64] sample intervals [start, stop) left out of beat-by-beat
        scoring (ventricular flutter/fibrillation episodes, as ANSI/AAMI EC57 prescribes)
    """

    name: str
    ecg: np.ndarray
    beats: np.ndarray
    symbols: np.ndarray
    sample_rate: float
    exclude: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2), np.int64))


def _wave(t: np.ndarray, centre: float, amp: float, width: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - centre) / width) ** 2)


def simulate_ecg(
    duration_s: float,
    *,
    sample_rate: float = 360.0,
    rng: np.random.Generator | int = 0,
    mean_hr_bpm: float | None = None,
    pvc_rate: float = 0.03,
    noise: float = 1.0,
    name: str = "sim",
) -> EcgRecord:
    """Simulate one ECG lead.

    Parameters
    ----------
    duration_s : float > 0
    sample_rate : float >= 100 (Hz)
    rng : Generator or int (seed)
    mean_hr_bpm : float, optional; default a random 50-110 BPM
    pvc_rate : fraction of beats that are premature ventricular contractions (0..0.5)
    noise : float >= 0, scales baseline wander, EMG, power-line and electrode noise

    Examples
    --------
    >>> r = simulate_ecg(30.0, rng=0, mean_hr_bpm=60.0, pvc_rate=0.0)
    >>> r.ecg.shape, 27 <= len(r.beats) <= 33
    ((10800,), True)
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    fs = float(sample_rate)
    if not fs >= 100.0:
        raise ConfigError(f"sample_rate={sample_rate} must be >= 100 Hz for a QRS complex")
    if not duration_s > 0:
        raise ConfigError(f"duration_s={duration_s} must be > 0 seconds")
    if not 0.0 <= pvc_rate <= 0.5:
        raise ConfigError(f"pvc_rate={pvc_rate} must be in [0, 0.5]")
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    hr0 = float(rng.uniform(50, 110)) if mean_hr_bpm is None else float(mean_hr_bpm)
    resp_f = rng.uniform(0.18, 0.35)
    resp_ph = rng.uniform(0, 2 * np.pi)
    lf_ph = rng.uniform(0, 2 * np.pi)
    drift_ph = rng.uniform(0, 2 * np.pi)
    # per-record morphology
    r_amp = rng.uniform(0.8, 1.8)
    r_w = rng.uniform(0.008, 0.013)
    q_amp, s_amp = rng.uniform(0.05, 0.2) * r_amp, rng.uniform(0.1, 0.4) * r_amp
    p_amp = rng.uniform(0.08, 0.2)
    t_amp = rng.uniform(0.15, 0.45) * np.sign(rng.uniform(-0.15, 1.0))  # occasionally inverted T
    pvc_pol = rng.choice([-1.0, 1.0])

    beats: list[float] = []
    kinds: list[str] = []
    tb = rng.uniform(0.3, 0.8)
    prev_rr = 60.0 / hr0
    while tb < duration_s - 0.3:
        hr = hr0 * (1 + 0.08 * np.sin(2 * np.pi * tb / 180.0 + drift_ph))
        rr = 60.0 / hr
        rr *= 1 + 0.04 * np.sin(2 * np.pi * resp_f * tb + resp_ph) + 0.02 * np.sin(2 * np.pi * 0.1 * tb + lf_ph)
        rr *= 1 + 0.01 * rng.standard_normal()
        if kinds and kinds[-1] == "V":
            rr = 2 * prev_rr - (beats[-1] - beats[-2]) if len(beats) >= 2 else rr  # compensatory pause
            kinds.append("N")
        elif beats and rng.random() < pvc_rate:
            rr *= rng.uniform(0.55, 0.75)  # premature
            kinds.append("V")
        else:
            kinds.append("N")
        tb = (beats[-1] + rr) if beats else tb
        if tb >= duration_s - 0.3:
            kinds.pop()
            break
        beats.append(tb)
        prev_rr = 60.0 / hr
    beat_t = np.asarray(beats)
    ecg = np.zeros(n)
    for i, (b, k) in enumerate(zip(beat_t, kinds)):
        rr = (beat_t[i] - beat_t[i - 1]) if i else 60.0 / hr0
        lo, hi = max(0, int((b - 0.35) * fs)), min(n, int((b + 0.7) * fs))
        tt = t[lo:hi]
        amp = 1 + 0.1 * np.sin(2 * np.pi * resp_f * b + resp_ph) + 0.03 * rng.standard_normal()
        qt = 0.25 * np.sqrt(min(max(rr, 0.3), 2.0))
        if k == "N":
            w = (
                _wave(tt, b - 0.16 * np.sqrt(rr), p_amp, 0.022)
                - _wave(tt, b - 0.022, q_amp, 0.008)
                + _wave(tt, b, r_amp, r_w)
                - _wave(tt, b + 0.024, s_amp, 0.009)
                + _wave(tt, b + qt, t_amp, 0.045)
            )
        else:  # PVC: wide QRS, discordant T, no P
            w = pvc_pol * (_wave(tt, b, 1.3 * r_amp, 0.03) - _wave(tt, b + 0.06, 0.4 * r_amp, 0.03))
            w -= pvc_pol * _wave(tt, b + qt + 0.05, 0.5, 0.06)
        ecg[lo:hi] += amp * w
    # noise
    wander = 0.15 * np.sin(2 * np.pi * resp_f * t + resp_ph)
    sos = scipy.signal.butter(2, 0.3, fs=fs, output="sos")
    wander += 0.3 * scipy.signal.sosfiltfilt(sos, rng.standard_normal(n)) * np.sqrt(fs / 0.6) / 20
    line = 0.02 * np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * t + rng.uniform(0, 2 * np.pi))
    emg = 0.02 * rng.standard_normal(n)
    # EMG bursts: a few seconds of stronger muscle noise
    for _ in range(int(rng.poisson(duration_s / 60.0))):
        c, d = rng.uniform(0, duration_s), rng.uniform(1, 4)
        m = (t > c) & (t < c + d)
        emg[m] += 0.06 * rng.standard_normal(int(m.sum()))
    # electrode-motion steps (smoothed)
    steps = np.zeros(n)
    for _ in range(int(rng.poisson(duration_s / 120.0))):
        steps[int(rng.uniform(0, n)):] += rng.normal(0, 0.3)
    steps = scipy.signal.sosfiltfilt(scipy.signal.butter(1, 1.0, fs=fs, output="sos"), steps)
    ecg = ecg + noise * (wander + line + emg + steps)
    # R apex = argmax of |QRS| around the R centre for the annotation (as annotators do)
    idx = np.clip(np.round(beat_t * fs).astype(np.int64), 0, n - 1)
    return EcgRecord(name, ecg.astype(np.float32), idx, np.asarray(kinds, dtype="<U1"), fs)


def records_to_splits(
    records: Sequence[EcgRecord],
    *,
    name: str,
    test: Sequence[str] | None = None,
    segment_s: float = 6.0,
    warmup_s: float = 2.0,
) -> DataSplits:
    """Cut records into consecutive segments with a warm-up prefix; references per record.

    Example ``j`` of a record holds samples ``[j*S - W, (j+1)*S)`` (``S = segment_s``,
    ``W = warmup_s``; zeros before the record's start and after its end): its *core*, the
    last ``S`` seconds, tiles the record exactly, and the prefix lets causal filters
    settle, so per-example features stitched core after core equal the features of the
    whole record streamed from its start (the first prefix is zeros: the zero initial
    state). ``meta``: ``rec`` (record index), ``t_s`` (core start, s), ``n_valid`` (core
    samples inside the record). ``y`` is the record's mean reference heart rate (BPM).

    Reference beats are per record, in ``extra``: ``<split>_beats`` / ``_symbols`` /
    ``_beat_offsets`` (record ``i``'s beats are ``beats[off[i]:off[i+1]]``, sample indices
    in the record), ``<split>_exclude`` / ``_exclude_offsets`` (intervals left out of
    scoring), ``<split>_record_length``, ``warmup_samples`` and ``segment_samples``.

    ``test`` names the test records (default: all). A DSP-only recipe fits nothing, so
    train and val hold the first two segments of the first record (the pipeline requires a
    non-empty training split).
    """
    if not records:
        raise DatasetError(f"dataset={name} found no records")
    fs = float(records[0].sample_rate)
    if any(float(r.sample_rate) != fs for r in records):
        raise DatasetError(f"dataset={name}: records have different sample rates; resample them to one rate")
    if not segment_s > 0 or not warmup_s >= 0:
        raise ConfigError(f"segment_s={segment_s} must be > 0 and warmup_s={warmup_s} >= 0")
    seg, warm = int(round(segment_s * fs)), int(round(warmup_s * fs))
    names = [r.name for r in records]
    test_names = list(names) if not test else [str(t) for t in test]
    missing = [t for t in test_names if t not in names]
    if missing:
        raise DatasetError(f"dataset={name}: test record(s) {missing} not found; available: {', '.join(names)}")
    extra: dict[str, Any] = {"warmup_samples": np.asarray(warm, np.int64), "segment_samples": np.asarray(seg, np.int64)}

    def pack(recs: list[EcgRecord], split: str, max_segments: int | None = None) -> Split:
        xs, ys, gs, rec_i, t0, valid = [], [], [], [], [], []
        offsets, ex_offsets = [0], [0]
        beats, symbols, excl = [], [], []
        for i, r in enumerate(recs):
            n = len(r.ecg)
            padded = np.concatenate([np.zeros(warm, np.float32), np.asarray(r.ecg, np.float32), np.zeros(seg, np.float32)])
            rr = np.diff(r.beats) / fs
            hr = 60.0 / rr.mean() if rr.size else np.nan
            n_seg = -(-n // seg)
            if max_segments is not None:
                n_seg = min(n_seg, max_segments)
            for j in range(n_seg):
                xs.append(padded[j * seg : j * seg + warm + seg])
                ys.append(hr)
                gs.append(r.name)
                rec_i.append(i)
                t0.append(j * seg / fs)
                valid.append(min(seg, n - j * seg))
            beats.append(np.asarray(r.beats, np.int64))
            symbols.append(np.asarray(r.symbols, "<U1"))
            offsets.append(offsets[-1] + len(r.beats))
            ex = np.asarray(r.exclude, np.int64).reshape(-1, 2)
            excl.append(ex)
            ex_offsets.append(ex_offsets[-1] + len(ex))
        extra[f"{split}_beats"] = np.concatenate(beats)
        extra[f"{split}_symbols"] = np.concatenate(symbols)
        extra[f"{split}_beat_offsets"] = np.asarray(offsets, np.int64)
        extra[f"{split}_exclude"] = np.concatenate(excl).reshape(-1, 2)
        extra[f"{split}_exclude_offsets"] = np.asarray(ex_offsets, np.int64)
        extra[f"{split}_record_length"] = np.asarray([len(r.ecg) for r in recs], np.int64)
        meta = {"rec": np.asarray(rec_i, np.int32), "t_s": np.asarray(t0, np.float64), "n_valid": np.asarray(valid, np.int64)}
        return Split(np.stack(xs)[:, None, :], np.asarray(ys, np.float32), np.asarray(gs), meta)

    by_name = {r.name: r for r in records}
    test_recs = [by_name[n] for n in test_names]
    first = [records[0]]
    return DataSplits(pack(first, "train", 2), pack(first, "val", 2), pack(test_recs, "test"), fs, ("ecg",),
                      "regression", (), name, extra=extra)


def stitch(values: np.ndarray, split: Split, data: DataSplits) -> list[np.ndarray]:
    """Per-record arrays from per-segment ones: the cores, in order, cut to the record length.

    ``values`` [shape=(n_segments, ..., warmup + segment)] (e.g. the raw ``x`` or the
    features of a split cut by :func:`records_to_splits`) -> one ``(..., record_length)``
    array per record of the split.

    Examples
    --------
    >>> recs = [simulate_ecg(10.0, rng=i, name=f"r{i}") for i in range(2)]
    >>> d = records_to_splits(recs, name="t", segment_s=3.0, warmup_s=1.0)
    >>> whole = stitch(d.test.x, d.test, d)
    >>> [bool(np.array_equal(w[0], r.ecg)) for w, r in zip(whole, recs)]
    [True, True]
    """
    warm = int(np.asarray(data.extra["warmup_samples"]))
    seg = int(np.asarray(data.extra["segment_samples"]))
    rec = np.asarray(split.meta["rec"])
    t0 = np.asarray(split.meta["t_s"])
    valid = np.asarray(split.meta["n_valid"])
    out = []
    for r in np.unique(rec):
        idx = np.flatnonzero(rec == r)
        idx = idx[np.argsort(t0[idx], kind="stable")]
        parts = [np.asarray(values[i])[..., warm : warm + int(valid[i])] for i in idx]
        out.append(np.concatenate(parts, axis=-1))
        if any(int(valid[i]) > seg for i in idx):  # pragma: no cover - guarded by records_to_splits
            raise DatasetError("segment meta is inconsistent: n_valid exceeds the segment length")
    return out


def split_beats(data: DataSplits, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-record ``(beat sample indices, symbols)`` of a split packed by :func:`records_to_splits`.

    Examples
    --------
    >>> recs = [simulate_ecg(10.0, rng=i, name=f"r{i}") for i in range(2)]
    >>> d = records_to_splits(recs, name="t")
    >>> [len(b) for b, _ in split_beats(d, "test")] == [len(r.beats) for r in recs]
    True
    """
    key = f"{split}_beats"
    if key not in data.extra:
        raise DatasetError(f"dataset {data.name!r} carries no reference beats; use an ECG dataset (ecg_sim, mitbih)")
    b, s, off = data.extra[key], data.extra[f"{split}_symbols"], data.extra[f"{split}_beat_offsets"]
    return [(np.asarray(b[off[i] : off[i + 1]]), np.asarray(s[off[i] : off[i + 1]])) for i in range(len(off) - 1)]


def split_exclusions(data: DataSplits, split: str) -> list[np.ndarray]:
    """Per-record ``(k, 2)`` excluded sample intervals (none for simulated records)."""
    key = f"{split}_exclude"
    if key not in data.extra:
        n = len(data.extra.get(f"{split}_beat_offsets", [0, 0])) - 1
        return [np.zeros((0, 2), np.int64) for _ in range(n)]
    ex, off = np.asarray(data.extra[key]).reshape(-1, 2), data.extra[f"{split}_exclude_offsets"]
    return [ex[off[i] : off[i + 1]] for i in range(len(off) - 1)]


@dataclass(frozen=True)
class EcgSimOptions:
    """Options of :class:`EcgSim`; ``conf/dataset/ecg_sim.yaml`` overrides them."""

    n_records: int = 8  # records (each is one test example; nothing is trained)
    minutes: float = 5.0  # length of each record, minutes
    sample_rate: float = 360.0  # Hz (MIT-BIH's rate)
    pvc_rate: float = 0.03  # fraction of premature ventricular beats
    noise: float = 1.0  # scales baseline wander, EMG, power-line and electrode-motion noise
    segment_s: float = 6.0  # seconds per test example (a record is cut into these)
    warmup_s: float = 2.0  # seconds of signal before each segment, for the detector to settle
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class EcgSim(Dataset):
    """Simulated single-lead ECG records with R-peak annotations (the ECG recipe's default).

    Options (``conf/dataset/ecg_sim.yaml``): ``n_records``, ``minutes`` per record,
    ``sample_rate`` (Hz), ``pvc_rate``, ``noise``, ``smoke`` (3 records x 1 minute).
    """

    name = "ecg_sim"
    task = "regression"
    modality = "ecg"
    VERSION = 3
    Options = EcgSimOptions

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        smoke = bool(o.pop("smoke", False))
        n_rec = int(o.pop("n_records", 8))
        minutes = float(o.pop("minutes", 5.0))
        fs = float(o.pop("sample_rate", 360.0))
        pvc = float(o.pop("pvc_rate", 0.03))
        noise = float(o.pop("noise", 1.0))
        segment_s, warmup_s = float(o.pop("segment_s", 6.0)), float(o.pop("warmup_s", 2.0))
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of ecg_sim; see conf/dataset/ecg_sim.yaml")
        if smoke:
            n_rec, minutes = min(n_rec, 3), min(minutes, 1.0)
        if n_rec < 1 or minutes <= 0:
            raise ConfigError(f"ecg_sim needs n_records >= 1 and minutes > 0 (got {n_rec}, {minutes})")
        recs = [
            simulate_ecg(minutes * 60.0, sample_rate=fs, rng=np.random.default_rng([self.seed, 100 + i]),
                         pvc_rate=pvc, noise=noise, name=f"ecg{i:02d}")
            for i in range(n_rec)
        ]
        return records_to_splits(recs, name=self.name, segment_s=segment_s, warmup_s=warmup_s)
