"""The console of a run: TensorFlow's chatter in the run log, progress lines, a summary block."""

from __future__ import annotations

import json
import logging
import os
import subprocess

import pytest
from helpers.toy_run import tinyml_cmd

from tinyml_suite.common.console import RUN_LOG_ONLY, Progress, captured_output, progress, quiet_run

NOISE = ("TensorSpec", "E0000", "I0000", "W0000", "absl::InitializeLog", "cuInit", "fully_quantize")


@pytest.mark.slow
def test_smoke_recipe_console_is_quiet_learns_and_ends_with_a_summary(tmp_path):
    """`tinyml app=gesture debug=smoke` as a user runs it (train, convert, verify, deploy,
    report): no native chatter on the console, which ends with the summary block; the
    chatter is in the run log instead. The smoke run also learns (int8 well above chance)."""
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TINYML_PLUGINS")}
    env.update(TINYML_CACHE=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(tinyml_cmd("app=gesture", "debug=smoke", f"hydra.run.dir={run}"),
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = proc.stdout + proc.stderr
    found = [n for n in NOISE if n in console]
    assert not found, f"console shows {found}:\n{console[-3000:]}"
    assert "\r" not in console  # no progress-bar soup when the output is not a terminal
    # the chatter went to the run log, next to Hydra's own lines
    run_log = (run / "tinyml.log").read_text()
    assert "TensorSpec" in run_log and "E0000" in run_log and "== stage verify ==" in run_log
    # details the summary block repeats are in the run log only
    assert "Instantiating <" in run_log and "Run directory:" in run_log and "Converted int8 model" in run_log
    assert "Instantiating <" not in console and "Run directory:" not in console
    lines = console.splitlines()
    assert len(lines) < 50, console  # fits on one screen
    block = lines[lines.index("---- gesture on host ----"):]
    assert [b.split()[0] for b in block[:6]] == ["----", "accuracy", "model", "arena", "fit", "run"]
    assert "int8" in block[1] and "fits host" in block[4] and str(run) in block[5]
    assert block[-1] == f"tinyml: done: {run}"
    # debug=smoke learns: 8 classes, 32 test windows of a held-out user, chance 0.125
    # (balanced); int8 must reach chance + 0.3 (measured 0.81)
    m = json.loads((run / "metrics.json").read_text())
    assert m["int8"]["accuracy"] >= 0.125 + 0.3, m["int8"]["confusion"]


def test_quiet_run_keeps_python_stderr_on_the_console(tmp_path, capfd):
    import os
    import sys

    log_file = tmp_path / "run.log"
    with quiet_run(log_file):
        os.write(2, b"E0000 native line\n")
        print("python line", file=sys.stderr)
        logging.getLogger("absl").warning("third-party warning")
    out, err = capfd.readouterr()
    assert "python line" in err and "E0000" not in err
    assert log_file.read_text() == "E0000 native line\n"
    os.write(2, b"after\n")  # descriptor 2 is restored
    assert "after" in capfd.readouterr().err


def test_run_log_only_records_reach_the_run_log_but_not_the_console(tmp_path, capfd):
    import sys

    root, ours = logging.getLogger(), logging.getLogger("tinyml")
    console, run_log = logging.StreamHandler(sys.stderr), logging.FileHandler(tmp_path / "tinyml.log")
    level = ours.level
    ours.setLevel(logging.INFO)
    root.addHandler(console)
    root.addHandler(run_log)
    try:
        with quiet_run(tmp_path / "native.log"):
            ours.info("== stage data ==")
            ours.info("Run directory: /x", extra=RUN_LOG_ONLY)
            ours.warning("a warning stays visible", extra=RUN_LOG_ONLY)
    finally:
        root.removeHandler(console)
        root.removeHandler(run_log)
        run_log.close()
        ours.setLevel(level)
    err = capfd.readouterr().err
    assert "== stage data ==" in err and "a warning stays visible" in err
    assert "Run directory" not in err
    assert "Run directory: /x" in (tmp_path / "tinyml.log").read_text()


def test_captured_output_replays_into_the_run_log(tmp_path, capfd):
    import os

    log_file = tmp_path / "run.log"
    with quiet_run(log_file), captured_output():
        print("Saved artifact at '/tmp/x'.")
        os.write(1, b"fully_quantize: 0\n")
    out, err = capfd.readouterr()
    assert "artifact" not in out + err and "fully_quantize" not in out + err
    assert sorted(log_file.read_text().splitlines()) == ["Saved artifact at '/tmp/x'.", "fully_quantize: 0"]


def test_progress_off_a_terminal_prints_plain_periodic_lines(caplog):
    caplog.set_level(logging.INFO, logger="tinyml")
    bar = Progress("features", total=4, unit="chunk", terminal=False, interval_s=0.0)
    for _ in range(4):
        bar.update(1, loss=0.5)
    bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and lines[-1].startswith("features: 4/4 chunk (100%), loss 0.5")
    caplog.clear()
    assert list(progress(range(5), desc="quick")) == list(range(5))
    assert not caplog.records  # a short stage prints nothing
