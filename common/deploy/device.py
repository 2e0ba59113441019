"""The firmware on an emulated board, compared with Python and measured.

:func:`device_check` takes a project rendered for a board with an emulator
(``template: baremetal``, ``emulator: mps2-an386``), builds its firmware and its check
program, runs the check program on QEMU and compares every inference with the Python
pipeline on the same raw samples (:func:`~tinyml_suite.common.deploy.firmware.check_vectors`):

- features: max |C - Python| within ``FEATURE_RTOL`` of the window's largest |feature|
  (float rounding of the C99 twins; the tolerance of ``make check``);
- int8 model input: within ``INPUT_TOL_LSB`` (a feature that lands on a rounding edge
  may move one step);
- model outputs: bit for bit equal to the TFLite Micro runtime's on the int8 input the
  device computed (the same input, so no tolerance);
- events: equal to what the app's Python post-processing reports for the device's
  outputs (kind, index, window exactly; value and confidence to ``EVENT_RTOL``), when the
  caller passes the expected events.

It returns ``metrics.json["device"]``: the comparison, flash and static RAM of the
firmware ELF, the measured stack and heap, and instruction counts per inference, per
front-end call and per MAC. Instruction counts are QEMU's (``-icount shift=0``): a proxy
for Cortex-M4 cycles, not cycles.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.config import BoardConfig
from tinyml_suite.common.deploy import baremetal
from tinyml_suite.common.deploy.firmware import FirmwareSpec, check_vectors, device_stream
from tinyml_suite.common.errors import DeployError

__all__ = [
    "EVENT_RTOL",
    "FEATURE_RTOL",
    "INPUT_TOL_LSB",
    "INSTRUCTIONS_NOTE",
    "compare_events",
    "compare_trace",
    "device_check",
]

log = logging.getLogger("tinyml")

FEATURE_RTOL = 1e-3
INPUT_TOL_LSB = 1
EVENT_RTOL = 1e-4

INSTRUCTIONS_NOTE = (
    "instructions executed on QEMU (-icount shift=0, counted with SysTick): a proxy for Cortex-M4 "
    "cycles, not cycles"
)

#: what one front-end call is, by the function the check program counted
FRONT_END_UNIT = {
    "tm_features_compute": "one window (tm_features_compute)",
    "tm_fe_audio_frame": "one audio frame (tm_fe_audio_frame)",
    "tm_pantomp_push": "one ECG sample (tm_pantomp_push)",
}

ExpectedEvents = Callable[[np.ndarray, np.ndarray, np.ndarray], "list[dict[str, Any]] | None"]


def compare_events(device: list[dict[str, Any]], expected: list[dict[str, Any]], rtol: float = EVENT_RTOL) -> dict[str, Any]:
    """Device events vs expected ones: kind, index and window equal, value/confidence close.

    >>> e = [{"event": "class", "index": 1, "value": 0.5, "confidence": 0.0, "window": 3}]
    >>> compare_events(e, e)["match"], compare_events(e, [])["first_difference"]
    (True, 'device reported 1 event(s), Python 0')
    """
    keys = ("event", "index", "window")
    first = None
    for i, (d, e) in enumerate(zip(device, expected)):
        tol = int(e.get("index_tol", 0))
        same = all(d.get(k) == e[k] for k in ("event", "window") if k in e) and (
            "index" not in e or (d.get("index") is not None and abs(int(d["index"]) - int(e["index"])) <= tol))
        if not same:
            first = f"event {i}: device {[d.get(k) for k in keys]} vs Python {[e.get(k) for k in keys]}"
            break
        for k in ("value", "confidence"):
            if k in e and e[k] is not None:
                a, b = float(d.get(k, np.nan)), float(e[k])
                if not abs(a - b) <= rtol * max(1.0, abs(b)):
                    first = f"event {i} {k}: device {a:.6g} vs Python {b:.6g}"
                    break
        if first:
            break
    if first is None and len(device) != len(expected):
        first = f"device reported {len(device)} event(s), Python {len(expected)}"
    return {"match": first is None, "n_device": len(device), "n_expected": len(expected), "first_difference": first}


def compare_trace(trace: baremetal.DeviceTrace, spec: FirmwareSpec, vec: dict[str, np.ndarray],
                  *, arena_bytes: int) -> dict[str, Any]:
    """Per-inference comparison of the device's trace with the Python check vectors."""
    k_py = int(vec["features"].shape[0])
    k_dev = len(trace.inferences)
    k = min(k_py, k_dev)
    feats_py = np.asarray(vec["features"], np.float32).reshape(k_py, -1)
    rel = 0.0
    for j in range(k):
        f = trace.inferences[j]["features"]
        if f.size != feats_py.shape[1]:
            raise DeployError(f"the device printed {f.size} features per inference, Python computes {feats_py.shape[1]}")
        scale = float(np.abs(feats_py[j]).max())
        rel = max(rel, float(np.abs(f - feats_py[j]).max()) / (scale + 1e-6))
    out: dict[str, Any] = {
        "n_compared": k,
        "n_device_inferences": k_dev,
        "n_python_windows": k_py,
        "features_max_rel_diff": float(f"{rel:.3g}"),
        "features_match": bool(rel <= FEATURE_RTOL and k_dev == k_py),
    }
    if spec.has_model and k:
        q_dev = np.stack([trace.inferences[j]["input_q"] for j in range(k)]).astype(np.int8)
        o_dev = np.stack([trace.inferences[j]["output_q"] for j in range(k)]).astype(np.int8)
        lsb = int(np.abs(q_dev.astype(int) - np.asarray(vec["input_q"][:k]).astype(int)).max())
        from tinyml_suite.common.deploy.verify import run_tflm

        ref = np.asarray(run_tflm(spec.model_bytes, q_dev.reshape(k, *spec.input_shape), arena_size=max(arena_bytes, 16)))
        ref = ref.reshape(k, -1).astype(np.int8)
        bad = int((ref != o_dev).any(axis=1).sum())
        out.update({
            "input_max_lsb_diff": lsb,
            "inputs_match": bool(lsb <= INPUT_TOL_LSB),
            "model_matches_tflm": bool(bad == 0),
            "n_model_mismatched": bad,
            "n_outputs_equal_python_pipeline": int((o_dev == np.asarray(vec["output_q"][:k]).reshape(k, -1)).all(axis=1).sum()),
        })
    return out


