/* tm_fe_vibration.c - device front end of features kind=vibration
 * (common/features/vibration.py::VibrationFeatures).
 *
 * Implements tm_features.h. For each channel of the raw window (in g), writes
 * VIB_PER_CHANNEL features at out[c * VIB_PER_CHANNEL ...], in the Python order:
 *   1. VIB_N_LBE log band energies (tm_lbe_frame), averaged over the window's
 *      VIB_N_LBE_FRAMES frames (hop LBE_HOP_LENGTH);
 *   2. (VIB_ENVELOPE) VIB_N_ENV envelope-spectrum bands: tm_envspec_compute (causal
 *      Butterworth band-pass from a zero state, Hilbert envelope, Hann, amplitude
 *      spectrum), squared amplitudes summed per band, natural log (tm_bands);
 *   3. (VIB_STATS) ln of the RMS, Pearson kurtosis, crest factor and peak-to-peak of
 *      the window with its mean removed (tm_stats, STATS_FISHER 0);
 *   4. (VIB_ENVELOPE) ln of the RMS and Pearson kurtosis of the band-passed signal.
 * Every logarithm adds VIB_LOG_FLOOR. Static working memory (VibrationFeatures.
 * c_scratch_bytes()): the LBE state and work buffer, the envelope state, the band-passed
 * window, the envelope work buffer and one centred copy of the window.
 */
#include <math.h>

#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
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

static tm_lbe_t g_lbe;
static float g_lbe_work[TM_LBE_WORK_SIZE];
static float g_lbe_bands[LBE_N_BANDS];
static float g_centred[VIB_WINDOW_SAMPLES];
#if VIB_ENVELOPE
static tm_envspec_t g_env;
static float g_filtered[VIB_WINDOW_SAMPLES];
static float g_env_work[TM_ENVSPEC_WORK_SIZE];
static float g_env_amp[ENVSPEC_N_BINS];
#endif
static int g_vib_ready = 0;

int tm_features_init(void) {
  if (tm_lbe_init(&g_lbe) != 0) return -1;
#if VIB_ENVELOPE
  if (tm_envspec_init(&g_env) != 0) return -1;
#endif
  g_vib_ready = 1;
  return 0;
}

static void vib_channel(const float* x, float* out) {
  float st[TM_STATS_COUNT];
  float mean = 0.0f;
  int b, f, i;
  float* o = out;
  for (b = 0; b < VIB_N_LBE; ++b) o[b] = 0.0f;
  for (f = 0; f < VIB_N_LBE_FRAMES; ++f) {
    tm_lbe_frame(&g_lbe, x + f * LBE_HOP_LENGTH, g_lbe_work, g_lbe_bands);
    for (b = 0; b < VIB_N_LBE; ++b) o[b] += g_lbe_bands[b];
  }
  for (b = 0; b < VIB_N_LBE; ++b) o[b] /= (float)VIB_N_LBE_FRAMES;
  o += VIB_N_LBE;
#if VIB_ENVELOPE
  tm_envspec_compute(&g_env, x, g_filtered, g_env_work, g_env_amp);
  for (i = 0; i < ENVSPEC_N_BINS; ++i) g_env_amp[i] *= g_env_amp[i];
  tm_bands(g_env_amp, o);
  o += VIB_N_ENV;
#endif
#if VIB_STATS
  for (i = 0; i < VIB_WINDOW_SAMPLES; ++i) mean += x[i];
  mean /= (float)VIB_WINDOW_SAMPLES;
  for (i = 0; i < VIB_WINDOW_SAMPLES; ++i) g_centred[i] = x[i] - mean;
  tm_stats(g_centred, VIB_WINDOW_SAMPLES, st);
  *o++ = logf(st[TM_STAT_RMS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_KURTOSIS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_CREST] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_P2P] + VIB_LOG_FLOOR);
#else
  (void)mean;
  (void)g_centred;
#endif
#if VIB_ENVELOPE
  tm_stats(g_filtered, VIB_WINDOW_SAMPLES, st);
  *o++ = logf(st[TM_STAT_RMS] + VIB_LOG_FLOOR);
  *o++ = logf(st[TM_STAT_KURTOSIS] + VIB_LOG_FLOOR);
#endif
  (void)o;
}

int tm_features_compute(const float* window, float* out) {
  int c;
  if (!g_vib_ready || window == 0 || out == 0) return -1;
  for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
    vib_channel(window + c * TM_WINDOW_SAMPLES, out + c * VIB_PER_CHANNEL);
  }
  return 0;
}
