"""heart_rate data: the PPG and ECG simulators, and the loaders on tiny files in the real formats."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from helpers.run_if import SHARED_DATA, needs_shared_data

from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ecg import EcgSim, simulate_ecg, split_beats
from tinyml_suite.datasets.synthetic.ppg import (
    ACTIVITIES,
    PPG_CHANNELS,
    PpgSim,
    simulate_wrist_ppg,
    window_reference_bpm,
)

FS = 32.0


def _spectral_peak_bpm(x: np.ndarray, fs: float, lo_hz: float = 0.5, hi_hz: float = 4.0) -> float:
    """Highest periodogram peak (Hann, 4x zero padding) of a detrended window, in BPM."""
    x = x - x.mean()
    n_fft = 4 * len(x)
    p = np.abs(np.fft.rfft(x * np.hanning(len(x)), n_fft)) ** 2
    f = np.fft.rfftfreq(n_fft, 1 / fs)
    band = (f >= lo_hz) & (f <= hi_hz)
    return float(f[band][np.argmax(p[band])] * 60)


def _windows(r, window_s=8.0, hop_s=2.0):
    win, hop = int(window_s * r.sample_rate), int(hop_s * r.sample_rate)
    n = 1 + (len(r.ppg) - win) // hop
    starts = np.arange(n) * hop
    ref = window_reference_bpm(r.beats, starts / r.sample_rate, window_s)
    return starts, win, ref


# -- PPG simulator ---------------------------------------------------------------------


def test_ppg_sim_is_deterministic_for_a_seed():
    a = simulate_wrist_ppg(120.0, rng=5)
    b = simulate_wrist_ppg(120.0, rng=5)
    c = simulate_wrist_ppg(120.0, rng=6)
    assert np.array_equal(a.ppg, b.ppg) and np.array_equal(a.acc, b.acc) and np.array_equal(a.beats, b.beats)
    assert not np.array_equal(a.ppg[:1000], c.ppg[:1000])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppg_sim_spectrum_peak_follows_the_hr_trajectory(seed):
    # Without motion artefacts the PPG's spectral peak is the heart rate in every window
    # of every activity: within 3.75 BPM (one 0.0625 Hz bin of the padded FFT), the
    # whole 10-minute trajectory (rest -> walk -> run -> ...) included.
    r = simulate_wrist_ppg(600.0, rng=seed, artefact_scale=0.0)
    starts, win, ref = _windows(r)
    est = np.array([_spectral_peak_bpm(r.ppg[s : s + win], FS) for s in starts])
    err = np.abs(est - ref)
    assert np.all(np.isfinite(ref))
    assert ref.max() - ref.min() > 40, "the protocol must move the HR (rest to running)"
    assert np.mean(err < 3.75) >= 0.98, np.percentile(err, [50, 90, 100])
    assert np.median(err) < 1.5


def test_ppg_sim_motion_is_on_the_cadence_and_corrupts_the_ppg():
    r = simulate_wrist_ppg(600.0, rng=3)
    starts, win, ref = _windows(r)
    mid = starts + win // 2
    act = r.activity[mid]
    run = act == ACTIVITIES.index("run")
    rest = act == ACTIVITIES.index("rest")
    assert run.sum() > 10 and rest.sum() > 5
    # ACC magnitude (gravity removed) peaks at the arm-swing rate or its harmonics
    # (step cadence = 2 x arm rate) while running.
    hits = 0
    for s in starts[run]:
        acc = np.linalg.norm(r.acc[:, s : s + win] - r.acc[:, s : s + win].mean(1, keepdims=True), axis=0)
        peak = _spectral_peak_bpm(acc, FS, 0.5, 6.0) / 60
        arm = float(np.mean(r.cadence_hz[s : s + win])) / 2
        hits += min(abs(peak - h * arm) for h in (1, 2, 3, 4)) < 0.15
    assert hits / run.sum() > 0.9
    # at rest the PPG peak is the HR; while running the artefact often wins (the hard case)
    err = np.abs(np.array([_spectral_peak_bpm(r.ppg[s : s + win], FS) for s in starts]) - ref)
    assert np.mean(err[rest] < 3.75) > 0.9
    assert np.mean(err[run] > 10) > 0.3


def test_ppg_sim_test_protocol_exercises():
    # The SPC 2015 test protocol's movements: each exercise moves the wrist (ACC) and
    # corrupts the PPG; push-ups corrupt it hard while the wrist barely accelerates.
    protocol = [("rest", 30.0), ("forearm", 60.0), ("upper_arm", 60.0), ("jump", 60.0), ("pushup", 60.0), ("boxing", 60.0)]
    r = simulate_wrist_ppg(0.0, rng=2, protocol=protocol)
    clean = simulate_wrist_ppg(0.0, rng=2, protocol=protocol, artefact_scale=0.0)
    assert np.array_equal(r.acc, clean.acc) and np.array_equal(r.beats, clean.beats)
    starts, win, ref = _windows(r)
    act = r.activity[starts + win // 2]
    acc_sd = np.array([r.acc[:, s : s + win].std(axis=1).max() for s in starts])
    art_sd = np.array([(r.ppg - clean.ppg)[s : s + win].std() for s in starts])
    per = {a: act == ACTIVITIES.index(a) for a, _ in protocol}
    assert all(m.sum() >= 20 for a, m in per.items() if a != "rest")
    for a in ("forearm", "upper_arm", "jump", "boxing"):
        assert np.median(acc_sd[per[a]]) > 0.1, a
    assert np.median(acc_sd[per["jump"]]) > 3 * np.median(acc_sd[per["pushup"]])
    assert np.median(acc_sd[per["pushup"]]) < 0.15 and np.median(art_sd[per["pushup"]]) > 0.15
    # the PPG's spectral peak stops being the heart rate in many exercise windows ...
    ex = np.isin(act, [ACTIVITIES.index(a) for a in ("forearm", "upper_arm", "jump", "pushup", "boxing")])
    err = np.abs(np.array([_spectral_peak_bpm(r.ppg[s : s + win], FS) for s in starts]) - ref)
    err0 = np.abs(np.array([_spectral_peak_bpm(clean.ppg[s : s + win], FS) for s in starts]) - ref)
    assert np.mean(err[ex] > 5) > 0.2
    # ... although without the artefact it is (the HR jumps while jumping: one 3.75 BPM bin of slack)
    assert np.mean(err0[ex] <= 5) > 0.9
    assert ref[per["jump"]].mean() > ref[per["forearm"]].mean() + 15
    with pytest.raises(ConfigError, match="protocol kind 'dance' is unknown"):
        simulate_wrist_ppg(60.0, protocol_kind="dance")


def test_ppg_sim_saturates_and_bad_arguments():
    r = simulate_wrist_ppg(300.0, rng=0, protocol=[("rest", 30.0), ("walk", 30.0), ("run", 240.0)], artefact_scale=6.0)
    top = r.ppg.max()
    assert np.mean(r.ppg >= top - 1e-6) > 0.001  # clipped at the ADC range
    with pytest.raises(ConfigError, match="sample_rate"):
        simulate_wrist_ppg(10.0, sample_rate=8.0)
    with pytest.raises(ConfigError, match="swim"):
        simulate_wrist_ppg(10.0, protocol=[("swim", 10.0)])


def test_window_reference_is_mean_rr():
    beats = np.concatenate([np.arange(0, 10, 1.0), 10 + np.arange(0, 10, 0.5)])
    ref = window_reference_bpm(beats, np.array([0.0, 12.0]), 8.0)
    assert ref.tolist() == pytest.approx([60.0, 120.0])
    assert np.isnan(window_reference_bpm(np.array([1.0]), np.array([0.0]), 8.0)[0])


def test_ppg_sim_dataset_splits_by_subject():
    d = PpgSim(seed=1, cache=False, n_subjects=5, minutes=1.0, n_test=1, n_val=1).load()
    assert d.channels == PPG_CHANNELS and d.sample_rate == FS and d.task == "regression"
    assert d.train.x.shape[1:] == (4, 256)
    groups = [set(getattr(d, s).groups) for s in ("train", "val", "test")]
    assert len(groups[2]) == 1 and len(groups[1]) == 1 and len(groups[0]) == 3
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert np.all((d.train.y > 35) & (d.train.y < 205))
    # windows of one subject are 2 s apart, in time order
    t = d.test.meta["t_s"]
    assert np.allclose(np.diff(t), 2.0)
    with pytest.raises(ConfigError, match="n_subject"):
        PpgSim(cache=False, n_subject=3).load()


# -- ECG simulator ---------------------------------------------------------------------


def test_ecg_sim_beats_match_the_waveform():
    r = simulate_ecg(120.0, rng=2, mean_hr_bpm=75.0, pvc_rate=0.05, noise=0.0)
    assert np.array_equal(r.ecg, simulate_ecg(120.0, rng=2, mean_hr_bpm=75.0, pvc_rate=0.05, noise=0.0).ecg)
    assert 120 <= len(r.beats) <= 180
    assert {"N", "V"} >= set(r.symbols) and (r.symbols == "V").sum() >= 1
    # every annotation sits on the QRS apex (largest |deviation| within +-50 ms)
    half = int(0.05 * r.sample_rate)
    off = [int(np.argmax(np.abs(r.ecg[b - half : b + half]))) - half for b in r.beats[1:-1] if r.symbols[list(r.beats).index(b)] == "N"]
    assert np.mean(np.abs(off) <= 2) > 0.95


def test_ecg_sim_dataset_cuts_records_into_segments_that_stitch_back():
    from tinyml_suite.common.dsp.qrs import pan_tompkins
    from tinyml_suite.datasets.synthetic.ecg import stitch

    d = EcgSim(seed=0, cache=False, n_records=3, minutes=0.5, segment_s=6.0, warmup_s=2.0).load()
    assert d.test.x.shape == (3 * 5, 1, 8 * 360)  # 30 s = 5 segments of 6 s, each with a 2 s warm-up
    beats = split_beats(d, "test")
    assert len(beats) == 3 and all(len(b) > 15 for b, _ in beats)
    whole = stitch(d.test.x, d.test, d)
    assert [w.shape for w in whole] == [(1, 30 * 360)] * 3
    # features per segment, stitched core after core == features of the streamed record
    # (band-pass and integral exactly; the 0.5 Hz high-pass row to its 2 s settling)
    f_seg = stitch(pan_tompkins(d.test.x[:, 0], sample_rate=360.0), d.test, d)
    for f, w in zip(f_seg, whole):
        g = pan_tompkins(w[0], sample_rate=360.0)
        np.testing.assert_allclose(f[1:], g[1:], rtol=1e-5, atol=1e-6 * np.abs(g[1:]).max())
        assert np.abs(f[0] - g[0]).max() < 0.01 * np.abs(g[0]).max()


# -- SPC 2015 (.mat) -------------------------------------------------------------------


def _write_spc(root, subject: int | str, hr_bpm: float, seconds: float = 40.0, rng=None, *, kind: str = "training",
               ref_dir=None, n_ref: int | None = None, ref: np.ndarray | None = None):
    """One SPC 2015 recording in the official naming: ``kind`` training (DATA_<nn>_TYPE02 +
    _BPMtrace), extra (DATA_<S..>, BPM_<S..>) or test (TEST_<S..>, 5 rows, True_<S..> in
    ``ref_dir``). Returns the number of 8 s / 2 s windows of the signal."""
    import scipy.io

    fs = 125.0
    t = np.arange(int(seconds * fs)) / fs
    ppg = np.sin(2 * np.pi * hr_bpm / 60 * t)
    acc = np.stack([0.01 * np.sin(t), 0.02 * np.cos(t), np.ones_like(t)])
    rows = [ppg, ppg + 0.1, *acc] if kind == "test" else [np.zeros_like(t), ppg, ppg + 0.1, *acc]
    sig_name, ref_name = {
        "training": (f"DATA_{subject:02d}_TYPE02" if isinstance(subject, int) else "", ""),
        "extra": (f"DATA_{subject}", f"BPM_{subject}"),
        "test": (f"TEST_{subject}", f"True_{subject}"),
    }[kind]
    ref_name = ref_name or f"{sig_name}_BPMtrace"
    root.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / f"{sig_name}.mat", {"sig": np.vstack(rows)})
    n_win = 1 + (len(t) - 1000) // 250
    bpm = np.full((n_win if n_ref is None else n_ref, 1), hr_bpm) if ref is None else np.asarray(ref, float)[:, None]
    (ref_dir or root).mkdir(parents=True, exist_ok=True)
    scipy.io.savemat((ref_dir or root) / f"{ref_name}.mat", {"BPM0": bpm})
    return n_win


def test_spc2015_loader_reads_mat_files(tmp_path):
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015

    n_win = [_write_spc(tmp_path, s, 60 + 10 * s) for s in (1, 2, 3)]
    d = Spc2015(root=str(tmp_path), fold=1, cache=False).load()
    assert d.sample_rate == FS and d.test.x.shape == (n_win[1], 4, 256)
    assert set(d.test.groups) == {"02"} and set(d.val.groups) == {"03"} and set(d.train.groups) == {"01"}
    assert np.allclose(d.test.y, 80.0)
    # the PPG channel is the mean of PPG1 and PPG2, resampled to 32 Hz: its peak is the HR
    assert abs(_spectral_peak_bpm(d.test.x[0, 0], FS) - 80.0) < 2.0
    assert np.allclose(d.test.x[:, 3].mean(), 1.0, atol=0.01)  # ACC z kept in g


def test_spc2015_loader_errors(tmp_path):
    import scipy.io

    from tinyml_suite.datasets.loaders.spc2015 import Spc2015

    with pytest.raises(DatasetError, match="dataset.root=.*does not exist"):
        Spc2015(root=str(tmp_path / "nope"), cache=False).load()
    with pytest.raises(DatasetError, match="needs a folder"):
        Spc2015(root="???", cache=False).load()
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="holds no SPC 2015 files"):
        Spc2015(root=str(tmp_path), cache=False).load()
    _write_spc(tmp_path, 1, 70)
    with pytest.raises(DatasetError, match="fold=5 is out of range"):
        Spc2015(root=str(tmp_path), fold=5, cache=False).load()
    scipy.io.savemat(tmp_path / "DATA_02_TYPE02.mat", {"signal": np.zeros((6, 2000))})
    scipy.io.savemat(tmp_path / "DATA_02_TYPE02_BPMtrace.mat", {"BPM0": np.zeros((1, 1))})
    with pytest.raises(DatasetError, match="no variable 'sig'"):
        Spc2015(root=str(tmp_path), cache=False).load()
    (tmp_path / "DATA_02_TYPE02_BPMtrace.mat").unlink()
    with pytest.raises(DatasetError, match="no reference file DATA_02_TYPE02_BPMtrace.mat"):
        Spc2015(root=str(tmp_path), cache=False).load()
    with pytest.raises(ConfigError, match="dataset.bogus"):
        Spc2015(root=str(tmp_path), bogus=1, cache=False).load()


def _official_tree(root):
    """A tiny tree of the official SPC 2015 distribution's shape."""
    n = {"01": _write_spc(root / "Training_data", 1, 70), "02": _write_spc(root / "Training_data", 2, 90, seconds=30)}
    n["S04_T01"] = _write_spc(root / "Extra_TrainingData", "S04_T01", 100, kind="extra")
    for rec, hr in (("S01_T01", 110), ("S04_T02", 120)):
        n[rec] = _write_spc(root / "TestData", rec, hr, kind="test", ref_dir=root / "TrueBPM")
    return n


