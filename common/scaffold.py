"""``tinyml new``: start a custom project from one of the apps.

    tinyml new my_project --from gesture [--name my_gesture]
    cd my_project && tinyml            # trains, quantises and deploys on your data

The project folder holds its own Hydra config tree (added to the search path whenever
``tinyml`` runs inside it), a dataset config that points at ``./data``, and a model
file to edit::

    my_project/
      tinyml_project.yaml      marks the folder; default overrides and plugins
      conf/app/<name>.yaml     the app's recipe, pointing at your dataset and model
      conf/dataset/my_data.yaml  the app's folder loader, root: data
      conf/model/my_model.yaml   _target_: my_model.build_model
      my_model.py              the model builder to edit (starts as the app's default)
      data/                    example data in the loader's layout; replace it with yours
      README.md

``data/`` starts with a small synthetic example dataset written in exactly the layout the
app's folder loader reads (``tinyml_suite.datasets.examples``), so ``tinyml`` runs at
once; ``--no-example`` leaves it empty.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.io import atomic_dir

__all__ = ["main", "scaffold"]


def _read(group: str, name: str) -> str:
    path = resources.files("tinyml_suite.conf") / group / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"conf/{group}/{name}.yaml is not part of this installation")
    return path.read_text()


def _defaults_choice(app_yaml: str, group: str) -> str:
    m = re.search(rf"override /{group}:\s*([\w\-/]+)", app_yaml)
    if not m:
        raise ConfigError(f"the app config sets no default {group}")
    return m.group(1)


def _set_options(dataset_yaml: str, options: dict[str, Any]) -> str:
    """Set top-level keys of a dataset config (text, comments kept) to the example's values."""
    import yaml

    for key, value in options.items():
        line = f"{yaml.safe_dump({key: value}, default_flow_style=True, width=1000).strip()[1:-1]}   # the example data's; set yours"
        dataset_yaml, n = re.subn(rf"^{re.escape(key)}:.*$", lambda _m, line=line: line, dataset_yaml, flags=re.M)
        if not n:
            dataset_yaml = dataset_yaml.rstrip("\n") + "\n" + line + "\n"
    return dataset_yaml


def _readme(name: str, app: str, dataset: str, example: bool, options: dict[str, Any]) -> str:
    from tinyml_suite.datasets.examples import LAYOUTS

    layout = LAYOUTS.get(dataset, f"the layout the {dataset} loader reads")
    marked = (f" and set the options marked \"the example data's\" in `conf/dataset/my_data.yaml` "
              f"({', '.join(options)}) to your data's values" if options else "")
    if example:
        data = (f"`data/` holds a small synthetic example dataset, made by the suite's simulators so that "
                f"`tinyml` runs at once, in the layout your recordings go in: {layout}.")
        replace = (f"Replace the example with your recordings: delete the files in `data/`, copy yours "
                   f"in the same layout{marked}. `conf/dataset/my_data.yaml` lists every option of the "
                   f"`{dataset}` loader and the {app} app's README gives the details; "
                   f"`tinyml dataset.root=/elsewhere` reads another folder without copying it.")
    else:
        data = f"`data/` is empty: put your recordings there, in this layout: {layout}."
        replace = (f"`conf/dataset/my_data.yaml` lists every option of the `{dataset}` loader; "
                   f"the {app} app's README gives the details.")
    # the speech_commands loader reads <speaker>_nohash_<n>.wav; capture names files <name>_<i>
    name_opt = " --name <speaker>_nohash" if dataset == "speech_commands" else ""
    replace += (f" To record them from a board running this project's firmware (docs/boards.md): "
                f"`tinyml capture --port <port> --label <label> --count 20 --out data{name_opt}`.")
    def fill(text: str, indent: str = "") -> str:  # never breaks inside `code`
        text = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", "\0"), text)
        return textwrap.fill(text, 88, initial_indent=indent, subsequent_indent=" " * len(indent),
                             break_on_hyphens=False, break_long_words=False).replace("\0", " ")

    return "\n".join([
        f"# {name}", "",
        f"A custom TinyML project started from the `{app}` app of tinyml-suite.", "",
        fill(data), "",
        fill("Run the recipe from this folder: `tinyml debug=smoke` (a quick check that everything "
             "runs), then `tinyml` (or `tinyml board=esp32s3`).", "1. "),
        fill(replace, "2. "),
        fill(f"Edit `my_model.py` to change the model; `conf/app/{name}.yaml` for the recipe.", "3. "), "",
        fill(f"Results go to `outputs/{name}/<date>_<time>/`: metrics.json, report.html, "
             "model_int8.tflite and firmware/<board>/."),
        "",
    ])


