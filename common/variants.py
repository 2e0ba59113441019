"""Score every model variant with the same app metric, and tabulate them in variants.csv.

:func:`evaluate_variant` takes the float Keras model or the bytes of a ``.tflite``
variant and runs ``app.evaluate`` through a predictor that returns float outputs:

* a Keras model                      -> ``model.predict``                 (runtime "keras")
* a float32 / float16 / dynamic-range -> LiteRT, reference kernels         (runtime "litert")
* an int8 model (int8 input/output)   -> TFLite Micro, outputs dequantised (runtime "tflm")

so the figures differ only by the model's numerics. Each call adds a row to
``<run_dir>/variants.csv`` (rewritten atomically): variant, runtime, bytes (the
``.tflite`` size; empty for the Keras model), n (examples scored), the headline metric,
then every other scalar metric the app returned.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.app import App
    from tinyml_suite.common.context import RunContext
    from tinyml_suite.common.data import Split

__all__ = ["evaluate_variant", "predictor_for", "scalar_metrics", "write_variants_csv"]

log = logging.getLogger("tinyml")

PredictFn = Callable[[np.ndarray], np.ndarray]


def scalar_metrics(result: dict[str, Any]) -> dict[str, float | int | bool]:
    """The top-level scalar entries of an app's metrics dict (nested tables dropped).

    Examples
    --------
    >>> scalar_metrics({"accuracy": 0.9, "confusion": [[1]], "n": 3, "name": "x"})
    {'accuracy': 0.9, 'n': 3}
    """
    out: dict[str, float | int | bool] = {}
    for k, v in result.items():
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = float(v)
    return out


def predictor_for(name: str, model: Any, *, arena_size: int | None = None) -> tuple[PredictFn, str, int | None]:
    """``(predict, runtime, bytes)`` for a Keras model or a ``.tflite`` variant."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        from tinyml_suite.common.deploy.verify import io_info, litert_predictor, tflm_predictor

        data = bytes(model)
        info_in, info_out = io_info(data)
        if info_in.dtype == "int8" and info_out.dtype == "int8":
            return tflm_predictor(data, arena_size), "tflm", len(data)
        if name == "int8":
            tflm_predictor(data, arena_size, require_int8=True)  # raises the one-line DeployError
        return litert_predictor(data), "litert", len(data)
    if hasattr(model, "predict") and hasattr(model, "outputs"):

        def predict(X: np.ndarray) -> np.ndarray:
            if len(X) == 0:
                shape = tuple(int(d) for d in model.outputs[0].shape[1:])
                return np.zeros((0, *shape), dtype=np.float32)
            return np.asarray(model.predict(X, batch_size=256, verbose=0), dtype=np.float32)

        return predict, "keras", None
    raise ConfigError(f"variant {name!r}: expected a keras.Model or .tflite bytes, got {type(model).__name__}")


def write_variants_csv(path: Any, rows: list[dict[str, Any]], headline: str) -> None:
    """Write the variants table (one row per variant) atomically."""
    from tinyml_suite.common.io import write_text

    fixed = ["variant", "runtime", "bytes", "n", headline]
    extra = sorted({k for r in rows for k in r} - set(fixed) - {"seconds"})
    cols = [*fixed, *extra, "seconds"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in cols})
    write_text(path, buf.getvalue())


def evaluate_variant(
    name: str,
    model: Any,
    X: np.ndarray,
    split: Split,
    app: App,
    ctx: RunContext,
    *,
    arena_size: int | None = None,
    predict: PredictFn | None = None,
) -> dict[str, Any]:
    """Run ``app.evaluate`` on one variant; add its row to ``variants.csv``; return the metrics.

    Parameters
    ----------
    name : str
        variant name ("keras", "float32", "float16", "dynamic_range", "int8", ...)
    model : keras.Model or bytes
        the float Keras model or a ``.tflite`` flatbuffer
    X : np.ndarray [shape=(n, *input_shape)]
        float model inputs
    split : Split
        the matching labels/targets (``split.subset`` of the test split)
    app, ctx
        the app (its ``evaluate`` hook) and the run context (``run_dir``, calibration)
    arena_size : int or None
        TFLM arena for an int8 model (measured when None)
    predict : PredictFn or None
        reuse an existing predictor for this model

    Returns
    -------
    dict
        exactly what ``app.evaluate`` returned
    """
    if predict is None:
        predict, runtime, size = predictor_for(name, model, arena_size=arena_size)
    else:
        _, runtime, size = (None, "tflm" if name == "int8" else "given", len(model) if isinstance(model, bytes) else None)
    t0 = time.perf_counter()
    result = app.evaluate(predict, X, split, ctx)
    seconds = time.perf_counter() - t0
    row = {"variant": name, "runtime": runtime, "bytes": size, "n": len(X), **scalar_metrics(result)}
    row["seconds"] = round(seconds, 3)
    rows = ctx.state.variant_rows
    rows[name] = row
    write_variants_csv(ctx.run_dir / "variants.csv", list(rows.values()), app.headline)
    ctx.artifacts["variants_csv"] = ctx.run_dir / "variants.csv"
    if app.headline in result:
        log.info("Variant %-14s %-6s %s = %.4f", name, runtime, app.headline, float(result[app.headline]))
    return result
