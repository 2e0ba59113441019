"""Run folders: one live run per folder, a status that says whether it finished.

Every run folder gets two files besides the artifacts:

* ``.tinyml.lock``: held (``fcntl.flock``) by the process running the recipe. A second
  run into a live run's folder stops with one line before it writes anything (the
  kernel releases the lock when a process dies, even by SIGKILL).
* ``status.json``: ``{"status": "running" | "done" | "failed" | "interrupted", "stage",
  "error", "pid", "host", "started", "finished", "artifacts": {file: sha256}}``.
  ``done`` is written last, after ``metrics.json``, with the SHA-256 of the run's
  models and metrics, so a later change to them (a truncated copy, a half-synced
  folder) is detected.

:func:`check_run` is what ``tinyml evaluate``, ``tinyml deploy`` and ``tinyml collect``
ask before trusting a folder: a run that is still going, failed, was interrupted or
was killed (``running`` without a live lock holder), or whose artifacts changed, is
named in one line. Folders written before status files existed (no ``status.json``)
are accepted as they are.

A new ``tinyml`` run pointed at a folder that already holds a finished (or failed) run
does not mix with it: the earlier run is moved, whole, to ``<folder>.replaced-<time>``
before Hydra writes anything (:class:`RunFolderCallback`), and a warning names it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from tinyml_suite.common.errors import TinyMLError
from tinyml_suite.common.io import write_json

__all__ = [
    "STATUS_FILE",
    "LOCK_FILE",
    "RunBusyError",
    "IncompleteRunError",
    "RunFolderCallback",
    "acquire",
    "release",
    "read_status",
    "run_guard",
    "check_run",
    "os_error_line",
]

log = logging.getLogger("tinyml")

STATUS_FILE = "status.json"
LOCK_FILE = ".tinyml.lock"
#: artifacts whose SHA-256 is recorded when a run finishes (those present)
CHECKED_ARTIFACTS = ("metrics.json", "model.keras", "model_int8.tflite")
#: files of a folder that hold no result (a folder with only these holds no run)
BOOKKEEPING = {".hydra", "tinyml.log", "cli.log", "main.log", LOCK_FILE, STATUS_FILE}

_held: dict[str, list[Any]] = {}  # resolved run dir -> [open lock file, reference count]


class RunBusyError(TinyMLError):
    """Another live process is running a recipe in this folder."""


class IncompleteRunError(TinyMLError):
    """The folder's run did not finish, or its artifacts changed after it finished."""

    reason: str = ""  # the short why (for tables of skipped runs)


