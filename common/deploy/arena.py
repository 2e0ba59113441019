"""Measure the TFLite Micro tensor arena a model needs, by bisection over real runs.

Method
------
A *probe* of size ``N`` starts a fresh child Python process that loads the model into
the TFLM runtime (``runtime.Interpreter.from_bytes(model, arena_size=N)``: this
allocates every tensor, persistent buffer and kernel scratch buffer, as
``MicroInterpreter::AllocateTensors`` does on the device), sets an all-zero input and
calls ``invoke()`` once. The probe passes only if the child prints ``OK`` and exits 0.
An arena a little too small makes TFLM raise ``RuntimeError``; one far too small can
crash the process (SIGSEGV), which is why every probe runs in its own process: a crash
is just a failed probe.

:func:`measure_arena` first finds a size that passes (starting at 16 KiB, or 4x the
model size if larger, doubling up to 256 MiB; if even that fails the model itself
cannot run on TFLM and the child's error is reported), then bisects between 0 (fails)
and that size down to **1-byte granularity**: the result ``min_bytes`` passes and
``min_bytes - 1`` fails. TFLM aligns its allocations to 16 bytes, so the minimum comes
out as a multiple of 16 in practice. ``with_margin_bytes`` is
``ceil(min_bytes * (1 + margin))`` rounded up to a multiple of 16; that is the value
the firmware allocates. A final probe at the minimum also records the
``RecordingMicroAllocator`` total (``recorded_bytes``), the bytes TFLM itself reports,
as a cross-check (``recorded_bytes <= min_bytes``).

Caveats, stated in docs/DEPLOY.md: the host runtime is 64-bit, so TFLM's
pointer-carrying structs (``TfLiteEvalTensor``, node/registration records) are larger
than on a 32-bit MCU, and the Python runtime's recording interpreter adds a few hundred
bytes of bookkeeping: the host figure is an upper bound for the same kernels on a
32-bit device. Optimised kernels (e.g. CMSIS-NN) may request scratch buffers the
reference kernels do not; the margin is there for that.

Examples
--------
>>> round_up(3745, 16)
3760
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyml_suite.common.errors import ConfigError, DeployError

__all__ = ["ArenaResult", "measure_arena", "probe_arena", "round_up"]

log = logging.getLogger("tinyml")

_START = 16 * 1024
_CAP = 256 * 1024 * 1024
_PROBE_TIMEOUT_S = 120

# Runs in the child: no TensorFlow, no tinyml_suite import (fast, ~0.1 s).
_PROBE_CODE = r"""
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
size = int(sys.argv[2])
try:
    it = runtime.Interpreter.from_bytes(data, arena_size=size)
    d = it.get_input_details(0)
    it.set_input(np.zeros(d["shape"], dtype=d["dtype"]), 0)
    it.invoke()
    it.get_output(0)
    if len(sys.argv) > 3:
        sys.stderr.flush()
        it.print_allocations()
except RuntimeError as exc:
    print("FAIL " + str(exc).replace("\n", " "), flush=True)
    sys.exit(3)
