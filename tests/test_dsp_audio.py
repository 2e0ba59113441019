"""The audio half of the DSP library against librosa / scipy, properties, streaming, bad inputs.

Tolerances (stated per test):

- windows: one float32 rounding step of scipy's float64 window (atol eps32).
- framing: exact (it is a view of the same samples).
- STFT vs librosa (float64): max |diff| <= 1e-6 * max |X| (float32 FFT), phase relation
  for n_fft > frame_length as documented in stft.py.
- Parseval: rtol 1e-5 (float32 sums).
- mel filterbank vs librosa.filters.mel: atol 1e-7 * max weight (both round the same
  float64 triangle to float32; librosa normalises in float32, we in float64).
- log-mel / MFCC vs librosa in float64 with matching parameters: max |diff| <= 1e-4 *
  max |librosa| on broadband signals (the project's target; we measure ~3e-7); on pure
  tones within the float32 noise-floor bound of tests/golden/compare.py.
- streaming == batch: bit-identical, for random chunkings.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
from golden.compare import assert_within, log_bound, mfcc_bound
from golden.generate import golden_path, read_golden

from tinyml_suite.common.dsp import (
    AudioFrontend,
    LogMelParams,
    MfccParams,
    StftParams,
    frame,
    get_window,
    hz_to_mel,
    logmel,
    magnitude_spectrum,
    mel_filterbank,
    mel_to_hz,
    mfcc,
    mfcc_from_logmel,
    num_frames,
    power_spectrum,
    stft,
)
from tinyml_suite.common.dsp.c_params import params_defines
from tinyml_suite.common.errors import ConfigError

librosa = pytest.importorskip("librosa")

EPS32 = float(np.finfo(np.float32).eps)
SR = 16000


def _broadband(n: int, sr: int = SR, seed: int = 3) -> dict[str, np.ndarray]:
    """Seeded float32 signals with energy in every band: noise, speech-like, tones + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    harmonics = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 25) if 140 * h < sr / 2)
    am = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t + 1.0)
    return {
        "noise": (0.1 * rng.standard_normal(n)).astype(np.float32),
        "speechlike": (0.3 * am * harmonics + 0.02 * rng.standard_normal(n)).astype(np.float32),
        "tones_in_noise": (tones + 0.01 * rng.standard_normal(n)).astype(np.float32),
    }


def _tonal(n: int, sr: int = SR) -> dict[str, np.ndarray]:
    t = np.arange(n) / sr
    chirp = np.sin(2 * np.pi * (100 * t + (0.45 * sr - 100) * t**2 / (2 * n / sr)))
    return {
        "sine": np.sin(2 * np.pi * 1000 * t).astype(np.float32),
        "chirp": chirp.astype(np.float32),
    }


def _librosa_pad(p) -> int:
    """librosa centres the window in the n_fft frame: pad this many zeros both sides to align."""
    return (p.n_fft - p.frame_length) // 2


def _librosa_mel_power(x: np.ndarray, sr: int, p) -> np.ndarray:
    """librosa's (float64) mel spectrogram with p's framing, window, power and filterbank."""
    pad = _librosa_pad(p)
    return librosa.feature.melspectrogram(
        y=np.pad(x.astype(np.float64), pad),
        sr=sr,
        n_fft=p.n_fft,
        hop_length=p.hop_length,
        win_length=p.frame_length,
        window=(p.window if p.window != "rectangular" else "boxcar"),
        center=False,
        power=float(p.power),
        n_mels=p.n_mels,
        fmin=p.fmin,
        fmax=p.fmax,
        htk=p.mel_scale == "htk",
        norm=p.mel_norm,
        dtype=np.float64,
    )


def _librosa_log(mel: np.ndarray, p) -> np.ndarray:
    if p.log == "db":
        # power_to_db(S, ref=1, amin, top_db=None) = 10 log10(max(S, amin)); our offset is 0 here.
        assert p.log_offset == 0.0
        return librosa.power_to_db(mel, ref=1.0, amin=p.log_floor, top_db=None)
    return np.log(np.maximum(mel + p.log_offset, p.log_floor))


