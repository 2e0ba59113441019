"""Report figures of the gesture app (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["confusion", "per_class_f1", "stream_timeline"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion(conf: np.ndarray, labels: list[str], path: Path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix with the counts written in each cell."""
    plt = _plt()
    conf = np.asarray(conf, dtype=float)
    rows = conf.sum(axis=1, keepdims=True)
    norm = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    k = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.55 * k))
    im = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if conf[i, j]:
                ax.text(j, i, f"{int(conf[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def per_class_f1(per_class: dict[str, dict[str, Any]], labels: list[str], path: Path) -> Path:
    """F1 per class for each variant (float, int8)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(labels) + 1), 3.0))
    width = 0.8 / max(len(per_class), 1)
    for i, (variant, pc) in enumerate(per_class.items()):
        vals = [pc.get(lab, {}).get("f1", 0.0) for lab in labels]
        ax.bar(np.arange(len(labels)) + i * width, vals, width, label=variant)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def stream_timeline(st: dict[str, Any], labels: list[str], mask: list[int], path: Path, *, title: str = "") -> Path:
    """One test stream: signal, ground-truth spans, posteriors and detections."""
    plt = _plt()
    x, fs = st["x"], st["fs"]
    t = np.arange(x.shape[1]) / fs
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 5), sharex=True)
    a1.plot(t, np.linalg.norm(x[:3], axis=0), lw=0.7, color="k", label="|accel| (g)")
    if x.shape[0] >= 6:
        a1.plot(t, np.linalg.norm(x[3:6], axis=0) / 4.0, lw=0.7, color="tab:purple", label="|gyro| / 4 (rad/s)")
    for s, e, lab in st["events"]:
        a1.axvspan(s, e, color="tab:green", alpha=0.2)
        a1.text(s, 0.02, lab, fontsize=7, va="bottom", transform=a1.get_xaxis_transform())
    for s, e, _ in st["distractors"]:
        a1.axvspan(s, e, color="tab:red", alpha=0.12)
    a1.set_ylabel("signal")
    a1.legend(loc="upper right", fontsize=7)
    a1.set_title(f"{title}: stream of {st['group']} (green: gestures, red: negative movements)")
    for j, lab in enumerate(labels):
        if mask[j]:
            a2.plot(st["ends"], st["posteriors"][:, j], lw=0.9, label=lab)
    a2.axhline(st["threshold"], color="grey", ls="--", lw=0.8)
    for tt, c in st["detections"]:
        a2.axvline(tt, color="k", lw=0.8)
        a2.text(tt, 1.02, labels[c], fontsize=7, rotation=90, va="bottom")
    a2.set_ylim(0, 1.15)
    a2.set_xlabel("time (s)")
    a2.set_ylabel("posterior (window end)")
    a2.legend(loc="upper right", fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
