"""Training: build the configured Keras model and fit it with the app's loss.

TensorFlow is imported here, lazily, and only by this stage and the deploy stages.
"""

from __future__ import annotations

import csv
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, TinyMLError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.context import RunContext

__all__ = ["build_model", "train_model", "configure_tensorflow", "adapt_normalization", "epoch_progress"]

log = logging.getLogger("tinyml")


def configure_tensorflow(seed: int, deterministic: bool = True) -> None:
    """Seed Python, numpy and TensorFlow; optionally make TF ops deterministic."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    # fresh layer-name counters (and memory) per run: the same config then gives the same
    # layer names, hence byte-identical .tflite files, even when runs share a process
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if deterministic:
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception as exc:  # pragma: no cover - depends on TF build
            log.warning("op determinism unavailable: %s", exc)


def build_model(ctx: RunContext) -> Any:
    """Instantiate ``cfg.model`` with the input shape and output size filled in."""
    from tinyml_suite.common.context import instantiate_logged

    assert ctx.data is not None
    configure_tensorflow(ctx.seed, bool(ctx.cfg.trainer.get("deterministic", True)))
    input_shape = tuple(int(d) for d in ctx.X["train"].shape[1:])
    n_outputs = ctx.app.output_size(ctx.data)
    model = instantiate_logged(ctx.cfg.model, input_shape=input_shape, n_outputs=n_outputs)
    import keras

    if not isinstance(model, keras.Model):
        raise ConfigError(f"model._target_={ctx.cfg.model.get('_target_')} did not return a keras.Model")
    return model


def model_choice(ctx: RunContext) -> str:
    """The model's config name (``model=<name>``), else the Keras model's name."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            choice = HydraConfig.get().runtime.choices.get("model")
            if choice:
                return str(choice)
    except Exception:  # pragma: no cover - outside a Hydra run
        pass
    return str(ctx.cfg.model.get("name", getattr(ctx.model, "name", "model")))


def adapt_normalization(model: Any, x: np.ndarray) -> list[str]:
    """Adapt every ``keras.layers.Normalization`` built without statistics to ``x``.

    A model builder cannot see the data; a ``Normalization()`` layer at its input is
    given the mean and variance of the training inputs (what the app trains on, e.g.
    normal windows only) here, before training, and carries them into the ``.tflite``.
    Returns the names of the layers adapted.
    """
    import keras

    names = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization) and layer.input_mean is None:
            layer.adapt(np.asarray(x, dtype=np.float32))
            names.append(layer.name)
    return names


def epoch_progress(verbose: int, epochs: int, desc: str = "train") -> tuple[list[Any], int]:
    """Callbacks and the Keras ``verbose`` value for ``trainer.verbose``.

    2 (the default): one progress bar over the epochs on a terminal, with the latest loss
    and validation figures; off a terminal a line every ``LINE_INTERVAL_S`` seconds
    (``common/console.py``). 1: Keras' own output (a bar per epoch). 0: nothing.
    """
    if verbose != 2:
        return [], verbose
    import keras

    from tinyml_suite.common.console import Progress

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.bar = Progress(desc, total=epochs, unit="epoch")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            shown = {k: float(v) for k, v in (logs or {}).items() if k in ("loss", "val_loss") or k.startswith("val_")}
            self.bar.update(1, **dict(list(shown.items())[:3]))

        def on_train_end(self, logs: dict | None = None) -> None:
            self.bar.close()

    return [EpochProgress()], 0


def _schedule(cfg: Any, steps_per_epoch: int) -> Any:
    import keras

    lr = float(cfg.learning_rate)
    kind = str(cfg.get("lr_schedule", "constant"))
    if kind == "constant":
        return lr
    if kind == "cosine":
        total = max(1, int(cfg.epochs) * steps_per_epoch)
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total, alpha=0.02)
    raise ConfigError(f"trainer.lr_schedule={kind!r} is not supported; choose 'constant' or 'cosine'")


