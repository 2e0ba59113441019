"""The model compiler's kernels against TensorFlow Lite Micro, bit for bit (common/deploy/engine).

Randomised op-level tests: small random Keras models (tests/helpers/engine_models.py:
random shapes, strides, dilations, paddings, activations, depth multipliers, groups,
broadcasts, per-channel weight scales spread over five decades) are converted to int8
with the real TFLiteConverter, compiled to C by the engine, built with the host compiler
and the suite's strict warning flags, and run on random int8 inputs over the whole
range; every output of every branch must equal the tflite-micro runtime's exactly.
Several branches share one converted model because the conversion dominates the time;
seeds are fixed, nothing is cached between runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib

import numpy as np
import pytest
from helpers.cbuild import C_FLAGS
from helpers.engine_models import (
    BUILDERS,
    assert_same_as_tflm,
    convert_int8,
    extreme_weights,
    quantize_io_model,
    space_batch_model,
    tflm_outputs,
)
from helpers.run_if import needs_cc

from tinyml_suite.common.errors import DeployError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: random int8 examples per model (plus the extremes -128 / 127 everywhere)
N_EXAMPLES = 40
STRICT = tuple(f for f in C_FLAGS if f not in ("-std=c99", "-O2"))



def _inputs(info, rng: np.random.Generator) -> np.ndarray:
    shape = (N_EXAMPLES, *info.shape[1:])
    if info.dtype == "int8":
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
        x[0] = -128
        x[1] = 127
        return x
    return (rng.standard_normal(shape) * 3).astype(np.float32)


def _check_bit_exact(model_bytes: bytes, rng: np.random.Generator) -> dict:
    from tinyml_suite.common.deploy.engine import compile_model
    from tinyml_suite.common.deploy.engine.host import HostModel

    cm = compile_model(model_bytes)
    hm = HostModel(cm, extra_flags=STRICT)
    try:
        xs = _inputs(cm.inputs[0], rng)
        got = hm.run(xs)
    finally:
        hm.close()
    want = tflm_outputs(model_bytes, xs, len(cm.outputs))
    assert_same_as_tflm(cm, got, want, len(xs))
    return {"ops": cm.ops, "outputs": len(cm.outputs), "scratch": cm.scratch_bytes, "naive": cm.plan.naive_bytes}


def _random_case(builder, seed: int, name: str, **convert_kw) -> dict:
    import keras

    keras.backend.clear_session()  # fresh layer names: the converter's output depends on them
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    model, shape = builder(rng)
    extreme_weights(model, rng)
    rep = (rng.standard_normal((32, *shape)) * rng.uniform(0.5, 3.0)).astype(np.float32)
    return _check_bit_exact(convert_int8(model, rep, **convert_kw), rng)


@needs_cc()
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_random_models_bit_exact_with_tflm(family, seed):
    info = _random_case(BUILDERS[family], seed, family)
    expected = {
        "conv": {"CONV_2D"},
        "depthwise": {"DEPTHWISE_CONV_2D"},
        "dense_pool": {"AVERAGE_POOL_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "MEAN", "SOFTMAX", "RESHAPE"},
        "elementwise": {"ADD", "SUB", "MUL", "LOGISTIC", "TANH", "CONCATENATION", "PAD"},
    }[family]
    assert expected <= set(info["ops"]), f"the {family} model lost operators in conversion: {info['ops']}"
    assert info["scratch"] <= info["naive"]


@needs_cc()
@pytest.mark.parametrize("seed", [0, 1])
def test_per_tensor_weights_bit_exact(seed):
    """Per-tensor weight scales: FULLY_CONNECTED's float32 product multiplier path."""
    _random_case(BUILDERS["dense_pool"], seed, "per_tensor", per_channel=False)


@needs_cc()
@pytest.mark.parametrize("seed", [0, 1])
def test_float_io_quantize_dequantize_bit_exact(seed):
    info = _random_case(quantize_io_model, seed, "qio", float_io=True)
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(info["ops"])