def os_error_line(exc: OSError, what: str = "") -> str:
    """One line for an OS error: the path, the reason and what to do.

    >>> os_error_line(OSError(28, "No space left on device", "/runs/a/model.keras"))
    'cannot write /runs/a/model.keras: No space left on device; free some space or choose another folder (hydra.run.dir=... or TINYML_CACHE=...)'
    >>> os_error_line(OSError("Can't close file (filename = '/r/w.h5', errno = 28, error message = ...)"))[:50]
    'cannot write /r/w.h5: No space left on device; fre'
    """
    import re

    text = str(exc)
    code = exc.errno
    path = exc.filename
    if code is None:  # libraries (h5py, TF) put errno and file name in the message only
        m = re.search(r"errno\s*=\s*(\d+)", text)
        code = int(m.group(1)) if m else None
    if path is None:
        m = re.search(r"filename\s*=\s*'([^']+)'", text)
        path = m.group(1) if m else None
    path = path or what or "a file"
    if code:
        reason = os.strerror(code)
    else:
        reason = ((exc.strerror or text).strip().splitlines() or [type(exc).__name__])[0]
    fixes = {
        errno.ENOSPC: "free some space or choose another folder (hydra.run.dir=... or TINYML_CACHE=...)",
        errno.EDQUOT: "free some space or choose another folder (hydra.run.dir=... or TINYML_CACHE=...)",
        errno.EFBIG: "the file is over a size limit (ulimit -f); raise it or choose another folder",
        errno.EROFS: "the file system is read-only; choose a writable folder (hydra.run.dir=... or TINYML_CACHE=...)",
        errno.EACCES: "you lack permission; choose a folder you can write (hydra.run.dir=... or TINYML_CACHE=...)",
        errno.EPERM: "you lack permission; choose a folder you can write (hydra.run.dir=... or TINYML_CACHE=...)",
        errno.ENOENT: "it does not exist; check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    }
    verb = "read" if code in (errno.ENOENT,) else "write"
    return f"cannot {verb} {path}: {reason}; {fixes.get(code or 0, 'check the path and the disk')}"


def _key(run_dir: Path) -> str:
    return str(Path(run_dir).resolve())


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The folder's ``status.json`` (None when absent; ``{"status": "unreadable"}`` if damaged)."""
    path = Path(run_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"status": "unreadable", "error": f"{STATUS_FILE} is unreadable ({exc})"}
    return data if isinstance(data, dict) else {"status": "unreadable", "error": f"{STATUS_FILE} is not an object"}


def _lock_holder_alive(run_dir: Path) -> bool:
    """True when some process holds the folder's lock (it is running a recipe there)."""
    import fcntl

    if _key(run_dir) in _held:
        return True
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def acquire(run_dir: Path) -> None:
    """Take the folder's lock (creating the folder); RunBusyError if a live run holds it."""
    import fcntl

    run_dir = Path(run_dir)
    key = _key(run_dir)
    if key in _held:
        _held[key][1] += 1
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fh = open(run_dir / LOCK_FILE, "a+")
    except OSError as exc:
        raise TinyMLError(os_error_line(exc, str(run_dir))) from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        st = read_status(run_dir) or {}
        who = f" (pid {st.get('pid')} on {st.get('host')}, started {st.get('started')})" if st.get("pid") else ""
        raise RunBusyError(
            f"{run_dir} is in use by another tinyml run{who}; wait for it or choose another folder "
            "(hydra.run.dir=...)"
        ) from None
    _held[key] = [fh, 1]


def release(run_dir: Path) -> None:
    """Drop one hold of the folder's lock (the lock itself goes with the last one)."""
    key = _key(run_dir)
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] <= 0:
        entry[0].close()
        del _held[key]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def write_status(run_dir: Path, status: str, **fields: Any) -> None:
    """Update ``status.json`` (atomically); a failure to write it is only logged."""
    current = read_status(run_dir) or {}
    if current.get("status") == "unreadable":
        current = {}
    current.update({"status": status, **fields})
    try:
        write_json(Path(run_dir) / STATUS_FILE, current)
    except OSError as exc:
        log.warning("could not record the run's status (%s)", os_error_line(exc))


def artifact_checksums(run_dir: Path) -> dict[str, str]:
    """SHA-256 of the :data:`CHECKED_ARTIFACTS` present in ``run_dir``."""
    return {n: _sha256(Path(run_dir) / n) for n in CHECKED_ARTIFACTS if (Path(run_dir) / n).is_file()}


@contextlib.contextmanager
def run_guard(run_dir: Path) -> Iterator[Callable[[str], None]]:
    """Hold the folder's lock and keep ``status.json`` true for the run inside the block.

    Yields ``enter(stage)``, which records the stage now running. KeyboardInterrupt
    marks the run ``interrupted``; any other exception ``failed`` (with its one-line
    message and the stage); a normal exit ``done``, with the artifacts' checksums.
    """
    run_dir = Path(run_dir)
    acquire(run_dir)
    current: dict[str, str | None] = {"stage": None}

    def enter(stage: str) -> None:
        current["stage"] = stage
        write_status(run_dir, "running", stage=stage)

    try:
        previous = read_status(run_dir)
        if previous is not None:
            _clear_previous_run(run_dir, previous)
        write_status(run_dir, "running", pid=os.getpid(), host=socket.gethostname(), started=_now(),
                     finished=None, stage=None, error=None, artifacts={})
        try:
            yield enter
        except KeyboardInterrupt:
            write_status(run_dir, "interrupted", finished=_now(), stage=current["stage"],
                         error="interrupted (Ctrl-C)")
            raise
        except BaseException as exc:
            if isinstance(exc, OSError):
                message = os_error_line(exc)
            else:
                message = (str(exc).strip().splitlines() or [""])[0]
            write_status(run_dir, "failed", finished=_now(), stage=current["stage"],
                         error=f"{type(exc).__name__}: {message}"[:500])
            raise
        write_status(run_dir, "done", finished=_now(), stage=None, error=None,
                     artifacts=artifact_checksums(run_dir))
    finally:
        release(run_dir)


#: what an earlier run leaves in a folder that a later run in the same folder would not
#: overwrite (used only when the earlier run could not be moved aside first)
_PREVIOUS_OUTPUTS = ("metrics.json", "model.keras", "model_int8.tflite", "history.csv", "report.md",
                     "report.html", "firmware", "checkpoints", "tensorboard", "evaluations")


