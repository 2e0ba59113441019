"""bench/heart_rate_spc2015.py's selection logic: nested leave-one-subject-out, and the PPG-DaLiA path.

The full benchmark trains a CNN per fold (minutes); here only what decides which figures
are honest: that a held-out subject never takes part in choosing its own parameters, and
that the DSP baseline's selection runs on PPG-DaLiA pickles (written by the test) and
matches ``dsp_estimates`` on the chosen configuration.
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg, window_reference_bpm

BENCH = Path(__file__).resolve().parents[1] / "bench" / "heart_rate_spc2015.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("heart_rate_spc2015", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_nested_choice_never_uses_the_held_out_subject(bench):
    # config 0 is best on subjects 1-3, config 1 only thanks to subject 0
    real = np.array([[9.0, 1.0, 1.0, 1.0], [0.0, 1.2, 1.2, 1.2]])
    chosen, final = bench._nested(real, np.zeros((2, 1)))
    assert chosen[0] == 0  # subject 0 cannot choose config 1 for itself
    assert list(chosen[1:]) == [1, 1, 1]  # the others see subject 0's 0.0 among their training subjects
    assert final == 1  # over all four: 0.9 < 3.0
    # the simulated term counts with SIM_WEIGHT
    chosen, final = bench._nested(real, np.array([[0.0], [100.0]]))
    assert final == 0 and list(chosen) == [0, 0, 0, 0]


def _write_dalia(root: Path, k: int, seconds: float = 70.0) -> None:
    r64 = simulate_wrist_ppg(0.0, sample_rate=64.0, rng=k, protocol=[("rest", 20.0), ("walk", seconds - 20.0)])
    r32 = simulate_wrist_ppg(0.0, sample_rate=32.0, rng=k, protocol=[("rest", 20.0), ("walk", seconds - 20.0)])
    n_win = 1 + int((seconds - 8) // 2)
    data = {"signal": {"wrist": {"BVP": (30 * r64.ppg)[:, None], "ACC": (64 * r32.acc.T)}},
            "label": window_reference_bpm(r64.beats, np.arange(n_win) * 2.0, 8.0).astype(np.float64), "subject": f"S{k}"}
    (root / f"S{k}").mkdir(parents=True)
    with open(root / f"S{k}" / f"S{k}.pkl", "wb") as fh:
        pickle.dump(data, fh, protocol=2)


def test_dsp_selection_on_ppg_dalia_pickles(bench, tmp_path, monkeypatch):
    for k in (1, 2, 3):
        _write_dalia(tmp_path, k)
    monkeypatch.setattr(bench, "DSP_MOTION", bench.DSP_MOTION[:2])
    monkeypatch.setattr(bench, "DSP_TRACK_GRID", {**{k: v[:1] for k, v in bench.DSP_TRACK_GRID.items()}, "reacquire_acc": [0.0, 0.9]})
    monkeypatch.setattr(bench, "DSP_TD", bench.DSP_TD[:1] + bench.DSP_TD[-1:])  # off, and on at the largest threshold
    monkeypatch.setattr(bench, "SIM", {"seed": 101, "n_subjects": 2, "minutes": 1.0})
    args = argparse.Namespace(dataset="ppg_dalia", root=str(tmp_path))
    assert bench._n_subjects(args) == 3
    res = bench.select_dsp(args)  # asserts inside that its loop equals dsp_estimates on the final choice
    assert res["n_configs"] == 8 and [r["subject"] for r in res["rows"]] == ["S1", "S2", "S3"]
    assert all(np.isfinite(r["mae"]) and r["mae"] < 5.0 for r in res["rows"]), res["rows"]
    assert res["final"]["motion"] in bench.DSP_MOTION[:2]
    assert {k: res["final"][k] for k in ("clean_motion_g", "td_agree_bpm")} in bench.DSP_TD
    yaml = bench._yaml({"sigma_bpm": 5.0, "gamma_motion": None}, res["final"])
    assert "gamma_motion: null" in yaml and "calibrate_tracking: null" in yaml


def _fake_fold(folder: Path, subject: str, offset_bpm: float, rng: np.random.Generator) -> None:
    """A loso fold's outputs.npz: the 'CNN' puts a bump at reference + offset (+ a little noise)."""
    grid = np.arange(113) * 1.875 + 30.0

    def probs(y: np.ndarray) -> np.ndarray:
        p = np.exp(-0.5 * ((grid[None] - (y + offset_bpm + rng.normal(0, 1.0, len(y)))[:, None]) / 3.0) ** 2)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    y = 80.0 + 10 * np.sin(np.arange(30) / 5)
    sy = 120.0 + 5 * np.cos(np.arange(20) / 4)
    folder.mkdir(parents=True)
    np.savez(folder / "outputs.npz", float=probs(y), int8=probs(y), acc=np.zeros((30, 113), np.float32), y=y,
             rec=np.zeros(30, int), t=np.arange(30) * 2.0, groups=np.array([subject] * 30),
             recording=np.array([subject] * 30), sim_float=probs(sy), sim_int8=probs(sy),
             sim_acc=np.zeros((20, 113), np.float32), sim_y=sy, sim_rec=np.zeros(20, int), sim_t=np.arange(20) * 2.0,
             sim_groups=np.array(["s"] * 20), grid=grid)


