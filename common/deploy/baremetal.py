"""Bare-metal Cortex-M builds of a rendered project, their sizes, and runs on QEMU.

A project rendered for a board with ``template: baremetal`` (``mps2_an386``) is a
Makefile project for ``arm-none-eabi-gcc`` + newlib (firmware_templates/boards/baremetal).
This module drives it from Python:

- :func:`build` runs ``make`` for one of its three programs (``build/firmware.elf``,
  ``build/check.elf``, ``build/serial.elf``) with the core's compiler flags
  (:data:`CORE_FLAGS`);
- :func:`elf_sizes` reads flash and RAM from the linked ELF (``arm-none-eabi-size -A``),
  leaving out the check build's compiled-in test samples (section ``.tm_testdata``) and
  the heap/stack reservations of the linker script;
- :func:`run_qemu` runs the check program on ``qemu-system-arm`` in ``-icount shift=0``
  mode (deterministic: one instruction is one nanosecond of virtual time) and
  :func:`parse_trace` reads what it printed;
- :class:`QemuSerial` starts the serial-protocol program with the board's UART on a TCP
  socket that pyserial opens as ``socket://127.0.0.1:<port>``.

Instruction counts come from SysTick under ``-icount``: they count executed instructions,
a proxy for cycles on a Cortex-M4 (loads, multiplies and branches take more than one cycle
there), not cycles.

Examples
--------
>>> core_flags("cortex-m4f")
['-mcpu=cortex-m4', '-mthumb', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard']
>>> t = parse_trace("tinyml-device 1 app=x mode=check\\ninf 0 f=0000803f q=7f o=80\\n"
...                 "end status=0 inferences=1 model_calls=1 model_instr=400 stack=96\\n")
>>> t.inferences[0]["features"].tolist(), t.inferences[0]["input_q"].tolist(), t.end["model_instr"]
([1.0], [127], 400)
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

__all__ = [
    "CORE_FLAGS",
    "DeviceTrace",
    "QemuSerial",
    "build",
    "core_flags",
    "elf_sizes",
    "library_bytes",
    "missing_tools",
    "parse_trace",
    "require_tools",
    "run_qemu",
    "check_samples_c",
]

#: arm-none-eabi-gcc flags of each Cortex-M core the suite builds for
CORE_FLAGS: dict[str, list[str]] = {
    "cortex-m4f": ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
}

#: Debian packages that provide each tool
_PACKAGES = {
    "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "arm-none-eabi-size": "binutils-arm-none-eabi",
    "make": "make",
    "qemu-system-arm": "qemu-system-arm",
}


def core_flags(core: str) -> list[str]:
    """Compiler flags of a Cortex-M core; :class:`ConfigError` for another core."""
    if core not in CORE_FLAGS:
        raise ConfigError(f"core={core!r} is not a Cortex-M core the bare-metal build knows; valid: {', '.join(CORE_FLAGS)}")
    return list(CORE_FLAGS[core])


def missing_tools(*, run: bool = True) -> list[str]:
    """The tools of a bare-metal build (and, with ``run``, of a QEMU run) not on PATH."""
    tools = ["arm-none-eabi-gcc", "arm-none-eabi-size", "make"] + (["qemu-system-arm"] if run else [])
    return [t for t in tools if shutil.which(t) is None]


def require_tools(what: str, *, run: bool = True) -> None:
    """:class:`DeployError` naming the missing tools and the Debian packages to install."""
    missing = missing_tools(run=run)
    if missing:
        pkgs = " ".join(dict.fromkeys(_PACKAGES[t] for t in missing))
        raise DeployError(f"{what} needs {', '.join(missing)}, not found on PATH; install them: apt-get install {pkgs}")


# -- the check program's test samples ---------------------------------------------------------


def check_samples_c(stream: np.ndarray, *, banner: str = "") -> str:
    """``src/tm_testdata.c``: raw frames (channels, n) as float32 bit patterns, interleaved.

    The array sits in section ``.tm_testdata`` so that :func:`elf_sizes` can leave it out
    of the firmware's flash.

    >>> print(check_samples_c(np.array([[1.0, -2.0]], np.float32)).splitlines()[-2])
      0x3f800000u, 0xc0000000u,
    """
    x = np.ascontiguousarray(np.asarray(stream, dtype=np.float32).T)  # (n, channels)
    bits = x.reshape(-1).view(np.uint32)
    rows = []
    for i in range(0, len(bits), 8):
        rows.append("  " + " ".join(f"0x{int(b):08x}u," for b in bits[i : i + 8]))
    return (
        (banner or "")
        + "/* Raw test samples of the check build: frames of TM_INPUT_CHANNELS float32, interleaved. */\n"
        + "#include <stdint.h>\n\n"
        + f"const uint32_t g_tm_testdata_frames = {x.shape[0]}u;\n"
        + '__attribute__((section(".tm_testdata"), aligned(4))) const uint32_t g_tm_testdata[] = {\n'
        + "\n".join(rows)
        + "\n};\n"
    )


# -- build and size ------------------------------------------------------------------------------


def build(project: str | Path, target: str = "build/firmware.elf", *, opt: str | None = None,
          cpu_flags: Sequence[str] | None = None, defines: Sequence[str] = (), timeout: float = 900) -> Path:
    """``make <target>`` in a rendered bare-metal project; the ELF's path.

    ``opt`` replaces the project's ``OPT`` (``-O2``; ``-Os`` for size), ``cpu_flags``
    its ``CPU_FLAGS`` (another core) and ``defines`` (``NAME=value``) are added as ``-D``. The object files of different settings must not
    mix: use a fresh copy of the project (``make clean``) when changing them.
    :class:`DeployError` with the compiler's last lines when the build fails.
    """
    project = Path(project)
    require_tools(f"building {project}", run=False)
    cmd = ["make", "-C", str(project), f"-j{min(os.cpu_count() or 1, 2)}", target]
    if opt:
        cmd.append(f"OPT={opt}")
    if cpu_flags:
        cmd.append("CPU_FLAGS=" + " ".join(cpu_flags))
    if defines:
        cmd.append("EXTRA_CFLAGS=" + " ".join(f"-D{d}" for d in defines))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DeployError(f"building {project / target} took longer than {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise DeployError(f"building {project / target} failed (make exit {proc.returncode}):\n{tail}")
    return project / target


def elf_sizes(elf: str | Path) -> dict[str, Any]:
    """Flash and RAM of a linked ELF from ``arm-none-eabi-size -A``.

    ``flash_bytes`` = .isr_vector/.text/.rodata + .ARM.exidx + .data (its initial values);
    ``ram_bytes`` = .data + .bss (static RAM; the heap and stack regions of link.ld are
    reservations, measured separately); ``testdata_bytes`` = .tm_testdata (left out).
    """
    require_tools("reading ELF sizes", run=False)
    proc = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DeployError(f"arm-none-eabi-size {elf} failed: {proc.stderr.strip()}")
    sections: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    code = sum(v for k, v in sections.items() if k in (".text", ".ARM.exidx"))
    data, bss = sections.get(".data", 0), sections.get(".bss", 0)
    return {
        "flash_bytes": code + data,
        "ram_bytes": data + bss,
        "text_bytes": code,
        "data_bytes": data,
        "bss_bytes": bss,
        "testdata_bytes": sections.get(".tm_testdata", 0),
        "sections": sections,
    }


_MAP_SECTION = re.compile(r"^ (\.[^\s]+)(?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+))?\s*$")
_MAP_CONT = re.compile(r"^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+)\s*$")
_LIBS = re.compile(r"/lib(c|c_nano|g|g_nano|m|gcc|nosys|rdimon)\.a\(")


def library_bytes(map_text: str) -> int:
    """Flash bytes (code, constants, initial data) the C library, libm and libgcc put into
    a linked image, from GNU ld's map file (``-Wl,-Map=...``).

    >>> library_bytes("Linker script and memory map\\n .text.memcpy\\n"
    ...               "                0x00000100       0x3c /x/libc_nano.a(memcpy.o)\\n"
    ...               " .text          0x00000200       0x10 build/main.o\\n")
    60
    """
    start = map_text.find("Linker script and memory map")
    total, name = 0, None
    for line in map_text[start if start >= 0 else 0 :].splitlines():
        m = _MAP_SECTION.match(line)
        if m:
            name = m.group(1)
            if m.group(2) is None:
                continue
            size, origin = int(m.group(3), 16), m.group(4)
        else:
            c = _MAP_CONT.match(line)
            if not c or name is None:
                continue
            size, origin = int(c.group(2), 16), c.group(3)
        if name.startswith((".text", ".rodata", ".data", ".ARM.exidx")) and _LIBS.search(origin):
            total += size
        name = None
    return total


# -- QEMU ------------------------------------------------------------------------------------------


def qemu_command(elf: str | Path, machine: str, serial: str = "stdio") -> list[str]:
    """The qemu-system-arm command line of a bare-metal ELF (deterministic icount mode)."""
    return [
        "qemu-system-arm", "-M", machine, "-cpu", "cortex-m4", "-display", "none", "-monitor", "none",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,sleep=off",
        "-serial", serial, "-kernel", str(elf),
    ]


def run_qemu(elf: str | Path, machine: str, *, timeout: float = 300) -> tuple[int, str]:
    """Run a program that ends itself (the check build); ``(exit status, UART output)``.

    :class:`DeployError` when QEMU is missing or the program does not end in ``timeout``
    seconds (a hang, a HardFault loop).
    """
    require_tools(f"running {Path(elf).name} on QEMU")
    try:
        proc = subprocess.run(qemu_command(elf, machine), capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        tail = " | ".join(out.strip().splitlines()[-3:])
        raise DeployError(f"{Path(elf).name} did not finish on QEMU {machine} within {timeout:.0f} s; last output: {tail}") from None
    text = proc.stdout.decode(errors="replace")
    if proc.returncode != 0 and not text.strip():
        raise DeployError(f"qemu-system-arm -M {machine} failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.returncode, text


@dataclasses.dataclass
class DeviceTrace:
    """What the check program printed: one dict per inference, events, logs, the summary."""

    header: dict[str, str]
    inferences: list[dict[str, np.ndarray]]
    events: list[dict[str, Any]]
    logs: list[str]
    end: dict[str, Any]  # the summary line: numbers as int, names as str
    other: list[str]


def _kv(text: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in text.split() if "=" in p)


def parse_trace(text: str) -> DeviceTrace:
    """Read the check program's output (format: tm_device_check.c); :class:`DeployError` if
    it never started or did not reach its ``end`` line (the reason, e.g. a HardFault, is in
    the message)."""
    header: dict[str, str] = {}
    inferences: list[dict[str, np.ndarray]] = []
    events: list[dict[str, Any]] = []
    logs: list[str] = []
    other: list[str] = []
    end: dict[str, Any] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("tinyml-device "):
            header = _kv(line)
        elif line.startswith("inf "):
            fields = _kv(line)
            item: dict[str, np.ndarray] = {"features": np.frombuffer(bytes.fromhex(fields.get("f", "")), "<f4")}
            if "q" in fields:
                item["input_q"] = np.frombuffer(bytes.fromhex(fields["q"]), np.int8)
                item["output_q"] = np.frombuffer(bytes.fromhex(fields.get("o", "")), np.int8)
            inferences.append(item)
        elif line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                other.append(line)
        elif line.startswith("#"):
            logs.append(line.lstrip("# ").rstrip())
        elif line.startswith("end "):
            end = {k: int(v) if re.fullmatch(r"-?\d+", v) else v for k, v in _kv(line).items()}
        else:
            other.append(line)
    if not header:
        raise DeployError("the check program printed nothing recognisable: " + " | ".join(text.strip().splitlines()[:3]))
    if end is None:
        last = " | ".join((logs + other)[-3:])
        raise DeployError(f"the check program stopped before its end line after {len(inferences)} inference(s): {last}")
    return DeviceTrace(header, inferences, events, logs, end, other)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QemuSerial:
    """The serial-protocol program on QEMU, its UART0 on a TCP socket (a context manager).

    >>> # with QemuSerial("build/serial.elf", "mps2-an386") as q: link = DeviceLink(q.url)

    QEMU listens on ``127.0.0.1:<port>`` and starts the program once a client connects
    (``server=on,wait=on``), so nothing the firmware prints is lost. ``url`` is the
    pyserial URL of the port.
    """

    def __init__(self, elf: str | Path, machine: str, *, port: int | None = None) -> None:
        self.elf = Path(elf)
        self.machine = machine
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> QemuSerial:
        """Launch QEMU; it waits for the first client (:class:`DeviceLink` retries its connect)."""
        require_tools(f"running {self.elf.name} on QEMU")
        cmd = qemu_command(self.elf, self.machine, serial=f"tcp:127.0.0.1:{self.port},server=on,wait=on,nodelay=on")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.05)
        if self.proc.poll() is not None:
            err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace").strip()
            self.proc = None
            raise DeployError(f"qemu-system-arm -M {self.machine} exited at start: {err[:300]}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> QemuSerial:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
