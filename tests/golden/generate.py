"""Write the golden-vector files ``tests/golden/<feature>_v<version>.txt``.

A golden file pins what one DSP block computes, so that the Python tests and the
host-compiled C tests check the same numbers (one golden file per block and version):

- line 1: a JSON object: ``feature``, ``version`` (the block's IMPLEMENTATION_VERSION),
  the parameters (``params``, plus ``sample_rate`` where the block needs one), and a
  ``pairs`` list naming each input/expected pair (e.g. ``"sine"``);
- then one line per input and one per expected output, alternating: whitespace-separated
  numbers (``%.9g``, which round-trips float32 exactly). What an input and an output are
  is the feature's own business and is said in line 1 (``input``, ``output``).

Regenerating is a deliberate, reviewed act (after a numeric change that bumped an
IMPLEMENTATION_VERSION), never part of a test run::

    python -m tests.golden.generate            # every registered file
    python -m tests.golden.generate mfcc_v1    # only these

Registry: a generator is a function returning a :class:`Golden`, registered with
``@register("<feature>", <version>)``. The audio blocks are registered below; other
blocks register theirs in ``tests/golden/gen_signal.py``, imported when present. Under
``python -m`` this module runs as ``__main__``: a plugin must register into that module
(``sys.modules["__main__"]`` when its spec name is ``<package>.generate``, as
gen_signal.py does), not into a second copy imported with ``from . import generate``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent

#: name ("<feature>_v<version>") -> generator
GENERATORS: dict[str, Callable[[], Golden]] = {}

#: The seed of every golden signal.
SEED = 20240601


@dataclass
class Golden:
    """One golden file: the header (line 1) and the input/expected pairs."""

    header: dict
    pairs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def register(feature: str, version: int) -> Callable:
    """Decorator: register ``fn() -> Golden`` as the generator of ``<feature>_v<version>.txt``."""

    def deco(fn: Callable[[], Golden]) -> Callable[[], Golden]:
        name = f"{feature}_v{version}"
        if name in GENERATORS:
            raise ValueError(f"golden generator {name!r} registered twice")
        GENERATORS[name] = fn
        return fn

    return deco


def format_golden(g: Golden) -> str:
    """The text of a golden file.

    Examples
    --------
    >>> print(format_golden(Golden({"feature": "x"}, [(np.array([1.0, 0.5]), np.array([2.0]))])), end="")
    {"feature": "x"}
    1 0.5
    2
    """
    lines = [json.dumps(g.header, sort_keys=True)]
    for x, y in g.pairs:
        lines.append(" ".join(f"{float(v):.9g}" for v in np.ravel(x)))
        lines.append(" ".join(f"{float(v):.9g}" for v in np.ravel(y)))
    return "\n".join(lines) + "\n"


def read_golden(path: Path | str) -> tuple[dict, list[tuple[np.ndarray, np.ndarray]]]:
    """Read a golden file: ``(header, [(input, expected), ...])`` as 1-D float64 arrays."""
    text = Path(path).read_text().splitlines()
    header = json.loads(text[0])
    rows = [np.array(line.split(), dtype=np.float64) for line in text[1:]]
    if len(rows) % 2:
        raise ValueError(
            f"{path}: odd number of data lines ({len(rows)}); expected input/expected pairs"
        )
    return header, [(rows[i], rows[i + 1]) for i in range(0, len(rows), 2)]


def golden_path(feature: str, version: int) -> Path:
    return GOLDEN_DIR / f"{feature}_v{version}.txt"


def test_signals(n: int, sample_rate: int) -> dict[str, np.ndarray]:
    """Seeded float32 test signals of ``n`` samples: sine, chirp, noise, silence."""
    rng = np.random.default_rng(SEED)
    t = np.arange(n) / sample_rate
    f0, f1 = 100.0, 0.45 * sample_rate
    duration = n / sample_rate
    chirp_phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration))
    return {
        "sine": (0.5 * np.sin(2 * np.pi * 1000.0 * t + 0.3)).astype(np.float32),
        "chirp": (0.8 * np.sin(chirp_phase)).astype(np.float32),
        "noise": (0.1 * rng.standard_normal(n)).astype(np.float32),
        "silence": np.zeros(n, dtype=np.float32),
    }


test_signals.__test__ = False  # a helper, not a pytest test


# --------------------------------------------------------------------------- audio blocks

#: Samples per golden audio signal: 3 frames of the MLPerf KWS front end (480 + 2 * 320).
AUDIO_SIGNAL_SAMPLES = 1120


@register("rfft", 1)
def _rfft() -> Golden:
    """tm_rfft (TM_FFT_VERSION 1) vs numpy.fft.rfft in float64, n = 8, 64, 512."""
    names, pairs = [], []
    for n in (8, 64, 512):
        for name, x in test_signals(n, 16000).items():
            if name == "silence":
                continue
            spec = np.fft.rfft(x.astype(np.float64))
            names.append(f"{name}_{n}")
            pairs.append((x, np.stack([spec.real, spec.imag], axis=-1).ravel()))
    header = {
        "feature": "rfft",
        "version": 1,
        "params": {},
        "input": "n float32 samples (n = input length)",
        "output": "numpy.fft.rfft in float64, interleaved re, im for k = 0..n/2 (n + 2 numbers)",
        "pairs": names,
    }
    return Golden(header, pairs)


def _audio_golden(feature: str) -> Golden:
    from tinyml_suite.common.dsp.logmel import LogMelParams, logmel
    from tinyml_suite.common.dsp.mfcc import MfccParams, mfcc

    cls, fn = (MfccParams, mfcc) if feature == "mfcc" else (LogMelParams, logmel)
    params = cls()
    sample_rate = 16000
    names, pairs = [], []
    for name, x in test_signals(AUDIO_SIGNAL_SAMPLES, sample_rate).items():
        feats = fn(x, sample_rate=sample_rate, params=params)  # (n_features, n_frames)
        names.append(name)
        pairs.append((x, feats.T))  # frames-major: one frame's features after another
    header = {
        "feature": feature,
        "version": cls.IMPLEMENTATION_VERSION,
        "sample_rate": sample_rate,
        "params": {k: v for k, v in vars(params).items()},
        "input": f"{AUDIO_SIGNAL_SAMPLES} float32 samples at sample_rate",
        "output": f"{feature}(x, sample_rate, {cls.__name__}(**params)).T raveled: "
        "n_frames rows of n_features (frames-major)",
        "pairs": names,
    }
    return Golden(header, pairs)


@register("logmel", 1)
def _logmel() -> Golden:
    """LogMelParams() (MLPerf Tiny KWS log-mel) on 3-frame signals."""
    return _audio_golden("logmel")


@register("mfcc", 1)
def _mfcc() -> Golden:
    """MfccParams() (MLPerf Tiny KWS MFCC) on 3-frame signals."""
    return _audio_golden("mfcc")


# ------------------------------------------------------------------------------ driver


def _load_plugins() -> None:
    """Import tests/golden/gen_signal.py (the signal blocks' generators) if it exists."""
    try:
        importlib.import_module(f"{__package__}.gen_signal" if __package__ else "gen_signal")
    except ModuleNotFoundError as e:
        if not (e.name or "").endswith("gen_signal"):
            raise


def write_golden(name: str, golden: Golden, folder: Path = GOLDEN_DIR) -> Path:
    """Write ``<folder>/<name>.txt`` atomically."""
    path = folder / f"{name}.txt"
    tmp = path.with_suffix(".txt.tmp")
    tmp.write_text(format_golden(golden))
    os.replace(tmp, path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    _load_plugins()
    names = list(argv if argv is not None else sys.argv[1:]) or sorted(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        print(f"unknown golden file(s) {unknown}; known: {sorted(GENERATORS)}", file=sys.stderr)
        return 2
    for name in names:
        path = write_golden(name, GENERATORS[name]())
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
