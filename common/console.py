"""A quiet console: native library chatter goes to the run log, progress is one bar or a few lines.

TensorFlow and the TFLite converter write from C++ straight to the process's file
descriptors (``E0000 ... NodeDef mentions attribute ...``, ``I0000 ... oneDNN``, CUDA
probing, ``fully_quantize: 0, ...``), and Keras' export prints hundreds of
``TensorSpec(...)`` lines from Python. Three tools keep the console readable:

- :func:`quiet_run` (around a whole run): file descriptor 2 goes to the run log, while
  Python's ``sys.stderr`` keeps writing to the terminal; third-party loggers (``absl``,
  ``tensorflow``, Python warnings) reach the console only at ERROR and above, and the
  run log always; so do our own details logged with ``extra=RUN_LOG_ONLY`` (which the
  summary block or another line already shows) below WARNING.
- :func:`captured_output` (around a noisy call, e.g. a conversion): descriptors 1 and 2
  and ``sys.stdout``/``sys.stderr`` go to a temporary file, whose text is then written to
  descriptor 2 (the run log inside :func:`quiet_run`).
- :func:`progress` / :class:`Progress`: one tqdm bar on a terminal; when the output is
  not a terminal (a log file, a cluster job), a plain log line at most every
  :data:`LINE_INTERVAL_S` seconds and one when a stage that printed lines ends.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["quiet_run", "captured_output", "progress", "Progress", "LINE_INTERVAL_S", "OURS", "RUN_LOG_ONLY"]

log = logging.getLogger("tinyml")
T = TypeVar("T")

#: seconds between two progress lines when the output is not a terminal
LINE_INTERVAL_S = 15.0
#: logger name prefixes (``tinyml``, ``tinyml_suite.*``, Hydra's) shown on the console at
#: every level; other loggers only from ERROR up
OURS = ("tinyml", "HYDRA", "hydra", "__main__")
#: ``extra=`` of a log record that belongs in the run log but not on the console (a detail
#: that another console line or the final summary block already shows), e.g.
#: ``log.info("Run directory: %s", path, extra=RUN_LOG_ONLY)``
RUN_LOG_ONLY: dict[str, Any] = {"console": False}


class _ThirdPartyFilter(logging.Filter):
    """Keep our records (except those marked :data:`RUN_LOG_ONLY`); let third-party ones
    through only from ERROR up."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API
        if record.levelno < logging.WARNING and getattr(record, "console", True) is False:
            return False
        return record.levelno >= logging.ERROR or record.name.startswith(OURS)


def _console_handlers() -> list[logging.StreamHandler]:
    handlers = []
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            handlers.append(h)
    return handlers


@contextlib.contextmanager
def quiet_run(log_file: str | os.PathLike) -> Iterator[None]:
    """Send descriptor 2 (native stderr) to ``log_file`` for the duration; restore after.

    ``sys.stderr`` is rebound to a copy of the original descriptor, so Python's own
    stderr output (progress bars, ``tinyml: error: ...``) still reaches the terminal;
    console log handlers drop third-party records below ERROR and records logged with
    ``extra=RUN_LOG_ONLY`` (the run log keeps both).
    Nested or repeated use is safe; a process without a descriptor 2 is left alone.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.log"
    >>> with quiet_run(path):
    ...     _ = os.write(2, b"native chatter\\n")
    >>> path.read_text()
    'native chatter\\n'
    """
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no usable stderr: nothing to protect
        yield
        return
    target = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    old_stderr = sys.stderr
    terminal = io.TextIOWrapper(os.fdopen(os.dup(saved_fd), "wb", buffering=0), encoding="utf-8",
                                errors="replace", line_buffering=True, write_through=True)
    moved: list[logging.StreamHandler] = []
    flt = _ThirdPartyFilter()
    handlers = _console_handlers()
    logging.captureWarnings(True)
    try:
        os.dup2(target, 2)
        sys.stderr = terminal
        for h in handlers:
            if h.stream is old_stderr:
                h.setStream(terminal)
                moved.append(h)
            h.addFilter(flt)
        yield
    finally:
        with contextlib.suppress(Exception):
            terminal.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(target)
        sys.stderr = old_stderr
        for h in moved:
            h.setStream(old_stderr)
        for h in handlers:
            h.removeFilter(flt)
        logging.captureWarnings(False)
        with contextlib.suppress(Exception):
            terminal.close()