print("OK", flush=True)
"""


def round_up(n: int, k: int) -> int:
    """``n`` rounded up to a multiple of ``k``."""
    return int(math.ceil(n / k) * k)


@dataclass(frozen=True)
class ArenaResult:
    """The measured tensor arena.

    ``min_bytes`` passes and ``min_bytes - 1`` fails (1-byte granularity);
    ``with_margin_bytes`` is what the firmware allocates; ``probe_log`` lists every
    probe as ``{"size", "ok", "outcome"}`` in the order run.
    """

    min_bytes: int
    with_margin_bytes: int
    probe_log: list[dict[str, Any]] = field(default_factory=list)
    margin: float = 0.1
    granularity: int = 1
    recorded_bytes: int | None = None  # RecordingMicroAllocator total at min_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_bytes": self.min_bytes,
            "with_margin_bytes": self.with_margin_bytes,
            "margin": self.margin,
            "granularity": self.granularity,
            "recorded_bytes": self.recorded_bytes,
            "probes": len(self.probe_log),
        }


def probe_arena(model_path: str | os.PathLike, size: int, *, record: bool = False) -> tuple[bool, str, str]:
    """Run one probe in a child process: ``(ok, outcome, stderr)``.

    ``outcome`` is ``"ok"``, ``"alloc-fail: <TFLM message>"``, ``"crash (signal N)"``,
    ``"exit N"`` or ``"timeout"``.
    """
    cmd = [sys.executable, "-c", _PROBE_CODE, os.fspath(model_path), str(int(size))]
    if record:
        cmd.append("record")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return False, "timeout", ""
    out = p.stdout.strip().splitlines()
    if p.returncode == 0 and out and out[-1] == "OK":
        return True, "ok", p.stderr
    if p.returncode < 0:
        return False, f"crash (signal {-p.returncode})", p.stderr
    fail = next((ln for ln in out if ln.startswith("FAIL ")), None)
    if fail is not None:
        return False, "alloc-fail: " + fail[5:][:200], p.stderr
    tail = (p.stderr.strip().splitlines() or [""])[-1][:200]
    return False, f"exit {p.returncode}: {tail}", p.stderr


def measure_arena(model_bytes: bytes, *, margin: float = 0.1) -> ArenaResult:
    """Smallest tensor arena with which TFLM allocates and invokes the model.

    Parameters
    ----------
    model_bytes : bytes
        the ``.tflite`` model (any model the TFLM runtime can run; normally int8)
    margin : float >= 0
        fraction added to the minimum for ``with_margin_bytes``

    Returns
    -------
    ArenaResult

    Raises
    ------
    DeployError
        corrupt model bytes, or the model does not run on TFLM with any arena up to
        256 MiB (the message carries TFLM's error)
    """
    from tinyml_suite.common.deploy.tflite_ops import parse_model

    if margin is None or not (0 <= float(margin) <= 10):
        raise ConfigError(f"arena margin={margin} must be a fraction between 0 and 10 (e.g. 0.1 for 10%)")
    parse_model(model_bytes)
    probes: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tinyml-arena-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(bytes(model_bytes))

        def probe(size: int) -> bool:
            ok, outcome, _ = probe_arena(path, size)
            probes.append({"size": int(size), "ok": ok, "outcome": outcome})
            log.debug("arena probe %d bytes: %s", size, outcome)
            return ok

        hi = max(_START, round_up(4 * len(model_bytes), 16))
        while not probe(hi):
            if hi >= _CAP:
                last = probes[-1]["outcome"]
                raise DeployError(
                    f"the model does not run on the TFLM runtime even with a {hi}-byte arena ({last}); "
                    "check the op list and that the model is a valid int8 model"
                )
            hi = min(hi * 2, _CAP)
        lo = 0  # an empty arena cannot hold anything
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if probe(mid):
                hi = mid
            else:
                lo = mid
        ok, _, stderr = probe_arena(path, hi, record=True)
    if not ok:  # pragma: no cover - would mean the runtime is not deterministic
        raise DeployError(f"arena measurement is not reproducible: {hi} bytes passed once and then failed")
    m = re.search(r"Arena allocation total (\d+) bytes", stderr)
    recorded = int(m.group(1)) if m else None
    with_margin = round_up(math.ceil(hi * (1.0 + float(margin))), 16)
    log.info(
        "TFLM arena: minimum %d bytes (%d probes; TFLM records %s), with %.0f%% margin %d bytes",
        hi, len(probes), recorded, 100 * float(margin), with_margin,
    )
    return ArenaResult(
        min_bytes=int(hi),
        with_margin_bytes=int(with_margin),
        probe_log=probes,
        margin=float(margin),
        granularity=1,
        recorded_bytes=recorded,
    )
