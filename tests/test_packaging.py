"""Packaging: one `tinyml_suite` namespace in the wheel, with conf/ and firmware_templates/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_packages_and_data(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheels = list(tmp_path.glob("tinyml_suite-*.whl"))
    assert len(wheels) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    # code under one namespace, nothing at the top level but tinyml_suite and metadata
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"tinyml_suite"}
    assert "tinyml_suite/common/cli.py" in names
    assert "tinyml_suite/common/dsp/__init__.py" in names
    # the Hydra config tree and the firmware templates ship as package data
    assert "tinyml_suite/conf/config.yaml" in names
    assert any(n.startswith("tinyml_suite/conf/board/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("tinyml_suite/firmware_templates/") and not n.endswith("__init__.py") for n in names)
    # every config file in the repository is in the wheel
    for yaml in (ROOT / "conf").rglob("*.yaml"):
        rel = yaml.relative_to(ROOT / "conf").as_posix()
        if rel.startswith("local/"):
            continue
        assert f"tinyml_suite/conf/{rel}" in names, f"conf/{rel} missing from the wheel"
    entry = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheels[0]).read(entry[0]).decode()
    assert "tinyml = tinyml_suite.common.cli:main" in text


def test_importing_the_dsp_library_does_not_import_tensorflow():
    code = (
        "import sys; import tinyml_suite.common.dsp, tinyml_suite.common.features, "
        "tinyml_suite.common.data, tinyml_suite.common.cli; "
        "bad=[m for m in ('tensorflow','keras') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"imported: {proc.stdout} {proc.stderr[-500:]}"
