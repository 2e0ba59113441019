"""Small random Keras models for the engine's op-level tests, converted for real.

Each builder draws shapes, strides, dilations, paddings and activations from a seeded
generator and puts several independent branches on one input, so one conversion with
the real ``TFLiteConverter`` covers many operator configurations (the conversion is
the slow part). Weights get per-output-channel magnitudes spread over five decades, so
the per-channel requantisation multipliers span a wide range too.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def extreme_weights(model, rng: np.random.Generator, decades: float = 5.0) -> None:
    """Random weights whose per-output-channel scale is log-uniform over ``decades``."""
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        new = []
        for w in ws:
            if w.ndim >= 2:
                ch = w.shape[-1]
                if type(layer).__name__ == "DepthwiseConv2D":
                    ch = w.shape[-2] * w.shape[-1]
                    mag = 10 ** rng.uniform(-decades / 2, decades / 2, size=ch).reshape(w.shape[-2], w.shape[-1])
                else:
                    mag = 10 ** rng.uniform(-decades / 2, decades / 2, size=ch)
                new.append((rng.standard_normal(w.shape) * mag * 0.3).astype(np.float32))
            else:
                new.append((rng.standard_normal(w.shape) * 0.5).astype(np.float32))
        layer.set_weights(new)


def convert_int8(model, rep: np.ndarray, *, per_channel: bool = True, float_io: bool = False) -> bytes:
    """Full-int8 conversion (int8 I/O unless ``float_io``) with the real converter."""
    _keras()
    import tensorflow as tf

    def gen():
        for i in range(len(rep)):
            yield [rep[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    if not per_channel:
        conv._experimental_disable_per_channel = True
    return conv.convert()


def tflm_outputs(model_bytes: bytes, xs: np.ndarray, n_out: int, arena_size: int = 4 * 1024 * 1024) -> list[np.ndarray]:
    """Every output of the model on the TFLite Micro runtime, one example at a time
    (``[shape=(len(xs), size)]`` per output)."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size)
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(xs)):
        it.set_input(xs[i : i + 1], 0)
        it.invoke()
        for k in range(n_out):
            outs[k].append(np.array(it.get_output(k)).reshape(-1))
    return [np.stack(o) for o in outs]


def assert_same_as_tflm(cm, got: list[np.ndarray], want: list[np.ndarray], n: int, what: str = "engine") -> None:
    """Every output of the compiled model ``cm`` equals TFLM's on all ``n`` inputs; else a
    message naming the output, the operator that produced it and the first differing input."""
    for k, (g, w) in enumerate(zip(got, want)):
        g = g.reshape(n, -1)
        bad = np.flatnonzero((g != w).any(axis=1))
        producer = next(s.op for s in cm.steps if cm.graph.outputs[k] in s.outputs)
        assert bad.size == 0, (
            f"{what}: output {k} ({producer.op} op #{producer.index}, {producer.options}) differs from TFLM "
            f"on {bad.size}/{n} inputs; first at {bad[0]}: {g[bad[0]][:8]} vs tflm {w[bad[0]][:8]}"
        )


def _act(rng: np.random.Generator) -> str | None:
    return [None, "relu", "relu6"][int(rng.integers(0, 3))]