def test_spc2015_reads_the_official_layout_unchanged(tmp_path):
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015, find_spc_files

    n = _official_tree(tmp_path)
    # training recordings only by default
    d = Spc2015(root=str(tmp_path), test_subjects=["02"], cache=False).load()
    assert set(d.train.groups) == {"01"} and set(d.test.groups) == {"02"} and len(d.test) == n["02"]
    # include_extra: the extra recording, and the test recordings with their TrueBPM/ references
    files = find_spc_files(tmp_path, include_extra=True)
    assert [(f.subject, f.recording, f.kind) for f in files] == [
        ("01", "01", "training"), ("02", "02", "training"), ("S01", "S01_T01", "test"),
        ("S04", "S04_T01", "extra"), ("S04", "S04_T02", "test")]
    assert files[2].reference == tmp_path / "TrueBPM" / "True_S01_T01.mat"
    d = Spc2015(root=str(tmp_path), include_extra=True, test_subjects=["S04"], val_subjects=["S01"], cache=False).load()
    # one person, two recordings: both on the same side of the split, each named in meta
    assert set(d.test.groups) == {"S04"} and sorted(set(d.test.meta["recording"])) == ["S04_T01", "S04_T02"]
    for rec, hr in (("S04_T01", 100.0), ("S04_T02", 120.0)):
        m = d.test.meta["recording"] == rec
        assert m.sum() == n[rec] and np.allclose(d.test.y[m], hr)
        assert abs(_spectral_peak_bpm(d.test.x[m][0, 0], FS) - hr) < 2.0  # 5-row test files: PPG rows 0-1
    assert set(d.val.groups) == {"S01"} and set(d.train.groups) == {"01", "02"}
    # a flat folder of the same files still loads
    flat = tmp_path / "flat"
    _write_spc(flat, 1, 70)
    _write_spc(flat, "S01_T01", 110, kind="test")
    assert {f.recording for f in find_spc_files(flat, include_extra=True)} == {"01", "S01_T01"}


