"""Per-epoch augmentation: fresh shift, room, noise and gain (datasets/epoch_augment.py), the
wake_word app's epoch_inputs, and the trainer's per-epoch dataset (common/train.py EpochData)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tinyml_suite.common.data import DataSplits, Split
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.datasets.audio_augment import active_rms
from tinyml_suite.datasets.epoch_augment import EpochAugmentParams, active_levels, fresh_clips, noise_bank

SR = 16000
QUIET = EpochAugmentParams(share=1.0, gain_db=(0.0, 0.0), noise_prob=0.0, rir_prob=0.0)


def _bursts(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clips of digital silence with one 0.3 s tone burst each, at a random onset."""
    x = np.zeros((n, SR), np.float32)
    onsets = rng.integers(0, SR - 4800, size=n)
    burst = 0.2 * np.sin(2 * np.pi * 440 * np.arange(4800) / SR).astype(np.float32)
    for i, o in enumerate(onsets):
        x[i, o : o + 4800] = burst
    return x, onsets, np.full(n, 4800)


def test_shift_moves_the_whole_word_to_the_reported_onset() -> None:
    rng = np.random.default_rng(1)
    x, onsets, lengths = _bursts(64, rng)
    y, new_on = fresh_clips(x, np.random.default_rng(2), QUIET, onsets=onsets, lengths=lengths, noise=np.zeros((0, 1)), rirs=[])
    assert np.all((new_on >= 0) & (new_on <= SR - 4800))
    assert np.mean(new_on != onsets) > 0.9  # new places, not the old ones
    for i in range(len(x)):  # the burst is whole, exactly where reported, nothing elsewhere
        np.testing.assert_array_equal(y[i, new_on[i] : new_on[i] + 4800], x[i, onsets[i] : onsets[i] + 4800])
        assert np.count_nonzero(y[i]) == np.count_nonzero(x[i])
    # a clip without a word (onset -1) is rolled anywhere and reported as -1
    y2, on2 = fresh_clips(x[:4], np.random.default_rng(3), QUIET, onsets=np.full(4, -1), lengths=np.zeros(4),
                          noise=np.zeros((0, 1)), rirs=[])
    assert on2.tolist() == [-1] * 4 and y2.shape == (4, SR)


def test_noise_is_added_at_the_drawn_snr_and_gain_never_clips() -> None:
    rng = np.random.default_rng(4)
    x, onsets, lengths = _bursts(200, rng)
    bank = noise_bank(np.random.default_rng(5), sample_rate=SR, seconds=2.0)
    p = EpochAugmentParams(share=1.0, shift=False, gain_db=(0.0, 0.0), noise_prob=1.0, snr_db=(10.0, 10.0), rir_prob=0.0)
    y, _ = fresh_clips(x, np.random.default_rng(6), p, onsets=onsets, lengths=lengths, noise=bank, rirs=[])
    added = y - x
    snr = 20 * np.log10(active_levels(x) / np.sqrt(np.mean(added.astype(np.float64) ** 2, axis=1)))
    assert np.all(np.abs(snr - 10.0) < 0.5), snr.min()
    loud = EpochAugmentParams(share=1.0, shift=False, gain_db=(30.0, 30.0), noise_prob=0.0, rir_prob=0.0)
    z, _ = fresh_clips(x, np.random.default_rng(7), loud, onsets=onsets, lengths=lengths, noise=bank, rirs=[])
    assert np.abs(z).max() <= 0.99 + 1e-6  # +30 dB would clip: the gain is limited instead
    np.testing.assert_allclose(z / np.abs(z).max(axis=1, keepdims=True), x / np.abs(x).max(axis=1, keepdims=True),
                               atol=1e-5)  # a scaled copy, not a distorted one


def test_room_keeps_the_level_and_spreads_the_word_in_time() -> None:
    rng = np.random.default_rng(8)
    x, onsets, lengths = _bursts(16, rng)
    onsets[:] = 2000  # room for the tail after the burst
    x[:] = 0
    x[:, 2000:6800] = 0.2 * np.sin(2 * np.pi * 440 * np.arange(4800) / SR)
    decay = np.exp(-np.arange(4000) / 800.0) * np.random.default_rng(9).standard_normal(4000)
    p = EpochAugmentParams(share=1.0, shift=False, gain_db=(0.0, 0.0), noise_prob=0.0, rir_prob=1.0)
    y, _ = fresh_clips(x, rng, p, onsets=onsets, lengths=lengths, noise=np.zeros((0, 1)), rirs=[decay.astype(np.float32)])
    np.testing.assert_allclose(np.sqrt(np.mean(y**2, axis=1)), np.sqrt(np.mean(x**2, axis=1)), rtol=1e-4)
    tail = np.abs(y[:, 6800:8400]).mean(axis=1)
    assert np.all(tail > 0.05 * np.abs(y[:, 2000:6800]).mean(axis=1))  # reverberant energy after the word


