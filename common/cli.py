"""The ``tinyml`` command.

    tinyml app=<name> [group=option ...] [key=value ...]   run a recipe (Hydra 1.3)
    tinyml --help                                         apps, datasets, boards, ...
    tinyml --cfg job                                      print the composed config
    tinyml <subcommand> ...                               see ``tinyml --help``

User errors (unknown option, missing dataset folder, a model that does not fit the
board, a read-only or full disk, ...) print one line, ``tinyml: error: ...``, and exit
with status 2; Ctrl-C prints ``tinyml: interrupted`` and exits with status 130.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from tinyml_suite.common.errors import TinyMLError

__all__ = ["main", "SUBCOMMANDS", "list_options", "compose_config"]

log = logging.getLogger("tinyml")

CONF_PACKAGE = "tinyml_suite.conf"
GROUPS = ("app", "dataset", "features", "model", "board", "trainer", "optimize", "experiment", "debug")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

# Subcommands: name -> ("module" or "module:function", description); the function (default
# ``main``) takes argv and returns an exit status.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "deploy": ("tinyml_suite.common.deploy_cli", "deploy a saved .tflite (and its run config) to a board"),
    "evaluate": ("tinyml_suite.common.evaluate_cli", "evaluate a trained run on another dataset folder"),
    "new": ("tinyml_suite.common.scaffold", "start a custom project from an app"),
    "collect": ("tinyml_suite.common.sweep", "collect a sweep's runs into one table and a Pareto plot"),
    "validate": ("tinyml_suite.common.device_cli:main_validate", "compare a board's int8 outputs with the host's (serial)"),
    "capture": ("tinyml_suite.common.device_cli:main_capture", "record a board's sensor into a dataset folder (serial)"),
    "cache": ("tinyml_suite.common.cache", "show (info) or empty (clear) the dataset/feature cache"),
}


def _fail(message: str) -> int:
    print(f"tinyml: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def _user_conf_dir() -> Path | None:
    """A custom project's conf/ (made by ``tinyml new``) in the working directory."""
    marker = Path.cwd() / "tinyml_project.yaml"
    conf = Path.cwd() / "conf"
    return conf if marker.exists() and conf.is_dir() else None


def _project_overrides(argv: Sequence[str]) -> list[str]:
    """A custom project's default overrides (tinyml_project.yaml), unless given explicitly."""
    marker = Path.cwd() / "tinyml_project.yaml"
    if not marker.exists():
        return []
    from omegaconf import OmegaConf

    given = {a.split("=", 1)[0] for a in argv if "=" in a}
    return [str(o) for o in (OmegaConf.load(marker).get("overrides") or []) if str(o).split("=", 1)[0] not in given]


