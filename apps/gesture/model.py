"""Gesture models: a small 1-D CNN on raw IMU windows and a dense net on spectral features.

Both are Keras 3 functional models built from layers TFLite Micro runs in int8
(CONV_2D via Conv1D, MAX_POOL_2D, MEAN, FULLY_CONNECTED, SOFTMAX; batch norm is folded
into the convolutions by the converter). TensorFlow is imported inside the builders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyml_suite.common.errors import ConfigError

__all__ = ["build_cnn1d", "build_dense_spectral"]


def build_cnn1d(
    input_shape: Sequence[int],
    n_outputs: int,
    *,
    filters: Sequence[int] = (8, 16, 24, 16),
    kernel_size: int = 5,
    pool_size: int = 2,
    dense_units: int = 0,
    dropout: float = 0.1,
    batch_norm: bool = True,
    name: str = "cnn1d",
) -> Any:
    """1-D CNN for ``(samples, channels)`` windows (the magic wand size class).

    Each block is Conv1D(same padding) -> [BatchNorm] -> ReLU -> MaxPool(``pool_size``);
    the last block is followed by global average pooling, an optional dense layer and
    a softmax over ``n_outputs`` classes. With the defaults the model has 5,112
    parameters for 6 channels and 8 classes, 4,924 for 3 channels and 4 classes (of
    which 128 are batch-norm moving statistics, folded away in the int8 model).
    """
    import keras

    if len(input_shape) != 2:
        raise ConfigError(
            f"model=cnn1d takes (samples, channels) inputs but the features have shape {tuple(input_shape)}; "
            "use features=imu_raw (or model=dense_spectral for flat features)"
        )
    if not filters:
        raise ConfigError("model.filters must list at least one convolution width")
    steps = int(input_shape[0])
    inp = keras.Input(tuple(int(d) for d in input_shape), name="imu")
    h = inp
    for i, f in enumerate(filters):
        h = keras.layers.Conv1D(int(f), int(kernel_size), padding="same", use_bias=not batch_norm, name=f"conv{i}")(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(h)
        h = keras.layers.ReLU(name=f"relu{i}")(h)
        if pool_size > 1 and steps // pool_size >= 2:
            h = keras.layers.MaxPooling1D(int(pool_size), name=f"pool{i}")(h)
            steps //= pool_size
    h = keras.layers.GlobalAveragePooling1D(name="gap")(h)
    if dropout > 0:
        h = keras.layers.Dropout(float(dropout), name="drop")(h)
    if dense_units:
        h = keras.layers.Dense(int(dense_units), activation="relu", name="dense")(h)
    out = keras.layers.Dense(int(n_outputs), activation="softmax", name="probs")(h)
    return keras.Model(inp, out, name=name)


def build_dense_spectral(
    input_shape: Sequence[int],
    n_outputs: int,
    *,
    units: Sequence[int] = (32, 16),
    dropout: float = 0.1,
    input_norm: bool = True,
    name: str = "dense_spectral",
) -> Any:
    """Dense net for flat spectral features ``(n_features,)``.

    ``input_norm`` puts a batch normalisation first, so features of different scales
    (log band powers, kurtosis) need no separate standardisation; it becomes a MUL/ADD
    pair in the int8 model.
    """
    import keras

    if len(input_shape) != 1:
        raise ConfigError(
            f"model=dense_spectral takes flat feature vectors but the features have shape {tuple(input_shape)}; "
            "use features=imu_spectral (or model=cnn1d for raw windows)"
        )
    inp = keras.Input((int(input_shape[0]),), name="features")
    h = inp
    if input_norm:
        h = keras.layers.BatchNormalization(momentum=0.9, name="input_norm")(h)
    for i, u in enumerate(units):
        h = keras.layers.Dense(int(u), activation="relu", name=f"dense{i}")(h)
        if dropout > 0:
            h = keras.layers.Dropout(float(dropout), name=f"drop{i}")(h)
    out = keras.layers.Dense(int(n_outputs), activation="softmax", name="probs")(h)
    return keras.Model(inp, out, name=name)
