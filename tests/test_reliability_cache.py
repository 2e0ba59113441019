"""Caches you can trust: content keys, damaged entries, read-only/full caches, concurrent writers.

Hostile cases of docs/RELIABILITY.md (section "Caches"); each asserts the outcome the
table states.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.hostile_fs import full_dir, read_only_dir

from tinyml_suite.common import cache
from tinyml_suite.common.data import DataSplits

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("TINYML_CACHE", str(root))
    cache._warned.clear()
    return root


def _tones(**kw):
    import toy

    return toy.ToyTones(seed=kw.pop("seed", 0), n_per_class=kw.pop("n_per_class", 30), **kw)


def _vibration_tree(root: Path, rng: np.random.Generator) -> dict:
    for label in ("normal", "fault"):
        (root / "sub" / label).mkdir(parents=True)
        for i in range(2):
            np.savetxt(root / "sub" / label / f"r{i}.csv", rng.standard_normal((3000, 1)), delimiter=",")
    return dict(root=str(root / "sub"), sample_rate_hz=1000, target_rate_hz=None,
                window_samples=256, hop_samples=128)


def test_a_changed_file_inside_the_dataset_folder_gives_a_new_dataset(own_cache, tmp_path, rng):
    from tinyml_suite.datasets.loaders.vibration_folder import VibrationFolder

    opts = _vibration_tree(tmp_path / "data", rng)
    first = VibrationFolder(**opts).load()
    # rewrite one file two folders down: the root folder's own mtime does not change
    root_mtime = os.stat(opts["root"]).st_mtime_ns
    np.savetxt(Path(opts["root"]) / "normal" / "r0.csv", 50 * rng.standard_normal((3000, 1)), delimiter=",")
    assert os.stat(opts["root"]).st_mtime_ns == root_mtime
    second = VibrationFolder(**opts).load()
    everything = lambda d: np.concatenate([d.train.x, d.val.x, d.test.x])  # noqa: E731
    assert not np.array_equal(everything(first), everything(second))
    # unchanged files: the cached entry is used (same key)
    assert VibrationFolder(**opts).cache_key() == VibrationFolder(**opts).cache_key()
    assert len(list((own_cache / "datasets").glob("*.npz"))) == 2


def test_fingerprint_sees_same_size_edits_and_new_files(tmp_path):
    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "x.csv"
    f.write_text("1,2,3\n")
    st = f.stat()
    fp = cache.fingerprint(tmp_path)
    f.write_text("1,2,4\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: only the bytes differ
    assert cache.fingerprint(tmp_path) != fp
    fp = cache.fingerprint(tmp_path)
    (tmp_path / "a" / "y.csv").write_text("")
    assert cache.fingerprint(tmp_path) != fp


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bit-flipped":
        b = bytearray(data)
        b[len(b) // 2] ^= 0x10
        path.write_bytes(bytes(b))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "foreign":  # a valid .npz without our checksum record
        with open(path, "wb") as fh:
            np.savez(fh, x=np.zeros(3))
    elif how == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "empty", "foreign", "garbage"])
def test_a_damaged_dataset_entry_is_a_warning_and_is_rebuilt(own_cache, how, caplog):
    ds = _tones()
    good = ds.load()
    (entry,) = (own_cache / "datasets").glob("*.npz")
    _damage(entry, how)
    with caplog.at_level(logging.WARNING):
        again = _tones().load()
    assert np.array_equal(again.train.x, good.train.x)
    assert any("damaged cache entry" in r.getMessage() and entry.name in r.getMessage() for r in caplog.records)
    cache.load_arrays(entry)  # rebuilt: verifies again


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "foreign"])
def test_a_damaged_feature_entry_is_a_warning_and_is_rebuilt(own_cache, compose_cfg, tmp_path, how, caplog):
    from tinyml_suite.common.pipeline import RunContext, instantiate_logged, stage_data, stage_features

    cfg = compose_cfg(["app=toy", "dataset.n_per_class=30"])

    def features() -> dict:
        ctx = RunContext(cfg=cfg, run_dir=tmp_path, app=instantiate_logged(cfg.app), seed=0, config_hash="x")
        stage_data(ctx)
        stage_features(ctx)
        return ctx.X

    first = features()
    (entry,) = (own_cache / "features").glob("*.npz")
    _damage(entry, how)
    with caplog.at_level(logging.WARNING):
        again = features()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert any("damaged cache entry" in r.getMessage() for r in caplog.records)


def test_feature_key_follows_the_data_not_only_the_dataset(compose_cfg, tmp_path):
    """``evaluate split=all`` merges the splits: its features must not be the test split's."""
    from tinyml_suite.common.evaluate_cli import _merge_splits
    from tinyml_suite.common.pipeline import RunContext, feature_cache_key, instantiate_logged, stage_data

    cfg = compose_cfg(["app=toy", "dataset.n_per_class=30"])
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, app=instantiate_logged(cfg.app), seed=0, config_hash="x")
    stage_data(ctx)
    extractor = instantiate_logged(cfg.features, sample_rate=ctx.data.sample_rate)
    key_test = feature_cache_key(ctx, extractor)
    ctx.data.test = _merge_splits(ctx.data)
    assert feature_cache_key(ctx, extractor) != key_test