def test_spc2015_training_copies_with_synthetic_motion(tmp_path):
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015
    from tinyml_suite.datasets.synthetic.ppg import add_synthetic_motion

    for s in (1, 2, 3):
        _write_spc(tmp_path, s, 60 + 10 * s)
    plain = Spc2015(root=str(tmp_path), fold=0, cache=False).load()
    d = Spc2015(root=str(tmp_path), fold=0, augment_copies=1, augment_activities=["jump", "forearm"], cache=False).load()
    n = len(plain.train)
    assert len(d.train) == 2 * n and len(d.val) == len(plain.val) and len(d.test) == len(plain.test)
    assert np.array_equal(d.test.x, plain.test.x)  # never the evaluation windows
    aug = d.train.meta["augmented"] == 1
    assert aug.sum() == n and np.array_equal(d.train.y[aug], d.train.y[~aug])
    assert np.array_equal(d.train.x[~aug], plain.train.x)
    # the copies move: ACC motion (gravity kept) and a PPG artefact on the same real pulse
    assert np.all(d.train.x[aug, 1:].std(axis=-1).max(axis=1) > 0.05)
    assert np.allclose(d.train.x[aug, 1:].mean(axis=-1), plain.train.x[:, 1:].mean(axis=-1), atol=0.05)
    # ACC-consistent: the artefact's strongest line sits on a line of the added motion or
    # on a harmonic of its fundamental (the coupling is nonlinear)
    x = plain.train.x[:40]
    y = add_synthetic_motion(x, np.random.default_rng(3), sample_rate=FS, activities=["forearm"], artefact=(2.0, 2.0))
    hits = 0
    for a, b in zip(x, y):
        art_peak = _spectral_peak_bpm(b[0] - a[0], FS)
        f = np.fft.rfftfreq(1024, 1 / FS) * 60
        band = (f >= 30) & (f <= 240)
        acc_power = sum(np.abs(np.fft.rfft((b[k] - a[k]) * np.hanning(256), 1024)) ** 2 for k in (1, 2, 3))[band]
        lines = f[band][acc_power > 0.1 * acc_power.max()]
        fundamental = f[band][np.argmax(acc_power)]
        lines = np.concatenate([lines, fundamental * np.array([2.0, 3.0])])
        hits += np.min(np.abs(lines - art_peak)) < 4.0
    assert hits >= 0.9 * len(x), (hits, len(x))
    with pytest.raises(ConfigError, match="augmentation activities"):
        add_synthetic_motion(x, np.random.default_rng(0), sample_rate=FS, activities=["rest"])


