/* tm_normalize.c - z-score and int8 quantisation. See tm_normalize.h. */
#include "tm_normalize.h"

#include <math.h>

#ifdef ZSCORE_IMPLEMENTATION_VERSION
#if ZSCORE_IMPLEMENTATION_VERSION != 1
#error "tm_normalize.c implements ZSCORE_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

void tm_zscore_apply(const float* x, float* out, int n, float mean, float std) {
  int i;
  for (i = 0; i < n; ++i) out[i] = (x[i] - mean) / std;
}

void tm_zscore_window(const float* x, float* out, int n, float eps) {
  float mean = 0.0f, m2 = 0.0f, sd;
  int i;
  for (i = 0; i < n; ++i) mean += x[i];
  mean /= (float)n;
  for (i = 0; i < n; ++i) {
    const float d = x[i] - mean;
    m2 += d * d;
  }
  sd = sqrtf(m2 / (float)n);
  if (sd < eps) sd = eps;
  tm_zscore_apply(x, out, n, mean, sd);
}

int8_t tm_quantize_int8(float x, float scale, int32_t zero_point) {
  const float r = roundf(x / scale) + (float)zero_point;
  if (r >= 127.0f) return 127;
  if (r <= -128.0f) return -128;
  return (int8_t)r;
}

float tm_dequantize_int8(int8_t q, float scale, int32_t zero_point) {
  return scale * (float)((int32_t)q - zero_point);
}

void tm_quantize_int8_array(const float* x, int8_t* q, int n, float scale, int32_t zero_point) {
  int i;
  for (i = 0; i < n; ++i) q[i] = tm_quantize_int8(x[i], scale, zero_point);
}

#ifdef ZSCORE_IMPLEMENTATION_VERSION
#if ZSCORE_PER_WINDOW == 0
static const float tm_zscore_mean[ZSCORE_COUNT] = ZSCORE_MEAN_VALUES;
static const float tm_zscore_std[ZSCORE_COUNT] = ZSCORE_STD_VALUES;
#endif

void tm_zscore(const float* x, float* out, int n_channels, int n) {
  int c;
  for (c = 0; c < n_channels; ++c) {
#if ZSCORE_PER_WINDOW == 0
    const int j = ZSCORE_COUNT == 1 ? 0 : c;
    tm_zscore_apply(x + c * n, out + c * n, n, tm_zscore_mean[j], tm_zscore_std[j]);
#else
    tm_zscore_window(x + c * n, out + c * n, n, ZSCORE_EPS);
#endif
  }
}
#endif
