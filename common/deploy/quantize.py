"""Post-training conversion of a Keras model to ``.tflite`` variants.

The quantisation ladder:

``float32``
    plain conversion, float weights and activations (reference for the others).
``float16``
    weights stored as float16, computed in float32 (``supported_types=[tf.float16]``).
``dynamic_range``
    int8 weights, float activations, float I/O (no calibration data).
``int8``
    full integer: int8 weights (per-channel for convolutions by default), int8
    activations, int8 input and output tensors, int32 biases. Calibrated on a
    representative sample of training inputs (:func:`representative_sample`). This is
    the model TFLite Micro runs on the device.

Every variant is converted with a fixed batch of 1 (the model is called on a
``keras.Input(batch_size=1)``): static shapes, and no shape-arithmetic operators (with
a dynamic batch, a ``Flatten`` becomes SHAPE/STRIDED_SLICE/PACK and a Dense on a
sequence adds REDUCE_PROD, which TFLite Micro cannot run).

``per_channel=False`` gives per-tensor weight scales; TF 2.21's ``TFLiteConverter`` has
no public switch for it, so it sets the converter's ``_experimental_disable_per_channel``
attribute (present in TF 2.21's ``lite.py``; a test checks the resulting scales).

After an ``int8`` conversion the graph is checked op by op (:func:`float_ops`): the
converter silently keeps an op it cannot quantise in float (``DEQUANTIZE`` -> op ->
``QUANTIZE``), which TFLite Micro would then have to run in float. Such an op, or one the
converter cannot lower at all, stops the run with a :class:`DeployError` naming it.

TensorFlow is imported lazily, inside :func:`convert`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

__all__ = ["VARIANTS", "convert", "float_ops", "representative_sample", "weight_scale_counts"]

log = logging.getLogger("tinyml")

#: variant names accepted by :func:`convert` (and ``optimize.variants``)
VARIANTS = ("float32", "float16", "dynamic_range", "int8")


def representative_sample(
    X: np.ndarray, y: np.ndarray | None, *, n: int, seed: int, task: str = "classification"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Draw the calibration set for int8 conversion, reproducibly.

    For ``task="classification"`` the draw is class-balanced: ``n // k`` examples of each
    of the ``k`` classes present (without replacement); a class with fewer examples gives
    all it has and the shortfall is filled at random from the remaining examples. For
    ``"regression"`` and ``"anomaly"`` it is a uniform draw without replacement. The
    class balance is logged and returned.

    Parameters
    ----------
    X : np.ndarray [shape=(m, *input_shape)]
        model inputs (features) of the training split
    y : np.ndarray [shape=(m,)] or None
        class indices (classification); ignored otherwise
    n : int > 0
        number of examples wanted (fewer when ``m < n``)
    seed : int
        seed of the draw
    task : str
        "classification", "regression" or "anomaly"

    Returns
    -------
    X_rep : np.ndarray [shape=(min(n, m), *input_shape)], float32
    info : dict
        ``{"n", "seed", "task", "indices", "class_counts"}`` (class_counts for
        classification only: class index -> count)

    Examples
    --------
    >>> X = np.arange(10, dtype=np.float32)[:, None]
    >>> y = np.array([0] * 8 + [1] * 2)
    >>> Xr, info = representative_sample(X, y, n=4, seed=0)
    >>> info["class_counts"]
    {0: 2, 1: 2}
    """
    X = np.asarray(X)
    if n is None or int(n) <= 0:
        raise ConfigError(f"optimize.representative_samples={n} must be a positive integer (e.g. 300)")
    if len(X) == 0:
        raise DeployError("no training inputs to calibrate the int8 model with; the training split is empty")
    if task not in ("classification", "regression", "anomaly"):
        raise ConfigError(f"task={task!r} must be 'classification', 'regression' or 'anomaly'")
    n = min(int(n), len(X))
    rng = np.random.default_rng(seed)
    info: dict[str, Any] = {"n": n, "seed": int(seed), "task": task}
    if task == "classification" and y is not None and len(y) == len(X):
        y = np.asarray(y).astype(int)
        classes = np.unique(y)
        per = n // len(classes)
        chosen = []
        for c in classes:
            idx = np.flatnonzero(y == c)
            chosen.append(rng.choice(idx, size=min(per, len(idx)), replace=False))
        picked = np.concatenate(chosen) if chosen else np.zeros(0, dtype=int)
        short = n - len(picked)
        if short > 0:
            rest = np.setdiff1d(np.arange(len(X)), picked)
            picked = np.concatenate([picked, rng.choice(rest, size=short, replace=False)])
        index = np.sort(picked)
        counts = np.bincount(y[index], minlength=int(classes.max()) + 1)
        info["class_counts"] = {int(c): int(counts[c]) for c in classes}
        log.info("Representative set: %d examples, class balance %s", n, info["class_counts"])
    else:
        index = np.sort(rng.choice(len(X), size=n, replace=False))
        log.info("Representative set: %d examples drawn at random (%s)", n, task)
    info["indices"] = index.tolist()
    return X[index].astype(np.float32), info


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ConfigError(f"optimize variant {variant!r} is unknown; choose from {', '.join(VARIANTS)}")


