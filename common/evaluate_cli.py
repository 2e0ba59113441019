"""``tinyml evaluate``: score a trained run on another dataset folder, without retraining.

    tinyml evaluate <run_dir> dataset=<name> dataset.root=<folder> [split=test|all] [out=<dir>]

The run is read by ``common/saved_run.py::load_run`` (the same path as ``tinyml deploy``): its
own overrides (``.hydra/overrides.yaml``) are replayed, then the new ones on top, so the
features and the app options are exactly the run's. Scoring is the pipeline's evaluate
stage with the run's saved calibration. The float model
(``model.keras``) and, when present, the int8 model (``model_int8.tflite``, on the TFLite
Micro runtime) are scored with the app's own ``evaluate``/``extra_evaluation`` hooks.
Class labels are matched by name to the run's labels. Results go to
``<run_dir>/evaluations/<dataset>-<time>/metrics.json`` (or ``out=``).
"""

from __future__ import annotations

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


def evaluate_run(run_dir: Path, overrides: list[str], *, split: str = "test", out: Path | None = None) -> dict[str, Any]:
    """Evaluate the run in ``run_dir`` on the dataset the overrides name; return metrics."""
    from tinyml_suite.common.io import write_json
    from tinyml_suite.common.pipeline import evaluate_predictor, stage_data, stage_evaluate, stage_features
    from tinyml_suite.common.saved_run import load_run

    if split not in ("test", "all"):
        raise ConfigError(f"split={split!r} must be 'test' or 'all'")
    run_dir = Path(run_dir)
    if not (run_dir / ".hydra" / "overrides.yaml").exists():
        raise ConfigError(f"{run_dir} is not a tinyml run directory (no .hydra/overrides.yaml); {USAGE}")
    ctx = load_run(run_dir, overrides=overrides)
    cfg, app = ctx.cfg, ctx.app
    saved = ctx.state.saved_metrics or {}
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    ctx.run_dir = Path(out) if out else run_dir / "evaluations" / f"{cfg.dataset.get('name', 'dataset')}-{stamp}"
    copies = cfg.dataset.get("augment_copies")
    if copies not in (None, 0):
        # augmented copies of training windows are training data, not recordings: with
        # split=all they would be scored as if they were (and they cost time to build)
        from omegaconf import open_dict

        with open_dict(cfg.dataset):
            cfg.dataset.augment_copies = 0
        log.info("evaluate: dataset.augment_copies=%s -> 0 (augmented training copies are never scored)", copies)
    stage_data(ctx)
    assert ctx.data is not None
    train_labels = list(saved.get("data", {}).get("labels", []))
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
        if "keras" not in ctx.artifacts:
            raise ConfigError(f"{model_path} is missing; evaluate needs a run that finished training")
        try:
            ctx.model = keras.models.load_model(model_path, compile=False)
        except Exception as exc:  # zip/h5/JSON errors of a truncated or foreign file
            raise DatasetError(
                f"{model_path} is damaged or not a Keras model ({type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:160]}); restore it or re-run the recipe"
            ) from None
    stage_evaluate(ctx)  # the saved calibration is kept: nothing is refitted
    result["float"] = ctx.metrics["float"]
    tflite = ctx.artifacts.get("tflite_int8")
    if app.trains_model and tflite is not None:
        from tinyml_suite.common.deploy.tflite_ops import parse_model
        from tinyml_suite.common.deploy.verify import tflm_predictor

        arena = int(saved.get("tflm", {}).get("arena_bytes", 0)) or None
        parse_model(Path(tflite).read_bytes(), what=str(tflite))  # a damaged file: one line, not a crash
        result["int8"] = evaluate_predictor(ctx, tflm_predictor(Path(tflite).read_bytes(), arena), "int8")
    out_dir = ctx.run_dir
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
