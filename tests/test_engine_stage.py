"""The compiled model in a run: the verify stage's ``engine`` block (common/stages.py, engine/check.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.run_if import needs_cc
from helpers.toy_run import make_toy_run

ENGINE_KEYS = {"matches_tflm", "n_compared", "n_mismatched", "code_bytes", "weights_bytes", "scratch_bytes",
               "tflm_arena_bytes"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_run(tmp_path_factory.getbasetemp())


@needs_cc()
def test_verify_stage_writes_the_engine_block(toy):
    m = json.loads((toy / "metrics.json").read_text())
    eng = m["engine"]
    assert ENGINE_KEYS <= set(eng), sorted(eng)
    assert eng["matches_tflm"] is True and eng["n_mismatched"] == 0
    # every input the int8 metrics were computed on was compared
    assert eng["n_compared"] >= m["tflm"]["eval_samples"] > 0
    assert eng["tflm_arena_bytes"] == m["tflm"]["arena_min_bytes"]
    assert 0 < eng["scratch_bytes"] < eng["tflm_arena_bytes"]
    assert eng["weights_bytes"] > 0 and 200 < eng["code_bytes"] < 12 * 1024
    assert set(eng["ops"]) == set(m["tflm"]["ops"])


@needs_cc()
def test_a_wrong_output_is_counted_as_a_mismatch(toy):
    """The comparison can fail: one flipped LSB in TFLM's recorded outputs is found."""
    from tinyml_suite.common.deploy.engine.check import verify_against_tflm
    from tinyml_suite.common.deploy.verify import io_info, run_tflm

    data = (toy / "model_int8.tflite").read_bytes()
    info_in, _ = io_info(data)
    xq = np.random.default_rng(0).integers(-128, 128, size=(12, *info_in.shape[1:])).astype(np.int8)
    raw = run_tflm(data, xq, arena_size=64 * 1024)
    ok, _ = verify_against_tflm(data, [(xq, raw)], code_target="host")
    assert ok["matches_tflm"] and ok["n_compared"] == 12
    bad = raw.copy()
    bad[5].flat[0] = np.int8(int(bad[5].flat[0]) ^ 1)
    block, _ = verify_against_tflm(data, [(xq, bad)], code_target="host")
    assert block["matches_tflm"] is False
    assert (block["n_mismatched"], block["max_abs_diff"], block["first_mismatch"]["example"]) == (1, 1, 5)
