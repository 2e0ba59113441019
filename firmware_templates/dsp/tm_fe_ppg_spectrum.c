/* tm_fe_ppg_spectrum.c - device front end of features kind=ppg_spectrum
 * (common/features/ppg.py::PpgSpectrum, ppg_spectra).
 *
 * Implements tm_features.h for windows of (ppg, acc_x, acc_y, acc_z): for each channel,
 * remove the mean (computed in double), multiply by the analysis window (tm_window_fill,
 * periodic), zero-pad to PPGSPEC_N_FFT, real FFT (tm_rfft) and power re^2 + im^2 (float32);
 * keep bins [PPGSPEC_BIN_LO, PPGSPEC_BIN_HI). The PPG spectrum is divided by its band
 * maximum; the ACC spectra are scaled to squared sinusoid amplitude (4 / (sum w)^2, g^2)
 * and divided by max(band maximum, PPGSPEC_ACC_FLOOR_G^2). With PPGSPEC_MOTION_CHANNEL
 * the next channel is the PPG spectrum through the motion stage (tm_motion.c, MOTION_*
 * defines, reset on every window: no history), from the three normalised axes. ACC mode
 * "sum" adds the three normalised axes and divides by max(maximum, 1); "none" drops them.
 * Compression: log (1 + ln(max(p, floor)) / -ln(floor)), sqrt or none. Output
 * (n_bins, channels), row-major: out[k * PPGSPEC_N_CHANNELS + c] - the layout of
 * PpgSpectrum()(x)[i]. Static working memory: window, FFT buffers, the four band spectra
 * (+ the motion stage) (PpgSpectrum.c_scratch_bytes()).
 */
#include <math.h>
#include <string.h>

#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_fft.h"
#include "tm_frames.h"

#ifndef PPGSPEC_IMPLEMENTATION_VERSION
#error "tm_fe_ppg_spectrum.c needs the PPGSPEC block in dsp_params.h (features kind=ppg_spectrum)"
#endif
#if PPGSPEC_IMPLEMENTATION_VERSION != 2
#error "tm_fe_ppg_spectrum.c implements PPGSPEC_IMPLEMENTATION_VERSION 2; regenerate dsp_params.h or update this file"
#endif
#if TM_INPUT_CHANNELS != 4
#error "ppg_spectrum features take 4 channels: ppg, acc_x, acc_y, acc_z"
#endif
#if PPGSPEC_MOTION_CHANNEL
#include "tm_motion.h"
#ifndef MOTION_IMPLEMENTATION_VERSION
#error "PPGSPEC_MOTION_CHANNEL needs the MOTION block in dsp_params.h"
#endif
#if PPGSPEC_N_BINS > TM_MOTION_MAX_BINS
#error "PPGSPEC_N_BINS exceeds TM_MOTION_MAX_BINS: compile with -DTM_MOTION_MAX_BINS=<n_bins>"
#endif
static tm_motion_t g_motion;
static float g_clean[PPGSPEC_N_BINS];
#endif
#if TM_FEATURE_COUNT != PPGSPEC_N_BINS * PPGSPEC_N_CHANNELS
#error "ppg_spectrum features: TM_FEATURE_COUNT must be PPGSPEC_N_BINS * PPGSPEC_N_CHANNELS"
#endif
#if PPGSPEC_N_FFT < TM_WINDOW_SAMPLES
#error "PPGSPEC_N_FFT must be >= TM_WINDOW_SAMPLES"
#endif
#if PPGSPEC_N_FFT > TM_FFT_MAX_N
#error "PPGSPEC_N_FFT exceeds TM_FFT_MAX_N: compile tm_fft.c with -DTM_FFT_MAX_N=<n_fft>"
#endif

#define PPGSPEC_ACC_AXES 0
#define PPGSPEC_ACC_SUM 1
#define PPGSPEC_ACC_NONE 2
#define PPGSPEC_LOG 0
#define PPGSPEC_SQRT 1

static float g_win[TM_WINDOW_SAMPLES];
static float g_buf[PPGSPEC_N_FFT];
static float g_fft[PPGSPEC_N_FFT + 2];
static float g_spec[4][PPGSPEC_N_BINS];
static tm_rfft_t g_rfft;
static float g_acc_scale;    /* 4 / (sum w)^2 */
static float g_neg_log_floor; /* -ln(floor) */
static int g_ready = 0;

