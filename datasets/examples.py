"""Small example datasets, written in the exact layout of a folder loader.

``tinyml new <dir> --from <app>`` puts one of these into the new project's ``data/``,
so the project's first ``tinyml`` runs at once, on data shaped like the user's own
recordings will be. Every writer draws on the suite's simulators (the same ones behind
the synthetic default datasets), is seeded, and returns the dataset options the files
need (e.g. their sample rate), which the scaffold writes into ``conf/dataset/my_data.yaml``.
Single recordings are written by :func:`~tinyml_suite.datasets.layouts.write_recording`,
the writer ``tinyml capture`` uses for a board's recordings.

==================  =============================================================
loader              files written under ``root``
==================  =============================================================
``imu_csv``         ``<gesture>/userNN.csv``: ``timestamp,aX,aY,aZ,gX,gY,gZ`` (ms, g,
                    deg/s), several takes per file separated by blank lines
``ppg_csv``         ``subjectN.csv``: ``time,ppg,acc_x,acc_y,acc_z,hr`` (s, a.u., g, BPM)
``vibration_folder`` ``normal/*.csv``, ``<fault>/*.csv``: one column ``ch0`` (g)
``speech_commands`` ``<word>/<speaker>_nohash_<n>.wav`` (16 kHz mono), ``_unknown_``
                    words in their own folders, ``validation_list.txt``,
                    ``testing_list.txt`` and ``_background_noise_/noise.wav``
==================  =============================================================
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.datasets.layouts import write_recording

__all__ = ["EXAMPLE_WRITERS", "LAYOUTS", "write_example"]

#: loader name -> one line on the folder layout it reads (for a project's README)
LAYOUTS: dict[str, str] = {
    "imu_csv": "one folder per gesture label holding CSV files with a header "
               "(`timestamp` in ms, `aX,aY,aZ` in g, `gX,gY,gZ` in deg/s), takes separated by blank lines",
    "ppg_csv": "one CSV file per recording with a header `time,ppg,acc_x,acc_y,acc_z,hr` "
               "(seconds, any unit, g, reference BPM per sample)",
    "vibration_folder": "`normal/` with recordings of the healthy machine and one folder per fault, "
                        "one recording per file (CSV with a header, .npy or .wav)",
    "speech_commands": "one folder per word holding 1 s mono WAV clips named `<speaker>_nohash_<n>.wav`; "
                       "other words' folders are the `_unknown_` class; `validation_list.txt` and "
                       "`testing_list.txt` name the held-out clips; `_background_noise_/` holds noise",
}


def _imu_csv(root: Path, seed: int) -> dict[str, Any]:
    from tinyml_suite.datasets.synthetic.gestures import write_imu_csv_folder

    write_imu_csv_folder(root, n_users=6, reps=4, sample_rate=50.0, seconds=2.56, seed=seed)
    return {
        "user_regex": "(?P<user>user[0-9]+)",  # the example's files are named after their user
        "val_users": 1,
        "test_users": 1,
    }


def _ppg_csv(root: Path, seed: int) -> dict[str, Any]:
    from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg

    root.mkdir(parents=True, exist_ok=True)
    fs = 32.0
    for s in range(5):
        r = simulate_wrist_ppg(180.0, sample_rate=fs, rng=np.random.default_rng([seed, 300, s]))
        t = np.arange(len(r.ppg)) / fs
        rows = np.column_stack([t, r.ppg, r.acc.T, r.hr_bpm])
        lines = ["time,ppg,acc_x,acc_y,acc_z,hr"]
        lines += [f"{a:.5f},{b:.5f},{c:.4f},{d:.4f},{e:.4f},{f:.1f}" for a, b, c, d, e, f in rows]  # time: exact at 32 Hz
        (root / f"subject{s + 1}.csv").write_text("\n".join(lines) + "\n")
    return {}


def _vibration_folder(root: Path, seed: int) -> dict[str, Any]:
    from tinyml_suite.datasets.synthetic.vibration import simulate_recording

    fs, seconds = 8000.0, 1.5
    counts = {"normal": 6, "inner_race": 3, "outer_race": 3, "imbalance": 3}
    for k, (label, n) in enumerate(counts.items()):
        for i in range(n):
            rng = np.random.default_rng([seed, 400, k, i])
            x, _ = simulate_recording(rng, sample_rate_hz=fs, seconds=seconds, fault=label,
                                      severity=0 if label == "normal" else 1 + i % 3)
            write_recording("vibration_folder", root, label, f"{label}_{i + 1}", np.reshape(x, (1, -1)), fs)
    return {"sample_rate_hz": fs}


def _speech_commands(root: Path, seed: int) -> dict[str, Any]:
    from tinyml_suite.datasets.keywords import SILENCE, UNKNOWN
    from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords

    # the smoke-sized text-to-speech set (6 train / 3 validation / 3 test clips per keyword,
    # held-out voices in validation and test), dry: the loader adds its own augmentation
    data = TtsKeywords(seed=seed, cache=False, smoke=True, workers=1, augment={"enabled": False}).load()
    lists: dict[str, list[str]] = {"val": [], "test": []}
    count: dict[str, int] = {}
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        for clip, label, word, voice in zip(split.x[:, 0], split.y, split.meta["word"], split.meta["voice"]):
            if data.labels[int(label)] == SILENCE:
                continue
            folder = str(word) if data.labels[int(label)] != UNKNOWN else re.sub(r"[^a-z0-9]", "", str(word).lower())
            speaker = hashlib.sha1(str(voice).encode()).hexdigest()[:8]
            n = count[f"{folder}/{speaker}"] = count.get(f"{folder}/{speaker}", -1) + 1
            path = write_recording("speech_commands", root, folder, f"{speaker}_nohash_{n}",
                                   np.clip(clip, -1.0, 32767 / 32768)[None], data.sample_rate)
            if name in lists:
                lists[name].append(path.relative_to(root).as_posix())
    (root / "validation_list.txt").write_text("\n".join(sorted(lists["val"])) + "\n")
    (root / "testing_list.txt").write_text("\n".join(sorted(lists["test"])) + "\n")
    background = data.extra.get("background")
    if background is not None and len(background):
        import soundfile as sf  # (write_recording refuses folder names starting with "_")

        (root / "_background_noise_").mkdir(exist_ok=True)
        noise = np.clip(background[: 20 * int(data.sample_rate)], -1.0, 1.0)
        sf.write(root / "_background_noise_" / "noise.wav", noise, int(data.sample_rate), subtype="PCM_16")
    return {}


#: loader name (``conf/dataset/<name>.yaml``) -> writer(root, seed) -> dataset options
EXAMPLE_WRITERS: dict[str, Callable[[Path, int], dict[str, Any]]] = {
    "imu_csv": _imu_csv,
    "ppg_csv": _ppg_csv,
    "vibration_folder": _vibration_folder,
    "speech_commands": _speech_commands,
}


def write_example(loader: str, root: str | Path, seed: int = 0) -> dict[str, Any]:
    """Write the example dataset of ``loader`` into ``root``; return the options it needs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> write_example("vibration_folder", root)
    {'sample_rate_hz': 8000.0}
    >>> sorted(p.name for p in root.iterdir())
    ['imbalance', 'inner_race', 'normal', 'outer_race']
    """
    if loader not in EXAMPLE_WRITERS:
        raise ConfigError(f"no example data for dataset={loader}; writers exist for: {', '.join(EXAMPLE_WRITERS)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return EXAMPLE_WRITERS[loader](root, int(seed))