def conv_model(rng: np.random.Generator):
    """CONV_2D: kernel sizes, strides, dilations, SAME/VALID, activations, groups, 1x1."""
    keras = _keras()
    L = keras.layers
    h, w, c = int(rng.integers(7, 13)), int(rng.integers(6, 12)), int(rng.choice([2, 4, 6]))
    x = keras.Input((h, w, c), batch_size=1)
    outs = []
    for _ in range(4):
        k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        dil = int(rng.choice([1, 1, 2]))
        stride = (1, 1) if dil > 1 else (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        outs.append(L.Conv2D(int(rng.integers(1, 9)), k, strides=stride, dilation_rate=dil,
                             padding=str(rng.choice(["same", "valid"])), activation=_act(rng))(x))
    outs.append(L.Conv2D(int(rng.integers(3, 17)), 1, activation=_act(rng))(x))  # pointwise -> FC kernel
    outs.append(L.Conv2D(4, 3, padding="same", groups=2, activation=_act(rng))(x))
    outs.append(L.Conv2D(3, 3, padding="same", use_bias=False)(x))
    return keras.Model(x, outs), (h, w, c)


def depthwise_model(rng: np.random.Generator):
    """DEPTHWISE_CONV_2D: depth multipliers, strides, dilations, paddings, activations."""
    keras = _keras()
    L = keras.layers
    h, w, c = int(rng.integers(6, 12)), int(rng.integers(6, 12)), int(rng.choice([3, 4, 8]))
    x = keras.Input((h, w, c), batch_size=1)
    outs = []
    for _ in range(5):  # a dilated one converts to SPACE_TO_BATCH_ND + DEPTHWISE + BATCH_TO_SPACE_ND
        k = (int(rng.integers(1, 6)), int(rng.integers(1, 5)))
        dil = int(rng.choice([1, 1, 2]))
        stride = (1, 1) if dil > 1 else (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
        outs.append(L.DepthwiseConv2D(k, strides=stride, dilation_rate=dil, depth_multiplier=int(rng.integers(1, 4)),
                                      padding=str(rng.choice(["same", "valid"])), activation=_act(rng))(x))
    return keras.Model(x, outs), (h, w, c)


def dense_pool_model(rng: np.random.Generator):
    """FULLY_CONNECTED, AVERAGE/MAX_POOL_2D, MEAN, SOFTMAX, RESHAPE."""
    keras = _keras()
    L = keras.layers
    h, w, c = int(rng.integers(5, 11)), int(rng.integers(5, 11)), int(rng.choice([2, 3, 5]))
    x = keras.Input((h, w, c), batch_size=1)
    outs = []
    for pool in (L.AveragePooling2D, L.MaxPooling2D):
        for _ in range(2):
            k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            s = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
            outs.append(pool(k, strides=s, padding=str(rng.choice(["same", "valid"])))(x))
    flat = L.Flatten()(x)
    d1 = L.Dense(int(rng.integers(4, 20)), activation=_act(rng))(flat)
    outs.append(d1)
    outs.append(L.Softmax()(L.Dense(int(rng.integers(2, 12)))(d1)))
    outs.append(L.GlobalAveragePooling2D()(x))
    outs.append(L.GlobalAveragePooling2D(keepdims=True)(x))
    outs.append(keras.ops.mean(x, axis=-1))
    outs.append(keras.ops.mean(x, axis=2, keepdims=True))
    outs.append(L.Softmax()(L.Conv2D(4, 1)(x)))  # softmax over the last axis of a 4-D tensor
    return keras.Model(x, outs), (h, w, c)


def elementwise_model(rng: np.random.Generator):
    """ADD, SUB, MUL (with broadcasting and constants), LOGISTIC, TANH, CONCATENATION, PAD."""
    keras = _keras()
    L = keras.layers
    h, w, c = int(rng.integers(3, 8)), int(rng.integers(3, 8)), int(rng.choice([2, 4]))
    x = keras.Input((h, w, c), batch_size=1)
    a = L.Conv2D(c, 1)(x)
    b = L.Conv2D(c, 3, padding="same")(x)
    row = L.Conv2D(c, (h, 1))(x)  # [1, 1, w, c]: broadcasts over the rows
    outs = [
        L.Add()([a, b]),
        L.Subtract()([a, b]),
        L.Multiply()([a, b]),
        L.Add()([a, row]),
        L.Multiply()([b, row]),
        L.Subtract()([row, a]),
        a + rng.standard_normal((1, 1, c)).astype(np.float32),
        b * rng.uniform(0.2, 3.0, (1, 1, c)).astype(np.float32),
        a - float(rng.uniform(-1, 1)),
        L.Activation("sigmoid")(a),
        L.Activation("tanh")(b),
        L.Activation("tanh")(L.Rescaling(3000.0)(b)),  # input scale >= 16: TFLM saturates every input
        L.Activation("sigmoid")(L.Rescaling(40.0)(a)),
        L.Concatenate(axis=-1)([a, b]),
        L.Concatenate(axis=1)([a, row]),
        L.ZeroPadding2D(((1, 2), (0, 3)))(a),
        L.Reshape((h * w, c))(b),
    ]
    return keras.Model(x, outs), (h, w, c)


def quantize_io_model(rng: np.random.Generator):
    """A small CNN converted with float input and output: QUANTIZE and DEQUANTIZE at the ends."""
    keras = _keras()
    L = keras.layers
    h, w, c = int(rng.integers(4, 9)), int(rng.integers(4, 9)), 2
    x = keras.Input((h, w, c), batch_size=1)
    y = L.Conv2D(3, 3, padding="same", activation="relu")(x)
    y = L.Dense(5)(L.Flatten()(y))
    return keras.Model(x, y), (h, w, c)


def space_batch_model(rng: np.random.Generator):
    """SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND with paddings and crops (a CONV_2D between).

    A dilated convolution is what usually produces them; here they are written out so
    the padded taps reach a VALID convolution (the sigmoid keeps the converter from
    fusing the pattern back into one dilated CONV_2D).
    """
    keras = _keras()
    import tensorflow as tf

    L = keras.layers
    h, w, c = int(rng.integers(5, 9)), int(rng.integers(5, 9)), 3
    ph = [int(rng.integers(0, 3)), 0]
    ph[1] = (-(h + ph[0])) % 2
    pw = [int(rng.integers(0, 3)), 0]
    pw[1] = (-(w + pw[0])) % 2
    x = keras.Input((h, w, c), batch_size=1)
    s = L.Lambda(lambda t: tf.space_to_batch_nd(t, [2, 2], [ph, pw]))(x)
    y = L.Activation("sigmoid")(L.Conv2D(4, (2, 2), padding="valid")(s))
    oh, ow = ((h + sum(ph)) // 2 - 1) * 2, ((w + sum(pw)) // 2 - 1) * 2
    y = L.Lambda(lambda t: tf.batch_to_space(t, [2, 2], [[0, oh % 2 + 1], [1, ow % 2]]))(y)
    pad3 = (-w) % 3
    z = L.Lambda(lambda t: tf.space_to_batch_nd(t, [1, 3], [[0, 0], [0, pad3]]))(x)
    return keras.Model(x, [y, z]), (h, w, c)


def dsp_paths_model(rng: np.random.Generator):
    """The shapes the Cortex-M4 DSP-extension kernels special-case, and their edges.

    A one-channel strided first convolution (DS-CNN's), depthwise 3x3 over a multiple of 4
    channels and over an odd count (the portable fallback), pointwise convolutions with an
    odd number of pixels, of output channels and of input channels (not a multiple of 4),
    a fully connected layer on one row.
    """
    keras = _keras()
    L = keras.layers
    h, w = int(rng.integers(9, 14)), int(rng.integers(5, 9))
    x = keras.Input((h, w, 1), batch_size=1)
    a = L.Conv2D(12, (5, 3), strides=2, padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D(3, padding="same", activation="relu")(a)
    c = L.Conv2D(int(rng.choice([7, 9])), 1, activation="relu")(b)
    d = L.DepthwiseConv2D(3, padding="same")(c)
    e = L.Conv2D(int(rng.choice([5, 6])), 1)(L.Conv2D(12, 1)(b))
    f = L.Dense(int(rng.choice([3, 10])))(L.Flatten()(d))
    return keras.Model(x, [b, c, d, e, f]), (h, w, 1)


BUILDERS: dict[str, Callable] = {
    "conv": conv_model,
    "depthwise": depthwise_model,
    "dense_pool": dense_pool_model,
    "elementwise": elementwise_model,
}
