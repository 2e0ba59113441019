"""stage_optimize and stage_verify (common/stages.py) on the toy recipe."""

from __future__ import annotations

import csv
import json
import os

import pytest

from tinyml_suite.common.errors import ConfigError, DeployError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _context(compose_cfg, tmp_path, overrides=()):
    """A RunContext after the data and features stages, with an UNTRAINED toy model."""
    import keras

    from tinyml_suite.common.pipeline import (
        RunContext,
        instantiate_logged,
        stage_data,
        stage_features,
    )

    cfg = compose_cfg(["app=toy", *overrides])
    app = instantiate_logged(cfg.app)
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, app=app, seed=int(cfg.seed), config_hash="test")
    ctx.metrics.update({"model": {}, "float": {}, "int8": {}, "tflm": {}})
    stage_data(ctx)
    stage_features(ctx)
    keras.utils.set_random_seed(0)
    ctx.model = instantiate_logged(cfg.model, input_shape=ctx.X["train"].shape[1:], n_outputs=3)
    return ctx


def test_optimize_and_verify_fill_metrics_state_and_files(compose_cfg, tmp_path):
    """No training (seeded random weights): checks the plumbing, not accuracy."""
    from tinyml_suite.common.stages import stage_optimize, stage_verify

    ctx = _context(
        compose_cfg, tmp_path,
        ["optimize.max_eval_samples=40", "optimize.verify_samples=30", "optimize.representative_samples=60"],
    )
    opt = stage_optimize(ctx)
    assert opt["representative"]["class_counts"] == {0: 20, 1: 20, 2: 20}
    for v in ("int8", "float32", "float16"):
        assert (tmp_path / f"model_{v}.tflite").stat().st_size == opt["variants"][v]
    assert ctx.artifacts["tflite_int8"] == tmp_path / "model_int8.tflite"
    m = ctx.metrics["model"]
    # conv 9/2 on 128 -> 60 x 8 (4320), conv 5/2 on 60x8 -> 28 x 8 (8960), dense 8->3 (24)
    assert m["macs"] == 13304 and m["params"] == ctx.model.count_params()
    assert m["tflite_bytes"] == opt["variants"]["int8"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes left nothing behind

    verify = stage_verify(ctx)
    t = ctx.metrics["tflm"]
    assert t["ops"] == ["CONV_2D", "FULLY_CONNECTED", "MEAN", "RESHAPE", "SOFTMAX"]
    assert t["resolver_methods"][0] == "AddConv2D"
    assert 0 < t["arena_min_bytes"] <= t["arena_bytes"]
    assert t["n_compared"] == 30 and t["eval_samples"] == 40
    assert t["matches_litert"] == (t["max_abs_diff"] == 0)
    assert t["max_abs_diff"] <= 1  # see docs/DEPLOY.md: at most one int8 step
    assert "float_on_eval_subset" in t  # the float model scored on the same 40 examples
    assert ctx.metrics["int8"]["n"] == 40 and "accuracy" in ctx.metrics["int8"]
    # for the firmware stage
    assert ctx.state.arena_bytes == t["arena_bytes"]
    assert ctx.state.ops == t["ops"]
    q = ctx.state.input_quant
    assert q["dtype"] == "int8" and q["shape"] == [1, 128, 1] and q["scale"] > 0
    assert ctx.state.output_quant["shape"] == [1, 3]
    # the variants table: one row per variant, same metric, same 40 examples
    rows = list(csv.DictReader(open(tmp_path / "variants.csv")))
    assert [r["variant"] for r in rows] == ["keras", "float32", "float16", "int8"]
    assert [r["runtime"] for r in rows] == ["keras", "litert", "litert", "tflm"]
    assert all(r["n"] == "40" and r["accuracy"] != "" for r in rows)
    assert rows[-1]["bytes"] == str(opt["variants"]["int8"])
    assert set(verify["variants"]) == {"keras", "float32", "float16", "int8"}


def test_variant_config_errors(compose_cfg, tmp_path):
    from tinyml_suite.common.stages import stage_optimize

    ctx = _context(compose_cfg, tmp_path, ["optimize.variants=[float32,int4]"])
    with pytest.raises(ConfigError, match=r"\['int4'\] unknown") as err:
        stage_optimize(ctx)
    assert "\n" not in str(err.value)
    ctx.cfg.optimize.variants = ["float32"]
    with pytest.raises(ConfigError, match="must include int8"):
        stage_optimize(ctx)


def test_verify_without_optimize_is_a_deploy_error(compose_cfg, tmp_path):
    from tinyml_suite.common.stages import stage_verify

    ctx = _context(compose_cfg, tmp_path)
    with pytest.raises(DeployError, match="run the optimize stage first"):
        stage_verify(ctx)


@pytest.mark.slow
def test_toy_recipe_through_optimize_and_verify(compose_cfg, tmp_path):
    """Train the toy recipe (15 epochs, ~5 s), then optimise and verify.

    Margins: float accuracy >= 0.8 (chance 1/3); int8 (from TFLM outputs) within 0.05
    of float; LiteRT and TFLM bit-identical on the test inputs (measured here: float
    1.00, int8 1.00, identical on 150 inputs, arena 3424 B min / 3776 B with 10%).
    """
    from tinyml_suite.common.pipeline import run_recipe

    cfg = compose_cfg([
        "app=toy", "trainer.epochs=15", "trainer.tensorboard=false", "trainer.learning_rate=0.01",
        "trainer.batch_size=32", "trainer.verbose=0",
        "stages=[data,features,train,evaluate,optimize,verify]",
    ])
    run_recipe(cfg, tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    f, q = saved["float"]["accuracy"], saved["int8"]["accuracy"]
    assert f >= 0.8, saved["float"]
    assert abs(q - f) <= 0.05, (f, q)
    assert set(saved["int8"]) >= set(saved["float"])  # same keys
    t = saved["tflm"]
    assert t["matches_litert"] is True, (t["max_abs_diff"], t["n_mismatched"], t["first_divergent_ops"])
    assert t["arena_bytes"] > 0 and t["arena_bytes"] >= t["arena_min_bytes"]
    assert t["ops"] == ["CONV_2D", "FULLY_CONNECTED", "MEAN", "RESHAPE", "SOFTMAX"]
    assert saved["model"]["tflite_bytes"] == (tmp_path / "model_int8.tflite").stat().st_size
    assert saved["model"]["macs"] == 13304 and saved["model"]["params"] > 0
    assert saved["stages"]["optimize"] == "done" and saved["stages"]["verify"] == "done"
    assert (tmp_path / "variants.csv").exists()