def train_model(ctx: RunContext) -> dict[str, Any]:
    """Fit ``ctx.model``; keep the best epoch; save ``model.keras``; return a summary."""
    import keras

    from tinyml_suite.common.io import atomic_path

    assert ctx.data is not None
    cfg = ctx.cfg.trainer
    app = ctx.app
    x_tr, y_tr = app.training_arrays(ctx.X["train"], ctx.data.train, ctx.data)
    x_va, y_va = app.training_arrays(ctx.X["val"], ctx.data.val, ctx.data)
    if len(x_tr) == 0:
        raise ConfigError("the training split is empty after the app's filtering; check the dataset")
    w_tr = app.sample_weights(ctx.data.train, ctx.data)
    fresh = app.epoch_inputs(ctx, x_tr)
    adapted = adapt_normalization(ctx.model, x_tr)
    if adapted:
        log.info("Adapted %s to the %d training inputs", ", ".join(adapted), len(x_tr))
    batch = int(cfg.batch_size)
    if int(cfg.epochs) < 1 or batch < 1:  # the schemas refuse these too; never train nothing
        raise ConfigError(
            f"trainer.epochs={cfg.epochs} and trainer.batch_size={cfg.batch_size} must both be >= 1; "
            "an untrained model is never deployed"
        )
    steps = max(1, math.ceil(len(x_tr) / batch))
    wd = float(cfg.get("weight_decay", 0.0))
    opt = (
        keras.optimizers.AdamW(_schedule(cfg, steps), weight_decay=wd)
        if wd > 0
        else keras.optimizers.Adam(_schedule(cfg, steps))
    )
    ctx.model.compile(optimizer=opt, loss=app.loss(), metrics=app.keras_metrics())
    monitor, mode = app.monitor()
    has_val = len(x_va) > 0
    if not has_val:
        monitor = monitor.replace("val_", "")
    ckpt_path = ctx.run_dir / "checkpoints" / "best.weights.h5"
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)
    callbacks: list[Any] = [
        keras.callbacks.ModelCheckpoint(
            str(ckpt_path), monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True
        ),
    ]
    patience = int(cfg.get("early_stopping_patience", 0))
    if patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience)
        )
    if bool(cfg.get("tensorboard", False)):
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(ctx.run_dir / "tensorboard")))
    extra_callbacks, ctx.state.extra_callbacks = ctx.state.extra_callbacks, []
    callbacks += list(extra_callbacks)
    shown, keras_verbose = epoch_progress(int(cfg.get("verbose", 2)), int(cfg.epochs))
    callbacks += shown
    epoch_data = None
    if fresh is not None:  # the app renews the training inputs every epoch
        epoch_data = EpochData(fresh, y_tr, w_tr, batch_size=batch, seed=int(ctx.cfg.get("seed", 0)),
                               epochs=int(cfg.epochs))
        fit_args: dict[str, Any] = {"x": epoch_data}
    else:
        fit_args = {"x": x_tr, "y": y_tr, "sample_weight": w_tr, "batch_size": batch, "shuffle": True}
    try:
        hist = ctx.model.fit(
            **fit_args,
            validation_data=(x_va, y_va) if has_val else None,
            epochs=int(cfg.epochs),
            callbacks=callbacks,
            verbose=keras_verbose,
        )
    finally:
        if epoch_data is not None:
            epoch_data.close()
    if ckpt_path.exists():
        ctx.model.load_weights(str(ckpt_path))
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    if not history.get("loss"):
        raise ConfigError(f"training ran no epoch (trainer.epochs={cfg.epochs}); an untrained model is never deployed")
    finite = np.isfinite(history["loss"])
    if not finite.any() or (not finite.all() and not ckpt_path.exists()):
        raise TinyMLError(
            f"training diverged: the loss is {history['loss'][-1]} after epoch {len(history['loss'])}; "
            "lower trainer.learning_rate or check the data for NaN/inf"
        )
    if not finite.all():
        log.warning("The loss became NaN/inf at epoch %d; keeping the best earlier epoch",
                    int(np.argmin(finite)) + 1)
    ctx.history = history
    # history.csv: one row per epoch
    keys = list(history)
    with atomic_path(ctx.run_dir / "history.csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", *keys])
        for i in range(len(history[keys[0]]) if keys else 0):
            writer.writerow([i + 1, *(history[k][i] for k in keys)])
    with atomic_path(ctx.run_dir / "model.keras") as tmp:
        keras_path = tmp.with_suffix(".keras")
        ctx.model.save(str(keras_path))
        keras_path.replace(tmp)
    ctx.artifacts["model_keras"] = ctx.run_dir / "model.keras"
    best = None
    if monitor in history and history[monitor]:
        arr = np.asarray(history[monitor])
        best = int(np.argmin(arr) if mode == "min" else np.argmax(arr)) + 1
    params = int(ctx.model.count_params())
    ctx.metrics["model"].update({"params": params, "name": model_choice(ctx)})
    log.info("Trained %d epochs; best epoch %s by %s; %d parameters", len(history.get("loss", [])), best, monitor, params)
    out: dict[str, Any] = {"epochs_run": len(history.get("loss", [])), "best_epoch": best, "monitor": monitor}
    if epoch_data is not None and epoch_data.times:
        wall, cpu = np.mean(epoch_data.times, axis=0)
        out["epoch_inputs_s"] = {"wall": float(wall), "cpu": float(cpu), "epochs": len(epoch_data.times)}
        log.info("Fresh training inputs: %.1f s wall (%.1f s CPU) per epoch", wall, cpu)
    return out


