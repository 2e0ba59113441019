"""Tiny, valid datasets in every real format the loaders read (written by the tests).

Each builder writes a small folder in the dataset's real layout and returns the loader
options that read it. The reliability tests then damage one file at a time (random
bytes, truncation, NaN, wrong field counts, header only, ...) and check the loader's
answer. Small on purpose: each loads in well under a second.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def wav_tree(root: Path) -> dict[str, Any]:
    """Speech Commands layout: two keywords, three speakers, official list files."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    rels = []
    for word in ("yes", "no", "dog"):
        (root / word).mkdir(parents=True, exist_ok=True)
        for spk in ("aaaa0001", "bbbb0002", "cccc0003"):
            rel = f"{word}/{spk}_nohash_0.wav"
            sf.write(root / rel, 0.1 * rng.standard_normal(4000), 16000, subtype="PCM_16")
            rels.append(rel)
    (root / "validation_list.txt").write_text("\n".join(r for r in rels if "bbbb" in r) + "\n")
    (root / "testing_list.txt").write_text("\n".join(r for r in rels if "cccc" in r) + "\n")
    return dict(root=str(root), keywords=["yes", "no"], augment_copies=0, silence_percentage=0.0,
                unknown_percentage=50.0)


def magic_wand_tree(root: Path) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    for label in ("wing", "ring"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for user in ("u1", "u2", "u3"):
            lines = ["Script started on Mon Jul 29 11:41:41 2019", ""]
            for _ in range(2):
                lines.append("-,-,-")
                lines += [",".join(f"{v:.1f}" for v in rng.normal(0, 300, 3)) for _ in range(40)]
            (root / label / f"output_{label}_{user}.txt").write_text("\r\n".join(lines) + "\r\n")
    return dict(root=str(root), labels=["wing", "ring"], val_users=["u2"], test_users=["u3"],
                window_samples=32, train_shifts=0)


def imu_csv_tree(root: Path) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    for label in ("circle", "punch"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(4):
            rows = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(0, 1, 3)) for _ in range(30))
            (root / label / f"rec{i}.csv").write_text("aX,aY,aZ\n" + rows + "\n")
    return dict(root=str(root), sample_rate=50.0, window_samples=32, train_shifts=0,
                val_users=0.25, test_users=0.25)


def ucr_ts_tree(root: Path) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    root.mkdir(parents=True, exist_ok=True)
    for part in ("TRAIN", "TEST"):
        head = ["# tiny", "@problemName Tiny", "@timeStamps false", "@missing false", "@univariate false",
                "@dimensions 3", "@equalLength true", "@seriesLength 20", "@classLabel true a b", "@data"]
        cases = []
        for k in range(6):
            dims = [",".join(f"{v:.3f}" for v in rng.normal(0, 1, 20)) for _ in range(3)]
            cases.append(":".join(dims) + (":a" if k % 2 else ":b"))
        (root / f"Tiny_{part}.ts").write_text("\n".join(head + cases) + "\n")
    return dict(root=str(root), sample_rate=10.0, val_fraction=0.34)


def cwru_tree(root: Path) -> dict[str, Any]:
    import scipy.io

    rng = np.random.default_rng(4)
    folder = root / "12k_DE"
    folder.mkdir(parents=True, exist_ok=True)
    for rec, name in ((97, "Normal_0"), (98, "Normal_2"), (105, "IR007_0"), (107, "IR007_2")):
        scipy.io.savemat(folder / f"{name}.mat", {
            f"X{rec:03d}_DE_time": rng.normal(0, 0.1, (6000, 1)),
            f"X{rec:03d}_FE_time": rng.normal(0, 0.1, (6000, 1)),
            f"X{rec:03d}RPM": np.array([[1797.0]]),
        })
    return dict(root=str(root), target_rate_hz=4000.0, window_samples=256, hop_samples=256, test_loads=[2])


