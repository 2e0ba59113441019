"""``tinyml collect``: one table and a Pareto plot from a sweep's runs.

    tinyml -m app=gesture model=cnn1d,dense_spectral board=pico,esp32s3
    tinyml collect multirun/<date>_<time> [out=<dir>]

Every finished run directory under the sweep folder that holds a ``metrics.json``
becomes one row (runs that failed, were interrupted or are still running, and damaged
``metrics.json`` files, are skipped and named in one line on stderr): model, board, parameters, MACs, int8 flash, measured arena, RAM and flash budget
use, whether it fits the board, the latency estimate and the float/int8 headline
metric. The Pareto plot puts the headline metric against flash, arena and latency,
marks each board, and draws runs that do not fit their board hollow.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.common.io import write_text

__all__ = ["main", "collect", "pareto_front", "COLUMNS"]

log = logging.getLogger("tinyml")

COLUMNS = (
    "run", "app", "model", "board", "swept", "dataset", "params", "macs", "tflite_bytes", "arena_bytes",
    "flash_bytes", "ram_bytes", "fits", "latency_ms", "headline", "float", "int8",
)


def _unusable(path: Path) -> str | None:
    """Why a run's metrics.json cannot be collected (None when it can)."""
    from tinyml_suite.common.run_folder import IncompleteRunError, check_run

    try:
        check_run(path.parent, purpose="tinyml collect", need=("metrics.json",))
    except IncompleteRunError as exc:
        return exc.reason or str(exc)
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return f"metrics.json is unreadable: {exc}"
    if not isinstance(m, dict):
        return "metrics.json is not an object"
    return None


def _row(path: Path, root: Path) -> dict[str, Any]:
    m = json.loads(path.read_text())
    head = m.get("headline", "accuracy")
    model = m.get("model", {})
    fit = m.get("fit", {})
    latency = m.get("latency", {})
    return {
        "run": str(path.parent.relative_to(root)),
        "app": m.get("app"),
        "model": model.get("name"),
        "board": m.get("board"),
        "dataset": m.get("dataset"),
        "params": model.get("params"),
        "macs": model.get("macs"),
        "tflite_bytes": model.get("tflite_bytes"),
        "arena_bytes": m.get("tflm", {}).get("arena_bytes"),
        "flash_bytes": fit.get("flash_bytes"),
        "ram_bytes": fit.get("ram_bytes"),
        "fits": fit.get("fits"),
        "latency_ms": latency.get("estimate_ms"),
        "headline": head,
        "float": m.get("float", {}).get(head),
        "int8": m.get("int8", {}).get(head),
        "higher_is_better": m.get("higher_is_better", True),
    }


def _overrides(run_dir: Path) -> dict[str, str]:
    """The run's command-line overrides (Hydra's ``.hydra/overrides.yaml``), key -> value."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    items = OmegaConf.to_container(OmegaConf.load(path)) or []
    return dict(str(o).split("=", 1) for o in items if "=" in str(o))


def _swept(rows: list[dict[str, Any]], overrides: list[dict[str, str]]) -> None:
    """Fill each row's ``swept``: the overrides that differ between runs (an Optuna trial's
    learning rate, ...), except model and board, which have their own columns."""
    keys = sorted({k for o in overrides for k in o})
    varying = [k for k in keys if k not in ("model", "board") and len({o.get(k) for o in overrides}) > 1]
    for row, o in zip(rows, overrides):
        row["swept"] = " ".join(f"{k}={o[k]}" for k in varying if k in o)


def pareto_front(points: list[tuple[float, float]], higher_is_better: bool = True) -> list[int]:
    """Indices of points not dominated in (cost lower, score better).

    >>> pareto_front([(10, 0.9), (20, 0.95), (30, 0.94), (5, 0.5)])
    [3, 0, 1]
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1] if higher_is_better else points[i][1]))
    front: list[int] = []
    best = None
    for i in order:
        score = points[i][1]
        if best is None or (score > best if higher_is_better else score < best):
            front.append(i)
            best = score
    return front