# librosa-style and MLPerf-style parameter sets (the target: match librosa's pieces exactly).
LIBROSA_SETS = {
    "mlperf_defaults": MfccParams(),
    "librosa_db_slaney": MfccParams(
        power=2.0,
        log="db",
        log_offset=0.0,
        log_floor=1e-10,
        mel_scale="slaney",
        mel_norm="slaney",
        n_mfcc=13,
    ),
    "db_htk_lifter": MfccParams(
        power=2.0,
        log="db",
        log_offset=0.0,
        log_floor=1e-10,
        n_mfcc=20,
        lifter=22.0,
        n_mels=64,
        fmin=0.0,
        fmax=8000.0,
    ),
    "hamming_400_512": MfccParams(
        frame_length=400,
        hop_length=160,
        n_fft=512,
        window="hamming",
        n_mels=26,
        fmin=0.0,
        fmax=8000.0,
        n_mfcc=13,
        log_offset=1e-10,
        power=2.0,
    ),
}


# ------------------------------------------------------------------------------ windows


@pytest.mark.parametrize("n", [1, 2, 7, 256, 480, 1024])
@pytest.mark.parametrize(
    "name,scipy_name", [("hann", "hann"), ("hamming", "hamming"), ("rectangular", "boxcar")]
)
def test_windows_match_scipy(n, name, scipy_name):
    periodic = scipy.signal.get_window(scipy_name, n, fftbins=True)
    symmetric = scipy.signal.get_window(scipy_name, n, fftbins=False)
    np.testing.assert_allclose(get_window(name, n), periodic, rtol=0, atol=EPS32)
    np.testing.assert_allclose(get_window(name, n, periodic=False), symmetric, rtol=0, atol=EPS32)
    assert get_window(name, n).dtype == np.float32


# ------------------------------------------------------------------------------ framing


@pytest.mark.parametrize(
    "n,fl,hop", [(16000, 480, 320), (1000, 256, 100), (64, 64, 1), (500, 50, 80)]
)
def test_frame_is_librosa_frame_transposed(rng, n, fl, hop):
    x = rng.standard_normal(n).astype(np.float32)
    ours = frame(x, frame_length=fl, hop_length=hop)
    np.testing.assert_array_equal(
        ours, np.swapaxes(librosa.util.frame(x, frame_length=fl, hop_length=hop), -1, -2)
    )
    assert ours.shape == (num_frames(n, frame_length=fl, hop_length=hop), fl)
    assert np.shares_memory(ours, x) and not ours.flags.writeable  # a view, no copy


def test_frame_batch_dims_and_center(rng):
    x = rng.standard_normal((2, 3, 1000)).astype(np.float32)
    f = frame(x, frame_length=200, hop_length=100)
    assert f.shape == (2, 3, 9, 200)
    np.testing.assert_array_equal(f[1, 2, 4], x[1, 2, 400:600])
    c = frame(x[0, 0], frame_length=200, hop_length=100, center=True)
    padded = np.pad(x[0, 0], 100)
    assert c.shape[0] == num_frames(1000, frame_length=200, hop_length=100, center=True) == 11
    np.testing.assert_array_equal(c[3], padded[300:500])  # frame t centred on sample t * hop
    r = frame(x[0, 0], frame_length=200, hop_length=100, center=True, pad_mode="reflect")
    np.testing.assert_array_equal(r[0, :100], x[0, 0, 100:0:-1])


def test_mlperf_clip_gives_49_frames_and_ignores_the_last_160_samples(rng):
    x = rng.standard_normal(16000).astype(np.float32)
    base = mfcc(x, sample_rate=SR)
    assert base.shape == (10, 49)
    y = x.copy()
    y[15840:] = 0.0  # after the end of frame 48 = [15360, 15840)
    np.testing.assert_array_equal(mfcc(y, sample_rate=SR), base)
    y[15839] += 1.0  # inside frame 48 only
    changed = np.any(mfcc(y, sample_rate=SR) != base, axis=0)
    assert changed.tolist() == [False] * 48 + [True]


