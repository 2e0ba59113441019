/* tm_fe_ppg_time.c - device front end of features kind=ppg_time (common/features/ppg.py::PpgTime).
 *
 * Implements tm_features.h for windows of (ppg, acc_x, acc_y, acc_z): each channel is
 * optionally band-passed from a zero state (tm_biquad, Butterworth SOS from dsp_params.h,
 * PPGTIME_HAS_BANDPASS), then standardised with statistics computed in double: the PPG by
 * max(std, 1e-6) (ZScoreParams' eps), the ACC by max(std, PPGTIME_ACC_FLOOR_G). Output
 * (samples, 4) row-major, out[t * 4 + c] - the layout of PpgTime()(x)[i].
 */
#include <math.h>

#include "dsp_params.h"
#include "model_settings.h"
#include "tm_biquad.h"
#include "tm_features.h"

#ifndef PPGTIME_IMPLEMENTATION_VERSION
#error "tm_fe_ppg_time.c needs the PPGTIME block in dsp_params.h (features kind=ppg_time)"
#endif
#if PPGTIME_IMPLEMENTATION_VERSION != 1
#error "tm_fe_ppg_time.c implements PPGTIME_IMPLEMENTATION_VERSION 1"
#endif
#if TM_INPUT_CHANNELS != 4 || TM_FEATURE_COUNT != 4 * TM_WINDOW_SAMPLES
#error "ppg_time features: 4 channels in, (TM_WINDOW_SAMPLES, 4) out"
#endif

static float g_chan[TM_WINDOW_SAMPLES];
#if PPGTIME_HAS_BANDPASS
static const float kSos[6 * PPGTIME_N_SECTIONS] = PPGTIME_SOS;
static float g_state[2 * PPGTIME_N_SECTIONS];
static tm_biquad_t g_filter;
#endif

int tm_features_init(void) {
#if PPGTIME_HAS_BANDPASS
  if (tm_biquad_init(&g_filter, kSos, PPGTIME_N_SECTIONS, g_state) != 0) return -1;
#endif
  return 0;
}

int tm_features_compute(const float* window, float* out) {
  int c, t;
  if (window == 0 || out == 0) return -1;
  for (c = 0; c < 4; ++c) {
    double mean = 0.0, var = 0.0, sd;
    float m, s;
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) g_chan[t] = window[c * TM_WINDOW_SAMPLES + t];
#if PPGTIME_HAS_BANDPASS
    tm_biquad_reset(&g_filter);
    tm_biquad_process(&g_filter, g_chan, g_chan, TM_WINDOW_SAMPLES);
#endif
#if PPGTIME_STANDARDIZE
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) mean += (double)g_chan[t];
    mean /= (double)TM_WINDOW_SAMPLES;
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) var += ((double)g_chan[t] - mean) * ((double)g_chan[t] - mean);
    sd = sqrt(var / (double)TM_WINDOW_SAMPLES);
    if (c == 0) {
      if (sd < 1e-6) sd = 1e-6;
    } else if (sd < (double)PPGTIME_ACC_FLOOR_G) {
      sd = (double)PPGTIME_ACC_FLOOR_G;
    }
    m = (float)mean;
    s = (float)sd;
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) out[t * 4 + c] = (g_chan[t] - m) / s;
#else
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) out[t * 4 + c] = g_chan[t];
#endif
  }
  return 0;
}
