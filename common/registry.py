"""What Hydra's ConfigStore holds: the typed schemas of every config group, and plugins.

:func:`register_configs` imports the user's plugins (apps, datasets, feature extractors
defined outside the suite), then stores the kernel schemas (``common/config.py``) and one
schema per feature extractor (``common/features``) so that composition checks them.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from tinyml_suite.common.config import BoardConfig, OptimizeConfig, TrainerConfig

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
