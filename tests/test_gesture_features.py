"""IMU features (imu_raw, imu_spectral): numpy behaviour, config schemas, and their
device front ends (firmware_templates/dsp/tm_fe_imu_*.c) compiled on the host.

Parity tolerances: imu_raw is bit-exact (the same float32 (x - offset) / scale);
imu_spectral rms/skewness/kurtosis ``rtol 1e-4 + atol 1e-4`` and log band powers
``atol 2e-3`` (float32 C FFT vs numpy's float64 Welch; measured worst cases are
printed by the test on failure and were below 3e-5 / 2e-4 when written).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.common.dsp import ImuSpectralParams, imu_spectral
from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features.imu import ImuRaw, ImuSpectral
from tinyml_suite.datasets.synthetic.gestures import GestureSynth

ROOT = Path(__file__).resolve().parents[1]
DSP = ROOT / "firmware_templates" / "dsp"


@pytest.fixture(scope="module")
def windows():
    d = GestureSynth(seed=5, n_users=5, val_users=1, test_users=1, reps=1, background_reps=1, cache=False).load()
    return d.train.x[:12]


def test_imu_raw_scales_channels_and_transposes(windows):
    f = ImuRaw(sample_rate=50.0, accel_scale=2.0, gyro_scale=8.0)
    out = f(windows)
    assert out.shape == (12, 128, 6) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :, :3], np.transpose(windows[:, :3], (0, 2, 1)) / np.float32(2.0))
    np.testing.assert_array_equal(out[:, :, 3:], np.transpose(windows[:, 3:], (0, 2, 1)) / np.float32(8.0))
    # accel-only data uses the accelerometer scale for its 3 channels
    assert ImuRaw(sample_rate=25.0)(windows[:, :3]).shape == (12, 128, 3)
    custom = ImuRaw(sample_rate=50.0, scale=[1.0, 2.0, 4.0, 1.0, 1.0, 1.0], offset=[0.0, 0.0, 1.0, 0, 0, 0])
    np.testing.assert_allclose(custom(windows)[:, :, 2], (windows[:, 2] - 1.0) / 4.0, rtol=1e-6)


def test_imu_raw_bad_channels_and_scales():
    with pytest.raises(ConfigError, match="9 channels.*features.scale"):
        ImuRaw(sample_rate=50.0)(np.zeros((1, 9, 16)))
    with pytest.raises(ConfigError, match="features.scale has 2 values but the data has 3"):
        ImuRaw(sample_rate=50.0, scale=[1.0, 2.0])(np.zeros((1, 3, 16)))
    with pytest.raises(ConfigError, match="accel_scale"):
        ImuRaw(sample_rate=50.0, accel_scale=0.0)
    with pytest.raises(ConfigError, match="features.bogus"):
        ImuRaw(sample_rate=50.0, bogus=1)


def test_imu_spectral_is_the_dsp_block_per_axis(windows):
    f = ImuSpectral(sample_rate=50.0)
    out = f(windows)
    ref = imu_spectral(windows, sample_rate=50.0, params=ImuSpectralParams(log_floor=1e-6))
    assert out.shape == (12, 6 * 7)
    np.testing.assert_array_equal(out, ref.reshape(12, -1))
    assert f.feature_names[:3] == ["rms", "skewness", "kurtosis"]
    # a shaken window has more 3-6 Hz power on x than an idle one
    assert f.dsp_params()[0].n_features == 7


def test_imu_spectral_refuses_bands_above_nyquist():
    with pytest.raises(ConfigError, match="Nyquist frequency 12.5 Hz"):
        ImuSpectral(sample_rate=25.0, band_edges_hz=[0.5, 4.0, 20.0])
    with pytest.raises(ConfigError, match="nperseg"):
        ImuSpectral(sample_rate=50.0, nperseg=48)


def test_features_configs_compose_with_typed_schemas(compose_cfg):
    cfg = compose_cfg(["app=gesture", "features=imu_spectral", "features.nperseg=32"])
    assert cfg.features.nperseg == 32
    with pytest.raises(Exception, match="npersg"):
        compose_cfg(["app=gesture", "features=imu_spectral", "features.npersg=32"])
    cfg = compose_cfg(["app=gesture", "features=imu_raw"])
    assert cfg.features.accel_scale == 2.0


# -- device front ends ---------------------------------------------------------------------

_DRIVER = r"""
#include <stdio.h>
#include "model_settings.h"
#include "tm_features.h"
int main(void) {
  static float window[TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES];
  static float out[TM_FEATURE_COUNT];
  int n_windows, w, i;
  if (tm_features_init() != 0) return 2;
  if (scanf("%d", &n_windows) != 1) return 3;
  for (w = 0; w < n_windows; ++w) {
    for (i = 0; i < TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES; ++i) {
      if (scanf("%f", &window[i]) != 1) return 4;
    }
    if (tm_features_compute(window, out) != 0) return 5;
    for (i = 0; i < TM_FEATURE_COUNT; ++i) printf("%.9g\n", (double)out[i]);
  }
  return 0;
}
"""


def _build_front_end(extractor, x: np.ndarray, tmp_path: Path) -> np.ndarray:
    """Compile the extractor's c_sources() with generated headers; run it on ``x``."""
    from tinyml_suite.common.deploy.cgen import defines_header, dsp_params_header
    from tinyml_suite.common.deploy.firmware import dsp_defines
    from tinyml_suite.common.deploy.templates import feature_sources

    n, ch, length = x.shape
    ref = extractor(x)  # also tells the extractor the channel count
    (tmp_path / "dsp_params.h").write_text(
        dsp_params_header(dsp_defines(extractor, extractor.sample_rate), config_hash="test")
    )
    settings = {"TM_INPUT_CHANNELS": ch, "TM_WINDOW_SAMPLES": length, "TM_FEATURE_COUNT": int(np.prod(ref.shape[1:]))}
    (tmp_path / "model_settings.h").write_text(
        defines_header("MODEL_SETTINGS_H", settings, tool="test_gesture_features", config_hash="test")
    )
    (tmp_path / "driver.c").write_text(_DRIVER)
    sources = [p for p in feature_sources(extractor) if p.suffix == ".c"]
    exe = compile_c([*sources, tmp_path / "driver.c"], tmp_path / "fe", include_dirs=[tmp_path, DSP,
                    ROOT / "firmware_templates" / "common"], extra_flags=["-DTM_FFT_MAX_N=1024"])
    # %.9g round-trips float32 exactly, so the C code sees the same inputs as numpy
    out = run_numbers(exe, np.concatenate([[n], x.astype(np.float32).ravel()]))
    return ref, out.reshape(ref.shape).astype(np.float32)