# --------------------------------------------------------------------------------- STFT


def test_stft_matches_librosa_when_nfft_equals_frame(rng):
    y = rng.standard_normal(4000)
    ours = stft(y, params=StftParams(frame_length=512, hop_length=128, n_fft=512))
    ref = librosa.stft(y, n_fft=512, hop_length=128, center=False, window="hann")
    assert ours.dtype == np.complex64 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * np.abs(ref).max())


def test_stft_zero_padding_is_a_phase_shift_of_librosa(rng):
    """n_fft > frame_length: we pad at the end, librosa centres; |X| equal, phase as documented."""
    y = rng.standard_normal(4000)
    p = StftParams(frame_length=400, hop_length=160, n_fft=512)
    pad = _librosa_pad(p)
    ref = librosa.stft(
        np.pad(y, pad), n_fft=512, hop_length=160, win_length=400, center=False, window="hann"
    )
    ours = stft(y, params=p)
    k = np.arange(p.n_bins)[:, None]
    np.testing.assert_allclose(
        ours, ref * np.exp(2j * np.pi * k * pad / p.n_fft), rtol=0, atol=1e-6 * np.abs(ref).max()
    )
    np.testing.assert_allclose(
        power_spectrum(y, params=p), np.abs(ref) ** 2, rtol=0, atol=2e-6 * (np.abs(ref) ** 2).max()
    )


@pytest.mark.parametrize("window", ["hann", "hamming", "rectangular"])
def test_parseval(rng, window):
    """sum |w x|^2 = (|X_0|^2 + 2 sum_{0<k<N/2} |X_k|^2 + |X_N/2|^2) / N per frame."""
    p = StftParams(frame_length=480, hop_length=320, n_fft=512, window=window)
    x = rng.standard_normal((2, 8000)).astype(np.float32)
    power = power_spectrum(x, params=p).astype(np.float64)  # (2, 257, T)
    weights = np.full(p.n_bins, 2.0)
    weights[[0, -1]] = 1.0
    spectral = np.einsum("k,...kt->...t", weights, power) / p.n_fft
    frames = frame(x, frame_length=480, hop_length=320).astype(np.float64) * get_window(window, 480)
    np.testing.assert_allclose(spectral, (frames**2).sum(-1), rtol=1e-5)


def test_magnitude_is_sqrt_power(rng):
    x = rng.standard_normal(3000)
    np.testing.assert_allclose(magnitude_spectrum(x) ** 2, power_spectrum(x), rtol=1e-6)


# ----------------------------------------------------------------------- mel filterbank


@pytest.mark.parametrize("scale", ["htk", "slaney"])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize(
    "sr,n_fft,n_mels,fmin,fmax",
    [
        (16000, 512, 40, 20.0, 4000.0),
        (22050, 2048, 128, 0.0, 11025.0),
        (16000, 256, 20, 300.0, 8000.0),
        (8000, 256, 32, 0.0, 4000.0),
    ],
)
def test_mel_filterbank_matches_librosa(scale, norm, sr, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(
        sample_rate=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, scale=scale, norm=norm
    )
    ref = librosa.filters.mel(
        sr=sr,
        n_fft=n_fft,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        htk=scale == "htk",
        norm=norm,
        dtype=np.float64,
    )
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-7 * ref.max())


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_conversions_match_librosa(scale):
    f = np.linspace(0.0, 11025.0, 2001)
    np.testing.assert_allclose(
        hz_to_mel(f, scale=scale), librosa.hz_to_mel(f, htk=scale == "htk"), rtol=1e-12
    )
    m = np.linspace(0.0, hz_to_mel(11025.0, scale=scale), 501)
    np.testing.assert_allclose(
        mel_to_hz(m, scale=scale), librosa.mel_to_hz(m, htk=scale == "htk"), rtol=1e-12
    )
    np.testing.assert_allclose(
        mel_to_hz(hz_to_mel(f, scale=scale), scale=scale), f, rtol=1e-12, atol=1e-9
    )