@needs_cc()
@pytest.mark.parametrize("seed", [0, 1])
def test_space_to_batch_and_back_bit_exact(seed):
    """SPACE_TO_BATCH_ND pads with 0 in TFLite Micro (not the zero point); crops in BATCH_TO_SPACE_ND."""
    info = _random_case(space_batch_model, seed, "space_batch")
    assert {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"} <= set(info["ops"])


# -- errors and the C the compiler writes ------------------------------------------------


def test_unsupported_operator_is_one_line_naming_it_and_tflm():
    import keras

    from tinyml_suite.common.deploy.engine import compile_model

    x = keras.Input((6, 4), batch_size=1)
    model = keras.Model(x, keras.ops.max(keras.layers.Dense(3)(x), axis=1))
    data = convert_int8(model, np.random.default_rng(0).standard_normal((8, 6, 4)).astype(np.float32))
    with pytest.raises(DeployError) as err:
        compile_model(data)
    msg = str(err.value)
    assert "\n" not in msg and "REDUCE_MAX" in msg and "board.runtime=tflm" in msg


def test_not_a_model_is_a_deploy_error():
    from tinyml_suite.common.deploy.engine import compile_model

    with pytest.raises(DeployError, match="not a TFLite flatbuffer"):
        compile_model(b"\x00" * 64)


def _app_like_model():
    import keras

    L = keras.layers
    x = keras.Input((12, 8, 1), batch_size=1)
    h = L.Conv2D(8, (4, 3), strides=2, padding="same", activation="relu")(x)
    h = L.DepthwiseConv2D(3, padding="same", activation="relu")(h)
    h = L.Conv2D(8, 1, activation="relu")(h)
    h = L.GlobalAveragePooling2D()(h)
    model = keras.Model(x, L.Dense(4, activation="softmax")(h))
    rng = np.random.default_rng(3)
    extreme_weights(model, rng, decades=1.0)
    return convert_int8(model, rng.standard_normal((16, 12, 8, 1)).astype(np.float32))


@pytest.fixture(scope="module")
def small_compiled():
    from tinyml_suite.common.deploy.engine import compile_model

    return compile_model(_app_like_model())


def test_generated_c_implements_tm_model_h_without_malloc(small_compiled):
    c = small_compiled.sources["tm_model_engine.c"]
    assert c.startswith("// Generated by ")
    for symbol in ("int tm_model_init(void)", "int tm_model_invoke(const int8_t* in, int8_t* out)",
                   "size_t tm_model_arena_used(void)"):
        assert symbol in c
    assert "malloc" not in c and "static int32_t g_tm_arena[" in c
    # every weight is a const array, every parameter struct static const
    assert c.count("static const tm_") == len([s for s in small_compiled.steps if s.kernel != "alias"])


def test_memory_plan_reuses_buffers(small_compiled):
    plan = small_compiled.plan
    assert plan.arena_bytes < plan.naive_bytes
    # two buffers live at the same time never overlap
    for a in plan.buffers:
        for b in plan.buffers:
            if a is b or a["last"] < b["first"] or b["last"] < a["first"]:
                continue
            assert a["offset"] + a["bytes"] <= b["offset"] or b["offset"] + b["bytes"] <= a["offset"]


@needs_cc()
def test_kernels_compile_standalone_with_strict_flags(tmp_path):
    """Every kernel file, not only those a model uses, compiles warning-free as C99."""
    from tinyml_suite.common.deploy.engine import kernels_dir

    for src in sorted(kernels_dir().glob("*.c")):
        cmd = [shutil.which("cc"), *C_FLAGS, "-pedantic", "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name}:\n{proc.stderr}"


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_cortex_m4_build_and_code_size(small_compiled):
    from tinyml_suite.common.deploy.engine.host import code_size

    arm = code_size(small_compiled, target="arm")
    assert 300 < arm["code_bytes"] < 12 * 1024, arm  # the goal: engine code <= 12 KB
    assert arm["bss_bytes"] >= small_compiled.scratch_bytes
    assert arm["const_bytes"] >= small_compiled.weights_bytes
