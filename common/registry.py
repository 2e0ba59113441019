"""What Hydra's ConfigStore holds: the typed schemas of every config group, and plugins.

:func:`register_configs` imports the user's plugins (apps, datasets, feature extractors
defined outside the suite) and the modules the packaged configs name (``_target_`` of
``conf/app/*.yaml`` and ``conf/dataset/*.yaml``), then stores the kernel schemas
(``common/config.py``), one schema per feature extractor (``features/base_<kind>``) and
one per dataset that declares ``Options`` (``dataset/base_<name>``) and one per App
class that does (``app_class/<class name>``, which ``conf/app/<name>.yaml`` names as
``- /app_class@app: <class name>``; an experiment that switches the class overrides that
entry), so that composition checks every key and a config file only overrides the
defaults.
"""

from __future__ import annotations

import importlib
import re
from importlib import resources

from hydra.core.config_store import ConfigStore

from tinyml_suite.common.config import BoardConfig, OptimizeConfig, TrainerConfig, option_schema

__all__ = ["import_plugins", "register_configs"]


def import_plugins() -> list[str]:
    """Import user modules that define apps, datasets or feature extractors.

    Modules are named in ``$TINYML_PLUGINS`` (comma-separated) and in the ``plugins:``
    list of a custom project's ``tinyml_project.yaml`` (the project folder is put on
    ``sys.path``). Feature extractors defined there get their typed schemas too.
    """
    import importlib
    import os
    import sys
    from pathlib import Path

    names = [n.strip() for n in os.environ.get("TINYML_PLUGINS", "").split(",") if n.strip()]
    marker = Path.cwd() / "tinyml_project.yaml"
    if marker.exists():
        from omegaconf import OmegaConf

        names += [str(n) for n in (OmegaConf.load(marker).get("plugins") or [])]
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
    for name in names:
        importlib.import_module(name)
    return names


def register_configs() -> None:
    """Store the schemas (and the features schemas) in Hydra's ConfigStore."""
    import_plugins()
    cs = ConfigStore.instance()
    cs.store(group="board", name="base_board", node=BoardConfig)
    cs.store(group="trainer", name="base_trainer", node=TrainerConfig)
    cs.store(group="optimize", name="base_optimize", node=OptimizeConfig)
    from tinyml_suite.common.features import extractor_classes, schema_for

    for kind, cls in extractor_classes().items():
        cs.store(group="features", name=f"base_{kind}", node=schema_for(cls))
    _import_config_targets()
    from tinyml_suite.common.app import _APP_CLASSES
    from tinyml_suite.common.data import _DATASETS

    for name, cls in _DATASETS.items():
        target = f"{cls.__module__}.{cls.__qualname__}"
        node = option_schema(cls.Options, target=target, extra={"name": name, "seed": 0, "cache": True})
        cs.store(group="dataset", name=f"base_{name}", node=node)
    for class_name, cls in _APP_CLASSES.items():
        target = f"{cls.__module__}.{cls.__qualname__}"
        cs.store(group="app_class", name=class_name, node=option_schema(cls.Options, target=target, extra={"name": cls.name}))


_TARGET = re.compile(r"^_target_:\s*([\w.]+)\s*$", re.MULTILINE)
_APP_TARGET = re.compile(r"^app:\s*\n(?:\s+.*\n)*?\s+_target_:\s*([\w.]+)", re.MULTILINE)


def _import_config_targets() -> None:
    """Import the modules of the apps and datasets the packaged configs name (they register
    their ``Options`` on import)."""
    conf = resources.files("tinyml_suite.conf")
    modules = set()
    for group, pattern in (("dataset", _TARGET), ("app", _APP_TARGET), ("experiment", _APP_TARGET)):
        for entry in (conf / group).iterdir():
            if entry.name.endswith(".yaml"):
                for target in pattern.findall(entry.read_text()):
                    modules.add(target.rsplit(".", 1)[0])
    for module in sorted(modules):
        importlib.import_module(module)