# ----------------------------------------------------------------------- log-mel, MFCC


@pytest.mark.parametrize("name", sorted(LIBROSA_SETS))
def test_logmel_and_mfcc_match_librosa_float64(name):
    p = LIBROSA_SETS[name]
    lp = LogMelParams(**{f.name: getattr(p, f.name) for f in dataclasses.fields(LogMelParams)})
    for sig_name, x in _broadband(SR).items():
        ref_log = _librosa_log(_librosa_mel_power(x, SR, p), p)
        ref_mfcc = librosa.feature.mfcc(
            S=ref_log, n_mfcc=p.n_mfcc, dct_type=2, norm="ortho", lifter=p.lifter
        )
        ours_log = logmel(x, sample_rate=SR, params=lp)
        ours = mfcc(x, sample_rate=SR, params=p)
        assert ours.shape == ref_mfcc.shape and ours.dtype == np.float32
        rel_log = np.abs(ours_log - ref_log).max() / np.abs(ref_log).max()
        rel = np.abs(ours - ref_mfcc).max() / np.abs(ref_mfcc).max()
        assert rel_log <= 1e-4, f"{name}/{sig_name}: log-mel relative error {rel_log:.2g}"
        assert rel <= 1e-4, f"{name}/{sig_name}: MFCC relative error {rel:.2g}"


@pytest.mark.parametrize("name", ["mlperf_defaults", "librosa_db_slaney"])
def test_tonal_signals_within_float32_noise_floor_of_librosa(name):
    """Pure tones: far bands sit at the float32 noise floor; the bound allows for it (compare.py)."""
    p = LIBROSA_SETS[name]
    lp = LogMelParams(**{f.name: getattr(p, f.name) for f in dataclasses.fields(LogMelParams)})
    for sig_name, x in _tonal(4000).items():
        ref_log = _librosa_log(_librosa_mel_power(x, SR, p), p)
        ref_mfcc = librosa.feature.mfcc(
            S=ref_log, n_mfcc=p.n_mfcc, dct_type=2, norm="ortho", lifter=p.lifter
        )
        assert_within(
            logmel(x, sample_rate=SR, params=lp),
            ref_log,
            log_bound(x, ref_log, SR, lp),
            f"{name}/{sig_name}",
        )
        assert_within(
            mfcc(x, sample_rate=SR, params=p),
            ref_mfcc,
            mfcc_bound(x, ref_log, SR, p),
            f"{name}/{sig_name}",
        )


def test_mfcc_from_logmel_is_the_dct_of_logmel(rng):
    p = MfccParams(lifter=22.0, n_mfcc=13)
    x = rng.standard_normal((2, 8000))
    lp = LogMelParams(**{f.name: getattr(p, f.name) for f in dataclasses.fields(LogMelParams)})
    np.testing.assert_array_equal(
        mfcc_from_logmel(logmel(x, sample_rate=SR, params=lp), params=p),
        mfcc(x, sample_rate=SR, params=p),
    )
    ref = scipy.fft.dct(
        logmel(x, sample_rate=SR, params=lp).astype(np.float64), type=2, norm="ortho", axis=-2
    )[..., :13, :]
    lift = 1 + 11.0 * np.sin(np.pi * np.arange(1, 14) / 22.0)
    np.testing.assert_allclose(
        mfcc(x, sample_rate=SR, params=p),
        ref * lift[:, None],
        rtol=0,
        atol=1e-5 * np.abs(ref).max(),
    )


def test_batch_dims_and_dtypes(rng):
    x = (rng.standard_normal((2, 3, 8000)) * 3000).astype(np.int16)
    out = mfcc(x, sample_rate=SR)
    assert out.shape == (2, 3, 10, 24) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1, 2], mfcc(x[1, 2].astype(np.float32), sample_rate=SR))
    np.testing.assert_array_equal(mfcc(x.astype(np.float64), sample_rate=SR), out)


