"""common/deploy/boards.py: board configs, the fit check and the latency estimate."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tinyml_suite.common.deploy import boards as B
from tinyml_suite.common.errors import ConfigError, FitError

BOARD_FILES = sorted((Path(__file__).resolve().parents[1] / "conf" / "board").glob("*.yaml"))


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.stem)
def test_every_board_loads_and_validates(path):
    board = B.load_board(path.stem)
    assert board.name == path.stem
    assert board.core in B.CYCLES_PER_MAC and board.template in B.TEMPLATES
    assert board.flash_kb > 0 and board.ram_kb > 0 and board.clock_mhz > 0
    # the budget items that are estimates are >= 0 and smaller than the board
    assert 0 <= board.runtime_flash_kb + board.app_flash_kb < board.flash_kb
    assert 0 <= board.platform_flash_kb <= board.runtime_flash_kb  # the platform alone, without TFLM
    # microcontrollers (and the host C project) run the compiled model by default
    assert board.runtime == ("litert" if board.template == "linux_python" else "engine")
    assert 0 <= board.stack_reserve_kb < board.ram_kb
    assert board.project_board, "project_board names the board in its build tool"


def test_board_facts_spot_checks():
    # datasheet figures (sources in docs/boards.md)
    pico = B.load_board("pico")
    assert (pico.core, pico.clock_mhz, pico.ram_kb, pico.fpu) == ("cortex-m0plus", 133, 264, "none")
    nano = B.load_board("nano33_ble_sense")
    assert (nano.mcu, nano.core, nano.clock_mhz, nano.ram_kb, nano.flash_kb) == ("nRF52840", "cortex-m4f", 64, 256, 960)
    nucleo = B.load_board("nucleo_l4r5zi")
    assert (nucleo.clock_mhz, nucleo.ram_kb, nucleo.flash_kb) == (120, 640, 2048)
    assert B.load_board("rpi4").runtime == "litert"


def test_unknown_board_is_one_line_with_the_choices():
    with pytest.raises(ConfigError) as err:
        B.load_board("picoo")
    msg = str(err.value)
    assert "\n" not in msg and "did you mean board=pico" in msg and "esp32s3" in msg


def test_bad_board_values_are_refused():
    good = B.load_board("pico").__dict__
    for key, value, match in [("ram_kb", 0, "ram_kb"), ("core", "z80", "core"), ("template", "make", "template"),
                              ("arena_margin", 5.0, "arena_margin"), ("runtime_flash_kb", -1, "runtime_flash_kb"),
                              ("runtime", "tvm", "runtime='tvm' must be one of engine, tflm, litert")]:
        with pytest.raises(ConfigError, match=match):
            B.load_board({**good, key: value})
    bad = dict(good)
    del bad["flash_kb"]
    with pytest.raises(ConfigError, match="flash_kb"):
        B.load_board(bad)


def test_fit_check_adds_up_the_budget_items():
    pico = dataclasses.replace(B.load_board("pico"), runtime="tflm")
    fit = B.fit_check(pico, model_bytes=50_000, arena_used=10_000, buffers={"runner": 4_000, "app": 1_000})
    arena = B.arena_with_margin(10_000, pico.arena_margin)
    assert arena == 11_008  # 10 000 x 1.1, rounded up to 16 bytes
    assert fit["flash_bytes"] == 50_000 + int(pico.runtime_flash_kb * 1024) + int(pico.app_flash_kb * 1024)
    assert fit["ram_bytes"] == arena + 4_000 + 1_000 + int(pico.stack_reserve_kb * 1024)
    assert fit["fits"] and fit["flash_budget"] == 2048 * 1024 and fit["ram_budget"] == 264 * 1024
    assert fit["flash_free"] == fit["flash_budget"] - fit["flash_bytes"]


def test_engine_fit_counts_measured_code_constants_and_the_exact_arena():
    """runtime: engine (the default): no .tflite, no runtime estimate, no arena margin."""
    pico = B.load_board("pico")
    assert pico.runtime == "engine"
    engine = {"code_bytes": 3_000, "const_bytes": 40_000, "scratch_bytes": 9_000, "code_target": "cortex-m0plus"}
    fit = B.fit_check(pico, model_bytes=50_000, arena_used=10_000, buffers={"runner": 4_000}, engine=engine)
    assert fit["flash_bytes"] == 3_000 + 40_000 + int(pico.platform_flash_kb * 1024) + int(pico.app_flash_kb * 1024)
    assert fit["ram_bytes"] == 9_000 + 4_000 + int(pico.stack_reserve_kb * 1024)
    assert fit["arena_bytes"] == 9_000 and fit["runtime"] == "engine"
    names = [line[0] for line in fit["flash_lines"]]
    assert names == ["model", "engine code", "platform", "app"] and "runtime" not in names
    with pytest.raises(ConfigError, match="runtime=engine needs the compiled model's figures"):
        B.fit_check(pico, model_bytes=50_000, arena_used=10_000, buffers={})


def test_a_model_too_big_for_pico_is_one_line_with_every_budget_and_the_overshoot():
    pico = dataclasses.replace(B.load_board("pico"), runtime="tflm")
    model = 2_100_000  # > 2 MB of flash on its own
    with pytest.raises(FitError) as err:
        B.fit_check(pico, model_bytes=model, arena_used=300_000, buffers={"runner": 2_000})
    msg = str(err.value)
    assert "\n" not in msg
    assert "board=pico" in msg
    app_kb = pico.app_flash_kb
    for item in ("model 2.00 MB", "runtime 100.0 KB", f"app {app_kb:.1f} KB", "arena", "runner", "stack+sdk"):
        assert item in msg, item
    flash_total = model + int((100 + app_kb) * 1024)
    over_flash = (flash_total - 2048 * 1024) / 1024
    assert f"over by {over_flash:.1f} KB" in msg
    ram_total = B.arena_with_margin(300_000, 0.1) + 2_000 + 16 * 1024
    assert f"over by {(ram_total - 264 * 1024) / 1024:.1f} KB" in msg
    # without raising, the same numbers come back as data
    fit = B.fit_check(pico, model_bytes=model, arena_used=300_000, buffers={"runner": 2_000}, raise_on_fail=False)
    assert not fit["fits"] and fit["flash_bytes"] == flash_total and fit["ram_bytes"] == ram_total


def test_latency_estimate_follows_the_published_table():
    macs = 2_656_768  # MLPerf Tiny KWS DS-CNN

    def tflm(name):  # the published figures are TFLite Micro's (CMSIS-NN / ESP-NN kernels)
        board = B.load_board(name)
        return board if board.runtime == "litert" else dataclasses.replace(board, runtime="tflm")

    est = {b: B.estimate_latency(tflm(b), macs=macs, dsp_flops=0) for b in
           ("pico", "nano33_ble_sense", "nucleo_l4r5zi", "esp32s3", "rpi4")}
    # the compiled model (runtime: engine, the default) has portable C kernels: the reference figure
    engine = B.estimate_latency(B.load_board("nucleo_l4r5zi"), macs=macs, dsp_flops=0)
    assert engine["kernels"] == "reference" and engine["model_ms"] > est["nucleo_l4r5zi"]["model_ms"]
    # the NUCLEO-L4R5ZI with CMSIS-NN reproduces the measurement the figure came from
    assert est["nucleo_l4r5zi"]["model_ms"] == pytest.approx(99.8, rel=0.02)
    assert est["nucleo_l4r5zi"]["kernels"] == "cmsis-nn" and est["esp32s3"]["kernels"] == "esp-nn"
    # ordering implied by clock x cycles/MAC
    assert est["pico"]["model_ms"] > est["nano33_ble_sense"]["model_ms"] > est["nucleo_l4r5zi"]["model_ms"]
    assert est["nucleo_l4r5zi"]["model_ms"] > est["esp32s3"]["model_ms"] > est["rpi4"]["model_ms"]
    for e in est.values():
        assert e["basis"].startswith("ESTIMATE") and e["estimate_ms"] == e["model_ms"] + e["dsp_ms"]
    unknown = B.estimate_latency(B.load_board("pico"), macs=None, dsp_flops=1000)
    assert unknown["model_ms"] is None and unknown["estimate_ms"] is None and unknown["dsp_ms"] > 0


def test_dsp_cost_counts_fft_frames():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Spec:
        C_PREFIX: ClassVar[str] = "S"
        n_fft: int = 512
        frame_length: int = 480
        hop_length: int = 320
        n_mels: int = 40
        n_mfcc: int = 10

    class Ex:
        def dsp_params(self):
            return [Spec()]

    flops, basis = B.dsp_flops(Ex(), (1, 16000))
    frames = 1 + (16000 - 480) // 320  # 49, as MLPerf KWS
    assert "49 frames" in basis
    assert flops == int(frames * (2.5 * 512 * 9 + 8 * 512 + 2 * 40 * 10))
    # a Cortex-M0+ without FPU pays far more per float op than a Cortex-M4F
    pico = B.estimate_latency(B.load_board("pico"), macs=0, dsp_flops=flops)
    nano = B.estimate_latency(B.load_board("nano33_ble_sense"), macs=0, dsp_flops=flops)
    assert pico["dsp_ms"] > 10 * nano["dsp_ms"]