def list_options(group: str, extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Options of a config group: the packaged ones plus a custom project's (and extras)."""
    names: set[str] = set()
    for d in extra_dirs:
        if (Path(d) / group).is_dir():
            names |= {p.stem for p in (Path(d) / group).glob("*.yaml")}
    root = resources.files(CONF_PACKAGE) / group
    if root.is_dir():
        names |= {p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml")}
    user = _user_conf_dir()
    if user is not None and (user / group).is_dir():
        names |= {p.stem for p in (user / group).glob("*.yaml")}
    return sorted(n for n in names if not n.startswith("base_"))


def _describe(group: str, option: str) -> str:
    """First comment line of a config file (its one-line description)."""
    candidates = [resources.files(CONF_PACKAGE) / group / f"{option}.yaml"]
    user = _user_conf_dir()
    if user is not None:
        candidates.insert(0, user / group / f"{option}.yaml")
    for path in candidates:
        try:
            text = path.read_text()
        except (FileNotFoundError, OSError):
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("#") and not line.startswith("# @package"):
                return line.lstrip("# ").strip()
            if line and not line.startswith("#"):
                break
        return ""
    return ""


def print_help() -> None:
    print(
        "tinyml: reference TinyML recipes, from sensor data to a flashable firmware project.\n\n"
        "Usage:\n"
        "  tinyml app=<app> [dataset=<d>] [model=<m>] [board=<b>] [key=value ...]\n"
        "  tinyml app=gesture board=esp32s3 debug=smoke      # a one-minute end-to-end run\n"
        "  tinyml app=wake_word dataset=speech_commands dataset.root=/data/speech_commands\n"
        "  tinyml -m app=wake_word model=ds_cnn,micro_conv board=pico,esp32s3   # a sweep\n"
        "  tinyml --cfg job app=heart_rate                     # print the composed config\n"
    )
    for group in GROUPS:
        options = list_options(group)
        if not options:
            continue
        print(f"{group}:")
        width = max(len(o) for o in options)
        for opt in options:
            desc = _describe(group, opt)
            print(f"  {opt:<{width}}  {desc}".rstrip())
        print()
    print("Subcommands:")
    for name, (_, desc) in SUBCOMMANDS.items():
        print(f"  tinyml {name:<9} {desc}")
    print(
        "\nEvery run writes outputs/<app>/<date>_<time>/ (metrics.json, model.keras,\n"
        "model_int8.tflite, report.md, firmware/<board>/); hydra.run.dir=... moves it.\n"
        "Hydra's own flags (--multirun, --cfg, --resolve, --info, ...): tinyml --hydra-help"
    )


def _searchpath_dirs(overrides: Sequence[str]) -> list[Path]:
    """Folders added with ``hydra.searchpath=[file://...]`` on the command line."""
    dirs: list[Path] = []
    for ov in overrides:
        if ov.startswith("hydra.searchpath="):
            for item in ov.split("=", 1)[1].strip("[]").split(","):
                item = item.strip().strip("'\"")
                if item.startswith("file://"):
                    dirs.append(Path(item[len("file://"):]))
    return dirs


def _check_group_overrides(overrides: Sequence[str]) -> str | None:
    """One-line message for an unknown option of a config group, else None."""
    extra = _searchpath_dirs(overrides)
    for ov in overrides:
        if "=" not in ov or ov.startswith(("hydra.", "+", "~")):
            continue
        key, value = ov.split("=", 1)
        key = key.removeprefix("override ").strip()
        if key not in GROUPS or value in ("null", "") or "," in value or "(" in value:
            continue
        options = list_options(key, extra)
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            hint = f"did you mean {key}={close[0]}? " if close else ""
            return f"unknown {key} '{value}'; {hint}choose one of: {', '.join(options)}"
    return None


def _one_line(exc: BaseException) -> str:
    """Collapse a Hydra/OmegaConf composition error into one actionable line."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    if first.startswith("LexerNoViableAltException:") or type(exc).__name__ == "OverrideParseException":
        bad = first.split(":", 1)[1].strip() if ":" in first else first
        key, _, value = bad.partition("=")
        return (f"cannot parse the override '{bad}': quote a value that holds spaces, non-ASCII letters or "
                f"special characters, inside the shell's quotes: '{key}=\"{value}\"'")
    cause = exc.__cause__
    if first.startswith("Error merging override") and cause is not None:
        reason = (str(cause).strip().splitlines() or [""])[0]
        if reason:
            first = f"{first}: {reason}"
    full_key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), "")
    if full_key and full_key not in first:
        first = f"{first} (key: {full_key})"
    if "Key '" in first and "not in" in first:
        first += "; check the spelling against `tinyml --cfg job`"
    return first


def compose_config(overrides: Sequence[str] = (), config_name: str = "config"):
    """Compose the config as ``tinyml`` would (for tests, notebooks and subcommands)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from tinyml_suite.common.registry import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    overrides = list(overrides)
    user = _user_conf_dir()
    if user is not None:
        overrides.append(f"hydra.searchpath=[file://{user}]")
    try:
        with initialize_config_module(CONF_PACKAGE, version_base="1.3"):
            return compose(config_name=config_name, overrides=overrides)
    except Exception as exc:  # noqa: BLE001 - hydra's ConfigCompositionException
        message = _unknown_key_message(exc, overrides, config_name)
        if message is None:
            raise
        from tinyml_suite.common.errors import ConfigError

        raise ConfigError(message) from exc


def _unknown_key_message(exc: BaseException, overrides: Sequence[str], config_name: str) -> str | None:
    """One line with a did-you-mean for an override naming a key the config lacks, else None.

    Hydra says only "Could not override 'trainer.epoch'"; the keys of the node it names
    (``trainer``) come from composing the same config without that override.
    """
    import re

    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import DictConfig, OmegaConf

    found = re.match(r"Could not override '([^']+)'", str(exc))
    cause = str(exc.__cause__ or "")
    full = re.search(r"full_key: (\S+)", cause)
    if found is None or full is None or "not in" not in cause:
        return None
    bad = full.group(1)  # the first key along the override's path that does not exist
    parent, _, child = bad.rpartition(".")
    rest = [o for o in overrides if o.split("=", 1)[0].lstrip("+~").removeprefix("override ").strip() != found.group(1)]
    try:
        GlobalHydra.instance().clear()
        with initialize_config_module(CONF_PACKAGE, version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=rest)
        node = OmegaConf.select(cfg, parent) if parent else cfg
    except Exception:  # noqa: BLE001 - the other overrides fail too: keep Hydra's message
        return None
    if not isinstance(node, DictConfig):
        return None
    keys = sorted(str(k) for k in node.keys() if not str(k).startswith("_"))
    close = difflib.get_close_matches(child, keys, n=1, cutoff=0.6)
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    where = f"the keys of {parent}" if parent else "top-level keys"
    return f"{bad} is not a config key; {hint}{where}: {', '.join(keys)}"


def _precheck(argv: Sequence[str]) -> str | None:
    """Compose once (single runs) so composition errors print as one line."""
    flags_with_value = {"--cfg", "-c", "--package", "-p", "--config-name", "-cn", "--config-dir", "-cd", "--info", "-i"}
    overrides: list[str] = []
    skip = False
    multirun = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("-m", "--multirun"):
            multirun = True
        elif arg in flags_with_value:
            skip = arg not in ("--info", "-i")
        elif not arg.startswith("-"):
            overrides.append(arg)
    msg = _check_group_overrides(overrides)
    if msg or multirun:
        return msg
    try:
        compose_config([o for o in overrides if not o.startswith("hydra.") or o.startswith("hydra.searchpath")])
    except TinyMLError as exc:
        return str(exc)
    except Exception as exc:  # hydra / omegaconf composition errors
        return _one_line(exc)
    return None


def _task(cfg) -> None:
    """Hydra task: run the recipe; one line and exit 2 on a user or OS error."""
    from hydra.core.hydra_config import HydraConfig

    from tinyml_suite.common.console import quiet_run
    from tinyml_suite.common.pipeline import run_recipe
    from tinyml_suite.common.report import summary_block
    from tinyml_suite.common.run_folder import os_error_line

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        # TensorFlow's native chatter goes to the run log, not the console
        with quiet_run(_run_log(run_dir)):
            metrics, _ = run_recipe(cfg, run_dir)
    except TinyMLError as exc:
        _cleanup_failed_run(run_dir)
        logging.getLogger("tinyml").debug("user error", exc_info=True)
        sys.exit(_fail(str(exc)))
    except OSError as exc:  # read-only or full disk, permissions: one line naming the path
        _cleanup_failed_run(run_dir)
        logging.getLogger("tinyml").debug("OS error", exc_info=True)
        code = _fail(os_error_line(exc))
        # After a failed write, HDF5 (Keras checkpoints) can crash the interpreter in its
        # exit handlers (seen: SIGSEGV on a full disk): leave now, everything is flushed.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    print(summary_block(metrics, run_dir))
    print(f"tinyml: done: {run_dir}")
    return objective(metrics)


def _run_log(run_dir: Path) -> Path:
    """The file Hydra's job logging writes (``<run dir>/tinyml.log``)."""
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            return Path(h.baseFilename)
    return run_dir / "tinyml.log"


def objective(metrics: dict) -> float | None:
    """A run's headline figure for sweepers: int8 (TFLM) when measured, else float."""
    head = metrics.get("headline")
    for variant in ("int8", "float"):
        value = metrics.get(variant, {}).get(head)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _cleanup_failed_run(run_dir: Path) -> None:
    """Remove a run directory that holds nothing but bookkeeping (Hydra's, lock, status)."""
    from tinyml_suite.common.run_folder import BOOKKEEPING

    try:
        entries = {p.name for p in run_dir.iterdir()}
    except OSError:
        return
    if entries <= BOOKKEEPING:
        shutil.rmtree(run_dir, ignore_errors=True)


def _interrupted() -> int:
    print("tinyml: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinyml`` console script."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C anywhere: one line, the shell's status, no traceback
        return _interrupted()


def _quiet_unraisable(args) -> None:
    """Errors in destructors (h5py closing a file on a full disk, ...) go to the run log only."""
    logging.getLogger("tinyml").debug("ignored in %r: %s: %s", args.object, args.exc_type.__name__, args.exc_value)


_excepthook = sys.excepthook


def _quiet_dealloc_excepthook(exc_type, exc, tb) -> None:
    """h5py's Cython destructors print their errors through sys.excepthook (PyErr_PrintEx):
    after a failed write (full disk) each open HDF5 object adds a traceback. Those go to the
    run log; any other exception keeps the normal hook."""
    frames, t = [], tb
    while t is not None:
        frames.append(t.tb_frame.f_code.co_filename)
        t = t.tb_next
    if frames and frames[-1].endswith("_objects.pyx") and "h5py" in frames[-1]:
        logging.getLogger("tinyml").debug("h5py: %s: %s", exc_type.__name__, exc)
        return
    _excepthook(exc_type, exc, tb)


def _main(argv: list[str]) -> int:
    sys.unraisablehook = _quiet_unraisable
    sys.excepthook = _quiet_dealloc_excepthook
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if argv and argv[0] in SUBCOMMANDS:
        module_name, _, function = SUBCOMMANDS[argv[0]][0].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _fail(f"'tinyml {argv[0]}' is not available in this version")
            raise
        entry: Callable[[list[str]], int] = getattr(module, function or "main")
        try:
            return int(entry(argv[1:]) or 0)
        except TinyMLError as exc:
            return _fail(str(exc))
        except OSError as exc:
            from tinyml_suite.common.run_folder import os_error_line

            return _fail(os_error_line(exc))
    if argv and argv[0] in ("--help", "-h", "help"):
        try:
            print_help()
        except BrokenPipeError:  # `tinyml --help | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if argv and argv[0] == "--hydra-help":
        argv[0] = "--hydra-help"
    message = _precheck(_project_overrides(argv) + list(argv))
    if message:
        return _fail(message)

    import hydra

    from tinyml_suite.common.registry import register_configs

    register_configs()
    user = _user_conf_dir()
    hydra_argv = _project_overrides(argv) + list(argv)
    if user is not None:
        hydra_argv = [f"hydra.searchpath=[file://{user}]", *hydra_argv]
    task = hydra.main(version_base="1.3", config_path=f"pkg://{CONF_PACKAGE}", config_name="config")(_task)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "tinyml", *hydra_argv]
    try:
        task()
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