def test_silence_gives_the_log_offset():
    out = logmel(np.zeros(16000), sample_rate=SR)
    assert np.all(out == np.log(np.float32(1e-6)))
    db = logmel(
        np.zeros(4000),
        sample_rate=SR,
        params=LogMelParams(power=2.0, log="db", log_offset=0.0, log_floor=1e-10),
    )
    np.testing.assert_allclose(db, -100.0, atol=1e-5)


# -------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    "params",
    [
        MfccParams(),
        LogMelParams(),
        LIBROSA_SETS["db_htk_lifter"],
        MfccParams(frame_length=256, hop_length=300, n_fft=256),
    ],
    ids=["mfcc", "logmel", "db_lifter", "hop_gt_frame"],
)
def test_streaming_equals_batch_bitwise(rng, params):
    x = (0.3 * rng.standard_normal((2, 24000))).astype(np.float32)
    batch = (mfcc if isinstance(params, MfccParams) else logmel)(x, sample_rate=SR, params=params)
    fe = AudioFrontend(SR, params)
    for _trial in range(5):
        fe.reset()
        cuts = np.sort(rng.integers(0, x.shape[-1], size=rng.integers(1, 100)))
        parts = [fe.push(c) for c in np.split(x, cuts, axis=-1)]
        stream = np.concatenate(parts, axis=-1)
        np.testing.assert_array_equal(stream, batch)
        assert fe.frames_emitted == batch.shape[-1]
        assert fe.samples_pending < params.frame_length


def test_batch_chunking_does_not_change_results(rng):
    """Long signals are cut into frame chunks and many clips are grouped per chunk
    (logmel._CHUNK_FRAMES = 2048 frames): both must equal clip-by-clip computation."""
    long = (0.2 * rng.standard_normal(320 * 2200 + 160)).astype(np.float32)  # 2199 frames
    fe = AudioFrontend(SR)
    streamed = np.concatenate([fe.push(c) for c in np.array_split(long, 40)], axis=-1)
    np.testing.assert_array_equal(mfcc(long, sample_rate=SR), streamed)
    clips = (0.2 * rng.standard_normal((45, 16000))).astype(np.float32)  # 45 x 49 > 2048 frames
    batch = mfcc(clips, sample_rate=SR)
    for i in (0, 40, 41, 44):  # first, last of chunk 1, first and last of chunk 2
        np.testing.assert_array_equal(batch[i], mfcc(clips[i], sample_rate=SR))


def test_streaming_sample_by_sample_and_empty_chunks(rng):
    x = rng.standard_normal(2000).astype(np.float32)
    fe = AudioFrontend(SR)
    assert fe.push(np.zeros(0)).shape == (10, 0)
    out = np.concatenate([fe.push(x[i : i + 1]) for i in range(len(x))], axis=-1)
    np.testing.assert_array_equal(out, mfcc(x, sample_rate=SR))


def test_streaming_refuses_a_new_channel_layout_and_centre(rng):
    fe = AudioFrontend(SR)
    fe.push(np.zeros((2, 100)))
    with pytest.raises(ConfigError, match=r"leading shape \(3,\).*started with \(2,\).*reset\(\)"):
        fe.push(np.zeros((3, 100)))
    fe.reset()
    fe.push(np.zeros((3, 100)))  # fine after reset
    with pytest.raises(ConfigError, match="center=True cannot stream"):
        AudioFrontend(SR, MfccParams(center=True))


# ------------------------------------------------------------------------- bad inputs

_X = np.zeros(16000, dtype=np.float32)

