/* tm_fe_vibration.c - device front end of features kind=vibration
 * (common/features/vibration.py::VibrationFeatures).
 *
 * Implements tm_features.h. For each channel of the raw window (in g) it removes the
 * window's mean, then writes VIB_PER_CHANNEL features at out[c * VIB_PER_CHANNEL ...],
 * in the Python order:
 *   1. VIB_N_LBE log band energies (tm_lbe_frame), averaged over the window's
 *      VIB_N_LBE_FRAMES frames (hop LBE_HOP_LENGTH);
 *   2. VIB_LOW_N_BANDS shaft-harmonic log band energies: the same computation as
 *      tm_lbe_frame (window, tm_rfft, one-sided power / n, tm_band_sums, logf) over
 *      VIB_LOW_N_FFT-sample frames with the bins VIB_LOW_BIN_LO/HI, averaged over
 *      VIB_LOW_N_FRAMES frames;
 *   3. (VIB_ENVELOPE) VIB_N_ENV envelope-spectrum bands: tm_envspec_compute (causal
 *      Butterworth band-pass from a zero state, Hilbert envelope, Hann, amplitude
 *      spectrum), squared amplitudes summed per band, natural log (tm_bands);
 *   4. (VIB_STATS) ln of the RMS, Pearson kurtosis, crest factor and peak-to-peak
 *      (tm_stats, STATS_FISHER 0);
 *   5. (VIB_ENVELOPE) ln of the RMS and Pearson kurtosis of the band-passed signal.
 * Every logarithm adds VIB_LOG_FLOOR. All working memory is static
 * (VibrationFeatures.c_scratch_bytes()); one scratch buffer serves every block.
 */
#include <math.h>

#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_frames.h"
#include "tm_spectral.h"
#include "tm_stats.h"
#if VIB_ENVELOPE
#include "tm_envelope.h"
#endif

#ifndef VIB_IMPLEMENTATION_VERSION
#error "tm_fe_vibration.c needs the VIB block in dsp_params.h (features kind=vibration)"
#endif
#if VIB_IMPLEMENTATION_VERSION != 1
#error "tm_fe_vibration.c implements VIB_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h"
#endif
#if TM_FEATURE_COUNT != TM_INPUT_CHANNELS * VIB_PER_CHANNEL
#error "vibration features: TM_FEATURE_COUNT must be TM_INPUT_CHANNELS * VIB_PER_CHANNEL"
#endif
#if TM_WINDOW_SAMPLES != VIB_WINDOW_SAMPLES
#error "vibration features were computed on VIB_WINDOW_SAMPLES-sample windows, not TM_WINDOW_SAMPLES"
#endif
#if VIB_ENVELOPE && (ENVSPEC_N_FFT != VIB_WINDOW_SAMPLES || VIB_N_ENV != BANDS_N_BANDS)
#error "vibration features: the envelope block must span the window and have VIB_N_ENV bands"
#endif

/* one scratch buffer, as large as the largest block needs */
#define VIB_MAX(a, b) ((a) > (b) ? (a) : (b))
#if VIB_ENVELOPE
#define VIB_ENV_WORK TM_ENVSPEC_WORK_SIZE
#else
#define VIB_ENV_WORK 0
#endif
#if VIB_LOW_N_BANDS > 0
#define VIB_LOW_WORK (2 * VIB_LOW_N_FFT + 2)
#else
#define VIB_LOW_WORK 0
#endif
#define VIB_SCRATCH VIB_MAX(TM_LBE_WORK_SIZE, VIB_MAX(VIB_ENV_WORK, VIB_LOW_WORK))

static tm_lbe_t g_lbe;
static float g_scratch[VIB_SCRATCH];
static float g_bands[VIB_MAX(LBE_N_BANDS, VIB_LOW_N_BANDS + 1)];
static float g_centred[VIB_WINDOW_SAMPLES];
#if VIB_LOW_N_BANDS > 0
static tm_rfft_t g_low_fft;
static float g_low_window[VIB_LOW_N_FFT];
static const int g_low_lo[VIB_LOW_N_BANDS] = VIB_LOW_BIN_LO;
static const int g_low_hi[VIB_LOW_N_BANDS] = VIB_LOW_BIN_HI;
#endif
#if VIB_ENVELOPE
static tm_envspec_t g_env;
static float g_filtered[VIB_WINDOW_SAMPLES];
static float g_env_amp[ENVSPEC_N_BINS];
#endif
static int g_vib_ready = 0;