def test_spc2015_reference_checks(tmp_path, caplog):
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015

    _write_spc(tmp_path, 1, 70)
    n2 = _write_spc(tmp_path, 2, 80, n_ref=3)  # a 3-value trace for a 17-window recording
    with pytest.raises(DatasetError, match=rf"DATA_02_TYPE02_BPMtrace.mat holds 3 reference values but "
                                           rf"DATA_02_TYPE02.mat \(5000 samples at 125 Hz\) has {n2} windows"):
        Spc2015(root=str(tmp_path), cache=False).load()
    d = Spc2015(root=str(tmp_path), reference_length="trim", test_subjects=["02"], n_val=0, cache=False).load()
    assert len(d.test) == 3 and "keeping the first 3" in caplog.text
    with pytest.raises(ConfigError, match="reference_length='loose' must be 'exact' or 'trim'"):
        Spc2015(root=str(tmp_path), reference_length="loose", cache=False).load()
    # NaN references: reported with their count, the windows left out
    ref = np.full(n2, 80.0)
    ref[[0, 5, 6]] = np.nan
    _write_spc(tmp_path, 2, 80, ref=ref)
    caplog.clear()
    d = Spc2015(root=str(tmp_path), test_subjects=["02"], n_val=0, cache=False).load()
    assert len(d.test) == n2 - 3 and int(d.extra["dropped_reference_windows"]) == 3
    assert "recording 02: 3 of 17 reference values are NaN" in caplog.text
    # a test recording whose reference is missing, or present twice
    _write_spc(tmp_path / "TestData", "S01_T01", 110, kind="test", ref_dir=tmp_path / "TrueBPM")
    (tmp_path / "TrueBPM" / "True_S01_T01.mat").rename(tmp_path / "True_S01_T01.mat.bak")
    with pytest.raises(DatasetError, match="TEST_S01_T01.mat has no reference file True_S01_T01.mat beside it or anywhere"):
        Spc2015(root=str(tmp_path), include_extra=True, cache=False).load()
    _write_spc(tmp_path / "TestData", "S01_T01", 110, kind="test", ref_dir=tmp_path / "TrueBPM")
    _write_spc(tmp_path / "copy", "S01_T01", 110, kind="test", ref_dir=tmp_path / "copy" / "TrueBPM")
    (tmp_path / "copy" / "TEST_S01_T01.mat").unlink()
    with pytest.raises(DatasetError, match="TEST_S01_T01.mat: 2 reference files named True_S01_T01.mat"):
        Spc2015(root=str(tmp_path), include_extra=True, cache=False).load()


