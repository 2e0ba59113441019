"""Conversion to .tflite variants (common/deploy/quantize.py) on tiny synthetic models."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinyml_suite.common.errors import ConfigError, DeployError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# -- models and data ------------------------------------------------------------------


def toy_data(n_per_class: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The toy recipe's tones (tests/toy.py) as (n, 128, 1) model inputs."""
    from toy import ToyRaw, ToyTones

    data = ToyTones(seed=seed, cache=False, n_per_class=n_per_class).load()
    feats = ToyRaw(sample_rate=data.sample_rate)
    return feats(data.train.x), data.train.y


@pytest.fixture(scope="module")
def trained_toy():
    """The toy CNN trained for a few epochs (about 3 s on 2 cores) + its int8 model."""
    import keras
    from toy import build_toy_model

    from tinyml_suite.common.deploy.quantize import convert, representative_sample

    keras.utils.set_random_seed(0)
    X, y = toy_data(80, seed=0)
    model = build_toy_model(X.shape[1:], 3)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=8, batch_size=32, verbose=0)
    X_test, y_test = toy_data(30, seed=1)
    X_rep, info = representative_sample(X, y, n=120, seed=0, task="classification")
    int8 = convert(model, variant="int8", representative=X_rep)
    return model, int8, X_test, y_test


# -- representative sample ---------------------------------------------------------


def test_representative_sample_is_class_balanced_and_seeded():
    from tinyml_suite.common.deploy.quantize import representative_sample

    X = np.arange(100, dtype=np.float32)[:, None]
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    Xr, info = representative_sample(X, y, n=30, seed=3, task="classification")
    assert info["class_counts"] == {0: 10, 1: 10, 2: 10}
    assert Xr.shape == (30, 1) and Xr.dtype == np.float32
    Xr2, info2 = representative_sample(X, y, n=30, seed=3, task="classification")
    assert info2["indices"] == info["indices"]  # reproducible
    _, info3 = representative_sample(X, y, n=30, seed=4, task="classification")
    assert info3["indices"] != info["indices"]
    # a class with too few examples gives all it has; the rest is filled at random
    _, short = representative_sample(X, y, n=45, seed=0, task="classification")
    assert short["class_counts"][2] == 10 and sum(short["class_counts"].values()) == 45
    assert len(set(short["indices"])) == 45  # no duplicates


def test_representative_sample_random_for_regression_and_errors():
    from tinyml_suite.common.deploy.quantize import representative_sample

    X = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    Xr, info = representative_sample(X, None, n=80, seed=1, task="regression")
    assert len(Xr) == 50 and "class_counts" not in info  # capped at what exists
    with pytest.raises(ConfigError, match="representative_samples=0"):
        representative_sample(X, None, n=0, seed=1, task="regression")
    with pytest.raises(DeployError, match="empty"):
        representative_sample(X[:0], None, n=5, seed=1, task="regression")


# -- variants ---------------------------------------------------------------------


def test_int8_agrees_with_float(trained_toy):
    """int8 on TFLM vs the float Keras model on 90 held-out tones.

    Tolerances: the same argmax on >= 95% of inputs and a mean absolute difference of
    the (softmax) outputs below 0.03; measured here: 100% and 0.0013 (max 0.004).
    """
    from tinyml_suite.common.deploy.verify import io_info, run_tflm, tflm_predictor

    model, int8, X, y = trained_toy
    info_in, info_out = io_info(int8)
    assert info_in.dtype == "int8" and info_out.dtype == "int8"
    float_out = model.predict(X, verbose=0)
    int8_out = tflm_predictor(int8, 16384)(X)
    assert int8_out.dtype == np.float32 and int8_out.shape == float_out.shape
    same = (int8_out.argmax(1) == float_out.argmax(1)).mean()
    assert same >= 0.95, same
    assert np.abs(int8_out - float_out).mean() < 0.03
    assert (float_out.argmax(1) == y).mean() >= 0.8  # the model did learn (chance 1/3)
    raw = run_tflm(int8, X[:5], arena_size=16384)
    assert raw.dtype == np.int8


def test_float_variants_match_keras(trained_toy):
    """float32 on LiteRT equals Keras to 1e-5; float16 weights to 2e-3; dynamic range to 0.05."""
    from tinyml_suite.common.deploy.quantize import convert
    from tinyml_suite.common.deploy.tflite_ops import model_ops
    from tinyml_suite.common.deploy.verify import io_info, litert_predictor

    model, _int8, X, _y = trained_toy
    ref = model.predict(X, verbose=0)
    for variant, tol in (("float32", 1e-5), ("float16", 2e-3), ("dynamic_range", 0.05)):
        data = convert(model, variant=variant)
        info_in, _ = io_info(data)
        assert info_in.dtype == "float32", variant
        assert "SHAPE" not in model_ops(data)  # fixed batch of 1: no shape arithmetic
        out = litert_predictor(data)(X)
        assert np.abs(out - ref).max() < tol, (variant, np.abs(out - ref).max())


