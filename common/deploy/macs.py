"""Multiply-accumulate (MAC) counts of a model, from Keras layers or from the .tflite graph.

What is counted: one MAC per weight multiplication of the layers that carry weights --
``Conv1D``/``Conv2D`` (also with ``groups``), ``DepthwiseConv1D``/``DepthwiseConv2D``,
``SeparableConv1D``/``SeparableConv2D`` (depthwise + pointwise), ``Conv1DTranspose``/
``Conv2DTranspose`` and ``Dense`` (applied to every position when its input has more
than one non-batch axis). Bias additions, activations, batch normalisation (folded into
the convolution by the converter), pooling, ``Add``/``Concatenate`` and softmax are NOT
counted: they are a few percent of the work in the models of this suite and are not
multiply-accumulates of weights. Counts are per example (batch 1).

:func:`keras_macs` walks the Keras model (nested models too); :func:`tflite_macs` reads
the ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``FULLY_CONNECTED`` and ``TRANSPOSE_CONV``
operators of a ``.tflite`` flatbuffer (weights and output shapes). Both count the same
thing, so they agree on a converted model (a test checks it).

Examples
--------
>>> conv_macs(out_positions=25 * 5, out_channels=8, kernel_elems=10 * 4, in_channels_per_group=1)
40000
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["conv_macs", "count_params", "keras_macs", "tflite_macs"]


def conv_macs(*, out_positions: int, out_channels: int, kernel_elems: int, in_channels_per_group: int) -> int:
    """MACs of a convolution: each output value sums kernel_elems x in_channels products."""
    return int(out_positions) * int(out_channels) * int(kernel_elems) * int(in_channels_per_group)


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else 1 for d in t.shape)


def _layer_macs(layer: Any) -> int:
    import keras

    L = keras.layers
    kind = type(layer).__name__
    try:
        in_shape = _shape(layer.input)
        out_shape = _shape(layer.output)
    except (AttributeError, ValueError):
        return 0
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        k = int(np.prod(layer.kernel_size))
        cin = in_shape[-1]
        dm = int(layer.depth_multiplier)
        # depthwise part runs at the output resolution (strides apply there)
        pos = int(np.prod(out_shape[1:-1]))
        return pos * cin * dm * k + pos * cin * dm * int(layer.filters)
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        k = int(np.prod(layer.kernel_size))
        pos = int(np.prod(out_shape[1:-1]))
        return pos * out_shape[-1] * k
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose)):
        k = int(np.prod(layer.kernel_size))
        return int(np.prod(in_shape[1:-1])) * in_shape[-1] * int(layer.filters) * k
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        k = int(np.prod(layer.kernel_size))
        groups = int(getattr(layer, "groups", 1) or 1)
        return conv_macs(
            out_positions=int(np.prod(out_shape[1:-1])),
            out_channels=out_shape[-1],
            kernel_elems=k,
            in_channels_per_group=in_shape[-1] // groups,
        )
    if isinstance(layer, L.Dense) or kind == "Dense":
        positions = int(np.prod(in_shape[1:-1])) if len(in_shape) > 2 else 1
        return positions * in_shape[-1] * int(layer.units)
    return 0


def keras_macs(model: Any) -> dict[str, Any]:
    """MACs per example of a built Keras model.

    Returns
    -------
    dict
        ``{"macs": int, "per_layer": [{"name", "type", "macs"}, ...]}`` (layers with
        zero MACs omitted)
    """
    per_layer: list[dict[str, Any]] = []

    def walk(m: Any) -> None:
        for layer in m.layers:
            if hasattr(layer, "layers") and layer.layers and not hasattr(layer, "kernel_size"):
                walk(layer)  # nested Model / Sequential
                continue
            n = _layer_macs(layer)
            if n:
                per_layer.append({"name": layer.name, "type": type(layer).__name__, "macs": int(n)})

    walk(model)
    return {"macs": int(sum(p["macs"] for p in per_layer)), "per_layer": per_layer}


def count_params(model: Any) -> int:
    """Total parameters (trainable and not) of a Keras model."""
    return int(model.count_params())


def tflite_macs(model_bytes: bytes) -> dict[str, Any]:
    """MACs per example read from the weight-carrying operators of a ``.tflite`` model.

    ``CONV_2D``: outputs x (kh x kw x in_ch); ``DEPTHWISE_CONV_2D``: outputs x (kh x kw);
    ``FULLY_CONNECTED``: outputs x in_features; ``TRANSPOSE_CONV``: inputs x (kh x kw x
    out_ch). Returns ``{"macs": int, "per_op": [{"index", "op", "macs"}]}``.
    """
    from tinyml_suite.common.deploy.tflite_ops import _op_name, parse_model

    model = parse_model(model_bytes)
    per_op: list[dict[str, Any]] = []
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)

        def shape(t: int) -> tuple[int, ...]:
            ten = sg.Tensors(int(t))  # noqa: B023 - called within this iteration only
            return tuple(int(d) for d in ten.ShapeAsNumpy()) if ten.ShapeLength() else ()

        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            name = _op_name(model, op.OpcodeIndex())
            if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
                continue
            ins = op.InputsAsNumpy()
            out = shape(op.OutputsAsNumpy()[0])
            # stored shapes have batch 1 (a dynamic batch is stored as 1), so all axes count
            n_out = int(np.prod([max(d, 1) for d in out]))
            if name == "TRANSPOSE_CONV":
                w = shape(ins[1])  # [out_ch, kh, kw, in_ch]
                x = shape(ins[2])
                macs = int(np.prod([max(d, 1) for d in x])) * w[0] * w[1] * w[2]
            else:
                w = shape(ins[1])
                if name == "CONV_2D":  # [out_ch, kh, kw, in_ch]
                    macs = n_out * w[1] * w[2] * w[3]
                elif name == "DEPTHWISE_CONV_2D":  # [1, kh, kw, out_ch]
                    macs = n_out * w[1] * w[2]
                else:  # FULLY_CONNECTED: [units, in]
                    macs = n_out * w[-1]
            per_op.append({"index": i, "op": name, "macs": int(macs)})
    return {"macs": int(sum(p["macs"] for p in per_op)), "per_op": per_op}
