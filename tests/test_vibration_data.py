"""vibration_anomaly data: the simulator's physics, the CWRU and folder loaders, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from helpers.run_if import SHARED_DATA, needs_shared_data

from tinyml_suite.common.dsp import EnvelopeSpectrumParams, envelope_spectrum
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.loaders.cwru import CWRU, RECORDS, parse_name
from tinyml_suite.datasets.loaders.vibration_folder import VibrationFolder
from tinyml_suite.datasets.synthetic.vibration import (
    BearingGeometry,
    MachineParams,
    VibrationSim,
    simulate_recording,
)

FS = 8000.0


# -- simulator: kinematics and physics ------------------------------------------------


def test_bearing_orders_match_the_cwru_drive_end_table():
    o = BearingGeometry().orders()
    # CWRU Bearing Data Center, 6205-2RS JEM SKF, multiples of running speed
    cwru = {"bpfi": 5.4152, "bpfo": 3.5848, "ftf": 0.39828, "rolling_element": 4.7135}
    for key, ref in cwru.items():
        assert o[key] == pytest.approx(ref, rel=1e-3), key
    # kinematic identities: BPFI + BPFO = n fr; BPFO = n FTF
    assert o["bpfi"] + o["bpfo"] == pytest.approx(9.0)
    assert o["bpfo"] == pytest.approx(9 * o["ftf"])


def _envelope_peak(x: np.ndarray, fmin: float = 40.0) -> tuple[float, np.ndarray, np.ndarray]:
    f, a = envelope_spectrum(x, sample_rate=FS, params=EnvelopeSpectrumParams(
        band_low_hz=2000.0, band_high_hz=3800.0, fmax_hz=600.0))
    keep = f >= fmin
    return float(f[keep][np.argmax(a[keep])]), f, a


@pytest.mark.parametrize("fault", ["outer_race", "inner_race", "ball"])
def test_bearing_fault_lines_appear_at_the_computed_frequency(fault):
    """The envelope spectrum's strongest line (above the shaft region) is the defect rate."""
    x, info = simulate_recording(np.random.default_rng(3), sample_rate_hz=FS, seconds=4.0, fault=fault,
                                 severity=2)
    peak, f, a = _envelope_peak(x)
    df = float(f[1] - f[0])  # 0.25 Hz over 4 s
    assert abs(peak - info["fault_hz"]) <= 2 * df, (fault, peak, info["fault_hz"])
    # the same frequency carries far less envelope energy on a healthy machine
    xn, _ = simulate_recording(np.random.default_rng(3), sample_rate_hz=FS, seconds=4.0)
    _, _, an = _envelope_peak(xn)
    k = int(np.argmin(np.abs(f - info["fault_hz"])))
    assert a[k - 2: k + 3].max() > 5 * an[k - 2: k + 3].max()


def test_inner_race_has_shaft_sidebands_and_outer_race_does_not():
    """Load-zone modulation: lines at BPFI +- fr for an inner-race defect only."""
    def sideband_ratio(fault: str) -> float:
        x, info = simulate_recording(np.random.default_rng(5), sample_rate_hz=FS, seconds=4.0, fault=fault,
                                     severity=3)
        _, f, a = _envelope_peak(x)
        fr, fd = info["shaft_hz"], info["fault_hz"]

        def at(freq: float) -> float:
            k = int(np.argmin(np.abs(f - freq)))
            return float(a[k - 2: k + 3].max())

        return (at(fd - fr) + at(fd + fr)) / (2 * at(fd))

    assert sideband_ratio("inner_race") > 0.2
    assert sideband_ratio("outer_race") < 0.1


def test_shaft_faults_raise_their_harmonics():
    def harmonic(x: np.ndarray, f: float) -> float:
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) * 2 / np.hanning(x.size).sum()
        freqs = np.fft.rfftfreq(x.size, 1 / FS)
        k = int(np.argmin(np.abs(freqs - f)))
        return float(spec[k - 3: k + 4].max())

    def run(fault: str, sev: int = 3) -> tuple[float, float, float]:
        x, info = simulate_recording(np.random.default_rng(9), sample_rate_hz=FS, seconds=2.0, fault=fault,
                                     severity=sev)
        fr = info["shaft_hz"]
        return harmonic(x, fr), harmonic(x, 2 * fr), harmonic(x, 0.5 * fr)

    n1, n2, nh = run("normal", 0)
    i1, _, _ = run("imbalance")
    m1, m2, _ = run("misalignment")
    _, _, lh = run("looseness")
    assert i1 > 4 * n1  # severity-3 imbalance: 1x grows 6-fold
    assert m2 / m1 > 2 and n2 / n1 < 0.5  # misalignment: 2x dominates 1x
    assert lh > 5 * nh  # looseness: half-harmonics appear


