"""vibration_anomaly on the public CWRU bearing data: the figures of docs/BENCHMARKS.md.

Runs, in one process, on ``--root`` (the CWRU folder: ``Normal/Normal_0.mat`` at 48 kHz and
the 12 kHz drive-end fault files at loads 0 and 2 HP):

1. **Sample-rate artefact check.** The normal recording is 48 kHz, the faults 12 kHz. A
   "rate detector" - the energy in the top 5 % of the band below Nyquist,
   ``ln E[0.95 fN, fN]``, where the anti-alias filters of the two acquisition chains
   differ - is scored as an anomaly detector (AUC normal vs faults) on the windows as a
   pipeline resampling to 12 kHz would see them (48 -> 12 kHz for the normal, native
   12 kHz for the faults) and as ours sees them (everything resampled to 8 kHz, below
   both source rates, by the same polyphase design). Two shape detectors (the top band's
   share of the window energy, the roll-off slope below Nyquist) are printed too; they
   separate at both rates because the faults are 5x louder and put their energy in the
   2.5-3.8 kHz resonances (physics, not the rate) - hence the next rows.
2. **Anomaly detection, autoencoder trained on CWRU normal data only.** The single normal
   recording is cut in time: first 60 % train, next 20 % validation (threshold at a
   1 % false-alarm rate), last 20 % test; no window straddles a block. Test faults: the
   fault files of the held-out load (``test_loads``), both directions; and once with
   features restricted to 0-3 kHz, far from either Nyquist frequency.
3. **Anomaly detection, autoencoder trained on synthetic normal data only**
   (``experiment=vibration_sim_cwru_rig``: the simulator with the CWRU rig's speeds and no
   gearbox), threshold from simulated normal validation windows, scored on every CWRU
   window (``tinyml evaluate ... split=all``).
4. **Fault classifier, load held out** (``experiment=vibration_fault_classifier``): train on
   load 0, test on load 2, and the reverse.

Each recipe runs with ``board=pico`` (its HAL samples an analog accelerometer on the ADC at
8 kHz) so the fit report gives the model's
flash and the measured TFLM arena for a real MCU. Prints markdown tables. Run from the
repository root (about 3 minutes on 2 free cores):

    nice -n 10 python bench/vibration_cwru.py --root ../shared/data/cwru

Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rate_detector_table(root: str) -> list[str]:
    from tinyml_suite.common.dsp import WelchParams, welch
    from tinyml_suite.common.metrics import roc_auc
    from tinyml_suite.datasets.loaders.cwru import CWRU

    rows = [("| pipeline | normal / fault windows | mean ln E[0, fN] normal vs faults | "
            "mean ln E[0.95 fN, fN] normal vs faults | rate detector AUC: E[0.95 fN, fN] | "
            "(confounded) top-band share AUC | (confounded) roll-off slope AUC |"),
            "|---|---:|---:|---:|---:|---:|---:|"]
    for fs, label in ((12000.0, "resample to 12 kHz (48 -> 12 kHz normal, native 12 kHz faults)"),
                      (8000.0, "ours: resample everything to 8 kHz (48 -> 8, 12 -> 8 kHz)")):
        d = CWRU(root=root, cache=False, folder_rates={"Normal": 48000}, target_rate_hz=fs, window_samples=1024,
                 hop_samples=1024, split="by_file").load()
        x = np.concatenate([d.train.x, d.val.x, d.test.x])[:, 0]
        y = np.concatenate([d.train.y, d.val.y, d.test.y]) > 0
        f, p = welch(x, sample_rate=fs, params=WelchParams(nperseg=256))
        nyq = fs / 2

        def band(lo: float, hi: float, p=p, f=f, nyq=nyq) -> np.ndarray:
            return np.log(p[:, (f >= lo * nyq) & (f <= hi * nyq)].sum(axis=1) + 1e-30)

        top = band(0.95, 1.0)  # energy just below Nyquist: where anti-alias chains differ
        total = band(0.0, 1.0)
        relative = top - total  # share of the window's energy in the top 5 % of the band
        slope = top - band(0.85, 0.95)  # roll-off just below Nyquist
        rows.append(
            f"| {label} | {int((~y).sum())} / {int(y.sum())} | {total[~y].mean():.1f} vs {total[y].mean():.1f} | "
            f"{top[~y].mean():.1f} vs {top[y].mean():.1f} | {roc_auc(y, top):.3f} | "
            f"{roc_auc(y, relative):.3f} | {roc_auc(y, slope):.3f} |")
    return rows


def run(overrides: list[str], run_dir: Path) -> dict:
    """``tinyml <overrides>`` in a child process (Hydra writes .hydra/ for `tinyml evaluate`)."""
    import subprocess
    import sys

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tinyml_suite.common.cli", *overrides, f"hydra.run.dir={run_dir}"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"tinyml {' '.join(overrides)} failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["wall_s"] = time.perf_counter() - t0
    return metrics


def anomaly_row(name: str, m: dict) -> str:
    f, q = m["float"], m["int8"]
    fit = m.get("fit", {})
    return (f"| {name} | {f['n_normal']} / {f['n_anomalous']} | {f['auc']:.4f} | {q['auc']:.4f} | "
            f"{f['pauc_0.1']:.4f} | {f['score_margin']:.2f} / {q['score_margin']:.2f} | "
            f"{q['false_alarm_rate']:.3f} / {q['recall']:.3f} | "
            f"{f['kmeans']['auc']:.4f} | {m['model']['tflite_bytes'] / 1024:.1f} KB | "
            f"{m['tflm']['arena_bytes'] / 1024:.1f} KB | {fit.get('flash_bytes', 0) / 1024:.0f} / "
            f"{fit.get('ram_bytes', 0) / 1024:.0f} KB |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="../shared/data/cwru", help="the CWRU folder")
    ap.add_argument("--out", default="outputs/bench_vibration", help="run directories go here")
    ap.add_argument("--board", default="pico", help="a board whose HAL samples an analog sensor (adc)")
    args = ap.parse_args()
    root = str(Path(args.root).resolve())
    out = Path(args.out) / time.strftime("%Y-%m-%d_%H-%M-%S")
    board = f"board={args.board}"
    cwru = ["dataset=cwru", f"dataset.root={root}"]

    print("## Sample-rate artefact\n")
    print("\n".join(rate_detector_table(root)))

    print("\n## Anomaly detection (AUC normal vs faults)\n")
    rows = [("| training data -> test | normal / fault test windows | AE AUC float | AE AUC int8 (TFLM) | "
            "pAUC [0, 0.1] float | score margin float / int8 | int8 false-alarm rate / recall at threshold | "
            "K-means AUC | int8 model | TFLM arena | flash / RAM on the board |"),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    details = {}
    for tl in (2, 0):
        m = run(["app=vibration_anomaly", *cwru, f"dataset.test_loads=[{tl}]", board], out / f"anomaly_test{tl}")
        details[f"anomaly_test{tl}"] = m
        rows.append(anomaly_row(f"CWRU normal (first 60 % of Normal_0) -> last 20 % + load-{tl} faults", m))
    m = run(["app=vibration_anomaly", *cwru, "dataset.test_loads=[2]", "features.lbe_fmax_hz=3000",
             "features.env_band_low_hz=1500", "features.env_band_high_hz=3000", board], out / "anomaly_below3k")
    details["anomaly_below3k"] = m
    rows.append(anomaly_row("as row 1, features restricted to 0-3 kHz (no band near either Nyquist)", m))
    sim = run(["app=vibration_anomaly", "experiment=vibration_sim_cwru_rig", board], out / "sim_rig")
    from tinyml_suite.common.evaluate_cli import evaluate_run

    ev = evaluate_run(out / "sim_rig", [*cwru], split="all", out=out / "sim_rig" / "cwru_all")
    f, q = ev["float"], ev["int8"]
    rows.append(
        f"| simulated normal (CWRU-rig speeds) -> all CWRU windows | {f['n_normal']} / {f['n_anomalous']} | "
        f"{f['auc']:.4f} | {q['auc']:.4f} | {f['pauc_0.1']:.4f} | {f['score_margin']:.2f} / {q['score_margin']:.2f} | "
        f"{q['false_alarm_rate']:.3f} / {q['recall']:.3f} | - | {sim['model']['tflite_bytes'] / 1024:.1f} KB | "
        f"{sim['tflm']['arena_bytes'] / 1024:.1f} KB | {sim['fit']['flash_bytes'] / 1024:.0f} / "
        f"{sim['fit']['ram_bytes'] / 1024:.0f} KB |")
    details["sim_rig_on_cwru"] = ev
    details["sim_rig_on_sim"] = {"auc": sim["float"]["auc"], "int8_auc": sim["int8"]["auc"]}
    print("\n".join(rows))
    print(f"\n(the simulated-normal model scores AUC {sim['float']['auc']:.4f} float / {sim['int8']['auc']:.4f} int8 "
          "on its own simulated test split)")

    print("\n## Fault classifier, load held out\n")
    rows = [("| train load -> test load | test windows (normal/IR/B/OR) | accuracy float | accuracy int8 (TFLM) | "
            "macro F1 int8 | per-recording accuracy | int8 model | TFLM arena | flash / RAM on the board |"),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for train_load, test_load in ((0, 2), (2, 0)):
        m = run(["experiment=vibration_fault_classifier", *cwru, f"dataset.test_loads=[{test_load}]", board],
                out / f"classifier_test{test_load}")
        details[f"classifier_test{test_load}"] = m
        counts = "/".join(str(int(v)) for v in np.asarray(m["float"]["confusion"]).sum(axis=1))
        rows.append(
            f"| {train_load} HP -> {test_load} HP | {counts} | {m['float']['accuracy']:.4f} | "
            f"{m['int8']['accuracy']:.4f} | {m['int8']['macro_f1']:.4f} | {m['float']['recording_accuracy']:.3f} | "
            f"{m['model']['tflite_bytes'] / 1024:.1f} KB | {m['tflm']['arena_bytes'] / 1024:.1f} KB | "
            f"{m['fit']['flash_bytes'] / 1024:.0f} / {m['fit']['ram_bytes'] / 1024:.0f} KB |")
    print("\n".join(rows))
    summary = {k: {kk: v.get(kk) for kk in ("float", "int8", "model", "tflm", "fit", "wall_s") if kk in v}
               for k, v in details.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"\nRuns and summary.json under {out}")


if __name__ == "__main__":
    main()