int tm_features_init(void) {
  if (tm_lbe_init(&g_lbe) != 0) return -1;
#if VIB_LOW_N_BANDS > 0
  if (tm_rfft_init(&g_low_fft, VIB_LOW_N_FFT) != 0) return -1;
  if (tm_window_fill(g_low_window, VIB_LOW_N_FFT, VIB_LOW_WINDOW, 1) != 0) return -1;
#endif
#if VIB_ENVELOPE
  if (tm_envspec_init(&g_env) != 0) return -1;
#endif
  g_vib_ready = 1;
  return 0;
}

#if VIB_LOW_N_BANDS > 0
/* ln band energies of one VIB_LOW_N_FFT-sample frame (tm_lbe_frame's computation). */
static void vib_low_frame(const float* frame, float* out) {
  float* power = g_scratch;
  float* spec = g_scratch + VIB_LOW_N_FFT;
  int b, k;
  for (k = 0; k < VIB_LOW_N_FFT; ++k) g_scratch[k] = frame[k] * g_low_window[k];
  tm_rfft(&g_low_fft, g_scratch, spec);
  for (k = 0; k <= VIB_LOW_N_FFT / 2; ++k) {
    const float re = spec[2 * k], im = spec[2 * k + 1];
    const float p = re * re + im * im;
    power[k] = (k == 0 || k == VIB_LOW_N_FFT / 2) ? p : 2.0f * p;
  }
  tm_band_sums(power, g_low_lo, g_low_hi, VIB_LOW_N_BANDS, 1.0f / (float)VIB_LOW_N_FFT, out);
  for (b = 0; b < VIB_LOW_N_BANDS; ++b) out[b] = logf(out[b] + VIB_LOG_FLOOR);
}
#endif

static void vib_channel(const float* x, float* out) {
  float st[TM_STATS_COUNT];
  float mean = 0.0f;
  int b, f, i;
  float* o = out;
  for (i = 0; i < VIB_WINDOW_SAMPLES; ++i) mean += x[i];
  mean /= (float)VIB_WINDOW_SAMPLES;
  for (i = 0; i < VIB_WINDOW_SAMPLES; ++i) g_centred[i] = x[i] - mean;

  for (b = 0; b < VIB_N_LBE; ++b) o[b] = 0.0f;
  for (f = 0; f < VIB_N_LBE_FRAMES; ++f) {
    tm_lbe_frame(&g_lbe, g_centred + f * LBE_HOP_LENGTH, g_scratch, g_bands);
    for (b = 0; b < VIB_N_LBE; ++b) o[b] += g_bands[b];
  }
  for (b = 0; b < VIB_N_LBE; ++b) o[b] /= (float)VIB_N_LBE_FRAMES;
  o += VIB_N_LBE;
#if VIB_LOW_N_BANDS > 0
  for (b = 0; b < VIB_LOW_N_BANDS; ++b) o[b] = 0.0f;
  for (f = 0; f < VIB_LOW_N_FRAMES; ++f) {
    vib_low_frame(g_centred + f * VIB_LOW_HOP, g_bands);
    for (b = 0; b < VIB_LOW_N_BANDS; ++b) o[b] += g_bands[b];
  }
  for (b = 0; b < VIB_LOW_N_BANDS; ++b) o[b] /= (float)VIB_LOW_N_FRAMES;
  o += VIB_LOW_N_BANDS;
#endif
#if VIB_ENVELOPE
  tm_envspec_compute(&g_env, g_centred, g_filtered, g_scratch, g_env_amp);
  for (i = 0; i < ENVSPEC_N_BINS; ++i) g_env_amp[i] *= g_env_amp[i];
  tm_bands(g_env_amp, o);
  o += VIB_N_ENV;
#endif
#if VIB_STATS
  tm_stats(g_centred, VIB_WINDOW_SAMPLES, st);
  *o++ = logf(st[TM_STAT_RMS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_KURTOSIS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_CREST] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_P2P] + VIB_LOG_FLOOR);
#endif
#if VIB_ENVELOPE
  tm_stats(g_filtered, VIB_WINDOW_SAMPLES, st);
  *o++ = logf(st[TM_STAT_RMS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_KURTOSIS] + VIB_LOG_FLOOR);
#endif
  (void)o;
  (void)st;
}

int tm_features_compute(const float* window, float* out) {
  int c;
  if (!g_vib_ready || window == 0 || out == 0) return -1;
  for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
    vib_channel(window + c * TM_WINDOW_SAMPLES, out + c * VIB_PER_CHANNEL);
  }
  return 0;
}
