"""The operators of a ``.tflite`` model, read from its flatbuffer, and TFLM's support for them.

:func:`model_ops` lists the builtin operator names a model uses (``"CONV_2D"``,
``"FULLY_CONNECTED"``, ...) by reading the flatbuffer with the schema module shipped in
the ``tflite-micro`` wheel (``tensorflow/lite/micro/python/schema_py_generated.py``);
TensorFlow is not imported. :func:`resolver_method` gives the ``MicroMutableOpResolver``
method that registers an op (``CONV_2D`` -> ``AddConv2D``), which is what the generated
op resolver of the firmware calls, and :func:`check_tflm_support` stops a run whose
model uses an operator TFLite Micro has no kernel for.

Where the support table comes from
----------------------------------
:data:`TFLM_RESOLVER_METHODS` lists every builtin operator that TFLite Micro's
``MicroMutableOpResolver`` has an ``Add<Op>()`` method for, as registered by the Python
host runtime we verify with: tflite-micro ``python/tflite_micro/python_ops_resolver.cc``
(``PythonOpsResolver``, which calls every builtin ``Add...()`` in alphabetical order) and
the ``BuiltinOperator_<OP>`` each method registers in
``tensorflow/lite/micro/micro_mutable_op_resolver.h`` (tensorflow/tflite-micro on
GitHub, read in 2026). Custom operators that resolver also registers (the signal
library's ``Window``, ``Rfft``, ... and ``CIRCULAR_BUFFER``, ``ETHOSU``) are listed in
:data:`TFLM_CUSTOM_METHODS`; Keras models converted by this suite never produce them.
"Supported" means TFLM can resolve the op; whether a kernel exists for a particular
tensor type (e.g. int8) is checked by actually running the model on the TFLM runtime
(:mod:`tinyml_suite.common.deploy.verify`).

Examples
--------
>>> resolver_method("DEPTHWISE_CONV_2D")
'AddDepthwiseConv2D'
>>> is_supported("FULLY_CONNECTED"), is_supported("REDUCE_PROD")
(True, False)
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from tinyml_suite.common.errors import DeployError

__all__ = [
    "TFLM_CUSTOM_METHODS",
    "TFLM_RESOLVER_METHODS",
    "check_tflm_support",
    "is_supported",
    "model_ops",
    "op_counts",
    "parse_model",
    "resolver_method",
]

#: builtin operator name (tflite schema ``BuiltinOperator``) -> MicroMutableOpResolver method
TFLM_RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile",
    "ZEROS_LIKE": "AddZerosLike",
}

#: custom operator code (as stored in the flatbuffer) -> MicroMutableOpResolver method
TFLM_CUSTOM_METHODS: dict[str, str] = {
    "CIRCULAR_BUFFER": "AddCircularBuffer",
    "TFLite_Detection_PostProcess": "AddDetectionPostprocess",
}

_TFLITE_IDENTIFIER = b"TFL3"


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


@lru_cache(maxsize=1)
def _builtin_names() -> dict[int, str]:
    ops = _schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}


def parse_model(model_bytes: bytes, what: str = "model"):
    """Check ``model_bytes`` is a TFLite flatbuffer and return its root ``Model`` table.

    Raises :class:`DeployError` (one line) for empty, truncated or non-TFLite bytes.
    """
    if not isinstance(model_bytes, (bytes, bytearray, memoryview)):
        raise DeployError(f"{what}: expected .tflite bytes, got {type(model_bytes).__name__}")
    buf = bytes(model_bytes)
    if len(buf) == 0:
        raise DeployError(f"{what}: the .tflite data is empty (0 bytes); re-run the optimize stage")
    if len(buf) < 8 or buf[4:8] != _TFLITE_IDENTIFIER:
        raise DeployError(
            f"{what}: not a TFLite flatbuffer ({len(buf)} bytes, file identifier "
            f"{buf[4:8]!r} instead of b'TFL3'); the file is corrupt or not a .tflite model"
        )
    schema = _schema()
    try:
        model = schema.Model.GetRootAs(buf, 0)
        if model.SubgraphsLength() < 1:
            raise DeployError(f"{what}: the .tflite model has no subgraph; the file is corrupt")
        # touch every operator so that a truncated buffer fails here, not later
        for s in range(model.SubgraphsLength()):
            sg = model.Subgraphs(s)
            for i in range(sg.OperatorsLength()):
                idx = sg.Operators(i).OpcodeIndex()
                if idx >= model.OperatorCodesLength():
                    raise DeployError(
                        f"{what}: operator {i} refers to opcode {idx} but the model has "
                        f"{model.OperatorCodesLength()}; the file is corrupt"
                    )
    except DeployError:
        raise
    except Exception as exc:  # flatbuffers raises IndexError/struct.error on bad offsets
        raise DeployError(
            f"{what}: the .tflite flatbuffer is corrupt ({type(exc).__name__}: {exc}); "
            "re-export the model"
        ) from None
    return model


def _op_name(model, opcode_index: int) -> str:
    code = model.OperatorCodes(opcode_index)
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    names = _builtin_names()
    name = names.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.CustomCode()
        return custom.decode("utf-8", "replace") if custom else "CUSTOM"
    return name


def op_counts(model_bytes: bytes) -> dict[str, int]:
    """How many times each operator occurs in the model (all subgraphs)."""
    model = parse_model(model_bytes)
    counts: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for i in range(sg.OperatorsLength()):
            counts[_op_name(model, sg.Operators(i).OpcodeIndex())] += 1
    return dict(sorted(counts.items()))


def model_ops(model_bytes: bytes) -> list[str]:
    """The distinct operators the model uses, sorted by name.

    Builtin operators are named as in the tflite schema (``"CONV_2D"``); a custom
    operator by its custom code. Raises :class:`DeployError` for bytes that are not a
    valid ``.tflite`` model.
    """
    return sorted(op_counts(model_bytes))


def is_supported(op: str) -> bool:
    """Whether TFLite Micro's MicroMutableOpResolver can register ``op``."""
    return op in TFLM_RESOLVER_METHODS or op in TFLM_CUSTOM_METHODS


def resolver_method(op: str) -> str:
    """The ``MicroMutableOpResolver`` method that registers ``op`` (e.g. ``AddConv2D``).

    Raises :class:`DeployError` naming the op when TFLite Micro does not support it.
    """
    if op in TFLM_RESOLVER_METHODS:
        return TFLM_RESOLVER_METHODS[op]
    if op in TFLM_CUSTOM_METHODS:
        return TFLM_CUSTOM_METHODS[op]
    raise DeployError(
        f"operator {op} is not supported by TensorFlow Lite Micro (no MicroMutableOpResolver "
        f"method); change the model to avoid the layer that produces {op}"
    )


def check_tflm_support(ops: list[str]) -> list[str]:
    """Return the resolver methods for ``ops``; :class:`DeployError` names unsupported ones."""
    missing = [op for op in ops if not is_supported(op)]
    if missing:
        raise DeployError(
            f"operator(s) {', '.join(missing)} not supported by TensorFlow Lite Micro; "
            "change the model to avoid the layers that produce them "
            f"(supported: {len(TFLM_RESOLVER_METHODS)} builtin ops, see common/deploy/tflite_ops.py)"
        )
    return [resolver_method(op) for op in ops]
