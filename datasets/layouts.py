"""Write recordings in the folder layouts the suite's own-data loaders read.

``tinyml capture`` records raw samples from a board and stores them where the app's
loader for your own data (``App.custom_dataset``) finds them, so that a captured folder
trains like any other:

======================  ==================================================================
layout (loader)         file
======================  ==================================================================
``speech_commands``     ``<root>/<label>/<stem>.wav``: mono 16-bit PCM at the device rate
``imu_csv``             ``<root>/<label>/<stem>.csv``: ``timestamp,ax,ay,az[,gx,gy,gz]``
                        (ms; g and deg/s: the training units the HAL delivers)
``vibration_folder``    ``<root>/<label>/<stem>.csv``: one column per channel (name header);
                        set ``dataset.sample_rate_hz`` to the device rate when training
``ppg_csv``             ``<root>/<label>_<stem>.csv``: ``time,ppg,acc_x,acc_y,acc_z,hr`` with
                        an empty ``hr`` column: fill in your reference (chest strap) BPM
======================  ==================================================================

Values are written exactly: WAV samples as ``round(x * 32768)`` clipped to int16 (a
sample that is a multiple of 1/32768 comes back bit for bit), CSV values with
``repr``-exact float32 formatting (``%.9g``). Files are written atomically.

Examples
--------
>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> x = np.array([[0.0, 0.25, -0.5]], np.float32)
>>> p = write_recording("imu_csv", root, "wave", "take1", np.vstack([x] * 6), 50.0)
>>> p.relative_to(root).as_posix(), p.read_text().splitlines()[:2]
('wave/take1.csv', ['timestamp,ax,ay,az,gx,gy,gz', '0,0,0,0,0,0,0'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.io import atomic_path

__all__ = ["LAYOUTS", "channel_names", "write_recording"]

LAYOUTS = ("speech_commands", "imu_csv", "vibration_folder", "ppg_csv")

_IMU = ("ax", "ay", "az", "gx", "gy", "gz", "mx", "my", "mz")
_PPG = ("ppg", "acc_x", "acc_y", "acc_z")


def channel_names(layout: str, channels: int) -> list[str]:
    """Column names of ``channels`` channels in ``layout`` (one-line error if it cannot hold them)."""
    if layout == "speech_commands":
        if channels != 1:
            raise ConfigError(f"layout speech_commands holds mono audio; the device sends {channels} channels")
        return ["audio"]
    if layout == "imu_csv":
        if channels not in (3, 6, 9):
            raise ConfigError(f"layout imu_csv holds 3, 6 or 9 IMU axes; the device sends {channels} channels")
        return list(_IMU[:channels])
    if layout == "ppg_csv":
        if channels != 4:
            raise ConfigError(f"layout ppg_csv holds ppg + 3 accelerometer axes; the device sends {channels} channels")
        return list(_PPG)
    if layout == "vibration_folder":
        return [f"ch{c}" for c in range(channels)]
    raise ConfigError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")


def _safe(name: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise ConfigError(f"{what} {name!r} must be letters, digits, '_', '-' or '.' (it becomes a folder/file name)")
    return name


def _csv(path: Path, header: Sequence[str], columns: Sequence[np.ndarray]) -> None:
    rows = np.column_stack(columns)
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(",".join(header) + "\n")
        for r in rows:
            fh.write(",".join(f"{v:.9g}" for v in r) + "\n")


def write_recording(layout: str, root: str | Path, label: str, stem: str, samples: np.ndarray,
                    sample_rate: float) -> Path:
    """Write one recording ``samples`` [shape=(channels, n)] at ``sample_rate`` Hz; its path.

    ``label`` is the class folder (``ppg_csv``: the subject prefix of the file name) and
    ``stem`` the file name without extension.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ConfigError(f"samples must be (channels, n) with n > 0, got shape {x.shape}")
    names = channel_names(layout, x.shape[0])
    label, stem = _safe(label, "label"), _safe(stem, "file name")
    root = Path(root)
    t_ms = np.arange(x.shape[1], dtype=np.float64) * 1000.0 / float(sample_rate)
    if layout == "speech_commands":
        import soundfile as sf

        path = root / label / f"{stem}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm = np.clip(np.round(x[0].astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)
        with atomic_path(path) as tmp:
            sf.write(str(tmp), pcm, int(round(sample_rate)), subtype="PCM_16", format="WAV")
        return path
    if layout == "ppg_csv":
        path = root / f"{label}_{stem}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            fh.write("time," + ",".join(names) + ",hr\n")
            for i in range(x.shape[1]):
                fh.write(f"{t_ms[i] / 1000.0:.9g}," + ",".join(f"{v:.9g}" for v in x[:, i]) + ",\n")
        return path
    path = root / label / f"{stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout == "imu_csv":
        _csv(path, ["timestamp", *names], [t_ms, *x.astype(np.float64)])
    else:
        _csv(path, names, list(x.astype(np.float64)))
    return path
