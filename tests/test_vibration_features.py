"""vibration features: layout, physics, bad input, and the C99 front end against numpy.

Parity tolerances (float32 C vs numpy's float64 pipelines rounded to float32), per block,
on simulated machine windows (normal and bearing faults) in g:

* log band energies and shaft-harmonic bands: ``|d ln E| <= 1e-3`` (measured worst
  1.4e-4 with a 1.7 g DC offset removed in float32, 1e-6 without);
* envelope bands: ``|d ln E| <= 1e-3`` (causal band-pass, Hilbert transform and second
  FFT in float32; measured worst 7e-6);
* statistics (ln RMS, ln kurtosis, ln crest, ln p2p and band-passed ln RMS/kurtosis):
  ``|d| <= 1e-3`` (measured worst 1.3e-4 with the offset, 3e-6 without).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.features.vibration import VibrationFeatures
from tinyml_suite.datasets.synthetic.vibration import simulate_recording

ROOT = Path(__file__).resolve().parents[1]
DSP = ROOT / "firmware_templates" / "dsp"
FS = 8000.0


def _windows(faults=("normal", "outer_race", "inner_race", "looseness"), n=1024, seed=0) -> np.ndarray:
    out = []
    for i, fault in enumerate(faults):
        x, _ = simulate_recording(np.random.default_rng([seed, i]), sample_rate_hz=FS, seconds=0.3,
                                  fault=fault, severity=0 if fault == "normal" else 3)
        out.append(x[:n])
    return np.stack(out)[:, None, :].astype(np.float32)


def test_layout_and_names():
    f = VibrationFeatures(sample_rate=FS)
    x = _windows()
    y = f(x)
    assert y.shape == (4, 36) and y.dtype == np.float32 and np.isfinite(y).all()
    names = f.feature_names
    assert len(names) == 36 and names[0] == "lbe00_0Hz" and names[8] == "low00_20Hz"
    assert names[16].startswith("env00") and names[30:] == ["rms", "kurtosis", "crest", "p2p", "bp_rms", "bp_kurtosis"]
    # two channels: concatenated channel by channel
    y2 = f(np.concatenate([x, 2 * x], axis=1))
    np.testing.assert_allclose(y2[:, :36], y, atol=1e-6)
    assert np.allclose(y2[:, 36 + 30], y[:, 30] + np.log(2), atol=1e-4)  # RMS x2 -> ln + ln 2
    # blocks can be switched off
    g = VibrationFeatures(sample_rate=FS, low_n_bands=0, envelope=False, stats=False)
    assert g(x).shape == (4, 8)


def test_features_ignore_a_dc_offset():
    """The device's accelerometer may read +-40 g of bias; the features remove the mean first."""
    f = VibrationFeatures(sample_rate=FS)
    x = _windows()
    np.testing.assert_allclose(f(x + np.float32(40.0)), f(x), atol=2e-2)


def test_features_see_the_physics():
    f = VibrationFeatures(sample_rate=FS)
    y = f(_windows(("normal", "outer_race")))
    names = f.feature_names
    k = {n: i for i, n in enumerate(names)}
    # impacts: kurtosis and crest factor rise; the band-passed (resonance) signal is impulsive
    for key in ("kurtosis", "crest", "bp_kurtosis", "bp_rms"):
        assert y[1, k[key]] > y[0, k[key]] + 0.3, key
    # the envelope band that holds BPFO (80-115 Hz at 1500-1800 rpm shaft speed x 3.58) gains energy
    env = [n for n in names if n.startswith("env")]
    bpfo_band = env[2]  # 80-115 Hz
    assert y[1, k[bpfo_band]] > y[0, k[bpfo_band]] + 2.0


@pytest.mark.parametrize(
    "params, x_shape, match",
    [
        ({"env_band_high_hz": 4500.0}, (2, 1, 1024), "env_band_high_hz"),
        ({"lbe_fmax_hz": 5000.0}, (2, 1, 1024), "fmax_hz"),
        ({"low_fmin_hz": 1.0, "low_fmax_hz": 10.0}, (2, 1, 1024), "bin"),
        ({"lbe_n_fft": 500}, (2, 1, 1024), "power of two"),
        ({"envelope": "yes"}, (2, 1, 1024), "envelope"),
        ({}, (2, 1, 512), "low_n_fft"),
        ({}, (2, 1024), r"\(n, channels, samples\)"),
    ],
)
def test_bad_parameters_and_windows_are_one_line_errors(params, x_shape, match):
    with pytest.raises(ConfigError, match=match) as err:
        VibrationFeatures(sample_rate=FS, **params)(np.zeros(x_shape, np.float32))
    assert "\n" not in str(err.value)


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="lbe_nfft"):
        VibrationFeatures(sample_rate=FS, lbe_nfft=256)


def test_device_needs_a_power_of_two_window():
    f = VibrationFeatures(sample_rate=FS, low_n_bands=0, lbe_n_fft=256)
    f(np.zeros((1, 1, 1000), np.float32))
    with pytest.raises(ConfigError, match="power-of-two window"):
        f.c_defines()


