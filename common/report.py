"""The run report: report.md (and, later, report.html) with plots, in the run directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinyml_suite.common.io import write_text

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.pipeline import RunContext

__all__ = ["write_report", "plot_history"]

log = logging.getLogger("tinyml")


def plot_history(history: dict[str, list[float]], path: Path) -> Path | None:
    """Training curves (loss and the first metric), train vs validation."""
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_report(ctx: RunContext) -> dict[str, Any]:
    """Write report.md with the headline table and the app's plots."""
    out = ctx.run_dir
    pngs: list[Path] = []
    p = plot_history(ctx.history, out / "training_curves.png")
    if p:
        pngs.append(p)
    try:
        pngs += list(ctx.app.plots(ctx, out) or [])
    except Exception as exc:  # a broken plot must not lose the run's results
        log.warning("app plots failed: %s", exc)
    m = ctx.metrics
    head = ctx.app.headline
    lines = [
        f"# {m['app']} on {m['board']}",
        "",
        f"Dataset `{m['dataset']}`, seed {m['seed']}, config hash `{m['config_hash']}`.",
        "",
        "| | float | int8 (TFLM) |",
        "|---|---|---|",
        f"| {head} | {_fmt(m['float'].get(head, '-'))} | {_fmt(m['int8'].get(head, '-'))} |",
        "",
    ]
    model = m.get("model", {})
    if model:
        lines += ["## Model", ""] + [f"- {k}: {_fmt(v)}" for k, v in model.items()] + [""]
    for section in ("tflm", "fit"):
        if m.get(section):
            lines += [f"## {section}", ""] + [
                f"- {k}: {_fmt(v)}" for k, v in m[section].items() if not isinstance(v, dict)
            ] + [""]
    lines += ["## Stages", ""] + [f"- {k}: {v}" for k, v in m["stages"].items()] + [""]
    lines += [f"![{p.stem}]({p.name})" for p in pngs]
    write_text(out / "report.md", "\n".join(lines) + "\n")
    return {"files": ["report.md", *[p.name for p in pngs]]}
