"""Run a compiled model on the emulated Cortex-M4F (QEMU mps2-an386), operator by operator.

:func:`run_on_qemu` builds the compiled model's C (and the kernels it calls) with
``arm-none-eabi-gcc`` for a Cortex-M4F, together with the bare-metal start-up of the
``mps2_an386`` board (``firmware_templates/boards/baremetal``) and a small driver that
runs every given input through ``tm_model_run`` and prints the outputs; it runs the
program on ``qemu-system-arm -icount shift=0`` and returns the outputs and the
instructions each operator executed. Two builds: the DSP-extension kernels (the default
on a Cortex-M4) or, with ``dsp=False``, the portable C kernels (``-DTM_ENGINE_PORTABLE``).

The per-operator figures come from the ``TM_ENGINE_OP_DONE(step)`` hook the generated
``tm_model_run`` calls after every operator (empty unless defined): the driver reads
SysTick there. SysTick advances once per 40 instructions under ``-icount shift=0``
(:mod:`~tinyml_suite.common.deploy.baremetal`), so each figure is the executed
instruction count to within 40 per operator call (plus the ~20 instructions of the hook
itself): a proxy for Cortex-M4 cycles, not cycles.

Used by tests/test_engine_qemu.py (random models against TFLite Micro, both builds) and
for the per-operator figures in docs/BENCHMARKS.md::

    python -m tinyml_suite.common.deploy.engine.qemu MODEL.tflite [--portable]
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from tinyml_suite.common.deploy import baremetal
from tinyml_suite.common.deploy.engine.compiler import CompiledModel
from tinyml_suite.common.deploy.engine.host import tm_model_header
from tinyml_suite.common.errors import DeployError

__all__ = ["QemuRun", "run_on_qemu"]

MACHINE = "mps2-an386"
_INSTR_PER_TICK = 40

_DRIVER = r"""
/* Driver of the engine's QEMU run (common/deploy/engine/qemu.py): every input through
 * tm_model_run, outputs in hex, then the ticks spent in each operator. */
#include <stdint.h>
#include "tm_cm.h"
#include "tm_model_engine.h"
#include "tm_engine_qemu.h"

#define UART_DATA (*(volatile uint32_t*)0x40004000u)
#define UART_STATE (*(volatile uint32_t*)0x40004004u)
#define UART_CTRL (*(volatile uint32_t*)0x40004008u)
#define UART_BAUDDIV (*(volatile uint32_t*)0x40004010u)

void tm_cm_console_write(const char* s, int n) {
  int i;
  if ((UART_CTRL & 1u) == 0u) {
    UART_BAUDDIV = 16u;
    UART_CTRL = 1u;
  }
  for (i = 0; i < n; ++i) {
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint32_t)(unsigned char)s[i];
  }
}

static void put_str(const char* s) {
  int n = 0;
  while (s[n]) ++n;
  tm_cm_console_write(s, n);
}

static void put_u64(uint64_t v) {
  char b[24];
  int i = 23;
  b[i] = 0;
  do {
    b[--i] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v && i > 0);
  put_str(b + i);
}

static void put_hex(const uint8_t* p, uint32_t n) {
  static const char digits[] = "0123456789abcdef";
  char b[2];
  uint32_t i;
  for (i = 0; i < n; ++i) {
    b[0] = digits[p[i] >> 4];
    b[1] = digits[p[i] & 15u];
    tm_cm_console_write(b, 2);
  }
}

static uint64_t g_op_ticks[TM_QEMU_N_STEPS];
static uint64_t g_last;

void tm_qemu_op_done(int step) {
  const uint64_t t = tm_cm_ticks();
  if (step >= 0 && step < TM_QEMU_N_STEPS) g_op_ticks[step] += t - g_last;
  g_last = tm_cm_ticks();
}

