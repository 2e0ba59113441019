"""Property tests: every DSP entry point under hostile input ends in a result or a TinyMLError.

Inputs drawn by hypothesis: signals of every rank the functions accept, lengths from 0 to
16000, values with NaN, inf, huge, tiny and integer dtypes; sample rates from negative to
1 MHz and NaN; and the parameter dataclasses with any field replaced by a hostile value
of its type (0, negative, huge, NaN, a bogus string, a non-power-of-two FFT size...).
A ``ConfigError`` (a TinyMLError) naming the parameter is the expected refusal; any other
exception type fails the test, and a result must be finite when the input was.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyml_suite.common import dsp
from tinyml_suite.common.errors import TinyMLError

PROPERTY = settings(max_examples=int(os.environ.get("TINYML_FUZZ_EXAMPLES", "40")), deadline=None,
                    derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

RATES = [-1.0, 0.0, 1e-3, 1.0, 8.0, 25.0, 100.0, 360.0, 1000.0, 16000.0, 44100.0, 1e6, float("nan"), float("inf")]
INTS = [-1, 0, 1, 2, 3, 5, 16, 100, 255, 256, 512, 4096, 65536]
FLOATS = [-1.0, 0.0, 1e-12, 1e-3, 0.3, 1.0, 3.0, 50.0, 1000.0, 1e9, float("nan"), float("inf"), -float("inf")]
SPECIALS = [float("nan"), float("inf"), -float("inf"), 1e38, -1e38, 1e-45, 0.0]


@st.composite
def signals(draw, max_rank: int = 3) -> np.ndarray:
    rank = draw(st.integers(1, max_rank))
    n = draw(st.sampled_from([0, 1, 2, 3, 7, 64, 257, 1000, 4000, 16000]))
    lead = [draw(st.integers(1, 3)) for _ in range(rank - 1)]
    shape = (*lead, n)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kind = draw(st.sampled_from(["noise", "zeros", "constant", "tone", "huge", "int16", "special"]))
    if kind == "zeros":
        x = np.zeros(shape, np.float32)
    elif kind == "constant":
        x = np.full(shape, 0.7, np.float32)
    elif kind == "tone":
        x = np.sin(np.arange(n) * 0.3).astype(np.float32) * np.ones(shape, np.float32)
    elif kind == "huge":
        x = (rng.standard_normal(shape) * 1e30).astype(np.float32)
    elif kind == "int16":
        x = rng.integers(-32768, 32767, shape).astype(np.int16)
    else:
        x = rng.standard_normal(shape).astype(draw(st.sampled_from([np.float32, np.float64])))
    if kind == "special" and x.size:
        flat = x.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from(SPECIALS))
    return x


def _hostile(field: dataclasses.Field, hint: Any, data: st.DataObject) -> Any:
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if origin is typing.Union and len(args) == 1 else hint
    if base is bool:
        return data.draw(st.booleans())
    if base is int:
        return data.draw(st.sampled_from(INTS))
    if base is float:
        return data.draw(st.sampled_from(FLOATS))
    if base is str:
        return data.draw(st.sampled_from(["bogus", "", "hann", "linear", "mel", "none", "lowpass"]))
    if typing.get_origin(base) in (tuple, list) or base in (tuple, list):
        return data.draw(st.sampled_from([(), (1.0,), (5.0, 1.0), (0.5, 1.5, 3.0), (float("nan"), 2.0), (-1.0, 1e9)]))
    return data.draw(st.sampled_from([None, 0, -1, 1.0, (1.0, 2.0)]))


def params(cls: type, data: st.DataObject) -> Any:
    """``cls`` with each field kept (mostly) or replaced by a hostile value of its type."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.init and data.draw(st.integers(0, 3)) == 0:
            kwargs[f.name] = _hostile(f, hints[f.name], data)
    return cls(**kwargs)


def _rate(data: st.DataObject) -> float:
    return data.draw(st.sampled_from(RATES))


def _int(data: st.DataObject) -> int:
    return data.draw(st.sampled_from(INTS))


def _logmel_frames(x: np.ndarray) -> np.ndarray:
    return x if x.ndim >= 2 else x[None]