def _markdown(rows: list[dict[str, Any]]) -> str:
    cols = [c for c in COLUMNS if c not in ("dataset", "headline") and (c != "swept" or any(r.get(c) for r in rows))]
    head = rows[0]["headline"] if rows else "metric"
    titles = [c if c not in ("float", "int8") else f"{c} {head}" for c in cols]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, float):
                v = f"{v:.4g}"
            elif isinstance(v, bool):
                v = "yes" if v else "NO"
            cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    usable = [r for r in rows if r.get("int8") is not None or r.get("float") is not None]
    if not usable:
        return None
    head = usable[0]["headline"]
    hib = bool(usable[0].get("higher_is_better", True))
    axes_spec = [("flash_bytes", "flash used (KB)"), ("arena_bytes", "tensor arena (KB)"), ("latency_ms", "latency estimate (ms)")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    boards = sorted({str(r["board"]) for r in usable})
    markers = dict(zip(boards, "osD^v<>phX*"))
    colors = dict(zip(boards, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (key, label) in zip(axes, axes_spec):
        pts = [(r, r.get(key), r["int8"] if r.get("int8") is not None else r["float"]) for r in usable]
        pts = [(r, float(x) / (1024 if key != "latency_ms" else 1), y)
               for r, x, y in pts if x is not None and y is not None]
        for r, x, y in pts:
            fits = r.get("fits")
            b = str(r["board"])
            ax.scatter(x, y, marker=markers[b], s=60,
                       facecolors=colors[b] if fits is not False else "none", edgecolors=colors[b],
                       label=b)
            ax.annotate(" ".join(filter(None, (str(r.get("model")), r.get("swept")))), (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
        for b in boards:  # one Pareto front per board, among the runs that fit it
            mine = [(x, y) for r, x, y in pts if str(r["board"]) == b and r.get("fits") is not False]
            if len(mine) > 1:
                front = pareto_front([(float(x), float(y)) for x, y in mine], hib)
                ax.step([mine[i][0] for i in front], [mine[i][1] for i in front], where="post",
                        color=colors[b], lw=1, alpha=0.6)
        ax.set_xlabel(label)
        ax.set_ylabel(f"{head} (int8)")
        ax.grid(alpha=0.3)
        xs = [x for _, x, _ in pts]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 50:
            ax.set_xscale("log")
    uniq: dict[str, Any] = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        uniq.update(zip(labels, handles))
    if uniq:
        fig.legend(uniq.values(), uniq.keys(), loc="upper center", ncol=len(uniq), title="board (hollow: does not fit)")
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def collect(sweep_dir: Path, out: Path | None = None) -> list[dict[str, Any]]:
    """Gather every run's metrics.json under ``sweep_dir``; write the table and the plot."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep folder {sweep_dir} does not exist; pass the multirun/<date>_<time> folder")
    files = sorted(sweep_dir.rglob("metrics.json"), key=lambda p: str(p))
    files = [f for f in files if "evaluations" not in f.parts]
    if not files:
        raise ConfigError(f"no metrics.json under {sweep_dir}: did the sweep's runs finish?")
    rows, skipped, used = [], [], []
    for f in files:
        reason = _unusable(f)
        if reason:
            skipped.append(f"{f.parent.relative_to(sweep_dir)} ({reason})")
            continue
        rows.append(_row(f, sweep_dir))
        used.append(f)
    if skipped:
        print(f"tinyml: skipped {len(skipped)} incomplete or damaged run(s): {'; '.join(skipped)}", file=sys.stderr)
    if not rows:
        raise DatasetError(f"no finished run under {sweep_dir} to collect; skipped: {'; '.join(skipped)}")
    _swept(rows, [_overrides(f.parent) for f in used])
    out = Path(out) if out else sweep_dir
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "sweep_table.csv", buf.getvalue())
    table = _markdown(rows)
    write_text(out / "sweep_table.md", table)
    _plot(rows, out / "pareto.png")
    print(table, end="")
    print(f"tinyml: wrote {out / 'sweep_table.csv'}, {out / 'sweep_table.md'}, {out / 'pareto.png'}")
    return rows


def main(argv: list[str]) -> int:
    if not argv or "=" in argv[0] or argv[0].startswith("-"):
        raise ConfigError("usage: tinyml collect <sweep_dir> [out=<dir>]")
    out = next((a.split("=", 1)[1] for a in argv[1:] if a.startswith("out=")), None)
    collect(Path(argv[0]), Path(out) if out else None)
    return 0