def test_an_unwritable_cache_is_a_warning_and_the_run_goes_on(tmp_path, monkeypatch, caplog):
    with read_only_dir(tmp_path / "ro") as ro:
        monkeypatch.setenv("TINYML_CACHE", str(ro / "cache"))
        cache._warned.clear()
        with caplog.at_level(logging.WARNING):
            data = _tones().load()
    assert len(data.train) == 90
    assert any("unusable" in r.getMessage() and str(ro) in r.getMessage() for r in caplog.records)


def test_a_full_cache_is_a_warning_and_leaves_no_partial_entry(tmp_path, monkeypatch, caplog):
    with full_dir(tmp_path / "full", "64k") as full:
        monkeypatch.setenv("TINYML_CACHE", str(full))
        cache._warned.clear()
        with caplog.at_level(logging.WARNING):
            data = _tones(n_per_class=200).load()  # 600 x 128 float32 = 300 KB: does not fit
        assert len(data.train) == 600
        assert any("could not write cache entry" in r.getMessage() for r in caplog.records)
        assert list((full / "datasets").iterdir()) == []  # no temporary file, no half entry


_WORKER = textwrap.dedent(
    """
    import logging, sys, numpy as np
    sys.path.insert(0, sys.argv[1])
    import toy
    from tinyml_suite.common import cache
    warnings = []
    class Catch(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage())
    logging.getLogger("tinyml.cache").addHandler(Catch(level=logging.WARNING))
    ref = toy.ToyTones(seed=3, n_per_class=400, cache=False).load()
    for i in range(int(sys.argv[2])):
        ds = toy.ToyTones(seed=3, n_per_class=400)
        if i % 2 == 0:  # drop the entry so that both processes keep rebuilding and replacing it
            for p in (cache.cache_root() / "datasets").glob("*.npz"):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        data = ds.load()
        assert np.array_equal(data.train.x, ref.train.x) and np.array_equal(data.test.y, ref.test.y)
    print("warnings:", len(warnings), warnings[:3])
    """
)


def test_two_processes_share_one_cache_safely(tmp_path):
    """Two writers (sweep workers) building and reading one entry at once: no half-read entry."""
    env = {**os.environ, "TINYML_CACHE": str(tmp_path / "shared"), "PYTHONPATH": str(TESTS)}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(TESTS), "30"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert "warnings: 0" in out, out  # never a damaged (half-written) entry
    folder = tmp_path / "shared" / "datasets"
    entries = list(folder.glob("*.npz"))
    assert len(entries) <= 1 and not list(folder.glob(".*.tmp"))
    for e in entries:
        cache.load_arrays(e)


def test_cache_info_and_clear_from_the_command_line(own_cache, tmp_path):
    _tones().load()
    (own_cache / "datasets" / ".left.npz.abc.tmp").write_bytes(b"half")
    env = {**os.environ, "TINYML_CACHE": str(own_cache)}
    cmd = [sys.executable, "-m", "tinyml_suite.common.cli", "cache"]
    info = subprocess.run([*cmd, "info"], capture_output=True, text=True, env=env)
    assert info.returncode == 0, info.stderr
    assert str(own_cache) in info.stdout and "datasets: 1 entries" in info.stdout
    assert "1 temporary file" in info.stdout
    bad = subprocess.run([*cmd, "clear", "dataset"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "unknown kind 'dataset'" in bad.stderr and "Traceback" not in bad.stderr
    clear = subprocess.run([*cmd, "clear"], capture_output=True, text=True, env=env)
    assert clear.returncode == 0 and "removed 2 cache file(s)" in clear.stdout
    assert not list((own_cache / "datasets").iterdir())


def test_roundtrip_keeps_every_array(own_cache):
    data = _tones().load()
    again = DataSplits.from_arrays(cache.load_arrays(next((own_cache / "datasets").glob("*.npz"))))
    for name in ("train", "val", "test"):
        a, b = getattr(data, name), getattr(again, name)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.groups, b.groups)
