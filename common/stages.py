"""The deploy-side stages of the recipe: optimise, verify (and deploy, below the marker).

``stage_optimize``: optional magnitude pruning + fine-tuning of the trained model, then
the ``.tflite`` variants of ``optimize.variants`` (``int8`` is required: it is the
deployable model), written atomically as ``model_<variant>.tflite``.

``stage_verify``: the int8 model's op list and TFLM support, the measured tensor arena,
LiteRT vs TFLM agreement on real test inputs, the app's metrics computed from TFLM
outputs, the variants table (``variants.csv``), and the model compiled to C
(common/deploy/engine) run on the same inputs and compared with TFLM bit for bit.

Both are called by ``common/pipeline.py`` through ``STAGES``; what they put on the
context for later stages is listed in their docstrings.
"""

from __future__ import annotations

import gzip
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyml_suite.common.errors import ConfigError, DeployError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.context import RunContext

__all__ = ["stage_deploy", "stage_device", "stage_optimize", "stage_verify"]

log = logging.getLogger("tinyml")

#: how many mismatching examples stage_verify localises (first differing operator)
_LOCATE_MAX = 20


def _representative(ctx: RunContext, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Calibration inputs: class-balanced training features (classification) or random.

    Classification uses the training features with their labels; regression and anomaly
    apps use what the app trains on (``app.training_arrays``: e.g. normal data only for
    an autoencoder), drawn at random.
    """
    from tinyml_suite.common.deploy.quantize import representative_sample

    assert ctx.data is not None
    task = ctx.app.task
    if task == "classification":
        X, y = ctx.X["train"], ctx.data.train.y
    else:
        X, _ = ctx.app.training_arrays(ctx.X["train"], ctx.data.train, ctx.data)
        y = None
    return representative_sample(X, y, n=n, seed=ctx.seed, task=task)


def _prune(ctx: RunContext) -> dict[str, Any]:
    from tinyml_suite.common.deploy.prune import check_pruning_config, prune_and_finetune

    pc = ctx.cfg.optimize.pruning
    check_pruning_config(pc)
    assert ctx.data is not None
    app = ctx.app
    before = ctx.metrics.get("float", {}).get(app.headline)
    x_tr, y_tr = app.training_arrays(ctx.X["train"], ctx.data.train, ctx.data)
    x_va, y_va = app.training_arrays(ctx.X["val"], ctx.data.val, ctx.data)
    lr = pc.get("learning_rate")
    lr = float(lr) if lr is not None else float(ctx.cfg.trainer.learning_rate) / 10.0
    report = prune_and_finetune(
        ctx.model,
        x_tr,
        y_tr,
        loss=app.loss(),
        metrics=app.keras_metrics(),
        target_sparsity=float(pc.target_sparsity),
        start_epoch=int(pc.start_epoch),
        end_epoch=int(pc.end_epoch),
        frequency=int(pc.frequency),
        fine_tune_epochs=int(pc.fine_tune_epochs),
        learning_rate=lr,
        batch_size=int(ctx.cfg.trainer.batch_size),
        power=float(pc.get("power", 3.0)),
        validation_data=(x_va, y_va) if len(x_va) else None,
        sample_weight=app.sample_weights(ctx.data.train, ctx.data),
        verbose=0,
    )
    from tinyml_suite.common.io import atomic_path

    with atomic_path(ctx.run_dir / "model_pruned.keras") as tmp:
        keras_path = tmp.with_suffix(".keras")
        ctx.model.save(str(keras_path))
        keras_path.replace(tmp)
    ctx.artifacts["model_pruned_keras"] = ctx.run_dir / "model_pruned.keras"
    after = app.evaluate(ctx.float_predict(), ctx.X["test"], ctx.data.test, ctx).get(app.headline)
    report.pop("history", None)
    report["float_before"] = before
    report["float_after"] = after
    log.info("Pruning: float %s %s -> %s", app.headline, before, after)
    return report


def stage_optimize(ctx: RunContext) -> dict[str, Any]:
    """Prune (if enabled) and convert the trained model to the configured variants.

    Writes ``model_<variant>.tflite`` for each of ``optimize.variants`` (``int8`` first
    and required). Fills ``ctx.metrics["model"]`` (``params``, ``macs``,
    ``tflite_bytes`` = int8 size, ``tflite_bytes_by_variant``) and
    ``ctx.artifacts["tflite_<variant>"]``; keeps the bytes in
    ``ctx.state.tflite[variant]``. Returns the representative-set info, the pruning
    report (if any) and the variant sizes (-> ``metrics.json["optimize"]``).
    """
    from tinyml_suite.common.deploy.macs import keras_macs
    from tinyml_suite.common.deploy.quantize import VARIANTS, convert
    from tinyml_suite.common.io import write_bytes

    oc = ctx.cfg.optimize
    if ctx.model is None:
        raise DeployError("optimize needs a trained model; include the train stage (stages=[...,train,...,optimize])")
    variants = [str(v) for v in oc.variants]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"optimize.variants={unknown} unknown; choose from {', '.join(VARIANTS)}")
    if "int8" not in variants:
        raise ConfigError("optimize.variants must include int8 (the model the device runs); e.g. [float32, int8]")
    variants = ["int8", *[v for v in dict.fromkeys(variants) if v != "int8"]]

    summary: dict[str, Any] = {}
    if bool(oc.pruning.enabled):
        summary["pruning"] = _prune(ctx)

    X_rep, info = _representative(ctx, int(oc.representative_samples))
    summary["representative"] = {k: v for k, v in info.items() if k != "indices"}
    per_channel = bool(oc.get("per_channel", True))
    blobs: dict[str, bytes] = {}
    for v in variants:
        data = convert(ctx.model, variant=v, representative=X_rep if v == "int8" else None, per_channel=per_channel)
        path = write_bytes(ctx.run_dir / f"model_{v}.tflite", data)
        ctx.artifacts[f"tflite_{v}"] = path
        blobs[v] = data
    ctx.state.tflite = blobs
    sizes = {v: len(b) for v, b in blobs.items()}
    macs = keras_macs(ctx.model)
    ctx.metrics["model"].update(
        {
            "params": int(ctx.model.count_params()),
            "macs": int(macs["macs"]),
            "tflite_bytes": sizes["int8"],
            "tflite_bytes_by_variant": sizes,
        }
    )
    summary["variants"] = sizes
    summary["per_channel"] = per_channel
    summary["int8_gzip_bytes"] = len(gzip.compress(blobs["int8"], 9, mtime=0))
    log.info("Optimised: %s", ", ".join(f"{v} {n} B" for v, n in sizes.items()))
    return summary


def _int8_bytes(ctx: RunContext) -> bytes:
    blob = ctx.state.tflite.get("int8")
    if blob is not None:
        return blob
    path = Path(ctx.artifacts.get("tflite_int8") or ctx.run_dir / "model_int8.tflite")
    if not path.exists():
        raise DeployError(f"no int8 model at {path}; run the optimize stage first (stages=[...,optimize,verify])")
    ctx.artifacts["tflite_int8"] = path
    return path.read_bytes()


def _subset(ctx: RunContext, n_total: int, cap: int | None, stage: str) -> np.ndarray:
    if cap is None or int(cap) >= n_total:
        return np.arange(n_total)
    if int(cap) <= 0:
        raise ConfigError(f"optimize.max_eval_samples={cap} must be positive (or null for the whole test split)")
    return np.sort(ctx.rng(stage).choice(n_total, size=int(cap), replace=False))


def stage_verify(ctx: RunContext) -> dict[str, Any]:
    """Check the int8 model on TFLM: ops, arena, LiteRT agreement, app metrics, variants.

    Fills ``ctx.metrics["int8"]`` (same keys as ``"float"``, from TFLM outputs) and
    ``ctx.metrics["tflm"]`` (``arena_bytes`` with margin, ``arena_min_bytes``, ``ops``,
    ``matches_litert``, ``max_abs_diff`` in int8 steps, ...), and for the firmware stage
    ``ctx.state.arena`` (ArenaResult), ``.arena_bytes``, ``.ops``,
    ``.input_quant``, ``.output_quant`` (scale, zero_point, shape, dtype).
    Also compiles the model to C (common/deploy/engine), runs it on the inputs TFLM
    ran for the int8 metrics and fills ``ctx.metrics["engine"]`` (``matches_tflm``,
    ``n_compared``, ``n_mismatched``, ``code_bytes``, ``weights_bytes``,
    ``scratch_bytes``, ``tflm_arena_bytes``, ...).
    """
    from tinyml_suite.common.deploy.arena import measure_arena
    from tinyml_suite.common.deploy.tflite_ops import check_tflm_support, op_counts
    from tinyml_suite.common.deploy.verify import (
        compare,
        io_info,
        locate_divergence,
        run_litert,
        run_tflm,
        tflm_predictor,
    )
    from tinyml_suite.common.variants import evaluate_variant

    oc = ctx.cfg.optimize
    app = ctx.app
    if ctx.data is None or "test" not in ctx.X:
        raise DeployError("verify needs the data and features stages (real test inputs)")
    model_bytes = _int8_bytes(ctx)

    # 1. operators: every one must have a TFLM kernel
    counts = op_counts(model_bytes)
    ops = sorted(counts)
    methods = check_tflm_support(ops)
    info_in, info_out = io_info(model_bytes)
    if info_in.dtype != "int8" or info_out.dtype != "int8":
        raise DeployError(
            f"model_int8.tflite has {info_in.dtype} input and {info_out.dtype} output; re-run optimize"
        )

    # 2. the tensor arena
    # one margin, the board's: what the fit check and the generated firmware use
    arena = measure_arena(model_bytes, margin=float(ctx.cfg.board.get("arena_margin", 0.1)))

    # 3. LiteRT (reference kernels) vs TFLM, bit for bit, on real test inputs
    X_test = ctx.X["test"]
    compare_split = next((n for n in ("test", "val", "train") if len(ctx.X.get(n, ())) > 0), None)
    if compare_split is None:
        raise DeployError("no inputs to verify the int8 model on: the test, val and train splits are empty")
    X_cmp = ctx.X[compare_split]
    idx = _subset(ctx, len(X_cmp), int(oc.verify_samples), "verify-compare")
    Xv = X_cmp[idx]
    timing: dict[str, float] = {}
    out_tflm = run_tflm(model_bytes, Xv, arena_size=arena.with_margin_bytes, require_int8=True, timing=timing)
    out_litert = run_litert(model_bytes, Xv, require_int8=True)
    cmp = compare(out_tflm, out_litert)
    divergent: dict[str, int] = {}
    if not cmp["exact"]:
        bad = np.flatnonzero(
            np.abs(out_tflm.astype(np.int64) - out_litert.astype(np.int64)).reshape(len(Xv), -1).max(axis=1) > 0
        )
        found = Counter()
        for i in bad[:_LOCATE_MAX]:
            where = locate_divergence(model_bytes, Xv[i], arena_size=arena.with_margin_bytes)
            found[where["op"] if where else "none (outputs only)"] += 1
        divergent = dict(found)
        log.warning(
            "LiteRT and TFLM int8 outputs differ on %d of %d test inputs (max %s int8 steps); "
            "first differing operator: %s",
            cmp["n_mismatched"], cmp["n"], cmp["max_abs_diff"], divergent,
        )
    else:
        log.info("LiteRT and TFLM int8 outputs are identical on %d test inputs", cmp["n"])

    # 4. the app's metrics from TFLM outputs (and the other variants, same subset)
    eval_idx = _subset(ctx, len(X_test), oc.get("max_eval_samples"), "verify-eval")
    X_eval = X_test[eval_idx]
    split_eval = ctx.data.test if len(eval_idx) == len(X_test) else ctx.data.test.subset(eval_idx)
    ctx.state.variant_rows = {}
    float_same = evaluate_variant("keras", ctx.model, X_eval, split_eval, app, ctx) if ctx.model is not None else None
    for v, blob in ctx.state.tflite.items():
        if v != "int8":
            evaluate_variant(v, blob, X_eval, split_eval, app, ctx)
    records: list[tuple[np.ndarray, np.ndarray]] = []  # (int8 inputs, TFLM outputs) the metrics saw
    predict = tflm_predictor(model_bytes, arena.with_margin_bytes, record=records)
    result = evaluate_variant("int8", model_bytes, X_eval, split_eval, app, ctx, predict=predict)
    if app.headline not in result:
        raise DeployError(f"app={app.name} evaluate() returned no '{app.headline}' (its headline metric)")
    result.update(app.extra_evaluation(predict, ctx, "int8") or {})
    ctx.metrics["int8"] = result

    tflm: dict[str, Any] = {
        "arena_bytes": arena.with_margin_bytes,
        "arena_min_bytes": arena.min_bytes,
        "arena_margin": arena.margin,
        "arena_recorded_bytes": arena.recorded_bytes,
        "arena_probes": len(arena.probe_log),
        "ops": ops,
        "op_counts": counts,
        "resolver_methods": methods,
        "matches_litert": bool(cmp["exact"]),
        "max_abs_diff": cmp["max_abs_diff"],
        "n_compared": cmp["n"],
        "compare_split": compare_split,
        "n_mismatched": cmp["n_mismatched"],
        "first_divergent_ops": divergent,
        "litert_kernels": "BUILTIN_REF",
        "host_us_per_inference": round(timing.get("us_per_inference", float("nan")), 2),
        "eval_samples": len(eval_idx),
    }
    if len(eval_idx) < len(X_test) and float_same is not None:
        tflm["float_on_eval_subset"] = {app.headline: float_same.get(app.headline)}
    ctx.metrics["tflm"] = tflm

    # 5. the model compiled to C (common/deploy/engine), bit for bit against TFLM on the same inputs
    ctx.metrics["engine"] = _verify_engine(ctx, model_bytes, records, arena.min_bytes)

    ctx.state.arena = arena
    ctx.state.arena_bytes = arena.with_margin_bytes
    ctx.state.ops = ops
    ctx.state.input_quant = info_in.as_dict()
    ctx.state.output_quant = info_out.as_dict()
    rows = ctx.state.variant_rows
    return {
        "variants": {
            name: {"bytes": r.get("bytes"), app.headline: r.get(app.headline), "runtime": r.get("runtime")}
            for name, r in rows.items()
        }
    }


def _verify_engine(ctx: RunContext, model_bytes: bytes, records: list, tflm_arena: int) -> dict[str, Any]:
    """The ``engine`` block of metrics.json: the compiled model run on TFLM's inputs.

    Keeps the compiled model in ``ctx.state.engine`` for the deploy stage. A model
    the engine cannot compile (or no host C compiler) is an error only when the board's
    runtime is ``engine``; otherwise the block says why it was skipped.
    """
    from tinyml_suite.common.deploy.engine.check import verify_against_tflm

    runtime = str(ctx.cfg.board.get("runtime", "tflm")) if "board" in ctx.cfg else "tflm"
    try:
        block, cm = verify_against_tflm(model_bytes, records, tflm_arena_bytes=tflm_arena)
    except DeployError as exc:
        if runtime == "engine":
            raise
        log.warning("Compiled model (engine) not verified: %s", exc)
        return {"matches_tflm": None, "skipped": str(exc)}
    ctx.state.engine = cm
    ctx.state.engine_figures = block
    if block["matches_tflm"]:
        log.info(
            "Compiled model: identical to TFLM on %d inputs; code %d B (%s), weights %d B, scratch %d B "
            "(TFLM arena %d B)",
            block["n_compared"], block["code_bytes"], block["code_target"], block["weights_bytes"],
            block["scratch_bytes"], tflm_arena,
        )
    else:
        log.warning(
            "Compiled model differs from TFLM on %d of %d inputs (max %d int8 steps): deploy with "
            "board.runtime=tflm and report this model",
            block["n_mismatched"], block["n_compared"], block["max_abs_diff"],
        )
    return block


# -- deploy stage: owned by the firmware engineer --


def stage_deploy(ctx: RunContext) -> dict[str, Any]:
    """Fit check, latency estimate, C generation and the board project for ``cfg.board``.

    Writes ``<run_dir>/firmware/<board>/`` (atomically; nothing when the model does not
    fit: :class:`~tinyml_suite.common.errors.FitError`, one line with every budget item).
    Fills ``ctx.metrics["fit"]`` (flash/RAM bytes, budgets, ``fits``, the budget lines),
    ``["latency"]`` (``estimate_ms``, ``dsp_ms``, ``model_ms``, ``basis``) and
    ``["firmware"]`` (``path``, ``files``, ...). See common/firmware_stage.py::deploy.
    """
    from tinyml_suite.common.firmware_stage import deploy

    deploy(ctx)
    return {}


def stage_device(ctx: RunContext) -> dict[str, Any]:
    """Build the firmware and run it on the board's emulator; compare it with Python, measure it.

    Only for boards with an ``emulator`` (``mps2_an386``: QEMU); a no-op elsewhere. Needs
    the deploy stage's project. Fills ``ctx.metrics["device"]``
    (:func:`~tinyml_suite.common.deploy.device.device_check`: ``emulated``,
    ``outputs_match``, ``n_compared``, ``flash_bytes``, ``ram_bytes``, ``stack_bytes``,
    ``instructions_per_inference``, ``instructions_per_feature_frame``,
    ``instructions_per_mac``, ...) and replaces the fit check's estimates with the
    measured figures (``ctx.metrics["fit"]``, the estimate kept beside them). A firmware
    whose outputs differ from Python's raises :class:`DeployError` after writing them.
    """
    from tinyml_suite.common.deploy.boards import load_board, measured_fit
    from tinyml_suite.common.deploy.device import device_check
    from tinyml_suite.common.firmware_stage import spec_from_context

    board = load_board(ctx.cfg.board)
    if not board.emulator:
        log.debug("device stage: board %s has no emulator", board.name)
        return {}
    project = (ctx.metrics.get("firmware") or {}).get("path")
    if not project:
        raise DeployError("the device stage runs the deploy stage's project: stages=[...,deploy,device]")
    spec = ctx.state.firmware_spec or spec_from_context(ctx)
    arena = int(ctx.state.firmware_arena_bytes or ctx.state.arena_bytes or 0)
    app = ctx.app
    result = device_check(project, spec, board, arena_bytes=arena,
                          expected_events=lambda feats, outs, stream: app.device_events(ctx, feats, outs, stream))
    ctx.metrics["device"] = result
    if ctx.metrics.get("fit"):
        fit = ctx.metrics["fit"]
        split = [line for line in fit.get("flash_lines", []) if line[0] in ("model", "engine code") and line[1]]
        ctx.metrics["fit"] = measured_fit(fit, result, board, split_flash=split)
    if result["outputs_match"] is False:
        from tinyml_suite.common.io import write_json

        write_json(ctx.run_dir / "metrics.json", ctx.metrics)
        raise DeployError(
            f"the firmware on {board.name} (QEMU) differs from Python: {_device_difference(result)}; "
            f"details in {ctx.run_dir / 'metrics.json'} (device)"
        )
    return {}


def _device_difference(r: dict[str, Any]) -> str:
    if r["n_compared"] == 0:
        return "the device ran no inference"
    if r.get("n_device_inferences") != r.get("n_python_windows"):
        return f"{r.get('n_device_inferences')} inferences on the device, {r.get('n_python_windows')} windows in Python"
    if not r.get("features_match", True):
        return f"features differ by {r.get('features_max_rel_diff')} of the largest feature (tolerance 1e-3)"
    if not r.get("inputs_match", True):
        return f"int8 model inputs differ by {r.get('input_max_lsb_diff')} LSB (tolerance 1)"
    if not r.get("model_matches_tflm", True):
        return f"the model's int8 outputs differ from TFLite Micro's on {r.get('n_model_mismatched')} input(s)"
    ev = r.get("events") or {}
    return f"events differ: {ev.get('first_difference')}"
