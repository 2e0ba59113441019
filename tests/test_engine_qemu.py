"""The compiled model on the emulated Cortex-M4F (QEMU mps2-an386) against TensorFlow Lite Micro.

The engine's kernels have two builds on a Cortex-M4: portable C and the DSP-extension
paths (SXTB16/SMLAD/SMLABB, firmware_templates/engine/tm_engine_dsp.h).
:func:`~tinyml_suite.common.deploy.engine.qemu.run_on_qemu` cross-compiles a model with
arm-none-eabi-gcc and runs it on qemu-system-arm operator by operator; here small random
int8 models (the real converter, weight scales over five decades) run through both builds
and every output must equal the tflite-micro runtime's bit for bit. The per-operator
instruction counts must account for the whole inference.

Skipped with the reason when arm-none-eabi-gcc or qemu-system-arm are missing.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
from helpers.engine_models import (
    BUILDERS,
    assert_same_as_tflm,
    convert_int8,
    dsp_paths_model,
    extreme_weights,
    tflm_outputs,
)
from helpers.run_if import needs_qemu

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytestmark = [needs_qemu()]

N_EXAMPLES = 12



@pytest.mark.parametrize(("family", "seed"), [("dsp_paths", 0), ("dsp_paths", 1), ("conv", 7), ("depthwise", 7), ("elementwise", 7)])
def test_both_kernel_builds_on_qemu_bit_exact_withtflm_outputs(family, seed):
    import keras

    from tinyml_suite.common.deploy.engine import compile_model
    from tinyml_suite.common.deploy.engine.qemu import run_on_qemu

    keras.backend.clear_session()
    rng = np.random.default_rng([seed, zlib.crc32(family.encode())])
    model, shape = (dsp_paths_model if family == "dsp_paths" else BUILDERS[family])(rng)
    extreme_weights(model, rng)
    rep = (rng.standard_normal((32, *shape)) * rng.uniform(0.5, 3.0)).astype(np.float32)
    data = convert_int8(model, rep)
    cm = compile_model(data)
    xs = rng.integers(-128, 128, size=(N_EXAMPLES, *cm.inputs[0].shape[1:])).astype(np.int8)
    xs[0], xs[1] = -128, 127
    want = tflm_outputs(data, xs, len(cm.outputs))
    for dsp in (True, False):
        run = run_on_qemu(cm, xs, dsp=dsp, timeout=120)
        assert_same_as_tflm(cm, run.outputs, want, len(xs), f"{'DSP' if dsp else 'portable'} build")
        # every operator that computes was counted, and the operators account for the inference
        # (each figure is within 40 instructions per call, plus the hook's own few)
        ops = run.op_instructions
        assert len(ops) == len(cm.steps) and run.instructions_per_inference > 0
        assert all(n > 0 for n, s in zip(ops, cm.steps) if s.kernel != "alias"), ops
        assert abs(sum(ops) - run.instructions_per_inference) <= 80 * len(ops) + 200, (sum(ops), run)
        assert set(run.by_kernel(cm)) >= {"tm_conv_s8"} or family in ("depthwise", "elementwise")