def scaffold(directory: Path, app: str, name: str | None = None, example: bool = True) -> Path:
    """Write a new project folder for ``app``; refuse to overwrite an existing one.

    With ``example`` (the default), ``data/`` gets a small synthetic dataset in the
    layout of the app's folder loader, and ``conf/dataset/my_data.yaml`` the options
    those files need (e.g. their sample rate).
    """
    from tinyml_suite.common.cli import list_options
    from tinyml_suite.common.context import instantiate_logged  # noqa: F401 - import check
    from tinyml_suite.datasets.examples import EXAMPLE_WRITERS, write_example

    apps = list_options("app")
    if app not in apps:
        raise ConfigError(f"unknown app '{app}' for --from; choose one of: {', '.join(apps)}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} exists and is not empty; pick a new folder name")
    name = name or f"my_{app}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"--name {name!r} must be lower-case letters, digits and '_' (a Python/Hydra name)")

    app_yaml = _read("app", app)
    app_cfg = OmegaConf.create(app_yaml.split("\n", 1)[1] if app_yaml.startswith("# @package") else app_yaml)
    target = str(app_cfg.app._target_)
    module_name, _, cls_name = target.rpartition(".")
    import importlib

    app_cls = getattr(importlib.import_module(module_name), cls_name)
    dataset = getattr(app_cls, "custom_dataset", "")
    if not dataset:
        raise ConfigError(f"app={app} names no folder dataset (App.custom_dataset); it cannot be scaffolded yet")
    model_choice = _defaults_choice(app_yaml, "model")
    model_cfg = OmegaConf.create(_read("model", model_choice))
    builder = str(model_cfg.pop("_target_"))
    model_kwargs = OmegaConf.to_container(model_cfg, resolve=False)

    new_app_yaml = re.sub(r"override /dataset:\s*[\w\-/]+", "override /dataset: my_data", app_yaml)
    new_app_yaml = re.sub(r"override /model:\s*[\w\-/]+", "override /model: my_model", new_app_yaml)
    lines = new_app_yaml.splitlines()
    lines.insert(1, f"# {name}: a custom project started from the {app} app (tinyml new)")
    if len(lines) > 2 and lines[2].startswith("# "):
        lines.pop(2)  # the app's own description line
    new_app_yaml = "\n".join(lines) + "\n"

    dataset_yaml = _read("dataset", dataset)
    dataset_yaml = re.sub(r"^#.*\n", f"# Your data for {name}: the {dataset} loader reading ./data\n", dataset_yaml, count=1)
    dataset_yaml = re.sub(r"^root:.*$", "root: data                # relative to the project folder", dataset_yaml, flags=re.M)
    if not re.search(r"^root:", dataset_yaml, flags=re.M):
        dataset_yaml += "root: data\n"

    kw_lines = OmegaConf.to_yaml(OmegaConf.create(model_kwargs)) if model_kwargs else ""
    model_yaml = f"# The model of {name}: edit my_model.py\n_target_: my_model.build_model\n{kw_lines}"
    model_py = textwrap.dedent(f'''\
        """The model of {name}. Edit freely: `tinyml` calls build_model(input_shape, n_outputs, **kwargs).

        It starts as the {app} app's default model ({builder}); the keyword arguments come
        from conf/model/my_model.yaml. Return any keras.Model whose layers TFLite Micro
        supports (the verify stage names any op it cannot run).
        """

        from __future__ import annotations

        from {builder.rpartition(".")[0]} import {builder.rpartition(".")[2]} as _app_default


        def build_model(input_shape, n_outputs, **kwargs):
            """Build the Keras model for inputs of ``input_shape`` and ``n_outputs`` outputs."""
            return _app_default(input_shape, n_outputs, **kwargs)
        ''')
    project_yaml = textwrap.dedent(f"""\
        # tinyml project {name} (from app {app}). `tinyml` run in this folder adds conf/ to the
        # config search path, imports the plugins below and applies these default overrides.
        app: {app}
        name: {name}
        plugins: [my_model]
        overrides: [app={name}]
        """)
    example = example and dataset in EXAMPLE_WRITERS
    with atomic_dir(directory) as tmp:
        (tmp / "conf" / "app").mkdir(parents=True)
        (tmp / "conf" / "dataset").mkdir()
        (tmp / "conf" / "model").mkdir()
        (tmp / "data").mkdir()
        (tmp / "conf" / "app" / f"{name}.yaml").write_text(new_app_yaml)
        (tmp / "conf" / "dataset" / "my_data.yaml").write_text(dataset_yaml)
        (tmp / "conf" / "model" / "my_model.yaml").write_text(model_yaml)
        (tmp / "my_model.py").write_text(model_py)
        (tmp / "tinyml_project.yaml").write_text(project_yaml)
        (tmp / "data" / ".keep").write_text("")
        options: dict[str, Any] = {}
        if example:
            options = write_example(dataset, tmp / "data", seed=0)
            (tmp / "conf" / "dataset" / "my_data.yaml").write_text(_set_options(dataset_yaml, options))
        (tmp / "README.md").write_text(_readme(name, app, dataset, example, options))
    what = "with example data in" if example else "put your data in"
    print(f"tinyml: created {directory} from app={app} ({what} {directory / 'data'}); run `tinyml` there")
    return directory


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tinyml new", description="start a custom project from an app")
    parser.add_argument("directory")
    parser.add_argument("--from", dest="app", required=True, help="the app to start from")
    parser.add_argument("--name", default=None, help="project/app config name (default my_<app>)")
    parser.add_argument("--no-example", action="store_true", help="leave data/ empty (no example dataset)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code:
            raise ConfigError("usage: tinyml new <dir> --from <app> [--name <name>] [--no-example]") from None
        return 0
    scaffold(Path(args.directory), args.app, args.name, example=not args.no_example)
    return 0
