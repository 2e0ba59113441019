"""Skip markers for tests that need something this machine may lack (lightning's RunIf)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def needs_cc() -> pytest.MarkDecorator:
    """Skip unless a host C compiler (`cc`) and C++ compiler (`c++`) are on PATH."""
    missing = [c for c in ("cc", "c++") if shutil.which(c) is None]
    return pytest.mark.skipif(
        bool(missing), reason=f"host compiler not found: {', '.join(missing)} (apt-get install build-essential)"
    )


def needs_shared_data(name: str) -> pytest.MarkDecorator:
    """Skip unless ../shared/data/<name> exists (real recordings; never required)."""
    path = SHARED_DATA / name
    return pytest.mark.skipif(not path.is_dir(), reason=f"real dataset folder absent: {path}")


def needs_qemu() -> pytest.MarkDecorator:
    """Skip unless the bare-metal Arm toolchain and QEMU are on PATH (the emulated board)."""
    from tinyml_suite.common.deploy.baremetal import missing_tools

    missing = missing_tools(run=True)
    return pytest.mark.skipif(
        bool(missing),
        reason=f"{', '.join(missing)} not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
        "qemu-system-arm make): the emulated Cortex-M4 board mps2_an386 cannot run",
    )
