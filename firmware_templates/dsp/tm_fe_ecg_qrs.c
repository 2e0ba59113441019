/* tm_fe_ecg_qrs.c - device front end of features kind=ecg_qrs (common/features/ppg.py::EcgQrs).
 *
 * Implements tm_features.h for one ECG lead: the window is streamed through the
 * Pan-Tompkins block (tm_pan_tompkins) from a zero state and the three rows are written
 * as EcgQrs()(x)[i] lays them out, (3, TM_WINDOW_SAMPLES) row-major: hp, bp, mwi.
 * (The ECG firmware's main loop streams samples through the same block continuously;
 * this per-window form is what the host `make check` compares with Python.)
 */
#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_pan_tompkins.h"

#ifndef PANTOMP_IMPLEMENTATION_VERSION
#error "tm_fe_ecg_qrs.c needs the PANTOMP block in dsp_params.h (features kind=ecg_qrs)"
#endif
#if TM_INPUT_CHANNELS != 1
#error "ecg_qrs features take one ECG lead"
#endif
#if TM_FEATURE_COUNT != 3 * TM_WINDOW_SAMPLES
#error "ecg_qrs features: TM_FEATURE_COUNT must be 3 * TM_WINDOW_SAMPLES"
#endif

static tm_pantomp_t g_fe_pt;
static int g_fe_ready = 0;

int tm_features_init(void) {
  if (tm_pantomp_init(&g_fe_pt) != 0) return -1;
  g_fe_ready = 1;
  return 0;
}

int tm_features_compute(const float* window, float* out) {
  float y[3];
  int t;
  if (!g_fe_ready || window == 0 || out == 0) return -1;
  tm_pantomp_reset(&g_fe_pt);
  for (t = 0; t < TM_WINDOW_SAMPLES; ++t) {
    tm_pantomp_push(&g_fe_pt, window[t], y);
    out[t] = y[0];
    out[TM_WINDOW_SAMPLES + t] = y[1];
    out[2 * TM_WINDOW_SAMPLES + t] = y[2];
  }
  return 0;
}
