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

# signal
from tinyml_suite.common.dsp.band_energy import LogBandEnergyParams, log_band_energies  # noqa: E402
from tinyml_suite.common.dsp.envelope import (  # noqa: E402
    EnvelopeSpectrumParams,
    envelope_spectrum,
    hilbert_envelope,
)
from tinyml_suite.common.dsp.filters import (  # noqa: E402
    ButterworthParams,
    SosFilter,
    butter_filter,
    butter_sos,
    sosfilt,
)
from tinyml_suite.common.dsp.imu_spectral import (  # noqa: E402
    ImuSpectralParams,
    imu_spectral,
    imu_spectral_names,
)
from tinyml_suite.common.dsp.imu_stream import ImuStream, ImuWindowParams, imu_windows  # noqa: E402
from tinyml_suite.common.dsp.motion import (  # noqa: E402
    MotionSuppressionParams,
    MotionSuppressor,
    motion_gain,
    motion_noise,
    suppress_motion,
)
from tinyml_suite.common.dsp.normalize import (  # noqa: E402
    MinMaxParams,
    ZScoreParams,
    dequantize_int8,
    fake_quantize_int8,
    fit_zscore,
    minmax,
    quantize_int8,
    zscore,
)
from tinyml_suite.common.dsp.peaks import PeakParams, detect_peaks  # noqa: E402
from tinyml_suite.common.dsp.qrs import PanTompkinsParams, PanTompkinsStream, pan_tompkins  # noqa: E402
from tinyml_suite.common.dsp.resample import rational_ratio, resample  # noqa: E402
from tinyml_suite.common.dsp.spectral import (  # noqa: E402
    BandPowerParams,
    SpectralPeaksParams,
    WelchParams,
    band_bins,
    band_powers,
    spectral_peaks,
    welch,
)
from tinyml_suite.common.dsp.stats import STAT_NAMES, StatsParams, time_stats  # noqa: E402

__all__ += [
    "ButterworthParams",
    "butter_sos",
    "sosfilt",
    "butter_filter",
    "SosFilter",
    "WelchParams",
    "welch",
    "BandPowerParams",
    "band_bins",
    "band_powers",
    "SpectralPeaksParams",
    "spectral_peaks",
    "LogBandEnergyParams",
    "log_band_energies",
    "ImuSpectralParams",
    "imu_spectral",
    "imu_spectral_names",
    "StatsParams",
    "STAT_NAMES",
    "time_stats",
    "hilbert_envelope",
    "EnvelopeSpectrumParams",
    "envelope_spectrum",
    "rational_ratio",
    "resample",
    "PeakParams",
    "detect_peaks",
    "PanTompkinsParams",
    "pan_tompkins",
    "PanTompkinsStream",
    "ZScoreParams",
    "fit_zscore",
    "zscore",
    "MinMaxParams",
    "minmax",
    "quantize_int8",
    "dequantize_int8",
    "fake_quantize_int8",
    "ImuWindowParams",
    "imu_windows",
    "ImuStream",
    "MotionSuppressionParams",
    "MotionSuppressor",
    "motion_noise",
    "motion_gain",
    "suppress_motion",
]
# end signal
