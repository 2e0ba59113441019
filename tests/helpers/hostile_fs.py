"""Real read-only and full file systems for the reliability tests.

As root (CI here runs as root, and root ignores permission bits) a folder is made
read-only or tiny by mounting a tmpfs on it: ``mount -o ro`` gives EROFS, ``size=``
gives ENOSPC, exactly what a user's read-only share or full disk gives. Without root,
a read-only folder is a ``chmod 0555`` folder and a full disk is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    return proc.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """``path`` (created) as a folder no process can write into."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount(path, "ro,size=64k"):
        try:
            yield path
        finally:
            _umount(path)
        return
    os.chmod(path, 0o555)
    try:
        probe = path / ".probe"
        try:
            probe.write_text("x")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("cannot make a read-only folder here (root without mount rights)")
        yield path
    finally:
        os.chmod(path, 0o755)


@contextlib.contextmanager
def full_dir(path: Path, size: str = "96k") -> Iterator[Path]:
    """``path`` (created) on a file system of ``size`` bytes, so writes fail with ENOSPC."""
    path.mkdir(parents=True, exist_ok=True)
    if not _mount(path, f"size={size}"):
        pytest.skip("a small file system needs root and mount rights (tmpfs)")
    try:
        yield path
    finally:
        _umount(path)
