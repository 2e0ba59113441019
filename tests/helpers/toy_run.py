"""A saved toy run made by the real ``tinyml`` command (for deploy/firmware tests).

The toy recipe (tests/toy.py: three tone bands, raw-sample features, a tiny Conv1D) is
trained for a few epochs through every stage up to verify, exactly as a user's run:
``tinyml app=toy ... hydra.run.dir=<dir>`` in a child process. The result (``.hydra/``,
``metrics.json``, ``model_int8.tflite``) is made once per test session (per xdist
worker) and shared; tests rebuild a RunContext from it with
``tinyml_suite.common.saved_run.load_run``, the same path ``tinyml deploy`` takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

TOY_OVERRIDES = [
    "app=toy",
    "trainer.epochs=4",
    "trainer.tensorboard=false",
    "trainer.learning_rate=0.01",
    "trainer.batch_size=32",
    "optimize.variants=[int8]",
    "optimize.representative_samples=60",
    "optimize.verify_samples=30",
    "stages=[data,features,train,evaluate,optimize,verify]",
]


def toy_env(cache: Path) -> dict[str, str]:
    """Environment in which the ``tinyml`` command finds the toy recipe."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["TINYML_PLUGINS"] = "toy"
    env["TINYML_CACHE"] = str(cache)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def tinyml_cmd(*args: str) -> list[str]:
    """``python -m``-style invocation of the tinyml console entry point."""
    return [sys.executable, "-c", "import sys; from tinyml_suite.common.cli import main; sys.exit(main())", *args]


def make_toy_run(base: Path, extra: list[str] | None = None) -> Path:
    """Train and verify the toy recipe into ``base/toy_run`` once; return the run dir."""
    run = base / "toy_run"
    if (run / "metrics.json").exists() and (run / "model_int8.tflite").exists():
        return run
    cmd = tinyml_cmd(
        f"hydra.searchpath=[file://{TESTS / 'conf'}]", f"hydra.run.dir={run}", *TOY_OVERRIDES, *(extra or [])
    )
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=toy_env(base / "cache"), timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"toy run failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return run
