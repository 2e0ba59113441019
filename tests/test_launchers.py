"""Sweeps through the cluster launchers and the Optuna sweeper, each collected into a table.

Each test runs a 2-point sweep of the toy recipe (tests/toy.py: seconds per run) through
the real ``tinyml -m`` and a real back end, then ``tinyml collect`` on the sweep folder:

- Ray: a local cluster this test starts (``ray start --head`` on 127.0.0.1), joined
  through ``RAY_ADDRESS`` with ``hydra/launcher=ray_cluster``; the runs execute in Ray
  worker processes; the cluster is stopped at teardown.
- SLURM's code path: ``hydra/launcher=submitit_local_runs`` (submitit's local executor:
  the same job pickling, submission folder and result collection as on SLURM).
- Optuna: ``experiment=optuna_lr`` with 2 trials; the sweeper's best value must be the
  best int8 headline that the runs wrote.

The toy recipe (3 tone classes, chance 1/3) reaches about 0.9 in 4 epochs; every run
must score at least 0.6 int8 on TFLM, so a run that did not really train fails.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers.run_if import needs_modules
from helpers.toy_run import TESTS, tinyml_cmd, toy_env

# the toy recipe, small: 4 epochs, int8 only, no report (plots) stage
TOY_SWEEP = [
    "app=toy",
    f"hydra.searchpath=[file://{TESTS / 'conf'}]",
    "trainer.epochs=4",
    "trainer.tensorboard=false",
    "trainer.batch_size=32",
    "optimize.variants=[int8]",
    "optimize.representative_samples=60",
    "optimize.verify_samples=30",
    "stages=[data,features,train,evaluate,optimize,verify,deploy]",
]
MIN_INT8_ACCURACY = 0.6  # chance is 1/3 (three balanced tone classes)


CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("group", ["launcher", "sweeper"])
def test_our_hydra_configs_do_not_shadow_a_plugins_and_compose(group):
    """A conf/hydra/<group>/<name>.yaml named like a plugin's own config hides it (and
    its ``defaults: [<name>]`` then names itself: RecursionError). Every option composes."""
    from hydra import compose, initialize_config_module
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins

    from tinyml_suite.common.registry import register_configs

    register_configs()
    Plugins.instance()  # imports the installed plugins, which store their configs
    plugin_configs = {name.removesuffix(".yaml") for name in ConfigStore.instance().repo["hydra"][group]}
    ours = sorted(p.stem for p in (CONF / "hydra" / group).glob("*.yaml"))
    assert ours and not set(ours) & plugin_configs, set(ours) & plugin_configs
    for name in ours:
        GlobalHydra.instance().clear()
        with initialize_config_module("tinyml_suite.conf", version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"hydra/{group}={name}"], return_hydra_config=True)
        assert "_target_" in cfg.hydra[group], name
    GlobalHydra.instance().clear()


def _run(cmd: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd[3:])}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _collect_and_check(sweep: Path, env: dict[str, str], n_runs: int = 2) -> list[dict[str, str]]:
    """``tinyml collect`` on the sweep: one row per run, a Pareto plot, every run trained."""
    runs = sorted(p.parent for p in sweep.rglob("metrics.json"))
    assert len(runs) == n_runs, runs
    _run(tinyml_cmd("collect", str(sweep)), env, timeout=300)
    rows = list(csv.DictReader((sweep / "sweep_table.csv").open()))
    assert len(rows) == n_runs
    for r in rows:
        assert r["app"] == "toy" and r["board"] == "host"
        assert float(r["int8"]) >= MIN_INT8_ACCURACY, r
        assert int(r["arena_bytes"]) > 0 and r["fits"] == "True"
    assert (sweep / "pareto.png").stat().st_size > 10_000
    assert (sweep / "sweep_table.md").read_text().count("\n") == n_runs + 2
    return rows


def _launcher_target(run_dir: Path) -> str:
    from omegaconf import OmegaConf

    return str(OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra.launcher._target_)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_cluster(tmp_path):
    """A one-node Ray cluster on 127.0.0.1 (2 CPUs), started for this test and stopped after.

    Started with ``--block`` in its own process group, so teardown stops exactly the
    processes it started (never ``ray stop``, which stops every Ray on the machine).
    """
    env = toy_env(tmp_path / "cache")
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    log = open(tmp_path / "ray_start.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--head", "--block",
         "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2", "--object-store-memory=80000000",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in (tmp_path / "ray_start.log").read_text():
            assert proc.poll() is None, (tmp_path / "ray_start.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "ray start --head did not come up in 120 s"
            time.sleep(0.5)
        yield {**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
        subprocess.run(["rm", "-rf", temp_dir], check=False)


@pytest.mark.slow
@needs_modules("ray", "hydra_plugins.hydra_ray_launcher")
def test_sweep_on_a_local_ray_cluster(tmp_path, ray_cluster):
    sweep = tmp_path / "sweep"
    shared_cache = tmp_path / "shared_cache"  # as on a shared filesystem (docs/SWEEPS.md)
    proc = _run(tinyml_cmd(
        "-m", *TOY_SWEEP, "model=toy_cnn,toy_dense", "trainer.learning_rate=0.01",
        "hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_cpus=1", f"hydra.sweep.dir={sweep}",
        f"+hydra.launcher.ray.init.runtime_env.env_vars.TINYML_CACHE={shared_cache}",
    ), ray_cluster)
    # the runs executed as Ray tasks on the cluster named by RAY_ADDRESS
    out = proc.stdout + proc.stderr
    assert "Connecting to existing Ray cluster" in out
    assert out.count("(_run_job pid=") >= 2 and "tinyml: done:" in out
    # the workers used the cache named in the job's runtime_env, not their node's default
    assert list((shared_cache / "features").glob("*.npz"))
    assert not (Path(ray_cluster["TINYML_CACHE"]) / "features").exists()
    rows = _collect_and_check(sweep, ray_cluster)
    assert {r["model"] for r in rows} == {"toy_cnn", "toy_dense"}
    for run in {p.parent for p in sweep.rglob("metrics.json")}:
        assert _launcher_target(run).endswith("RayLauncher")


@pytest.mark.slow
@needs_modules("submitit", "hydra_plugins.hydra_submitit_launcher")
def test_sweep_through_submitit_the_slurm_code_path(tmp_path):
    sweep = tmp_path / "sweep"
    env = toy_env(tmp_path / "cache")
    _run(tinyml_cmd(
        "-m", *TOY_SWEEP, "model=toy_cnn,toy_dense", "trainer.learning_rate=0.01",
        "hydra/launcher=submitit_local_runs", "hydra.launcher.cpus_per_task=1", f"hydra.sweep.dir={sweep}",
    ), env)
    rows = _collect_and_check(sweep, env)
    assert {r["model"] for r in rows} == {"toy_cnn", "toy_dense"}
    # submitit's job folder: one pickled job and its result per run, as on SLURM
    results = list((sweep / ".submitit").rglob("*_result.pkl"))
    assert len(results) == 2, list((sweep / ".submitit").rglob("*"))
    for run in {p.parent for p in sweep.rglob("metrics.json")}:
        assert _launcher_target(run).endswith("LocalLauncher")


@pytest.mark.slow
@needs_modules("optuna", "hydra_plugins.hydra_optuna_sweeper")
def test_optuna_search_two_trials(tmp_path):
    sweep = tmp_path / "sweep"
    env = toy_env(tmp_path / "cache")
    _run(tinyml_cmd(
        "-m", *TOY_SWEEP, "experiment=optuna_lr", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
        # a range in which 4 epochs learn the toy task, overriding the experiment's
        "trainer.learning_rate=tag(log, interval(0.005, 0.03))", f"hydra.sweep.dir={sweep}",
    ), env)
    rows = _collect_and_check(sweep, env)
    lrs = [float(r["swept"].split("trainer.learning_rate=")[1].split()[0]) for r in rows]
    assert len(set(lrs)) == 2 and all(0.005 <= lr <= 0.03 for lr in lrs), rows
    # the sweeper optimised the objective the runs returned: the int8 headline on TFLM
    from omegaconf import OmegaConf

    result = OmegaConf.load(sweep / "optimization_results.yaml")
    assert result.name == "optuna"
    assert float(result.best_value) == pytest.approx(max(float(r["int8"]) for r in rows))
    best_lrs = [lr for lr, r in zip(lrs, rows) if float(r["int8"]) == float(result.best_value)]
    assert any(float(result.best_params["trainer.learning_rate"]) == pytest.approx(lr) for lr in best_lrs)
    assert json.loads((sweep / rows[0]["run"] / "metrics.json").read_text())["headline"] == "accuracy"
