"""The floors hold: the import-linter contracts in pyproject.toml ([tool.importlinter]).

Kernel < libraries (dsp, features, metrics, deploy, datasets) < recipe < apps, with
imports pointing only downwards and no cycles between sibling modules; see
docs/DEVELOPING.md, "Map of the floors". Static analysis of the source, about 2 s.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("importlinter") is None,
                    reason="import-linter not installed (pip install -e '.[dev]')")
def test_import_contracts_are_kept():
    # In a child process: import-linter puts the working directory on sys.path, where the
    # bare folder names (common, datasets) must not shadow installed packages.
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[out.find("Broken contracts"):][-4000:]
