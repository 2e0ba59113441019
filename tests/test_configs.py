"""Every option of every config group composes, and typed schemas catch mistakes."""

from __future__ import annotations

from importlib import resources

import pytest

from tinyml_suite.common.cli import list_options


def _options(group: str) -> list[str]:
    return list_options(group)


APPS = _options("app")
BOARDS = _options("board")


def test_groups_are_populated():
    assert "host" in BOARDS
    assert {"nano33_ble_sense", "esp32s3", "nucleo_l4r5zi", "pico", "rpi4"} <= set(BOARDS)


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("board", BOARDS)
def test_every_app_composes_with_every_board(compose_cfg, app, board):
    cfg = compose_cfg([f"app={app}", f"board={board}"], )
    assert cfg.app.name == app
    assert cfg.board.name == board
    assert cfg.board.flash_kb > 0 and cfg.board.ram_kb > 0
    for key in ("dataset", "features", "model"):
        assert cfg[key].get("_target_"), f"app={app} leaves {key} without a _target_"


@pytest.mark.parametrize("group", ["dataset", "features", "model", "trainer", "optimize", "debug", "experiment"])
def test_every_option_composes(compose_cfg, group):
    """Each option composes on top of the app it belongs to (or the default app)."""
    for option in _options(group):
        overrides = [f"{group}={option}"]
        if group == "experiment":
            cfg = compose_cfg(overrides)
            assert cfg is not None
            continue
        errors = []
        for app in APPS or ["toy"]:
            try:
                compose_cfg([f"app={app}", *overrides])
                break
            except Exception as exc:  # noqa: BLE001 - collect and report below
                errors.append(f"{app}: {exc}")
        else:
            pytest.fail(f"{group}={option} composes with no app: {errors}")


@pytest.mark.parametrize("group", ["app", "experiment"])
def test_every_app_config_builds_its_app(compose_cfg, group):
    """Every key an app or experiment config sets is an option of the App class it names."""
    from tinyml_suite.common.app import App
    from tinyml_suite.common.context import instantiate_logged

    for option in _options(group):
        cfg = compose_cfg([f"{group}={option}"])
        assert isinstance(instantiate_logged(cfg.app), App), f"{group}={option}"


def test_board_schema_rejects_unknown_key(compose_cfg):
    with pytest.raises(Exception, match="flash_kbb"):
        compose_cfg(["app=toy", "board.flash_kbb=3"])


def test_board_schema_rejects_wrong_type(compose_cfg):
    with pytest.raises(Exception, match="flash_kb"):
        compose_cfg(["app=toy", "board.flash_kb=lots"])


def test_every_config_file_has_a_description():
    root = resources.files("tinyml_suite.conf")
    missing = []
    for group in root.iterdir():
        if not group.is_dir() or group.name.startswith(("_", "hydra", "local")):
            continue
        for f in group.iterdir():
            if f.name.endswith(".yaml"):
                lines = [ln for ln in f.read_text().splitlines() if not ln.startswith("# @package")]
                if not lines or not lines[0].startswith("# "):
                    missing.append(f"{group.name}/{f.name}")
    assert not missing, f"config files without a first-line '# description': {missing}"


def test_package_headers_are_on_the_first_line():
    """Hydra only honours `# @package` on the first line; later it is silently ignored."""
    root = resources.files("tinyml_suite.conf")
    bad = []
    for group in root.iterdir():
        if not group.is_dir():
            continue
        for f in group.iterdir():
            if f.name.endswith(".yaml"):
                lines = f.read_text().splitlines()
                if any("@package" in ln for ln in lines[1:]):
                    bad.append(f"{group.name}/{f.name}")
    assert not bad, f"'# @package' must be the first line in: {bad}"
