"""Magnitude pruning for Keras 3 models (tensorflow-model-optimization refuses Keras 3).

How it works
------------
:class:`MagnitudePruning` is a Keras callback. Between ``begin_step`` and ``end_step``
it raises the sparsity of every prunable kernel along the polynomial schedule of Zhu &
Gupta (2017), the one TF-MOT's ``PolynomialDecay`` uses::

    s(t) = s_f * (1 - (1 - (t - t0) / (t1 - t0)) ** power)        t0 <= t <= t1

(``s(t0) = 0``, ``s(t1) = s_f``; ``power=3`` prunes fast early and gently at the end).
Every ``frequency`` steps in that window it recomputes each kernel's mask: the
``round(s(t) * n)`` smallest-magnitude weights are masked. After EVERY training batch it
multiplies the kernels by their masks, so a pruned weight that the optimiser moved is
put back to zero before the next forward pass. After ``end_step`` the masks are frozen
and training continues (fine-tuning) with the pruned weights held at zero.

Prunable kernels: ``Conv1D``/``Conv2D`` (``kernel``), ``DepthwiseConv1D/2D``
(``depthwise_kernel``), ``SeparableConv1D/2D`` (depthwise and pointwise kernels) and
``Dense`` (``kernel``). Biases, normalisation and other variables are left alone.
Because the weights are simply zero (no wrapper layers), the pruned model converts and
saves like any other; nothing needs stripping.

What pruning buys on a microcontroller: TFLite Micro does not skip zero weights, so the
arena, the MACs and the raw ``.tflite`` size do not change; the zeros make the model
compress well (the gzip size is reported), which matters for OTA updates and for
compressed-weight schemes. The accuracy cost is what :func:`sparsity_report` and the
stage's before/after scores show.

Examples
--------
>>> [round(polynomial_sparsity(t, target=0.5, begin_step=0, end_step=100), 3) for t in (0, 50, 100, 200)]
[0.0, 0.438, 0.5, 0.5]
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

__all__ = [
    "MagnitudePruning",  # noqa: F822 - built lazily by __getattr__ (keeps keras unimported)
    "check_pruning_config",
    "polynomial_sparsity",
    "prunable_kernels",
    "prune_and_finetune",
    "sparsity_report",
]

log = logging.getLogger("tinyml")


def polynomial_sparsity(step: int, *, target: float, begin_step: int, end_step: int, power: float = 3.0) -> float:
    """Sparsity at ``step`` on the polynomial schedule (0 before ``begin_step``)."""
    if step < begin_step:
        return 0.0
    if end_step <= begin_step or step >= end_step:
        return float(target)
    frac = (step - begin_step) / (end_step - begin_step)
    return float(target * (1.0 - (1.0 - frac) ** power))


def prunable_kernels(model: Any) -> list[tuple[str, Any]]:
    """``(name, variable)`` of every kernel pruning applies to (nested models included)."""
    import keras

    L = keras.layers
    out: list[tuple[str, Any]] = []

    def walk(m: Any) -> None:
        for layer in m.layers:
            if hasattr(layer, "layers") and layer.layers and not hasattr(layer, "kernel_size"):
                walk(layer)
                continue
            names: list[str] = []
            if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
                names = ["depthwise_kernel", "pointwise_kernel"]
            elif isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
                names = ["depthwise_kernel"]
            elif isinstance(layer, (L.Conv1D, L.Conv2D, L.Dense)):
                names = ["kernel"]
            for attr in names:
                var = getattr(layer, attr, None)
                if var is not None:
                    out.append((f"{layer.name}/{attr}", var))

    walk(model)
    return out


def _mask_for(w: np.ndarray, sparsity: float) -> np.ndarray:
    k = int(round(sparsity * w.size))
    mask = np.ones(w.size, dtype=w.dtype)
    if k > 0:
        order = np.argsort(np.abs(w).ravel(), kind="stable")
        mask[order[:k]] = 0
    return mask.reshape(w.shape)


@lru_cache(maxsize=1)
def _callback_class() -> type:
    """Build the callback class on first use, so importing this module imports no Keras."""
    import keras

    class MagnitudePruning(keras.callbacks.Callback):
        """Keras callback: polynomial-schedule magnitude pruning (see module docstring).

        Parameters
        ----------
        target_sparsity : float in [0, 1)
            fraction of each kernel's weights that are zero from ``end_step`` on
        begin_step, end_step : int
            training steps (batches, counted across epochs) where the schedule starts/ends
        frequency : int > 0
            steps between mask updates inside the schedule
        power : float
            exponent of the polynomial schedule
        """

        def __init__(
            self,
            *,
            target_sparsity: float,
            begin_step: int,
            end_step: int,
            frequency: int = 50,
            power: float = 3.0,
        ) -> None:
            super().__init__()
            self.target = float(target_sparsity)
            self.begin_step = int(begin_step)
            self.end_step = int(end_step)
            self.frequency = max(1, int(frequency))
            self.power = float(power)
            self.step = 0
            self.masks: dict[str, np.ndarray] = {}
            self.kernels: list[tuple[str, Any]] = []
            self.current_sparsity = 0.0

        def on_train_begin(self, logs: Any = None) -> None:
            self.kernels = prunable_kernels(self.model)
            if not self.kernels:
                raise ConfigError("optimize.pruning.enabled=true but the model has no Conv/Dense kernel to prune")
            for name, var in self.kernels:
                self.masks.setdefault(name, np.ones(tuple(var.shape), dtype=np.float32))

        def _update_masks(self) -> None:
            s = polynomial_sparsity(
                self.step, target=self.target, begin_step=self.begin_step, end_step=self.end_step, power=self.power
            )
            self.current_sparsity = s
            for name, var in self.kernels:
                self.masks[name] = _mask_for(np.asarray(var.numpy()), s).astype(np.float32)

        def _apply(self) -> None:
            for name, var in self.kernels:
                w = np.asarray(var.numpy())
                var.assign((w * self.masks[name]).astype(w.dtype))

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.step += 1
            in_window = self.begin_step <= self.step <= self.end_step
            if in_window and ((self.step - self.begin_step) % self.frequency == 0 or self.step == self.end_step):
                self._update_masks()
            self._apply()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs is not None:
                logs["sparsity"] = self.current_sparsity

    return MagnitudePruning


def __getattr__(name: str) -> Any:
    if name == "MagnitudePruning":
        return _callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sparsity_report(model: Any) -> dict[str, Any]:
    """Achieved sparsity (fraction of exact zeros) per prunable kernel and overall."""
    per_layer = {}
    zeros = total = 0
    for name, var in prunable_kernels(model):
        w = np.asarray(var.numpy())
        z = int((w == 0).sum())
        per_layer[name] = round(z / max(w.size, 1), 4)
        zeros += z
        total += w.size
    return {"overall": round(zeros / max(total, 1), 4), "per_layer": per_layer, "weights": int(total)}


def check_pruning_config(pc: Any) -> None:
    """One-line ConfigErrors for impossible pruning settings."""
    t = float(pc.target_sparsity)
    if not 0.0 <= t < 1.0:
        raise ConfigError(f"optimize.pruning.target_sparsity={t} must be in [0, 1) (e.g. 0.5)")
    if int(pc.start_epoch) < 0 or int(pc.end_epoch) <= int(pc.start_epoch):
        raise ConfigError(
            f"optimize.pruning start_epoch={pc.start_epoch}, end_epoch={pc.end_epoch}: "
            "need 0 <= start_epoch < end_epoch"
        )
    if int(pc.frequency) <= 0:
        raise ConfigError(f"optimize.pruning.frequency={pc.frequency} must be a positive number of steps")
    if int(pc.fine_tune_epochs) < 0:
        raise ConfigError(f"optimize.pruning.fine_tune_epochs={pc.fine_tune_epochs} must be >= 0")


def prune_and_finetune(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: Any,
    metrics: list[Any],
    target_sparsity: float,
    start_epoch: int,
    end_epoch: int,
    frequency: int,
    fine_tune_epochs: int,
    learning_rate: float,
    batch_size: int,
    power: float = 3.0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    sample_weight: np.ndarray | None = None,
    verbose: int = 0,
) -> dict[str, Any]:
    """Prune a trained model in place, then fine-tune it with the masks frozen.

    Runs ``end_epoch + fine_tune_epochs`` epochs of training at ``learning_rate``
    (Adam); the sparsity ramps from 0 at ``start_epoch`` to ``target_sparsity`` at
    ``end_epoch``. Returns :func:`sparsity_report` plus the schedule and the history.
    """
    import keras

    steps = max(1, math.ceil(len(x) / int(batch_size)))
    cb = _callback_class()(
        target_sparsity=target_sparsity,
        begin_step=int(start_epoch) * steps,
        end_step=int(end_epoch) * steps,
        frequency=frequency,
        power=power,
    )
    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss=loss, metrics=metrics)
    epochs = int(end_epoch) + int(fine_tune_epochs)
    hist = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=int(batch_size),
        shuffle=True,
        callbacks=[cb],
        verbose=verbose,
    )
    report = sparsity_report(model)
    report.update(
        {
            "target": float(target_sparsity),
            "schedule": {
                "begin_step": cb.begin_step,
                "end_step": cb.end_step,
                "frequency": cb.frequency,
                "power": cb.power,
                "epochs": epochs,
                "steps_per_epoch": steps,
            },
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
        }
    )
    log.info("Pruned to %.1f%% sparsity overall (target %.0f%%)", 100 * report["overall"], 100 * target_sparsity)
    return report