int main(void) {
  uint64_t total = 0;
  uint32_t i;
  int k;
  for (i = 0; i < TM_QEMU_N_EXAMPLES; ++i) {
    const void* ins[TM_ENGINE_N_INPUTS];
    void* outs[TM_ENGINE_N_OUTPUTS];
    uint64_t t0;
    for (k = 0; k < TM_ENGINE_N_INPUTS; ++k) ins[k] = g_qemu_inputs[k] + i * g_qemu_in_bytes[k];
    for (k = 0; k < TM_ENGINE_N_OUTPUTS; ++k) outs[k] = g_qemu_outputs[k];
    t0 = tm_cm_ticks();
    g_last = t0;
    if (tm_model_run(ins, outs) != 0) return 2;
    total += tm_cm_ticks() - t0;
    for (k = 0; k < TM_ENGINE_N_OUTPUTS; ++k) {
      put_str("out ");
      put_hex(g_qemu_outputs[k], g_qemu_out_bytes[k]);
      put_str("\n");
    }
  }
  put_str("total ");
  put_u64(total);
  put_str("\nops");
  for (k = 0; k < TM_QEMU_N_STEPS; ++k) {
    put_str(" ");
    put_u64(g_op_ticks[k]);
  }
  put_str("\nend\n");
  return 0;
}
"""


@dataclass
class QemuRun:
    """Outputs and measured instructions of :func:`run_on_qemu`."""

    outputs: list[np.ndarray]  # per model output: (n, *shape[1:])
    instructions_per_inference: float
    op_instructions: list[float] = field(default_factory=list)  # per step of cm.steps, per inference
    dsp: bool = True
    opt: str = "-O2"

    def by_kernel(self, cm: CompiledModel) -> dict[str, float]:
        """Instructions per inference summed by kernel function (``tm_conv_s8``, ...)."""
        out: dict[str, float] = {}
        for step, n in zip(cm.steps, self.op_instructions):
            out[step.kernel] = out.get(step.kernel, 0.0) + n
        return out


def _bytes_array(name: str, data: bytes) -> str:
    body = ",".join(str(b) for b in data) or "0"
    return f"__attribute__((aligned(8))) const uint8_t {name}[{max(len(data), 1)}] = {{{body}}};\n"


def run_on_qemu(cm: CompiledModel, *xs: np.ndarray, dsp: bool = True, opt: str = "-O2",
                timeout: float = 600, extra_flags: tuple[str, ...] = ()) -> QemuRun:
    """Build ``cm`` for the Cortex-M4F, run the inputs ``xs`` (one array per model input,
    ``(n, ...)``) on QEMU and return the outputs and per-operator instruction counts.

    :class:`DeployError` when the toolchain or QEMU is missing, the build fails or the
    program does not finish.
    """
    baremetal.require_tools("running the compiled model on QEMU")
    if len(xs) != len(cm.inputs):
        raise DeployError(f"the model has {len(cm.inputs)} inputs, got {len(xs)} arrays")
    arrays = []
    n = None
    for x, info in zip(xs, cm.inputs):
        a = np.ascontiguousarray(np.asarray(x), dtype=np.dtype(info.dtype))
        per = int(np.prod(info.shape))
        k = a.size // per
        if a.size % per or (n is not None and k != n):
            raise DeployError(f"input of {a.size} values is not {n or 'a whole number of'} examples of {info.shape}")
        n = k
        arrays.append(a.reshape(k, per))
    n = int(n or 0)
    bm = Path(str(resources.files("tinyml_suite.firmware_templates") / "boards" / "baremetal"))
    with tempfile.TemporaryDirectory(prefix="tinyml-engine-qemu-") as tmp:
        d = Path(tmp)
        cm.write(d)
        for name in ("startup_cm.c", "tm_cm.h"):
            shutil.copyfile(bm / "src" / name, d / name)
        shutil.copyfile(bm / "link.ld", d / "link.ld")
        shutil.copyfile(tm_model_header(), d / "tm_model.h")
        n_steps = len(cm.steps)
        hdr = [
            "#include <stdint.h>\n",
            f"#define TM_QEMU_N_STEPS {max(n_steps, 1)}\n#define TM_QEMU_N_EXAMPLES {n}u\n",
            "void tm_qemu_op_done(int step);\n",
            "extern const uint8_t* const g_qemu_inputs[];\nextern uint8_t* const g_qemu_outputs[];\n",
            "extern const uint32_t g_qemu_in_bytes[];\nextern const uint32_t g_qemu_out_bytes[];\n",
        ]
        (d / "tm_engine_qemu.h").write_text("".join(hdr))
        data = ["#include <stdint.h>\n#include \"tm_engine_qemu.h\"\n"]
        for k, a in enumerate(arrays):
            data.append(_bytes_array(f"g_in{k}", a.tobytes()))
        for k, o in enumerate(cm.outputs):
            data.append(f"__attribute__((aligned(8))) static uint8_t g_out{k}[{o.nbytes}];\n")
        data.append("const uint8_t* const g_qemu_inputs[] = {" + ", ".join(f"g_in{k}" for k in range(len(arrays))) + "};\n")
        data.append("uint8_t* const g_qemu_outputs[] = {" + ", ".join(f"g_out{k}" for k in range(len(cm.outputs))) + "};\n")
        data.append("const uint32_t g_qemu_in_bytes[] = {" + ", ".join(str(a.shape[1] * a.itemsize) for a in arrays) + "};\n")
        data.append("const uint32_t g_qemu_out_bytes[] = {" + ", ".join(str(o.nbytes) for o in cm.outputs) + "};\n")
        (d / "tm_qemu_data.c").write_text("".join(data))
        (d / "tm_qemu_main.c").write_text(_DRIVER)
        sources = [d / s for s in cm.sources if s.endswith(".c")] + [d / f for f in cm.kernel_sources]
        sources += [d / "startup_cm.c", d / "tm_qemu_data.c", d / "tm_qemu_main.c"]
        defines = ["-DTM_CM_SEMIHOSTING", "-DTM_ENGINE_OP_DONE(i)=tm_qemu_op_done(i)", "-include", str(d / "tm_engine_qemu.h")]
        if not dsp:
            defines.append("-DTM_ENGINE_PORTABLE")
        elf = d / "model.elf"
        cmd = ["arm-none-eabi-gcc", "-std=c99", opt, *baremetal.core_flags("cortex-m4f"), "-Wall", "-Wextra",
               "-Werror", "-ffunction-sections", "-fdata-sections", f"-I{d}", *defines, *extra_flags,
               *map(str, sources), "-nostartfiles", "--specs=nano.specs", f"-T{d / 'link.ld'}",
               "-Wl,--gc-sections", "-lc", "-lm", "-lgcc", "-o", str(elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-12:])
            raise DeployError(f"building the compiled model for QEMU failed:\n{tail}")
        status, text = baremetal.run_qemu(elf, MACHINE, timeout=timeout)
    lines = text.splitlines()
    if status != 0 or "end" not in lines:
        raise DeployError(f"the compiled model on QEMU exited with status {status}: {' | '.join(lines[-3:])}")
    outs_hex = [ln[4:] for ln in lines if ln.startswith("out ")]
    n_out = len(cm.outputs)
    if len(outs_hex) != n * n_out:
        raise DeployError(f"QEMU printed {len(outs_hex)} outputs for {n} examples x {n_out} outputs")
    outputs = []
    for k, info in enumerate(cm.outputs):
        raw = [bytes.fromhex(outs_hex[i * n_out + k]) for i in range(n)]
        a = np.frombuffer(b"".join(raw), dtype=np.dtype(info.dtype)).reshape(n, *info.shape[1:])
        outputs.append(a.copy())
    total = int(next(ln for ln in lines if ln.startswith("total ")).split()[1])
    ops = [int(v) for v in next(ln for ln in lines if ln.startswith("ops")).split()[1:]]
    scale = _INSTR_PER_TICK / max(n, 1)
    return QemuRun(outputs, total * scale, [v * scale for v in ops[: len(cm.steps)]], dsp=dsp, opt=opt)


def main(argv: list[str] | None = None) -> int:
    """Print the instructions per operator of a .tflite model compiled by the engine."""
    import argparse

    from tinyml_suite.common.deploy.engine import compile_model

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("model", type=Path)
    ap.add_argument("--portable", action="store_true", help="the portable C kernels (default: DSP extension)")
    ap.add_argument("-n", type=int, default=2, help="random int8 inputs to run (default 2)")
    args = ap.parse_args(argv)
    cm = compile_model(args.model.read_bytes())
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, size=(args.n, *i.shape[1:])).astype(np.dtype(i.dtype)) for i in cm.inputs]
    run = run_on_qemu(cm, *xs, dsp=not args.portable)
    print(f"{args.model.name}: {'portable' if args.portable else 'DSP'} kernels, "
          f"{run.instructions_per_inference:,.0f} instructions per inference")
    print("| step | op | kernel | MACs | instructions | per MAC |\n|---|---|---|---|---|---|")
    for pos, (step, n) in enumerate(zip(cm.steps, run.op_instructions)):
        m = step.macs
        print(f"| {pos} | {step.op.op} | {step.kernel} | {m:,} | {n:,.0f} | {n / m:.2f} |" if m else
              f"| {pos} | {step.op.op} | {step.kernel} | - | {n:,.0f} | - |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
