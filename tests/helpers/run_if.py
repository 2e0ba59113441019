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


def needs_modules(*modules: str) -> pytest.MarkDecorator:
    """Skip unless every module imports (optional extras such as the sweep launchers).

    ``.ci/run`` installs them and sets ``TINYML_REQUIRE_EXTRAS=1``: there a missing module
    fails the test instead of skipping it, so a broken install cannot pass unseen.
    """
    import importlib.util
    import os

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing and os.environ.get("TINYML_REQUIRE_EXTRAS") == "1":
        raise ImportError(f"TINYML_REQUIRE_EXTRAS=1 but not installed: {', '.join(missing)} (pip install -e '.[dev]')")
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)} (pip install -e '.[dev]')")
