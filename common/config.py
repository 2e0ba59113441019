"""Typed schemas for the Hydra config tree, and the one way options are declared.

Every configurable object declares its options as a dataclass: feature extractors
(``Params``), apps and datasets (``Options``), boards, the trainer and the optimiser
(below). The dataclass holds the defaults (a YAML file only overrides them) and checks
ranges in ``__post_init__``; :func:`parse_options` builds it from a config mapping,
refusing unknown keys with a did-you-mean, and :func:`option_schema` turns it into the
structured config Hydra composes against.

The board and features groups (and the trainer and optimize groups) are validated by
dataclasses: each ``conf/board/<name>.yaml`` starts ``defaults: [base_board, _self_]``,
so a misspelt key or a value of the wrong type stops composition with one line. The
recipe stores them in the ConfigStore (``common/registry.py``).
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TypeVar  # noqa: UP035 - OmegaConf needs typing generics

from omegaconf import MISSING

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "BoardConfig",
    "OptimizeConfig",
    "PruningConfig",
    "TrainerConfig",
    "board_from_cfg",
    "check_seed",
    "did_you_mean",
    "option_schema",
    "parse_options",
]

T = TypeVar("T")


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the closest valid name, or ``""``.

    Examples
    --------
    >>> did_you_mean("epoch", ["epochs", "batch_size"])
    "did you mean 'epochs'? "
    >>> did_you_mean("zzz", ["epochs"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(type without None, whether None is allowed)`` for ``X | None`` (and ``X | Y | None``)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True  # noqa: UP007
    return tp, False


def _check_type(where: str, value: Any, tp: Any) -> Any:
    """``value`` checked (and lists made tuples) against a scalar/sequence field type."""
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ConfigError(f"{where}=null is not allowed; give a value")
    origin = typing.get_origin(tp)
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}={value!r} must be true or false")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{where}={value!r} must be an integer")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{where}={value!r} must be a number")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(f"{where}={value!r} must be a string")
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        return tuple(value) if origin is tuple else list(value)
    return value


def parse_options(schema: type[T], options: Mapping[str, Any] | None, *, where: str, owner: str = "",
                  base: T | None = None, unknown: str = "") -> T:
    """Build the options dataclass ``schema`` from a config mapping, or one-line ConfigError.

    Unknown keys are refused with a did-you-mean and the valid names; scalar fields are
    type-checked (``int``, ``float``, ``bool``, ``str``, optional ones accept null);
    nested dataclass fields take a mapping, which overrides the field's default instance
    key by key (as composition does); missing keys keep the defaults; the dataclass's
    ``__post_init__`` checks the ranges. A nested field may word its unknown-key message
    with ``metadata={"unknown": "is not a tracking parameter"}``.

    Parameters
    ----------
    schema : type
        A dataclass.
    options : mapping or None
        Key/value options (from a composed config or keyword arguments).
    where : str
        The config path for messages, e.g. ``"dataset"`` or ``"app.spec_augment"``.
    owner : str
        Who the options belong to, for messages (default: the class name).
    base : schema instance, optional
        The values missing keys keep (default: the dataclass defaults).
    unknown : str
        The words after an unknown key in its message (default: "is not an option of <owner>").

    Examples
    --------
    >>> opts = parse_options(TrainerConfig, {"epochs": 3}, where="trainer")
    >>> opts.epochs, opts.batch_size
    (3, 64)
    >>> parse_options(TrainerConfig, {"epoch": 3}, where="trainer")
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: trainer.epoch is not an option of TrainerConfig; did you mean 'epochs'? valid: batch_size, deterministic, early_stopping_patience, epochs, label_smoothing, learning_rate, lr_schedule, tensorboard, verbose, weight_decay
    """
    options = dict(options or {})
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    for key in sorted(options):
        if key not in fields:
            raise ConfigError(
                f"{where}.{key} {unknown or f'is not an option of {owner or schema.__name__}'}; "
                f"{did_you_mean(key, fields)}valid: {', '.join(sorted(fields))}"
            )
    hints = typing.get_type_hints(schema)
    kwargs: dict[str, Any] = {}
    if base is not None:
        kwargs.update({name: getattr(base, name) for name in fields})
    for key, value in options.items():
        tp, _ = _unwrap_optional(hints.get(key, Any))
        if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            default = getattr(base, key) if base is not None else _field_default(fields[key])
            kwargs[key] = parse_options(tp, value, where=f"{where}.{key}", owner=tp.__name__,
                                        base=default if isinstance(default, tp) else None,
                                        unknown=fields[key].metadata.get("unknown", ""))
        elif dataclasses.is_dataclass(tp) and isinstance(value, tp):
            kwargs[key] = value
        else:
            kwargs[key] = _check_type(f"{where}.{key}", value, hints.get(key, Any))
    try:
        return schema(**kwargs)
    except TypeError as exc:  # e.g. a required field without a value
        raise ConfigError(f"{where}: {exc}") from None


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


_SCALARS = (int, float, bool, str)


def _schema_type(tp: Any) -> Any:
    """Map an options field type to one OmegaConf accepts (else ``Any``)."""
    inner, optional = _unwrap_optional(tp)
    if inner in _SCALARS:
        return Optional[inner] if optional else inner  # noqa: UP045 - OmegaConf wants typing.Optional
    if dataclasses.is_dataclass(inner):
        return Optional[option_schema(inner)] if optional else option_schema(inner)  # noqa: UP045
    if typing.get_origin(inner) in (tuple, list):
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        if args and all(a in _SCALARS for a in args) and len(set(args)) == 1:
            return Optional[List[args[0]]] if optional else List[args[0]]  # noqa: UP006, UP045
    return Any


def _schema_default(default: Any) -> Any:
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        return dataclasses.field(default_factory=lambda d=default: option_schema(type(d))(**_plain(d)))
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d))
    return dataclasses.field(default=default)


def _plain(obj: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = option_schema(type(v))(**_plain(v))
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


_SCHEMAS: dict[tuple[type, str | None], type] = {}


def option_schema(params: type, *, target: str | None = None, extra: Mapping[str, Any] | None = None) -> type:
    """A (non-frozen) structured-config dataclass of an options dataclass, for the ConfigStore.

    A field with ``metadata={"required": True}`` is ``???`` in the schema (the config must
    set it) while Python callers keep its default.

    ``target`` adds ``_target_`` (the class Hydra instantiates); ``extra`` adds untyped
    keys with defaults (e.g. a dataset's ``seed``). Field types OmegaConf cannot hold
    become ``Any``; the options dataclass still checks them when the object is built.
    """
    key = (params, target if extra is None else f"{target}|{sorted(extra)}")
    if key in _SCHEMAS:
        return _SCHEMAS[key]
    hints = typing.get_type_hints(params)
    fields: list[tuple[str, Any, Any]] = []
    if target is not None:
        fields.append(("_target_", str, dataclasses.field(default=target)))
    for name, value in (extra or {}).items():
        fields.append((name, Any, dataclasses.field(default=value)))
    for f in dataclasses.fields(params):
        if not f.init:
            continue
        if f.metadata.get("required") or (f.default is dataclasses.MISSING
                                          and f.default_factory is dataclasses.MISSING):  # type: ignore[misc]
            value = dataclasses.field(default="???")  # a value the config must give
        else:
            value = _schema_default(_field_default(f))
        tp = _schema_type(hints[f.name])
        if _field_default(f) is None and dataclasses.is_dataclass(_unwrap_optional(hints[f.name])[0]):
            tp = Any  # OmegaConf cannot fill a typed node that is null; the App/Dataset checks it
        fields.append((f.name, tp, value))
    schema = dataclasses.make_dataclass(f"{params.__name__}Schema", fields)
    _SCHEMAS[key] = schema
    return schema


def check_seed(seed: Any) -> int:
    """The run seed as an int; a one-line ConfigError for anything else (``seed=abc``).

    Examples
    --------
    >>> check_seed(42)
    42
    >>> check_seed("abc")
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: seed='abc' must be an integer (e.g. seed=42)
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed={seed!r} must be an integer (e.g. seed=42)")
    return int(seed)


@dataclass
class BoardConfig:
    """A target board: what the fit check, latency estimate and templates need."""

    name: str = MISSING  # short id, equals the file name (board=<name>)
    display_name: str = MISSING  # e.g. "Arduino Nano 33 BLE Sense"
    mcu: str = MISSING  # e.g. "nRF52840"
    core: str = MISSING  # key of the cycles-per-MAC table, e.g. "cortex-m4f"
    clock_mhz: float = MISSING
    flash_kb: int = MISSING  # program flash available to the application
    ram_kb: int = MISSING  # SRAM available to the application
    fpu: str = "none"  # "none", "sp" (single precision), "dp"
    dsp_extensions: List[str] = field(default_factory=list)  # e.g. ["armv7e-m dsp", "cmsis-nn"]
    sensors: Dict[str, str] = field(default_factory=dict)  # sensor -> part and rates
    sample_rates_hz: Dict[str, float] = field(default_factory=dict)  # what the HAL samples at
    runtime: str = "engine"  # "engine" (the model compiled to C99), "tflm" (TFLite Micro) or "litert" (LiteRT, Linux)
    template: str = MISSING  # project kind under firmware_templates/boards/
    project_board: str = ""  # the board's id in that tooling: FQBN, <platform>:<pio board>, IDF target, PICO_BOARD
    toolchain: str = "host-cc"
    emulator: str = ""  # QEMU machine that runs this board's firmware (qemu-system-arm -M <name>); "" none
    check_inferences: int = 6  # inferences of the emulated check run (test samples compiled in)
    measure_build: bool = True  # Cortex-M cores: build the suite's C bare-metal to measure flash/RAM (needs arm-none-eabi-gcc)
    hal_ram_frames: int = 0  # float frames the board's HAL buffers (its sample ring; the fit check counts them)
    runtime_flash_kb: float = 0.0  # estimate of the runtime's own code size (runtime: tflm; includes the platform)
    platform_flash_kb: float = 0.0  # estimate of the OS/SDK + C library alone (runtime: engine adds measured code)
    app_flash_kb: float = 0.0  # estimate of the app code + HAL + DSP front end
    stack_reserve_kb: float = 0.0  # RAM kept for stack, heap and the SDK
    arena_margin: float = 0.1  # fraction added to the measured arena (fit check + firmware)
    notes: str = ""


@dataclass
class TrainerConfig:
    """Keras training settings shared by every app."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"  # "constant" or "cosine"
    early_stopping_patience: int = 8  # epochs without improvement; 0 disables
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    tensorboard: bool = True
    verbose: int = 2  # 2: one bar over the epochs (a line every 15 s off a terminal); 1: Keras' own; 0: silent
    deterministic: bool = True  # tf.config.experimental.enable_op_determinism

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"trainer.epochs={self.epochs} must be >= 1 (an untrained model is never deployed)")
        if self.batch_size < 1:
            raise ConfigError(f"trainer.batch_size={self.batch_size} must be >= 1")
        if not self.learning_rate > 0:
            raise ConfigError(f"trainer.learning_rate={self.learning_rate} must be > 0 (e.g. 0.001)")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"trainer.lr_schedule={self.lr_schedule!r} must be 'constant' or 'cosine'")
        if self.early_stopping_patience < 0:
            raise ConfigError(f"trainer.early_stopping_patience={self.early_stopping_patience} must be >= 0 (0 disables)")
        if self.weight_decay < 0:
            raise ConfigError(f"trainer.weight_decay={self.weight_decay} must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"trainer.label_smoothing={self.label_smoothing} must be in [0, 1)")


@dataclass
class PruningConfig:
    """Magnitude pruning (Keras 3 implementation in common/deploy/prune.py)."""

    enabled: bool = False
    target_sparsity: float = 0.5  # fraction of weights set to zero at the end
    start_epoch: int = 0
    end_epoch: int = 10  # polynomial schedule from 0 to target between these epochs
    frequency: int = 50  # steps between mask updates
    fine_tune_epochs: int = 10  # epochs after end_epoch with the masks frozen
    power: float = 3.0  # exponent of the polynomial sparsity schedule
    learning_rate: Optional[float] = None  # Adam LR while pruning; None: trainer.learning_rate / 10


@dataclass
class OptimizeConfig:
    """Post-training optimisation and verification settings."""

    variants: List[str] = field(default_factory=lambda: ["float32", "float16", "int8"])
    representative_samples: int = 300  # calibration examples for int8
    per_channel: bool = True
    verify_samples: int = 200  # inputs compared between LiteRT and TFLM
    max_eval_samples: Optional[int] = None  # cap on test examples run on TFLM (None: all)
    pruning: PruningConfig = field(default_factory=PruningConfig)


def board_from_cfg(cfg: Any) -> BoardConfig:
    """A BoardConfig from the composed ``cfg.board`` node."""
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else cfg
    names = {f.name for f in dataclasses.fields(BoardConfig)}
    return BoardConfig(**{k: v for k, v in data.items() if k in names})
