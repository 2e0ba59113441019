"""Feature extractors: the pipeline's ``features`` stage.

An extractor turns raw windows ``x`` [shape=(n, channels, samples)] into model inputs
[shape=(n, *feature_shape)], float32, by calling the pure functions of
:mod:`tinyml_suite.common.dsp`. It also tells the deploy layer which DSP parameter
dataclasses to write into ``dsp_params.h`` and which C99 twins under
``firmware_templates/dsp/`` compute the same features on the device.

Extractors are chosen by config (``conf/features/<name>.yaml``, ``_target_`` = the
class). Each concrete class declares ``kind`` and a ``Params`` frozen dataclass; the
class is registered in Hydra's ConfigStore as ``features/base_<kind>`` (a typed
schema generated from ``Params``), so a misspelt key or a wrong type in a features
config is a one-line error at composition time.
"""

from __future__ import annotations

import dataclasses
import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = ["FeatureExtractor", "FEATURE_MODULES", "extractor_classes", "schema_for"]

# Modules holding concrete extractors; each registers its classes on import.
FEATURE_MODULES = (
    "tinyml_suite.common.features.audio",
    "tinyml_suite.common.features.imu",
    "tinyml_suite.common.features.vibration",
    "tinyml_suite.common.features.ppg",
)

_REGISTRY: dict[str, type[FeatureExtractor]] = {}


class FeatureExtractor(ABC):
    """Base class: raw windows in, model inputs out.

    Parameters
    ----------
    sample_rate : float
        Rate of the raw windows in Hz (from the dataset), > 0.
    **params
        Fields of the class's ``Params`` dataclass (unknown names are an error).
    """

    kind: ClassVar[str] = ""
    Params: ClassVar[type] = type(None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def __init__(self, *, sample_rate: float, **params: Any) -> None:
        if not sample_rate or float(sample_rate) <= 0:
            raise ConfigError(f"features sample_rate={sample_rate!r} must be > 0 Hz")
        from tinyml_suite.common.config import parse_options

        self.sample_rate = float(sample_rate)
        self.params = parse_options(self.Params, params, where="features", owner=type(self).__name__)

    @abstractmethod
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Features of raw windows ``x`` [shape=(n, channels, samples)] -> (n, ...)."""

    def output_shape(self, input_shape: tuple[int, int]) -> tuple[int, ...]:
        """Feature shape for one window of ``(channels, samples)``."""
        probe = np.zeros((1, *input_shape), dtype=np.float32)
        return tuple(self(probe).shape[1:])

    def dsp_params(self) -> list[Any]:
        """Frozen DSP parameter dataclasses to write into ``dsp_params.h``."""
        return []

    def c_sources(self) -> list[str]:
        """C99 files (relative to ``firmware_templates/dsp``) the device needs."""
        return []

    def describe(self) -> dict[str, Any]:
        """Plain-data description for metrics/report and firmware settings."""
        return {
            "kind": self.kind,
            "sample_rate": self.sample_rate,
            "params": dataclasses.asdict(self.params),
        }


def extractor_classes() -> dict[str, type[FeatureExtractor]]:
    """Import every module in :data:`FEATURE_MODULES` that exists; return kind -> class."""
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return dict(_REGISTRY)


def schema_for(cls: type[FeatureExtractor]) -> type:
    """A (non-frozen) structured-config dataclass: ``_target_`` + the class's params."""
    from tinyml_suite.common.config import option_schema

    return option_schema(cls.Params, target=f"{cls.__module__}.{cls.__qualname__}")