@contextlib.contextmanager
def captured_output() -> Iterator[None]:
    """Capture descriptors 1 and 2 and Python's stdout/stderr; replay them on descriptor 2.

    For calls that print pages of diagnostics (the TFLite converter, Keras export).
    Inside :func:`quiet_run` the replay lands in the run log; elsewhere on stderr.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.log"
    >>> with quiet_run(path):
    ...     with captured_output():
    ...         print("TensorSpec(shape=())")
    ...         _ = os.write(1, b"fully_quantize: 0\\n")
    >>> sorted(path.read_text().splitlines())
    ['TensorSpec(shape=())', 'fully_quantize: 0']
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        text_sink = io.TextIOWrapper(os.fdopen(os.dup(tmp.fileno()), "wb", buffering=0), encoding="utf-8",
                                     errors="replace", write_through=True)
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(text_sink), contextlib.redirect_stderr(text_sink):
                yield
        finally:
            with contextlib.suppress(Exception):
                text_sink.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            with contextlib.suppress(Exception):
                text_sink.close()
            tmp.seek(0)
            data = tmp.read()
            if data:
                with contextlib.suppress(OSError):
                    os.write(2, data)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of one long stage: a tqdm bar on a terminal, else a line every so often.

    ``update(n, **postfix)`` advances it (``postfix``: figures shown after the count, e.g.
    the loss); ``close()`` ends it. Off a terminal the first line appears only after
    :data:`LINE_INTERVAL_S` seconds, so short stages print nothing.

    Examples
    --------
    >>> p = Progress("demo", total=3, terminal=False)
    >>> for _ in range(3):
    ...     p.update(1)
    >>> p.close()
    >>> p.n
    3
    """

    def __init__(self, desc: str, total: int | None = None, unit: str = "it", *,
                 terminal: bool | None = None, interval_s: float = LINE_INTERVAL_S) -> None:
        self.desc, self.total, self.unit = desc, total, unit
        self.n = 0
        self.postfix: dict[str, Any] = {}
        self.interval_s = interval_s
        self._t0 = self._last = time.monotonic()
        self._lines = 0
        self._shown_n = -1  # the count the last line showed
        self._bar = None
        if _is_terminal() if terminal is None else terminal:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True)

    def _text(self) -> str:
        count = f"{self.n}/{self.total} {self.unit}" if self.total else f"{self.n} {self.unit}"
        pct = f" ({100.0 * self.n / self.total:.0f}%)" if self.total else ""
        post = "".join(f", {k} {v:.4g}" if isinstance(v, float) else f", {k} {v}" for k, v in self.postfix.items())
        return f"{self.desc}: {count}{pct}{post}, {time.monotonic() - self._t0:.0f} s"

    def update(self, n: int = 1, **postfix: Any) -> None:
        self.n += n
        self.postfix.update(postfix)
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in postfix.items()},
                                      refresh=False)
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self._lines += 1
            self._shown_n = self.n
            log.info("%s", self._text())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._lines and self._shown_n != self.n:
            log.info("%s", self._text())
        self._lines = 0


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it",
             **_ignored: Any) -> Iterator[T]:
    """Iterate ``iterable`` with a :class:`Progress` (the tqdm call sites' drop-in).

    Extra tqdm keywords (``leave``, ...) are accepted and ignored.

    Examples
    --------
    >>> list(progress(range(3), desc="demo"))
    [0, 1, 2]
    """
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    bar = Progress(desc, total=total, unit=unit)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()
