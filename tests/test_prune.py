"""Keras 3 magnitude pruning (common/deploy/prune.py)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from tinyml_suite.common.errors import ConfigError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def test_polynomial_schedule():
    from tinyml_suite.common.deploy.prune import polynomial_sparsity

    kw = dict(target=0.8, begin_step=10, end_step=110)
    assert polynomial_sparsity(0, **kw) == 0.0
    assert polynomial_sparsity(10, **kw) == 0.0
    assert polynomial_sparsity(60, **kw) == pytest.approx(0.8 * (1 - 0.5**3))
    assert polynomial_sparsity(110, **kw) == pytest.approx(0.8)
    assert polynomial_sparsity(500, **kw) == pytest.approx(0.8)
    s = [polynomial_sparsity(t, **kw) for t in range(120)]
    assert all(b >= a for a, b in zip(s, s[1:]))  # never decreases


def _small_model(seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((32, 2))
    h = keras.layers.Conv1D(8, 5, activation="relu", name="conv")(inp)
    h = keras.layers.SeparableConv1D(8, 3, activation="relu", name="sep")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="head")(h))


def test_callback_reaches_target_and_keeps_zeros():
    """A few seconds of training on random data: every kernel ends at the target
    sparsity (to rounding of one weight) and weights pruned at the end of the schedule
    stay exactly zero through fine-tuning."""
    from tinyml_suite.common.deploy.prune import (
        prunable_kernels,
        prune_and_finetune,
        sparsity_report,
    )

    model = _small_model()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 2)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    report = prune_and_finetune(
        model, x, y, loss="sparse_categorical_crossentropy", metrics=[],
        target_sparsity=0.6, start_epoch=0, end_epoch=2, frequency=2, fine_tune_epochs=2,
        learning_rate=1e-2, batch_size=16,
    )
    names = [n for n, _ in prunable_kernels(model)]
    assert names == ["conv/kernel", "sep/depthwise_kernel", "sep/pointwise_kernel", "head/kernel"]
    for name, var in prunable_kernels(model):
        w = var.numpy()
        assert abs((w == 0).mean() - 0.6) <= 1.0 / w.size + 1e-9, (name, (w == 0).mean())
        assert report["per_layer"][name] == pytest.approx((w == 0).mean(), abs=1e-4)
    assert report["overall"] == pytest.approx(0.6, abs=0.01)
    # fine-tune more: the zeros stay where they are
    zeros_before = {n: v.numpy() == 0 for n, v in prunable_kernels(model)}
    from tinyml_suite.common.deploy.prune import MagnitudePruning

    cb = MagnitudePruning(target_sparsity=0.6, begin_step=0, end_step=1, frequency=1)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[cb])
    for n, v in prunable_kernels(model):
        assert np.all(v.numpy()[zeros_before[n]] == 0), n
    assert sparsity_report(model)["overall"] == pytest.approx(0.6, abs=0.01)


def test_pruning_config_errors():
    from tinyml_suite.common.deploy.prune import check_pruning_config

    good = dict(target_sparsity=0.5, start_epoch=0, end_epoch=4, frequency=10, fine_tune_epochs=2)
    check_pruning_config(SimpleNamespace(**good))
    for key, value, message in (
        ("target_sparsity", 1.0, "target_sparsity=1.0"),
        ("end_epoch", 0, "start_epoch < end_epoch"),
        ("frequency", 0, "frequency=0"),
        ("fine_tune_epochs", -1, "fine_tune_epochs=-1"),
    ):
        with pytest.raises(ConfigError, match=message):
            check_pruning_config(SimpleNamespace(**{**good, key: value}))


@pytest.mark.slow
def test_pruned_toy_model_keeps_its_accuracy():
    """Toy tones (3 classes, chance 1/3): train, prune to 50%, fine-tune.

    Margin: pruned accuracy on held-out tones >= 0.9 and at most 0.05 below the
    unpruned model (measured here: 1.00 before and after).
    """
    import keras
    from toy import ToyRaw, ToyTones, build_toy_model

    from tinyml_suite.common.deploy.prune import prune_and_finetune

    keras.utils.set_random_seed(1)
    data = ToyTones(seed=1, cache=False, n_per_class=100).load()
    feats = ToyRaw(sample_rate=data.sample_rate)
    x, y = feats(data.train.x), data.train.y
    xt, yt = feats(data.test.x), data.test.y
    model = build_toy_model(x.shape[1:], 3, filters=8)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    before = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    report = prune_and_finetune(
        model, x, y, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
        target_sparsity=0.5, start_epoch=0, end_epoch=4, frequency=5, fine_tune_epochs=3,
        learning_rate=1e-3, batch_size=32,
    )
    after = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    assert report["overall"] == pytest.approx(0.5, abs=0.01)
    assert all(abs(s - 0.5) < 0.02 for s in report["per_layer"].values()), report["per_layer"]
    assert before >= 0.9, before
    assert after >= 0.9 and after >= before - 0.05, (before, after)
