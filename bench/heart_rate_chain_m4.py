"""heart_rate's full device chain on an emulated Cortex-M4F: instructions, flash and RAM, measured.

The chain of the firmware, window by window: the ``ppg_spectrum`` front end
(``tm_fe_ppg_spectrum.c``, with the motion stage ``tm_motion.c`` when the run's features
have the motion channel), int8 quantisation, the CNN compiled to C by the suite's engine
(``common/deploy/engine``, TFLite Micro reference arithmetic), dequantisation and the
tracker (``apps/heart_rate/postprocess.c``). Built with ``arm-none-eabi-gcc -O2
-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard`` and run on ``qemu-system-arm -M
mps2-an386`` with ``-icount shift=0``: SysTick (processor clock) then advances one tick
per 40 instructions, identically on every run (docs of this machine, DESIGN.md), so the
per-stage counts are instructions (not cycles: a Cortex-M4 takes about 1-1.5 cycles per
instruction on such code, more with flash wait states). The same windows go through the
Python chain (features, the int8 model on the TFLite Micro runtime, the tracker): the
emulated device must give the same int8 outputs and heart rates.

    python bench/heart_rate_chain_m4.py --run /tmp/hr_spc/fold00 [--windows 30]

Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (Debian packages).
Prints a table; nothing is asserted beyond the host/device agreement.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]

LINKER = """
MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M }
ENTRY(reset_handler)
SECTIONS {
  .vectors : { KEEP(*(.vectors)) } > FLASH
  .text : { *(.text*) *(.rodata*) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  _sidata = LOADADDR(.data);
  .data : { _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  .bss (NOLOAD) : { _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; } > RAM
  end = .; _end = .;
  _stack_top = ORIGIN(RAM) + LENGTH(RAM);
}
"""

MAIN = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_settings.h"
#include "tm_app.h"
#include "tm_features.h"
#include "tm_model.h"
#include "windows.h"

extern void initialise_monitor_handles(void);
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);
void reset_handler(void);
void _init(void) {}
void _fini(void) {}

__attribute__((section(".vectors"))) const void* const g_vectors[2] = {&_stack_top, (const void*)reset_handler};

void reset_handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20; /* CPACR: FPU on */
  __asm volatile("dsb\n isb");
  exit(main());
}

#define SYST_CSR (*(volatile uint32_t*)0xE000E010)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018)
static uint32_t ticks_since(uint32_t start) { return (start - SYST_CVR) & 0xFFFFFFu; }

static float g_feat[TM_FEATURE_COUNT];
static int8_t g_in[TM_FEATURE_COUNT];
static int8_t g_out[TM_MODEL_OUTPUT_COUNT];
static float g_outf[TM_MODEL_OUTPUT_COUNT];

int main(void) {
  int w, i;
  initialise_monitor_handles();
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 5u; /* enable, processor clock, no interrupt */
  if (tm_features_init() != 0 || tm_model_init() != 0 || tm_app_init() != 0) return 2;
  for (w = 0; w < N_WINDOWS; ++w) {
    uint32_t t0, t_fe, t_q, t_nn, t_pp;
    tm_app_io_t io;
    tm_event_t ev;
    memset(&io, 0, sizeof io);
    memset(&ev, 0, sizeof ev);
    t0 = SYST_CVR;
    if (tm_features_compute(k_windows[w], g_feat) != 0) return 3;
    t_fe = ticks_since(t0);
    t0 = SYST_CVR;
    for (i = 0; i < TM_FEATURE_COUNT; ++i) {
      long q = (long)roundf(g_feat[i] / TM_INPUT_SCALE) + (long)TM_INPUT_ZERO_POINT; /* as tm_runner.c */
      g_in[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
    t_q = ticks_since(t0);
    t0 = SYST_CVR;
    if (tm_model_invoke(g_in, g_out) != 0) return 4;
    t_nn = ticks_since(t0);
    t0 = SYST_CVR;
    for (i = 0; i < TM_MODEL_OUTPUT_COUNT; ++i)
      g_outf[i] = (float)((int32_t)g_out[i] - (int32_t)TM_OUTPUT_ZERO_POINT) * (float)TM_OUTPUT_SCALE;
    io.features = g_feat; io.n_features = TM_FEATURE_COUNT; io.input_q = g_in;
    io.outputs = g_outf; io.outputs_q = g_out; io.n_outputs = TM_MODEL_OUTPUT_COUNT;
    io.window_index = (uint32_t)w; io.hop_s = 2.0f;
    if (tm_app_postprocess(&io, &ev) != 1) return 5;
    t_pp = ticks_since(t0);
    printf("W %d %lu %lu %lu %lu %.6f", w, (unsigned long)t_fe, (unsigned long)t_q, (unsigned long)t_nn,
           (unsigned long)t_pp, (double)ev.value);
    for (i = 0; i < TM_MODEL_OUTPUT_COUNT; ++i) printf(" %d", (int)g_out[i]);
    printf("\n");
  }
  return 0;
}
"""


def _windows(n: int) -> np.ndarray:
    """Consecutive 8 s windows (2 s hop) of a simulated recording: rest, forearm exercise, jumping, running."""
    from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg

    r = simulate_wrist_ppg(0.0, rng=11, protocol=[("rest", 20.0), ("forearm", 30.0), ("jump", 30.0), ("run", 40.0)])
    x = np.concatenate([r.ppg[None], r.acc]).astype(np.float32)
    return np.stack([x[:, i * 64 : i * 64 + 256] for i in range(n)])


def _c_array(x: np.ndarray) -> str:
    rows = [",".join(f"{float(v):.9g}f" for v in w.ravel()) for w in x]
    return (f"#define N_WINDOWS {len(x)}\nstatic const float k_windows[{len(x)}][{x[0].size}] = {{\n"
            + ",\n".join("{" + r + "}" for r in rows) + "};\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a heart_rate run folder (model_int8.tflite, .hydra/config.yaml)")
    ap.add_argument("--windows", type=int, default=30)
    ap.add_argument("--mhz", type=float, default=80.0, help="clock for the duty-cycle column (Cortex-M4F, 1 instruction/cycle)")
    args = ap.parse_args(argv)
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)")
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from tinyml_suite.common.context import RunState
    from tinyml_suite.common.deploy import cgen
    from tinyml_suite.common.deploy.engine.compiler import compile_model
    from tinyml_suite.common.deploy.engine.host import tm_model_header
    from tinyml_suite.common.deploy.firmware import dsp_defines
    from tinyml_suite.common.deploy.templates import feature_sources, templates_root
    from tinyml_suite.common.deploy.verify import io_info, tflm_predictor

    run = Path(args.run)
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    fe = instantiate(cfg.features, sample_rate=float(cfg.dataset.sample_rate), _convert_="all")
    app = instantiate(cfg.app, _convert_="all")
    model_bytes = (run / "model_int8.tflite").read_bytes()
    x = _windows(args.windows)
    feats = fe(x)
    info_in, info_out = io_info(model_bytes)

    class _Ctx:  # what firmware_context reads
        data = None
        features = fe
        state = RunState()

    fw = templates_root()
    with tempfile.TemporaryDirectory(prefix="hr-m4-") as tmp:
        d = Path(tmp)
        settings = cgen.ModelSettings(
            app="heart_rate", task="regression", labels=(), sample_rate_hz=32, channels=4, window_samples=256,
            hop_samples=64, feature_kind=fe.kind, input_shape=feats.shape[1:], output_shape=(app.grid.size,),
            input_scale=info_in.scale, input_zero_point=info_in.zero_point, output_scale=info_out.scale,
            output_zero_point=info_out.zero_point, arena_used_bytes=0, arena_bytes=0,
        )
        (d / "model_settings.h").write_text(cgen.model_settings_header(settings, config_hash="bench"))
        (d / "app_settings.h").write_text(cgen.app_settings_header(app.firmware_context(_Ctx()), {}, config_hash="bench"))
        (d / "dsp_params.h").write_text(cgen.dsp_params_header(dsp_defines(fe, 32.0), config_hash="bench"))
        (d / "windows.h").write_text(_c_array(x))
        (d / "main.c").write_text(MAIN)
        (d / "link.ld").write_text(LINKER)
        cm = compile_model(model_bytes, config_hash="bench")
        cm.write(d)
        shutil.copyfile(tm_model_header(), d / "tm_model.h")
        dsp = [p for p in feature_sources(fe) if p.suffix == ".c"]
        sources = {"front end + motion stage": dsp, "tracker": [fw / "apps" / "heart_rate" / "postprocess.c"],
                   "CNN (engine)": [d / n for n in cm.sources if n.endswith(".c")] + [d / n for n in cm.kernel_sources]}
        inc = [f"-I{d}", f"-I{fw / 'dsp'}", f"-I{fw / 'common'}"]
        elf = d / "chain.elf"
        cmd = ["arm-none-eabi-gcc", "-std=c99", "-O2", *FLAGS, "-ffunction-sections", "-fdata-sections", *inc,
               "-DTM_FFT_MAX_N=1024", "-nostartfiles", "--specs=rdimon.specs", f"-T{d / 'link.ld'}", "-Wl,--gc-sections",
               str(d / "main.c"), *[str(p) for ps in sources.values() for p in ps], "-o", str(elf), "-lm", "-lrdimon"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"build failed:\n{proc.stderr[-3000:]}")
        # per part: the part's objects alone (-Os sizes of .text/.rodata/.bss, as a firmware links them)
        part_sizes = {}
        for name, ps in sources.items():
            total = {"text": 0, "rodata": 0, "bss": 0}
            for p in ps:
                obj = d / (p.stem + ".o")
                subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Os", *FLAGS, "-ffunction-sections", "-fdata-sections",
                                *inc, "-DTM_FFT_MAX_N=1024", "-c", str(p), "-o", str(obj)], check=True)
                out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True).stdout
                for line in out.splitlines():
                    m = re.match(r"^\.(text|rodata|bss|data)\S*\s+(\d+)", line.strip())
                    if m:
                        total["rodata" if m.group(1) == "data" else m.group(1)] += int(m.group(2))
            part_sizes[name] = total
        res = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-icount", "shift=0",
                              "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                             capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise SystemExit(f"qemu exited {res.returncode}: {res.stdout[-500:]} {res.stderr[-500:]}")
        rows = [line.split() for line in res.stdout.splitlines() if line.startswith("W ")]
    ticks = np.array([[int(v) for v in r[2:6]] for r in rows], np.int64)
    dev_bpm = np.array([float(r[6]) for r in rows])
    dev_q = np.array([[int(v) for v in r[7:]] for r in rows], np.int64)
    # the same windows through the Python chain (TFLM runtime for the int8 model)
    from tinyml_suite.apps.heart_rate.postprocess import HrTracker

    host_q = tflm_predictor(model_bytes, None, require_int8=True)
    outs = host_q(feats)  # dequantised
    tracker = HrTracker(app.grid, app.tracking)
    acc = fe.acc_spectrum(feats)
    host_bpm = np.array([tracker.step(p, None if acc is None else a)
                         for p, a in zip(app.probabilities(outs), acc if acc is not None else [None] * len(outs))])
    q_host = np.round(outs / info_out.scale + info_out.zero_point).astype(np.int64)
    instr = ticks * 40
    per = instr.mean(axis=0)
    total = float(per.sum())
    print(f"heart_rate device chain on an emulated Cortex-M4F (qemu mps2-an386, -icount shift=0), {len(rows)} windows "
          f"of a simulated recording (rest, forearm exercise, jumping, running); run {run}")
    print(f"features: {fe.kind} {dict((k, v) for k, v in vars(fe.params).items() if k.startswith('motion_channel'))}, "
          f"input {tuple(feats.shape[1:])}; model: {cm.macs} MACs, engine weights {cm.weights_bytes} B, arena {cm.scratch_bytes} B\n")
    print("| stage | instructions per window (mean) | max | flash: code + constants (-Os) | static RAM |")
    print("|---|---|---|---|---|")
    names = ["front end + motion stage", "quantise features", "CNN (engine)", "dequantise + tracker"]
    size_of = {"front end + motion stage": "front end + motion stage", "CNN (engine)": "CNN (engine)",
               "dequantise + tracker": "tracker"}
    for j, name in enumerate(names):
        s = part_sizes.get(size_of.get(name, ""), None)
        flash = f"{s['text'] + s['rodata']:,} B" if s else "-"
        ram = f"{s['bss']:,} B" if s else "-"
        print(f"| {name} | {per[j]:,.0f} | {instr[:, j].max():,} | {flash} | {ram} |")
    print(f"| **chain** | **{total:,.0f}** | | {sum(s['text'] + s['rodata'] for s in part_sizes.values()):,} B | "
          f"{sum(s['bss'] for s in part_sizes.values()):,} B (+ the 4 x 256 float input window, 4 KB) |")
    print(f"\nAt {args.mhz:g} MHz and one instruction per cycle: {total / args.mhz / 1e3:.2f} ms per window; one window "
          f"every 2 s is {100 * total / (args.mhz * 1e6 * 2):.2f} % of the core; {args.mhz * 1e6 / total:.0f} windows/s at most.")
    same_q = bool(np.array_equal(dev_q, q_host))
    print(f"host vs device: int8 outputs identical on every window: {same_q}; "
          f"max |BPM difference| {np.max(np.abs(dev_bpm - host_bpm)):.4f}")
    return 0 if same_q and np.max(np.abs(dev_bpm - host_bpm)) < 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