def _clear_previous_run(run_dir: Path, previous: dict[str, Any]) -> None:
    """An earlier run's outputs in a folder reused without the CLI (which moves them aside)."""
    import shutil

    found = [n for n in _PREVIOUS_OUTPUTS if (run_dir / n).exists()]
    found += [p.name for p in run_dir.glob("*.tflite") if p.name not in found]
    found += [p.name for p in run_dir.glob("*.png")]
    if not found:
        return
    log.warning("%s held an earlier run (status %s); removing its outputs %s so the two never mix",
                run_dir, previous.get("status"), ", ".join(sorted(found)))
    for n in found:
        p = run_dir / n
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def holds_a_run(run_dir: Path) -> bool:
    """True when ``run_dir`` holds more than bookkeeping (an earlier run's results)."""
    try:
        names = {p.name for p in Path(run_dir).iterdir()}
    except OSError:
        return False
    return bool(names - BOOKKEEPING) or (Path(run_dir) / STATUS_FILE).exists()


def move_aside(run_dir: Path) -> Path:
    """Rename an earlier run's folder to ``<folder>.replaced-<time>``; return the new path."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}-{n}")
    os.replace(run_dir, target)
    return target


def check_run(run_dir: Path, *, purpose: str, need: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """Refuse (IncompleteRunError) a folder whose run is not finished or whose files changed.

    ``purpose`` names the command in the message (``"tinyml evaluate"``); ``need`` lists
    artifacts it reads, checked against the checksums the run recorded. Returns the
    status (None for folders from before status files).
    """
    run_dir = Path(run_dir)
    st = read_status(run_dir)
    if st is None:
        return None
    status = st.get("status")
    reason = fix = None
    if status == "running":
        if _lock_holder_alive(run_dir):
            reason = f"still running (pid {st.get('pid')} on {st.get('host')})"
            fix = "wait for it to finish"
        else:
            reason = (f"incomplete: its run stopped without finishing (killed or crashed during stage "
                      f"{st.get('stage') or '?'}, started {st.get('started')})")
            fix = "re-run it"
    elif status != "done":
        where = f" during stage {st['stage']}" if st.get("stage") else ""
        why = f" ({st['error']})" if st.get("error") else ""
        reason, fix = f"incomplete: its run {status}{where}{why}", "re-run it"
    if reason:
        err = IncompleteRunError(f"{run_dir} is {reason}; {purpose} needs a finished run: {fix}")
        err.reason = reason
        raise err
    recorded = st.get("artifacts") or {}
    for name in need:
        path = run_dir / name
        if name in recorded and path.is_file() and _sha256(path) != recorded[name]:
            err = IncompleteRunError(
                f"{path} has changed since its run finished (SHA-256 differs from status.json): it is damaged "
                "or was replaced; restore it or re-run"
            )
            err.reason = f"{name} changed since the run finished"
            raise err
    return st


class RunFolderCallback(Callback):
    """Hydra callback: claim the run folder before Hydra writes into it (single runs).

    Registered in ``conf/config.yaml`` under ``hydra.callbacks``. A folder in use by a
    live run stops the command with one line; a folder holding an earlier finished or
    failed run has that run moved aside whole (``<folder>.replaced-<time>``); an
    unwritable folder is one line naming it.
    """

    def __init__(self, **_: Any) -> None:
        super().__init__()
        self.run_dir: Path | None = None

    def on_run_start(self, config: Any, **_: Any) -> None:
        from omegaconf import OmegaConf

        try:
            run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir"))).absolute()
        except Exception:  # an unresolvable folder: Hydra reports it itself
            return
        try:
            if run_dir.exists() and holds_a_run(run_dir):
                if _lock_holder_alive(run_dir):
                    acquire(run_dir)  # raises RunBusyError, or holds it if the holder just ended
                else:
                    previous = read_status(run_dir) or {}
                    moved = move_aside(run_dir)
                    print(f"tinyml: warning: {run_dir} held an earlier run (status "
                          f"{previous.get('status', 'unknown')}); moved it to {moved}", file=sys.stderr)
                    acquire(run_dir)
            else:
                acquire(run_dir)
        except TinyMLError as exc:
            print(f"tinyml: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except OSError as exc:
            print(f"tinyml: error: {os_error_line(exc, str(run_dir))}", file=sys.stderr)
            sys.exit(2)
        self.run_dir = run_dir

    def on_run_end(self, config: Any, **_: Any) -> None:
        if self.run_dir is not None:
            release(self.run_dir)
            self.run_dir = None
