"""Error bounds for comparing two float32 computations of log-mel / MFCC features.

Two float32 front ends (numpy's pocketfft and the C tm_rfft; or numpy on two machines)
agree to float32 rounding in every band that holds a fair share of the frame's energy.
But every FFT bin carries an absolute float32 error of a few ``eps * ||w x||_2`` (``w x``
the windowed frame): in a band 60-120 dB below the frame's energy (a pure tone's far
bands; a chirp frame whose energy lies above fmax) that error dominates, and the logs
of two equally good results differ by 0.1 or more while both are equally far from the
float64 truth (tests/test_c_parity_audio.py checks that). So the bound is built from
the signal, in the energy domain, then carried through the log and the DCT:

    delta_t  = KAPPA * eps32 * log2(n_fft) * ||w x_t||_2      FFT error per bin, frame t
    dE[m, t] = RTOL * E[m, t] + sum_k fb[m, k] * e_k          e_k = delta_t (power 1)
                                                              e_k = 2 |X_k| delta_t + delta_t^2 (power 2)
    |log_a - log_b| <= max(log((E + off + dE) / (E + off)), log((E + off) / max(E + off - dE, floor)))
                       (x 10 / ln 10 for dB) + 8 eps32 max(1, |log_b|)
    |mfcc_a[k] - mfcc_b[k]| <= sum_m |C[k, m]| bound_log[m] + 2 n_mels eps32 sum_m |C[k, m] log_b[m]|

with E the reference energies, ``off``/``floor`` the params' log_offset/log_floor and C
the lifted DCT matrix. The per-bin FFT differences measured between tm_rfft and
scipy.fft reach about 4 eps32 log2(n) ||w x|| for one bin of a pure tone (47 eps ||x||
at n = 4096), but a band sums several bins whose errors do not all add up: with
KAPPA = 2 and RTOL = 5e-6 the largest difference seen in tests/test_c_parity_audio.py is
about a sixth of the bound (the test prints the ratios with -s).
"""

from __future__ import annotations

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)
#: FFT error per bin, in units of eps32 * log2(n_fft) * ||w x||_2.
KAPPA = 2.0
#: Relative energy tolerance (float32 rounding of the band sums, with margin).
RTOL = 5e-6


def energy_error(x: np.ndarray, sample_rate: int, params) -> np.ndarray:
    """FFT-noise part of the allowed band-energy error, ``[shape=(n_mels, n_frames)]``."""
    from tinyml_suite.common.dsp import frame, get_window, mel_filterbank

    frames = frame(x, frame_length=params.frame_length, hop_length=params.hop_length)
    windowed = frames * get_window(
        params.window, params.frame_length, periodic=params.periodic_window
    )
    windowed = windowed.astype(np.float64)
    mag = np.abs(np.fft.rfft(windowed, n=params.n_fft, axis=-1))  # (T, K)
    delta = KAPPA * EPS32 * np.log2(params.n_fft) * np.linalg.norm(windowed, axis=-1, keepdims=True)
    fb = mel_filterbank(
        sample_rate=sample_rate,
        n_fft=params.n_fft,
        n_mels=params.n_mels,
        fmin=params.fmin,
        fmax=params.fmax,
        scale=params.mel_scale,
        norm=params.mel_norm,
    ).astype(np.float64)
    per_bin = np.broadcast_to(delta, mag.shape) if params.power == 1 else 2 * mag * delta + delta**2
    return (per_bin @ fb.T).T


def log_bound(x: np.ndarray, log_ref: np.ndarray, sample_rate: int, params) -> np.ndarray:
    """Allowed ``|log_a - log_ref|`` per value (``log_ref`` of shape ``(n_mels, n_frames)``)."""
    ref = np.asarray(log_ref, dtype=np.float64)
    if params.log == "ln":
        value = np.exp(ref)
        unit = 1.0
    else:
        value = 10.0 ** (ref / 10.0)
        unit = 10.0 / np.log(10.0)
    energy = np.maximum(value - params.log_offset, 0.0)
    d_energy = RTOL * energy + energy_error(x, sample_rate, params)
    floor = max(params.log_floor, 1e-38)
    ref_value = np.maximum(energy + params.log_offset, floor)
    up = np.log((energy + params.log_offset + d_energy) / ref_value)
    down = np.log(ref_value / np.maximum(energy + params.log_offset - d_energy, floor))
    return unit * np.maximum(up, down) + 8 * EPS32 * np.maximum(1.0, np.abs(ref))


def mfcc_bound(x: np.ndarray, log_ref: np.ndarray, sample_rate: int, params) -> np.ndarray:
    """Allowed ``|mfcc_a - mfcc_ref|``, from the reference log-mel of the same frames."""
    from tinyml_suite.common.dsp.mfcc import dct_matrix, lifter_weights

    c = lifter_weights(params.n_mfcc, params.lifter)[:, None] * dct_matrix(
        params.n_mfcc, params.n_mels
    )
    ref = np.asarray(log_ref, dtype=np.float64)
    rounding = 2 * params.n_mels * EPS32 * (np.abs(c) @ np.abs(ref))
    return np.abs(c) @ log_bound(x, ref, sample_rate, params) + rounding + 1e-6


def assert_within(actual: np.ndarray, expected: np.ndarray, bound: np.ndarray, what: str) -> float:
    """Assert ``|actual - expected| <= bound`` everywhere; return the worst ratio diff / bound."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    ratio = np.abs(actual - expected) / bound
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    assert ratio[worst] <= 1.0, (
        f"{what}: |diff| = {abs(actual[worst] - expected[worst]):.3g} exceeds the bound "
        f"{bound[worst]:.3g} at {worst} (actual {actual[worst]:.6g}, expected {expected[worst]:.6g})"
    )
    return float(ratio[worst])
