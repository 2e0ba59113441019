"""The run report: ``report.md`` and a self-contained ``report.html`` in the run directory.

Both carry the config summary, dataset statistics, training curves, the float-vs-int8
table, the app's plots (confusion matrix, ROC, DET, HR trace, ...), the memory budget
against the board, the latency estimate and where the firmware project is. The HTML
embeds every picture (base64 PNG), so it can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinyml_suite.common.io import write_text

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.context import RunContext

__all__ = ["device_rows", "write_report", "plot_history", "plot_memory", "float_int8_rows", "summary_block"]

log = logging.getLogger("tinyml")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict[str, list[float]], path: Path) -> Path | None:
    """Training curves (loss and each metric), train vs validation."""
    if not history:
        return None
    plt = _plt()
    keys = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _budget_lines(fit: dict[str, Any], kind: str) -> list[tuple[str, float]]:
    """(label, bytes) parts of the flash or RAM budget from metrics['fit']."""
    parts = fit.get(f"{kind}_lines")
    if parts is None and isinstance(fit.get("lines"), dict):
        parts = fit["lines"].get(kind)
    out: list[tuple[str, float]] = []
    if isinstance(parts, dict):
        out = [(str(k), float(v)) for k, v in parts.items() if isinstance(v, (int, float))]
    elif isinstance(parts, list):
        for item in parts:
            if isinstance(item, dict) and "bytes" in item:
                out.append((str(item.get("name", item.get("label", "?"))), float(item["bytes"])))
            elif isinstance(item, (list, tuple)) and len(item) >= 2:
                out.append((str(item[0]), float(item[1])))
    if not out and isinstance(fit.get(f"{kind}_bytes"), (int, float)):
        out = [(f"{kind} total", float(fit[f"{kind}_bytes"]))]
    return out


def plot_memory(fit: dict[str, Any], board: str, path: Path) -> Path | None:
    """Flash and RAM, each a stacked bar of its parts against the board's limit."""
    if not fit:
        return None
    rows = [(kind, _budget_lines(fit, kind), fit.get(f"{kind}_budget")) for kind in ("flash", "ram")]
    rows = [r for r in rows if r[1]]
    if not rows:
        return None
    plt = _plt()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.9 * len(rows) + 0.6), squeeze=False)
    for ax, (kind, parts, budget) in zip(axes[:, 0], rows):
        left = 0.0
        for i, (label, size) in enumerate(parts):
            kb = size / 1024
            ax.barh(0, kb, left=left, color=colors[i % len(colors)], edgecolor="white",
                    label=f"{label} {kb:,.1f} KB")
            left += kb
        limit = float(budget) / 1024 if isinstance(budget, (int, float)) and budget > 0 else None
        used = left
        # a limit far beyond the use (the host: 64 MB) would squash the bars to nothing
        show_limit = bool(limit) and limit <= 20 * max(used, 1e-9)
        if show_limit:
            ax.axvline(limit, color="red", lw=2)
            ax.text(limit, 0.42, f" {board} limit {limit:,.0f} KB", color="red", fontsize=8, va="bottom", ha="right")
        share = f" ({100 * used / limit:.1f}% of {limit:,.0f} KB)" if limit else ""
        ax.set_title(f"{'Flash' if kind == 'flash' else 'RAM'}: {used:,.1f} KB used{share}", fontsize=9, loc="left")
        ax.set_xlim(0, max(used, limit if show_limit else 0) * 1.08)
        ax.set_yticks([])
        ax.set_xlabel("KB")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    verdict = "fits" if fit.get("fits") else "DOES NOT FIT"
    fig.suptitle(f"Memory budget on {board}: {verdict}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


def float_int8_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Scalar metrics present for float and/or int8, headline first."""
    head = m.get("headline", "")
    keys: list[str] = []
    for variant in ("float", "int8"):
        for k, v in m.get(variant, {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in keys:
                keys.append(k)
    keys.sort(key=lambda k: (k != head, k))
    return [(k, _fmt(m.get("float", {}).get(k, "-")), _fmt(m.get("int8", {}).get(k, "-"))) for k in keys]


def device_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured on the emulated board, the estimate it replaces) from metrics['device'].

    >>> rows = device_rows({"device": {"flash_bytes": 30000, "ram_bytes": 2000, "stack_bytes": 500, "heap_bytes": 0,
    ...     "instructions_per_inference": 2500000, "n_compared": 6, "outputs_match": True},
    ...     "fit": {"measured": True, "flash_bytes": 30000, "ram_bytes": 2500,
    ...             "estimate": {"flash_bytes": 33000, "ram_bytes": 3000}},
    ...     "latency": {"model_ms": 110.0}, "board_clock_mhz": 25})
    >>> rows[0], rows[-1]
    (('outputs == Python (6 inferences)', 'yes', '-'), ('model time at 25 MHz', '100 ms (instructions as cycles)', '110 ms'))
    """
    d = m.get("device") or {}
    if not d:
        return []
    fit = m.get("fit") or {}
    est = fit.get("estimate") or {}
    lat = m.get("latency") or {}
    rows = [
        (f"outputs == Python ({d.get('n_compared', 0)} inferences)", _fmt(bool(d.get("outputs_match"))), "-"),
        ("flash (bytes)", _fmt(fit.get("flash_bytes", d.get("flash_bytes"))), _fmt(est.get("flash_bytes", "-"))),
        ("RAM: static + stack + heap (bytes)", _fmt(fit.get("ram_bytes", d.get("ram_bytes"))), _fmt(est.get("ram_bytes", "-"))),
        ("stack high-water (bytes)", _fmt(d.get("stack_bytes")), "-"),
    ]
    for key, label in (("instructions_per_inference", "instructions per inference"),
                       ("instructions_per_mac", "instructions per MAC"),
                       ("instructions_per_feature_frame", "instructions per front-end call")):
        if d.get(key) is not None:
            rows.append((label, _fmt(d[key]), "-"))
    clock = m.get("board_clock_mhz")
    if d.get("instructions_per_inference") and clock:
        ms = d["instructions_per_inference"] / (float(clock) * 1e3)
        est_ms = lat.get("model_ms")
        rows.append((f"model time at {clock:g} MHz", f"{ms:.3g} ms (instructions as cycles)",
                     "-" if est_ms is None else f"{est_ms:.3g} ms"))
    return rows


def _kb(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "-"
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 ** 2:.1f} MB"


def summary_block(m: dict[str, Any], run_dir: str | Path) -> str:
    """The few lines the console ends a run with: headline float/int8, size, arena, fit, folder.

    Examples
    --------
    >>> print(summary_block({"app": "gesture", "board": "pico", "headline": "accuracy",
    ...     "float": {"accuracy": 0.91}, "int8": {"accuracy": 0.9},
    ...     "model": {"params": 5112, "tflite_bytes": 14696}, "tflm": {"arena_bytes": 6192},
    ...     "fit": {"fits": True, "flash_bytes": 153960, "flash_budget": 2097152,
    ...             "ram_bytes": 83448, "ram_budget": 270336}}, "outputs/gesture/run"))
    ---- gesture on pico ----
    accuracy   float 0.91, int8 0.9 (TFLite Micro)
    model      5,112 parameters, int8 .tflite 14.4 KB
    arena      6.0 KB (measured on TFLite Micro, with margin)
    fit        fits pico: flash 150.4 KB of 2.0 MB, RAM 81.5 KB of 264.0 KB
    run folder outputs/gesture/run (metrics.json)
    """
    head = str(m.get("headline", ""))
    f, q = m.get("float", {}).get(head), m.get("int8", {}).get(head)
    model, tflm, fit = m.get("model", {}), m.get("tflm", {}), m.get("fit", {})
    lines = [f"---- {m.get('app', '?')} on {m.get('board', '?')} ----"]
    scores = [f"float {_fmt(f)}"] if f is not None else []
    if q is not None:
        scores.append(f"int8 {_fmt(q)} (TFLite Micro)")
    lines.append(f"{head:<10} {', '.join(scores) or 'not evaluated'}")
    if model:
        size = f", int8 .tflite {_kb(model['tflite_bytes'])}" if model.get("tflite_bytes") else ""
        params = model.get("params")
        lines.append(f"{'model':<10} {f'{params:,}' if isinstance(params, int) else '?'} parameters{size}")
    if tflm.get("arena_bytes"):
        lines.append(f"{'arena':<10} {_kb(tflm['arena_bytes'])} (measured on TFLite Micro, with margin)")
    if fit.get("fits") is not None:
        verdict = "fits" if fit["fits"] else "DOES NOT FIT"
        lines.append(f"{'fit':<10} {verdict} {m.get('board')}: flash {_kb(fit.get('flash_bytes'))} of "
                     f"{_kb(fit.get('flash_budget'))}, RAM {_kb(fit.get('ram_bytes'))} of {_kb(fit.get('ram_budget'))}")
    files = [n for n in ("report.html", "metrics.json") if (Path(run_dir) / n).exists()] or ["metrics.json"]
    lines.append(f"{'run folder':<10} {run_dir} ({', '.join(files)})")
    return "\n".join(lines)


def _config_summary(ctx: RunContext) -> list[tuple[str, str]]:
    from omegaconf import OmegaConf

    cfg = ctx.cfg
    rows = [("app", str(cfg.app.name)), ("dataset", str(cfg.dataset.get("name", "?")))]
    root = cfg.dataset.get("root", None) if "root" in cfg.dataset else None
    if root not in (None, "???"):
        rows.append(("dataset.root", str(root)))
    if ctx.features is not None:
        d = ctx.features.describe()
        params = ", ".join(f"{k}={v}" for k, v in d.get("params", {}).items())
        rows.append(("features", f"{d.get('kind')} ({params})"))
    model_kw = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if k != "_target_"}
    rows.append(("model", f"{ctx.metrics.get('model', {}).get('name', '?')} ({', '.join(f'{k}={v}' for k, v in model_kw.items())})"))
    t = cfg.trainer
    rows.append(("trainer", f"epochs={t.epochs}, batch={t.batch_size}, lr={t.learning_rate} ({t.lr_schedule})"))
    rows.append(("optimize", f"variants={list(cfg.optimize.variants)}, calibration samples={cfg.optimize.representative_samples}"))
    b = cfg.board
    rows.append(("board", f"{b.display_name}: {b.mcu}, {b.core} @ {b.clock_mhz:g} MHz, {b.flash_kb} KB flash, {b.ram_kb} KB RAM, runtime {b.runtime}"))
    rows.append(("seed", str(ctx.seed)))
    return rows


