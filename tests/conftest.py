"""Shared fixtures: composed configs (the real conf/ plus tests/conf), a seeded RNG."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # so tests/conf can name `toy.ToyApp`
    sys.path.insert(0, str(TESTS))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its dataset/feature cache under a per-session temp folder."""
    monkeypatch.setenv("TINYML_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _absl_writes_to_the_real_stderr():
    """Keep absl's root log handler off pytest's per-test capture streams.

    TensorFlow imports absl, which binds its handler to whatever ``sys.stderr`` is at that
    moment: inside a test, one of pytest's capture files. ``absl``'s handler *closes* a
    stream that is not the current ``sys.stderr`` when logging is reconfigured, which Hydra
    does on every in-process ``tinyml`` call; under ``capsys`` that closed pytest's own
    capture file and every later test of that worker errored with "I/O operation on closed
    file". ``sys.__stderr__`` is a stream absl never closes.
    """
    yield
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is not None:
        absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(seed=1234)


def compose(overrides: list[str], with_tests_conf: bool = True):
    """Compose the packaged config (plus tests/conf) with ``overrides``."""
    import toy  # noqa: F401 - registers the test feature extractor before schemas are stored

    from tinyml_suite.common.cli import compose_config

    extra = [f"hydra.searchpath=[file://{TESTS / 'conf'}]"] if with_tests_conf else []
    return compose_config([*extra, *overrides])


@pytest.fixture
def compose_cfg():
    from hydra.core.global_hydra import GlobalHydra

    yield compose
    GlobalHydra.instance().clear()
