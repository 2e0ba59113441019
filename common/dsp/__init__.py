"""The shared DSP feature library: pure numpy in, float32 numpy out, time on the last axis.

Importing it is cheap (numpy and scipy only; no TensorFlow, no librosa).
"""

__all__: list[str] = []

# audio
from tinyml_suite.common.dsp.audio_stream import AudioFrontend  # noqa: E402
from tinyml_suite.common.dsp.frames import frame, num_frames  # noqa: E402
from tinyml_suite.common.dsp.logmel import LogMelParams, logmel  # noqa: E402
from tinyml_suite.common.dsp.mel import hz_to_mel, mel_filterbank, mel_to_hz  # noqa: E402
from tinyml_suite.common.dsp.mfcc import MfccParams, mfcc, mfcc_from_logmel  # noqa: E402
from tinyml_suite.common.dsp.stft import (  # noqa: E402
    StftParams,
    magnitude_spectrum,
    power_spectrum,
    stft,
)
from tinyml_suite.common.dsp.windows import get_window  # noqa: E402

__all__ += [
    "AudioFrontend",
    "frame",
    "num_frames",
    "get_window",
    "StftParams",
    "stft",
    "power_spectrum",
    "magnitude_spectrum",
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "LogMelParams",
    "logmel",
    "MfccParams",
    "mfcc",
    "mfcc_from_logmel",
]
# end audio
