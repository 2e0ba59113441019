"""``tinyml evaluate``: score a trained run on another dataset folder, without retraining.

    tinyml evaluate <run_dir> dataset=<name> dataset.root=<folder> [split=test|all] [out=<dir>]

The run's own overrides (``.hydra/overrides.yaml``) are replayed, then the new ones on
top, so the features and the app options are exactly the run's. The float model
(``model.keras``) and, when present, the int8 model (``model_int8.tflite``, on the TFLite
Micro runtime) are scored with the app's own ``evaluate``/``extra_evaluation`` hooks.
Class labels are matched by name to the run's labels. Results go to
``<run_dir>/evaluations/<dataset>-<time>/metrics.json`` (or ``out=``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DatasetError

__all__ = ["main", "evaluate_run"]

log = logging.getLogger("tinyml")

USAGE = "usage: tinyml evaluate <run_dir> [dataset=<name> dataset.root=<folder>] [split=test|all] [out=<dir>]"


def _pop(overrides: list[str], key: str, default: str | None = None) -> str | None:
    for ov in list(overrides):
        if ov.startswith(f"{key}="):
            overrides.remove(ov)
            return ov.split("=", 1)[1]
    return default


def _merge_splits(data):
    from tinyml_suite.common.data import Split

    parts = [data.train, data.val, data.test]
    groups = None
    if all(p.groups is not None for p in parts):
        groups = np.concatenate([p.groups.astype(str) for p in parts])
    keys = set.intersection(*(set(p.meta) for p in parts)) if parts else set()
    meta = {k: np.concatenate([np.asarray(p.meta[k]) for p in parts]) for k in keys}
    return Split(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]), groups, meta)


def _read_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc}); restore it or re-run the recipe") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path} does not hold a metrics object; restore it or re-run the recipe")
    return data


def evaluate_run(run_dir: Path, overrides: list[str], *, split: str = "test", out: Path | None = None) -> dict[str, Any]:
    """Evaluate the run in ``run_dir`` on the dataset the overrides name; return metrics."""
    from omegaconf import OmegaConf, open_dict

    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.common.io import config_hash, write_json
    from tinyml_suite.common.pipeline import RunContext, instantiate_logged, stage_data, stage_features

    run_dir = Path(run_dir)
    hydra_dir = run_dir / ".hydra"
    if not (hydra_dir / "overrides.yaml").exists():
        raise ConfigError(f"{run_dir} is not a tinyml run directory (no .hydra/overrides.yaml); {USAGE}")
    if split not in ("test", "all"):
        raise ConfigError(f"split={split!r} must be 'test' or 'all'")
    from tinyml_suite.common.runs import check_run

    check_run(run_dir, purpose="tinyml evaluate", need=("metrics.json", "model.keras", "model_int8.tflite"))
    saved = [str(o) for o in OmegaConf.load(hydra_dir / "overrides.yaml") if not str(o).startswith("hydra.")]
    if (hydra_dir / "hydra.yaml").exists():  # keep extra config folders (custom projects, tests)
        hydra_overrides = OmegaConf.load(hydra_dir / "hydra.yaml").hydra.overrides.get("hydra", [])
        saved += [str(o) for o in hydra_overrides if str(o).startswith("hydra.searchpath")]
    new_keys = {o.split("=", 1)[0] for o in overrides}
    replay = []
    for o in saved:
        key = o.split("=", 1)[0]
        if key in new_keys or (key.startswith("dataset.") and "dataset" in new_keys):
            continue
        replay.append(o)
    cfg = compose_config([*replay, *overrides])
    if "dataset" in new_keys:
        # A new dataset gets its own defaults plus the user's dataset.* values, not the
        # dataset.* values an experiment of the run set for its own dataset.
        keep = [o for o in replay if o.startswith(("app=", "hydra.searchpath"))]
        mine = [o for o in overrides if o.startswith("dataset")]
        clean = compose_config([*keep, *mine])
        with open_dict(cfg):
            cfg.dataset = clean.dataset
    saved_metrics = _read_metrics(run_dir)
    app = instantiate_logged(cfg.app)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    out_dir = Path(out) if out else run_dir / "evaluations" / f"{cfg.dataset.get('name', 'dataset')}-{stamp}"
    ctx = RunContext(cfg=cfg, run_dir=out_dir, app=app, seed=int(cfg.seed),
                     config_hash=config_hash(OmegaConf.to_container(cfg, resolve=False)))
    stage_data(ctx)
    assert ctx.data is not None
    train_labels = list(saved_metrics.get("data", {}).get("labels", []))
    if train_labels and list(ctx.data.labels) != train_labels and ctx.data.task != "regression":
        missing = [lab for lab in ctx.data.labels if lab not in train_labels]
        if missing:
            raise DatasetError(
                f"labels {missing} of dataset={cfg.dataset.get('name')} are not classes of the trained "
                f"model ({', '.join(train_labels)}); map them (e.g. dataset.keywords=...) or pick another dataset"
            )
        remap = np.array([train_labels.index(lab) for lab in ctx.data.labels])
        for name in ("train", "val", "test"):
            part = getattr(ctx.data, name)
            part.y = remap[part.y.astype(int)]
        ctx.data.labels = tuple(train_labels)
    if split == "all":
        ctx.data.test = _merge_splits(ctx.data)
    stage_features(ctx)
    ctx.state["calibration"] = saved_metrics.get("calibration", {})
    result: dict[str, Any] = {
        "run": str(run_dir),
        "app": app.name,
        "dataset": str(cfg.dataset.get("name", "?")),
        "split": split,
        "n": int(len(ctx.data.test)),
        "data": ctx.data.stats(),
    }
    if app.trains_model:
        import keras

        model_path = run_dir / "model.keras"
        if not model_path.exists():
            raise ConfigError(f"{model_path} is missing; evaluate needs a run that finished training")
        try:
            ctx.model = keras.models.load_model(model_path, compile=False)
        except Exception as exc:  # zip/h5/JSON errors of a truncated or foreign file
            raise DatasetError(
                f"{model_path} is damaged or not a Keras model ({type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:160]}); restore it or re-run the recipe"
            ) from None
        predict = ctx.float_predict()
    else:
        predict = app.dsp_predictor(ctx)
    result["float"] = app.evaluate(predict, ctx.X["test"], ctx.data.test, ctx)
    result["float"].update(app.extra_evaluation(predict, ctx, "float") or {})
    tflite = run_dir / "model_int8.tflite"
    if app.trains_model and tflite.exists():
        from tinyml_suite.common.deploy.tflite_ops import parse_model
        from tinyml_suite.common.deploy.verify import tflm_predictor

        arena = int(saved_metrics.get("tflm", {}).get("arena_bytes", 0)) or None
        parse_model(tflite.read_bytes(), what=str(tflite))  # a damaged file: one line, not a crash
        int8_predict = tflm_predictor(tflite.read_bytes(), arena)
        result["int8"] = app.evaluate(int8_predict, ctx.X["test"], ctx.data.test, ctx)
        result["int8"].update(app.extra_evaluation(int8_predict, ctx, "int8") or {})
    write_json(out_dir / "metrics.json", result)
    head = app.headline
    print(f"{app.name} on {result['dataset']} ({split}, n={result['n']}): float {head} = "
          f"{result['float'].get(head)}" + (f", int8 {head} = {result['int8'].get(head)}" if "int8" in result else ""))
    print(f"tinyml: wrote {out_dir / 'metrics.json'}")
    return result


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-") or "=" in argv[0]:
        raise ConfigError(USAGE)
    overrides = list(argv[1:])
    split = _pop(overrides, "split", "test") or "test"
    out = _pop(overrides, "out")
    evaluate_run(Path(argv[0]), overrides, split=split, out=Path(out) if out else None)
    return 0
