"""Golden-vector generators for the signal blocks (filters, statistics, spectral, peaks, ...).

Imported by ``tests/golden/generate.py`` (``python -m tests.golden.generate``), which
writes ``tests/golden/<feature>_v<version>.txt`` for every generator registered here.
Each header says what an input line and an expected line hold; parameters are the
dataclass fields (``dataclasses.asdict``), so a test rebuilds the exact params object
with ``Cls(**header["params"])``. Signals are seeded (``generate.SEED``) and synthetic:
sines, chirps, noise and signal-specific shapes (pulse trains, offsets).

Regenerating is deliberate (after bumping an IMPLEMENTATION_VERSION), never part of a
test run.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

# When generate.py runs as ``python -m tests.golden.generate`` it is ``__main__``;
# register into that module's registry rather than a second copy of it.
_main = sys.modules.get("__main__")
if getattr(getattr(_main, "__spec__", None), "name", None) == f"{__package__}.generate":
    _gen = _main
else:
    from . import generate as _gen

Golden = _gen.Golden
register = _gen.register
SEED = _gen.SEED


def _signals(n: int, sample_rate: float, *, f_sine: float, f_lo: float, f_hi: float) -> dict[str, np.ndarray]:
    """Seeded float32 signals: sine (+ offset), linear chirp f_lo -> f_hi, Gaussian noise."""
    rng = np.random.default_rng(SEED)
    t = np.arange(n) / sample_rate
    dur = n / sample_rate
    phase = 2 * np.pi * (f_lo * t + (f_hi - f_lo) * t**2 / (2 * dur))
    return {
        "sine": (0.3 + np.sin(2 * np.pi * f_sine * t + 0.3)).astype(np.float32),
        "chirp": (0.8 * np.sin(phase)).astype(np.float32),
        "noise": rng.standard_normal(n).astype(np.float32),
    }


def _header(feature: str, params, *, input: str, output: str, pairs: list[str], sample_rate=None) -> dict:
    h = {
        "feature": feature,
        "version": type(params).IMPLEMENTATION_VERSION if params is not None else None,
        "params": dataclasses.asdict(params) if params is not None else {},
        "input": input,
        "output": output,
        "pairs": pairs,
    }
    if sample_rate is not None:
        h["sample_rate"] = sample_rate
    return h


# Parameters of each golden file (the parity tests read them back from the header).
BUTTER = {"kind": "bandpass", "order": 2, "cutoff_hz": (0.5, 5.0)}
BUTTER_FS = 125.0
STATS = {"fisher": True, "zcr_center": True}
WELCH = {"nperseg": 64, "noverlap": 32, "window": "hann", "detrend": "constant", "scaling": "density"}
WELCH_FS = 100.0
BANDS = {"edges_hz": (0.0, 2.0, 5.0, 12.5, 30.0, 50.0), "integrate": True, "log": True, "log_floor": 1e-10}
LBE = {"n_fft": 128, "hop_length": 64, "window": "hann", "n_bands": 8, "spacing": "log", "fmin_hz": 200.0, "fmax_hz": None}
LBE_FS = 12000.0
IMUSPEC = {"filter_kind": "lowpass", "filter_order": 3, "filter_cutoff_hz": 10.0, "nperseg": 32,
               "band_edges_hz": (0.5, 2.0, 5.0, 10.0, 20.0)}
IMUSPEC_FS = 50.0
PEAKS = {"min_distance_s": 0.3, "threshold_mode": "adaptive", "adaptive_factor": 0.5, "adaptive_window_s": 1.5}
PEAKS_FS = 100.0
ZSCORE = {"mean": (0.5, 9.8, -1.0), "std": (1.0, 2.0, 0.5)}
INT8 = {"scale": 0.0234375, "zero_point": -5}
ENVSPEC = {"band_low_hz": 2000.0, "band_high_hz": 4000.0, "filter_order": 4, "zero_phase": True, "fmax_hz": 400.0}
ENVSPEC_FS = 12000.0


def pulse_train(n: int, sample_rate: float, rng: np.random.Generator) -> np.ndarray:
    """PPG-like pulses (systolic + dicrotic wave, 50..150 bpm) plus noise, float32."""
    t = np.arange(n) / sample_rate
    x = np.zeros(n)
    beat = 0.2 + rng.uniform(0, 0.3)
    while beat < t[-1]:
        amp = rng.uniform(0.5, 1.5)
        x += amp * (np.exp(-0.5 * ((t - beat) / 0.05) ** 2) + 0.4 * np.exp(-0.5 * ((t - beat - 0.25) / 0.06) ** 2))
        beat += 60 / rng.uniform(50, 150)
    return (x + 0.03 * rng.standard_normal(n)).astype(np.float32)


@register("butter", 1)
def _butter() -> Golden:
    from tinyml_suite.common.dsp.filters import ButterworthParams, butter_filter

    p = ButterworthParams(**BUTTER)
    sig = _signals(250, BUTTER_FS, f_sine=1.5, f_lo=0.1, f_hi=20.0)
    pairs = [(x, butter_filter(x, sample_rate=BUTTER_FS, params=p)) for x in sig.values()]
    return Golden(
        _header("butter", p, sample_rate=BUTTER_FS, pairs=list(sig),
                input="250 float32 samples at sample_rate",
                output="butter_filter(x, sample_rate, ButterworthParams(**params)): causal, zero initial state"),
        pairs,
    )


@register("stats", 1)
def _stats() -> Golden:
    from tinyml_suite.common.dsp.stats import StatsParams, time_stats

    p = StatsParams(**STATS)
    sig = _signals(200, 50.0, f_sine=3.0, f_lo=0.5, f_hi=20.0)
    rng = np.random.default_rng(SEED + 1)
    sig["skewed"] = (rng.gamma(2.0, size=200) - 2.0).astype(np.float32)
    sig["constant"] = np.full(200, 3.3, dtype=np.float32)
    pairs = [(x, time_stats(x, params=p)[0]) for x in sig.values()]
    return Golden(
        _header("stats", p, pairs=list(sig), input="200 float32 samples",
                output="time_stats(x, StatsParams(**params)): mean std rms skewness kurtosis crest p2p zcr"),
        pairs,
    )


@register("welch", 1)
def _welch() -> Golden:
    from tinyml_suite.common.dsp.spectral import WelchParams, welch

    p = WelchParams(**WELCH)
    sig = _signals(400, WELCH_FS, f_sine=12.5, f_lo=1.0, f_hi=45.0)
    pairs = [(x, welch(x, sample_rate=WELCH_FS, params=p)[1]) for x in sig.values()]
    return Golden(
        _header("welch", p, sample_rate=WELCH_FS, pairs=list(sig), input="400 float32 samples at sample_rate",
                output="welch(x, sample_rate, WelchParams(**params))[1]: nperseg/2 + 1 PSD bins"),
        pairs,
    )


@register("bands", 1)
def _bands() -> Golden:
    from tinyml_suite.common.dsp.spectral import BandPowerParams, WelchParams, band_powers, welch

    p = BandPowerParams(**BANDS)
    wp = WelchParams(**WELCH)
    sig = _signals(400, WELCH_FS, f_sine=12.5, f_lo=1.0, f_hi=45.0)
    pairs = []
    for x in sig.values():
        f, psd = welch(x, sample_rate=WELCH_FS, params=wp)
        pairs.append((psd, band_powers(psd, freqs=f, params=p)))
    return Golden(
        _header("bands", p, sample_rate=WELCH_FS, pairs=list(sig),
                input=f"a Welch PSD: {wp.nperseg // 2 + 1} float32 bins of rfftfreq({wp.nperseg}, 1/sample_rate)",
                output="band_powers(psd, freqs, BandPowerParams(**params))"),
        pairs,
    )


@register("lbe", 1)
def _lbe() -> Golden:
    from tinyml_suite.common.dsp.band_energy import LogBandEnergyParams, log_band_energies

    p = LogBandEnergyParams(**LBE)
    sig = _signals(512, LBE_FS, f_sine=1500.0, f_lo=100.0, f_hi=5500.0)
    pairs = [(x, log_band_energies(x, sample_rate=LBE_FS, params=p).T) for x in sig.values()]
    return Golden(
        _header("lbe", p, sample_rate=LBE_FS, pairs=list(sig), input="512 float32 samples at sample_rate",
                output="log_band_energies(x, sample_rate, LogBandEnergyParams(**params)).T raveled: "
                "n_frames rows of n_bands (frames-major)"),
        pairs,
    )


@register("imuspec", 1)
def _imuspec() -> Golden:
    from tinyml_suite.common.dsp.imu_spectral import ImuSpectralParams, imu_spectral

    p = ImuSpectralParams(**IMUSPEC)
    rng = np.random.default_rng(SEED + 2)
    t = np.arange(128) / IMUSPEC_FS
    cases = {
        "shake": np.stack([np.sin(2 * np.pi * 3.0 * t), 0.5 * np.sin(2 * np.pi * 7.0 * t + 1), 9.8 + 0.1 * np.cos(2 * np.pi * 1.0 * t)]),
        "noise": rng.standard_normal((3, 128)) + [[0.0], [0.2], [9.8]],
        "chirp": np.stack(list(_signals(128, IMUSPEC_FS, f_sine=2.0, f_lo=0.5, f_hi=20.0).values())),
    }
    pairs = []
    for x in cases.values():
        x = x.astype(np.float32)
        pairs.append((x, imu_spectral(x, sample_rate=IMUSPEC_FS, params=p)))
    return Golden(
        _header("imuspec", p, sample_rate=IMUSPEC_FS, pairs=list(cases),
                input="3 axes x 128 float32 samples at sample_rate, axis-major",
                output="imu_spectral(x, sample_rate, ImuSpectralParams(**params)) raveled: "
                "3 rows of rms skewness kurtosis band powers"),
        pairs,
    )


@register("peaks", 1)
def _peaks() -> Golden:
    from tinyml_suite.common.dsp.peaks import PeakParams, detect_peaks

    p = PeakParams(**PEAKS)
    rng = np.random.default_rng(SEED + 3)
    cases = {f"pulses_{i}": pulse_train(600, PEAKS_FS, rng) for i in range(3)}
    cases["noise"] = np.convolve(rng.standard_normal(610), np.ones(5) / 5, mode="valid")[:600].astype(np.float32)
    pairs = [(x, detect_peaks(x, sample_rate=PEAKS_FS, params=p)) for x in cases.values()]
    return Golden(
        _header("peaks", p, sample_rate=PEAKS_FS, pairs=list(cases), input="600 float32 samples at sample_rate",
                output="detect_peaks(x, sample_rate, PeakParams(**params)): peak indices (any count)"),
        pairs,
    )


@register("zscore", 1)
def _zscore() -> Golden:
    from tinyml_suite.common.dsp.normalize import ZScoreParams, zscore

    p = ZScoreParams(**ZSCORE)
    rng = np.random.default_rng(SEED + 4)
    cases = {f"imu_{i}": (rng.standard_normal((3, 50)) * [[1.0], [2.0], [0.5]] + [[0.5], [9.8], [-1.0]]).astype(np.float32) for i in range(2)}
    pairs = [(x, zscore(x, params=p, axis=-2)) for x in cases.values()]
    return Golden(
        _header("zscore", p, pairs=list(cases), input="3 channels x 50 float32 samples, channel-major",
                output="zscore(x, ZScoreParams(**params), axis=-2): (x - mean[c]) / std[c] in float32"),
        pairs,
    )


@register("int8", 1)
def _int8() -> Golden:
    from tinyml_suite.common.dsp.normalize import INT8_IMPLEMENTATION_VERSION, quantize_int8

    assert INT8_IMPLEMENTATION_VERSION == 1
    rng = np.random.default_rng(SEED + 5)
    s, zp = INT8["scale"], INT8["zero_point"]
    half = (np.arange(-140, 141) + 0.5 - zp) * np.float32(s)  # every half-way point, out of range too
    cases = {"uniform": rng.uniform(-4.0, 4.0, 300).astype(np.float32), "half_way": half.astype(np.float32)}
    pairs = [(x, quantize_int8(x, scale=s, zero_point=zp)) for x in cases.values()]
    header = {
        "feature": "int8",
        "version": INT8_IMPLEMENTATION_VERSION,
        "params": dict(INT8),
        "input": "float32 values",
        "output": "quantize_int8(x, scale, zero_point): round half away from zero, clamp to [-128, 127]",
        "pairs": list(cases),
    }
    return Golden(header, pairs)


@register("envspec", 1)
def _envspec() -> Golden:
    from tinyml_suite.common.dsp.envelope import EnvelopeSpectrumParams, envelope_spectrum

    p = EnvelopeSpectrumParams(**ENVSPEC)
    rng = np.random.default_rng(SEED + 6)
    n = 2048
    t = np.arange(n) / ENVSPEC_FS
    cases = {
        "am": ((1 + 0.6 * np.cos(2 * np.pi * 105.0 * t)) * np.sin(2 * np.pi * 3000.0 * t)).astype(np.float32),
        "noise": rng.standard_normal(n).astype(np.float32),
    }
    pairs = [(x, envelope_spectrum(x, sample_rate=ENVSPEC_FS, params=p)[1]) for x in cases.values()]
    return Golden(
        _header("envspec", p, sample_rate=ENVSPEC_FS, pairs=list(cases), input=f"{n} float32 samples at sample_rate",
                output="envelope_spectrum(x, sample_rate, EnvelopeSpectrumParams(**params))[1]: bins up to fmax_hz"),
        pairs,
    )


MOTION = {"rule": "wiener", "strength": 3.0, "gain_floor": 0.05, "spread_bins": 2, "history": 0.7}
MOTION_WINDOWS = 12


@register("motion", 1)
def _motion() -> Golden:
    """MotionSuppressor over a stream of simulated PPG + ACC spectra (rest, walk, run, forearm)."""
    from tinyml_suite.common.dsp.motion import MotionSuppressionParams, MotionSuppressor
    from tinyml_suite.common.dsp.ppg_spectrum import PpgSpectrumParams, ppg_spectra
    from tinyml_suite.datasets.synthetic.ppg import simulate_wrist_ppg

    p = MotionSuppressionParams(**MOTION)
    names, pairs = [], []
    for name, protocol in {"run": [("walk", 10.0), ("run", 30.0)], "forearm": [("rest", 12.0), ("forearm", 30.0)]}.items():
        r = simulate_wrist_ppg(0.0, rng=SEED % 1000, protocol=protocol)
        x = np.concatenate([r.ppg[None], r.acc]).astype(np.float32)
        win = np.stack([x[:, i * 64 : i * 64 + 256] for i in range(MOTION_WINDOWS)])
        _, spec = ppg_spectra(win, sample_rate=32.0, params=PpgSpectrumParams(compress="linear"))
        ms = MotionSuppressor(p)
        out = np.stack([ms.step(s[0], s[1:]) for s in spec])
        names.append(name)
        pairs.append((spec, out))
    return Golden(
        _header("motion", p, pairs=names,
                input=f"{MOTION_WINDOWS} windows x (ppg, acc_x, acc_y, acc_z) x 113 bins (ppg_spectra, linear, 32 Hz)",
                output=f"MotionSuppressor(params).step(ppg, acc) for each window in turn: {MOTION_WINDOWS} x 113"),
        pairs,
    )
