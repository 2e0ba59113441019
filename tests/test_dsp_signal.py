"""The signal half of the DSP library against scipy/numpy references, properties, bad inputs.

Tolerances (stated per test): blocks that call the same scipy routine in float64 and
round to float32 are compared at float32 rounding (rtol 1e-6); blocks that take a
different route to the same quantity (our FFT framing vs scipy.signal.welch /
spectrogram, two-pass moments vs scipy.stats) at rtol 1e-5 with an absolute floor of
1e-6 of the signal's scale; streaming vs batch is exact (bit-identical).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import scipy.stats
from helpers.run_if import needs_shared_data

from tinyml_suite.common.dsp import (
    STAT_NAMES,
    BandPowerParams,
    ButterworthParams,
    EnvelopeSpectrumParams,
    ImuSpectralParams,
    ImuStream,
    ImuWindowParams,
    LogBandEnergyParams,
    MinMaxParams,
    PeakParams,
    SosFilter,
    SpectralPeaksParams,
    StatsParams,
    WelchParams,
    ZScoreParams,
    band_bins,
    band_powers,
    butter_filter,
    butter_sos,
    dequantize_int8,
    detect_peaks,
    envelope_spectrum,
    fake_quantize_int8,
    fit_zscore,
    hilbert_envelope,
    imu_spectral,
    imu_spectral_names,
    imu_windows,
    log_band_energies,
    minmax,
    quantize_int8,
    rational_ratio,
    resample,
    sosfilt,
    spectral_peaks,
    time_stats,
    welch,
    zscore,
)
from tinyml_suite.common.dsp.peaks import local_maxima
from tinyml_suite.common.dsp.spectral import window_coefficients
from tinyml_suite.common.errors import ConfigError

F32_RTOL = 1e-6  # same float64 computation, rounded once to float32


def _close(actual, desired, rtol, scale_atol=1e-6):
    desired = np.asarray(desired, dtype=np.float64)
    atol = scale_atol * max(float(np.max(np.abs(desired))), 1e-30)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), desired, rtol=rtol, atol=atol)


FILTERS = [
    (ButterworthParams(kind="lowpass", order=4, cutoff_hz=20.0), 200.0),
    (ButterworthParams(kind="highpass", order=3, cutoff_hz=0.5), 50.0),
    (ButterworthParams(kind="bandpass", order=2, cutoff_hz=(0.5, 5.0)), 125.0),
    (ButterworthParams(kind="bandstop", order=4, cutoff_hz=(45.0, 55.0)), 360.0),
    (ButterworthParams(kind="bandpass", order=4, cutoff_hz=(2000.0, 4000.0)), 12000.0),
]


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("params,fs", FILTERS)
def test_butter_sos_is_scipy_design_in_float32(params, fs):
    ref = scipy.signal.butter(params.order, params.cutoff_hz, btype=params.kind, fs=fs, output="sos")
    sos = butter_sos(sample_rate=fs, params=params)
    assert sos.dtype == np.float32 and sos.shape == (params.n_sections, 6)
    np.testing.assert_array_equal(sos, ref.astype(np.float32))


@pytest.mark.parametrize("params,fs", FILTERS)
@pytest.mark.parametrize("zero_phase", [False, True])
def test_sosfilt_matches_scipy(params, fs, zero_phase, rng):
    x = rng.standard_normal((2, 3, 700)).astype(np.float32)
    sos = butter_sos(sample_rate=fs, params=params)
    y = sosfilt(x, sos=sos, zero_phase=zero_phase)
    f = scipy.signal.sosfiltfilt if zero_phase else scipy.signal.sosfilt
    ref = f(sos.astype(np.float64), x.astype(np.float64), axis=-1)
    assert y.dtype == np.float32 and y.shape == x.shape
    _close(y, ref, rtol=F32_RTOL)


def test_butter_filter_frequency_response():
    # 4th-order low-pass at 20 Hz: a 5 Hz tone passes within 1 %, a 200 Hz tone (10x
    # the cutoff, theory -80 dB) is attenuated by more than 60 dB after the transient.
    fs = 1000.0
    t = np.arange(4000) / fs
    p = ButterworthParams(kind="lowpass", order=4, cutoff_hz=20.0)
    lo = butter_filter(np.sin(2 * np.pi * 5 * t), sample_rate=fs, params=p)[2000:]
    hi = butter_filter(np.sin(2 * np.pi * 200 * t), sample_rate=fs, params=p)[2000:]
    assert abs(np.max(np.abs(lo)) - 1.0) < 0.01
    assert 20 * np.log10(np.max(np.abs(hi))) < -60
    # Zero-phase: no delay on the pass-band tone (max error 1 % in the middle).
    zp = butter_filter(np.sin(2 * np.pi * 5 * t), sample_rate=fs, params=ButterworthParams(order=4, cutoff_hz=20.0, zero_phase=True))
    assert np.max(np.abs(zp[500:3500] - np.sin(2 * np.pi * 5 * t[500:3500]))) < 0.01


def test_sosfilt_is_linear(rng):
    sos = butter_sos(sample_rate=100.0, params=ButterworthParams(kind="bandpass", order=3, cutoff_hz=(1.0, 10.0)))
    x, y = rng.standard_normal((2, 500))
    a, b = 0.7, -2.5
    lhs = sosfilt(a * x + b * y, sos=sos)
    rhs = a * sosfilt(x, sos=sos).astype(np.float64) + b * sosfilt(y, sos=sos)
    _close(lhs, rhs, rtol=1e-5, scale_atol=1e-6)


@pytest.mark.parametrize("params,fs", FILTERS)
def test_sos_filter_streaming_equals_batch(params, fs, rng):
    sos = butter_sos(sample_rate=fs, params=params)
    x = rng.standard_normal((3, 1000)).astype(np.float32)
    batch = sosfilt(x, sos=sos)
    for _trial in range(5):
        f = SosFilter(sos, batch_shape=(3,))
        cuts = np.sort(rng.integers(0, 1001, size=rng.integers(1, 30)))
        parts = [f.process(c) for c in np.split(x, cuts, axis=-1)]  # includes empty chunks
        np.testing.assert_array_equal(np.concatenate(parts, axis=-1), batch)
    f.reset()
    np.testing.assert_array_equal(f.process(x), batch)


# --------------------------------------------------------------------------- spectral


@pytest.mark.parametrize(
    "kw",
    [
        {"nperseg": 64},
        {"nperseg": 128, "noverlap": 0, "window": "hamming", "detrend": "none"},
        {"nperseg": 32, "noverlap": 24, "window": "boxcar", "scaling": "spectrum"},
        {"nperseg": 256, "noverlap": 192, "scaling": "spectrum", "detrend": "none"},
    ],
)
def test_welch_matches_scipy(kw, rng):
    fs = 50.0
    x = (rng.standard_normal((2, 3, 1000)) + 0.5).astype(np.float32)
    p = WelchParams(**kw)
    f, psd = welch(x, sample_rate=fs, params=p)
    rf, rpsd = scipy.signal.welch(
        x.astype(np.float64), fs=fs, window=p.window, nperseg=p.nperseg, noverlap=p.noverlap,
        detrend=False if p.detrend == "none" else p.detrend, scaling=p.scaling, axis=-1,
    )
    assert psd.dtype == np.float32 and psd.shape == (2, 3, p.nperseg // 2 + 1)
    _close(f, rf, rtol=F32_RTOL)
    _close(psd, rpsd, rtol=1e-5)


def test_window_coefficients_match_scipy():
    for name in ("hann", "hamming", "boxcar"):
        np.testing.assert_allclose(window_coefficients(name, 64), scipy.signal.get_window(name, 64), atol=1e-15)


def test_band_powers_parseval_on_welch(rng):
    # Bands tiling [0, Nyquist] of a Welch density add up to the mean over segments of
    # sum((w * detrended segment)^2) / sum(w^2): an exact identity, rtol 1e-5 (float32).
    fs, n, nper = 100.0, 1000, 64
    x = rng.standard_normal(n) * 3.0 + 1.0
    p = WelchParams(nperseg=nper)
    f, psd = welch(x, sample_rate=fs, params=p)
    bands = band_powers(psd, freqs=f, params=BandPowerParams(edges_hz=(0.0, 3.3, 10.0, 27.1, 50.0)))
    w = scipy.signal.get_window("hann", nper)
    segs = np.stack([x[i : i + nper] for i in range(0, n - nper + 1, p.hop)])
    segs = segs - segs.mean(axis=1, keepdims=True)
    expect = np.mean(np.sum((segs * w) ** 2, axis=1)) / np.sum(w * w)
    assert abs(bands.sum() - expect) <= 1e-5 * expect


def test_band_powers_of_a_sine():
    # A sine of amplitude A has power A^2/2; a band holding its whole Hann main lobe
    # reads it within 1 %, the other bands read < 1e-4 of it.
    fs, A = 200.0, 2.0
    x = A * np.sin(2 * np.pi * 25.0 * np.arange(4000) / fs)
    f, psd = welch(x, sample_rate=fs, params=WelchParams(nperseg=256))
    bp = band_powers(psd, freqs=f, params=BandPowerParams(edges_hz=(0.0, 20.0, 30.0, 100.0)))
    assert abs(bp[1] - A * A / 2) < 0.01 * A * A / 2
    assert bp[0] < 1e-4 * bp[1] and bp[2] < 1e-4 * bp[1]


def test_band_bins_rule():
    f = np.arange(9) * 10.0  # 0..80 Hz, 80 = top bin
    assert band_bins(f, (0.0, 10.0, 35.0, 80.0)).tolist() == [[0, 1], [1, 4], [4, 9]]
    assert band_bins(f, (5.0, 20.0)).tolist() == [[1, 2]]  # 20 Hz bin excluded (half-open)
    with pytest.raises(ConfigError, match=r"band 1 \[11.0, 15.0\) Hz .* contains no frequency bin"):
        band_bins(f, (0.0, 11.0, 15.0))
    with pytest.raises(ConfigError, match=r"edges_hz\[-1\]=90.0 is above the top bin frequency 80.0"):
        band_bins(f, (0.0, 90.0))


def test_band_powers_log_and_plain_sum():
    f = np.arange(5) * 10.0
    s = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    plain = band_powers(s, freqs=f, params=BandPowerParams(edges_hz=(0.0, 25.0, 40.0), integrate=False))
    np.testing.assert_array_equal(plain, [[6.0, 9.0]])
    lg = band_powers(s, freqs=f, params=BandPowerParams(edges_hz=(0.0, 25.0, 40.0), log=True))
    np.testing.assert_allclose(lg, np.log(np.array([[60.0, 90.0]]) + 1e-10), rtol=1e-6)


def test_spectral_peaks_match_scipy_find_peaks(rng):
    s = rng.random((20, 65))
    f = np.arange(65) * 0.5
    k = 4
    pf, ph = spectral_peaks(s, freqs=f, params=SpectralPeaksParams(n_peaks=k, interpolate=False))
    for row in range(s.shape[0]):
        idx, _ = scipy.signal.find_peaks(s[row])
        top = idx[np.argsort(-s[row, idx], kind="stable")][:k]
        np.testing.assert_allclose(pf[row, : len(top)], f[top], rtol=F32_RTOL)
        np.testing.assert_allclose(ph[row, : len(top)], s[row, top], rtol=F32_RTOL)


def test_spectral_peaks_interpolation_accuracy():
    # Hann-windowed sinusoids between bins, quadratic fit on the dB spectrum: the
    # interpolated frequency is within 0.06 bin (measured max 0.043), the bin-centre
    # estimate is off by up to 0.5 bin.
    fs, n = 1000.0, 256
    df = fs / n
    w = np.hanning(n + 1)[:-1]
    errs_i, errs_b = [], []
    for f0 in np.linspace(100.0, 101.0 * df / df + df, 23):
        x = np.sin(2 * np.pi * f0 * np.arange(n) / fs)
        db = 20 * np.log10(np.abs(np.fft.rfft(x * w)) + 1e-12)
        freqs = np.fft.rfftfreq(n, 1 / fs)
        fi, _ = spectral_peaks(db, freqs=freqs, params=SpectralPeaksParams(n_peaks=1))
        fb, _ = spectral_peaks(db, freqs=freqs, params=SpectralPeaksParams(n_peaks=1, interpolate=False))
        errs_i.append(abs(fi[0] - f0) / df)
        errs_b.append(abs(fb[0] - f0) / df)
    assert max(errs_i) < 0.06
    assert max(errs_b) > 0.3


def test_spectral_peaks_padding_and_fmin():
    f = np.arange(6) * 1.0
    s = np.array([5.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    pf, ph = spectral_peaks(s, freqs=f, params=SpectralPeaksParams(n_peaks=3, fmin_hz=0.5))
    assert pf.tolist() == [2.0, 0.0, 0.0] and ph.tolist() == [1.0, 0.0, 0.0]
    pf, _ = spectral_peaks(s, freqs=f, params=SpectralPeaksParams(n_peaks=3, fmin_hz=2.5))
    assert pf.tolist() == [0.0, 0.0, 0.0]


# --------------------------------------------------------------------------- band energies


@pytest.mark.parametrize(
    "kw",
    [
        {"n_fft": 256, "n_bands": 8},
        {"n_fft": 512, "hop_length": 100, "n_bands": 12, "spacing": "log", "fmin_hz": 50.0, "fmax_hz": 5000.0, "window": "hamming"},
        {"n_fft": 128, "hop_length": 128, "n_bands": 5, "fmin_hz": 100.0, "window": "boxcar"},
    ],
)
def test_log_band_energies_match_scipy_spectrogram(kw, rng):
    fs = 12000.0
    x = rng.standard_normal((2, 3000)).astype(np.float32)
    p = LogBandEnergyParams(**kw)
    out = log_band_energies(x, sample_rate=fs, params=p)
    w = scipy.signal.get_window(p.window, p.n_fft)
    # scipy 'spectrum' scaling is |X|^2 / (sum w)^2, doubled except DC/Nyquist.
    _, _, spec = scipy.signal.spectrogram(
        x.astype(np.float64), fs=fs, window=w, nperseg=p.n_fft, noverlap=p.n_fft - p.hop_length,
        detrend=False, scaling="spectrum", mode="psd", axis=-1,
    )
    energy = spec * np.sum(w) ** 2 / p.n_fft  # (2, n_bins, n_frames)
    bins = p.bins(fs)
    ref = np.log(np.stack([energy[:, a:b].sum(axis=1) for a, b in bins], axis=1) + p.log_floor)
    assert out.shape == ref.shape == (2, p.n_bands, 1 + (3000 - p.n_fft) // p.hop_length)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_log_band_energies_parseval(rng):
    # Linear bands over [0, Nyquist]: the band energies add up to the frame's windowed
    # energy sum((w * frame)^2); rtol 1e-5.
    x = rng.standard_normal(4096)
    p = LogBandEnergyParams(n_fft=256, hop_length=256, n_bands=7)
    e = np.exp(log_band_energies(x, sample_rate=1000.0, params=p).astype(np.float64)) - p.log_floor
    w = scipy.signal.get_window("hann", 256)
    frames = x.reshape(16, 256)
    np.testing.assert_allclose(e.sum(axis=0), np.sum((frames * w) ** 2, axis=1), rtol=1e-5)


def test_log_band_energies_edges():
    p = LogBandEnergyParams(n_fft=1024, n_bands=4, spacing="log", fmin_hz=10.0, fmax_hz=1000.0)
    np.testing.assert_allclose(p.edges_hz(8000.0), [10.0, 31.6227766, 100.0, 316.227766, 1000.0], rtol=1e-8)


# --------------------------------------------------------------------------- IMU spectral block


@pytest.mark.parametrize("filter_kind", ["none", "lowpass", "highpass"])
def test_imu_spectral_matches_scipy_composition(filter_kind, rng):
    fs = 62.5
    x = (rng.standard_normal((4, 3, 200)) + [[[0.0]], [[1.0]], [[9.8]], [[-2.0]]]).astype(np.float32)
    p = ImuSpectralParams(filter_kind=filter_kind, filter_order=3, filter_cutoff_hz=8.0,
                          nperseg=64, band_edges_hz=(0.5, 2.0, 5.0, 10.0, 31.25))
    out = imu_spectral(x, sample_rate=fs, params=p)
    assert out.shape == (4, 3, p.n_features) and out.dtype == np.float32
    y = x.astype(np.float64)
    if filter_kind != "none":
        sos = scipy.signal.butter(3, 8.0, btype=filter_kind, fs=fs, output="sos").astype(np.float32)
        y = scipy.signal.sosfilt(sos.astype(np.float64), y, axis=-1).astype(np.float32).astype(np.float64)
    y = y - y.mean(axis=-1, keepdims=True)
    f, psd = scipy.signal.welch(y, fs=fs, nperseg=64, axis=-1)
    bins = band_bins(f, p.band_edges_hz)
    bands = np.log(np.stack([psd[..., a:b].sum(-1) * (f[1] - f[0]) for a, b in bins], -1) + 1e-10)
    ref = np.concatenate(
        [np.sqrt(np.mean(y * y, -1))[..., None], scipy.stats.skew(y, axis=-1)[..., None],
         scipy.stats.kurtosis(y, axis=-1)[..., None], bands], -1)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    assert imu_spectral_names(p)[:4] == ["rms", "skewness", "kurtosis", "band_0.5_2Hz"]


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("fisher", [True, False])
def test_time_stats_match_scipy(fisher, rng):
    x = (rng.gamma(2.0, size=(3, 4, 301)) - 1.5).astype(np.float32)
    s, names = time_stats(x, params=StatsParams(fisher=fisher, zcr_center=False))
    assert names == list(STAT_NAMES) and s.shape == (3, 4, 8) and s.dtype == np.float32
    x64 = x.astype(np.float64)
    rms = np.sqrt(np.mean(x64**2, -1))
    signs = x64 >= 0
    ref = np.stack([
        x64.mean(-1), x64.std(-1), rms,
        scipy.stats.skew(x64, axis=-1), scipy.stats.kurtosis(x64, axis=-1, fisher=fisher),
        np.max(np.abs(x64), -1) / rms, np.ptp(x64, -1),
        np.mean(signs[..., 1:] != signs[..., :-1], -1),
    ], -1)
    np.testing.assert_allclose(s, ref, rtol=1e-5, atol=1e-6)


def test_time_stats_zcr_center_and_degenerate():
    t = np.arange(100)
    x = 9.8 + np.sin(2 * np.pi * t / 20.0 + 0.1)  # 9 crossings of its mean (t = 10k - 0.32), none of 0
    s, _ = time_stats(x)
    assert s[7] == pytest.approx(9 / 99)
    s, _ = time_stats(x, params=StatsParams(zcr_center=False))
    assert s[7] == 0.0
    const, _ = time_stats(np.full((2, 50), 3.3))
    assert np.all(np.isfinite(const))
    np.testing.assert_allclose(const[0], [3.3, 0, 3.3, 0, 0, 1, 0, 0], atol=1e-6)
    zeros, _ = time_stats(np.zeros(10), params=StatsParams(fisher=False))
    np.testing.assert_array_equal(zeros, [0, 0, 0, 0, 3, 0, 0, 0])


# --------------------------------------------------------------------------- envelope


@pytest.mark.parametrize("n", [1000, 1001])
def test_hilbert_envelope_matches_scipy(n, rng):
    x = rng.standard_normal((2, n))
    env = hilbert_envelope(x)
    _close(env, np.abs(scipy.signal.hilbert(x, axis=-1)), rtol=F32_RTOL)


def test_envelope_spectrum_finds_bearing_defect_rate(rng):
    # Impacts at 87.3 Hz ring a 3 kHz resonance (decay 2 ms) in noise: the envelope
    # spectrum peaks within one bin (1 Hz) of 87.3 Hz or its 2nd harmonic.
    fs, n = 12000.0, 12000
    t = np.arange(n) / fs
    x = np.zeros(n)
    ring = np.exp(-np.arange(200) / fs / 0.002) * np.sin(2 * np.pi * 3000.0 * np.arange(200) / fs)
    for k in (np.arange(0, 1.0, 1 / 87.3) * fs).astype(int):
        seg = ring[: n - k]
        x[k : k + len(seg)] += seg
    x += 0.3 * rng.standard_normal(n) + 0.5 * np.sin(2 * np.pi * 50 * t)
    f, a = envelope_spectrum(x, sample_rate=fs, params=EnvelopeSpectrumParams(band_low_hz=2000, band_high_hz=4000, fmax_hz=300))
    assert f[-1] <= 300 and a.shape == f.shape
    peak = f[np.argmax(a[5:]) + 5]
    assert min(abs(peak - 87.3), abs(peak - 2 * 87.3)) <= 1.0


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("rates,ratio", [((44100, 16000), (160, 441)), ((48000, 12000), (1, 4)),
                                          ((360, 125), (25, 72)), ((125, 125), (1, 1)), ((100, 300.0), (3, 1))])
def test_resample_matches_resample_poly(rates, ratio, rng):
    assert rational_ratio(*rates) == ratio
    x = rng.standard_normal((2, 1234)).astype(np.float32)
    y = resample(x, orig_rate=rates[0], target_rate=rates[1])
    ref = x if ratio == (1, 1) else scipy.signal.resample_poly(x.astype(np.float64), *ratio, axis=-1)
    assert y.dtype == np.float32 and y.shape[-1] == int(np.ceil(1234 * ratio[0] / ratio[1]))
    _close(y, ref, rtol=F32_RTOL)


def test_resample_preserves_a_tone():
    # 1.3 Hz at 360 Hz -> 125 Hz: away from the edges the tone is intact within 1e-3.
    x = np.sin(2 * np.pi * 1.3 * np.arange(3600) / 360.0)
    y = resample(x, orig_rate=360, target_rate=125)
    ref = np.sin(2 * np.pi * 1.3 * np.arange(len(y)) / 125.0)
    assert np.max(np.abs(y[100:-100] - ref[100:-100])) < 1e-3


# --------------------------------------------------------------------------- peaks


def _ppg_like(rng, n=1000, fs=100.0, noise=0.03):
    t = np.arange(n) / fs
    x = np.zeros(n)
    beat = 0.2 + rng.uniform(0, 0.3)
    while beat < t[-1]:  # systolic peak + dicrotic wave, 50..150 bpm
        x += np.exp(-0.5 * ((t - beat) / 0.05) ** 2) + 0.4 * np.exp(-0.5 * ((t - beat - 0.25) / 0.06) ** 2)
        beat += 60 / rng.uniform(50, 150)
    return (x + noise * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize(
    "x,ours,scipy_says",
    [
        # later & higher within d replaces; later & lower within d is dropped
        ([0, 1, 0, 2, 0, 0, 0, 0, 0, 1.5, 0, 1, 0], [3, 9], [3, 9]),
        # A(7) B(6) C(6.5): B dropped by A, C is >= d from A: both keep A and C
        ([0, 7, 0, 0, 6, 0, 0, 6.5, 0], [1, 7], [1, 7]),
        # rising chain A(5) < B(6) < C(7), steps < d, C - A >= d: scipy keeps A and C, we keep C
        ([0, 5, 0, 0, 6, 0, 0, 7, 0], [7], [1, 7]),
    ],
)
def test_detect_peaks_refractory_rule_vs_scipy(x, ours, scipy_says):
    x = np.asarray(x, dtype=np.float32)
    p = PeakParams(min_distance_s=5.0, threshold_mode="none")  # d = 5 samples at 1 Hz
    assert detect_peaks(x, sample_rate=1.0, params=p).tolist() == ours
    assert scipy.signal.find_peaks(x, distance=5)[0].tolist() == scipy_says


def test_detect_peaks_agrees_with_scipy_on_pulse_signals(rng):
    # PPG-like pulse trains (0.3 s refractory, threshold 0.2): identical peak lists to
    # scipy.signal.find_peaks(height=0.2, distance=30) on >= 90 % of 40 signals (measured
    # 38/40); on every signal kept peaks are >= d apart and every dropped candidate has
    # a candidate at least as high within d.
    fs = 100.0
    p = PeakParams(min_distance_s=0.3, threshold=0.2)
    d = p.distance_samples(fs)
    same = 0
    for _ in range(40):
        x = _ppg_like(rng)
        ours = detect_peaks(x, sample_rate=fs, params=p)
        ref, _ = scipy.signal.find_peaks(x, height=0.2, distance=d)
        same += np.array_equal(ours, ref)
        cand, _ = local_maxima(x)
        cand = cand[x[cand] >= np.float32(0.2)]
        assert set(ours) <= set(cand) and np.all(np.diff(ours) >= d)
        for c in np.setdiff1d(cand, ours):
            near = cand[(np.abs(cand - c) < d) & (cand != c)]
            assert near.size and np.max(x[near]) >= x[c]
    assert same >= 36


def test_detect_peaks_plateaus_like_scipy():
    x = np.array([0, 1, 1, 1, 0, 2, 2, 3, 3, 0, 1, 1, 5], dtype=np.float32)
    ours = detect_peaks(x, sample_rate=1.0, params=PeakParams(min_distance_s=1.0, threshold_mode="none"))
    np.testing.assert_array_equal(ours, scipy.signal.find_peaks(x)[0])
    assert ours.tolist() == [2, 7]


def test_detect_peaks_adaptive_threshold():
    # Two big beats then small ones: with factor 0.5 and a 1 s window, small beats are
    # rejected while a big one is in the window, then accepted once it has left.
    fs = 100.0
    x = np.zeros(600, dtype=np.float32)
    beats = {50: 4.0, 100: 4.0, 150: 1.0, 199: 1.0, 260: 1.0, 320: 1.0}
    for i, v in beats.items():
        x[i] = v
    p = PeakParams(min_distance_s=0.2, threshold_mode="adaptive", adaptive_factor=0.5, adaptive_window_s=1.0)
    assert detect_peaks(x, sample_rate=fs, params=p).tolist() == [50, 100, 260, 320]
    # The trailing moving maximum used for the threshold, vs brute force, even window.
    w = 4
    y = np.array([0, 3, 1, 2, 0, 0, 0, 5, 0, 1], dtype=np.float32)
    import scipy.ndimage

    mm = scipy.ndimage.maximum_filter1d(y, size=w, mode="nearest", origin=(w - 1) // 2)
    assert mm.tolist() == [max(y[max(0, i - w + 1) : i + 1]) for i in range(len(y))]


# --------------------------------------------------------------------------- normalisation


def test_zscore_fixed_and_fitted(rng):
    x = rng.standard_normal((50, 3, 40)) * [[[1.0], [5.0], [0.1]]] + [[[0.0], [9.8], [-3.0]]]
    p = fit_zscore(x, axis=-2)
    np.testing.assert_allclose(p.mean, x.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(p.std, x.std(axis=(0, 2)), rtol=1e-6)
    z = zscore(x, params=p, axis=-2)
    x32 = x.astype(np.float32)
    expect = (x32 - np.float32(p.mean)[:, None]) / np.float32(p.std)[:, None]
    np.testing.assert_array_equal(z, expect)  # bit-exact float32 formula (the C twin's)
    assert np.abs(z.mean(axis=(0, 2))).max() < 1e-5 and np.abs(z.std(axis=(0, 2)) - 1).max() < 1e-5


def test_zscore_per_window_and_minmax(rng):
    x = rng.standard_normal((4, 100)) * 3 + 7
    z = zscore(x)
    np.testing.assert_allclose(z.mean(-1), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(-1), 1, atol=1e-5)
    assert np.all(zscore(np.full(10, 2.0)) == 0)
    m = minmax(x)
    np.testing.assert_allclose(m.min(-1), 0) and np.testing.assert_allclose(m.max(-1), 1)
    mm = minmax(np.array([[0.0, 5.0], [10.0, 15.0]]), params=MinMaxParams(min=(0.0, 5.0), max=(10.0, 25.0)))
    np.testing.assert_allclose(mm, [[0.0, 0.0], [1.0, 0.5]])


def test_quantize_int8_rounds_half_away_from_zero_like_tflite():
    # x / scale = +-0.5, +-1.5, +-2.5 round away from zero (C roundf / TfLiteRound);
    # numpy's np.round would give 0, +-2, +-2.
    v = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, 200.0, -200.0])
    q = quantize_int8(v * 0.25, scale=0.25, zero_point=0)
    assert q.tolist() == [1, -1, 2, -2, 3, -3, 0, 127, -128]
    q = quantize_int8(np.array([0.0, 1.0]), scale=0.1, zero_point=-128)
    assert q.tolist() == [-128, -118]
    np.testing.assert_array_equal(dequantize_int8(q, scale=0.1, zero_point=-128), np.float32([0.0, np.float32(0.1) * 10]))


def test_fake_quantize_error_bounded(rng):
    scale, zp = 0.05, 3
    x = rng.uniform(-6.0, 6.0, 10000).astype(np.float32)
    fq = fake_quantize_int8(x, scale=scale, zero_point=zp)
    inside = (x >= scale * (-128 - zp)) & (x <= scale * (127 - zp))
    assert np.max(np.abs(fq[inside] - x[inside])) <= scale / 2 * (1 + 1e-5)
    assert np.all(fq[~inside] == np.where(x[~inside] > 0, np.float32(scale) * (127 - zp), np.float32(scale) * (-128 - zp)))


# --------------------------------------------------------------------------- IMU stream


@pytest.mark.parametrize("L,hop", [(50, 25), (32, 32), (20, 7), (10, 30), (1, 1)])
def test_imu_stream_equals_batch_windows(L, hop, rng):
    x = rng.standard_normal((3, 503)).astype(np.float32)
    p = ImuWindowParams(window_length=L, hop_length=hop)
    batch = imu_windows(x, params=p)
    assert batch.shape == (p.n_windows(503), 3, L)
    for _trial in range(5):
        s = ImuStream(n_channels=3, params=p)
        cuts = np.sort(rng.integers(0, 504, size=rng.integers(1, 40)))
        parts = [s.push(c) for c in np.split(x, cuts, axis=-1)]
        np.testing.assert_array_equal(np.concatenate(parts, axis=0), batch)
        assert s.samples_seen == 503


def test_imu_windows_layout_and_batch(rng):
    x = rng.standard_normal((2, 6, 100)).astype(np.float32)
    w = imu_windows(x, params=ImuWindowParams(window_length=40, hop_length=20))
    assert w.shape == (2, 4, 6, 40)
    np.testing.assert_array_equal(w[1, 2, 5], x[1, 5, 40:80])


# --------------------------------------------------------------------------- bad inputs

BAD = [
    (lambda: butter_sos(sample_rate=50.0, params=ButterworthParams(cutoff_hz=30.0)), "cutoff_hz=30.0 must be below the Nyquist frequency 25.0"),
    (lambda: butter_sos(sample_rate=50.0, params=ButterworthParams(cutoff_hz=25.0)), "cutoff_hz=25.0 must be below the Nyquist"),
    (lambda: butter_sos(sample_rate=50.0, params=ButterworthParams(kind="bandpass", cutoff_hz=(1.0, 26.0))), "cutoff_hz=26.0"),
    (lambda: butter_sos(sample_rate=0.0, params=ButterworthParams()), "sample_rate=0.0"),
    (lambda: ButterworthParams(order=0), "order=0 must be an integer >= 1"),
    (lambda: ButterworthParams(kind="notch"), "kind='notch' is not supported"),
    (lambda: ButterworthParams(kind="bandpass", cutoff_hz=5.0), "cutoff_hz=5.0 must be a pair"),
    (lambda: ButterworthParams(kind="bandpass", cutoff_hz=(5.0, 1.0)), "must be increasing"),
    (lambda: ButterworthParams(cutoff_hz=-1.0), "cutoff_hz=-1.0"),
    (lambda: sosfilt(np.zeros((3, 0)), sos=np.eye(1, 6, 3) + np.eye(1, 6, 0)), "signal is empty"),
    (lambda: sosfilt([1.0, np.nan], sos=np.eye(1, 6, 3) + np.eye(1, 6, 0)), "non-finite"),
    (lambda: sosfilt(np.array(["a", "b"]), sos=np.eye(1, 6, 3) + np.eye(1, 6, 0)), "signal has dtype <U1"),
    (lambda: sosfilt(np.ones(4, dtype=complex), sos=np.eye(1, 6, 3) + np.eye(1, 6, 0)), "signal has dtype complex128"),
    (lambda: sosfilt(np.float32(1.0), sos=np.eye(1, 6, 3) + np.eye(1, 6, 0)), "signal has 0 dimension(s)"),
    (lambda: sosfilt(np.ones(10), sos=np.ones((2, 5))), "sos has shape (2, 5)"),
    (lambda: sosfilt(np.ones(10), sos=np.ones((1, 6)) * 2), "a0 == 1"),
    (lambda: sosfilt(np.ones(10), sos=butter_sos(sample_rate=100.0, params=ButterworthParams(cutoff_hz=10.0)), zero_phase=True), "needs more than 15"),
    (lambda: SosFilter(np.eye(1, 6, 3) + np.eye(1, 6, 0), batch_shape=(3,)).process(np.ones((2, 5))), "chunk has shape (2, 5)"),
    (lambda: WelchParams(nperseg=100), "nperseg=100 must be a power of two"),
    (lambda: WelchParams(nperseg=64, noverlap=64), "noverlap=64 must be an integer >= 0 and <= 63"),
    (lambda: WelchParams(window="kaiser"), "window='kaiser' is not supported"),
    (lambda: welch(np.ones(100), sample_rate=10.0, params=WelchParams(nperseg=256)), "fewer than nperseg=256"),
    (lambda: welch(np.ones((2, 300)), sample_rate=-1.0), "sample_rate=-1.0"),
    (lambda: BandPowerParams(edges_hz=(1.0, 1.0)), "must be strictly increasing"),
    (lambda: BandPowerParams(edges_hz=(1.0,)), "at least 2 edges"),
    (lambda: BandPowerParams(edges_hz=(-1.0, 2.0)), "edges_hz[0]=-1.0"),
    (lambda: band_powers(np.ones(5), freqs=np.arange(4.0), params=BandPowerParams(edges_hz=(0.0, 2.0))), "freqs has shape (4,) but spectrum has 5 bins"),
    (lambda: SpectralPeaksParams(n_peaks=0), "n_peaks=0"),
    (lambda: spectral_peaks(np.ones(2), freqs=np.arange(2.0)), "expected at least 3"),
    (lambda: LogBandEnergyParams(n_fft=1000), "n_fft=1000 must be a power of two"),
    (lambda: LogBandEnergyParams(spacing="log"), "fmin_hz=0.0 must be > 0 for spacing='log'"),
    (lambda: LogBandEnergyParams(n_fft=64, n_bands=40), "n_bands=40 must be an integer >= 1 and <= 33"),
    (lambda: log_band_energies(np.ones(100), sample_rate=1000.0, params=LogBandEnergyParams(n_fft=1024)), "fewer than n_fft=1024"),
    (lambda: log_band_energies(np.ones(2048), sample_rate=1000.0, params=LogBandEnergyParams(fmax_hz=600.0)), "fmax_hz=600.0 is above the Nyquist frequency 500.0"),
    (lambda: log_band_energies(np.ones(256), sample_rate=1000.0, params=LogBandEnergyParams(n_fft=64, n_bands=16, spacing="log", fmin_hz=1.0)), "contains no frequency bin"),
    (lambda: ImuSpectralParams(filter_kind="bandpass"), "filter_kind='bandpass' is not supported"),
    (lambda: imu_spectral(np.ones((3, 100)), sample_rate=10.0, params=ImuSpectralParams(band_edges_hz=(0.5, 6.0))), "edges_hz[-1]=6.0 is above the top bin frequency 5.0"),
    (lambda: imu_spectral(np.ones((3, 100)), sample_rate=10.0, params=ImuSpectralParams(filter_kind="lowpass", filter_cutoff_hz=5.0, band_edges_hz=(0.5, 4.0))), "cutoff_hz=5.0 must be below the Nyquist"),
    (lambda: imu_spectral(np.ones((3, 32)), sample_rate=50.0), "fewer than nperseg=64"),
    (lambda: time_stats(np.array([[np.inf, 1.0]])), "non-finite"),
    (lambda: hilbert_envelope(np.zeros(0)), "signal is empty"),
    (lambda: EnvelopeSpectrumParams(band_low_hz=3000.0, band_high_hz=2000.0), "band_high_hz=2000.0 must be a finite number > 3000.0"),
    (lambda: envelope_spectrum(np.ones(1000), sample_rate=6000.0), "cutoff_hz=4000.0 must be below the Nyquist frequency 3000.0"),
    (lambda: resample(np.ones(10), orig_rate=0, target_rate=16000), "orig_rate=0"),
    (lambda: resample(np.ones(10), orig_rate=float("nan"), target_rate=16000), "orig_rate=nan"),
    (lambda: rational_ratio(44100.5, 16000.3), "exceed max_factor=10000"),
    (lambda: PeakParams(adaptive_factor=1.5), "adaptive_factor=1.5"),
    (lambda: PeakParams(min_distance_s=-0.1), "min_distance_s=-0.1"),
    (lambda: PeakParams(threshold_mode="relative"), "threshold_mode='relative' is not supported"),
    (lambda: detect_peaks(np.ones((2, 10)), sample_rate=100.0), "signal has shape (2, 10); detect_peaks takes one 1-D signal"),
    (lambda: ZScoreParams(mean=(0.0,), std=(0.0,)), "std[0]=0.0 must be a finite number > 0.0"),
    (lambda: ZScoreParams(mean=(0.0,), std=None), "both be given"),
    (lambda: zscore(np.ones((2, 5)), params=ZScoreParams(mean=(0.0, 1.0, 2.0), std=(1.0, 1.0, 1.0))), "signal has 5 entries on axis -1 but params has 3"),
    (lambda: MinMaxParams(min=(1.0,), max=(1.0,)), "max[0]=1.0 must be greater than min[0]=1.0"),
    (lambda: quantize_int8(np.ones(3), scale=0.0, zero_point=0), "scale=0.0"),
    (lambda: quantize_int8(np.ones(3), scale=0.1, zero_point=200), "zero_point=200 must be an integer >= -128 and <= 127"),
    (lambda: dequantize_int8(np.ones(3), scale=0.1, zero_point=0), "q has dtype float64; expected int8"),
    (lambda: ImuWindowParams(window_length=0), "window_length=0"),
    (lambda: imu_windows(np.ones(100), params=ImuWindowParams()), "signal has 1 dimension(s); expected at least 2"),
    (lambda: imu_windows(np.ones((3, 100)), params=ImuWindowParams(window_length=128)), "signal has 100 samples, fewer than window_length=128"),
    (lambda: ImuStream(n_channels=3).push(np.ones((6, 4))), "chunk has shape (6, 4); expected (n_channels=3, k)"),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_inputs_raise_config_error_naming_the_problem(call, message):
    with pytest.raises(ConfigError) as info:
        call()
    text = str(info.value)
    assert message in text
    assert "\n" not in text  # one line


# --------------------------------------------------------------------------- golden files

GOLDEN_SIGNAL = ["butter_v1", "stats_v1", "welch_v1", "bands_v1", "lbe_v1", "imuspec_v1", "peaks_v1",
                 "zscore_v1", "int8_v1", "envspec_v1"]


@pytest.mark.parametrize("name", GOLDEN_SIGNAL)
def test_python_reproduces_golden_file(name):
    # The committed file (written by tests/golden/gen_signal.py) against today's code on
    # the same inputs: peaks and int8 exactly, floats within rtol 1e-5 + 1e-6 of the
    # largest value (room for another machine's FFT/BLAS rounding; identical here).
    from pathlib import Path

    from golden.generate import GENERATORS, _load_plugins, read_golden

    _load_plugins()
    header, pairs = read_golden(Path(__file__).parent / "golden" / f"{name}.txt")
    fresh = GENERATORS[name]()
    import json

    assert json.loads(json.dumps(fresh.header)) == header  # same version, params, signals
    assert len(fresh.pairs) == len(pairs)
    for (x, expected), (fx, fy), label in zip(pairs, fresh.pairs, header["pairs"]):
        np.testing.assert_array_equal(x.astype(np.float32), np.ravel(fx).astype(np.float32), err_msg=label)
        fy = np.ravel(fy).astype(np.float64)
        if header["feature"] in ("peaks", "int8"):
            np.testing.assert_array_equal(fy, expected, err_msg=label)
        else:
            np.testing.assert_allclose(fy, expected, rtol=1e-5, atol=1e-6 * np.max(np.abs(expected)), err_msg=label)


@pytest.mark.slow
def test_quantize_int8_equals_tflm_quantize_op():
    # A float-input, int8-output model (QUANTIZE -> CONCATENATION) converted by TF 2.21
    # and run on the TFLM runtime (what the device runs) and on LiteRT's reference
    # kernels: quantize_int8 gives exactly their int8 values, on 300+ inputs whose
    # x / scale is a float32 half-way point or one ulp from it, plus uniform values.
    # (LiteRT's default XNNPACK delegate differs: it rounds x * (1 / scale) half to
    # even; measured 189 of 2843 values differ. Feed int8 inputs to compare runtimes.)
    tf = pytest.importorskip("tensorflow")
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tflite_micro.python.tflite_micro import runtime

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32)])
        def f(self, x):
            return tf.concat([x, x], axis=1)

    m = Model()
    rng = np.random.default_rng(7)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([m.f.get_concrete_function()], m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.uniform(-3.1, 2.7, (1, 64)).astype(np.float32)] for _ in range(20))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_output_type = tf.int8
    model = conv.convert()
    ref = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    scale, zp = ref.get_output_details()[0]["quantization"]
    s32 = np.float32(scale)
    xs = []
    for k in range(-140, 141):
        v = np.float32((k + 0.5 - zp) * s32)
        xs += [v, np.nextafter(v, np.float32(1e9)), np.nextafter(v, np.float32(-1e9))]
    xs = np.array(xs, dtype=np.float32)
    assert np.sum(xs / s32 == np.floor(xs / s32) + 0.5) > 100  # many exact half-way points
    xs = np.concatenate([xs, rng.uniform(-4, 4, 2000).astype(np.float32)])
    xs = np.concatenate([xs, np.zeros(-len(xs) % 64, dtype=np.float32)]).reshape(-1, 64)
    tflm = runtime.Interpreter.from_bytes(model, arena_size=20000)
    got_tflm, got_ref = [], []
    for row in xs:
        tflm.set_input(row[None], 0)
        tflm.invoke()
        got_tflm.append(tflm.get_output(0)[0, :64])
        ref.set_tensor(ref.get_input_details()[0]["index"], row[None])
        ref.invoke()
        got_ref.append(ref.get_tensor(ref.get_output_details()[0]["index"])[0, :64])
    ours = quantize_int8(xs, scale=scale, zero_point=zp)
    np.testing.assert_array_equal(ours, np.stack(got_tflm))
    np.testing.assert_array_equal(ours, np.stack(got_ref))


# --------------------------------------------------------------------------- real recordings


@pytest.mark.real_data
@needs_shared_data("cwru")
@pytest.mark.parametrize("name", ["IR007_0", "IR014_0", "IR021_0", "IR007_2", "OR007@6_0", "OR021@6_0", "OR007@3_2"])
def test_envelope_spectrum_finds_cwru_fault_frequency(name):
    # CWRU 12 kHz drive-end records, first 5 s, resonance band 2-5 kHz: the highest
    # envelope-spectrum peak above 50 Hz lies within 1 % of the defect frequency
    # (BPFI = 5.4152 f_r, BPFO = 3.5848 f_r for the SKF 6205; measured within 0.4 %).
    # OR014@6_2 is left out: its highest peak is at 0.56 BPFO.
    import scipy.io
    from helpers.run_if import SHARED_DATA

    m = scipy.io.loadmat(SHARED_DATA / "cwru" / "12k_DE" / f"{name}.mat")
    x = m[next(k for k in m if k.endswith("_DE_time"))].ravel()[: 5 * 12000]
    rpm = float(m[next(k for k in m if k.endswith("RPM"))].ravel()[0])
    target = (5.4152 if name.startswith("IR") else 3.5848) * rpm / 60.0
    f, a = envelope_spectrum(x, sample_rate=12000.0,
                             params=EnvelopeSpectrumParams(band_low_hz=2000.0, band_high_hz=5000.0, fmax_hz=500.0))
    keep = f > 50.0
    peak = f[keep][np.argmax(a[keep])]
    assert abs(peak / target - 1.0) < 0.01


@pytest.mark.real_data
@needs_shared_data("mitbih")
def test_r_peaks_on_mitbih_ds1():
    # First 5 minutes of the 22 MIT-BIH DS1 records, lead 1: zero-phase 8-20 Hz
    # band-pass, |y|, detect_peaks (0.25 s refractory, adaptive 0.35 x 2 s maximum).
    # Against the beat annotations (150 ms tolerance): sensitivity >= 0.96 and PPV >=
    # 0.97 over all beats (measured 0.977 and 0.986; record 208's bigeminy is the worst).
    wfdb = pytest.importorskip("wfdb")
    from helpers.run_if import SHARED_DATA

    beats = set("NLRBAaJSVrFejnE/fQ?")
    tp = n_ref = n_det = 0
    for hea in sorted((SHARED_DATA / "mitbih").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")), sampto=360 * 300)
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr", sampto=360 * 300)
        ref = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in beats])
        fs = float(rec.fs)
        y = butter_filter(rec.p_signal[:, 0], sample_rate=fs,
                          params=ButterworthParams(kind="bandpass", order=2, cutoff_hz=(8.0, 20.0), zero_phase=True))
        pk = detect_peaks(np.abs(y), sample_rate=fs, params=PeakParams(
            min_distance_s=0.25, threshold_mode="adaptive", adaptive_factor=0.35, adaptive_window_s=2.0))
        used = set()
        for s in ref:
            i = int(np.argmin(np.abs(pk - s)))
            if abs(pk[i] - s) <= 0.15 * fs and i not in used:
                used.add(i)
        tp += len(used)
        n_ref += len(ref)
        n_det += len(pk)
    assert tp / n_ref >= 0.96 and tp / n_det >= 0.97, (tp / n_ref, tp / n_det)
