"""DSP speed: the MLPerf Tiny KWS MFCC front end on 1,000 one-second 16 kHz clips.

Times, in one run, the median of ``--repeats`` runs (after one warm-up) of:

- our batch ``mfcc`` with the MLPerf Tiny KWS defaults (magnitude, ln(E + 1e-6));
- our batch ``mfcc`` with librosa's conventions (power, dB with amin 1e-10), the same
  computation ``librosa.feature.mfcc`` does;
- ``librosa.feature.mfcc`` with those parameters, on all clips at once (its multichannel
  path; inputs padded by (n_fft - frame_length) / 2 so that its frames are ours);
- the floor: a bare ``numpy.fft.rfft`` of the same 49,000 frames (n = 512, no window,
  nothing after the FFT), and the same with ``scipy.fft.rfft`` (single thread);
- for reference, ours and librosa called once per clip (timed on the first 200 clips,
  scaled to the full count).

and prints a markdown table with the medians, the ratios, and the error of our output
against librosa's. Not a test: nothing is asserted. Run from the repository root:

    python bench/dsp_speed.py                  # 1000 clips, median of 5
    python bench/dsp_speed.py --clips 200      # quicker

Record the table in docs/BENCHMARKS.md ("## DSP speed") with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.fft

from tinyml_suite.common.dsp import MfccParams, frame, mfcc

SR = 16000


def make_clips(n_clips: int, seed: int = 0) -> np.ndarray:
    """Seeded speech-like 1 s clips: a voiced harmonic series with a gliding pitch and
    syllable-rate amplitude modulation, a noise burst, and background noise at a random
    level, so every mel band carries energy as in real recordings."""
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    clips = np.empty((n_clips, SR), dtype=np.float32)
    for i in range(n_clips):
        f0 = rng.uniform(90, 250) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        voiced = sum(np.sin(h * phase) / h for h in range(1, 30))
        envelope = np.clip(np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)), 0, None)
        burst = np.zeros(SR)
        start = rng.integers(0, SR - 2000)
        burst[start : start + 2000] = rng.standard_normal(2000) * rng.uniform(0.05, 0.3)
        noise = rng.standard_normal(SR) * 10 ** rng.uniform(-3.5, -1.5)
        clips[i] = (rng.uniform(0.05, 0.5) * envelope * voiced + burst + noise).astype(np.float32)
    return clips


def timed(fn, repeats: int, scale: float = 1.0) -> tuple[float, object, float]:
    """(median wall seconds, last result, median process CPU seconds), times ``scale``.

    CPU time (all threads of this process) is less disturbed than wall time when other
    processes share the cores; both are reported.
    """
    result = fn()  # warm-up (caches, plans, page faults)
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * scale, result, statistics.median(cpu) * scale


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import librosa  # only the benchmark and the tests use librosa

    clips = make_clips(args.clips)
    mlperf = MfccParams()
    lib = MfccParams(power=2.0, log="db", log_offset=0.0, log_floor=1e-10)
    pad = (lib.n_fft - lib.frame_length) // 2
    padded = np.pad(clips, ((0, 0), (pad, pad)))
    frames = frame(clips, frame_length=lib.frame_length, hop_length=lib.hop_length)

    def run_librosa():
        return librosa.feature.mfcc(
            y=padded,
            sr=SR,
            n_mfcc=lib.n_mfcc,
            dct_type=2,
            norm="ortho",
            lifter=0,
            mel_norm=None,
            n_fft=lib.n_fft,
            hop_length=lib.hop_length,
            win_length=lib.frame_length,
            window="hann",
            center=False,
            power=2.0,
            n_mels=lib.n_mels,
            fmin=lib.fmin,
            fmax=lib.fmax,
            htk=True,
        )

    def run_librosa_one(y):
        return librosa.feature.mfcc(
            y=y,
            sr=SR,
            n_mfcc=lib.n_mfcc,
            norm="ortho",
            mel_norm=None,
            n_fft=lib.n_fft,
            hop_length=lib.hop_length,
            win_length=lib.frame_length,
            window="hann",
            center=False,
            power=2.0,
            n_mels=lib.n_mels,
            fmin=lib.fmin,
            fmax=lib.fmax,
            htk=True,
        )

    load_before = os.getloadavg()
    rows = {}
    rows["numpy.fft.rfft of the frames (floor)"] = timed(
        lambda: np.fft.rfft(frames, n=512, axis=-1), args.repeats
    )
    rows["scipy.fft.rfft of the frames, 1 thread"] = timed(
        lambda: scipy.fft.rfft(frames, n=512, axis=-1), args.repeats
    )
    rows["ours: mfcc, MLPerf defaults"] = timed(
        lambda: mfcc(clips, sample_rate=SR, params=mlperf), args.repeats
    )
    rows["ours: mfcc, librosa conventions"] = timed(
        lambda: mfcc(clips, sample_rate=SR, params=lib), args.repeats
    )
    rows["librosa.feature.mfcc, same parameters"] = timed(run_librosa, args.repeats)
    # The same two, called once per clip (how feature extraction loops are often written).
    n_loop = min(args.clips, 200)
    scale = args.clips / n_loop
    rows["ours: mfcc, librosa conventions, one call per clip"] = timed(
        lambda: [mfcc(c, sample_rate=SR, params=lib) for c in clips[:n_loop]], args.repeats, scale
    )
    rows["librosa.feature.mfcc, one call per clip"] = timed(
        lambda: [run_librosa_one(c) for c in padded[:n_loop]], args.repeats, scale
    )
    load_after = os.getloadavg()

    floor = rows["numpy.fft.rfft of the frames (floor)"][0]
    floor_scipy = rows["scipy.fft.rfft of the frames, 1 thread"][0]
    t_lib = rows["librosa.feature.mfcc, same parameters"][0]
    cpu_lib = rows["librosa.feature.mfcc, same parameters"][2]

    ours = rows["ours: mfcc, librosa conventions"][1]
    ref = rows["librosa.feature.mfcc, same parameters"][1]

    # librosa.feature.mfcc clips the dB spectrogram at (clip max - 80 dB) (top_db=80, not
    # settable through feature.mfcc); we do not (a stream cannot know the clip's max). So
    # also compare with librosa's own pieces without that clip, in float32 (all clips) and
    # in float64 (the first 50 clips).
    def librosa_pieces(y, dtype):
        mel = librosa.feature.melspectrogram(
            y=y.astype(dtype),
            sr=SR,
            n_fft=512,
            hop_length=320,
            win_length=480,
            center=False,
            power=2.0,
            n_mels=40,
            fmin=20.0,
            fmax=4000.0,
            htk=True,
            norm=None,
        )
        return librosa.feature.mfcc(
            S=librosa.power_to_db(mel, amin=1e-10, top_db=None), n_mfcc=10, norm="ortho"
        )

    errors = []
    for label, want in (
        ("librosa.feature.mfcc as timed (top_db=80 clipping)", ref),
        ("librosa pieces, float32, no top_db (all clips)", librosa_pieces(padded, np.float32)),
        (
            "librosa pieces, float64, no top_db (first 50 clips)",
            librosa_pieces(padded[:50], np.float64),
        ),
    ):
        got = ours[: len(want)]
        err = float(np.abs(got - want).max())
        errors.append((label, err, err / float(np.abs(want).max())))

    print(
        f"## DSP speed: {args.clips} clips x 1 s at 16 kHz, MLPerf Tiny KWS MFCC (49 x 10 per clip)"
    )
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"librosa {librosa.__version__}; TINYML_FFT_WORKERS={os.environ.get('TINYML_FFT_WORKERS', '1 (unset)')}"
    )
    print(
        f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}; "
        f"median of {args.repeats} runs after a warm-up"
    )
    print()
    print(
        "| pipeline | median wall (s) | per clip (ms) | librosa / this | this / numpy rfft "
        "| this / scipy rfft | median CPU (s) | librosa / this, CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (t, _, cpu) in rows.items():
        print(
            f"| {name} | {t:.3f} | {1e3 * t / args.clips:.3f} | {t_lib / t:.1f}x | "
            f"{t / floor:.2f} | {t / floor_scipy:.2f} | {cpu:.3f} | {cpu_lib / cpu:.1f}x |"
        )
    print()
    print("Error of ours (librosa conventions, float32) against:")
    print()
    print("| reference | max abs error | relative to max abs reference |")
    print("|---|---:|---:|")
    for label, err, rel in errors:
        print(f"| {label} | {err:.3g} | {rel:.2g} |")


if __name__ == "__main__":
    main()