BAD_INPUTS = [
    # (description, callable, regex the one-line message must match: parameter and value)
    (
        "non-power-of-two FFT",
        lambda: MfccParams(n_fft=500),
        r"n_fft=500 must be a power of two.*e\.g\. 512",
    ),
    (
        "n_fft < frame_length",
        lambda: LogMelParams(n_fft=256),
        r"n_fft=256 must be >= frame_length=480",
    ),
    (
        "fmax above Nyquist",
        lambda: mfcc(_X, sample_rate=6000),
        r"fmax=4000 Hz is above the Nyquist frequency sample_rate/2 = 3000 Hz",
    ),
    (
        "fmax above Nyquist (filterbank)",
        lambda: mel_filterbank(sample_rate=16000, n_fft=512, fmax=9000.0),
        r"fmax=9000 Hz is above the Nyquist.*8000",
    ),
    (
        "window longer than signal",
        lambda: mfcc(np.zeros(100), sample_rate=SR),
        r"frame_length=480 is longer than the signal \(100 samples",
    ),
    (
        "empty signal",
        lambda: mfcc(np.zeros(0), sample_rate=SR),
        r"signal is empty \(shape \(0,\)\)",
    ),
    (
        "NaN in signal",
        lambda: logmel(np.array([0.0, np.nan] * 400), sample_rate=SR),
        r"signal contains 400 non-finite value\(s\) \(NaN or inf\)",
    ),
    (
        "complex dtype",
        lambda: mfcc(_X.astype(np.complex64), sample_rate=SR),
        r"signal has dtype complex64; expected a real",
    ),
    (
        "string dtype",
        lambda: frame(np.array(["a", "b"]), frame_length=1, hop_length=1),
        r"signal has dtype <U1",
    ),
    ("0-d signal", lambda: mfcc(np.float32(1.0), sample_rate=SR), r"signal has 0 dimension\(s\)"),
    (
        "hop <= 0",
        lambda: frame(_X, frame_length=4, hop_length=0),
        r"hop_length=0 must be an integer >= 1",
    ),
    (
        "frame_length 0",
        lambda: frame(_X, frame_length=0, hop_length=1),
        r"frame_length=0 must be an integer >= 1",
    ),
    (
        "unknown window",
        lambda: StftParams(window="blackman"),
        r"window='blackman' is not supported; choose one of: 'hann', 'hamming', 'rectangular'",
    ),
    ("n_mfcc > n_mels", lambda: MfccParams(n_mfcc=41), r"n_mfcc=41 must be <= n_mels=40"),
    (
        "unknown mel scale",
        lambda: LogMelParams(mel_scale="bark"),
        r"mel_scale='bark' is not supported",
    ),
    (
        "unsupported power",
        lambda: LogMelParams(power=3.0),
        r"power=3.0 is not supported; choose 1.0",
    ),
    (
        "log of zero",
        lambda: LogMelParams(log_offset=0.0, log_floor=0.0),
        r"log_offset=0 and log_floor=0.*set log_offset > 0",
    ),
    (
        "fmin >= fmax",
        lambda: LogMelParams(fmin=5000.0, fmax=4000.0),
        r"fmin=5000 Hz must be below fmax=4000 Hz",
    ),
    (
        "too many mel bands",
        lambda: mfcc(
            _X, sample_rate=SR, params=MfccParams(n_mels=128, n_fft=256, frame_length=256, fmin=0.0)
        ),
        r"n_mels=128 is too many for n_fft=256.*band\(s\) \[0.*lower n_mels",
    ),
    ("zero sample rate", lambda: mfcc(_X, sample_rate=0), r"sample_rate=0 must be an integer >= 1"),
    (
        "float sample rate",
        lambda: logmel(_X, sample_rate=16000.5),
        r"sample_rate=16000.5 must be an integer",
    ),
    (
        "wrong params type",
        lambda: mfcc(_X, sample_rate=SR, params=LogMelParams()),
        r"params must be a MfccParams; got LogMelParams",
    ),
    (
        "negative lifter",
        lambda: MfccParams(lifter=-1.0),
        r"lifter=-1.0 must be a finite number >= 0.0",
    ),
    (
        "reflect pad on a short signal",
        lambda: frame(
            np.ones(10), frame_length=480, hop_length=320, center=True, pad_mode="reflect"
        ),
        r"pad_mode='reflect' needs more than frame_length//2=240 samples",
    ),
    (
        "center on the device path",
        lambda: AudioFrontend(SR, LogMelParams(center=True)),
        r"center=True cannot stream",
    ),
]


