"""Tensor-arena measurement (common/deploy/arena.py): the minimum works, smaller fails."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinyml_suite.common.errors import ConfigError, DeployError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def toy_int8():
    import keras
    from toy import build_toy_model

    from tinyml_suite.common.deploy.quantize import convert

    keras.utils.set_random_seed(0)
    model = build_toy_model((128, 1), 3)
    X = np.random.default_rng(0).standard_normal((40, 128, 1)).astype(np.float32)
    return convert(model, variant="int8", representative=X), X


@pytest.fixture(scope="module")
def measured(toy_int8):
    from tinyml_suite.common.deploy.arena import measure_arena

    data, _X = toy_int8
    return measure_arena(data, margin=0.1)


def test_measured_arena_works_and_smaller_fails(toy_int8, measured, tmp_path):
    """The minimum runs (in this process, and in a probe); min - 1 and min // 2 fail
    (in child processes: a far-too-small arena can crash TFLM)."""
    from tinyml_suite.common.deploy.arena import probe_arena
    from tinyml_suite.common.deploy.verify import run_tflm

    data, X = toy_int8
    r = measured
    assert 0 < r.min_bytes < 64 * 1024
    out = run_tflm(data, X[:8], arena_size=r.min_bytes)  # allocates and invokes
    assert out.shape == (8, 3)
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    assert probe_arena(path, r.min_bytes)[0]
    ok, outcome, _ = probe_arena(path, r.min_bytes - 1)
    assert not ok and outcome.startswith("alloc-fail"), outcome
    ok, outcome, _ = probe_arena(path, r.min_bytes // 2)
    assert not ok, outcome


def test_arena_result_fields(measured):
    r = measured
    assert r.granularity == 1
    assert r.with_margin_bytes % 16 == 0
    assert r.with_margin_bytes >= int(np.ceil(r.min_bytes * 1.1))
    assert r.with_margin_bytes - np.ceil(r.min_bytes * 1.1) < 16
    # TFLM's own RecordingMicroAllocator total fits in the measured minimum
    assert r.recorded_bytes is not None and r.recorded_bytes <= r.min_bytes
    sizes_ok = [p["size"] for p in r.probe_log if p["ok"]]
    sizes_bad = [p["size"] for p in r.probe_log if not p["ok"]]
    assert min(sizes_ok) == r.min_bytes and max(sizes_bad) == r.min_bytes - 1
    d = r.as_dict()
    assert d["min_bytes"] == r.min_bytes and d["probes"] == len(r.probe_log)


def test_arena_bad_inputs():
    from tinyml_suite.common.deploy.arena import measure_arena

    with pytest.raises(DeployError, match="empty"):
        measure_arena(b"")
    with pytest.raises(ConfigError, match="margin=-0.5"):
        measure_arena(b"\x00" * 64, margin=-0.5)


def test_probe_survives_a_crash(toy_int8, tmp_path):
    """A tiny arena may segfault TFLM; the probe reports a failure, the test process lives."""
    from tinyml_suite.common.deploy.arena import probe_arena

    data, _X = toy_int8
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    outcomes = [probe_arena(path, size) for size in (16, 100, 1000)]
    assert not any(ok for ok, _, _ in outcomes)
    assert all(o.startswith(("alloc-fail", "crash", "exit")) for _, o, _ in outcomes), outcomes