int tm_features_init(void) {
  double sum = 0.0;
  int i;
  if (tm_window_fill(g_win, TM_WINDOW_SAMPLES, PPGSPEC_WINDOW, 1) != 0) return -1;
  if (tm_rfft_init(&g_rfft, PPGSPEC_N_FFT) != 0) return -1;
  for (i = 0; i < TM_WINDOW_SAMPLES; ++i) sum += (double)g_win[i];
  g_acc_scale = (float)(4.0 / (sum * sum));
  g_neg_log_floor = (float)(-log((double)PPGSPEC_LOG_FLOOR));
#if PPGSPEC_MOTION_CHANNEL
  if (tm_motion_init(&g_motion, PPGSPEC_N_BINS) != 0) return -1;
#endif
  g_ready = 1;
  return 0;
}

/* Band power spectrum of one channel into dst[PPGSPEC_N_BINS]. */
static void band_power(const float* x, float* dst) {
  double mean = 0.0;
  int t, k;
  for (t = 0; t < TM_WINDOW_SAMPLES; ++t) mean += (double)x[t];
  mean /= (double)TM_WINDOW_SAMPLES;
  for (t = 0; t < TM_WINDOW_SAMPLES; ++t) {
    const float centred = (float)((double)x[t] - mean);
    g_buf[t] = centred * g_win[t];
  }
  for (t = TM_WINDOW_SAMPLES; t < PPGSPEC_N_FFT; ++t) g_buf[t] = 0.0f;
  tm_rfft(&g_rfft, g_buf, g_fft);
  for (k = 0; k < PPGSPEC_N_BINS; ++k) {
    const float re = g_fft[2 * (PPGSPEC_BIN_LO + k)];
    const float im = g_fft[2 * (PPGSPEC_BIN_LO + k) + 1];
    dst[k] = re * re + im * im;
  }
}

static float band_max(const float* s) {
  float m = s[0];
  int k;
  for (k = 1; k < PPGSPEC_N_BINS; ++k) {
    if (s[k] > m) m = s[k];
  }
  return m;
}

static float compress(float p) {
#if PPGSPEC_COMPRESS == PPGSPEC_LOG
  const float floor_v = (float)PPGSPEC_LOG_FLOOR;
  return 1.0f + logf(p > floor_v ? p : floor_v) / g_neg_log_floor;
#elif PPGSPEC_COMPRESS == PPGSPEC_SQRT
  return sqrtf(p);
#else
  return p;
#endif
}

int tm_features_compute(const float* window, float* out) {
  const float* chan[5];
  int c, k, n_chan = 0;
  float m;
  if (!g_ready || window == 0 || out == 0) return -1;
  for (c = 0; c < 4; ++c) band_power(window + c * TM_WINDOW_SAMPLES, g_spec[c]);
  m = band_max(g_spec[0]);
  if (m < 1e-30f) m = 1e-30f;
  for (k = 0; k < PPGSPEC_N_BINS; ++k) g_spec[0][k] = g_spec[0][k] / m;
  for (c = 1; c < 4; ++c) {
    const float floor_sq = (float)((double)PPGSPEC_ACC_FLOOR_G * (double)PPGSPEC_ACC_FLOOR_G);
    for (k = 0; k < PPGSPEC_N_BINS; ++k) g_spec[c][k] = g_spec[c][k] * g_acc_scale;
    m = band_max(g_spec[c]);
    if (m < floor_sq) m = floor_sq;
    for (k = 0; k < PPGSPEC_N_BINS; ++k) g_spec[c][k] = g_spec[c][k] / m;
  }
  chan[n_chan++] = g_spec[0];
#if PPGSPEC_MOTION_CHANNEL
  tm_motion_reset(&g_motion);
  if (tm_motion_step(&g_motion, g_spec[0], &g_spec[1][0], 3, g_clean) != 0) return -1;
  chan[n_chan++] = g_clean;
#endif
#if PPGSPEC_ACC_MODE == PPGSPEC_ACC_SUM
  for (k = 0; k < PPGSPEC_N_BINS; ++k) g_spec[1][k] = (g_spec[1][k] + g_spec[2][k]) + g_spec[3][k];
  m = band_max(g_spec[1]);
  if (m < 1.0f) m = 1.0f;
  for (k = 0; k < PPGSPEC_N_BINS; ++k) g_spec[1][k] = g_spec[1][k] / m;
  chan[n_chan++] = g_spec[1];
#elif PPGSPEC_ACC_MODE == PPGSPEC_ACC_AXES
  for (c = 1; c < 4; ++c) chan[n_chan++] = g_spec[c];
#endif
  if (n_chan != PPGSPEC_N_CHANNELS) return -1;
  for (k = 0; k < PPGSPEC_N_BINS; ++k) {
    for (c = 0; c < PPGSPEC_N_CHANNELS; ++c) {
      out[k * PPGSPEC_N_CHANNELS + c] = compress(chan[c][k]);
    }
  }
  return 0;
}
