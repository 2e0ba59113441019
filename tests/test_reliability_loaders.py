"""Loaders under hostile files: structural checks, explicit skips, and property tests.

Every real-format loader is given a tiny valid dataset (tests/helpers/tiny_datasets.py),
then one file is damaged. The named cases check the exact answer (an error naming the
file and what is wrong, or a logged and counted skip where skipping is documented); the
property tests (hypothesis) damage files at random - random bytes, truncation at any
point, a flipped byte, NaN/inf and stray tokens in text formats, an empty file - and
require that every load ends in a result or a TinyMLError, never another exception.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers.tiny_datasets import LOADERS, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyml_suite.common.data import DataSplits
from tinyml_suite.common.errors import DatasetError, TinyMLError

#: bounded and deterministic for CI; TINYML_FUZZ_EXAMPLES=500 digs deeper by hand
PROPERTY = settings(max_examples=int(os.environ.get("TINYML_FUZZ_EXAMPLES", "25")), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """One pristine tiny dataset per loader (copied before each damage)."""
    base = tmp_path_factory.mktemp("tiny")
    return {name: (base / name, build(base / name)) for name, (_, build) in LOADERS.items()}


def _copy(trees, name: str, dst: Path) -> tuple[Path, dict]:
    src, opts = trees[name]
    shutil.copytree(src, dst)
    return dst, {**opts, "root": str(dst)}


# -- named structural cases ---------------------------------------------------------------


def test_truncated_wav_is_refused_with_its_name(trees, tmp_path):
    root, opts = _copy(trees, "speech_commands", tmp_path / "sc")
    clip = root / "yes" / "aaaa0001_nohash_0.wav"
    clip.write_bytes(clip.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"aaaa0001_nohash_0\.wav: truncated: its header declares 8000 bytes"):
        load("speech_commands", opts)


def test_truncated_wav_in_a_vibration_folder_is_refused(trees, tmp_path):
    root, opts = _copy(trees, "vibration_folder", tmp_path / "v")
    f = root / "fault" / "c.wav"
    f.write_bytes(f.read_bytes()[:3000])
    with pytest.raises(DatasetError, match=r"c\.wav: truncated"):
        load("vibration_folder", opts)


def test_random_bytes_mitbih_annotations_are_refused(trees, tmp_path):
    root, opts = _copy(trees, "mitbih", tmp_path / "m")
    accepted_by_wfdb = 0
    for seed in range(8):  # about half of such files parse without an error in wfdb itself
        (root / "101.atr").write_bytes(np.random.default_rng(seed).bytes(600))
        try:
            import wfdb

            wfdb.rdann(str(root / "101"), "atr")
            accepted_by_wfdb += 1
        except Exception:
            pass
        with pytest.raises(DatasetError, match=r"101\.atr"):
            load("mitbih", opts)
    assert accepted_by_wfdb > 0  # the case the loader's own checks must catch


def test_mitbih_record_without_annotations_is_a_counted_skip(trees, tmp_path, caplog):
    root, opts = _copy(trees, "mitbih", tmp_path / "m")
    (root / "101.atr").unlink()
    with caplog.at_level(logging.WARNING):
        data = load("mitbih", opts)
    assert any("101" in r.getMessage() and ".atr" in r.getMessage() for r in caplog.records)
    assert any("1 record" in s and "101" in s for s in data.stats()["skipped"])
    with pytest.raises(DatasetError, match=r"101.*\.atr"):
        load("mitbih", {**opts, "records": ["100", "101"]})  # named explicitly: an error


def test_magic_wand_rows_with_a_wrong_field_count_are_refused(trees, tmp_path):
    root, opts = _copy(trees, "magic_wand", tmp_path / "w")
    f = root / "ring" / "output_ring_u2.txt"
    lines = f.read_text().splitlines()
    lines[5] = "12.0,-3.5"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"output_ring_u2\.txt line 6: 2 fields"):
        load("magic_wand", opts)


@pytest.mark.parametrize("name,file", [
    ("imu_csv", "circle/rec0.csv"),
    ("ppg_csv", "s1.csv"),
    ("vibration_folder", "normal/a.csv"),
])
def test_header_only_files_are_refused(trees, tmp_path, name, file):
    root, opts = _copy(trees, name, tmp_path / "d")
    f = root / file
    f.write_text(f.read_text().splitlines()[0] + "\n")
    with pytest.raises(DatasetError, match=file.split("/")[-1].replace(".", r"\.")):
        load(name, opts)


def test_ppg_dalia_reference_longer_than_the_signal_is_refused(trees, tmp_path):
    import pickle

    root, opts = _copy(trees, "ppg_dalia", tmp_path / "p")
    f = root / "S2" / "S2.pkl"
    d = pickle.loads(f.read_bytes())
    d["label"] = np.full(40, 70.0)  # 40 windows need 86 s; the signal lasts 30 s
    f.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(DatasetError, match=r"S2\.pkl: 40 reference heart rates"):
        load("ppg_dalia", opts)


def test_cwru_nan_samples_are_refused(trees, tmp_path):
    import scipy.io

    root, opts = _copy(trees, "cwru", tmp_path / "c")
    f = root / "12k_DE" / "IR007_0.mat"
    m = scipy.io.loadmat(f)
    m["X105_DE_time"][100] = np.nan
    scipy.io.savemat(f, {k: v for k, v in m.items() if not k.startswith("__")})
    with pytest.raises(DatasetError, match=r"IR007_0\.mat.*NaN"):
        load("cwru", opts)


# -- property tests -----------------------------------------------------------------------

MUTATIONS = ("random_bytes", "truncate", "flip_byte", "empty", "nan_token", "inf_token", "stray_token",
             "drop_field", "extra_field", "blank_lines")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _mutate(path: Path, how: str, a: int, junk: bytes) -> None:
    data = path.read_bytes()
    n = len(data)
    if how == "random_bytes":
        path.write_bytes(junk or b"\x00")
    elif how == "truncate":
        path.write_bytes(data[: a % max(n, 1)])
    elif how == "flip_byte" and n:
        b = bytearray(data)
        b[a % n] ^= 1 << (a % 8)
        path.write_bytes(bytes(b))
    elif how == "empty":
        path.write_bytes(b"")
    elif how in ("nan_token", "inf_token", "stray_token", "drop_field", "extra_field", "blank_lines"):
        try:
            lines = data.decode("utf-8").split("\n")
        except UnicodeDecodeError:  # a binary format: damage its bytes instead
            b = bytearray(data)
            if n:
                b[a % n] = junk[0] if junk else 0
            path.write_bytes(bytes(b))
            return
        i = a % max(len(lines), 1)
        fields = lines[i].split(",")
        j = (a // 7) % max(len(fields), 1)
        if how == "nan_token":
            fields[j] = "nan"
        elif how == "inf_token":
            fields[j] = "-inf"
        elif how == "stray_token":
            fields[j] = junk.decode("latin-1")[:8] or "x"
        elif how == "drop_field" and len(fields) > 1:
            del fields[j]
        elif how == "extra_field":
            fields.append("1.5")
        elif how == "blank_lines":
            fields = fields + ["\n\n"]
        lines[i] = ",".join(fields)
        path.write_text("\n".join(lines))


def _check_load(name: str, opts: dict) -> None:
    try:
        data = load(name, opts)
    except TinyMLError:
        return
    assert isinstance(data, DataSplits)
    for split in (data.train, data.val, data.test):
        assert np.all(np.isfinite(split.x)), f"{name}: non-finite samples loaded without an error"


@pytest.mark.parametrize("name", sorted(LOADERS))
@PROPERTY
@given(which=st.integers(0, 10_000), how=st.sampled_from(MUTATIONS), a=st.integers(0, 1 << 30),
       junk=st.binary(min_size=0, max_size=64))
def test_a_damaged_file_ends_in_a_result_or_a_tinyml_error(trees, name, which, how, a, junk):
    with tempfile.TemporaryDirectory() as tmp:
        root, opts = _copy(trees, name, Path(tmp) / name)
        files = _files(root)
        _mutate(files[which % len(files)], how, a, junk)
        _check_load(name, opts)
