"""C99 emission: the lowered steps and the memory plan as one self-contained C file.

The generated ``tm_model_engine.c`` holds, per operator, its constant arrays (weights,
folded biases, multipliers, shifts) and one ``static const`` parameter struct, then a
``tm_model_run()`` that calls the kernels in execution order on pointers into the
caller's buffers, the constant arrays or the static arena. It implements
``tm_model.h`` (``tm_model_init``, ``tm_model_invoke``, ``tm_model_arena_used``) for
single-input, single-output models; ``tm_model_engine.h`` declares ``tm_model_run`` and
the I/O sizes for any model (tests and the host runner use it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.deploy.engine.graph import Graph
from tinyml_suite.common.deploy.engine.lower import Step
from tinyml_suite.common.deploy.engine.plan import MemoryPlan, Storage

__all__ = ["MODEL_C", "MODEL_H", "emit_sources"]
MODEL_C = "tm_model_engine.c"
MODEL_H = "tm_model_engine.h"

_CTYPE = {"int8": "int8_t", "int32": "int32_t", "float32": "float", "int16": "int16_t", "uint8": "uint8_t"}
_PER_LINE = 24


def _ctype(dtype: str) -> str:
    try:
        return _CTYPE[dtype]
    except KeyError:
        raise ValueError(f"no C type for {dtype}") from None


def _array(name: str, ctype: str, values: np.ndarray) -> str:
    flat = np.asarray(values).ravel()
    if ctype == "float":
        items = [cgen.c_literal(float(v)) for v in flat]
    else:
        items = [str(int(v)) for v in flat]
    n = max(len(items), 1)
    if not items:
        items = ["0"]
    lines = [", ".join(items[i : i + _PER_LINE]) for i in range(0, len(items), _PER_LINE)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{n}] = {{\n    {body}}};\n"


def _field(value: Any, arrays: dict[str, str], key: str) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "array":
        return arrays[value[1]]
    if isinstance(value, (list, tuple, np.ndarray)):
        return "{" + ", ".join(_field(v, arrays, key) for v in value) + "}"
    if isinstance(value, float):
        if key.endswith("_d"):  # a double
            text = repr(float(value))
            return text if ("." in text or "e" in text) else text + ".0"
        return cgen.c_literal(value)
    return str(int(value))


def _pointer(st: Storage, dtype: str, *, const: bool) -> str:
    ct = _ctype(dtype)
    q = "const " if const else ""
    if st.kind == "in":
        return f"in{st.index}" if dtype == "int8" and const else f"({q}{ct}*)in{st.index}"
    if st.kind == "out":
        return f"out{st.index}" if dtype == "int8" else f"({q}{ct}*)(void*)out{st.index}"
    if st.kind == "const":
        return f"k_t{st.index}"
    if dtype == "int8":
        return f"(arena + {st.index})"
    return f"({q}{ct}*)(void*)(arena + {st.index})"


def emit_sources(g: Graph, steps: list[Step], plan: MemoryPlan, *, config_hash: str = "-") -> dict[str, str]:
    """``{MODEL_C: text, MODEL_H: text}`` for the compiled model."""
    banner = cgen.generated_banner(cgen.TOOL, config_hash) + "// The model compiled to C99 by common/deploy/engine.\n"
    ins = [g.t(t) for t in g.inputs]
    outs = [g.t(t) for t in g.outputs]
    n_in, n_out = len(ins), len(outs)
    single = n_in == 1 and n_out == 1

    h = [banner, "#ifndef TM_MODEL_ENGINE_H\n#define TM_MODEL_ENGINE_H\n\n#include <stddef.h>\n\n"]
    h.append('#ifdef __cplusplus\nextern "C" {\n#endif\n\n')
    h.append(f"#define TM_ENGINE_N_INPUTS {n_in}\n#define TM_ENGINE_N_OUTPUTS {n_out}\n")
    h.append(f"#define TM_ENGINE_ARENA_BYTES {plan.arena_bytes}\n")
    for k, t in enumerate(ins):
        h.append(f"#define TM_ENGINE_INPUT{k}_BYTES {t.nbytes}  /* {t.dtype} {list(t.shape)} */\n")
    for k, t in enumerate(outs):
        h.append(f"#define TM_ENGINE_OUTPUT{k}_BYTES {t.nbytes}  /* {t.dtype} {list(t.shape)} */\n")
    h.append(
        "\n/* Run one inference: inputs[k] / outputs[k] point to the model's input / output\n"
        " * tensors (C order, their own element type). Returns 0. */\n"
        "int tm_model_run(const void* const* inputs, void* const* outputs);\n\n"
    )
    h.append('#ifdef __cplusplus\n}\n#endif\n\n#endif /* TM_MODEL_ENGINE_H */\n')

    c: list[str] = [banner]
    c.append(
        f"/* {len(steps)} operators: {', '.join(s.op.op for s in steps)}.\n"
        f" * Static arena: {plan.arena_bytes} bytes (planned at compile time; see common/deploy/engine/plan.py).\n"
        " * Kernels: firmware_templates/engine (TFLite Micro reference int8 arithmetic). */\n"
    )
    c.append("#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n")
    c.append('#include "tm_engine.h"\n#include "tm_model.h"\n#include "tm_model_engine.h"\n\n')
    c.append("#if TM_ENGINE_KERNELS_VERSION != 1\n#error \"tm_engine.h does not match this generated model; "
             "regenerate it with `tinyml deploy`\"\n#endif\n\n")
    words = max((plan.arena_bytes + 3) // 4, 1)
    c.append(f"static int32_t g_tm_arena[{words}]; /* TM_ENGINE_ARENA_BYTES, 4-byte aligned */\n\n")

    # constant tensors read directly by kernels (e.g. the second operand of an ADD)
    const_used = sorted({t for s in steps for t in s.inputs if plan.storage.get(t, Storage("", 0)).kind == "const"})
    for t in const_used:
        tensor = g.t(t)
        c.append(f"/* constant tensor {t}: '{tensor.name}' {tensor.dtype}{list(tensor.shape)} */\n")
        c.append(_array(f"k_t{t}", _ctype(tensor.dtype), tensor.data))
    if const_used:
        c.append("\n")

    calls: list[str] = []
    for pos, step in enumerate(steps):
        op = step.op
        x = [g.t(t) for t in step.inputs]
        y = [g.t(t) for t in step.outputs]
        shapes = ", ".join(f"{list(t.shape)}" for t in x) + " -> " + ", ".join(f"{list(t.shape)}" for t in y)
        if step.kernel == "alias":
            if pos in plan.copies:
                src = _pointer(plan.storage[x[0].index], x[0].dtype, const=True)
                dst = _pointer(plan.storage[y[0].index], y[0].dtype, const=False)
                calls.append(f"  /* op {op.index}: {op.op} {shapes} (copy) */\n"
                             f"  memcpy({dst}, {src}, {y[0].nbytes});\n  TM_ENGINE_OP_DONE({pos});\n")
            continue
        prefix = f"k_op{op.index}"
        names = {a.name: f"{prefix}_{a.name}" for a in step.arrays}
        c.append(f"/* op {op.index}: {op.op} {shapes} */\n")
        for a in step.arrays:
            c.append(_array(names[a.name], a.ctype, a.values))
        fields = ",\n".join(f"    .{k} = {_field(v, names, k)}" for k, v in step.fields.items())
        c.append(f"static const {step.params_type} {prefix} = {{\n{fields}}};\n\n")
        args_in = [_pointer(plan.storage[t.index], t.dtype, const=True) for t in x]
        out = _pointer(plan.storage[y[0].index], y[0].dtype, const=False)
        if step.list_input:
            srcs = ", ".join(args_in)
            calls.append(f"  {{ /* op {op.index}: {op.op} */\n"
                         f"    const int8_t* const srcs[{len(args_in)}] = {{{srcs}}};\n"
                         f"    {step.kernel}(&{prefix}, srcs, {out});\n  }}\n")
        else:
            calls.append(f"  {step.kernel}(&{prefix}, {', '.join(args_in + [out])}); /* op {op.index}: {op.op} */\n")
        calls.append(f"  TM_ENGINE_OP_DONE({pos});\n")

    c.append("int tm_model_run(const void* const* inputs, void* const* outputs) {\n")
    c.append("  int8_t* const arena = (int8_t*)(void*)g_tm_arena;\n")
    for k in range(n_in):
        c.append(f"  const int8_t* const in{k} = (const int8_t*)inputs[{k}];\n")
    for k in range(n_out):
        c.append(f"  int8_t* const out{k} = (int8_t*)outputs[{k}];\n")
    c.append("  (void)arena;\n")
    c.extend(calls)
    c.append("  return 0;\n}\n\n")
    c.append("int tm_model_init(void) { return 0; }\n\n")
    if single:
        c.append(
            "int tm_model_invoke(const int8_t* in, int8_t* out) {\n"
            "  const void* inputs[1];\n  void* outputs[1];\n"
            "  inputs[0] = in;\n  outputs[0] = out;\n"
            "  return tm_model_run(inputs, outputs);\n}\n\n"
        )
    else:
        c.append(
            "/* tm_model_invoke needs one input and one output; this model has "
            f"{n_in} and {n_out}: call tm_model_run. */\n"
            "int tm_model_invoke(const int8_t* in, int8_t* out) {\n  (void)in;\n  (void)out;\n  return -1;\n}\n\n"
        )
    c.append("size_t tm_model_arena_used(void) { return (size_t)TM_ENGINE_ARENA_BYTES; }\n")
    return {MODEL_C: "".join(c), MODEL_H: "".join(h)}
