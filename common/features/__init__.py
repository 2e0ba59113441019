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
import typing
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
        self.sample_rate = float(sample_rate)
        valid = {f.name for f in dataclasses.fields(self.Params)}
        unknown = sorted(set(params) - valid)
        if unknown:
            raise ConfigError(
                f"features.{unknown[0]} is not a parameter of {type(self).__name__}; "
                f"valid: {', '.join(sorted(valid))}"
            )
        self.params = self.Params(**params)

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


_OMEGACONF_SCALARS = (int, float, bool, str)


def _schema_type(tp: Any) -> Any:
    """Map a params field type to one OmegaConf accepts (else ``Any``)."""
    origin = typing.get_origin(tp)
    if tp in _OMEGACONF_SCALARS:
        return tp
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and args[0] in _OMEGACONF_SCALARS:
            return typing.Optional[args[0]]
        return Any
    if origin in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if args and all(a in _OMEGACONF_SCALARS for a in args) and len(set(args)) == 1:
            return typing.List[args[0]]  # noqa: UP006 - OmegaConf wants typing.List
        return Any
    return Any


def schema_for(cls: type[FeatureExtractor]) -> type:
    """A (non-frozen) structured-config dataclass: ``_target_``, ``sample_rate`` + params."""
    hints = typing.get_type_hints(cls.Params)
    fields: list[tuple[str, Any, Any]] = [
        ("_target_", str, dataclasses.field(default=f"{cls.__module__}.{cls.__qualname__}")),
    ]
    for f in dataclasses.fields(cls.Params):
        if f.default is not dataclasses.MISSING:
            default = f.default
            if isinstance(default, tuple):
                default = list(default)
            if isinstance(default, (list, dict)):
                value = dataclasses.field(default_factory=lambda d=default: list(d) if isinstance(d, list) else dict(d))
            else:
                value = dataclasses.field(default=default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = dataclasses.field(default_factory=f.default_factory)  # type: ignore[misc]
        else:
            value = dataclasses.field(default="???")
        fields.append((f.name, _schema_type(hints[f.name]), value))
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", fields)
