"""The state of one recipe run, shared by every stage, and the logged ``instantiate``.

:class:`RunContext` is what a stage reads and produces (``common/pipeline.py`` runs
the stages; ``common/stages.py`` holds the deploy-side ones); :func:`instantiate_logged`
builds the configured objects (app, dataset, features, model) with one log line each.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from tinyml_suite.common.app import App
from tinyml_suite.common.console import RUN_LOG_ONLY
from tinyml_suite.common.data import Dataset, DataSplits
from tinyml_suite.common.errors import ConfigError, TinyMLError
from tinyml_suite.common.features import FeatureExtractor

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.deploy.arena import ArenaResult
    from tinyml_suite.common.deploy.engine.compiler import CompiledModel
    from tinyml_suite.common.deploy.firmware import FirmwareSpec

__all__ = ["RunContext", "RunState", "instantiate_logged"]

log = logging.getLogger("tinyml")


@dataclasses.dataclass
class RunState:
    """What a stage hands to a later one, besides the data, the model and the metrics.

    Every field starts empty; the comment names who sets it. An app keeps its own values
    between its hooks (streams, predictions for the plots) in :attr:`app`.
    """

    #: App.calibrate's result (the evaluate stage) or the saved run's; None: not calibrated yet
    calibration: dict[str, Any] | None = None
    #: load_run: the saved run's metrics.json
    saved_metrics: dict[str, Any] | None = None
    #: load_run: ``ctx.data`` holds shapes and labels only (check vectors use noise)
    standin_data: bool = False
    #: Keras callbacks the train stage adds to its own (taken once)
    extra_callbacks: list[Any] = dataclasses.field(default_factory=list)
    #: optimize: the .tflite bytes of each variant
    tflite: dict[str, bytes] = dataclasses.field(default_factory=dict)
    #: verify (common/variants.py): the variants.csv rows, by variant
    variant_rows: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: verify (or the deploy stage, measuring it when verify did not run): the TFLM arena
    arena: ArenaResult | None = None
    #: verify: the arena with the board's margin, bytes
    arena_bytes: int | None = None
    #: verify: the int8 model's operators
    ops: list[str] = dataclasses.field(default_factory=list)
    #: verify: the int8 input and output tensors (scale, zero_point, shape, dtype)
    input_quant: dict[str, Any] | None = None
    output_quant: dict[str, Any] | None = None
    #: verify: the model compiled to C and the engine block of metrics.json
    engine: CompiledModel | None = None
    engine_figures: dict[str, Any] | None = None
    #: deploy: what the firmware was built from, for the device stage
    firmware_spec: FirmwareSpec | None = None
    firmware_arena_bytes: int | None = None
    #: the app's own values between its hooks
    app: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RunContext:
    """Everything a stage may read or produce during one run."""

    cfg: DictConfig
    run_dir: Path
    app: App
    seed: int
    config_hash: str
    dataset: Dataset | None = None
    data: DataSplits | None = None
    features: FeatureExtractor | None = None
    X: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    model: Any = None  # keras.Model once trained
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    artifacts: dict[str, Path] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    state: RunState = dataclasses.field(default_factory=RunState)

    @property
    def smoke(self) -> bool:
        return bool(self.cfg.get("smoke", False))

    def rng(self, stage: str) -> np.random.Generator:
        """A generator seeded from the run seed and the stage name (reproducible)."""
        return np.random.default_rng([self.seed, sum(map(ord, stage))])

    def float_predict(self, batch_size: int = 256) -> Callable[[np.ndarray], np.ndarray]:
        """The float Keras model as a predictor returning numpy float32."""
        model = self.model

        def predict(X: np.ndarray) -> np.ndarray:
            if len(X) == 0:
                shape = tuple(int(d) for d in model.outputs[0].shape[1:])
                return np.zeros((0, *shape), dtype=np.float32)
            return np.asarray(model.predict(X, batch_size=batch_size, verbose=0), dtype=np.float32)

        return predict


def instantiate_logged(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with a log line naming the target (lightning style)."""
    from hydra.utils import instantiate

    target = node.get("_target_", "?")
    missing = sorted(OmegaConf.missing_keys(node))
    if missing:
        names = missing  # full keys, e.g. "dataset.root"
        raise ConfigError(
            f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} not set: pass "
            + " ".join(f"{n}=<value>" for n in names)
            + " on the command line (or in conf/local/default.yaml)"
        )
    log.info("Instantiating <%s>", target, extra=RUN_LOG_ONLY)
    try:
        return instantiate(node, **kwargs, _convert_="all")
    except Exception as exc:  # unwrap Hydra's InstantiationException for our own errors
        cause = exc
        while cause is not None and not isinstance(cause, TinyMLError):
            cause = cause.__cause__ or (cause.__context__ if cause.__cause__ is None else None)
        if isinstance(cause, TinyMLError):
            raise cause from None
        if isinstance(exc, TypeError) or "TypeError" in type(exc.__cause__).__name__:
            raise ConfigError(f"cannot build <{target}>: {exc.__cause__ or exc}") from exc
        raise