def EpochData(make: Any, y: np.ndarray, w: np.ndarray | None, *, batch_size: int, seed: int,
              epochs: int) -> Any:
    """A ``keras.utils.PyDataset`` whose inputs are ``make(epoch)``: new every epoch.

    ``make(e)`` (the app's :meth:`~tinyml_suite.common.app.App.epoch_inputs`) returns the
    training inputs of epoch ``e`` in the order of ``y``; the next epoch's inputs are made
    in a background thread while the current epoch trains (numpy and the FFTs release the
    GIL). Batches are a fresh permutation each epoch (seeded). ``times`` collects the
    (wall, CPU) seconds of every ``make``.
    """
    import keras

    class _EpochData(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            from concurrent.futures import ThreadPoolExecutor

            self.y = np.asarray(y)
            self.w = None if w is None else np.asarray(w, dtype=np.float32)
            self.batch = int(batch_size)
            self.times: list[tuple[float, float]] = []
            self.epoch = 0
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="epoch-inputs")
            self.x, self.order = self._made(0)
            self.next = self.pool.submit(self._made, 1) if epochs > 1 else None
            self.begun = False

        def _made(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
            import time

            t0, c0 = time.perf_counter(), time.thread_time()
            x = np.asarray(make(epoch), dtype=np.float32)
            if len(x) != len(self.y):
                raise TinyMLError(f"internal: epoch_inputs gave {len(x)} inputs for {len(self.y)} targets")
            self.times.append((time.perf_counter() - t0, time.thread_time() - c0))
            return x, np.random.default_rng([seed, 4246, epoch]).permutation(len(self.y))

        def __len__(self) -> int:
            return max(1, math.ceil(len(self.y) / self.batch))

        def __getitem__(self, i: int) -> tuple[np.ndarray, ...]:
            x, order = self.x, self.order  # one consistent epoch, even while the next is swapped in
            idx = np.sort(order[i * self.batch : (i + 1) * self.batch])
            if self.w is None:
                return x[idx], self.y[idx]
            return x[idx], self.y[idx], self.w[idx]

        def on_epoch_begin(self) -> None:
            if not self.begun:  # epoch 0 was made in __init__
                self.begun = True
                return
            self.epoch += 1
            self.x, self.order = self.next.result() if self.next is not None else self._made(self.epoch)
            self.next = self.pool.submit(self._made, self.epoch + 1) if self.epoch + 1 < epochs else None

        def close(self) -> None:
            if self.next is not None:
                self.next.cancel()
            self.pool.shutdown(wait=True)

    return _EpochData()