@needs_cc()
@pytest.mark.needs_cc
def test_imu_raw_front_end_is_bit_exact(windows, tmp_path):
    ext = ImuRaw(sample_rate=50.0, accel_scale=2.0, gyro_scale=7.5, offset=[0.1])
    ref, c = _build_front_end(ext, windows[:4], tmp_path)
    np.testing.assert_array_equal(c, ref)


@needs_cc()
@pytest.mark.needs_cc
@pytest.mark.parametrize("filter_kind", ["none", "lowpass"])
def test_imu_spectral_front_end_matches_numpy(windows, tmp_path, filter_kind):
    ext = ImuSpectral(sample_rate=50.0, filter_kind=filter_kind, filter_cutoff_hz=8.0)
    ref, c = _build_front_end(ext, windows[:4], tmp_path)
    ref = ref.reshape(4, 6, -1)
    c = c.reshape(4, 6, -1)
    stats_err = np.abs(c[..., :3] - ref[..., :3]) / (1e-4 + 1e-4 * np.abs(ref[..., :3]))
    band_err = np.abs(c[..., 3:] - ref[..., 3:])
    assert stats_err.max() <= 1.0, f"stats worst {np.abs(c[..., :3] - ref[..., :3]).max():.2e}"
    assert band_err.max() <= 2e-3, f"log band worst {band_err.max():.2e}"
