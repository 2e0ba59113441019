/* tm_fe_imu_raw.c - device front end of features kind=imu_raw (common/features/imu.py::ImuRaw).
 *
 * Implements tm_features.h: each channel of the raw window is scaled with the fixed
 * statistics of dsp_params.h (ZSCORE_MEAN_VALUES = per-channel offsets, ZSCORE_STD_VALUES
 * = per-channel divisors) by tm_zscore_apply, bit-exact with numpy's zscore(), and
 * written time-major, out[t * TM_INPUT_CHANNELS + c] - the (samples, channels) layout
 * of ImuRaw's output that a Conv1D model takes. No working memory.
 */
#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_normalize.h"

#ifndef ZSCORE_IMPLEMENTATION_VERSION
#error "tm_fe_imu_raw.c needs the ZSCORE block in dsp_params.h (features kind=imu_raw)"
#endif
#if ZSCORE_PER_WINDOW != 0
#error "tm_fe_imu_raw.c expects fixed per-channel statistics (ZSCORE_PER_WINDOW 0)"
#endif
#if ZSCORE_COUNT != 1 && ZSCORE_COUNT != TM_INPUT_CHANNELS
#error "ZSCORE_COUNT must be 1 or TM_INPUT_CHANNELS"
#endif
#if TM_FEATURE_COUNT != TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES
#error "imu_raw features are one value per sample and channel: TM_FEATURE_COUNT must be TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES"
#endif

static const float k_offset[ZSCORE_COUNT] = ZSCORE_MEAN_VALUES;
static const float k_scale[ZSCORE_COUNT] = ZSCORE_STD_VALUES;

int tm_features_init(void) { return 0; }

int tm_features_compute(const float* window, float* out) {
  int c, t;
  if (window == 0 || out == 0) return -1;
  for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
    const int j = ZSCORE_COUNT == 1 ? 0 : c;
    const float* x = window + c * TM_WINDOW_SAMPLES;
    for (t = 0; t < TM_WINDOW_SAMPLES; ++t) {
      tm_zscore_apply(x + t, out + t * TM_INPUT_CHANNELS + c, 1, k_offset[j], k_scale[j]);
    }
  }
  return 0;
}
