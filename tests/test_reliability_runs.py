"""Run folders: locks, status.json, Ctrl-C, OS errors, and commands that read runs.

Hostile cases of docs/RELIABILITY.md (sections "Run folders" and "Commands over runs").
Every case runs the real ``tinyml`` command in a child process and asserts the exit
status, the one line it prints and what is left on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers.hostile_fs import full_dir, read_only_dir
from helpers.toy_run import make_toy_run, tinyml_cmd, toy_env

TESTS = Path(__file__).resolve().parent
SEARCH = f"hydra.searchpath=[file://{TESTS / 'conf'}]"
QUICK = ["app=toy", SEARCH, "dataset.n_per_class=30", "trainer.epochs=1", "trainer.tensorboard=false",
         "stages=[data,features,train,evaluate]"]


def tinyml(*args: str, cache: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``tinyml`` in a child process (for locks and signals)."""
    return subprocess.run(tinyml_cmd(*args), capture_output=True, text=True, env=toy_env(cache), timeout=timeout)


@pytest.fixture
def here(capsys, monkeypatch):
    """``tinyml`` in this process (the same ``main`` as the console script, no TF start-up)."""
    from tinyml_suite.common.cli import main

    monkeypatch.setenv("TINYML_PLUGINS", "toy")

    def call(*args: str) -> subprocess.CompletedProcess:
        import logging

        capsys.readouterr()
        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        try:
            rc = main(list(args))
        except SystemExit as exc:
            rc = exc.code
        finally:  # Hydra's handlers write to this test's captured streams: drop them
            root.handlers[:], root.level = saved
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), rc, out.out, out.err)

    return call


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-1500:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinyml: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "tinyml: done" not in proc.stdout
    return lines[0]


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The shared toy run (trained, quantised, verified); tests work on copies."""
    return make_toy_run(tmp_path_factory.getbasetemp())


@pytest.fixture
def copy_of(trained, tmp_path):
    def copy(name: str = "run") -> Path:
        dst = tmp_path / name
        shutil.copytree(trained, dst, ignore=shutil.ignore_patterns("firmware", "checkpoints", "evaluations"))
        return dst

    return copy


def test_a_finished_run_records_done_and_checksums(trained):
    st = status(trained)
    assert st["status"] == "done" and st["error"] is None
    assert set(st["artifacts"]) == {"metrics.json", "model.keras", "model_int8.tflite"}


def _terminal_sigint() -> None:
    """In the child before exec: SIGINT as a terminal's foreground job has it (default
    action, not blocked). A pytest-xdist worker that earlier tests left with SIGINT ignored
    or blocked passes that on to its children, which then never see the Ctrl-C."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_state(pid: int) -> str:
    """The child's blocked/ignored/caught signal masks (for a failure message)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "(gone)"
    return " ".join(x for x in lines if x.startswith(("SigBlk", "SigIgn", "SigCgt")))


@pytest.mark.slow
def test_second_run_into_a_live_folder_is_refused_and_ctrl_c_is_clean(tmp_path):
    """Run A trains; run B into A's folder stops with one line; Ctrl-C ends A with 130."""
    run = tmp_path / "run"
    a = subprocess.Popen(
        tinyml_cmd(*QUICK[:-2], "trainer.epochs=100000", "trainer.early_stopping_patience=0", "trainer.verbose=2",
                   "stages=[data,features,train]", f"hydra.run.dir={run}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=toy_env(tmp_path / "cache"),
        start_new_session=True, preexec_fn=_terminal_sigint,
    )
    try:
        deadline = time.time() + 300
        while time.time() < deadline:  # wait until A is training
            if (run / "status.json").exists() and status(run).get("stage") == "train":
                break
            time.sleep(0.5)
        else:
            pytest.fail("run A never reached the train stage")
        before = (run / ".hydra" / "config.yaml").read_text()
        b = tinyml(*QUICK, "seed=7", f"hydra.run.dir={run}", cache=tmp_path / "cache")
        line = one_error_line(b)
        assert f"{run} is in use by another tinyml run (pid {a.pid}" in line
        assert (run / ".hydra" / "config.yaml").read_text() == before  # B wrote nothing into A's folder
        time.sleep(2)
        os.killpg(a.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            out = a.communicate(timeout=180)[0]
        except subprocess.TimeoutExpired:
            pytest.fail(f"run A ignored Ctrl-C for 180 s; its signal state: {_signal_state(a.pid)}")
    finally:
        if a.poll() is None:
            os.killpg(a.pid, signal.SIGKILL)
    assert a.returncode == 130, out[-3000:]
    assert "Traceback" not in out and out.rstrip().endswith("tinyml: interrupted"), out[-3000:]
    st = status(run)
    assert st["status"] == "interrupted" and st["stage"] == "train"
    assert not (run / "metrics.json").exists()


@pytest.mark.slow
def test_ctrl_c_during_data_generation_worker_processes(tmp_path):
    """The text-to-speech generator runs a pool of processes: Ctrl-C hits all of them."""
    run = tmp_path / "run"
    p = subprocess.Popen(
        tinyml_cmd("app=wake_word", "dataset.per_keyword=300", "stages=[data]", f"hydra.run.dir={run}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=toy_env(tmp_path / "cache"),
        start_new_session=True, preexec_fn=_terminal_sigint,
    )
    try:
        head = []
        for line in p.stdout:
            head.append(line)
            if "== stage data ==" in line:
                break
        time.sleep(6)  # a pool is generating (the neural takes', then the clips')
        state = _signal_state(p.pid)
        os.killpg(p.pid, signal.SIGINT)
        out = "".join(head) + p.communicate(timeout=180)[0]
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, state + "\n" + out[-3000:]
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]
    assert status(run)["status"] == "interrupted" and status(run)["stage"] == "data"
    assert not list((tmp_path / "cache").rglob("*.npz"))  # no entry from an interrupted build


@pytest.mark.slow
def test_an_earlier_finished_run_is_moved_aside_not_mixed(tmp_path, copy_of, here):
    run = copy_of("run")
    earlier = status(run)
    proc = here(*QUICK, f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (moved,) = tmp_path.glob("run.replaced-*")
    assert f"{run} held an earlier run (status done); moved it to {moved}" in proc.stderr
    assert status(moved) == earlier and (moved / "model_int8.tflite").exists()
    assert status(run)["status"] == "done"
    assert not (run / "model_int8.tflite").exists()  # the new run's folder holds only the new run


def test_epochs_zero_never_says_done(tmp_path, here):
    run = tmp_path / "run"
    line = one_error_line(here(*QUICK, "trainer.epochs=0", f"hydra.run.dir={run}"))
    assert "epochs" in line
    assert not (run / "model.keras").exists() and not (run / "metrics.json").exists()


def test_read_only_run_folder_is_one_line(tmp_path, here):
    with read_only_dir(tmp_path / "ro") as ro:
        line = one_error_line(here(*QUICK, f"hydra.run.dir={ro / 'run'}"))
    assert str(ro / "run") in line and ("Read-only" in line or "Permission" in line)


@pytest.mark.slow
def test_full_disk_in_the_run_folder_is_one_line(tmp_path):
    with full_dir(tmp_path / "full", "40k") as full:  # a child process: h5py is left broken after ENOSPC
        run = full / "run"
        line = one_error_line(tinyml(*QUICK, f"hydra.run.dir={run}", cache=tmp_path / "c"))
        assert "No space left on device" in line and str(run) in line
        assert not (run / "metrics.json").exists()


# -- commands over runs -------------------------------------------------------------------


@pytest.mark.parametrize("state", ["interrupted", "failed", "killed"])
def test_evaluate_and_deploy_refuse_incomplete_runs(copy_of, tmp_path, state, here):
    run = copy_of()
    st = status(run)
    st.update(status="running" if state == "killed" else state, stage="train",
              error=None if state != "failed" else "DatasetError: x")
    (run / "status.json").write_text(json.dumps(st))
    ev = one_error_line(here("evaluate", str(run), f"out={tmp_path / 'e'}"))
    dep = one_error_line(here("deploy", str(run), "board=host", f"out={tmp_path / 'fw'}"))
    word = "stopped without finishing" if state == "killed" else state
    for line, cmd in ((ev, "tinyml evaluate"), (dep, "tinyml deploy")):
        assert f"{run} is incomplete" in line and word in line and f"{cmd} needs a finished run" in line
    assert not (tmp_path / "e").exists() and not (tmp_path / "fw").exists()


@pytest.mark.parametrize("name", ["model.keras", "model_int8.tflite"])
def test_truncated_models_are_one_line(copy_of, tmp_path, name, here):
    run = copy_of()
    data = (run / name).read_bytes()
    (run / name).write_bytes(data[: len(data) // 2])
    cmd = ["evaluate", str(run), f"out={tmp_path / 'e'}"] if name == "model.keras" else \
        ["deploy", str(run), "board=host", f"out={tmp_path / 'fw'}"]
    line = one_error_line(here(*cmd))
    assert f"{run / name} has changed since its run finished" in line
    # a run from before status files: the damage itself is reported
    (run / "status.json").unlink()
    line = one_error_line(here(*cmd))
    assert str(run / name) in line and ("damaged" in line or "corrupt" in line)


@pytest.mark.slow
def test_evaluate_split_all_after_split_test_uses_its_own_features(trained, tmp_path, here):
    one = here("evaluate", str(trained), "split=test", f"out={tmp_path / 'e1'}")
    assert one.returncode == 0, one.stderr[-3000:]
    both = here("evaluate", str(trained), "split=all", f"out={tmp_path / 'e2'}")
    assert both.returncode == 0, both.stderr[-3000:]
    n_test = json.loads((tmp_path / "e1" / "metrics.json").read_text())["n"]
    result = json.loads((tmp_path / "e2" / "metrics.json").read_text())
    assert result["n"] > n_test and result["float"]["accuracy"] > 0.6  # 3 classes: chance 1/3


def test_collect_skips_damaged_and_incomplete_runs_by_name(copy_of, tmp_path, here):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    good, bad, cut = (copy_of(f"sweep/{n}") for n in ("0_good", "1_interrupted", "2_truncated"))
    st = status(bad)
    st["status"] = "interrupted"
    (bad / "status.json").write_text(json.dumps(st))
    (cut / "metrics.json").write_text((cut / "metrics.json").read_text()[:200])
    (cut / "status.json").unlink()  # from before status files: only the JSON itself tells
    proc = here("collect", str(sweep))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("tinyml: skipped"))
    assert "skipped 2" in line and "1_interrupted (incomplete: its run interrupted" in line
    assert "2_truncated (metrics.json is unreadable" in line
    rows = (sweep / "sweep_table.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0_good")
    (good / "metrics.json").write_text("{")
    line = one_error_line(here("collect", str(sweep)))
    assert "no finished run under" in line
