"""LiteRT vs TFLM, op lists and bad inputs (common/deploy/verify.py, tflite_ops.py, macs.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinyml_suite.common.errors import DeployError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def ds_cnn_like(seed: int = 0, n_classes: int = 4):
    """A DS-CNN-shaped model on 49x10 MFCC-like input (untrained, seeded weights)."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((49, 10, 1))
    h = keras.layers.Conv2D(16, (10, 4), strides=2, padding="same", activation="relu")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(16, 1, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model(inp, out, name="ds_cnn_like")


@pytest.fixture(scope="module")
def ds_int8():
    from tinyml_suite.common.deploy.quantize import convert

    model = ds_cnn_like()
    X = np.random.default_rng(0).standard_normal((256, 49, 10, 1)).astype(np.float32)
    return model, convert(model, variant="int8", representative=X[:100]), X


# -- ops ----------------------------------------------------------------------------


def test_op_list_of_a_known_model(ds_int8):
    from tinyml_suite.common.deploy.tflite_ops import model_ops, op_counts, resolver_method

    _model, data, _X = ds_int8
    assert model_ops(data) == ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "SOFTMAX"]
    assert op_counts(data) == {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "MEAN": 1, "SOFTMAX": 1}
    assert [resolver_method(op) for op in model_ops(data)] == [
        "AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddMean", "AddSoftmax",
    ]


def test_support_table_names_are_schema_builtins():
    from tinyml_suite.common.deploy.tflite_ops import TFLM_RESOLVER_METHODS, _builtin_names

    names = set(_builtin_names().values())
    assert set(TFLM_RESOLVER_METHODS) <= names
    assert all(m.startswith("Add") for m in TFLM_RESOLVER_METHODS.values())
    assert len(set(TFLM_RESOLVER_METHODS.values())) == len(TFLM_RESOLVER_METHODS)


def test_unsupported_op_stops_with_its_name():
    """keras.ops.top_k converts to TOPK_V2, which TFLite Micro has no kernel for."""
    import keras

    from tinyml_suite.common.deploy.quantize import convert
    from tinyml_suite.common.deploy.tflite_ops import check_tflm_support, model_ops

    inp = keras.Input((16,))
    out = keras.layers.Lambda(lambda x: keras.ops.top_k(x, 3)[0])(inp)
    data = convert(keras.Model(inp, out), variant="float32")
    ops = model_ops(data)
    assert "TOPK_V2" in ops
    with pytest.raises(DeployError, match=r"TOPK_V2 not supported by TensorFlow Lite Micro") as err:
        check_tflm_support(ops)
    assert "\n" not in str(err.value)


# -- LiteRT vs TFLM -----------------------------------------------------------------


def test_litert_equals_tflm_exactly_on_int8(ds_int8):
    """Bit-exact agreement on 256 seeded inputs for a DS-CNN-shaped int8 model.

    (LiteRT uses its reference kernels, OpResolverType.BUILTIN_REF. On other models we
    have seen 1-step differences on a fraction of a percent of inputs, first at
    FULLY_CONNECTED or MEAN; stage_verify records those honestly - see docs/DEPLOY.md.)
    """
    from tinyml_suite.common.deploy.verify import compare, locate_divergence, run_litert, run_tflm

    _model, data, X = ds_int8
    a = run_tflm(data, X, arena_size=65536, require_int8=True)
    b = run_litert(data, X, require_int8=True)
    assert a.dtype == np.int8 and b.dtype == np.int8 and a.shape == (256, 4)
    result = compare(a, b)
    assert result == {"exact": True, "max_abs_diff": 0, "n": 256, "n_mismatched": 0}, result
    assert locate_divergence(data, X[0], arena_size=65536) is None


def test_compare_counts_differences_in_int8_steps():
    from tinyml_suite.common.deploy.verify import compare

    a = np.zeros((4, 3), np.int8)
    b = a.copy()
    b[1, 2] = -1
    b[3, 0] = 2
    assert compare(a, b) == {"exact": False, "max_abs_diff": 2, "n": 4, "n_mismatched": 2}
    with pytest.raises(DeployError, match="shapes"):
        compare(a, b[:3])