def test_severity_raises_impact_energy_and_sensor_clips():
    k = []
    for sev in (1, 2, 3):
        x, _ = simulate_recording(np.random.default_rng(1), sample_rate_hz=FS, seconds=2.0, fault="outer_race",
                                  severity=sev)
        k.append(float(np.sqrt(np.mean(x**2))))
    assert k[0] < k[1] < k[2]
    x, _ = simulate_recording(np.random.default_rng(1), sample_rate_hz=FS, seconds=1.0, fault="outer_race",
                              severity=3, machine=MachineParams(sensor_range_g=0.5, adc_bits=8))
    assert np.abs(x).max() <= 0.5 + 1e-6
    step = 1.0 / 2**8
    assert np.allclose(x / step, np.round(x / step), atol=1e-3)  # on the 8-bit grid


def test_simulator_is_deterministic_and_splits_by_recording():
    opts = {"seed": 7, "cache": False, "smoke": True}
    a = VibrationSim(**opts).load()
    b = VibrationSim(**opts).load()
    c = VibrationSim(**{**opts, "seed": 8}).load()
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)
    assert a.labels == ("normal", "inner_race", "ball", "outer_race", "imbalance", "misalignment", "looseness")
    assert a.sample_rate == FS and a.train.x.shape[1:] == (1, 1024)
    groups = [set(s.groups) for s in (a.train, a.val, a.test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert set(a.test.y.tolist()) == set(range(7))
    sev = a.test.meta["severity"]
    assert (sev[a.test.y == 0] == 0).all() and (sev[a.test.y > 0] >= 1).all()


def test_simulator_classifier_subset_has_the_cwru_labels():
    d = VibrationSim(cache=False, smoke=True, faults=["inner_race", "ball", "outer_race"]).load()
    assert d.labels == ("normal", "inner_race", "ball", "outer_race")


@pytest.mark.parametrize(
    "opts, match",
    [
        ({"faults": ["bent_shaft"]}, "bent_shaft"),
        ({"severities": [4]}, "severities"),
        ({"seconds": 0.05}, "window_samples"),
        ({"machine": {"resonance_hz": 3900.0}}, "resonance_hz"),
        ({"machine": {"dampng": 0.1}}, "dampng"),
        ({"normal_recordings": {"train": 0, "val": 1, "test": 1}}, "normal_recordings.train"),
    ],
)
def test_simulator_bad_options_are_one_line_config_errors(opts, match):
    with pytest.raises(ConfigError, match=match) as err:
        VibrationSim(cache=False, **opts).load()
    assert "\n" not in str(err.value)


# -- CWRU loader on tiny files in the real format ---------------------------------------


def _write_cwru(path: Path, rec: int, fs: float, seconds: float, *, rng: np.random.Generator,
                tone_hz: float = 100.0, channels=("DE", "FE", "BA"), rpm: int | None = 1797) -> None:
    n = int(fs * seconds)
    t = np.arange(n) / fs
    data = {}
    for i, ch in enumerate(channels):
        x = 0.1 * np.sin(2 * np.pi * tone_hz * t) + 0.01 * rng.standard_normal(n) + 0.02 * (i + 1)
        data[f"X{rec:03d}_{ch}_time"] = x[:, None]
    if rpm is not None:
        data[f"X{rec:03d}RPM"] = np.array([[rpm]], dtype=np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), data)


@pytest.fixture
def cwru_root(tmp_path, rng):
    root = tmp_path / "cwru"
    _write_cwru(root / "Normal" / "Normal_0.mat", 97, 48000, 2.0, rng=rng)
    for name, rec in [("IR007_0", 105), ("IR007_2", 107), ("B007_0", 118), ("B007_2", 120),
                      ("OR007@6_0", 130), ("OR007@6_2", 132)]:
        _write_cwru(root / "12k_DE" / f"{name}.mat", rec, 12000, 1.0, rng=rng, tone_hz=300.0)
    # a 028 file has the drive-end channel only and no RPM key, as in the public set
    _write_cwru(root / "12k_DE" / "IR028_0.mat", 56, 12000, 1.0, rng=rng, channels=("DE",), rpm=None)
    return root


def test_cwru_names_and_record_numbers():
    f = parse_name(Path("OR021@12_3.mat"))
    assert (f.fault, f.size_mils, f.position, f.load_hp) == ("outer_race", 21, 12, 3)
    assert parse_name(Path("Normal_0.mat")).fault == "normal"
    assert parse_name(Path("B014_2.mat")).fault == "ball"
    assert RECORDS[105] == "IR007_0" and RECORDS[3001] == "IR028_0" and RECORDS[97] == "Normal_0"
    assert parse_name(Path("222.mat")).name == "B021_0"
    assert parse_name(Path("9999.mat"), {9999: "IR014_1"}).load_hp == 1
    with pytest.raises(DatasetError, match="record 9999"):
        parse_name(Path("9999.mat"))
    with pytest.raises(DatasetError, match="IR007_2.mat"):
        parse_name(Path("inner_fault.mat"))


def test_cwru_load_held_out_split_resamples_and_never_shares_a_recording(cwru_root):
    d = CWRU(root=str(cwru_root), cache=False, folder_rates={"Normal": 48000}, target_rate_hz=8000,
             window_samples=512, hop_samples=256, split="by_load", test_loads=[2]).load()
    assert d.labels == ("normal", "inner_race", "ball", "outer_race")
    assert d.sample_rate == 8000 and d.channels == ("DE",)
    assert sorted(d.extra["source_rates_hz"].tolist()) == [12000.0, 48000.0]
    tr, te = d.train, d.test
    # faults: load 0 in train/val, load 2 in test, never the same file
    fault_test = set(te.groups[te.y > 0])
    assert fault_test == {"IR007_2", "B007_2", "OR007@6_2"}
    assert not fault_test & set(tr.groups) and not fault_test & set(d.val.groups)
    assert set(tr.meta["load_hp"][tr.y > 0].tolist()) == {0.0}
    # the single normal recording is cut in time blocks, flagged
    assert (te.meta["time_split"][te.y == 0] == 1).all() and (te.y == 0).sum() > 0
    # 48 kHz normal resampled to 8 kHz: 2 s -> 16000 samples; the blocks hold 0.6/0.2/0.2
    n_train = (tr.y == 0).sum()
    assert n_train == len(range(0, 9600 - 512 + 1, 256))
    # the 300 Hz tone of the 12 kHz files is still at 300 Hz after resampling
    x = te.x[te.y > 0][0, 0]
    f = np.fft.rfftfreq(x.size, 1 / 8000)[np.argmax(np.abs(np.fft.rfft(x * np.hanning(x.size))))]
    assert abs(f - 300.0) <= 8000 / 512
    # the mean is removed per recording
    assert abs(float(tr.x.mean())) < 0.01
    # IR028 lacks nothing on the DE channel: it is read, with the nominal RPM of load 0
    assert "IR028_0" in set(tr.groups) | set(d.val.groups)
    assert np.all(tr.meta["rpm"][tr.groups == "IR028_0"] == 1797.0)


def test_cwru_by_file_split_and_missing_channels(cwru_root):
    d = CWRU(root=str(cwru_root), cache=False, folder_rates={"Normal": 48000}, window_samples=512,
             split="by_file", test_fraction=0.5, channels=["DE", "FE"]).load()
    assert d.channels == ("DE", "FE") and d.train.x.shape[1] == 2
    all_groups = set(d.train.groups) | set(d.val.groups) | set(d.test.groups)
    assert "IR028_0" not in all_groups  # no FE channel: skipped
    for lab in (1, 2, 3):
        assert set(d.test.groups[d.test.y == lab]).isdisjoint(d.train.groups[d.train.y == lab])


def test_cwru_bad_input_is_one_line(tmp_path, cwru_root):
    with pytest.raises(DatasetError, match="dataset.root=/path/to/cwru"):
        CWRU(root="???", cache=False).load()
    with pytest.raises(DatasetError, match="does not exist"):
        CWRU(root=str(tmp_path / "nope"), cache=False).load()
    # without a rate for the Normal folder
    with pytest.raises(DatasetError, match="sample rate of Normal/Normal_0.mat"):
        CWRU(root=str(cwru_root), cache=False, folder_rates={}).load()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Normal_0.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError, match="cannot read"):
        CWRU(root=str(bad), cache=False, sample_rate_hz=12000).load()
    with pytest.raises(ConfigError, match="split"):
        CWRU(root=str(cwru_root), cache=False, folder_rates={"Normal": 48000}, split="random").load()