# -- PPG-DaLiA (pickle) ----------------------------------------------------------------


def _dalia_dict(subject: str, hr: float, seconds: float = 40.0) -> dict:
    t64 = np.arange(int(seconds * 64)) / 64
    t32 = np.arange(int(seconds * 32)) / 32
    n_win = 1 + int((seconds - 8) // 2)
    return {
        "signal": {
            "wrist": {
                "BVP": (50 * np.sin(2 * np.pi * hr / 60 * t64))[:, None],
                "ACC": np.stack([np.zeros_like(t32), np.zeros_like(t32), np.full_like(t32, 64.0)], axis=1),
                "EDA": np.zeros((int(seconds * 4), 1)),
            },
            "chest": {"ECG": np.zeros((10, 1))},
        },
        "label": np.full(n_win, hr),
        "activity": np.zeros((int(seconds * 4), 1)),
        "subject": subject,
        "questionnaire": {"AGE": 30, "Gender": " m"},
    }


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_dalia_loader_reads_pickles(tmp_path):
    from tinyml_suite.datasets.loaders.ppg_dalia import PpgDalia

    for k, hr in ((1, 70.0), (2, 90.0), (3, 110.0)):
        (tmp_path / f"S{k}").mkdir()
        with open(tmp_path / f"S{k}" / f"S{k}.pkl", "wb") as fh:
            pickle.dump(_dalia_dict(f"S{k}", hr), fh, protocol=2 if k == 1 else 4)
    d = PpgDalia(root=str(tmp_path), test_subjects=["S3"], val_subjects=["S2"], cache=False).load()
    assert set(d.test.groups) == {"S3"} and set(d.train.groups) == {"S1"}
    assert d.test.x.shape == (17, 4, 256) and np.allclose(d.test.y, 110.0)
    assert abs(_spectral_peak_bpm(d.test.x[3, 0], FS) - 110.0) < 2.0
    assert np.allclose(d.test.x[:, 3, 32:-32], 1.0, atol=0.02)  # 64 units of 1/64 g = 1 g


def test_dalia_loader_refuses_a_malicious_pickle(tmp_path):
    from tinyml_suite.datasets.loaders.ppg_dalia import PpgDalia, safe_load_pickle

    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = marker
    (tmp_path / "S1").mkdir()
    path = tmp_path / "S1" / "S1.pkl"
    payload = _dalia_dict("S1", 70.0)
    payload["signal"]["wrist"]["BVP"] = evil
    with open(path, "wb") as fh:
        pickle.dump(payload, fh)
    with pytest.raises(DatasetError, match=r"refusing to unpickle posix\.system.*malicious"):
        PpgDalia(root=str(tmp_path), cache=False).load()
    assert not marker.exists(), "the payload ran"
    # other dangerous globals are refused too, whatever the protocol
    for obj in (eval, getattr, pickle.loads):
        with open(path, "wb") as fh:
            pickle.dump({"x": obj}, fh, protocol=2)
        with pytest.raises(DatasetError, match="refusing to unpickle"):
            safe_load_pickle(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="not a readable pickle"):
        safe_load_pickle(path)


def test_dalia_loader_missing_keys(tmp_path):
    from tinyml_suite.datasets.loaders.ppg_dalia import PpgDalia

    with open(tmp_path / "S1.pkl", "wb") as fh:
        pickle.dump({"signal": {"chest": {}}, "label": np.zeros(3)}, fh)
    with pytest.raises(DatasetError, match="no signal/wrist"):
        PpgDalia(root=str(tmp_path), cache=False).load()


# -- CSV -------------------------------------------------------------------------------


def _write_csv(path, hr=72.0, fs=50.0, seconds=30.0, header="time,ppg,acc_x,acc_y,acc_z,hr"):
    t = np.arange(int(seconds * fs)) / fs
    rows = [f"{v:.4f},{np.sin(2 * np.pi * hr / 60 * v):.5f},0,0,1000,{hr}" for v in t]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def test_csv_loader(tmp_path):
    from tinyml_suite.datasets.loaders.ppg_csv import PpgCsv

    for i, hr in enumerate((66.0, 96.0)):
        _write_csv(tmp_path / f"rec{i}.csv", hr=hr)
    d = PpgCsv(root=str(tmp_path), test_subjects=["rec1"], acc_scale=0.001, cache=False).load()
    assert d.test.x.shape == (12, 4, 256) and np.allclose(d.test.y, 96.0)
    assert np.allclose(d.test.x[:, 3, 32:-32], 1.0, atol=0.02)
    assert abs(_spectral_peak_bpm(d.test.x[0, 0], FS) - 96.0) < 2.0


def test_csv_loader_errors(tmp_path):
    from tinyml_suite.datasets.loaders.ppg_csv import PpgCsv

    _write_csv(tmp_path / "a.csv", header="time,ppg,acc_x,acc_y,acc_z,bpm")
    with pytest.raises(DatasetError, match="no reference heart-rate column 'hr'.*dataset.columns.hr"):
        PpgCsv(root=str(tmp_path), cache=False).load()
    d = PpgCsv(root=str(tmp_path), columns={"hr": "bpm"}, cache=False).load()
    assert len(d.test) > 0
    lines = (tmp_path / "a.csv").read_text().splitlines()
    lines[10] = "0.5000,0.1,0,0,1,72"  # time jumps back
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="not strictly increasing"):
        PpgCsv(root=str(tmp_path), columns={"hr": "bpm"}, cache=False).load()
    _write_csv(tmp_path / "a.csv")
    lines = (tmp_path / "a.csv").read_text().splitlines()
    lines[5] = lines[5].replace("0,0,1000", "0,,1000")
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="line 6 has a missing"):
        PpgCsv(root=str(tmp_path), cache=False).load()


