"""Model builders of the vibration_anomaly app (Keras 3; TensorFlow imported lazily).

Both models start with a **standardising layer**, ``keras.layers.Normalization``,
adapted before training to the mean and variance of what the model trains on (normal
windows for the autoencoder; ``common/train.py::adapt_normalization``). The model
therefore carries its own ``(x - mean) / std`` into the ``.tflite`` (a SUB and a MUL),
and the firmware feeds it the raw features.

* :func:`build_autoencoder` - a small dense autoencoder whose OUTPUT IS THE
  RECONSTRUCTION RESIDUAL ``decoder(encoder(z)) - z`` of the standardised features
  ``z``. It is trained on normal windows only with target 0, so the loss is the
  reconstruction MSE, and the anomaly score is ``mean(output**2)``
  (``postprocess.anomaly_score``) - the same for the float model, the int8 model on
  TFLM and the C firmware, with no normalisation statistics outside the model.
* :func:`build_fault_classifier` - a dense softmax classifier (normal, inner race,
  ball, outer race, ...).
"""

from __future__ import annotations

from typing import Any

from tinyml_suite.common.errors import ConfigError

__all__ = ["build_autoencoder", "build_fault_classifier"]


def _check_units(name: str, units: Any) -> list[int]:
    try:
        out = [int(u) for u in units]
    except (TypeError, ValueError):
        raise ConfigError(f"model.{name}={units!r} must be a list of layer widths, e.g. [32, 16]") from None
    if any(u < 1 for u in out):
        raise ConfigError(f"model.{name}={out} must hold positive layer widths")
    return out


def _standardiser(keras: Any) -> Any:
    return keras.layers.Normalization(axis=-1, name="standardise")


def build_autoencoder(
    input_shape: tuple[int, ...],
    n_outputs: int = 1,
    *,
    units: list[int] = (32, 16),
    code: int = 6,
    activation: str = "relu",
    name: str = "vib_autoencoder",
) -> Any:
    """Dense autoencoder outputting the standardised reconstruction residual.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_features,)``; the output has the same shape.
    n_outputs : int
        Ignored (the output size is the input size); accepted for the builder contract.
    units : list of int
        Encoder widths (the decoder mirrors them).
    code : int
        Bottleneck width (linear).
    """
    import keras

    if len(input_shape) != 1:
        raise ConfigError(
            f"model=autoencoder takes flat feature vectors; got input shape {tuple(input_shape)} "
            "(use features=vibration)"
        )
    widths = _check_units("units", units)
    if int(code) < 1:
        raise ConfigError(f"model.code={code} must be >= 1")
    n = int(input_shape[0])
    inp = keras.Input(shape=(n,), name="features")
    z = _standardiser(keras)(inp)
    h = z
    for i, w in enumerate(widths):
        h = keras.layers.Dense(w, activation=activation, name=f"enc{i}")(h)
    h = keras.layers.Dense(int(code), name="code")(h)
    for i, w in enumerate(reversed(widths)):
        h = keras.layers.Dense(w, activation=activation, name=f"dec{i}")(h)
    recon = keras.layers.Dense(n, name="reconstruction")(h)
    residual = keras.layers.Subtract(name="residual")([recon, z])
    return keras.Model(inp, residual, name=name)


def build_fault_classifier(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    units: list[int] = (32, 16),
    dropout: float = 0.1,
    activation: str = "relu",
    name: str = "vib_fault_classifier",
) -> Any:
    """Dense softmax classifier over the standardised features."""
    import keras

    if len(input_shape) != 1:
        raise ConfigError(
            f"model=fault_classifier takes flat feature vectors; got input shape {tuple(input_shape)}"
        )
    if int(n_outputs) < 2:
        raise ConfigError(f"the fault classifier needs >= 2 classes; the dataset has {n_outputs}")
    if not 0 <= float(dropout) < 1:
        raise ConfigError(f"model.dropout={dropout} must be in [0, 1)")
    widths = _check_units("units", units)
    inp = keras.Input(shape=tuple(int(d) for d in input_shape), name="features")
    h = _standardiser(keras)(inp)
    for i, w in enumerate(widths):
        h = keras.layers.Dense(w, activation=activation, name=f"dense{i}")(h)
        if dropout:
            h = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(h)
    out = keras.layers.Dense(int(n_outputs), activation="softmax", name="classes")(h)
    return keras.Model(inp, out, name=name)
