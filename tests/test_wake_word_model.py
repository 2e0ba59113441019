"""wake_word features and models: the MLPerf Tiny shapes, sizes and MAC counts; bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_suite.common.dsp import LogMelParams, MfccParams, logmel, mfcc
from tinyml_suite.common.errors import ConfigError

SR = 16000


def test_mfcc_and_logmel_extractors_are_the_dsp_functions_in_model_layout(rng):
    from tinyml_suite.common.features.audio import LogMel, Mfcc

    x = (0.1 * rng.standard_normal((3, 1, SR))).astype(np.float32)
    m = Mfcc(sample_rate=SR)
    out = m(x)
    assert out.shape == (3, 49, 10, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], np.swapaxes(mfcc(x[:, 0], sample_rate=SR, params=MfccParams()), 1, 2))
    lm = LogMel(sample_rate=SR, n_mels=32)
    np.testing.assert_array_equal(
        lm(x)[..., 0], np.swapaxes(logmel(x[:, 0], sample_rate=SR, params=LogMelParams(n_mels=32)), 1, 2))
    # the firmware gets the same parameter object and the C twins
    assert m.dsp_params() == [MfccParams()]
    assert m.c_sources()[-2:] == ["tm_mfcc.c", "tm_fe_audio.c"]
    assert 8_000 < m.c_scratch_bytes() < 20_000  # tm_mfcc_t + twiddles + framer, bytes


def test_audio_extractor_refuses_what_cannot_work():
    from tinyml_suite.common.features.audio import Mfcc

    with pytest.raises(ConfigError, match="is for mono audio but the data has 2 channels"):
        Mfcc(sample_rate=SR)(np.zeros((1, 2, SR), np.float32))
    with pytest.raises(ConfigError, match="fmax=4000 Hz is above the Nyquist frequency"):
        Mfcc(sample_rate=6000)
    with pytest.raises(ConfigError, match="center=true cannot be deployed"):
        Mfcc(sample_rate=SR, center=True)
    with pytest.raises(ConfigError, match="n_fft=500 must be a power of two"):
        Mfcc(sample_rate=SR, n_fft=500)
    with pytest.raises(ConfigError, match="shorter than one frame"):
        Mfcc(sample_rate=SR)(np.zeros((1, 1, 300), np.float32))


def test_ds_cnn_macs_formula():
    from tinyml_suite.apps.wake_word.model import ds_cnn_macs

    assert ds_cnn_macs((49, 10, 1), 12) == 2_656_768  # MLPerf Tiny KWS: 2.66 M
    # width and depth are configurable; cost grows with both
    assert ds_cnn_macs((49, 10, 1), 12, filters=96) > ds_cnn_macs((49, 10, 1), 12) > ds_cnn_macs(
        (49, 10, 1), 12, blocks=2)


@pytest.mark.slow
def test_models_match_the_reference_and_fit_the_size_class(rng):
    from tinyml_suite.apps.wake_word.model import build_ds_cnn, build_micro_conv, ds_cnn_macs
    from tinyml_suite.common.deploy.macs import keras_macs
    from tinyml_suite.common.deploy.quantize import convert

    ds = build_ds_cnn((49, 10, 1), 12)
    # 22,604 parameters once the 9 batch norms (4 x 64 values each) are folded: MLPerf's 22.6k
    assert ds.count_params() - 9 * 4 * 64 == 22_604
    assert keras_macs(ds)["macs"] == ds_cnn_macs((49, 10, 1), 12)
    wide = build_ds_cnn((49, 10, 1), 12, filters=[64, 64, 96, 96, 96], blocks=4)
    assert wide.count_params() > ds.count_params()
    tiny = build_micro_conv((49, 10, 1), 12)
    rep = rng.normal(0, 10, size=(16, 49, 10, 1)).astype(np.float32)
    blob = convert(tiny, variant="int8", representative=rep)
    assert len(blob) <= 20 * 1024  # the micro_speech size class
    with pytest.raises(ConfigError, match=r"model=ds_cnn takes \(frames, coefficients, 1\)"):
        build_ds_cnn((490,), 12)
    with pytest.raises(ConfigError, match="model.filters lists 2 widths but blocks=4 needs 5"):
        build_ds_cnn((49, 10, 1), 12, filters=[8, 8])