def test_same_seed_same_copies_and_batched_levels_match_active_rms() -> None:
    rng = np.random.default_rng(10)
    x = (0.05 * rng.standard_normal((8, SR))).astype(np.float32)
    bank = noise_bank(np.random.default_rng(11), sample_rate=SR, seconds=0.5)
    args = dict(onsets=np.full(8, 1000), lengths=np.full(8, 3000), noise=bank, rirs=[np.ones(8, np.float32) / 8])
    a, _ = fresh_clips(x, np.random.default_rng(12), EpochAugmentParams(rir_prob=0.5), **args)
    b, _ = fresh_clips(x, np.random.default_rng(12), EpochAugmentParams(rir_prob=0.5), **args)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(active_levels(x), [active_rms(r) for r in x], rtol=1e-6)


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="share"):
        EpochAugmentParams(share=1.5)
    with pytest.raises(ConfigError, match="snr_db"):
        EpochAugmentParams(snr_db=(30.0, 5.0))


def _tiny_ctx(n: int = 40) -> SimpleNamespace:
    from tinyml_suite.common.features.audio import Mfcc

    rng = np.random.default_rng(13)
    x, onsets, lengths = _bursts(n, rng)
    x += (0.001 * rng.standard_normal(x.shape)).astype(np.float32)
    y = np.arange(n) % 3  # yes, _silence_, _unknown_
    onsets = np.where(y == 1, -1, onsets)
    split = Split(x[:, None, :], y, meta={"onset": onsets, "length": np.where(y == 1, 0, lengths)})
    data = DataSplits(split, split, split, sample_rate=SR, channels=("mic",), task="classification",
                      labels=("yes", "_silence_", "_unknown_"))
    return SimpleNamespace(data=data, features=Mfcc(sample_rate=SR), smoke=False)


def test_wake_word_epoch_inputs_renew_the_share_deterministically() -> None:
    from tinyml_suite.apps.wake_word.app import WakeWordApp

    ctx = _tiny_ctx()
    X = ctx.features(ctx.data.train.x)
    off = WakeWordApp(epoch_augment={"share": 0.0})
    assert off.epoch_inputs(ctx, X) is None  # the cached draw, as before
    app = WakeWordApp(epoch_augment={"share": 0.5}, spec_augment={"prob": 0.0}, seed=3)
    make = app.epoch_inputs(ctx, X)
    e0, e1, e1b = make(0), make(1), make(1)
    assert e0.shape == X.shape and e0.dtype == np.float32
    np.testing.assert_array_equal(e1, e1b)  # an epoch's inputs depend on the seed and the epoch only
    changed0 = np.any(e0 != X, axis=(1, 2, 3))
    changed1 = np.any(e1 != X, axis=(1, 2, 3))
    assert 0.2 < changed0.mean() < 0.8 and np.any(changed0 != changed1)  # about half, a different half
    # untouched inputs are the cached features exactly
    np.testing.assert_array_equal(e0[~changed0], X[~changed0])
    masked = WakeWordApp(epoch_augment={"share": 0.5}, spec_augment={"prob": 1.0, "time_masks": 1, "time_width": 5,
                                                                     "freq_masks": 0}, seed=3)
    m0 = masked.epoch_inputs(ctx, X)(0)
    assert np.mean(np.any(m0 != X, axis=(1, 2, 3))) > 0.9  # fresh masks on (nearly) every input
    # with per-epoch inputs the fixed masks of training_arrays are not applied on top
    X_tr, _ = masked.training_arrays(X, ctx.data.train, ctx.data)
    np.testing.assert_array_equal(X_tr, X)


@pytest.mark.slow
def test_trainer_fits_on_new_inputs_every_epoch() -> None:
    import keras

    from tinyml_suite.common.train import EpochData

    y = np.arange(64) % 2
    calls: list[int] = []

    def make(epoch: int) -> np.ndarray:
        calls.append(epoch)
        return np.full((64, 3), float(epoch), np.float32) + y[:, None]

    data = EpochData(make, y, None, batch_size=16, seed=0, epochs=3)
    assert len(data) == 4
    seen = []
    for _epoch in range(3):  # the adapter's calls, as Keras makes them
        data.on_epoch_begin()
        seen.append({float(data[i][0][:, 0].min()) for i in range(len(data))})
        data.on_epoch_end()
    data.close()
    assert sorted(calls) == [0, 1, 2] and seen == [{0.0}, {1.0}, {2.0}]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    calls.clear()
    fit_data = EpochData(make, y, np.ones(64, np.float32), batch_size=16, seed=0, epochs=3)
    hist = model.fit(fit_data, epochs=3, verbose=0)
    fit_data.close()
    assert len(hist.history["loss"]) == 3 and sorted(calls) == [0, 1, 2]
