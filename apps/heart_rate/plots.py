"""Report figures of the heart_rate app: Bland-Altman, HR trace, ECG beats (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bland_altman_plot", "trace_plot", "ecg_plot"]

_NAMES = {"float": "CNN (float)", "int8": "CNN (int8, TFLM)", "dsp": "DSP baseline"}
_COLORS = {"float": "tab:blue", "int8": "tab:orange", "dsp": "tab:green"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bland_altman_plot(series: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """One Bland-Altman panel per estimator: difference vs mean, bias and 95 % limits."""
    from tinyml_suite.apps.heart_rate.metrics import bland_altman

    plt = _plt()
    keys = [k for k in ("float", "int8", "dsp") if k in series]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.8), squeeze=False, sharey=True)
    for ax, k in zip(axes[0], keys):
        est = np.asarray(series[k]["tracked"], np.float64)
        ref = np.asarray(series[k]["split"].y, np.float64)
        ba = bland_altman(est, ref)
        ax.scatter((est + ref) / 2, est - ref, s=5, alpha=0.4, color=_COLORS[k])
        for v, style in ((ba["bias_bpm"], "-"), (ba["loa_low_bpm"], "--"), (ba["loa_high_bpm"], "--")):
            ax.axhline(v, color="k", ls=style, lw=1)
        ax.set_title(f"{_NAMES[k]}\nbias {ba['bias_bpm']:+.2f}, LoA [{ba['loa_low_bpm']:.1f}, {ba['loa_high_bpm']:.1f}] BPM", fontsize=9)
        ax.set_xlabel("mean of estimate and reference (BPM)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("estimate - reference (BPM)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trace_plot(series: dict[str, dict[str, Any]], path: Path, subject: Any = None) -> Path | None:
    """Reference and estimated HR over time for one test subject."""
    plt = _plt()
    first = next(iter(series.values()))
    groups = np.asarray(first["split"].groups).astype(str)
    if groups.size == 0:
        return None
    subj = str(subject) if subject is not None and str(subject) in set(groups) else groups[0]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ref_drawn = False
    for k in ("dsp", "float", "int8"):
        if k not in series:
            continue
        split = series[k]["split"]
        g = np.asarray(split.groups).astype(str)
        m = g == subj
        if not m.any():
            continue
        order = np.lexsort((split.meta["t_s"][m], split.meta["rec"][m]))
        t = np.asarray(split.meta["t_s"])[m][order]
        if not ref_drawn:
            ax.plot(t, np.asarray(split.y)[m][order], color="k", lw=2, label="reference")
            ref_drawn = True
        ax.plot(t, np.asarray(series[k]["tracked"])[m][order], color=_COLORS[k], lw=1, label=_NAMES[k])
    ax.set_xlabel("window start (s)")
    ax.set_ylabel("heart rate (BPM)")
    ax.set_title(f"test subject {subj}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ecg_plot(state: dict[str, Any], path: Path, seconds: float = 10.0) -> Path | None:
    """The first seconds of the first record: ECG, reference and detected beats."""
    plt = _plt()
    if not state["refs"]:
        return None
    fs = float(state["fs"])
    n = int(seconds * fs)
    x = np.asarray(state["hp"][:n])
    ref = np.asarray(state["refs"][0][0])
    det = np.asarray(state["dets"][0])
    ref, det = ref[ref < n], det[det < n]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    t = np.arange(len(x)) / fs
    ax.plot(t, x, lw=0.8, color="k")
    ax.plot(ref / fs, x[ref], "o", mfc="none", color="tab:green", label="annotated beats")
    ax.plot(det / fs, x[det], "x", color="tab:red", label="detected R peaks")
    ax.set_xlabel("time (s)")
    ax.set_title(f"record {state['names'][0]}: high-passed ECG")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