def test_features_config_composes(compose_cfg):
    cfg = compose_cfg(["app=vibration_anomaly"])
    assert cfg.features.lbe_n_bands == 8 and cfg.features.low_n_bands == 8
    cfg = compose_cfg(["app=vibration_anomaly", "features=vibration_bearing"])
    assert cfg.features.low_n_bands == 0 and cfg.features.env_n_bands == 14
    with pytest.raises(Exception, match="env_nbands"):
        compose_cfg(["app=vibration_anomaly", "features.env_nbands=3"])


# -- the C99 front end -------------------------------------------------------------------

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


def _front_end(extractor: VibrationFeatures, x: np.ndarray, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from tinyml_suite.common.deploy.cgen import defines_header, dsp_params_header
    from tinyml_suite.common.deploy.firmware import dsp_defines
    from tinyml_suite.common.deploy.templates import feature_sources

    n, ch, length = x.shape
    ref = extractor(x)
    (tmp_path / "dsp_params.h").write_text(
        dsp_params_header(dsp_defines(extractor, extractor.sample_rate), config_hash="test"))
    settings = {"TM_INPUT_CHANNELS": ch, "TM_WINDOW_SAMPLES": length, "TM_FEATURE_COUNT": ref.shape[1]}
    (tmp_path / "model_settings.h").write_text(
        defines_header("MODEL_SETTINGS_H", settings, tool="test_vibration_features", config_hash="test"))
    (tmp_path / "driver.c").write_text(_DRIVER)
    sources = [p for p in feature_sources(extractor) if p.suffix == ".c"]
    exe = compile_c([*sources, tmp_path / "driver.c"], tmp_path / "fe",
                    include_dirs=[tmp_path, DSP, ROOT / "firmware_templates" / "common"])
    out = run_numbers(exe, np.concatenate([[n], x.astype(np.float32).ravel()]))
    return ref, out.reshape(ref.shape)


@needs_cc()
@pytest.mark.needs_cc
@pytest.mark.parametrize("config", ["default", "bearing_two_channels"])
def test_c_front_end_matches_numpy(tmp_path, config):
    x = _windows(("normal", "outer_race", "inner_race", "ball", "imbalance", "looseness"))
    if config == "default":
        f = VibrationFeatures(sample_rate=FS)
        x = x + np.float32(1.7)  # a DC offset, removed by both
    else:
        f = VibrationFeatures(sample_rate=FS, low_n_bands=0)
        x = np.concatenate([x, x[::-1] * 0.5], axis=1)
    ref, c = _front_end(f, x, tmp_path)
    per = f.params.per_channel
    ref = ref.reshape(len(x), -1, per)
    c = c.reshape(len(x), -1, per)
    n_spec = f.params.lbe_n_bands + f.params.low_n_bands
    n_env = f.params.env_n_bands
    spec_err = np.abs(c[..., :n_spec] - ref[..., :n_spec]).max()
    env_err = np.abs(c[..., n_spec:n_spec + n_env] - ref[..., n_spec:n_spec + n_env]).max()
    stat_err = np.abs(c[..., n_spec + n_env:] - ref[..., n_spec + n_env:]).max()
    assert spec_err <= 1e-3, f"band energies: worst |d ln E| {spec_err:.2e}"
    assert env_err <= 1e-3, f"envelope bands: worst |d ln E| {env_err:.2e}"
    assert stat_err <= 1e-3, f"statistics: worst {stat_err:.2e}"


_HILBERT_DRIVER = r"""
#include <stdio.h>
#include "tm_envelope.h"
int main(void) {
  static float x[1024], env[1024], work[2 * 1024 + 2];
  tm_rfft_t fft;
  int n, i;
  if (scanf("%d", &n) != 1 || n > 1024 || tm_rfft_init(&fft, n) != 0) return 2;
  for (i = 0; i < n; ++i) if (scanf("%f", &x[i]) != 1) return 3;
  if (tm_hilbert_envelope(&fft, x, env, work) != 0) return 4;
  for (i = 0; i < n; ++i) printf("%.9g\n", (double)env[i]);
  return 0;
}
"""


@needs_cc()
@pytest.mark.needs_cc
@pytest.mark.parametrize("n", [16, 256, 1024])
def test_c_hilbert_envelope_matches_scipy(tmp_path, rng, n):
    """The real-FFT (Hartley) Hilbert transform equals |scipy.signal.hilbert(x)|."""
    import scipy.signal

    (tmp_path / "dsp_params.h").write_text("/* no generated blocks */\n")
    (tmp_path / "driver.c").write_text(_HILBERT_DRIVER)
    exe = compile_c([DSP / "tm_envelope.c", DSP / "tm_fft.c", DSP / "tm_frames.c", DSP / "tm_biquad.c",
                     tmp_path / "driver.c"], tmp_path / "hilbert", include_dirs=[tmp_path, DSP])
    t = np.arange(n) / 1000.0
    x = ((1 + 0.5 * np.cos(2 * np.pi * 7 * t)) * np.sin(2 * np.pi * 130 * t)
         + 0.1 * rng.standard_normal(n)).astype(np.float32)
    env = run_numbers(exe, np.concatenate([[n], x]))
    ref = np.abs(scipy.signal.hilbert(x.astype(np.float64)))
    np.testing.assert_allclose(env, ref, atol=2e-5 * np.abs(x).sum() / np.sqrt(n))