@pytest.mark.parametrize("what,call,pattern", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs_raise_one_line_config_errors(what, call, pattern):
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, f"{what}: message is not one line"
    assert re.search(pattern, message), f"{what}: {message!r} does not match {pattern!r}"
    assert isinstance(info.value, ValueError)  # ConfigError is also a ValueError


# ------------------------------------------------------------- params, C header, imports


def test_defaults_are_the_mlperf_tiny_kws_front_end():
    p = MfccParams()
    assert (p.frame_length, p.hop_length, p.n_fft, p.n_mels, p.fmin, p.fmax, p.n_mfcc) == (
        480,
        320,
        512,
        40,
        20.0,
        4000.0,
        10,
    )
    assert (p.window, p.center, p.mel_scale, p.mel_norm, p.power, p.log, p.log_offset) == (
        "hann",
        False,
        "htk",
        None,
        1.0,
        "ln",
        1e-6,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_mfcc = 13  # type: ignore[misc]


def test_params_become_c_defines():
    d = params_defines(
        MfccParams(
            mel_scale="slaney",
            mel_norm="slaney",
            power=2.0,
            log="db",
            log_offset=0.0,
            log_floor=1e-10,
        ),
        sample_rate=16000,
    )
    assert d["MFCC_IMPLEMENTATION_VERSION"] == MfccParams.IMPLEMENTATION_VERSION == 1
    assert d["MFCC_SAMPLE_RATE"] == 16000 and d["MFCC_N_FFT"] == 512 and d["MFCC_N_MFCC"] == 10
    assert (
        d["MFCC_MEL_SCALE"],
        d["MFCC_MEL_NORM"],
        d["MFCC_POWER"],
        d["MFCC_LOG"],
        d["MFCC_WINDOW"],
    ) == (1, 1, 2, 1, 0)
    assert params_defines(LogMelParams())["LOGMEL_MEL_NORM"] == 0


def test_importing_the_dsp_library_does_not_import_tensorflow_or_librosa():
    code = (
        "import sys, tinyml_suite.common.dsp as d; d.mfcc; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'librosa', 'numba'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", (
        f"importing tinyml_suite.common.dsp imported: {out.stdout.strip()}"
    )


# ----------------------------------------------------------------------- golden vectors


@pytest.mark.parametrize(
    "feature,cls,fn", [("logmel", LogMelParams, logmel), ("mfcc", MfccParams, mfcc)]
)
def test_numpy_reproduces_golden_file(feature, cls, fn):
    header, pairs = read_golden(golden_path(feature, cls.IMPLEMENTATION_VERSION))
    assert header["version"] == cls.IMPLEMENTATION_VERSION, (
        "IMPLEMENTATION_VERSION bumped: regenerate the golden file"
    )
    params, sr = cls(**header["params"]), header["sample_rate"]
    lp = LogMelParams(**{f.name: getattr(params, f.name) for f in dataclasses.fields(LogMelParams)})
    for name, (x, expected) in zip(header["pairs"], pairs):
        x = x.astype(np.float32)
        got = fn(x, sample_rate=sr, params=params)
        expected = expected.reshape(got.shape[1], got.shape[0]).T
        ref_log = logmel(x, sample_rate=sr, params=lp)
        bound = (
            log_bound(x, ref_log, sr, lp)
            if feature == "logmel"
            else mfcc_bound(x, ref_log, sr, params)
        )
        assert_within(got, expected, bound, f"{feature}/{name}")
        if name in ("noise", "silence"):  # no noise-floor bands: float32 rounding only
            np.testing.assert_allclose(
                got, expected, rtol=0, atol=1e-5 * max(1.0, np.abs(expected).max())
            )
