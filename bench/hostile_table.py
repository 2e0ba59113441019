# ruff: noqa: E701, E702, E731, E741  (a measurement script: one compact block per case)
"""The hostile table of docs/RELIABILITY.md, measured: one outcome line per case.

    python bench/hostile_table.py /tmp/hostile.json      # as root (it mounts small tmpfs)

Runs every case against the installed tinyml-suite (any version: run it with another
checkout's venv to get the "before" column) in a scratch folder under /tmp, printing
``<case>: <outcome>`` and saving them as JSON. Root is needed for the read-only and
full file systems (tmpfs mounts). Takes 10-30 minutes (several toy recipe runs).
"""
import io
import json
import logging
import os
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__import__("tinyml_suite.common.data", fromlist=["x"]).__file__).parents[1]
NEW = (REPO / "common" / "run_folder.py").exists()
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))  # tiny dataset builders
from helpers.tiny_datasets import LOADERS  # noqa
TESTS = REPO / "tests"
W = pathlib.Path(tempfile.gettempdir()) / f"tinyml-hostile-{'now' if NEW else 'before'}"; shutil.rmtree(W, ignore_errors=True); W.mkdir(parents=True)
ENV = {**os.environ, "PYTHONPATH": str(TESTS), "TINYML_PLUGINS": "toy", "TINYML_CACHE": str(W / "cache"),
       "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
os.environ["TINYML_CACHE"] = str(W / "cache")
SP = f"hydra.searchpath=[file://{TESTS/'conf'}]"
TOY = ["app=toy", SP, "dataset.n_per_class=60", "trainer.epochs=3", "trainer.tensorboard=false", "optimize.variants=[int8]",
       "optimize.representative_samples=30", "optimize.verify_samples=10", "stages=[data,features,train,evaluate,optimize,verify]"]
def cli(*a, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "tinyml_suite.common.cli", *a], capture_output=True, text=True, env={**ENV, **(env or {})}, **kw)
def summ(p):
    err = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith(("I0000", "WARNING: All", "W0000", "E0000"))]
    tb = "TRACEBACK " if "Traceback" in p.stderr else ""
    last = next((l for l in reversed(err) if l.startswith("tinyml:")), err[-1] if err else "")
    done = " [said done]" if "tinyml: done" in p.stdout else ""
    return f"rc={p.returncode} {tb}{last[:230]}{done}"
results = {}
def case(name):
    def deco(f):
        t = time.time()
        try: results[name] = f()
        except Exception as e: results[name] = "EXC " + type(e).__name__ + ": " + str(e)[:200]
        print(f"{name}: {results[name]}  ({time.time()-t:.0f}s)", flush=True)
        json.dump(results, open(sys.argv[1], "w"), indent=1)
    return deco
def mount(path, opts):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=True)
def umount(path): subprocess.run(["umount", "-l", str(path)])
def dataset(name, opts):
    import importlib
    mod, _, cls = LOADERS[name][0].rpartition(".")
    return getattr(importlib.import_module(mod), cls)(seed=0, cache=False, **opts).load()
def outcome(fn):
    try:
        r = fn(); return f"accepted: {r}"
    except Exception as e:
        return f"{type(e).__name__}: {str(e)[:200]}"
def tree(name):
    d = W / "trees" / name
    shutil.rmtree(d, ignore_errors=True)
    return d, LOADERS[name][1](d)
def everything(d): return np.concatenate([d.train.x, d.val.x, d.test.x])

@case("C1 file changed two folders below dataset.root")
def _():
    from tinyml_suite.datasets.loaders.vibration_folder import VibrationFolder
    root = W / "vib" / "sub"; rng = np.random.default_rng(0)
    for lab in ("normal", "fault"):
        (root/lab).mkdir(parents=True)
        for i in range(2): np.savetxt(root/lab/f"r{i}.csv", rng.standard_normal((3000,1)), delimiter=",")
    kw = dict(root=str(root), sample_rate_hz=1000, target_rate_hz=None, window_samples=256, hop_samples=128)
    a = VibrationFolder(**kw).load()
    np.savetxt(root/"normal"/"r0.csv", 50*rng.standard_normal((3000,1)), delimiter=",")
    b = VibrationFolder(**kw).load()
    return "STALE: the old cached dataset was returned" if np.array_equal(everything(a), everything(b)) else "rebuilt from the changed file"

