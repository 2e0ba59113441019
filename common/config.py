"""Typed schemas for the Hydra config tree, registered in the ConfigStore.

The board and features groups (and the trainer and optimize groups) are validated by
dataclasses: each ``conf/board/<name>.yaml`` starts ``defaults: [base_board, _self_]``,
so a misspelt key or a value of the wrong type stops composition with one line. The
recipe stores them in the ConfigStore (``common/registry.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional  # noqa: UP035 - OmegaConf needs typing generics

from omegaconf import MISSING

__all__ = ["BoardConfig", "OptimizeConfig", "PruningConfig", "TrainerConfig", "board_from_cfg"]


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
    verbose: int = 2  # Keras fit verbosity (0 silent, 1 bar, 2 one line per epoch)
    deterministic: bool = True  # tf.config.experimental.enable_op_determinism


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