def _dataset_rows(stats: dict[str, Any]) -> list[list[str]]:
    rows = []
    for split in ("train", "val", "test"):
        s = stats.get(split, {})
        if not s:
            continue
        extra = ""
        if "per_class" in s:
            extra = ", ".join(f"{k}: {v}" for k, v in s["per_class"].items())
        elif "target_mean" in s:
            extra = f"target mean {s['target_mean']:.3g}, std {s['target_std']:.3g}"
        rows.append([split, str(s.get("n", "")), str(s.get("groups", "-")), extra])
    return rows


def _img_html(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(path.stem.replace("_", " "))}</figcaption></figure>'


def _table_html(header: list[str], rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_md(header: list[str], rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in rows]
    return out + [""]


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.92em}
th{background:#f3f3f3}figure{display:inline-block;margin:.5em 1em .5em 0;max-width:100%}
img{max-width:100%;border:1px solid #eee}figcaption{font-size:.8em;color:#666}
.ok{color:#17803d;font-weight:600}.bad{color:#b3261e;font-weight:600}code{background:#f5f5f5;padding:0 .2em}
"""


def write_report(ctx: RunContext) -> dict[str, Any]:
    """Write report.md and report.html (plus the PNGs they show) into the run directory."""
    out = ctx.run_dir
    m = ctx.metrics
    pngs: dict[str, Path] = {}
    p = plot_history(ctx.history, out / "training_curves.png")
    if p:
        pngs["training"] = p
    try:
        for path in ctx.app.plots(ctx, out) or []:
            pngs[Path(path).stem] = Path(path)
    except Exception as exc:  # a broken plot must not lose the run's results
        log.warning("app plots failed: %s", exc)
    mem = plot_memory(m.get("fit", {}), str(m.get("board")), out / "memory_budget.png")
    if mem:
        pngs["memory"] = mem

    head = m.get("headline", ctx.app.headline)
    summary = _config_summary(ctx)
    ds_rows = _dataset_rows(m.get("data", {}))
    fi_rows = float_int8_rows(m)
    model = m.get("model", {})
    tflm = m.get("tflm", {})
    fit = m.get("fit", {})
    latency = m.get("latency", {})
    firmware = m.get("firmware", {})
    timing = m.get("timing", {})

    def kv(d: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, _fmt(v)) for k, v in d.items() if not isinstance(v, (dict, list))]

    md: list[str] = [
        f"# {m['app']} on {m['board']}",
        "",
        f"Dataset `{m['dataset']}`, seed {m['seed']}, config hash `{m['config_hash']}`. "
        f"Run directory `{out}`.",
        "",
        "## Headline",
        "",
    ]
    md += _table_md(["metric", "float (Keras)", "int8 (TFLite Micro)"], fi_rows[:1] or [(head, "-", "-")])
    md += ["## Configuration", ""] + _table_md(["", "value"], summary)
    if ds_rows:
        md += ["## Dataset", ""] + _table_md(["split", "windows", "groups", "composition"], ds_rows)
    if fi_rows:
        md += ["## Float vs int8", ""] + _table_md(["metric", "float", "int8"], fi_rows)
    if model:
        md += ["## Model", ""] + _table_md(["", "value"], kv(model))
    if tflm:
        md += ["## TFLite Micro", ""] + _table_md(["", "value"], kv(tflm))
        if tflm.get("ops"):
            md += [f"Ops: {', '.join(tflm['ops'])}", ""]
    if fit:
        md += ["## Memory budget", ""] + _table_md(["", "value"], kv(fit))
    if latency:
        md += ["## Latency (estimate)", ""] + _table_md(["", "value"], kv(latency))
    dev_rows = device_rows({**m, "board_clock_mhz": ctx.cfg.board.get("clock_mhz") if "board" in ctx.cfg else None})
    if dev_rows:
        md += [f"## On the device (emulated {m['board']}, measured)", "",
               (m.get("device") or {}).get("instructions_note", ""), ""]
        md += _table_md(["", "measured", "estimate"], dev_rows)
    if firmware:
        md += ["## Firmware", "", f"Project: `{firmware.get('path')}`", ""]
    md += ["## Stages", ""] + _table_md(["stage", "status", "seconds"], [
        (k, v, _fmt(timing.get(k, "-"))) for k, v in m.get("stages", {}).items()])
    md += [f"![{name}]({p.name})" for name, p in pngs.items()]
    write_text(out / "report.md", "\n".join(md) + "\n")

    fits = fit.get("fits")
    verdict = "" if fits is None else (
        f'<span class="ok">fits {html.escape(str(m["board"]))}</span>' if fits
        else f'<span class="bad">does not fit {html.escape(str(m["board"]))}</span>')
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(str(m['app']))} on {html.escape(str(m['board']))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(str(m['app']))} on {html.escape(str(m['board']))} {verdict}</h1>",
        f"<p>Dataset <code>{html.escape(str(m['dataset']))}</code>, seed {m['seed']}, config hash "
        f"<code>{m['config_hash']}</code>. Run directory <code>{html.escape(str(out))}</code>.</p>",
        "<h2>Headline</h2>",
        _table_html(["metric", "float (Keras)", "int8 (TFLite Micro)"], fi_rows[:1] or [(head, "-", "-")]),
        "<h2>Configuration</h2>", _table_html(["", "value"], summary),
    ]
    if ds_rows:
        parts += ["<h2>Dataset</h2>", _table_html(["split", "windows", "groups", "composition"], ds_rows)]
    if "training" in pngs:
        parts += ["<h2>Training</h2>", _img_html(pngs["training"])]
    if fi_rows:
        parts += ["<h2>Float vs int8</h2>", _table_html(["metric", "float", "int8"], fi_rows)]
    app_pngs = [p for k, p in pngs.items() if k not in ("training", "memory")]
    if app_pngs:
        parts += ["<h2>Evaluation</h2>"] + [_img_html(p) for p in app_pngs]
    if model or tflm:
        parts += ["<h2>Model and TFLite Micro</h2>", _table_html(["", "value"], kv(model) + kv(tflm))]
        if tflm.get("ops"):
            parts.append(f"<p>Ops: {html.escape(', '.join(tflm['ops']))}</p>")
    if fit or "memory" in pngs:
        parts += ["<h2>Memory budget</h2>"]
        if "memory" in pngs:
            parts.append(_img_html(pngs["memory"]))
        parts.append(_table_html(["", "value"], kv(fit)))
    if latency:
        parts += ["<h2>Latency (estimate)</h2>", _table_html(["", "value"], kv(latency))]
    if dev_rows:
        parts += [f"<h2>On the device (emulated {html.escape(str(m['board']))}, measured)</h2>",
                  f"<p>{html.escape((m.get('device') or {}).get('instructions_note', ''))}</p>",
                  _table_html(["", "measured", "estimate"], dev_rows)]
    if firmware:
        files = firmware.get("files", [])
        parts += ["<h2>Firmware</h2>", f"<p>Project: <code>{html.escape(str(firmware.get('path')))}</code></p>"]
        if files:
            parts.append("<ul>" + "".join(f"<li><code>{html.escape(str(f))}</code></li>" for f in files[:60]) + "</ul>")
    parts += ["<h2>Stages</h2>", _table_html(["stage", "status", "seconds"], [
        (k, v, _fmt(timing.get(k, "-"))) for k, v in m.get("stages", {}).items()])]
    parts.append("</body></html>")
    write_text(out / "report.html", "\n".join(parts) + "\n")
    return {"files": ["report.md", "report.html", *[p.name for p in pngs.values()]]}
