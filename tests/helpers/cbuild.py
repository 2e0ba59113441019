"""Compile C/C++ on the host and run it: the parity-test harness (emlearn's pattern).

Generated or hand-written C is compiled with strict warnings as errors; the program
reads whitespace-separated numbers on stdin and prints numbers on stdout, which the
test compares with numpy at a stated tolerance.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

C_FLAGS = [
    "-std=c99",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Wdouble-promotion",
    "-Wfloat-conversion",
    "-Werror",
]
CXX_FLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror"]


def compile_c(
    sources: Sequence[Path | str],
    out: Path,
    *,
    include_dirs: Sequence[Path | str] = (),
    defines: Sequence[str] = (),
    cxx: bool = False,
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compile ``sources`` into the executable ``out``; raise with the compiler's output."""
    compiler = shutil.which("c++" if cxx else "cc")
    assert compiler, "no host compiler; the test should have been skipped"
    cmd = [compiler, *(CXX_FLAGS if cxx else C_FLAGS), *extra_flags]
    cmd += [f"-I{d}" for d in include_dirs] + [f"-D{d}" for d in defines]
    cmd += [str(s) for s in sources] + ["-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"compile failed: {' '.join(cmd)}\n{proc.stderr}")
    return out


def run_numbers(exe: Path, numbers: np.ndarray | Sequence[float] = (), *, args: Sequence[str] = ()) -> np.ndarray:
    """Run ``exe`` with ``numbers`` on stdin (one per line, %.9g); parse stdout as float64."""
    text = "\n".join(f"{float(v):.9g}" for v in np.ravel(numbers))
    proc = subprocess.run([str(exe), *args], input=text, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"{exe.name} exited {proc.returncode}: {proc.stderr}")
    return np.array([float(t) for t in proc.stdout.split()], dtype=np.float64)