# -- MIT-BIH (WFDB) --------------------------------------------------------------------


def _write_wfdb(root, name: str, seconds: float = 20.0, leads=("MLII", "V1")):
    import wfdb

    r = simulate_ecg(seconds, rng=int(name) % 97, mean_hr_bpm=72.0, pvc_rate=0.1, noise=0.3, name=name)
    sig = np.stack([r.ecg, 0.5 * r.ecg], axis=1).astype(np.float64)
    wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=list(leads), p_signal=sig,
                fmt=["212", "212"], adc_gain=[200.0, 200.0], baseline=[1024, 1024], write_dir=str(root))
    # beats plus non-beat annotations (rhythm change '+', noise '~') that must be ignored
    samples = np.concatenate([r.beats, [5, 3000]])
    symbols = list(r.symbols) + ["+", "~"]
    order = np.argsort(samples, kind="stable")
    aux = [("(N" if symbols[i] == "+" else "") for i in order]
    wfdb.wrann(name, "atr", samples[order], symbol=[symbols[i] for i in order], aux_note=aux, write_dir=str(root))
    return r


def test_mitbih_loader_reads_wfdb(tmp_path):
    from tinyml_suite.datasets.loaders.mitbih import MitBih

    recs = {n: _write_wfdb(tmp_path, n) for n in ("100", "101")}
    _write_wfdb(tmp_path, "102", leads=("V5", "V2"))
    from tinyml_suite.datasets.synthetic.ecg import stitch

    d = MitBih(root=str(tmp_path), cache=False).load()
    assert sorted(set(d.test.groups)) == ["100", "101", "102"] and d.sample_rate == 360.0
    beats = split_beats(d, "test")
    for (b, s), name in zip(beats, ("100", "101")):
        assert np.array_equal(b, recs[name].beats) and np.array_equal(s, recs[name].symbols)
    # 212 format keeps 1/200 mV resolution
    assert np.allclose(stitch(d.test.x, d.test, d)[0][0], recs["100"].ecg, atol=0.006)
    assert d.extra["test_leads"].tolist() == ["MLII", "MLII", "V5"]
    one = MitBih(root=str(tmp_path), records=["101"], cache=False).load()
    assert set(one.test.groups) == {"101"}
    with pytest.raises(DatasetError, match=r"dataset.records names \['999'\]"):
        MitBih(root=str(tmp_path), records=["999"], cache=False).load()
    (tmp_path / "101.dat").write_bytes(b"\x00\x01")
    with pytest.raises(DatasetError, match="cannot read WFDB record"):
        MitBih(root=str(tmp_path), records=["101"], cache=False).load()


# -- the real folders (skipped when absent) ----------------------------------------------


@pytest.mark.real_data
@needs_shared_data("ieee_spc2015")
def test_spc2015_real_folder():
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015

    d = Spc2015(root=str(SHARED_DATA / "ieee_spc2015"), fold=0, cache=False).load()
    subjects = set(d.train.groups) | set(d.val.groups) | set(d.test.groups)
    assert subjects == {f"{i:02d}" for i in range(1, 13)}
    assert len(d.test) == 148  # subject 01: 148 reference windows


@pytest.mark.real_data
@needs_shared_data("mitbih")
def test_mitbih_real_folder():
    from tinyml_suite.datasets.loaders.mitbih import MitBih

    d = MitBih(root=str(SHARED_DATA / "mitbih"), records=["101", "207"], cache=False).load()
    b, s = split_beats(d, "test")[0]
    assert len(b) == 1865 and set(s) <= set("NAQ|")  # 101: 1860 N, 3 A, 2 Q
    from tinyml_suite.datasets.synthetic.ecg import split_exclusions

    ex = split_exclusions(d, "test")
    assert len(ex[0]) == 0 and len(ex[1]) >= 1  # 207 has ventricular flutter episodes
