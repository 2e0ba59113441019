"""heart_rate app: metrics, tracking, DSP baseline, R-peak detector, config and bad input, e2e smoke."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.run_if import SHARED_DATA, needs_shared_data

from tinyml_suite.apps.heart_rate.app import EcgApp, HeartRateApp, decode_bins, soft_labels
from tinyml_suite.apps.heart_rate.metrics import beat_metrics, bland_altman, hr_metrics, hrv_metrics, match_beats
from tinyml_suite.apps.heart_rate.postprocess import HrTracker, TrackParams, hr_grid
from tinyml_suite.common.context import RunState
from tinyml_suite.common.errors import ConfigError, DatasetError

GRID = hr_grid(30.0, 1.875, 113)


# -- metrics ---------------------------------------------------------------------------


def test_hr_metrics_against_hand_computed_values():
    pred = np.array([70.0, 75.0, 90.0, 120.0, 118.0])
    ref = np.array([72.0, 75.0, 85.0, 121.0, 120.0])
    m = hr_metrics(pred, ref, np.array(["a", "a", "a", "b", "b"]))
    err = pred - ref
    assert m["mae_bpm"] == pytest.approx(np.mean(np.abs(err)))
    assert m["rmse_bpm"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert m["bias_bpm"] == pytest.approx(err.mean())
    assert m["loa_high_bpm"] - m["loa_low_bpm"] == pytest.approx(2 * 1.96 * err.std(ddof=1))
    assert m["per_subject"]["a"]["mae_bpm"] == pytest.approx(7 / 3) and m["per_subject"]["b"]["n"] == 2
    assert m["within_5bpm"] == pytest.approx(1.0)
    assert bland_altman(pred, ref)["sd_bpm"] == pytest.approx(err.std(ddof=1))
    with pytest.raises(ConfigError, match="non-finite"):
        hr_metrics(np.array([np.nan]), np.array([60.0]))
    with pytest.raises(ConfigError, match="one estimate per window"):
        hr_metrics(np.zeros(3), np.zeros(2))


def test_beat_matching_is_one_to_one_at_the_tolerance():
    fs = 360.0
    tol = int(0.15 * fs)  # 54 samples
    ref = np.array([1000, 2000, 3000])
    det = np.array([1000 + tol, 2000 - tol - 1, 3000, 3005])  # on the edge, just outside, a double detection
    rm, dm = match_beats(ref, det, tol)
    assert rm.tolist() == [True, False, True] and dm.tolist() == [True, False, True, False]
    m = beat_metrics(ref, det, sample_rate=fs)
    assert (m["tp"], m["fn"], m["fp"]) == (2, 1, 2)
    assert m["se"] == pytest.approx(2 / 3) and m["ppv"] == pytest.approx(0.5)
    # the excluded start does not count on either side
    assert beat_metrics(ref, det, sample_rate=fs, start=1500)["tp"] == 1


def test_hrv_of_a_known_rr_series():
    fs = 1000.0
    rr = np.array([800, 850, 780, 820, 900, 810], float)  # ms
    beats = np.concatenate([[0], np.cumsum(rr)])
    h = hrv_metrics(beats, sample_rate=fs, max_rr_change=np.inf)
    d = np.diff(rr)
    assert h["mean_nn_ms"] == pytest.approx(rr.mean())
    assert h["sdnn_ms"] == pytest.approx(rr.std(ddof=1))
    assert h["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(d**2)))
    assert h["pnn50_pct"] == pytest.approx(100 * np.mean(np.abs(d) > 50))
    # an ectopic-like jump (> 20 % change) is dropped from the NN series by default
    assert hrv_metrics(np.concatenate([[0], np.cumsum([800, 800, 400, 800, 800])]), sample_rate=fs)["n_nn"] == 3


# -- soft labels, decoding, tracking ------------------------------------------------------


def test_soft_labels_and_decoding_round_trip():
    bpm = np.array([47.3, 72.0, 151.9, 180.4])
    t = soft_labels(bpm, GRID, 3.0)
    assert t.shape == (4, 113) and np.allclose(t.sum(1), 1.0)
    assert np.max(np.abs(decode_bins(t, GRID, 3) - bpm)) < 0.3  # sub-bin (1.875 BPM) precision


def test_tracker_rides_through_a_strong_intermittent_artefact_and_reacquires():
    t = HrTracker(GRID, TrackParams(sigma_bpm=3.75, refine="mean"))
    bump = lambda b, w=3.0: np.exp(-0.5 * ((GRID - b) / w) ** 2)  # noqa: E731
    hr = np.linspace(90, 130, 40)
    out = []
    for i, h in enumerate(hr):
        s = bump(h) + (2.0 * bump(160) if i % 4 == 1 else 0.0)  # a cadence line stronger than the pulse
        out.append(t.step(s / s.sum()))
    err = np.abs(np.array(out) - hr)
    assert err[3:].max() < 3.0
    # per-window argmax would have jumped to the artefact every 4th window
    assert np.abs(decode_bins(np.stack([bump(160) * 2 + bump(100)]), GRID) - 160).max() < 1.0
    # a true jump (the track was wrong) is re-acquired within a few windows via the uniform mixture
    for _ in range(8):
        v = t.step(bump(70.0))
    assert abs(v - 70.0) < 2.0


def test_tracker_recovers_from_a_wrong_lock_once_the_wrist_is_still():
    # 20 windows of arm exercise: a motion line at 150 BPM (the ACC sees it) outshines the
    # pulse at 80 BPM, and the track starts there (a flat start picks the strongest line).
    # Then the wrist is still: the pulse dominates, a residual line stays at 150 BPM.
    bump = lambda b, w=3.0: np.exp(-0.5 * ((GRID - b) / w) ** 2)  # noqa: E731
    acc_move, acc_still = np.maximum(bump(150.0, 2.0), 1e-3), np.full(GRID.size, 1e-3)
    moving = [(bump(150.0) + 0.3 * bump(80.0), acc_move)] * 20
    still = [(bump(80.0) + 0.45 * bump(150.0), acc_still)] * 30

    def run(params: TrackParams) -> np.ndarray:
        t = HrTracker(GRID, params)
        return np.array([t.step(s / s.sum(), a) for s, a in moving + still])

    plain = run(TrackParams(sigma_bpm=3.75, refine="mean", gamma=1.0, uniform=1e-4))  # version 1 behaviour
    aware = run(TrackParams(sigma_bpm=3.75, refine="mean", gamma=1.0, uniform=0.05, gamma_motion=0.3, uniform_motion=1e-4))
    assert abs(plain[19] - 150) < 3 and abs(aware[19] - 150) < 3  # both locked on the motion line
    back = lambda est: int(np.argmax(np.abs(est[20:] - 80.0) < 3.0))  # noqa: E731  windows until back on the pulse
    assert back(aware) <= 6, aware[18:30]  # 12 s of stillness (measured: 6 windows)
    assert back(plain) >= 12, plain[18:40]  # the plain forward filter stays locked for 24 s+ (measured: 14)
    # while moving, re-acquisition avoids the lines the ACC explains
    i150, i80 = np.argmin(np.abs(GRID - 150)), np.argmin(np.abs(GRID - 80))
    for reacq, (lo, hi) in ((0.9, (0.0, 0.5)), (0.0, (0.99, 1.01))):
        t = HrTracker(GRID, TrackParams(refine="mean", uniform=0.5, reacquire_acc=reacq))
        for _ in range(5):
            t.step(np.ones(GRID.size), acc_move)  # no evidence: the prediction is the re-acquisition prior
        assert lo <= t.post[i150] / t.post[i80] <= hi, reacq


# -- DSP baseline and ECG detector on simulated data --------------------------------------


def test_dsp_baseline_beats_naive_peak_picking_on_the_simulator():
    from tinyml_suite.apps.heart_rate.dsp_baseline import DspParams, dsp_estimates
    from tinyml_suite.common.features.ppg import PpgSpectrumParams, ppg_spectra
    from tinyml_suite.datasets.synthetic.ppg import PpgSim

    d = PpgSim(seed=3, cache=False, n_subjects=4, minutes=6.0, n_test=4, n_val=0).load()
    s = d.test
    est = dsp_estimates(s.x, sample_rate=32.0, rec=s.meta["rec"], t_s=s.meta["t_s"], params=DspParams())
    f, sp = ppg_spectra(s.x, sample_rate=32.0, params=PpgSpectrumParams(compress="linear"))
    naive = f[np.argmax(sp[:, 0], axis=1)] * 60
    mae, naive_mae = np.mean(np.abs(est - s.y)), np.mean(np.abs(naive - s.y))
    moving = s.meta["motion_g"] > 0.2
    assert moving.sum() > 50
    assert mae < 3.0, mae
    assert naive_mae > 2 * mae, (naive_mae, mae)
    assert np.mean(np.abs(est - s.y)[moving]) < 0.5 * np.mean(np.abs(naive - s.y)[moving])


def test_r_peak_detector_on_simulated_ecg_with_pvcs_and_noise():
    from tinyml_suite.apps.heart_rate.ecg import QrsDetectorParams, detect_qrs
    from tinyml_suite.common.dsp.qrs import pan_tompkins
    from tinyml_suite.datasets.synthetic.ecg import simulate_ecg

    se, ppv = [], []
    for seed in range(4):
        r = simulate_ecg(120.0, rng=seed, pvc_rate=0.08, noise=1.5)
        det = detect_qrs(pan_tompkins(r.ecg, sample_rate=360.0), sample_rate=360.0, params=QrsDetectorParams())
        m = beat_metrics(r.beats, det, sample_rate=360.0)
        se.append(m["se"])
        ppv.append(m["ppv"])
    assert min(se) >= 0.99 and min(ppv) >= 0.99, (se, ppv)


def test_ecg_scoring_excludes_flutter_intervals():
    from tinyml_suite.apps.heart_rate.ecg import score_records

    fs = 360.0
    ref = (np.arange(1, 60) * 360, np.array(["N"] * 59))
    det = np.concatenate([ref[0], [7000, 7100, 7200]])  # three detections inside a flutter episode
    out = score_records([ref], [det], ["r"], [60 * 360], sample_rate=fs, exclude=[np.array([[6900, 7300]])])
    assert out["ppv"] == 1.0 and out["ppv_all"] == pytest.approx(59 / 62)
    assert out["per_record"]["r"]["excluded_s"] == pytest.approx(400 / fs)


# -- configuration and bad input -------------------------------------------------------------


def test_recipes_compose(compose_cfg):
    cfg = compose_cfg(["app=heart_rate"])
    assert cfg.app.name == "heart_rate" and cfg.dataset.name == "ppg_sim" and cfg.features.n_fft == 1024
    assert cfg.model._target_.endswith("build_hr_cnn")
    ecg = compose_cfg(["app=heart_rate", "experiment=ecg_rpeaks", "dataset=mitbih", "dataset.root=/nowhere"])
    assert ecg.app._target_.endswith("EcgApp") and ecg.features._target_.endswith("EcgQrs")
    for ds in ("spc2015", "ppg_dalia", "ppg_csv"):
        assert compose_cfg(["app=heart_rate", f"dataset={ds}", "dataset.root=/x"]).dataset.name == ds
    with pytest.raises(Exception, match="n_fftt"):
        compose_cfg(["app=heart_rate", "features.n_fftt=512"])


def test_bad_options_are_one_line_errors():
    with pytest.raises(ConfigError, match="app.hr_bins is not an option of app=heart_rate"):
        HeartRateApp(hr_bins=10)
    with pytest.raises(ConfigError, match="tracking.sigma is not a tracking parameter"):
        HeartRateApp(tracking={"sigma": 2.0})
    with pytest.raises(ConfigError, match="app.pretrain.epoch is not a pretraining option"):
        HeartRateApp(pretrain={"epoch": 2})
    with pytest.raises(ConfigError, match="detector.refractory is not a detector parameter"):
        EcgApp(detector={"refractory": 0.2})
    with pytest.raises(ConfigError, match="sigma_bpm=-1.0"):
        TrackParams(sigma_bpm=-1.0)
    # every calibratable tracking parameter can be given a grid (the starting prior too)
    grid = HeartRateApp(calibrate_tracking={"init_bpm": [None, 80.0], "sigma_bpm": None}).params.calibrate_tracking
    assert grid.chosen()["init_bpm"] == (None, 80.0) and "sigma_bpm" not in grid.chosen()


def test_model_head_refuses_a_misaligned_grid():
    pytest.importorskip("keras")
    from tinyml_suite.apps.heart_rate.model import build_hr_cnn

    with pytest.raises(ConfigError, match="model.head=freq needs one output per input frequency bin"):
        build_hr_cnn((57, 4), 113, head="freq")
    m = build_hr_cnn((256, 4), 113, head="auto", dilations=(1, 2), filters=8)
    assert m.output_shape == (None, 113)


def test_app_refuses_wrong_datasets_and_grids():
    from tinyml_suite.datasets.synthetic.ecg import EcgSim
    from tinyml_suite.datasets.synthetic.ppg import PpgSim

    ecg = EcgSim(cache=False, n_records=1, minutes=0.2).load()
    with pytest.raises(DatasetError, match="app=heart_rate needs windows of"):
        HeartRateApp().check_data(ecg, "ecg_sim")
    ppg = PpgSim(cache=False, n_subjects=2, minutes=0.5).load()
    with pytest.raises(DatasetError, match="not an ECG dataset"):
        EcgApp().check_data(ppg, "ppg_sim")

    from tinyml_suite.common.features.ppg import PpgSpectrum

    class _Ctx:
        features = PpgSpectrum(sample_rate=25.0)  # 113 bins at another rate: a different grid

    app = HeartRateApp()
    if len(_Ctx.features.hr_grid_bpm()) == 113:
        with pytest.raises(ConfigError, match="set app.hr_min_bpm"):
            app._check_grid(_Ctx())
    with pytest.raises(ConfigError, match="fmax_hz=4.0 must be below the Nyquist"):
        PpgSpectrum(sample_rate=6.0)(np.zeros((1, 4, 48)))


def test_cli_missing_dataset_folder_is_one_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tinyml_suite.common.cli", "app=heart_rate", "dataset=spc2015",
         "dataset.root=/no/such/folder", "stages=[data]", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyml: error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr
    assert "dataset.root=/no/such/folder does not exist" in errors[0]
    assert "Traceback" not in proc.stderr


# -- end to end ------------------------------------------------------------------------------


@pytest.mark.slow
def test_smoke_recipe_end_to_end(compose_cfg, tmp_path):
    """`tinyml app=heart_rate debug=smoke` as it is: artifacts, metrics vs chance, int8."""
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg(["app=heart_rate", "debug=smoke"])
    metrics, ctx = run_recipe(cfg, tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("model.keras", "model_int8.tflite", "report.md", "bland_altman.png", "hr_trace.png"):
        assert (tmp_path / name).exists(), name
    assert (tmp_path / "firmware" / "host" / "src" / "postprocess.c").exists()
    # chance: always answering the training mean
    chance = float(np.mean(np.abs(ctx.data.test.y - ctx.data.train.y.mean())))
    f, q = saved["float"], saved["int8"]
    assert f["mae_bpm"] < 0.5 * chance, (f["mae_bpm"], chance)
    assert q["mae_bpm"] < 0.5 * chance, (q["mae_bpm"], chance)  # debug=smoke learns (measured 0.95 BPM; chance 36.9)
    assert abs(q["mae_bpm"] - saved["tflm"].get("float_on_eval_subset", f)["mae_bpm"]) < 2.0
    assert saved["tflm"]["matches_litert"] is True
    assert saved["model"]["tflite_bytes"] <= 20 * 1024
    assert "dsp_baseline" in f and f["dsp_baseline"]["mae_bpm"] < chance


# -- real data (skipped when ../shared/data is absent) ---------------------------------------


@pytest.mark.real_data
@needs_shared_data("ieee_spc2015")
def test_dsp_baseline_on_two_spc2015_subjects():
    from tinyml_suite.apps.heart_rate.dsp_baseline import DspParams, dsp_estimates
    from tinyml_suite.datasets.loaders.spc2015 import Spc2015

    d = Spc2015(root=str(SHARED_DATA / "ieee_spc2015"), test_subjects=["04", "08"], n_val=0, cache=False).load()
    s = d.test
    est = dsp_estimates(s.x, sample_rate=32.0, rec=s.meta["rec"], t_s=s.meta["t_s"], params=DspParams())
    m = hr_metrics(est, s.y, s.groups)
    assert m["mae_bpm"] < 2.5, m["per_subject"]  # measured 1.26 and 0.98 BPM


@pytest.mark.real_data
@needs_shared_data("mitbih")
def test_r_peaks_on_two_mitbih_records():
    from tinyml_suite.apps.heart_rate.ecg import QrsDetectorParams, detect_qrs
    from tinyml_suite.common.dsp.qrs import pan_tompkins
    from tinyml_suite.datasets.loaders.mitbih import MitBih
    from tinyml_suite.datasets.synthetic.ecg import split_beats, stitch

    d = MitBih(root=str(SHARED_DATA / "mitbih"), records=["101", "118"], cache=False).load()
    for (ref, _), whole in zip(split_beats(d, "test"), stitch(d.test.x, d.test, d)):
        det = detect_qrs(pan_tompkins(whole[0], sample_rate=360.0), sample_rate=360.0, params=QrsDetectorParams())
        m = beat_metrics(ref, det, sample_rate=360.0)
        assert m["se"] >= 0.995 and m["ppv"] >= 0.995, m


@pytest.mark.slow
def test_dalia_recipe_on_written_pickles(compose_cfg, tmp_path):
    """`dataset=ppg_dalia dataset.root=...` runs data -> features -> train -> evaluate on pickles
    in the real layout (S<k>/S<k>.pkl), written here from simulated subjects."""
    import pickle

    from tinyml_suite.common.pipeline import run_recipe
    from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg, window_reference_bpm

    root = tmp_path / "PPG_FieldStudy"
    for k in range(1, 5):
        r = simulate_wrist_ppg(0.0, sample_rate=64.0, rng=k, protocol=[("rest", 40.0), ("walk", 50.0)])
        n_win = 1 + int((90 - 8) // 2)
        acc32 = r.acc[:, ::2].T * 64.0  # 32 Hz, in 1/64 g as the Empatica E4 stores it
        data = {"signal": {"wrist": {"BVP": r.ppg[:, None].astype(np.float64), "ACC": acc32}},
                "label": window_reference_bpm(r.beats, np.arange(n_win) * 2.0, 8.0).astype(np.float64),
                "subject": f"S{k}"}
        (root / f"S{k}").mkdir(parents=True)
        with open(root / f"S{k}" / f"S{k}.pkl", "wb") as fh:
            pickle.dump(data, fh, protocol=2)
    cfg = compose_cfg(["app=heart_rate", "dataset=ppg_dalia", f"dataset.root={root}", "dataset.test_subjects=[S4]",
                       "dataset.val_subjects=[S3]", "trainer.epochs=2", "trainer.tensorboard=false",
                       "stages=[data,features,train,evaluate]"])
    metrics, ctx = run_recipe(cfg, tmp_path / "run")
    assert metrics["dataset"] == "ppg_dalia" and set(ctx.data.test.groups) == {"S4"}
    assert len(ctx.data.test) == 42 and np.isfinite(metrics["float"]["mae_bpm"])
    assert metrics["float"]["dsp_baseline"]["mae_bpm"] < 5.0  # rest + walking: the DSP baseline tracks it


def test_calibrated_tracking_reaches_the_firmware_constants():
    app = HeartRateApp(tracking={"sigma_bpm": 3.75, "gamma": 1.0, "uniform": 0.01})

    class _Ctx:
        data = None
        state = RunState(calibration={"track_sigma_bpm": 7.5, "track_gamma": 0.5, "track_uniform": 1e-4})

    fw = app.firmware_context(_Ctx())
    assert fw["track_gamma"] == 0.5 and fw["track_uniform"] == 1e-4
    assert len(fw["track_kernel"]) == len(TrackParams(sigma_bpm=7.5).kernel(1.875))
    _Ctx.state = RunState()
    assert app.firmware_context(_Ctx())["track_gamma"] == 1.0
