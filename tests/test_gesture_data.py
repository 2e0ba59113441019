"""Gesture data: the kinematic synthesiser's physics and the three IMU loaders.

Loader tests write tiny files in each real format themselves (tmp_path); the real magic
wand logs are read only when ../shared/data is present.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.run_if import SHARED_DATA, needs_shared_data
from scipy.spatial.transform import Rotation

from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic import gesture_kinematics as K
from tinyml_suite.datasets.synthetic.gestures import GestureSynth


def _still_user(**changes):
    user = K.sample_user(np.random.default_rng(0), "u")
    base = {"base_rotvec": (0.0, 0.0, 0.0), "coupling": (0.0, 0.0, 0.0), "tremor_rad": 0.0, "drift_rad": 0.0}
    return K.replace_user(user, **{**base, **changes})


# -- physics ----------------------------------------------------------------------------


def test_gravity_magnitude_at_rest_is_one_g_in_any_grip():
    rng = np.random.default_rng(1)
    for _ in range(5):
        grip = tuple(rng.uniform(-math.pi, math.pi, 3) * 0.5)
        user = _still_user(base_rotvec=grip)
        r = K.render([], user, rng, duration=2.0, sample_rate=50.0, still=True)
        norm = np.linalg.norm(r.accel, axis=1)
        np.testing.assert_allclose(norm, 1.0, atol=1e-9)
        # ... and it points along the world's "up" seen from the device: R^T [0, 0, 1].
        up_body = Rotation.from_rotvec(grip).inv().apply([0.0, 0.0, 1.0])
        np.testing.assert_allclose(r.accel, np.broadcast_to(up_body, r.accel.shape), atol=1e-9)
        np.testing.assert_allclose(r.gyro, 0.0, atol=1e-9)


def test_gyro_integrates_to_the_orientation_change():
    """Integrating the (ideal) gyroscope reproduces the rendered orientation within 2 deg."""
    rng = np.random.default_rng(2)
    user = K.sample_user(rng, "u")  # with grip, coupling, tremor and drift
    fs = 50.0
    for kind in ("flex", "ring", "shake"):
        motion = K.make_motion(kind, user, rng)
        r = K.render([K.Segment(0.3, motion)], user, rng, duration=3.0, sample_rate=fs, oversample=8)
        est = r.rotation[0]
        for w in r.gyro[1:]:
            est = est * Rotation.from_rotvec(w / fs)
        err_deg = np.degrees((est.inv() * r.rotation[-1]).magnitude())
        total_deg = np.degrees(np.sum(np.linalg.norm(r.gyro, axis=1)) / fs)
        assert total_deg > 30.0, f"{kind}: too little rotation ({total_deg:.1f} deg) to test"
        assert err_deg < 2.0, f"{kind}: integrated gyro is {err_deg:.2f} deg off after {total_deg:.0f} deg"


def test_punch_peak_acceleration_matches_min_jerk_physics():
    """Out stroke of distance D in time T peaks at 10/sqrt(3) * D / T^2 (min-jerk)."""
    rng = np.random.default_rng(3)
    user = _still_user()
    D, T = 0.3, 0.25
    disp, _ = K._strokes(np.array([[0, 0, 0], [0, D, 0]], dtype=float), np.array([T]), 0.0)
    motion = K.Motion("punch", T, disp)
    r = K.render([K.Segment(0.5, motion)], user, rng, duration=1.5, sample_rate=400.0, oversample=8, still=True)
    forward_g = r.accel[:, 1]  # identity grip: body y = world y
    expected = 10.0 / math.sqrt(3.0) * D / T**2 / K.G0
    assert forward_g.max() == pytest.approx(expected, rel=0.02)
    assert forward_g.min() == pytest.approx(-expected, rel=0.02)
    # Gravity stays on z during a pure translation.
    np.testing.assert_allclose(r.accel[:, 2], 1.0, atol=1e-6)


def test_sensor_saturates_at_its_range_and_adds_bias():
    rng = np.random.default_rng(4)
    user = K.sample_user(rng, "u", size=1.4)
    motion = K.make_motion("shake", user, rng)
    ideal = K.render([K.Segment(0.2, motion)], user, rng, duration=2.0, sample_rate=50.0)
    assert np.abs(ideal.accel).max() > 1.6
    sensor = K.SensorModel.ideal(accel_range=1.5)
    acc, _ = K.sensor_readings(ideal, sensor, rng)
    assert np.abs(acc).max() == pytest.approx(1.5)
    assert np.sum(np.isclose(np.abs(acc), 1.5)) >= 2
    biased = K.SensorModel(**{**K.SensorModel.ideal().__dict__, "gyro_bias": (0.1, -0.2, 0.3)})
    _, gyr = K.sensor_readings(ideal, biased, rng)
    np.testing.assert_allclose(gyr - ideal.gyro, np.broadcast_to([0.1, -0.2, 0.3], gyr.shape), atol=1e-6)


def test_users_differ_in_tempo_and_size():
    rng = np.random.default_rng(5)
    users = [K.sample_user(rng, f"u{i}") for i in range(20)]
    tempos = np.array([u.tempo for u in users])
    sizes = np.array([u.size for u in users])
    assert tempos.max() / tempos.min() > 1.4 and sizes.max() / sizes.min() > 1.5
    slow = min(users, key=lambda u: -u.tempo)
    fast = min(users, key=lambda u: u.tempo)
    d_slow = np.mean([K.make_motion("wing", slow, rng).duration for _ in range(10)])
    d_fast = np.mean([K.make_motion("wing", fast, rng).duration for _ in range(10)])
    assert d_slow > 1.3 * d_fast


# -- the dataset --------------------------------------------------------------------------

SMALL = {"n_users": 6, "val_users": 1, "test_users": 1, "reps": 2, "background_reps": 2, "cache": False}


def test_synth_is_deterministic_and_split_by_user():
    a = GestureSynth(seed=7, **SMALL).load()
    b = GestureSynth(seed=7, **SMALL).load()
    c = GestureSynth(seed=8, **SMALL).load()
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)
    assert a.channels == ("ax", "ay", "az", "gx", "gy", "gz")
    assert a.labels == K.CLASSES and a.train.x.shape[1:] == (6, 128)
    groups = [set(getattr(a, s).groups) for s in ("train", "val", "test")]
    assert len(groups[0]) == 4 and len(groups[1]) == 1 and len(groups[2]) == 1
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    # every class present in every split
    for s in ("train", "val", "test"):
        assert set(getattr(a, s).y.tolist()) == set(range(len(K.CLASSES)))


def test_synth_accel_only_merge_and_rate():
    d = GestureSynth(
        seed=1, axes="accel", sample_rate=25.0, window_samples=64, gestures=["wing", "ring"],
        merge={"idle": "negative"}, **SMALL,
    ).load()
    assert d.labels == ("wing", "ring", "negative")
    assert d.train.x.shape[1:] == (3, 64) and d.sample_rate == 25.0
    counts = np.bincount(d.train.y)
    assert counts[2] == 2 * counts[0]  # idle + negative examples both labelled negative
    # at rest before the gesture the accelerometer reads about 1 g
    assert np.median(np.linalg.norm(d.train.x[:, :, :3], axis=1)) == pytest.approx(1.0, abs=0.05)


def test_synth_streams_embed_events_in_idle():
    ds = GestureSynth(seed=3, stream_seconds=40.0, **SMALL)
    streams = ds.streams("test")
    assert len(streams) == 1
    s = streams[0]
    assert s.x.shape == (6, 2000) and s.seconds == pytest.approx(40.0)
    assert len(s.events) >= 4
    for start, end, label in s.events:
        assert 0 < start < end < 40.0 and label in K.GESTURES
    # motion energy inside events exceeds that of the quiet stretches
    t = np.arange(s.x.shape[1]) / s.sample_rate
    busy = np.zeros_like(t, dtype=bool)
    for a, b, _ in s.events + s.distractors:
        busy |= (t >= a) & (t <= b + 2.0)
    gyro = np.linalg.norm(s.x[3:], axis=0)
    assert gyro[busy].mean() > 3 * gyro[~busy].mean()


@pytest.mark.parametrize(
    "options, match",
    [
        ({"axes": "imu9"}, "axes"),
        ({"gestures": ["wave"]}, "gestures"),
        ({"n_users": 4, "val_users": 2, "test_users": 2}, "no training user"),
        ({"windw_samples": 10}, "windw_samples"),
    ],
)
def test_synth_bad_options_are_one_line_errors(options, match):
    with pytest.raises(ConfigError, match=match):
        GestureSynth(**options)


# -- magic wand capture logs -------------------------------------------------------------

_TERMINAL = "Script started on Tue Jul 30 12:58:52 2019\r\n\x1b[?1034hbash-3.2$ screen ${DEVICENAME} 115200\r\n\x1b[?1049h\x1b[H\x1b[2J#)Cia\ufffd\r\n\r\n"
_TAIL = "\x1b[?1049l[screen is terminating]\r\nbash-3.2$ exit\r\n\r\nScript done on Tue Jul 30 13:01:56 2019\r\n"


def _gesture_log(rng, n_recordings, length=40):
    lines = [_TERMINAL]
    for _ in range(n_recordings):
        lines.append(" -,-,-\r\n")
        for _ in range(length):
            x, y, z = rng.integers(-300, 300, 2).tolist() + [int(rng.integers(900, 1100))]
            lines.append(f"{x}.0,{y}.0,{z}.0\r\n")
    lines.append("-,-,-\r\n" + _TAIL)
    return "".join(lines)


@pytest.fixture
def wand_root(tmp_path, rng):
    for label in ("wing", "ring", "slope"):
        (tmp_path / label).mkdir()
        for user in ("alice", "bob", "carol"):
            (tmp_path / label / f"output_{label}_{user}.txt").write_bytes(
                _gesture_log(rng, 3).encode("utf-8")
            )
    (tmp_path / "negative").mkdir()
    for i in (1, 2, 3):
        text = "-,-,-\r\n" + "".join(f"{v}.0,10.0,1000.0\r\n" for v in range(200))
        (tmp_path / "negative" / f"output_negative_{i}.txt").write_bytes(text.encode())
    return tmp_path


def test_magic_wand_parses_logs_users_and_units(wand_root):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    ds = MagicWand(root=str(wand_root), val_users=["bob", "negative_2"], test_users=["carol", "negative_3"],
                   train_shifts=1, cache=False)
    recs = ds.recordings()
    gestures = [r for r in recs if not r.continuous]
    assert len(gestures) == 3 * 3 * 3 and all(r.x.shape == (3, 40) for r in gestures)
    assert {r.group for r in gestures} == {"alice", "bob", "carol"}
    assert np.all(np.abs(gestures[0].x[2] - 1.0) <= 0.1)  # milli-g -> g
    d = ds.load()
    assert d.labels == ("wing", "ring", "slope", "negative") and d.sample_rate == 25.0
    assert set(d.test.groups) == {"carol", "negative_3"} and "carol" not in set(d.train.groups)
    # train: 9 gestures x (1 centred + 1 shifted); negative: (200 - 128) // 32 + 1 = 3 windows
    assert int(np.sum(d.train.y < 3)) == 18 and int(np.sum(d.train.y == 3)) == 3
    # a 40-sample gesture centred in 128 samples, padded by holding its end samples
    w = d.test.x[0]
    assert np.all(w[:, :44] == w[:, :1]) and np.all(w[:, 84:] == w[:, -1:])
    streams = ds.streams("test")
    assert len(streams) == 1 and streams[0].x.shape == (3, 200) and not streams[0].events


def test_magic_wand_resamples_to_target_rate(wand_root):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    ds = MagicWand(root=str(wand_root), target_rate=50.0, cache=False,
                   val_users=["bob"], test_users=["carol"])
    recs = ds.recordings()
    assert recs[0].x.shape == (3, 80)
    assert ds.load().sample_rate == 50.0


def test_magic_wand_errors_name_the_problem(wand_root, tmp_path_factory):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    with pytest.raises(DatasetError, match="dataset.root=.*does not exist"):
        MagicWand(root=str(wand_root / "nope"), cache=False).load()
    with pytest.raises(DatasetError, match="needs a folder"):
        MagicWand(root=None, cache=False).load()
    with pytest.raises(DatasetError, match="no capture logs for label 'circle'"):
        MagicWand(root=str(wand_root), labels=["wing", "circle"], cache=False).load()
    with pytest.raises(DatasetError, match=r"unknown user\(s\) \['zed'\]"):
        MagicWand(root=str(wand_root), test_users=["zed"], val_users=[], cache=False).load()
    empty = tmp_path_factory.mktemp("bad") / "wing"
    empty.mkdir()
    (empty / "output_wing_x.txt").write_text("hello\nworld\n")
    with pytest.raises(DatasetError, match="no 'x,y,z' sample lines"):
        MagicWand(root=str(empty.parent), labels=["wing"], cache=False).load()
    with pytest.raises(ConfigError, match="unit"):
        MagicWand(root=str(wand_root), unit="furlongs")


@needs_shared_data("magic_wand")
def test_magic_wand_real_logs():
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    ds = MagicWand(root=str(SHARED_DATA / "magic_wand"), cache=False)
    recs = ds.recordings()
    users = {r.group for r in recs if not r.continuous}
    assert users == {"dengyl", "hyw", "jiangyh", "liucx", "lsj", "pengxl"}
    per = {}
    for r in recs:
        per[(r.label, r.group)] = per.get((r.label, r.group), 0) + 1
    # every user recorded every gesture at least 19 times (hyw about 40)
    assert min(v for (lab, _), v in per.items() if lab != "negative") >= 19
    lengths = [r.x.shape[1] for r in recs if not r.continuous]
    assert 40 <= np.median(lengths) <= 110  # 1.6-4.4 s at 25 Hz
    # the wand at rest reads about 1 g
    first = np.linalg.norm(np.stack([r.x[:, 0] for r in recs if not r.continuous]), axis=1)
    assert np.median(first) == pytest.approx(1.0, abs=0.15)


# -- IMU CSV folders ----------------------------------------------------------------------


def _arduino_csv(rng, n_rec, n=60, gyro=True):
    head = "aX,aY,aZ,gX,gY,gZ" if gyro else "aX,aY,aZ"
    out = [head]
    for _ in range(n_rec):
        for _ in range(n):
            a = rng.normal(0, 0.2, 3) + [0, 0, 1]
            g = rng.normal(0, 1, 3) + [90.0, -45.0, 0.0]
            vals = list(a) + (list(g) if gyro else [])
            out.append(",".join(f"{v:.3f}" for v in vals))
        out.append("")
    return "\n".join(out) + "\n"


def test_imu_csv_arduino_style_label_from_filename(tmp_path, rng):
    from tinyml_suite.datasets.loaders.imu_csv import ImuCsv

    for label in ("punch", "flex"):
        (tmp_path / f"{label}.csv").write_text(_arduino_csv(rng, 10))
    ds = ImuCsv(root=str(tmp_path), sample_rate=119.0, target_rate=50.0, window_samples=32, cache=False)
    recs = ds.recordings()
    assert len(recs) == 20 and {r.label for r in recs} == {"punch", "flex"}
    assert recs[0].x.shape == (6, math.ceil(60 * 50 / 119))  # resampled 119 -> 50 Hz
    # gyro converted from deg/s to rad/s (resampling keeps a constant away from the edges)
    gyro = np.concatenate([r.x[3:, 5:-5] for r in recs], axis=1)
    np.testing.assert_allclose(np.median(gyro, axis=1), np.radians([90.0, -45.0, 0.0]), atol=0.02)
    d = ds.load()
    assert d.labels == ("flex", "punch") and d.channels[3:] == ("gx", "gy", "gz")
    assert len(d.test) >= 2 and set(d.test.y.tolist()) == {0, 1}  # stratified per label
    assert not set(d.train.groups) & set(d.test.groups)


def test_imu_csv_edge_impulse_style_with_timestamps_and_missing(tmp_path, rng):
    from tinyml_suite.datasets.loaders.imu_csv import ImuCsv

    for label in ("wave", "idle"):
        (tmp_path / label).mkdir()
        for k, user in enumerate(["ann", "ben", "cid", "dee"]):
            t = np.arange(100) * 10.0 + rng.normal(0, 0.5, 100)  # 100 Hz, jittered, ms
            rows = ["timestamp,accX,accY,accZ"]
            for i, ti in enumerate(t):
                z = "" if (i == 50 and k == 0) else f"{9.80665:.5f}"
                rows.append(f"{ti:.2f},0.0,0.0,{z}")
            (tmp_path / label / f"{label}.{user}.csv").write_text("\n".join(rows) + "\n")
    ds = ImuCsv(root=str(tmp_path), accel_unit="m/s2", target_rate=50.0, window_samples=64,
                user_regex=r"\.(?P<user>[a-z]+)\.csv$", val_users=["ben"], test_users=["cid"], cache=False)
    recs = ds.recordings()
    assert all(r.x.shape == (3, 50) for r in recs)  # 1 s at 50 Hz
    np.testing.assert_allclose(recs[0].x[2], 1.0, atol=1e-3)  # m/s^2 -> g, gap filled
    d = ds.load()
    assert set(d.test.groups) == {"cid"} and set(d.val.groups) == {"ben"}
    assert d.channels == ("ax", "ay", "az")


def test_imu_csv_bad_input_is_refused_with_the_fix(tmp_path):
    from tinyml_suite.datasets.loaders.imu_csv import ImuCsv

    root = tmp_path / "a"
    root.mkdir()
    (root / "wave.csv").write_text("aX,aY,aZ\n1,2,3\n1,2\n")
    with pytest.raises(DatasetError, match=r"line 3: 2 fields but the header has 3"):
        ImuCsv(root=str(root), sample_rate=50.0, cache=False).load()
    (root / "wave.csv").write_text("1,2,3\n1,2,3\n")
    with pytest.raises(DatasetError, match="is data, not a header"):
        ImuCsv(root=str(root), sample_rate=50.0, cache=False).load()
    (root / "wave.csv").write_text("foo,bar,baz\n1,2,3\n")
    with pytest.raises(DatasetError, match="no accelerometer column.*dataset.columns"):
        ImuCsv(root=str(root), sample_rate=50.0, cache=False).load()
    (root / "wave.csv").write_text("aX,aY,aZ\n" + "1,2,3\n" + "1,,3\n" * 5 + "1,2,3\n")
    with pytest.raises(DatasetError, match="5 consecutive missing values.*max_missing_gap=3"):
        ImuCsv(root=str(root), sample_rate=50.0, cache=False).load()
    (root / "wave.csv").write_text("aX,aY,aZ\n1,2,x3\n")
    with pytest.raises(DatasetError, match="'x3' is not a number"):
        ImuCsv(root=str(root), sample_rate=50.0, cache=False).load()
    with pytest.raises(ConfigError, match="sample_rate is not set"):
        ImuCsv(root=str(root))
    with pytest.raises(ConfigError, match="accel_unit"):
        ImuCsv(root=str(root), sample_rate=50.0, accel_unit="furlong")
    with pytest.raises(ConfigError, match=r"\(\?P<user>"):
        ImuCsv(root=str(root), sample_rate=50.0, user_regex="_(.*)")


# -- UCR/UEA .ts --------------------------------------------------------------------------


def _ts_file(rng, labels, n_per, lengths, missing=False, dims=3):
    lines = ["# a tiny problem", "@problemName Tiny", "@timeStamps false", f"@missing {str(missing).lower()}",
             "@univariate false", f"@dimensions {dims}", "@equalLength false",
             "@classLabel true " + " ".join(labels), "@data"]
    for lab in labels:
        for _ in range(n_per):
            n = int(rng.choice(lengths))
            dims_txt = []
            for _ in range(dims):
                vals = [f"{v:.4f}" for v in rng.normal(size=n)]
                if missing:
                    vals[n // 2] = "?"
                dims_txt.append(",".join(vals))
            lines.append(":".join(dims_txt) + f":{lab}")
    return "\n".join(lines) + "\n"


def test_ucr_ts_ragged_missing_and_rate(tmp_path, rng):
    from tinyml_suite.datasets.loaders.ucr_ts import UcrTs, parse_ts

    (tmp_path / "Tiny_TRAIN.ts").write_text(_ts_file(rng, ["walk", "run"], 10, [30, 40], missing=True))
    (tmp_path / "Tiny_TEST.ts").write_text(_ts_file(rng, ["walk", "run"], 4, [36]))
    header, cases, _ys = parse_ts((tmp_path / "Tiny_TRAIN.ts").read_text(), source="t")
    assert header["problemname"] == "Tiny" and len(cases) == 20 and np.isnan(cases[0]).sum() == 3
    d = UcrTs(root=str(tmp_path), sample_rate=10.0, target_rate=20.0, cache=False).load()
    assert d.labels == ("walk", "run") and d.channels == ("ax", "ay", "az")
    assert d.train.x.shape[1:] == (3, 80)  # longest case 40 samples at 10 Hz -> 80 at 20 Hz
    assert len(d.val) == 4 and len(d.train) == 16 and len(d.test) == 8  # 20 % per class
    assert np.all(np.isfinite(d.train.x))


def test_ucr_ts_refuses_what_it_cannot_read(tmp_path, rng):
    from tinyml_suite.datasets.loaders.ucr_ts import UcrTs, parse_ts

    with pytest.raises(DatasetError, match="@timeStamps true is not supported"):
        parse_ts("@timeStamps true\n@classLabel true a\n@data\n(1,2):a\n", source="f.ts")
    with pytest.raises(DatasetError, match="label 'c' is not in @classLabel"):
        parse_ts("@classLabel true a b\n@data\n1,2:c\n", source="f.ts")
    with pytest.raises(DatasetError, match="dimensions have different lengths"):
        parse_ts("@classLabel true a\n@data\n1,2:1,2,3:a\n", source="f.ts")
    with pytest.raises(DatasetError, match="no @data"):
        parse_ts("@classLabel true a\n", source="f.ts")
    with pytest.raises(ConfigError, match="sample_rate"):
        UcrTs(root=str(tmp_path))
    (tmp_path / "Tiny_TRAIN.ts").write_text(_ts_file(rng, ["a"], 2, [5]))
    with pytest.raises(DatasetError, match="Tiny_TEST.ts does not exist"):
        UcrTs(root=str(tmp_path), sample_rate=10.0, cache=False).load()


def test_imu_csv_continuous_mode_slides_windows_and_streams_negatives(tmp_path, rng):
    from tinyml_suite.datasets.loaders.imu_csv import ImuCsv

    for label in ("wave", "negative"):
        (tmp_path / label).mkdir()
        for user in ("ann", "ben", "cid"):
            rows = ["aX,aY,aZ"] + [f"{v:.3f},0,1" for v in rng.normal(0, 0.1, 200)]
            (tmp_path / label / f"{user}.csv").write_text("\n".join(rows) + "\n")
    ds = ImuCsv(root=str(tmp_path), sample_rate=50.0, mode="continuous", window_samples=64, hop=32,
                user_regex=r"(?P<user>[a-z]+)\.csv$", val_users=["ben"], test_users=["cid"], cache=False)
    d = ds.load()
    # (200 - 64) // 32 + 1 = 5 windows per recording, 2 labels
    assert len(d.test) == 10 and len(d.train) == 10
    streams = ds.streams("test")
    assert [s.group for s in streams] == ["cid"] and streams[0].x.shape == (3, 200) and not streams[0].events


def test_augmented_copies_keep_physics_and_lengths(rng):
    from tinyml_suite.datasets.imu_common import augment_recording

    x = np.stack([np.zeros(100), np.zeros(100), np.ones(100), np.full(100, 0.5), np.zeros(100), np.zeros(100)])
    for _ in range(10):
        y = augment_recording(x, rng, rotate_deg=25.0, gain=0.0, stretch=0.2)
        assert 80 <= y.shape[1] <= 120
        np.testing.assert_allclose(np.linalg.norm(y[:3], axis=0), 1.0, atol=1e-6)  # still 1 g
        np.testing.assert_allclose(np.linalg.norm(y[3:], axis=0), 0.5, atol=1e-6)  # same rate
        tilt = np.degrees(np.arccos(np.clip(y[2, 0], -1, 1)))
        assert tilt <= 25.0 + 1e-3
    g = augment_recording(x, rng, gain=0.1)
    assert 0.9 <= g[2, 0] <= 1.1 and np.allclose(g[2], g[2, 0])


def test_magic_wand_adds_simulated_negatives_to_training_only(wand_root):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    base = {"root": str(wand_root), "val_users": ["bob", "negative_2"], "test_users": ["carol", "negative_3"],
                "train_shifts": 0, "cache": False}
    plain = MagicWand(**base).load()
    share = 0.25
    more = MagicWand(**base, synthetic_negative_share=share, synthetic_negative_kinds={"reverse": 1, "tap": 1}).load()
    n_syn = int(np.sum(more.train.groups == "synthetic"))
    # the stated share of the training split: n_syn / (n_real + n_syn) = 0.25 (to one window)
    assert n_syn == round(share * len(plain.train) / (1 - share)) and len(more.train) == len(plain.train) + n_syn
    assert np.all(more.train.y[more.train.groups == "synthetic"] == 3)
    assert len(more.test) == len(plain.test) and "synthetic" not in set(more.test.groups)
    with pytest.raises(ConfigError, match="negative class"):
        MagicWand(**{**base, "labels": ["wing", "ring", "slope"], "val_users": ["bob"], "test_users": ["carol"]},
                  synthetic_negative_share=0.2).load()
    with pytest.raises(ConfigError, match=r"synthetic_negative_share=1\.0 must be in \[0, 1\)"):
        MagicWand(**base, synthetic_negative_share=1.0)
    with pytest.raises(ConfigError, match="simulated negative kinds .*'moonwalk'"):
        MagicWand(**base, synthetic_negative_share=0.2, synthetic_negative_kinds={"moonwalk": 1}).load()


def test_magic_wand_near_misses_come_from_training_gestures_only(wand_root):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    base = {"root": str(wand_root), "val_users": ["bob", "negative_2"], "test_users": ["carol", "negative_3"],
            "train_shifts": 0, "cache": False}
    plain = MagicWand(**base).load()
    near = MagicWand(**base, reversed_negatives=["ring", "slope"], partial_negatives=["wing"], near_miss_copies=2).load()
    extra = len(near.train) - len(plain.train)
    # alice's 3 rings + 3 slopes reversed, 3 wings cut short; 2 copies each; all labelled negative
    assert extra == (3 + 3 + 3) * 2
    assert int(np.sum(near.train.y == 3)) == int(np.sum(plain.train.y == 3)) + extra
    # they belong to the training user whose gestures they came from (alice), never bob or carol
    assert int(np.sum((near.train.groups == "alice") & (near.train.y == 3))) == extra
    assert len(near.val) == len(plain.val) and len(near.test) == len(plain.test)
    with pytest.raises(ConfigError, match=r"reversed_negatives=\['circle'\]"):
        MagicWand(**base, reversed_negatives=["circle"])


def test_magic_wand_gesture_streams_hold_the_device_around_each_gesture(wand_root):
    from tinyml_suite.datasets.loaders.magic_wand import MagicWand

    ds = MagicWand(root=str(wand_root), val_users=["bob", "negative_2"], test_users=["carol", "negative_3"],
                   gesture_streams=True, cache=False)
    streams = ds.streams("test")
    quiet = [s for s in streams if not s.events]
    gest = [s for s in streams if s.events]
    assert len(quiet) == 1 and len(gest) == 9 and all(s.group == "carol" for s in gest)
    s = gest[0]
    assert s.x.shape == (3, 40 + 2 * 128)
    (start, end, label), = s.events
    assert (start, end) == (128 / 25.0, (128 + 40) / 25.0) and label in ("wing", "ring", "slope")
    assert np.all(s.x[:, :128] == s.x[:, :1]) and np.all(s.x[:, 168:] == s.x[:, -1:])


def test_reversed_recording_is_the_movement_drawn_backwards():
    """Physics check: a letter drawn forward and then back reads as reversed_recording says."""
    from tinyml_suite.datasets.imu_common import partial_recording, reversed_recording

    rng = np.random.default_rng(3)
    fs = 100.0
    user = _still_user(base_rotvec=(0.2, -0.1, 0.3), coupling=(1.5, 2.0, 0.8))  # the device turns with the hand
    for letter in ("wing", "ring", "slope"):
        motion = K.make_motion(letter, user, rng)
        back = K._reversed(motion)
        np.testing.assert_allclose(back.disp(np.array([back.duration]))[0],
                                   -motion.disp(np.array([motion.duration]))[0], atol=1e-12)
        # forward on [a, a + T], then back from where it ended on [b, b + T]; the timeline
        # mirrors about (a + T + b) / 2, which is put on the sample grid
        a, T = 0.5, motion.duration
        n_mirror = int(np.ceil((2 * a + 2 * T) * fs)) + 20
        b = n_mirror / fs - a - T
        r = K.render([K.Segment(a, motion), K.Segment(b, back)], user, rng, duration=b + T + 0.5,
                     sample_rate=fs, still=True)
        x = np.concatenate([r.accel.T, r.gyro.T])
        k = np.arange(int(a * fs) + 3, int((a + T) * fs) - 3)  # inside the forward movement
        # what the device read on the way back = the forward reading, reversed as the loader does
        np.testing.assert_allclose(x[:, n_mirror - 1 - k[::-1]], reversed_recording(x[:, k]), atol=1e-6)
        assert np.ptp(x[:3, k]) > 0.1 and np.ptp(x[3:, k]) > 0.1  # it did move and turn
    w = partial_recording(np.arange(10.0)[None], 0.4)
    assert w.tolist() == [[0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]]


def test_new_simulated_families_move_and_are_apportioned():
    from tinyml_suite.datasets.synthetic.gestures import _apportion, synthetic_background

    user = K.sample_user(np.random.default_rng(0), "u")
    rng = np.random.default_rng(1)
    for kind in K.EXTRA_NEGATIVE_KINDS:
        m = K.make_motion("negative", user, rng, negative_kind=kind)
        t = np.linspace(0.0, m.duration, 50)
        assert np.ptp(m.disp(t), axis=0).max() > 0.05, kind  # the hand moves several cm
    swing = K.make_motion("negative", user, rng, negative_kind="swing")
    assert np.ptp(swing.rot(np.linspace(0, swing.duration, 200))[:, 0]) > 0.3  # the forearm pitches
    assert _apportion(10, {"a": 0.5, "b": 0.3, "c": 0.2}, rng).count("b") == 3
    w = synthetic_background(6, seed=0, sample_rate=25.0, window_samples=64, kinds={"swing": 1, "punch": 1})
    assert w.shape == (6, 3, 64) and np.all(np.abs(w) <= 4.0)
    with pytest.raises(ConfigError, match="moonwalk"):
        synthetic_background(2, seed=0, sample_rate=25.0, window_samples=64, kinds=["moonwalk"])
