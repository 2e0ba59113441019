"""The model compiler: an int8 ``.tflite`` model as plain C99, bit-exact with TFLite Micro.

``compile_model(model_bytes)`` reads the flatbuffer (:mod:`.graph`), lowers every
operator to one call of a kernel in ``firmware_templates/engine`` with its shapes,
paddings, zero points and per-channel requantisation multipliers as compile-time
constants (:mod:`.lower`, :mod:`.quant`), plans every activation into one static arena
(:mod:`.plan`) and emits ``tm_model_engine.c`` implementing ``tm_model.h``
(:mod:`.emit`): no interpreter, no malloc, no C++. :mod:`.host` builds the result with
the host compiler (ctypes) and measures code size, host or Cortex-M.

This is a library over bytes: it imports nothing from the recipe layer.

Examples
--------
>>> from tinyml_suite.common.deploy.engine import supported_ops
>>> "CONV_2D" in supported_ops() and "SOFTMAX" in supported_ops()
True
"""

from tinyml_suite.common.deploy.engine.compiler import CompiledModel, IOTensor, compile_model, kernels_dir
from tinyml_suite.common.deploy.engine.lower import supported_ops

__all__ = ["CompiledModel", "IOTensor", "compile_model", "kernels_dir", "supported_ops"]