def test_tflm_predictor_dequantises(ds_int8):
    from tinyml_suite.common.deploy.verify import dequantize, io_info, run_tflm, tflm_predictor

    model, data, X = ds_int8
    _in, out = io_info(data)
    probs = tflm_predictor(data, 65536)(X[:20])
    raw = run_tflm(data, X[:20], arena_size=65536)
    assert probs.dtype == np.float32
    np.testing.assert_array_equal(probs, dequantize(raw, out.scale, out.zero_point))
    # dequantised softmax outputs are probabilities (to one int8 step per class)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=4 * out.scale)
    # and close to the float model's: untrained weights, so only a loose bound
    assert np.abs(probs - model.predict(X[:20], verbose=0)).max() < 0.1


def test_macs_match_hand_count_and_tflite_graph():
    """DS-CNN-like model, hand count (per example):
    conv 10x4 s2 'same' on 49x10x1 -> 25x5x8:   25*5*8 * 10*4*1 = 40000
    depthwise 3x3 on 25x5x8:                     25*5*8 * 9      =  9000
    pointwise 1x1 8 -> 16:                        25*5*16 * 8     = 16000
    separable 3x3 16 -> 16: dw 25*5*16*9 + pw 25*5*16*16         = 50000
    dense 16 -> 4:                                                     64
    total                                                         115064
    """
    import keras

    from tinyml_suite.common.deploy.macs import keras_macs, tflite_macs
    from tinyml_suite.common.deploy.quantize import convert

    inp = keras.Input((49, 10, 1))
    h = keras.layers.Conv2D(8, (10, 4), strides=2, padding="same", activation="relu")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same")(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(16, 1, activation="relu")(h)
    h = keras.layers.SeparableConv2D(16, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
    k = keras_macs(model)
    assert k["macs"] == 115064
    assert [p["macs"] for p in k["per_layer"]] == [40000, 9000, 16000, 50000, 64]
    X = np.random.default_rng(0).standard_normal((10, 49, 10, 1)).astype(np.float32)
    assert tflite_macs(convert(model, variant="int8", representative=X))["macs"] == 115064
    assert tflite_macs(convert(model, variant="float32"))["macs"] == 115064


# -- bad inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"", "empty"),
        (b"\x00" * 64, "not a TFLite flatbuffer"),
        (np.random.default_rng(0).bytes(200), "not a TFLite flatbuffer"),
    ],
    ids=["empty", "zeros", "random"],
)
def test_bad_model_bytes_are_one_line_deploy_errors(blob, message):
    from tinyml_suite.common.deploy.tflite_ops import model_ops
    from tinyml_suite.common.deploy.verify import run_litert, run_tflm, tflm_predictor

    X = np.zeros((1, 4), np.float32)
    for call in (
        lambda: model_ops(blob),
        lambda: run_tflm(blob, X, arena_size=4096),
        lambda: run_litert(blob, X),
        lambda: tflm_predictor(blob, 4096),
    ):
        with pytest.raises(DeployError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


def test_truncated_model_is_a_deploy_error(ds_int8):
    from tinyml_suite.common.deploy.tflite_ops import model_ops

    _m, data, _X = ds_int8
    for cut in (16, len(data) // 3):
        with pytest.raises(DeployError, match="corrupt|not a TFLite") as err:
            model_ops(data[:cut])
        assert "\n" not in str(err.value)


def test_float_model_on_the_int8_path_is_refused(ds_int8):
    from tinyml_suite.common.deploy.quantize import convert
    from tinyml_suite.common.deploy.verify import run_tflm, tflm_predictor

    model, _data, X = ds_int8
    f32 = convert(model, variant="float32")
    with pytest.raises(DeployError, match="float32.*not int8.*variant='int8'") as err:
        tflm_predictor(f32, 65536)
    assert "\n" not in str(err.value)
    with pytest.raises(DeployError, match="not int8"):
        run_tflm(f32, X[:2], arena_size=65536, require_int8=True)
    # without require_int8 the float model does run on TFLM (float kernels)
    out = run_tflm(f32, X[:2], arena_size=65536)
    assert out.dtype == np.float32


def test_wrong_input_shape_is_a_deploy_error(ds_int8):
    from tinyml_suite.common.deploy.verify import run_litert, run_tflm

    _m, data, _X = ds_int8
    bad = np.zeros((3, 10, 49, 1), np.float32)
    with pytest.raises(DeployError, match=r"\(3, 10, 49, 1\).*\('n', 49, 10, 1\)"):
        run_tflm(data, bad, arena_size=65536)
    with pytest.raises(DeployError, match="do not match"):
        run_litert(data, bad)
