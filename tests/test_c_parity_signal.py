"""C99 twins of the signal blocks vs the numpy implementations (host compiler, strict flags).

The driver tests/c/test_dsp_signal.c is compiled with firmware_templates/dsp/ and a
``dsp_params.h`` generated from the same parameter dataclasses (``Params.c_defines``
through ``cgen.defines_header``), run on random and structured signals and on the
golden files, and compared with numpy. Tolerances (float32 C vs numpy's float64
pipelines rounded to float32), each with its measured worst case in the test:

* biquad cascade (streamed in random chunk sizes): ``|c - py| <= 1e-4 * max|py|``
  (measured worst 1.7e-5, the 0.5-5 Hz band-pass at 125 Hz whose poles sit near 1;
  3e-7 .. 3e-6 for the others);
* statistics: mean/std/rms/p2p ``rtol 1e-5 + 1e-5 * max|x|`` (measured <= 6e-8 * max|x|),
  skewness/kurtosis/crest ``rtol 1e-5 + 5e-5`` (measured <= 4.3e-6), zcr within one
  sign flip ``1 / (n - 1)`` (x == mean in one precision but not the other);
* Welch PSD: ``rtol 1e-5 + 1e-6 * max psd`` (measured 4.7e-7 relative);
  band powers: ``rtol 1e-5 + 1e-6``;
* log band energies / IMU log band powers: energy-domain bound
  ``|E_c - E_py| <= 2e-5 E_py + 1e-6 max_b E_py`` per frame (a band 60+ dB below the
  frame's peak carries float32 FFT rounding noise, where the log of two equally good
  results differs; see tests/golden/compare.py); measured |d ln E| <= 2.1e-5;
* IMU rms / skewness / kurtosis: ``rtol 1e-4 + 1e-4`` (measured <= 1.9e-5, after a
  float32 vs float64 filter);
* peak detection, z-score with fixed statistics, int8 quantisation: exact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.common.deploy.cgen import defines_header
from tinyml_suite.common.dsp import (
    BandPowerParams,
    ButterworthParams,
    ImuSpectralParams,
    LogBandEnergyParams,
    PeakParams,
    StatsParams,
    WelchParams,
    ZScoreParams,
    band_powers,
    butter_filter,
    detect_peaks,
    imu_spectral,
    log_band_energies,
    quantize_int8,
    time_stats,
    welch,
    zscore,
)
from tinyml_suite.common.dsp.normalize import dequantize_int8

pytestmark = [needs_cc(), pytest.mark.needs_cc]

ROOT = Path(__file__).resolve().parents[1]
DSP = ROOT / "firmware_templates" / "dsp"
DRIVER = ROOT / "tests" / "c" / "test_dsp_signal.c"
GOLDEN = ROOT / "tests" / "golden"
SOURCES = ["tm_biquad.c", "tm_stats.c", "tm_spectral.c", "tm_peaks.c", "tm_normalize.c", "tm_fft.c", "tm_frames.c"]

# Defaults for the blocks a test does not vary (the driver needs every prefix defined).
DEFAULTS = {
    "butter": (ButterworthParams(kind="lowpass", order=4, cutoff_hz=20.0), 200.0),
    "stats": (StatsParams(), None),
    "welch": (WelchParams(nperseg=64), 100.0),
    "bands": (BandPowerParams(edges_hz=(0.0, 2.0, 5.0, 12.5, 30.0, 50.0)), 100.0),
    "lbe": (LogBandEnergyParams(n_fft=256, n_bands=8), 12000.0),
    "imuspec": (ImuSpectralParams(), 50.0),
    "peaks": (PeakParams(), 100.0),
    "zscore": (ZScoreParams(mean=(0.5, 9.8, -1.0), std=(1.0, 2.0, 0.5)), None),
}


def _defines(blocks: dict) -> dict:
    merged = {}
    for name, (params, fs) in {**DEFAULTS, **blocks}.items():
        if name == "bands":
            welch_params = blocks.get("welch", DEFAULTS["welch"])[0]
            d = params.c_defines(sample_rate=fs, n_fft=welch_params.nperseg)
        elif fs is None:
            d = params.c_defines()
        else:
            d = params.c_defines(sample_rate=fs)
        merged.update(d)
    return merged


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """``build(**blocks) -> exe``: the driver compiled for these parameters (cached)."""
    cache: dict[str, Path] = {}

    def _build(**blocks) -> Path:
        header = defines_header("DSP_PARAMS_H", _defines(blocks), tool="test_c_parity_signal", config_hash="test")
        key = hashlib.sha1(header.encode()).hexdigest()[:12]
        if key not in cache:
            d = tmp_path_factory.mktemp(f"sig_{key}")
            (d / "dsp_params.h").write_text(header)
            cache[key] = compile_c(
                [DSP / s for s in SOURCES] + [DRIVER], d / "drv", include_dirs=[d, DSP],
                extra_flags=["-DTM_FFT_MAX_N=4096"],
            )
        return cache[key]

    return _build


def _run(exe: Path, mode_args: list[str], x: np.ndarray) -> np.ndarray:
    flat = np.ravel(x).astype(np.float32)
    return run_numbers(exe, np.concatenate([[flat.size], flat]), args=mode_args)


# --------------------------------------------------------------------------- biquad

FILTERS = [
    (ButterworthParams(kind="lowpass", order=4, cutoff_hz=20.0), 200.0),
    (ButterworthParams(kind="highpass", order=3, cutoff_hz=0.5), 50.0),
    (ButterworthParams(kind="bandpass", order=2, cutoff_hz=(0.5, 5.0)), 125.0),
    (ButterworthParams(kind="bandstop", order=4, cutoff_hz=(45.0, 55.0)), 360.0),
    (ButterworthParams(kind="bandpass", order=4, cutoff_hz=(2000.0, 4000.0)), 12000.0),
]


@pytest.mark.parametrize("params,fs", FILTERS, ids=[f"{p.kind}{p.order}@{fs:g}" for p, fs in FILTERS])
def test_biquad_streaming_matches_numpy(build, params, fs, rng):
    exe = build(butter=(params, fs))
    t = np.arange(2000) / fs
    signals = [
        rng.standard_normal(2000),
        np.sin(2 * np.pi * (0.02 * fs) * t) + 3.0,  # pass/stop-band tone with an offset
        np.sign(np.sin(2 * np.pi * 1.0 * t)),       # steps excite the transients
    ]
    for x in signals:
        x = x.astype(np.float32)
        ref = butter_filter(x, sample_rate=fs, params=params).astype(np.float64)
        chunks = [str(v) for v in rng.integers(1, 97, size=8)]
        got = _run(exe, ["butter", *chunks], x)
        assert got.shape == ref.shape
        err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
        assert err <= 1e-4, f"relative error {err:.3g}"


# --------------------------------------------------------------------------- stats


def _assert_stats(got: np.ndarray, ref: np.ndarray, x: np.ndarray, what: str = "") -> None:
    scale = float(np.max(np.abs(x)))
    dims = [0, 1, 2, 6]  # mean, std, rms, p2p: signal units
    np.testing.assert_allclose(got[dims], ref[dims], rtol=1e-5, atol=1e-5 * scale, err_msg=what)
    np.testing.assert_allclose(got[3:6], ref[3:6], rtol=1e-5, atol=5e-5, err_msg=what)
    assert abs(got[7] - ref[7]) <= 1.0 / max(x.size - 1, 1) + 1e-7, what


@pytest.mark.parametrize("fisher,zcr_center", [(True, True), (False, False)])
def test_stats_match_numpy(build, fisher, zcr_center, rng):
    params = StatsParams(fisher=fisher, zcr_center=zcr_center)
    exe = build(stats=(params, None))
    cases = [
        rng.standard_normal(256),
        rng.gamma(2.0, size=301) - 2.0,
        9.81 + 0.05 * rng.standard_normal(128),  # small variance on a large offset
        np.sin(np.arange(500) * 0.3) * 1000.0,
        np.full(64, 2.5),                        # constant: degenerate branch
        np.array([1.5]),
    ]
    for x in cases:
        x = x.astype(np.float32)
        ref, _ = time_stats(x, params=params)
        got = _run(exe, ["stats"], x)
        _assert_stats(got, ref, x)


# --------------------------------------------------------------------------- spectral


@pytest.mark.parametrize(
    "kw",
    [{"nperseg": 64}, {"nperseg": 128, "noverlap": 0, "window": "hamming", "detrend": "none"},
     {"nperseg": 32, "noverlap": 24, "window": "boxcar", "scaling": "spectrum"}],
)
def test_welch_matches_numpy(build, kw, rng):
    fs = 100.0
    params = WelchParams(**kw)
    exe = build(welch=(params, fs), bands=(DEFAULTS["bands"][0], fs))
    for x in [rng.standard_normal(1000) + 0.7, np.sin(2 * np.pi * 12.5 * np.arange(700) / fs)]:
        x = x.astype(np.float32)
        _, ref = welch(x, sample_rate=fs, params=params)
        got = _run(exe, ["welch", str(fs)], x)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * float(np.max(ref)))


@pytest.mark.parametrize("integrate,log", [(True, False), (False, True)])
def test_band_powers_match_numpy(build, integrate, log, rng):
    fs, nper = 100.0, 64
    params = BandPowerParams(edges_hz=(0.0, 1.0, 4.0, 10.0, 25.0, 50.0), integrate=integrate, log=log)
    exe = build(bands=(params, fs), welch=(WelchParams(nperseg=nper), fs))
    f = np.fft.rfftfreq(nper, 1 / fs)
    for spec in [rng.random(nper // 2 + 1), np.exp(rng.standard_normal(nper // 2 + 1) * 3)]:
        spec = spec.astype(np.float32)
        ref = band_powers(spec, freqs=f, params=params)
        got = _run(exe, ["bands"], spec)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def _energy_bound(log_ref: np.ndarray, floor: float) -> np.ndarray:
    """Allowed |log_c - log_py| from the energy-domain tolerance, per value of (..., n_bands)."""
    e = np.maximum(np.exp(log_ref.astype(np.float64)) - floor, 0.0)
    allowed = 2e-5 * e + 1e-6 * e.max(axis=-1, keepdims=True)
    return allowed / (e + floor) + 1e-5


@pytest.mark.parametrize(
    "kw",
    [{"n_fft": 256, "n_bands": 8}, {"n_fft": 512, "hop_length": 100, "n_bands": 12, "spacing": "log", "fmin_hz": 50.0, "window": "hamming"},
     {"n_fft": 2048, "hop_length": 1024, "n_bands": 32}],
)
def test_log_band_energies_match_numpy(build, kw, rng):
    fs = 12000.0
    params = LogBandEnergyParams(**kw)
    exe = build(lbe=(params, fs))
    t = np.arange(6000) / fs
    for x in [rng.standard_normal(6000), 0.5 * np.sin(2 * np.pi * 1234.5 * t) + 0.01 * rng.standard_normal(6000)]:
        x = x.astype(np.float32)
        ref = log_band_energies(x, sample_rate=fs, params=params).T  # frames-major
        got = _run(exe, ["lbe"], x).reshape(ref.shape)
        assert np.all(np.abs(got - ref) <= _energy_bound(ref, params.log_floor))


@pytest.mark.parametrize("filter_kind", ["none", "lowpass", "highpass"])
@pytest.mark.parametrize("log_bands", [True, False])
def test_imu_spectral_matches_numpy(build, filter_kind, log_bands, rng):
    fs = 62.5
    params = ImuSpectralParams(filter_kind=filter_kind, filter_order=4, filter_cutoff_hz=6.0, nperseg=64,
                               band_edges_hz=(0.5, 2.0, 5.0, 10.0, 31.25), log_bands=log_bands)
    exe = build(imuspec=(params, fs))
    t = np.arange(250) / fs
    x = np.stack([rng.standard_normal(250), 9.8 + 0.3 * np.sin(2 * np.pi * 2.2 * t), np.cumsum(rng.standard_normal(250)) * 0.1])
    x = x.astype(np.float32)
    ref = imu_spectral(x, sample_rate=fs, params=params)
    got = _run(exe, ["imuspec", "3"], x).reshape(ref.shape)
    np.testing.assert_allclose(got[:, :3], ref[:, :3], rtol=1e-4, atol=1e-4)
    if log_bands:
        assert np.all(np.abs(got[:, 3:] - ref[:, 3:]) <= _energy_bound(ref[:, 3:], params.log_floor))
    else:
        np.testing.assert_allclose(got[:, 3:], ref[:, 3:], rtol=1e-4, atol=1e-6 * float(ref[:, 3:].max()))


# --------------------------------------------------------------------------- peaks


def _parse_peaks(out: np.ndarray) -> list[np.ndarray]:
    res, i = [], 0
    while i < len(out):
        k = int(out[i])
        res.append(out[i + 1 : i + 1 + k].astype(np.int64))
        i += 1 + k
    return res


@pytest.mark.parametrize(
    "kw",
    [{"min_distance_s": 0.3, "threshold": 0.3}, {"min_distance_s": 0.25, "threshold_mode": "adaptive", "adaptive_factor": 0.6, "adaptive_window_s": 1.2},
     {"min_distance_s": 0.0, "threshold_mode": "none"}],
)
def test_streaming_peaks_equal_batch(build, kw, rng):
    from golden.gen_signal import pulse_train

    fs = 100.0
    params = PeakParams(**kw)
    exe = build(peaks=(params, fs))
    signals = [pulse_train(1500, fs, rng) for _ in range(4)]
    signals.append(np.convolve(rng.standard_normal(1510), np.ones(5) / 5, "valid")[:1500].astype(np.float32))
    # Quantised values make flat tops (plateaus) and ties.
    signals.append(np.round(pulse_train(1500, fs, rng) * 8) / 8)
    for x in signals:
        x = x.astype(np.float32)
        ref = detect_peaks(x, sample_rate=fs, params=params)
        (got,) = _parse_peaks(_run(exe, ["peaks"], x))
        np.testing.assert_array_equal(got, ref)


# --------------------------------------------------------------------------- normalisation


def test_zscore_fixed_stats_bit_exact(build, rng):
    params = ZScoreParams(mean=(0.25, 9.81, -1.5), std=(0.7, 2.1, 0.33))
    exe = build(zscore=(params, None))
    x = (rng.standard_normal((3, 200)) * 3).astype(np.float32)
    got = _run(exe, ["zscore", "3"], x).reshape(3, 200)
    np.testing.assert_array_equal(got.astype(np.float32), zscore(x, params=params, axis=-2))


def test_zscore_per_window(build, rng):
    params = ZScoreParams()
    exe = build(zscore=(params, None))
    x = (rng.standard_normal((2, 300)) * [[3.0], [0.01]] + [[5.0], [-2.0]]).astype(np.float32)
    got = _run(exe, ["zscore", "2"], x).reshape(2, 300)
    np.testing.assert_allclose(got, zscore(x, params=params), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale,zp", [(0.0234375, -5), (0.1, -128), (1.0 / 3.0, 7)])
def test_int8_quantisation_bit_exact(build, scale, zp, rng):
    exe = build()
    halfway = (np.arange(-140, 141) + 0.5 - zp) * np.float32(scale)
    x = np.concatenate([rng.uniform(-60, 60, 500), halfway, [0.0, -0.0, 1e9, -1e9]]).astype(np.float32)
    out = _run(exe, ["int8", f"{scale!r},{zp}"], x)
    q = quantize_int8(x, scale=scale, zero_point=zp)
    np.testing.assert_array_equal(out[: x.size].astype(np.int64), q.astype(np.int64))
    np.testing.assert_array_equal(out[x.size :].astype(np.float32), dequantize_int8(q, scale=scale, zero_point=zp))


# --------------------------------------------------------------------------- golden files


def _golden_blocks(header: dict):
    p, fs = header["params"], header.get("sample_rate")
    feature = header["feature"]
    if feature == "butter":
        return {"butter": (ButterworthParams(**p), fs)}, ["butter"]
    if feature == "stats":
        return {"stats": (StatsParams(**p), None)}, ["stats"]
    if feature == "welch":
        return {"welch": (WelchParams(**p), fs)}, ["welch", str(fs)]
    if feature == "bands":
        from golden.gen_signal import WELCH

        return {"bands": (BandPowerParams(**p), fs), "welch": (WelchParams(**WELCH), fs)}, ["bands"]
    if feature == "lbe":
        return {"lbe": (LogBandEnergyParams(**p), fs)}, ["lbe"]
    if feature == "imuspec":
        return {"imuspec": (ImuSpectralParams(**p), fs)}, ["imuspec", "3"]
    if feature == "peaks":
        return {"peaks": (PeakParams(**p), fs)}, ["peaks"]
    if feature == "zscore":
        return {"zscore": (ZScoreParams(**p), None)}, ["zscore", "3"]
    if feature == "int8":
        return {}, ["int8", f"{p['scale']!r},{p['zero_point']}"]
    raise AssertionError(feature)


GOLDEN_C = ["butter_v1", "stats_v1", "welch_v1", "bands_v1", "lbe_v1", "imuspec_v1", "peaks_v1", "zscore_v1", "int8_v1"]


@pytest.mark.parametrize("name", GOLDEN_C)
def test_c_reproduces_golden_file(build, name):
    from golden.generate import read_golden

    path = GOLDEN / f"{name}.txt"
    header, pairs = read_golden(path)
    blocks, args = _golden_blocks(header)
    exe = build(**blocks)
    out = run_numbers(exe, args=["golden", args[0], str(path), *args[1:]])
    i = 0
    for (x, expected), label in zip(pairs, header["pairs"]):
        what = f"{name}:{label}"
        if header["feature"] == "peaks":
            k = int(out[i])
            np.testing.assert_array_equal(out[i + 1 : i + 1 + k], expected, err_msg=what)
            i += 1 + k
            continue
        if header["feature"] == "int8":
            got = out[i : i + x.size]
            i += 2 * x.size
            np.testing.assert_array_equal(got, expected, err_msg=what)
            continue
        got = out[i : i + expected.size]
        i += expected.size
        assert got.size == expected.size, what
        if header["feature"] == "lbe":
            n_bands = header["params"]["n_bands"]
            ref = expected.reshape(-1, n_bands)
            assert np.all(np.abs(got.reshape(ref.shape) - ref) <= _energy_bound(ref, header["params"]["log_floor"])), what
        elif header["feature"] == "imuspec":
            ref = expected.reshape(3, -1)
            g = got.reshape(ref.shape)
            np.testing.assert_allclose(g[:, :3], ref[:, :3], rtol=1e-4, atol=1e-4, err_msg=what)
            assert np.all(np.abs(g[:, 3:] - ref[:, 3:]) <= _energy_bound(ref[:, 3:], header["params"]["log_floor"])), what
        elif header["feature"] == "zscore":
            np.testing.assert_array_equal(got.astype(np.float32), expected.astype(np.float32), err_msg=what)
        elif header["feature"] == "butter":
            assert np.max(np.abs(got - expected)) <= 1e-4 * np.max(np.abs(expected)), what
        elif header["feature"] == "stats":
            _assert_stats(got, expected, x, what)
        elif header["feature"] == "bands":
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=what)
        else:  # welch
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.max(expected), err_msg=what)
    assert i == out.size, f"{name}: {out.size - i} unread output values"
    json.dumps(header)  # the header is plain JSON the C side skips


@pytest.mark.parametrize(
    "prefix,source",
    [("BUTTER", "tm_biquad.c"), ("STATS", "tm_stats.c"), ("WELCH", "tm_spectral.c"), ("BANDS", "tm_spectral.c"),
     ("LBE", "tm_spectral.c"), ("IMUSPEC", "tm_spectral.c"), ("PEAKS", "tm_peaks.c"), ("ZSCORE", "tm_normalize.c")],
)
def test_c_refuses_another_implementation_version(tmp_path, prefix, source):
    import shutil
    import subprocess

    from helpers.cbuild import C_FLAGS

    defines = _defines({})
    defines[f"{prefix}_IMPLEMENTATION_VERSION"] = 2
    (tmp_path / "dsp_params.h").write_text(defines_header("DSP_PARAMS_H", defines, tool="t", config_hash="t"))
    cmd = [shutil.which("cc"), *C_FLAGS, "-fsyntax-only", f"-I{tmp_path}", f"-I{DSP}", str(DSP / source)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert f"implements {prefix}_IMPLEMENTATION_VERSION 1 but dsp_params.h has another" in proc.stderr


@pytest.mark.parametrize("only", [None, "butter", "stats", "lbe", "imuspec", "peaks", "zscore"])
def test_c_files_build_with_only_the_blocks_in_use(tmp_path, only):
    # A firmware's dsp_params.h holds only its own blocks: every signal C file must
    # compile (strict flags) with none of them, or with any single one.
    import shutil
    import subprocess

    from helpers.cbuild import C_FLAGS

    defines = {}
    if only is not None:
        params, fs = DEFAULTS[only]
        defines = params.c_defines() if fs is None else params.c_defines(sample_rate=fs)
    (tmp_path / "dsp_params.h").write_text(defines_header("DSP_PARAMS_H", defines, tool="t", config_hash="t"))
    for source in SOURCES:
        cmd = [shutil.which("cc"), *C_FLAGS, "-fsyntax-only", f"-I{tmp_path}", f"-I{DSP}", str(DSP / source)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{source} with {only or 'no'} block(s):\n{proc.stderr}"
