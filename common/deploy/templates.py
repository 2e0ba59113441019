"""Where the firmware templates are, and which of them a feature extractor's front end needs."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from tinyml_suite.common.errors import DeployError

__all__ = ["feature_sources", "templates_root"]

_FEATURES_IMPL = re.compile(r"^\s*int\s+tm_features_compute\s*\(", re.MULTILINE)


def templates_root() -> Path:
    """The ``firmware_templates`` folder of the installed package."""
    return Path(str(resources.files("tinyml_suite.firmware_templates")))


def feature_sources(extractor: Any) -> list[Path]:
    """The C files of the extractor's device front end; :class:`DeployError` if none.

    ``FeatureExtractor.c_sources()`` names them relative to ``firmware_templates/dsp``
    (absolute paths are taken as they are, for extractors defined outside the suite).
    One of them must define ``tm_features_compute`` (``tm_features.h``).
    """
    root = templates_root() / "dsp"
    names = list(extractor.c_sources()) if extractor is not None else []
    paths = []
    for name in names:
        p = Path(name)
        p = p if p.is_absolute() else root / p
        if not p.exists():
            raise DeployError(
                f"features kind={getattr(extractor, 'kind', '?')} lists C source {name} but {p} does not exist"
            )
        paths.append(p)
    if not any(p.suffix == ".c" and _FEATURES_IMPL.search(p.read_text(errors="replace")) for p in paths):
        raise DeployError(
            f"features kind={getattr(extractor, 'kind', '?')} has no device front end: none of its "
            f"c_sources() ({', '.join(names) or 'none'}) defines tm_features_compute (tm_features.h); "
            "add one under firmware_templates/dsp/ and list it in c_sources()"
        )
    return paths