@case("C2 same-size edit that keeps the file's mtime")
def _():
    from tinyml_suite.datasets.loaders.vibration_folder import VibrationFolder
    root = W / "vib2" / "sub"; rng = np.random.default_rng(1)
    for lab in ("normal", "fault"):
        (root/lab).mkdir(parents=True)
        for i in range(2): np.savetxt(root/lab/f"r{i}.csv", rng.standard_normal((3000,1)), delimiter=",", fmt="%.6f")
    kw = dict(root=str(root), sample_rate_hz=1000, target_rate_hz=None, window_samples=256, hop_samples=128)
    a = VibrationFolder(**kw).load()
    f = root/"normal"/"r0.csv"; st = f.stat(); txt = f.read_text(); f.write_text(txt.replace("1", "2")); os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    b = VibrationFolder(**kw).load()
    return "STALE: the old cached dataset was returned" if np.array_equal(everything(a), everything(b)) else "rebuilt from the changed file"

RUN = W / "run"
p = cli(*TOY, f"hydra.run.dir={RUN}", timeout=1200)
print("toy run:", summ(p), flush=True)

@case("C3 evaluate split=all after split=test")
def _():
    cli("evaluate", str(RUN), "split=test", f"out={W/'e1'}", timeout=600)
    p2 = cli("evaluate", str(RUN), "split=all", f"out={W/'e2'}", timeout=600)
    n = json.loads((W/'e2'/'metrics.json').read_text())["n"] if (W/'e2'/'metrics.json').exists() else None
    return f"{summ(p2)}; n={n} (expected 60*3+2*3*20=300)"

