"""The motion-artefact stage (common/dsp/motion.py) and its C99 twin (firmware_templates/dsp/tm_motion.c).

* numpy: what the stage does on spectra with a known motion line and pulse line, and
  its argument checks;
* golden: the Python code reproduces ``tests/golden/motion_v1.txt`` (a stream of simulated
  spectra through the Wiener rule with history) exactly;
* C parity: the twin, compiled with the strict flags and a generated ``dsp_params.h``,
  gives the numpy output bit for bit (the same float32 operations in the same order),
  streamed window by window, for both gain rules, and on the golden file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers.cbuild import compile_c, run_numbers
from helpers.run_if import needs_cc

from tinyml_suite.common.deploy.cgen import defines_header
from tinyml_suite.common.dsp.motion import (
    MotionSuppressionParams,
    MotionSuppressor,
    motion_gain,
    motion_noise,
    suppress_motion,
)
from tinyml_suite.common.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DSP = ROOT / "firmware_templates" / "dsp"
GOLDEN = ROOT / "tests" / "golden" / "motion_v1.txt"
K = np.arange(113)


def _bump(center: float, width: float = 1.5) -> np.ndarray:
    return np.exp(-0.5 * ((K - center) / width) ** 2).astype(np.float32)


def test_motion_line_removed_pulse_kept():
    ppg = 0.6 * _bump(40) + 1.0 * _bump(70)  # pulse at bin 40, arm-swing artefact at bin 70
    acc = np.zeros((3, K.size), np.float32)
    acc[2] = _bump(70, 1.0)  # the ACC sees the swing
    for rule in ("subtract", "wiener"):
        p = MotionSuppressionParams(rule=rule, strength=3.0 if rule == "wiener" else 0.9)
        out = suppress_motion(ppg, acc, params=p)
        assert int(np.argmax(ppg)) == 70 and int(np.argmax(out)) == 40, rule
        assert out[40] >= 0.95 * ppg[40] and out[70] <= 0.3 * ppg[70], rule
    # a still wrist (ACC spectra near 0) changes nothing
    still = np.full((3, K.size), 1e-4, np.float32)
    np.testing.assert_allclose(suppress_motion(ppg, still, params=MotionSuppressionParams()), ppg, rtol=1e-3)
    # strength 0 switches the stage off; the gain never leaves [gain_floor, 1]
    assert np.array_equal(suppress_motion(ppg, acc, params=MotionSuppressionParams(strength=0.0)), ppg)
    g = motion_gain(ppg, motion_noise(acc, params=MotionSuppressionParams()), params=MotionSuppressionParams(strength=5.0))
    assert g.min() == pytest.approx(0.05) and g.max() <= 1.0


def test_wiener_history_keeps_a_persistent_pulse_line():
    # The pulse line (bin 40) is strong in the first windows, then a motion line (bin 42,
    # inside the spread) appears: with history the signal estimate remembers the pulse.
    p = MotionSuppressionParams(rule="wiener", strength=3.0, history=0.8, spread_bins=2)
    acc_quiet = np.zeros((3, K.size), np.float32)
    acc_move = acc_quiet.copy()
    acc_move[0] = _bump(42, 1.0)
    ms, no_hist = MotionSuppressor(p), MotionSuppressor(dataclasses.replace(p, history=0.0))
    for _ in range(5):
        ms.step(_bump(40), acc_quiet)
        no_hist.step(_bump(40), acc_quiet)
    weak = 0.3 * _bump(40) + 0.05
    assert ms.step(weak, acc_move)[40] > 1.5 * no_hist.step(weak, acc_move)[40]
    ms.reset()
    assert ms.signal is None


def test_bad_arguments():
    with pytest.raises(ConfigError, match="rule='notch' is not supported; choose one of: 'subtract', 'wiener'"):
        MotionSuppressionParams(rule="notch")
    with pytest.raises(ConfigError, match="history"):
        MotionSuppressionParams(history=1.0)
    with pytest.raises(ConfigError, match="acc has shape"):
        suppress_motion(np.ones(10), np.ones((3, 9)), params=MotionSuppressionParams())
    with pytest.raises(ConfigError, match="negative"):
        motion_noise(-np.ones((3, 9)), params=MotionSuppressionParams())
    with pytest.raises(ConfigError, match="one window"):
        MotionSuppressor().step(np.ones((2, 10)), np.ones((2, 3, 10)))


def _read_golden():
    from golden.generate import read_golden

    header, pairs = read_golden(GOLDEN)
    return header, [(x.reshape(-1, 4, 113).astype(np.float32), y.reshape(-1, 113)) for x, y in pairs]


def test_python_reproduces_the_golden_file():
    header, pairs = _read_golden()
    assert header["version"] == MotionSuppressionParams.IMPLEMENTATION_VERSION
    params = MotionSuppressionParams(**header["params"])
    for spec, expected in pairs:
        ms = MotionSuppressor(params)
        got = np.stack([ms.step(s[0], s[1:]) for s in spec])
        np.testing.assert_array_equal(got, expected.astype(np.float32))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    cache: dict = {}

    def _build(params: MotionSuppressionParams) -> Path:
        if params not in cache:
            d = tmp_path_factory.mktemp("motion")
            (d / "dsp_params.h").write_text(defines_header("DSP_PARAMS_H", params.c_defines(), tool="test", config_hash="t"))
            cache[params] = compile_c([DSP / "tm_motion.c", ROOT / "tests" / "c" / "test_dsp_motion.c"], d / "drv",
                                      include_dirs=[d, DSP])
        return cache[params]

    return _build


def _run_c(exe: Path, spec: np.ndarray, args=()) -> np.ndarray:
    n_win, n_ch, n_bins = spec.shape
    data = np.concatenate([[n_win, n_ch - 1, n_bins], spec.ravel()])
    return run_numbers(exe, data, args=args).reshape(n_win, n_bins)


def _sim_spectra(rng: np.random.Generator, n: int = 20) -> np.ndarray:
    spec = rng.random((n, 4, 113)).astype(np.float32) ** 4
    spec[:, 0] /= spec[:, 0].max(axis=-1, keepdims=True)
    spec[: n // 3, 1:] *= 1e-3  # a still stretch
    spec[n // 2, 1:] = 0.0      # an exactly silent ACC
    return spec


@pytest.mark.needs_cc
@needs_cc()
@pytest.mark.parametrize("kw", [{}, {"rule": "wiener", "strength": 3.0, "history": 0.7},
                                {"rule": "wiener", "strength": 10.0, "gain_floor": 0.0, "spread_bins": 0},
                                {"rule": "subtract", "strength": 1.0, "gain_floor": 0.01, "spread_bins": 5}])
def test_c_twin_is_bit_exact(build, rng, kw):
    params = MotionSuppressionParams(**kw)
    exe = build(params)
    spec = _sim_spectra(rng)
    ms = MotionSuppressor(params)
    ref = np.stack([ms.step(s[0], s[1:]) for s in spec])
    np.testing.assert_array_equal(_run_c(exe, spec).astype(np.float32), ref)
    noise = np.stack([motion_noise(s[1:], params=dataclasses.replace(params, spread_bins=3)) for s in spec])
    np.testing.assert_array_equal(_run_c(exe, spec, ["noise", "3"]).astype(np.float32), noise)


@pytest.mark.needs_cc
@needs_cc()
def test_c_twin_on_the_golden_file(build):
    header, pairs = _read_golden()
    exe = build(MotionSuppressionParams(**header["params"]))
    for spec, expected in pairs:
        np.testing.assert_array_equal(_run_c(exe, spec).astype(np.float32), expected.astype(np.float32))


@pytest.mark.needs_cc
@needs_cc()
def test_c_refuses_another_implementation_version(tmp_path):
    header = defines_header("DSP_PARAMS_H", {**MotionSuppressionParams().c_defines(), "MOTION_IMPLEMENTATION_VERSION": 2},
                            tool="test", config_hash="t")
    (tmp_path / "dsp_params.h").write_text(header)
    with pytest.raises(AssertionError, match="implements MOTION_IMPLEMENTATION_VERSION 1"):
        compile_c([DSP / "tm_motion.c"], tmp_path / "x.o", include_dirs=[tmp_path, DSP], extra_flags=["-c"])
