"""The host side of the suite's serial line protocol (firmware_templates/common/tm_serial.c).

:class:`DeviceLink` talks to a board over a serial port with pyserial: a device path
(``/dev/ttyACM0``, ``COM3``) or any pyserial URL, e.g. ``socket://127.0.0.1:5555`` for the
firmware running on QEMU with its UART on a TCP socket. Commands are text lines; every
reply ends with ``ok`` or ``error <reason>`` (raised as :class:`DeviceError`); lines
starting with ``#`` (logs) or ``{`` (events) may come at any time and are kept in
:attr:`DeviceLink.log`. Binary data travels as hex of the bytes in memory order (int8,
little-endian float32). The protocol is documented in docs/boards.md.

Examples
--------
>>> decode_hex("0000803f00000040", "<f4").tolist()
[1.0, 2.0]
>>> parse_fields("info app=gesture channels=6 in_scale=0.0157")["channels"]
'6'
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from tinyml_suite.common.errors import TinyMLError

__all__ = ["DeviceError", "DeviceLink", "InferResult", "decode_hex", "parse_fields"]

PROTOCOL = 1
DATA_BYTES_PER_LINE = 128


class DeviceError(TinyMLError):
    """The device did not answer as the protocol says (or answered ``error ...``)."""


def decode_hex(text: str, dtype: Any) -> np.ndarray:
    """The values of a hex string of bytes in memory order."""
    try:
        return np.frombuffer(bytes.fromhex(text.strip()), dtype=np.dtype(dtype))
    except ValueError as exc:
        raise DeviceError(f"the device sent malformed hex data ({exc})") from None


def parse_fields(line: str) -> dict[str, str]:
    """``key=value`` fields of a reply line."""
    return dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)


@dataclasses.dataclass
class InferResult:
    """One ``infer`` reply: int8 outputs, the int8 input computed from a window (if any),
    device time per run (microseconds, the device's clock) and instructions per run
    (None where the board has no counter)."""

    output_q: np.ndarray
    input_q: np.ndarray | None
    us: int
    instructions: int | None


class DeviceLink:
    """A board that speaks the protocol, over pyserial.

    Parameters
    ----------
    port : str
        device path or pyserial URL (``socket://host:port``, ``rfc2217://...``)
    baudrate : int
        serial speed (ignored by socket URLs)
    timeout : float
        seconds to wait for each reply line
    connect_timeout : float
        seconds to retry opening the port (QEMU may still be starting)
    """

    def __init__(self, port: str, *, baudrate: int = 115200, timeout: float = 30.0, connect_timeout: float = 20.0) -> None:
        import serial  # pyserial

        self.port = port
        self.timeout = float(timeout)
        self.log: list[str] = []
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self._ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.2)
                break
            except (serial.SerialException, OSError) as exc:
                if time.monotonic() > deadline:
                    raise DeviceError(f"cannot open serial port {port}: {exc}") from None
                time.sleep(0.1)
        self._buf = b""
        self.info: dict[str, Any] = {}

    # -- lines ------------------------------------------------------------------------------

    def close(self) -> None:
        self._ser.close()

    def __enter__(self) -> DeviceLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _readline(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise DeviceError(f"no reply from {self.port} within {timeout:.0f} s (is the protocol firmware running?)")
            chunk = self._ser.read(max(1, self._ser.in_waiting or 1))
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", errors="replace").rstrip("\r")

    def write_line(self, line: str) -> None:
        self._ser.write(line.encode("ascii") + b"\n")

    def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send one command; its reply lines without the final ``ok``.

        Lines before the reply that are not part of it (``#`` logs, ``{`` events, the
        ``ready`` banner) go to :attr:`log`.
        """
        self.write_line(line)
        out: list[str] = []
        while True:
            reply = self._readline(self.timeout if timeout is None else timeout)
            if reply.startswith(("#", "{", "ready")) or not reply:
                self.log.append(reply)
                continue
            if reply == "ok" or reply.startswith("ok "):
                return out + ([reply] if reply != "ok" else [])
            if reply.startswith("error"):
                raise DeviceError(f"the device answered '{line.split()[0]}' with: {reply}")
            out.append(reply)

    # -- commands -----------------------------------------------------------------------------

    def name(self) -> dict[str, str]:
        """``name``: app, protocol version and the config hash the firmware was built from."""
        lines = self.command("name")
        if not lines or not lines[0].startswith("name tinyml"):
            raise DeviceError(f"{self.port} is not a tinyml firmware: it answered {lines!r} to 'name'")
        fields = parse_fields(lines[0])
        if int(fields.get("protocol", 0)) != PROTOCOL:
            raise DeviceError(f"the device speaks protocol {fields.get('protocol')}, this host {PROTOCOL}; rebuild the firmware")
        return fields

    def read_info(self) -> dict[str, Any]:
        """``info``: the model's sizes and quantisation, as numbers."""
        lines = self.command("info")
        fields = parse_fields(lines[0]) if lines else {}
        out: dict[str, Any] = {}
        for k, v in fields.items():
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
        self.info = out
        return out

    def _load(self, what: str, data: bytes) -> None:
        self.command(f"load {what}")
        for i in range(0, len(data), DATA_BYTES_PER_LINE):
            self.command("data " + data[i : i + DATA_BYTES_PER_LINE].hex())

    def _infer(self, repeats: int) -> InferResult:
        out_q = input_q = None
        us, instr = 0, None
        for line in self.command(f"infer {int(repeats)}"):
            if line.startswith("out "):
                out_q = decode_hex(line[4:], np.int8)
            elif line.startswith("q "):
                input_q = decode_hex(line[2:], np.int8)
            elif line.startswith("time "):
                f = parse_fields(line)
                us = int(f.get("us", 0))
                instr = None if int(f.get("instr", -1)) < 0 else int(f["instr"])
        return InferResult(np.zeros(0, np.int8) if out_q is None else out_q, input_q, us, instr)

    def infer_input(self, input_q: np.ndarray, *, repeats: int = 1) -> InferResult:
        """Run the model on one int8 input (the device's model only)."""
        self._load("input", np.ascontiguousarray(input_q, dtype=np.int8).tobytes())
        return self._infer(repeats)

    def infer_window(self, window: np.ndarray, *, repeats: int = 1) -> InferResult:
        """Run the device's front end, quantisation and model on one raw window (channels, samples)."""
        self._load("window", np.ascontiguousarray(window, dtype="<f4").tobytes())
        return self._infer(repeats)

    def features(self) -> np.ndarray:
        """The float features of the last window run."""
        lines = self.command("features")
        return decode_hex(lines[0][2:], "<f4") if lines else np.zeros(0, np.float32)

    def capture(self, frames: int, *, timeout: float | None = None) -> tuple[np.ndarray, float]:
        """``frames`` frames of the board's sensor: ``(samples [shape=(channels, frames)], rate)``."""
        lines = self.command(f"capture {int(frames)}", timeout=timeout)
        if not lines or not lines[0].startswith("capture "):
            raise DeviceError(f"unexpected reply to capture: {lines[:1]!r}")
        head = parse_fields(lines[0])
        channels, rate = int(head["channels"]), float(head["rate"])
        data = np.concatenate([decode_hex(s[2:], "<f4") for s in lines[1:] if s.startswith("s ")] or [np.zeros(0, "<f4")])
        if data.size != frames * channels:
            raise DeviceError(f"the device sent {data.size // max(channels, 1)} of {frames} frames")
        return data.reshape(frames, channels).T.astype(np.float32), rate