def _instructions(trace: baremetal.DeviceTrace, macs: int | None) -> dict[str, Any]:
    end = trace.end

    def per(name: str) -> int | None:
        calls = end.get(f"{name}_calls", 0)
        return int(round(end.get(f"{name}_instr", 0) / calls)) if calls else None

    ipi = per("model")
    return {
        "instructions_per_inference": ipi,
        "instructions_per_feature_frame": per("fe"),
        "instructions_per_postprocess": per("pp"),
        "instructions_per_mac": None if not ipi or not macs else round(ipi / macs, 3),
        "front_end_calls": end.get("fe_calls", 0),
    }


def device_check(project: str | Path, spec: FirmwareSpec, board: BoardConfig, *, arena_bytes: int,
                 expected_events: ExpectedEvents | None = None, timeout: float = 600, opt: str = "-O2",
                 defines: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build, run and compare the firmware of ``project`` on the board's emulator.

    The project folder is built in a temporary copy (its own ``build/`` stays as rendered);
    what the check program printed is saved as ``check_output.txt`` in the project.
    ``expected_events(features, outputs, stream)`` receives the device's float features
    ``(k, F)``, dequantised outputs ``(k, O)`` and the raw samples it read, and returns the
    events the app's Python post-processing reports for them (None: not compared). ``opt`` and ``defines`` (e.g.
    ``("TM_ENGINE_PORTABLE",)``: the engine's portable kernels on a DSP core) change the
    build (:func:`~tinyml_suite.common.deploy.baremetal.build`). Returns the ``device`` entry
    of metrics.json (see the module docstring); :class:`DeployError` when a tool is
    missing, the build fails or the program does not run to its end.
    """
    if not board.emulator:
        raise DeployError(f"board {board.name} has no emulator; device checks run on boards with 'emulator:' set")
    baremetal.require_tools(f"board={board.name} (its firmware runs on QEMU)")
    project = Path(project)
    with tempfile.TemporaryDirectory(prefix="tinyml-device-") as tmp:
        work = Path(tmp) / "project"
        shutil.copytree(project, work, ignore=shutil.ignore_patterns("build"))
        fw = baremetal.build(work, "build/firmware.elf", opt=opt, defines=defines)
        check = baremetal.build(work, "build/check.elf", opt=opt, defines=defines)
        sizes = baremetal.elf_sizes(fw)
        status, text = baremetal.run_qemu(check, board.emulator, timeout=timeout)
    from tinyml_suite.common.io import write_text

    write_text(project / "check_output.txt", text)  # what the check program printed (debugging)
    trace = baremetal.parse_trace(text)
    if status != 0 or trace.end.get("status", 0) != 0:
        raise DeployError(
            f"the check program on QEMU {board.emulator} exited with status {status} "
            f"(setup status {trace.end.get('status')}): {' | '.join(trace.logs[-3:])}"
        )
    stream = device_stream(spec, board.check_inferences)
    vec = check_vectors(_with_stream(spec, stream), arena_bytes)
    result: dict[str, Any] = {
        "emulated": True,
        "board": board.name,
        "machine": board.emulator,
        "opt": opt,
        "defines": list(defines),
    }
    cmp = compare_trace(trace, spec, vec, arena_bytes=arena_bytes)
    result.update(cmp)
    events_match = None
    if expected_events is not None:
        feats = np.stack([i["features"] for i in trace.inferences]) if trace.inferences else np.zeros((0, 0), np.float32)
        if spec.has_model and trace.inferences:
            from tinyml_suite.common.deploy.verify import dequantize

            outs = dequantize(np.stack([i["output_q"] for i in trace.inferences]), spec.output_scale, spec.output_zero_point)
        else:
            outs = np.zeros((len(trace.inferences), 0), np.float32)
        want = expected_events(feats, outs, stream)
        if want is not None:
            ev = compare_events(trace.events, want)
            events_match = ev["match"]
            result["events"] = ev
    result["events_match"] = events_match
    match: bool | None = bool(cmp["features_match"] and cmp.get("inputs_match", True)
                              and cmp.get("model_matches_tflm", True) and events_match is not False
                              and cmp["n_compared"] > 0)
    if not trace.inferences and not spec.has_model and spec.firmware_main:
        # a DSP-only main loop that never calls the hooks (the ECG R-peak detector): nothing
        # per inference to compare; its events are compared where the app says how
        match = events_match
        result["note"] = (f"{spec.firmware_main} reports no per-inference trace (no model, no hooks): "
                          "only its events are compared, where the app gives them")
    result["outputs_match"] = match
    result.update({
        "flash_bytes": sizes["flash_bytes"],
        "ram_bytes": sizes["ram_bytes"],
        "stack_bytes": int(trace.end.get("stack", 0)),
        "heap_bytes": int(trace.end.get("heap", 0)),
        "sizes": {k: v for k, v in sizes.items() if k != "sections"},
        **_instructions(trace, spec.macs),
        "kernel_instructions": {k: int(trace.end.get(f"{k}_instr", 0)) // max(int(trace.end.get("model_calls", 0)), 1)
                                for k in ("conv", "dwconv", "fc")},
        "front_end_unit": FRONT_END_UNIT.get(str(trace.end.get("fe_fn")), "none"),
        "instructions_note": INSTRUCTIONS_NOTE,
        "n_events": len(trace.events),
        "check_samples": int(stream.shape[-1]),
    })
    log.info(
        "Device %s (QEMU %s): %d inferences compared, outputs %s; flash %d B, RAM %d B + stack %d B; "
        "%s instructions per inference",
        board.name, board.emulator, result["n_compared"], "match" if match else "DIFFER",
        result["flash_bytes"], result["ram_bytes"], result["stack_bytes"], result["instructions_per_inference"],
    )
    return result


def _with_stream(spec: FirmwareSpec, stream: np.ndarray) -> FirmwareSpec:
    import dataclasses

    return dataclasses.replace(spec, check_stream=stream)