def test_variant_choice_is_nested_and_cached(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "CNN_GRID", {"sigma_bpm": [3.75, 5.0]})
    rng = np.random.default_rng(0)
    for k, s in enumerate(["01", "02", "03"]):
        _fake_fold(tmp_path / "A" / f"fold{k:02d}", s, 0.0, rng)  # right on every subject
        _fake_fold(tmp_path / "B" / f"fold{k:02d}", s, 15.0, rng)  # 15 BPM off everywhere
    res = bench.select_cnn({"A": tmp_path / "A", "B": tmp_path / "B"})
    assert res["variant"] == "A" and [r["variant"] for r in res["rows"]] == ["A", "A", "A"]
    assert res["n_configs"] == 4 and all(r["int8"] < 2.0 for r in res["rows"]), res["rows"]
    assert res["per_variant"]["B"]["loso_int8"] > 10.0
    assert (tmp_path / "A" / "cnn_grid.npz").exists()
    # chosen again from the cache: tracking is not run over the grid a second time
    def no_tracking(*_a, **_k):
        raise AssertionError("tracked again despite the cache")

    monkeypatch.setattr("tinyml_suite.apps.heart_rate.postprocess.track", no_tracking)
    again = bench.cnn_grid_scores(tmp_path / "A", sorted((tmp_path / "A").glob("fold*")))
    assert again["real"].shape == (2, 3)
    # variants must cover the same folds
    (tmp_path / "C" / "fold00").mkdir(parents=True)
    _fake_fold(tmp_path / "C" / "fold05", "06", 0.0, rng)
    with pytest.raises(SystemExit, match="finish its --stage loso"):
        bench.select_cnn({"A": tmp_path / "A", "C": tmp_path / "C"})


def test_heldout_refuses_uncommitted_choices(bench, tmp_path):
    from tinyml_suite.apps.heart_rate.app import HeartRateOptions

    opts = HeartRateOptions()
    track = {k: getattr(opts.tracking, k) for k in ("sigma_bpm", "gamma", "uniform", "init_bpm")}
    dsp = {"motion": {"rule": opts.dsp_baseline.motion.rule}, "clean_motion_g": opts.dsp_baseline.clean_motion_g,
           "tracking": {"gamma": opts.dsp_baseline.tracking.gamma}}
    (tmp_path / "A").mkdir()
    sel = {"dataset": "spc2015", "variant": "A", "variants": {"A": {"dir": str(tmp_path / "A"), "overrides": []}},
           "cnn": {"final": track}, "dsp": {"final": dsp}}
    sel["variants"]["A"]["overrides"] = ["dataset.augment_copies=1"]  # the committed SPC 2015 default, as typed
    bad = bench.committed_mismatches(sel, str(tmp_path))
    assert bad == [], bad  # the defaults are what they are ("1" from the command line is the integer 1)
    sel["cnn"]["final"] = {**track, "gamma": 0.123}
    sel["variants"]["A"]["overrides"] = ["dataset.augment_copies=3", "optimize.variants=[int8]"]
    bad = bench.committed_mismatches(sel, str(tmp_path))
    assert any(b.startswith("app.tracking.gamma=") and "0.123" in b for b in bad), bad
    assert any(b.startswith("dataset.augment_copies=1") and "(chosen: 3)" in b for b in bad), bad
    assert not any("optimize.variants" in b for b in bad)  # a bench-only override is not a recipe choice
    (tmp_path / "heldout.json").write_text("[]")
    args = argparse.Namespace(dataset="spc2015", root=str(tmp_path), heldout="S04_T01")
    with pytest.raises(SystemExit, match="scored already"):
        bench.stage_heldout(args, tmp_path)
