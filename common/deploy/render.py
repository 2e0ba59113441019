"""Render a board project from ``firmware_templates/`` with Jinja2.

Layers, later ones replacing files of the same path (a base plus per-board overrides by file name):

1. ``firmware_templates/common/``: the C99 runner, HAL/model/app contracts, and the
   model: the compiled model's kernels from ``firmware_templates/engine/`` (runtime
   ``engine``) or the TFLM glue (runtime ``tflm``);
   plus the front end's files from ``firmware_templates/dsp/`` (the extractor's
   ``c_sources()`` and every ``tm_*.h``), the app's hooks (``App.firmware_hooks``, e.g.
   ``firmware_templates/apps/wake_word/postprocess.c``, or ``tm_app_default.c``) and the
   app's main loop if it has one (``App.firmware_main``) - all copied into the project's
   source folder;
2. ``firmware_templates/boards/<template>/``: the project kind (``board.template``:
   host_c, arduino, platformio, espidf, pico_sdk, linux_python), laid out as the project;
3. ``firmware_templates/boards/<board>/``: files of one board (its HAL, say).

Files ending ``.j2`` are rendered (``StrictUndefined``: a missing value is an error) and
lose the suffix; others are copied. ``sketch.ino`` becomes ``<board>.ino`` (arduino-cli
wants the sketch named after its folder). The generated sources
(:func:`tinyml_suite.common.deploy.firmware.generate_sources`) go into the source folder.
Everything is written to a temporary folder that replaces ``out_dir`` at the end, so a
failure leaves nothing half-written.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinyml_suite.common.config import BoardConfig
from tinyml_suite.common.deploy import cgen
from tinyml_suite.common.deploy.templates import feature_sources, templates_root
from tinyml_suite.common.errors import DeployError
from tinyml_suite.common.io import atomic_dir

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.deploy.firmware import FirmwareSpec

__all__ = ["CHECK_FILES", "FIRMWARE_FILES", "SOURCE_DIR", "project_sources", "render_project"]

#: where each project kind keeps its C/C++ sources (None: no C, a Python runner)
SOURCE_DIR: dict[str, str | None] = {
    "host_c": "src",
    "arduino": "",
    "platformio": "src",
    "espidf": "main",
    "pico_sdk": "src",
    "linux_python": None,
    "baremetal": "src",
}

#: firmware_templates/common files every C project gets
FIRMWARE_FILES = (
    "hal.h",
    "tm_types.h",
    "tm_model.h",
    "tm_features.h",
    "tm_app.h",
    "tm_runner.h",
    "tm_runner.c",
    "tm_main.c",
)
#: the TFLM glue (C++), only with a model
TFLM_FILES = ("model_runner_tflm.cc",)
#: host `make check` (no TFLM)
CHECK_FILES = ("tm_model_replay.c", "tm_check.c")
#: further firmware_templates/common files of one project kind
TEMPLATE_FILES = {"baremetal": ("tm_serial.h", "tm_serial.c")}
#: bare-metal sources built only into the check program / the serial-protocol program
BAREMETAL_CHECK = ("tm_device_check.c", "tm_testdata.c")
BAREMETAL_SERIAL = ("tm_serial.c",)

_COMMENT = {
    ".c": "//", ".h": "//", ".cc": "//", ".cpp": "//", ".ino": "//", ".py": "#", ".txt": "#",
    ".ini": ";", ".yml": "#", ".yaml": "#", ".cmake": "#", ".csv": "#", "Makefile": "#",
    "CMakeLists.txt": "#", "sdkconfig.defaults": "#",
}


def _comment_for(name: str) -> str | None:
    if name in _COMMENT:
        return _COMMENT[name]
    return _COMMENT.get(Path(name).suffix)


def project_sources(
    spec: FirmwareSpec, *, host_check: bool, template: str = "", engine_kernels: list[Path] | None = None
) -> dict[str, Path]:
    """C/C++ files copied from firmware_templates into the project's source folder (name -> path).

    With ``engine_kernels`` (the compiled model's kernel sources and headers from
    ``firmware_templates/engine``) the model runs as compiled C; otherwise through the
    TFLite Micro glue. ``make check`` then runs the real compiled model instead of
    replaying TFLM's outputs.
    """
    root = templates_root()
    files: dict[str, Path] = {n: root / "common" / n for n in FIRMWARE_FILES}
    files.update({n: root / "common" / n for n in TEMPLATE_FILES.get(template, ())})
    if spec.has_model and engine_kernels is not None:
        files.update({p.name: p for p in engine_kernels})
    elif spec.has_model:
        files.update({n: root / "common" / n for n in TFLM_FILES})
    if host_check:
        names = ("tm_check.c",) if spec.has_model and engine_kernels is not None else CHECK_FILES
        files.update({n: root / "common" / n for n in names})
    for p in feature_sources(spec.extractor):
        files[p.name] = p
    for h in sorted((root / "dsp").glob("tm_*.h")):
        files.setdefault(h.name, h)
    if spec.firmware_hooks:
        app_hooks = root / spec.firmware_hooks
        if not app_hooks.is_file():
            raise DeployError(f"app={spec.app} firmware_hooks={spec.firmware_hooks} not found under {root}")
        files["postprocess.c"] = app_hooks
        for h in sorted(app_hooks.parent.glob("*.h")):
            files[h.name] = h
    else:
        files["tm_app_default.c"] = root / "common" / "tm_app_default.c"
    if spec.firmware_main:
        main = root / spec.firmware_main
        if not main.exists():
            raise DeployError(f"app={spec.app} firmware_main={spec.firmware_main} not found under {root}")
        files["tm_main.c"] = main
    return files


def _jinja_env(root: Path):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_project(
    spec: FirmwareSpec,
    board: BoardConfig,
    out_dir: str | Path,
    *,
    generated: Mapping[str, str],
    fit: Mapping[str, Any],
    latency: Mapping[str, Any],
    extra_files: Mapping[str, str | bytes] | None = None,
    engine_kernels: list[Path] | None = None,
    board_layer: bool = True,
) -> list[str]:
    """Render the project of ``board`` into ``out_dir`` (atomically); return its files.

    ``generated`` are the generated sources by file name (put in the source folder);
    ``engine_kernels`` are the compiled model's kernel files (``runtime: engine``; None
    for TFLite Micro). ``extra_files`` are further files by path relative to the project (e.g. the check
    vectors, the .tflite of a Python runner). ``board_layer=False`` leaves out
    ``firmware_templates/boards/<board.name>/`` (a measurement build of another kind).
    """
    root = templates_root()
    template = board.template
    if template not in SOURCE_DIR:
        raise DeployError(f"board {board.name}: no project template '{template}' (valid: {', '.join(SOURCE_DIR)})")
    layers = [root / "boards" / template]
    if board_layer and (root / "boards" / board.name).is_dir() and board.name != template:
        layers.append(root / "boards" / board.name)
    if not layers[0].is_dir():
        raise DeployError(f"firmware_templates/boards/{template}/ is missing from the installation")
    src_dir = SOURCE_DIR[template]
    host_check = template == "host_c"
    copied = (project_sources(spec, host_check=host_check, template=template, engine_kernels=engine_kernels)
              if src_dir is not None else {})
    engine = spec.has_model and engine_kernels is not None

    # what the templates see
    def rel(name: str) -> str:
        return f"{src_dir}/{name}" if src_dir else name

    # board-layer sources placed in the source folder also get compiled
    board_srcs: set[str] = set()
    for layer in layers:
        for p in layer.rglob("*"):
            if p.is_file():
                r = p.relative_to(layer).as_posix().removesuffix(".j2")
                if src_dir is not None and Path(r).parent.as_posix() == (src_dir or ".") and Path(r).suffix in (".c", ".cc", ".cpp"):
                    board_srcs.add(Path(r).name)
    names = sorted(set(copied) | set(generated) | board_srcs)
    c_srcs = [n for n in names if n.endswith(".c")]
    cxx_srcs = [n for n in names if n.endswith((".cc", ".cpp"))]
    check_excluded = {"main.c", "tm_main.c"} | {n for n in names if n.startswith("hal_") and n != "hal_host.c"}
    context = {
        "board": {**board.__dict__},
        "spec": spec,
        "app": spec.app,
        "config_hash": spec.config_hash,
        "fit": dict(fit),
        "latency": dict(latency),
        "src_dir": src_dir,
        "c_sources": [rel(n) for n in c_srcs if n not in CHECK_FILES],
        "cxx_sources": [rel(n) for n in cxx_srcs],
        "firmware_c_sources": [rel(n) for n in c_srcs if n not in CHECK_FILES],
        "check_c_sources": [rel(n) for n in c_srcs if n not in check_excluded],
        "has_model": spec.has_model,
        "engine": engine,  # the model is compiled C (runtime: engine): no TFLite Micro anywhere
        "tflm": spec.has_model and not engine and board.runtime == "tflm",
        "sensor": spec.sensor,
        "tool": cgen.TOOL,
        "kib": lambda n: f"{n / 1024:.1f}",
        "banner": lambda comment="//": cgen.generated_banner(cgen.TOOL, spec.config_hash, comment).rstrip("\n"),
    }
    if template == "baremetal":
        from tinyml_suite.common.deploy.baremetal import core_flags

        extra = set(BAREMETAL_CHECK) | set(BAREMETAL_SERIAL)
        context["cpu_flags"] = core_flags(board.core)
        context["baremetal"] = {
            "common": [rel(n) for n in c_srcs if n not in CHECK_FILES and n not in extra],
            "check": [rel(n) for n in c_srcs if n in BAREMETAL_CHECK],
            "serial": [rel(n) for n in c_srcs if n in BAREMETAL_SERIAL],
        }
    env = _jinja_env(root)
    out_dir = Path(out_dir)
    written: list[str] = []
    with atomic_dir(out_dir) as tmp:
        if src_dir is not None:
            dest = tmp / src_dir if src_dir else tmp
            dest.mkdir(parents=True, exist_ok=True)
            for name, path in copied.items():
                shutil.copyfile(path, dest / name)
            for name, text in generated.items():
                (dest / name).write_text(text)
        for layer in layers:
            for p in sorted(layer.rglob("*")):
                if not p.is_file() or p.name.startswith(".") or p.suffix in (".pyc",) or "__pycache__" in p.parts:
                    continue
                r = p.relative_to(layer).as_posix()
                target_rel = r.removesuffix(".j2")
                if Path(target_rel).name == "sketch.ino":
                    target_rel = str(Path(target_rel).with_name(f"{board.name}.ino"))
                target = tmp / target_rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if r.endswith(".j2"):
                    template_name = p.relative_to(root).as_posix()
                    try:
                        text = env.get_template(template_name).render(**context, this_file=target_rel)
                    except Exception as exc:  # jinja2 UndefinedError / TemplateSyntaxError
                        raise DeployError(f"rendering {template_name} failed: {exc}") from exc
                    target.write_text(text)
                else:
                    shutil.copyfile(p, target)
        for rel_path, content in (extra_files or {}).items():
            target = tmp / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        written = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    return written
