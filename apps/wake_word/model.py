"""Keyword-spotting models: the MLPerf Tiny DS-CNN and a micro_speech-class tiny conv net.

Both take ``(frames, coefficients, 1)`` feature maps (49 x 10 x 1 MFCC by default) and end
in a softmax. They use only layers TFLite Micro runs in int8: CONV_2D, DEPTHWISE_CONV_2D,
AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX (batch norm is folded into the
convolutions by the converter; dropout disappears). TensorFlow is imported inside the
builders.

Examples
--------
>>> m = build_ds_cnn((49, 10, 1), 12)         # doctest: +SKIP
>>> m.count_params()                          # doctest: +SKIP
24908
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyml_suite.common.errors import ConfigError

__all__ = ["build_ds_cnn", "build_micro_conv", "ds_cnn_macs"]


def _check_input(input_shape: Sequence[int], model: str) -> tuple[int, int, int]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or shape[2] != 1:
        raise ConfigError(
            f"model={model} takes (frames, coefficients, 1) feature maps but the features have shape "
            f"{shape}; use features=mfcc or features=logmel"
        )
    return shape  # type: ignore[return-value]


def _widths(filters: int | Sequence[int], blocks: int) -> list[int]:
    if isinstance(filters, (int, float)):
        widths = [int(filters)] * (int(blocks) + 1)
    else:
        widths = [int(f) for f in filters]
        if len(widths) != int(blocks) + 1:
            raise ConfigError(
                f"model.filters lists {len(widths)} widths but blocks={blocks} needs {int(blocks) + 1} "
                "(the first convolution, then one per depthwise-separable block); or give one number"
            )
    if any(w < 1 for w in widths) or int(blocks) < 0:
        raise ConfigError(f"model.filters={filters} and blocks={blocks} must be positive")
    return widths


def build_ds_cnn(
    input_shape: Sequence[int],
    n_outputs: int,
    *,
    filters: int | Sequence[int] = 64,
    blocks: int = 4,
    first_kernel: Sequence[int] = (10, 4),
    first_stride: Sequence[int] = (2, 2),
    kernel: Sequence[int] = (3, 3),
    dropout_in: float = 0.2,
    dropout: float = 0.4,
    weight_decay: float = 1e-4,
    bn_momentum: float = 0.99,
    name: str = "ds_cnn",
) -> Any:
    """Depthwise-separable CNN, the MLPerf Tiny KWS reference shape by default.

    Conv2D(filters[0], first_kernel, first_stride, same) -> BN -> ReLU -> Dropout(dropout_in),
    then ``blocks`` x [DepthwiseConv2D(kernel, same) -> BN -> ReLU -> Conv2D(filters[i], 1x1)
    -> BN -> ReLU], Dropout(dropout), average pooling over the whole map, a dense softmax.
    With the defaults on 49 x 10 x 1 and 12 classes: 23.7k parameters before batch-norm
    folding (22.6k after), 2.66 M multiply-accumulates (MLPerf Tiny: 22.6k, 2.66 M).

    Parameters
    ----------
    filters : int or list of blocks + 1 ints
        Channels of the first convolution and of each pointwise convolution (the width).
    blocks : int
        Depthwise-separable blocks (the depth).
    weight_decay : float
        L2 penalty on convolution kernels (MLPerf: 1e-4).
    bn_momentum : float
        Momentum of the batch-norm moving statistics (Keras default 0.99; 0.9 settles within
        a few dozen steps, which short runs need: the moving statistics are what inference uses).
    """
    import keras

    h_in, w_in, _ = _check_input(input_shape, "ds_cnn")
    widths = _widths(filters, blocks)
    reg = keras.regularizers.L2(float(weight_decay)) if weight_decay > 0 else None
    inp = keras.Input((h_in, w_in, 1), name="features")
    x = keras.layers.Conv2D(widths[0], tuple(first_kernel), strides=tuple(first_stride), padding="same",
                            kernel_regularizer=reg, name="conv0")(inp)
    bn = {"momentum": float(bn_momentum)}
    x = keras.layers.BatchNormalization(name="bn0", **bn)(x)
    x = keras.layers.ReLU(name="relu0")(x)
    if dropout_in > 0:
        x = keras.layers.Dropout(float(dropout_in), name="drop0")(x)
    for i in range(int(blocks)):
        x = keras.layers.DepthwiseConv2D(tuple(kernel), padding="same", depthwise_regularizer=reg,
                                         name=f"dw{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"bn_dw{i + 1}", **bn)(x)
        x = keras.layers.ReLU(name=f"relu_dw{i + 1}")(x)
        x = keras.layers.Conv2D(widths[i + 1], (1, 1), padding="same", kernel_regularizer=reg,
                                name=f"pw{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"bn_pw{i + 1}", **bn)(x)
        x = keras.layers.ReLU(name=f"relu_pw{i + 1}")(x)
    if dropout > 0:
        x = keras.layers.Dropout(float(dropout), name="drop")(x)
    h, w = int(x.shape[1]), int(x.shape[2])
    x = keras.layers.AveragePooling2D(pool_size=(h, w), name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(int(n_outputs), activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name=name)


def build_micro_conv(
    input_shape: Sequence[int],
    n_outputs: int,
    *,
    filters: int = 8,
    kernel: Sequence[int] = (10, 4),
    stride: Sequence[int] = (2, 2),
    pool: Sequence[int] = (1, 1),
    dropout: float = 0.25,
    name: str = "micro_conv",
) -> Any:
    """The micro_speech 'tiny_conv' class: one strided convolution and a dense softmax.

    Conv2D(filters, kernel, stride, same) -> ReLU -> [MaxPool(pool)] -> Dropout -> Dense.
    On 49 x 10 x 1 MFCC with 12 classes: 12.3k parameters, 52k MACs, 14.8 KB as int8 TFLite
    (micro_speech: 8 filters of 10 x 8 on 49 x 40, about 18 KB). Use ``pool`` to stay
    under 20 KB with larger inputs (log-mel 49 x 40: pool [1, 4], 15.1 KB).
    """
    import keras

    h_in, w_in, _ = _check_input(input_shape, "micro_conv")
    k = (min(int(kernel[0]), h_in), min(int(kernel[1]), w_in))
    inp = keras.Input((h_in, w_in, 1), name="features")
    x = keras.layers.Conv2D(int(filters), k, strides=tuple(stride), padding="same", activation="relu",
                            name="conv")(inp)
    if tuple(pool) != (1, 1):
        x = keras.layers.MaxPooling2D(tuple(pool), name="pool")(x)
    if dropout > 0:
        x = keras.layers.Dropout(float(dropout), name="drop")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(int(n_outputs), activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name=name)


def ds_cnn_macs(input_shape: Sequence[int], n_outputs: int, *, filters: int | Sequence[int] = 64,
                blocks: int = 4, first_kernel: Sequence[int] = (10, 4),
                first_stride: Sequence[int] = (2, 2), kernel: Sequence[int] = (3, 3)) -> int:
    """Multiply-accumulates of :func:`build_ds_cnn` (convolutions and the dense layer).

    Examples
    --------
    >>> ds_cnn_macs((49, 10, 1), 12)   # MLPerf Tiny KWS: 2.66 M
    2656768
    """
    h_in, w_in, _ = (int(d) for d in input_shape)
    widths = _widths(filters, blocks)
    h = -(-h_in // int(first_stride[0]))
    w = -(-w_in // int(first_stride[1]))
    macs = h * w * widths[0] * int(first_kernel[0]) * int(first_kernel[1])
    for i in range(int(blocks)):
        macs += h * w * widths[i] * int(kernel[0]) * int(kernel[1])
        macs += h * w * widths[i] * widths[i + 1]
    macs += widths[-1] * int(n_outputs)
    return int(macs)