def test_per_channel_switch_changes_weight_scales(trained_toy):
    from tinyml_suite.common.deploy.quantize import convert, weight_scale_counts

    model, int8, X, _y = trained_toy
    assert weight_scale_counts(int8)["CONV_2D"] == [8, 8]  # one scale per filter
    per_tensor = convert(model, variant="int8", representative=X[:30], per_channel=False)
    counts = weight_scale_counts(per_tensor)
    assert counts["CONV_2D"] == [1, 1] and counts["FULLY_CONNECTED"] == [1]


def test_batch_one_conversion_avoids_shape_ops():
    """Flatten with a dynamic batch would need SHAPE/STRIDED_SLICE/PACK (and REDUCE_PROD
    for a Dense on a sequence, which TFLM lacks); the fixed batch of 1 removes them."""
    import keras

    from tinyml_suite.common.deploy.quantize import convert
    from tinyml_suite.common.deploy.tflite_ops import model_ops

    inp = keras.Input((20, 6))
    h = keras.layers.Conv1D(12, 5)(inp)
    h = keras.layers.Dense(7)(h)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    X = np.random.default_rng(0).standard_normal((16, 20, 6)).astype(np.float32)
    ops = model_ops(convert(model, variant="int8", representative=X))
    assert ops == ["CONV_2D", "FULLY_CONNECTED", "RESHAPE"], ops


# -- errors ---------------------------------------------------------------------------


def _lambda_model(fn):
    import keras

    inp = keras.Input((16,))
    return keras.Model(inp, keras.layers.Dense(4)(keras.layers.Lambda(fn)(inp)))


def test_unknown_variant_and_missing_calibration_are_config_errors():
    from tinyml_suite.common.deploy.quantize import convert

    model = _lambda_model(lambda x: x)
    with pytest.raises(ConfigError, match="int4.*float32, float16, dynamic_range, int8"):
        convert(model, variant="int4")
    with pytest.raises(ConfigError, match="representative"):
        convert(model, variant="int8")


def test_op_without_int8_kernel_is_named():
    """SIN has no int8 kernel: the converter keeps it in float (DEQUANTIZE/QUANTIZE
    around it); convert() must refuse that model and name the op."""
    import keras

    from tinyml_suite.common.deploy.quantize import convert

    X = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    with pytest.raises(DeployError, match=r"operator\(s\) SIN in float") as err:
        convert(_lambda_model(keras.ops.sin), variant="int8", representative=X)
    assert "\n" not in str(err.value)


def test_op_without_builtin_is_named_in_one_line():
    import keras

    from tinyml_suite.common.deploy.quantize import convert

    X = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    with pytest.raises(DeployError, match=r"operator\(s\) Erf have no TFLite builtin") as err:
        convert(_lambda_model(keras.ops.erf), variant="int8", representative=X)
    assert "\n" not in str(err.value)


# -- input quantisation matches TFLite's QUANTIZE kernel ---------------------------


def _ties(scale: float, zp: int) -> np.ndarray:
    """float32 inputs whose x/scale lands exactly on k + 0.5 (where rounding rules differ)."""
    s = np.float32(scale)
    ks = np.arange(-60, 60)
    x = ((ks + 0.5) * np.float64(s)).astype(np.float32)
    exact = (x / s) == (ks + 0.5).astype(np.float32)
    return x[exact]


@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
def test_quantize_input_matches_tflite_quantize_op():
    """Our float->int8 input quantisation equals the QUANTIZE op of LiteRT (reference
    kernels) and of TFLM, element for element, on half-way values and on random ones."""
    import keras
    import tensorflow as tf
    from ai_edge_litert import interpreter as litert
    from tflite_micro.python.tflite_micro import runtime

    from tinyml_suite.common.deploy.verify import quantize_input

    n = 64
    inp = keras.Input((n,), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    rng = np.random.default_rng(0)
    rep = rng.uniform(-3, 3, (32, n)).astype(np.float32)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r[None]] for r in rep)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    data = conv.convert()  # float input: the graph starts with a QUANTIZE op
    li = litert.Interpreter(
        model_content=data,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    li.allocate_tensors()
    q_index = next(d["index"] for d in li.get_tensor_details() if d["dtype"] == np.int8 and list(d["shape"]) == [1, n])
    qp = next(d for d in li.get_tensor_details() if d["index"] == q_index)["quantization_parameters"]
    scale, zp = float(qp["scales"][0]), int(qp["zero_points"][0])
    ties = _ties(scale, zp)
    assert len(ties) >= 20  # enough half-way values to tell the rounding rules apart
    batches = [np.resize(ties, n), rng.uniform(-4, 4, n).astype(np.float32), -np.resize(ties, n)]
    tm = runtime.Interpreter.from_bytes(
        data, arena_size=65536, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors
    )
    for x in batches:
        x = x[None].astype(np.float32)
        li.set_tensor(li.get_input_details()[0]["index"], x)
        li.invoke()
        tm.set_input(x, 0)
        tm.invoke()
        ours = quantize_input(x, scale, zp)
        np.testing.assert_array_equal(ours, li.get_tensor(q_index))
        np.testing.assert_array_equal(ours, tm.GetTensor(q_index, 0)["tensor_data"])
    # half-to-even (numpy's round) would differ on these inputs: the test can fail
    v = np.resize(ties, n) / np.float32(scale)
    assert (np.round(v) != np.sign(v) * np.floor(np.abs(v) + 0.5)).any()