#: entry point -> call(x, data): every public function of tinyml_suite.common.dsp
ENTRY_POINTS: dict[str, Callable[[np.ndarray, st.DataObject], Any]] = {
    "frame": lambda x, d: dsp.frame(x, frame_length=_int(d), hop_length=_int(d), center=d.draw(st.booleans())),
    "num_frames": lambda x, d: dsp.num_frames(x.shape[-1], frame_length=_int(d), hop_length=_int(d)),
    "get_window": lambda x, d: dsp.get_window(d.draw(st.sampled_from(["hann", "hamming", "bogus", ""])), _int(d)),
    "stft": lambda x, d: dsp.stft(x, params=params(dsp.StftParams, d)),
    "power_spectrum": lambda x, d: dsp.power_spectrum(x, params=params(dsp.StftParams, d)),
    "magnitude_spectrum": lambda x, d: dsp.magnitude_spectrum(x, params=params(dsp.StftParams, d)),
    "hz_to_mel": lambda x, d: dsp.hz_to_mel(x, scale=d.draw(st.sampled_from(["htk", "slaney", "bogus"]))),
    "mel_to_hz": lambda x, d: dsp.mel_to_hz(x, scale=d.draw(st.sampled_from(["htk", "slaney", "bogus"]))),
    "mel_filterbank": lambda x, d: dsp.mel_filterbank(sample_rate=_rate(d), n_fft=_int(d), n_mels=_int(d) % 200,
                                                      fmin=d.draw(st.sampled_from(FLOATS))),
    "logmel": lambda x, d: dsp.logmel(x, sample_rate=_rate(d), params=params(dsp.LogMelParams, d)),
    "mfcc": lambda x, d: dsp.mfcc(x, sample_rate=_rate(d), params=params(dsp.MfccParams, d)),
    "mfcc_from_logmel": lambda x, d: dsp.mfcc_from_logmel(_logmel_frames(x), params=params(dsp.MfccParams, d)),
    "butter_sos": lambda x, d: dsp.butter_sos(sample_rate=_rate(d), params=params(dsp.ButterworthParams, d)),
    "sosfilt": lambda x, d: dsp.sosfilt(x, sos=dsp.butter_sos(sample_rate=1000.0, params=dsp.ButterworthParams(
        cutoff_hz=100.0)) if d.draw(st.booleans()) else np.asarray(d.draw(st.sampled_from(
            [[[1.0, 0, 0, 1, 0, 0]], [[1.0, 2.0]], [], [[np.nan] * 6]])), dtype=np.float64),
        zero_phase=d.draw(st.booleans())),
    "butter_filter": lambda x, d: dsp.butter_filter(x, sample_rate=_rate(d), params=params(dsp.ButterworthParams, d)),
    "SosFilter": lambda x, d: dsp.SosFilter(dsp.butter_sos(sample_rate=1000.0, params=dsp.ButterworthParams(
        cutoff_hz=100.0)), batch_shape=x.shape[:-1]).process(x),
    "welch": lambda x, d: dsp.welch(x, sample_rate=_rate(d), params=params(dsp.WelchParams, d)),
    "band_bins": lambda x, d: dsp.band_bins(np.linspace(0, 50, max(x.shape[-1], 1)),
                                            params(dsp.BandPowerParams, d).edges_hz),
    "band_powers": lambda x, d: dsp.band_powers(x, freqs=np.linspace(0, 50, x.shape[-1]),
                                                params=params(dsp.BandPowerParams, d)),
    "spectral_peaks": lambda x, d: dsp.spectral_peaks(x, freqs=np.linspace(0, 50, x.shape[-1]),
                                                      params=params(dsp.SpectralPeaksParams, d)),
    "log_band_energies": lambda x, d: dsp.log_band_energies(x, sample_rate=_rate(d),
                                                            params=params(dsp.LogBandEnergyParams, d)),
    "imu_spectral": lambda x, d: dsp.imu_spectral(x, sample_rate=_rate(d), params=params(dsp.ImuSpectralParams, d)),
    "imu_spectral_names": lambda x, d: dsp.imu_spectral_names(params(dsp.ImuSpectralParams, d)),
    "time_stats": lambda x, d: dsp.time_stats(x, params=params(dsp.StatsParams, d)),
    "hilbert_envelope": lambda x, d: dsp.hilbert_envelope(x),
    "envelope_spectrum": lambda x, d: dsp.envelope_spectrum(x, sample_rate=_rate(d),
                                                            params=params(dsp.EnvelopeSpectrumParams, d)),
    "rational_ratio": lambda x, d: dsp.rational_ratio(_rate(d), _rate(d)),
    "resample": lambda x, d: dsp.resample(x, orig_rate=_rate(d), target_rate=_rate(d)),
    "detect_peaks": lambda x, d: dsp.detect_peaks(x, sample_rate=_rate(d), params=params(dsp.PeakParams, d)),
    "pan_tompkins": lambda x, d: dsp.pan_tompkins(x, sample_rate=_rate(d), params=params(dsp.PanTompkinsParams, d)),
    "PanTompkinsStream": lambda x, d: dsp.PanTompkinsStream(
        sample_rate=_rate(d), params=params(dsp.PanTompkinsParams, d)).process(x),
    "fit_zscore": lambda x, d: dsp.fit_zscore(x, axis=d.draw(st.sampled_from([-1, 0, 5]))),
    "zscore": lambda x, d: dsp.zscore(x, params=params(dsp.ZScoreParams, d)),
    "minmax": lambda x, d: dsp.minmax(x, params=params(dsp.MinMaxParams, d)),
    "quantize_int8": lambda x, d: dsp.quantize_int8(x, scale=d.draw(st.sampled_from(FLOATS)), zero_point=_int(d)),
    "dequantize_int8": lambda x, d: dsp.dequantize_int8(x, scale=d.draw(st.sampled_from(FLOATS)), zero_point=_int(d)),
    "fake_quantize_int8": lambda x, d: dsp.fake_quantize_int8(x, scale=d.draw(st.sampled_from(FLOATS)),
                                                              zero_point=_int(d)),
    "imu_windows": lambda x, d: dsp.imu_windows(x, params=params(dsp.ImuWindowParams, d)),
    "ImuStream": lambda x, d: dsp.ImuStream(n_channels=x.shape[0] if x.ndim > 1 else 1,
                                            params=params(dsp.ImuWindowParams, d)).push(x if x.ndim > 1 else x[None]),
    "motion_noise": lambda x, d: dsp.motion_noise(np.abs(_logmel_frames(x)), params=params(dsp.MotionSuppressionParams, d)),
    "motion_gain": lambda x, d: dsp.motion_gain(np.abs(x), np.abs(x)[..., ::-1], params=params(dsp.MotionSuppressionParams, d)),
    "suppress_motion": lambda x, d: dsp.suppress_motion(
        np.abs(x), np.abs(np.stack([x, x[..., ::-1], -x])), params=params(dsp.MotionSuppressionParams, d)),
    "MotionSuppressor": lambda x, d: dsp.MotionSuppressor(params(dsp.MotionSuppressionParams, d)).step(
        np.abs(x), np.abs(np.stack([x, x[..., ::-1], -x]))),
    "AudioFrontend": lambda x, d: dsp.AudioFrontend(d.draw(st.sampled_from([-1, 0, 8000, 16000, 48000])),
                                                    params(dsp.LogMelParams, d)).push(x),
}


def test_every_public_dsp_function_is_covered():
    import inspect

    public = {n for n in dsp.__all__ if inspect.isfunction(getattr(dsp, n))}
    streaming = {"SosFilter", "PanTompkinsStream", "ImuStream", "AudioFrontend", "MotionSuppressor"}
    public -= {"params_defines"}  # C code generation (tests/test_cgen.py), not signal processing
    assert public | streaming <= set(ENTRY_POINTS) | {"STAT_NAMES"}, sorted(public - set(ENTRY_POINTS))


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@PROPERTY
@given(x=signals(), data=st.data())
def test_a_dsp_entry_point_ends_in_a_result_or_a_tinyml_error(name, x, data):
    try:
        out = ENTRY_POINTS[name](x, data)
    except TinyMLError:
        return
    finite_in = x.dtype.kind in "iu" or bool(np.all(np.isfinite(x)))
    if finite_in and name not in ("hz_to_mel", "mel_to_hz", "num_frames", "imu_spectral_names", "rational_ratio"):
        for part in out if isinstance(out, tuple) else (out,):
            if isinstance(part, np.ndarray) and part.dtype.kind == "f" and part.size:
                assert np.all(np.isfinite(part)) or np.abs(x).max() > 1e20, f"{name}: non-finite output"
