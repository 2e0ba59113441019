/* tm_fe_imu_spectral.c - device front end of features kind=imu_spectral
 * (common/features/imu.py::ImuSpectral).
 *
 * Implements tm_features.h: for each channel of the raw window, tm_imuspec_axis (the C
 * twin of common/dsp/imu_spectral.py) computes [rms, skewness, kurtosis, band powers...]
 * with the parameters of dsp_params.h (prefix IMUSPEC); the features are written
 * channel-major, out[c * IMUSPEC_N_FEATURES + f], as ImuSpectral flattens them.
 * Static working memory: the block's state plus TM_IMUSPEC_WORK_SIZE(TM_WINDOW_SAMPLES)
 * floats (ImuSpectral.c_scratch_bytes()).
 */
#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_spectral.h"

#ifndef IMUSPEC_IMPLEMENTATION_VERSION
#error "tm_fe_imu_spectral.c needs the IMUSPEC block in dsp_params.h (features kind=imu_spectral)"
#endif
#if TM_FEATURE_COUNT != TM_INPUT_CHANNELS * IMUSPEC_N_FEATURES
#error "imu_spectral features: TM_FEATURE_COUNT must be TM_INPUT_CHANNELS * IMUSPEC_N_FEATURES"
#endif
#if TM_WINDOW_SAMPLES < IMUSPEC_NPERSEG
#error "the window is shorter than IMUSPEC_NPERSEG"
#endif

static tm_imuspec_t g_imuspec;
static float g_imuspec_work[TM_IMUSPEC_WORK_SIZE(TM_WINDOW_SAMPLES)];
static int g_imuspec_ready = 0;

int tm_features_init(void) {
  if (tm_imuspec_init(&g_imuspec) != 0) return -1;
  g_imuspec_ready = 1;
  return 0;
}

int tm_features_compute(const float* window, float* out) {
  int c;
  if (!g_imuspec_ready || window == 0 || out == 0) return -1;
  for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
    if (tm_imuspec_axis(&g_imuspec, window + c * TM_WINDOW_SAMPLES, TM_WINDOW_SAMPLES,
                        g_imuspec_work, out + c * IMUSPEC_N_FEATURES) != 0) {
      return -1;
    }
  }
  return 0;
}
