"""The heart_rate CNN: a tiny 1-D CNN that outputs a distribution over heart-rate bins.

Two heads, chosen by ``head``:

* ``"freq"`` (for the ``ppg_spectrum`` front end, whose frequency axis *is* the HR grid):
  a fully convolutional stack of dilated 1-D convolutions over frequency, then a 1x1
  convolution to one logit per bin and a softmax over bins (applied by the app unless ``softmax=True``). The same weights score
  every frequency from its neighbourhood (the PPG peak, the ACC lines around it, the
  harmonic at twice the frequency thanks to the dilations), which is the inductive
  bias that lets it learn from 11 subjects. Requires ``n_outputs == input_shape[0]``.
* ``"dense"`` (for time-domain inputs such as ``ppg_time``, TEMPONet-like): dilated
  convolutions with pooling over time, global average pooling, a dense softmax layer.

``"auto"`` picks ``freq`` when the input's first axis equals ``n_outputs``. The app
decodes the softmax to BPM (expected value near the maximum) and tracks it over time
(``postprocess.py``). Every op (CONV_2D, DEPTHWISE_CONV_2D via Conv1D, ADD, MEAN,
FULLY_CONNECTED, SOFTMAX, RESHAPE) runs on TFLite Micro.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyml_suite.common.errors import ConfigError

__all__ = ["build_hr_cnn"]


def build_hr_cnn(
    input_shape: Sequence[int],
    n_outputs: int,
    *,
    filters: int = 12,
    kernel_size: int = 5,
    dilations: Sequence[int] = (1, 2, 4, 8, 16),
    head: str = "auto",
    pool_every: int = 2,
    dropout: float = 0.1,
    residual: bool = True,
    softmax: bool = False,
    name: str = "hr_cnn",
) -> Any:
    """Build the model.

    Parameters
    ----------
    input_shape : (steps, channels)
        Frequency bins (spectrum front end) or samples (time front end) by channels.
    n_outputs : int
        Number of heart-rate bins (softmax outputs).
    filters : int
        Channels of every hidden convolution.
    kernel_size : int
        Taps of every hidden convolution.
    dilations : sequence of int
        One hidden convolution per entry, with that dilation ("freq" head) or, for the
        "dense" head, applied as-is with max pooling by 2 after every ``pool_every``.
    head : {'auto', 'freq', 'dense'}
    dropout : float
        Dropout before the output layer (training only).
    residual : bool
        Add each hidden block's input to its output where shapes allow.
    softmax : bool
        End with a softmax (outputs are probabilities). Default False: the model outputs
        logits, which int8 quantises far better (a 1/256 probability step erases the small
        probabilities the tracking prior weighs; a logit step is a constant ratio), and the
        app applies the softmax in float (``app.outputs: logits``).

    Examples
    --------
    >>> m = build_hr_cnn((113, 4), 113)
    >>> m.output_shape, m.count_params() < 5000, any(layer.name == "hr_bins" for layer in m.layers)  # logits out
    ((None, 113), True, False)
    """
    import keras

    if len(input_shape) != 2:
        raise ConfigError(f"hr_cnn takes (steps, channels) inputs; got input_shape={tuple(input_shape)}")
    steps, _channels = int(input_shape[0]), int(input_shape[1])
    if head == "auto":
        head = "freq" if steps == int(n_outputs) else "dense"
    if head not in ("freq", "dense"):
        raise ConfigError(f"model.head={head!r} is not supported; choose auto, freq or dense")
    if head == "freq" and steps != int(n_outputs):
        raise ConfigError(
            f"model.head=freq needs one output per input frequency bin, but the features have {steps} bins "
            f"and the app predicts {n_outputs}; align app.n_bins/hr_min_bpm/hr_step_bpm with the features "
            "or use model.head=dense"
        )
    if filters < 1 or kernel_size < 1 or not dilations:
        raise ConfigError("model.filters and model.kernel_size must be >= 1 and model.dilations non-empty")
    inp = keras.Input(tuple(int(d) for d in input_shape), name="features")
    h = inp
    for i, d in enumerate(dilations):
        y = keras.layers.Conv1D(filters, kernel_size, padding="same", dilation_rate=int(d) if head == "freq" else 1,
                                use_bias=False, name=f"conv{i}")(h)
        y = keras.layers.BatchNormalization(name=f"bn{i}")(y)
        y = keras.layers.ReLU(name=f"relu{i}")(y)
        if residual and i > 0 and h.shape[-1] == filters:
            y = keras.layers.Add(name=f"res{i}")([h, y])
        h = y
        if head == "dense" and (i + 1) % pool_every == 0 and h.shape[1] >= 4:
            h = keras.layers.MaxPooling1D(2, name=f"pool{i}")(h)
    if dropout > 0:
        h = keras.layers.Dropout(dropout, name="dropout")(h)
    if head == "freq":
        logits = keras.layers.Conv1D(1, 1, name="bin_logits")(h)
        logits = keras.layers.Flatten(name="flatten")(logits)
    else:
        h = keras.layers.GlobalAveragePooling1D(name="gap")(h)
        logits = keras.layers.Dense(int(n_outputs), name="bin_logits")(h)
    out = keras.layers.Softmax(name="hr_bins")(logits) if softmax else logits
    return keras.Model(inp, out, name=name)