@case("C4 truncated feature-cache entry, then evaluate of a good run")
def _():
    for x in sorted((W/"cache"/"features").glob("*.npz")): x.write_bytes(x.read_bytes()[: x.stat().st_size//2])
    return summ(cli("evaluate", str(RUN), f"out={W/'e3'}", timeout=600))

@case("C5 bit-flipped feature-cache entry")
def _():
    for x in sorted((W/"cache"/"features").glob("*.npz")): x.unlink()
    cli("evaluate", str(RUN), f"out={W/'e4'}", timeout=600)
    for x in sorted((W/"cache"/"features").glob("*.npz")):
        b = bytearray(x.read_bytes()); b[len(b)//2] ^= 0x10; x.write_bytes(bytes(b))
    return summ(cli("evaluate", str(RUN), f"out={W/'e5'}", timeout=600))

@case("C6 truncated dataset-cache entry")
def _():
    for x in sorted((W/"cache"/"datasets").glob("toy*.npz")): x.write_bytes(x.read_bytes()[: x.stat().st_size//2])
    p = cli("evaluate", str(RUN), f"out={W/'e6'}", timeout=600)
    return summ(p) + (" [warned]" if "cache" in p.stderr.lower() and ("ignoring" in p.stderr.lower() or "damaged" in p.stderr.lower()) else "")

@case("C7 read-only cache folder")
def _():
    m = W/"rocache"; mount(m, "ro,size=64k")
    try: return summ(cli(*TOY[:2], "dataset.n_per_class=30", "stages=[data,features]", f"hydra.run.dir={W/'r7'}", env={"TINYML_CACHE": str(m/"c")}, timeout=600))
    finally: umount(m)

@case("C8 full cache disk (64 KB)")
def _():
    m = W/"fullc"; mount(m, "size=64k")
    try: return summ(cli(*TOY[:2], "dataset.n_per_class=200", "stages=[data,features]", f"hydra.run.dir={W/'r8'}", env={"TINYML_CACHE": str(m)}, timeout=600))
    finally: umount(m)

@case("R1 two runs into one hydra.run.dir at once")
def _():
    d = W/"shared_run"
    args = [sys.executable, "-m", "tinyml_suite.common.cli", *TOY[:-1], "stages=[data,features,train]", "trainer.epochs=40", "trainer.early_stopping_patience=0", f"hydra.run.dir={d}"]
    a = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while time.time() - t0 < 300 and not (d/"checkpoints").exists(): time.sleep(0.5)
    b = subprocess.run(args + ["seed=7", "trainer.epochs=1"], env=ENV, capture_output=True, text=True)
    oa, ea = a.communicate()
    seed = json.loads((d/"metrics.json").read_text())["seed"] if (d/"metrics.json").exists() else None
    return f"A: rc={a.returncode}{' said done' if 'done' in oa else ''}; B: {summ(b)}; metrics.json seed={seed} (A's is 42)"

@case("R2 a second run into a finished run's folder")
def _():
    d = W/"reuse"; shutil.copytree(RUN, d)
    p = cli(*TOY[:2], "dataset.n_per_class=30", "trainer.epochs=1", "stages=[data,features,train]", f"hydra.run.dir={d}", timeout=900)
    moved = sorted(W.glob("reuse.replaced-*"))
    left = (d/"model_int8.tflite").exists()
    return f"{summ(p)}; earlier run's model_int8.tflite still beside the new model: {left}; moved aside: {[m.name for m in moved]}"

def sigint(marker, extra, delay=2.0):
    d = W/("int_" + marker.replace(' ', '_'))
    args = [sys.executable, "-m", "tinyml_suite.common.cli", *extra, f"hydra.run.dir={d}"]
    pr = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    buf = []
    for line in pr.stdout:
        buf.append(line)
        if marker in line: break
    time.sleep(delay)
    os.killpg(pr.pid, signal.SIGINT)
    txt = "".join(buf) + pr.communicate(timeout=300)[0]
    st = json.loads((d/"status.json").read_text())["status"] if (d/"status.json").exists() else None
    tail = [l for l in txt.strip().splitlines() if l.strip()][-1]
    return f"rc={pr.returncode} {'TRACEBACK ' if 'Traceback' in txt else ''}last line: {tail[:120]}; status.json: {st}"

@case("R3 Ctrl-C during training")
def _(): return sigint("stage train", [*TOY[:-1], "trainer.epochs=300", "trainer.early_stopping_patience=0", "stages=[data,features,train]"], 6)

@case("R4 Ctrl-C during data generation (text-to-speech worker pool)")
def _(): return sigint("TtsKeywords", ["app=wake_word", "dataset.per_keyword=300", "stages=[data]"], 4)

@case("R5 read-only run folder")
def _():
    m = W/"ro"; mount(m, "ro,size=64k")
    try: return summ(cli(*TOY, f"hydra.run.dir={m/'run'}", timeout=600))
    finally: umount(m)

@case("R6 full disk in the run folder (40 KB)")
def _():
    m = W/"full"; mount(m, "size=40k")
    try: return summ(cli(*TOY, f"hydra.run.dir={m/'run'}", timeout=900))
    finally: umount(m)

@case("R7 deploy of a run killed during verify (model_int8.tflite written, no metrics.json)")
def _():
    d = W/"killed"; shutil.copytree(RUN, d, ignore=shutil.ignore_patterns("firmware"))
    (d/"metrics.json").unlink()
    if (d/"status.json").exists():
        st = json.loads((d/"status.json").read_text()); st.update(status="running", stage="verify", pid=999999, artifacts={})
        (d/"status.json").write_text(json.dumps(st))
    return summ(cli("deploy", str(d), "board=host", f"out={W/'fw7'}", timeout=900))

@case("R8 collect over a sweep with one truncated metrics.json")
def _():
    sw = W/"sweep"; shutil.copytree(RUN, sw/"0_ok"); shutil.copytree(RUN, sw/"1_cut")
    (sw/"1_cut"/"metrics.json").write_text((RUN/"metrics.json").read_text()[:200])
    p = cli("collect", str(sw), timeout=600)
    rows = (sw/"sweep_table.csv").read_text().count("\n") - 1 if (sw/"sweep_table.csv").exists() else None
    skip = next((l for l in p.stderr.splitlines() if "skipped" in l), "")
    return f"{summ(p)}; table rows={rows}; {skip[:160]}"

@case("R9 evaluate of a run with a truncated model.keras")
def _():
    d = W/"cutk"; shutil.copytree(RUN, d); b = (d/"model.keras").read_bytes(); (d/"model.keras").write_bytes(b[:len(b)//2])
    return summ(cli("evaluate", str(d), f"out={W/'e9'}", timeout=600))

@case("R10 deploy of a run with a truncated model_int8.tflite")
def _():
    d = W/"cutt"; shutil.copytree(RUN, d); b = (d/"model_int8.tflite").read_bytes(); (d/"model_int8.tflite").write_bytes(b[:len(b)//2])
    return summ(cli("deploy", str(d), "board=host", f"out={W/'fw10'}", timeout=600))

@case("R11 trainer.epochs=0")
def _(): return summ(cli(*TOY, "trainer.epochs=0", f"hydra.run.dir={W/'e0'}", timeout=900))

def read_wav_fn():
    import importlib

    for name in ("tinyml_suite.datasets.wav", "tinyml_suite.datasets.loaders.wav"):  # moved in issue 16
        try:
            return importlib.import_module(name).read_wav
        except ImportError:
            continue
    raise ImportError("no read_wav")

@case("L1 truncated .wav (1 s clip cut after 100 bytes)")
def _():
    import soundfile as sf
    p = W/"t.wav"; sf.write(p, np.zeros(16000)+0.1, 16000, subtype="PCM_16"); p.write_bytes(p.read_bytes()[:100])
    return outcome(lambda: f"{len(read_wav_fn()(p))} samples")

@case("L2 random-bytes MIT-BIH .atr (8 seeds)")
def _():
    out = []
    for s in range(8):
        d, o = tree("mitbih"); (d/"101.atr").write_bytes(np.random.default_rng(s).bytes(600))
        out.append(outcome(lambda o=o: dataset("mitbih", o) and "loaded")[:8])
    return f"{out.count('accepted')} of 8 accepted silently; others: {sorted(set(out))}"

@case("L3 MIT-BIH record without its .atr")
def _():
    d, o = tree("mitbih"); (d/"101.atr").unlink()
    buf = io.StringIO(); h = logging.StreamHandler(buf); logging.getLogger().addHandler(h); logging.getLogger().setLevel(logging.WARNING)
    try:
        data = dataset("mitbih", o)
        return f"loaded {sorted(set(map(str, data.test.groups)))}; warned: {'101' in buf.getvalue()}; skipped in stats: {data.stats().get('skipped')}"
    except Exception as e: return f"{type(e).__name__}: {e}"
    finally: logging.getLogger().removeHandler(h)

@case("L4 magic wand line with 2 fields")
def _():
    d, o = tree("magic_wand"); f = d/"ring"/"output_ring_u2.txt"; ls = f.read_text().splitlines(); ls[5] = "12.0,-3.5"; f.write_text("\n".join(ls)+"\n")
    return outcome(lambda: f"{len(dataset('magic_wand', o).train)} windows, the line dropped silently")

@case("L5 IMU CSV with a header and no rows")
def _():
    d, o = tree("imu_csv"); f = d/"circle"/"rec0.csv"; f.write_text("aX,aY,aZ\n")
    return outcome(lambda: f"{len(dataset('imu_csv', o).train)} windows, the file ignored silently")

@case("L6 PPG-DaLiA reference longer than the signal")
def _():
    d, o = tree("ppg_dalia"); f = d/"S2"/"S2.pkl"; x = pickle.loads(f.read_bytes()); x["label"] = np.full(40, 70.0); f.write_bytes(pickle.dumps(x, protocol=2))
    return outcome(lambda: f"{len(dataset('ppg_dalia', o).test)} test windows")

@case("L7 CWRU recording with a NaN sample")
def _():
    import scipy.io
    d, o = tree("cwru"); f = d/"12k_DE"/"IR007_0.mat"; m = scipy.io.loadmat(f); m["X105_DE_time"][100] = np.nan
    scipy.io.savemat(f, {k: v for k, v in m.items() if not k.startswith("__")})
    return outcome(lambda: dataset("cwru", o) and "loaded")

@case("L8 truncated WAV in a vibration folder")
def _():
    d, o = tree("vibration_folder"); f = d/"fault"/"c.wav"; f.write_bytes(f.read_bytes()[:3000])
    return outcome(lambda: f"{len(dataset('vibration_folder', o).train)} windows")

@case("L9 Speech Commands testing_list.txt of random bytes")
def _():
    d, o = tree("speech_commands"); (d/"testing_list.txt").write_bytes(b"\x80\x91" + np.random.default_rng(0).bytes(64))
    return outcome(lambda: dataset("speech_commands", o) and "loaded")

@case("L10 PPG CSV whose time column is rounded to 0.1 ms (32 Hz)")
def _():
    d, o = tree("ppg_csv")
    return outcome(lambda: f"{len(dataset('ppg_csv', o).test)} test windows")

@case("D1 band_powers(log=True) of a spectrum with negative values")
def _():
    from tinyml_suite.common import dsp
    x = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    return outcome(lambda: f"output {dsp.band_powers(x, freqs=np.linspace(0, 50, 64), params=dsp.BandPowerParams(log=True)).round(2).tolist()}")

for k in ["seed=abc", "trainer.batch_size=0", "trainer.learning_rate=-1", "trainer.epochs=-1", "trainer.batch_size=abc",
          "trainer.epoch=3", "dataset.root=/tmp/données/x"]:
    case("V " + k)(lambda k=k: summ(cli(*TOY, k, f"hydra.run.dir={W/'v'}", timeout=900)))