def convert(
    model: Any,
    *,
    variant: str,
    representative: np.ndarray | None = None,
    per_channel: bool = True,
) -> bytes:
    """Convert a Keras model to a ``.tflite`` flatbuffer of the given variant.

    Parameters
    ----------
    model : keras.Model
        single-input, single-output model
    variant : str
        one of :data:`VARIANTS`
    representative : np.ndarray [shape=(n, *input_shape)] or None
        calibration inputs; required for ``"int8"``
    per_channel : bool
        per-channel weight scales (``int8`` and ``dynamic_range``); ``False`` gives
        per-tensor scales

    Returns
    -------
    bytes
        the ``.tflite`` model

    Raises
    ------
    ConfigError
        unknown variant, or int8 without calibration data
    DeployError
        the converter fails, or an ``int8`` model would still compute an op in float
        (the message names the op)
    """
    _check_variant(variant)
    if variant == "int8":
        if representative is None or len(representative) == 0:
            raise ConfigError("variant='int8' needs representative inputs (representative_sample(...))")
        representative = np.asarray(representative, dtype=np.float32)
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_batch_one(model))
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8":
        rep = representative

        def gen():
            for i in range(len(rep)):
                yield [rep[i : i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if not per_channel:
        converter._experimental_disable_per_channel = True
    import warnings

    from tinyml_suite.common.console import RUN_LOG_ONLY, captured_output

    try:
        # the converter and Keras' export print pages (TensorSpec lists, MLIR notes) from
        # Python and C++: captured, and replayed into the run log (common/console.py)
        with warnings.catch_warnings(), captured_output():  # "Statistics for quantized inputs were expected..."
            warnings.simplefilter("ignore", UserWarning)
            data = bytes(converter.convert())
    except Exception as exc:  # ConverterError and friends: multi-line MLIR dumps
        raise DeployError(_conversion_message(variant, exc)) from None
    if variant == "int8":
        bad = float_ops(data)
        if bad:
            raise DeployError(
                f"int8 conversion left operator(s) {', '.join(bad)} in float (no int8 kernel); "
                "replace the layer(s) that produce them or deploy a float variant"
            )
    log.info("Converted %s model: %d bytes", variant, len(data), extra=RUN_LOG_ONLY)  # the optimize stage sums up
    return data


def _batch_one(model: Any) -> Any:
    """The model behind an input of fixed batch size 1 (static shapes for the MCU).

    With Keras' dynamic batch the converter emits shape arithmetic (SHAPE, PACK,
    STRIDED_SLICE, GATHER, REDUCE_PROD, ...) around every Flatten/Reshape/Dense-on-sequence;
    REDUCE_PROD has no TFLM kernel. A batch of 1 is what the device runs anyway.
    """
    import keras

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise DeployError(
            f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "the deploy layer converts single-input, single-output models"
        )
    shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
        raise DeployError(f"model input shape {('batch', *shape)} has an undefined axis; give every axis a size")
    inp = keras.Input(shape, batch_size=1, dtype=model.inputs[0].dtype, name="input")
    return keras.Model(inp, model(inp), name=f"{model.name}_batch1")


def _conversion_message(variant: str, exc: Exception) -> str:
    text = str(exc)
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text)))
    if not ops:
        ops = sorted(set(re.findall(r"TF Select ops: ([\w, ]+)", text)))
    if not ops:
        ops = sorted(set(re.findall(r"[Qq]uantization (?:not yet supported|is not supported) for op:? '?([\w.]+)", text)))
    if ops:
        return (
            f"{variant} conversion failed: operator(s) {', '.join(ops)} have no TFLite builtin "
            "kernel; replace the layer(s) that use them"
        )
    first = next((ln.strip() for ln in text.splitlines() if "error" in ln.lower()), text.splitlines()[0] if text else "")
    return f"{variant} conversion failed ({type(exc).__name__}): {first[:300]}"


def _op_tensors(model_bytes: bytes):
    """Yield ``(op_name, input_tensors, output_tensors)`` for every operator."""
    from tinyml_suite.common.deploy.tflite_ops import _op_name, parse_model

    model = parse_model(model_bytes)
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            ins = [sg.Tensors(int(t)) if t >= 0 else None for t in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [sg.Tensors(int(t)) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
            yield _op_name(model, op.OpcodeIndex()), ins, outs


def float_ops(model_bytes: bytes) -> list[str]:
    """Operators (other than QUANTIZE/DEQUANTIZE) that read or write a float tensor."""
    from tinyml_suite.common.deploy.tflite_ops import _schema

    floats = (_schema().TensorType.FLOAT32, _schema().TensorType.FLOAT16)
    bad = set()
    for name, ins, outs in _op_tensors(model_bytes):
        if name in ("QUANTIZE", "DEQUANTIZE"):
            continue
        if any(t is not None and t.Type() in floats for t in [*ins, *outs]):
            bad.add(name)
    return sorted(bad)


_WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weight_scale_counts(model_bytes: bytes) -> dict[str, list[int]]:
    """For each CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op: its weights' scale count.

    Per-channel int8 weights have one scale per output channel, per-tensor weights one
    (float weights: 0).
    """
    out: dict[str, list[int]] = {}
    for name, ins, _outs in _op_tensors(model_bytes):
        if name in _WEIGHT_OPS and len(ins) > 1 and ins[1] is not None:
            q = ins[1].Quantization()
            out.setdefault(name, []).append(int(q.ScaleLength()) if q is not None else 0)
    return out