@needs_shared_data("cwru")
@pytest.mark.real_data
def test_cwru_public_folder_reads():
    d = CWRU(root=str(SHARED_DATA / "cwru"), cache=False, folder_rates={"Normal": 48000}).load()
    assert d.labels == ("normal", "inner_race", "ball", "outer_race")
    assert sorted(d.extra["source_rates_hz"].tolist()) == [12000.0, 48000.0]
    assert set(d.test.meta["load_hp"][d.test.y > 0].tolist()) == {2.0}


# -- folder loader -----------------------------------------------------------------------


def test_folder_loader_reads_csv_npy_wav(tmp_path, rng):
    import soundfile as sf

    root = tmp_path / "vib"
    fs = 4000
    n = 4 * fs
    for i in range(3):
        (root / "normal").mkdir(parents=True, exist_ok=True)
        x = 0.1 * rng.standard_normal((n, 2))
        np.savetxt(root / "normal" / f"n{i}.csv", x, delimiter=",", header="ax,ay", comments="")
    (root / "bearing").mkdir()
    np.save(root / "bearing" / "b0.npy", 0.2 * rng.standard_normal((n, 2)).astype(np.float32))
    np.save(root / "bearing" / "b1.npy", 0.2 * rng.standard_normal((n, 2)).astype(np.float32))
    (root / "loose").mkdir()
    sf.write(root / "loose" / "l0.wav", 0.5 * rng.uniform(-1, 1, (n, 2)), fs, subtype="PCM_16")
    d = VibrationFolder(root=str(root), cache=False, sample_rate_hz=fs, window_samples=256, hop_samples=128,
                        wav_full_scale=2.0).load()
    assert d.labels == ("normal", "bearing", "loose") and d.sample_rate == fs
    assert d.channels == ("ax", "ay") and d.train.x.shape[1:] == (2, 256)
    # by file: normal and bearing have test files that are not in train
    for lab in (0, 1):
        te = set(d.test.groups[d.test.y == lab])
        assert te and te.isdisjoint(d.train.groups)
    # the single wav file is time-split; its amplitude is scaled by the full scale
    assert (d.test.meta["time_split"][d.test.y == 2] == 1).all()
    assert 0.5 < float(np.abs(d.train.x[d.train.y == 2]).max()) <= 1.0 + 0.02  # +- the removed mean
    # a target rate resamples
    d2 = VibrationFolder(root=str(root), cache=False, sample_rate_hz=fs, target_rate_hz=2000,
                         window_samples=256).load()
    assert d2.sample_rate == 2000


def test_folder_loader_bad_input(tmp_path, rng):
    root = tmp_path / "vib"
    (root / "faulty").mkdir(parents=True)
    np.save(root / "faulty" / "a.npy", rng.standard_normal(1000))
    with pytest.raises(DatasetError, match="no 'normal' folder"):
        VibrationFolder(root=str(root), cache=False, sample_rate_hz=1000).load()
    (root / "normal").mkdir()
    np.save(root / "normal" / "a.npy", rng.standard_normal(1000))
    with pytest.raises(DatasetError, match="sample_rate_hz"):
        VibrationFolder(root=str(root), cache=False).load()
    (root / "normal" / "b.csv").write_text("x\n1.0\nabc\n")
    with pytest.raises(DatasetError, match="not a numeric CSV"):
        VibrationFolder(root=str(root), cache=False, sample_rate_hz=1000).load()