def vibration_tree(root: Path) -> dict[str, Any]:
    import soundfile as sf

    rng = np.random.default_rng(5)
    for label in ("normal", "fault"):
        (root / label).mkdir(parents=True, exist_ok=True)
        np.savetxt(root / label / "a.csv", rng.normal(0, 1, (1500, 2)), delimiter=",", header="x,y", comments="")
        np.save(root / label / "b.npy", rng.normal(0, 1, (1500, 2)))
        sf.write(root / label / "c.wav", rng.normal(0, 0.1, (1500, 2)), 1000, subtype="PCM_16")
    return dict(root=str(root), sample_rate_hz=1000.0, target_rate_hz=None, window_samples=256, hop_samples=256)


def mitbih_tree(root: Path) -> dict[str, Any]:
    import wfdb

    root.mkdir(parents=True, exist_ok=True)
    n = 360 * 20
    for name in ("100", "101"):
        sig = np.zeros((n, 2))
        beats = np.arange(180, n - 100, 300)
        for b in beats:
            sig[b - 3 : b + 3, 0] = 1.0
        wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=sig,
                    fmt=["212", "212"], write_dir=str(root))
        wfdb.wrann(name, "atr", beats, symbol=["N"] * len(beats), write_dir=str(root))
    return dict(root=str(root))


def ppg_csv_tree(root: Path) -> dict[str, Any]:
    rng = np.random.default_rng(6)
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(0, 24, 1 / 32)
    for subject in ("s1", "s2", "s3"):
        ppg = np.sin(2 * np.pi * 1.2 * t) + 0.1 * rng.standard_normal(len(t))
        rows = "\n".join(f"{a:.4f},{b:.4f},0,0,1,72" for a, b in zip(t, ppg))
        (root / f"{subject}.csv").write_text("time,ppg,acc_x,acc_y,acc_z,hr\n" + rows + "\n")
    return dict(root=str(root))


def ppg_dalia_tree(root: Path) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    for k in (1, 2, 3):
        (root / f"S{k}").mkdir(parents=True, exist_ok=True)
        seconds = 30
        d = {"signal": {"wrist": {"BVP": rng.normal(0, 1, (64 * seconds, 1)),
                                  "ACC": rng.normal(0, 64, (32 * seconds, 3))}},
             "label": np.full((seconds - 8) // 2 + 1, 70.0), "subject": f"S{k}"}
        with open(root / f"S{k}" / f"S{k}.pkl", "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    return dict(root=str(root))


#: loader name -> (Dataset class path, tree builder)
LOADERS: dict[str, tuple[str, Callable[[Path], dict[str, Any]]]] = {
    "speech_commands": ("tinyml_suite.datasets.loaders.speech_commands.SpeechCommands", wav_tree),
    "magic_wand": ("tinyml_suite.datasets.loaders.magic_wand.MagicWand", magic_wand_tree),
    "imu_csv": ("tinyml_suite.datasets.loaders.imu_csv.ImuCsv", imu_csv_tree),
    "ucr_ts": ("tinyml_suite.datasets.loaders.ucr_ts.UcrTs", ucr_ts_tree),
    "cwru": ("tinyml_suite.datasets.loaders.cwru.CWRU", cwru_tree),
    "vibration_folder": ("tinyml_suite.datasets.loaders.vibration_folder.VibrationFolder", vibration_tree),
    "mitbih": ("tinyml_suite.datasets.loaders.mitbih.MitBih", mitbih_tree),
    "ppg_csv": ("tinyml_suite.datasets.loaders.ppg_csv.PpgCsv", ppg_csv_tree),
    "ppg_dalia": ("tinyml_suite.datasets.loaders.ppg_dalia.PpgDalia", ppg_dalia_tree),
}


def dataset_class(name: str) -> type:
    import importlib

    module, _, cls = LOADERS[name][0].rpartition(".")
    return getattr(importlib.import_module(module), cls)


def load(name: str, options: dict[str, Any]):
    """Build ``name`` from ``options`` without the cache and load it."""
    return dataset_class(name)(seed=0, cache=False, **options).load()
