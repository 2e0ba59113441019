"""A tiny recipe used only by tests: classify tone frequency from raw windows.

It lets the pipeline and deploy layer be tested end to end in seconds, without any of
the four apps. Configs are in tests/conf (added to Hydra's search path by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from tinyml_suite.common.app import App
from tinyml_suite.common.data import DataKind, Dataset, DataSplits, Split
from tinyml_suite.common.features import FeatureExtractor

LABELS = ("low", "mid", "high")


class ToyTones(Dataset):
    """Sine tones at three frequency bands plus noise, 1 channel, 128 samples at 1 kHz."""

    name = "toy_tones"
    task = "classification"
    modality = "tones"

    def _load(self) -> DataSplits:
        rng = np.random.default_rng(self.seed)
        n = int(self.options.get("n_per_class", 60))
        if self.options.get("smoke"):
            n = min(n, 20)

        def make(count: int) -> Split:
            xs, ys = [], []
            t = np.arange(128) / 1000.0
            for label, (lo, hi) in enumerate([(20, 60), (100, 160), (220, 320)]):
                f = rng.uniform(lo, hi, count)
                ph = rng.uniform(0, 2 * np.pi, count)
                x = np.sin(2 * np.pi * f[:, None] * t + ph[:, None])
                x += 0.3 * rng.standard_normal(x.shape)
                xs.append(x[:, None, :])
                ys.append(np.full(count, label))
            return Split(np.concatenate(xs), np.concatenate(ys), np.arange(3 * count) % 5)

        return DataSplits(make(n), make(n // 3), make(n // 3), 1000.0, ("x",), "classification", LABELS, self.name)


@dataclass(kw_only=True, frozen=True)
class ToyRawParams:
    IMPLEMENTATION_VERSION: ClassVar[int] = 1
    C_PREFIX: ClassVar[str] = "TOY_RAW"
    scale: float = 1.0


class ToyRaw(FeatureExtractor):
    """Raw samples, scaled, as (samples, channels)."""

    kind = "toy_raw"
    Params = ToyRawParams

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.transpose(x, (0, 2, 1)) * self.params.scale).astype(np.float32)

    def dsp_params(self) -> list:
        return [self.params]

    def c_sources(self) -> list[str]:  # the device front end (absolute: outside the package)
        return [str(Path(__file__).resolve().parent / "firmware" / "toy_raw_features.c")]


def build_toy_model(input_shape, n_outputs, filters: int = 8):
    import keras

    inp = keras.Input(input_shape)
    h = keras.layers.Conv1D(filters, 9, strides=2, activation="relu")(inp)
    h = keras.layers.Conv1D(filters, 5, strides=2, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(n_outputs, activation="softmax")(h)
    return keras.Model(inp, out, name="toy_cnn")


def build_toy_dense(input_shape, n_outputs, units: int = 16):
    import keras

    inp = keras.Input(input_shape)
    h = keras.layers.Flatten()(inp)
    h = keras.layers.Dense(units, activation="relu")(h)
    out = keras.layers.Dense(n_outputs, activation="softmax")(h)
    return keras.Model(inp, out, name="toy_dense")


class ToyApp(App):
    name = "toy"
    task = "classification"
    headline = "accuracy"
    needs = DataKind(modality="tones")
