"""The csv_rows loader: docs/DEVELOPING.md's worked example of adding a dataset loader.

Tiny CSV files written by the test; composed through the real config tree like
`tinyml ... dataset=csv_rows dataset.root=<folder>`. No training; about a second.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_suite.common.cli import compose_config
from tinyml_suite.common.context import instantiate_logged
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.loaders.csv_rows import CsvRows


def _write(path, rows, n=8):
    header = "label," + ",".join(f"v{i}" for i in range(n))
    path.write_text("\n".join([header, *(f"{lab}," + ",".join(str(v) for v in vals) for lab, vals in rows)]) + "\n")


@pytest.fixture
def root(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(lab, np.round(rng.normal(size=8) + (3.0 if lab == "b" else 0.0), 3)) for lab in ["a", "b"] * 10]
    _write(tmp_path / "train.csv", rows)
    _write(tmp_path / "test.csv", rows[:6])
    return tmp_path


def test_loads_through_the_config_tree(root):
    cfg = compose_config(["dataset=csv_rows", f"dataset.root={root}", "dataset.channels=2",
                          "dataset.sample_rate=50", "dataset.cache=false"])
    data = instantiate_logged(cfg.dataset).load()
    assert data.labels == ("a", "b") and data.channels == ("ch0", "ch1") and data.sample_rate == 50.0
    assert data.train.x.shape == (16, 2, 4) and len(data.val) == 4 and len(data.test) == 6
    # interleaved channels: v0, v2, v4, v6 are channel 0 of the first test row
    first = np.loadtxt(root / "test.csv", delimiter=",", skiprows=1, usecols=range(1, 9), max_rows=1)
    np.testing.assert_allclose(data.test.x[0, 0], first[0::2], rtol=1e-6)


def test_a_misspelt_option_gets_a_did_you_mean(root):
    with pytest.raises(ConfigError, match=r"dataset\.sample_rte is not an option of dataset=csv_rows; did you mean 'sample_rate'\?"):
        CsvRows(root=str(root), sample_rte=50)
    with pytest.raises(ConfigError, match=r"dataset\.val_fraction=1\.0 must be in \[0, 1\)"):
        CsvRows(root=str(root), val_fraction=1.0)


def test_bad_rows_name_the_file_and_line(root):
    (root / "test.csv").write_text("label,v0,v1\nup,1,2\nup,1\n")
    with pytest.raises(DatasetError, match=r"test\.csv:3: 2 fields, the header has 3"):
        CsvRows(root=str(root), cache=False).load()
    (root / "test.csv").write_text("label,v0,v1\nleft,1,2\n")
    with pytest.raises(DatasetError, match=r"labels \['left'\] do not occur in train\.csv"):
        CsvRows(root=str(root), cache=False).load()
