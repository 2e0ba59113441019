/* tm_normalize.h - z-score normalisation and int8 (de)quantisation (C99, float32).
 *
 * C twins of common/dsp/normalize.py.
 *
 * void tm_zscore_apply(const float* x, float* out, int n, float mean, float std)
 *     out[i] = (x[i] - mean) / std, float32: bit-exact with zscore() given fixed stats.
 * void tm_zscore_window(const float* x, float* out, int n, float eps)
 *     Standardise by the window's own mean and population std (floored at eps).
 * int8_t tm_quantize_int8(float x, float scale, int32_t zero_point)
 *     clamp(roundf(x / scale) + zero_point, -128, 127): TFLite's affine quantisation
 *     (reference Quantize kernel), rounding half away from zero.
 * float tm_dequantize_int8(int8_t q, float scale, int32_t zero_point)
 *     scale * (float)(q - zero_point).
 * void tm_quantize_int8_array(const float* x, int8_t* q, int n, float scale, int32_t zero_point)
 *
 * Generated-parameter API (ZScoreParams -> dsp_params.h, prefix ZSCORE)
 *   void tm_zscore(const float* x, float* out, int n_channels, int n)
 *     Channel-major data (x[c * n + i]). Fixed statistics (ZSCORE_PER_WINDOW == 0):
 *     channel c uses ZSCORE_MEAN_VALUES[c] / ZSCORE_STD_VALUES[c] (or entry 0 for every
 *     channel when ZSCORE_COUNT == 1). Per window: each channel by its own statistics.
 */
#ifndef TM_NORMALIZE_H
#define TM_NORMALIZE_H

#include <stdint.h>

#include "dsp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

void tm_zscore_apply(const float* x, float* out, int n, float mean, float std);
void tm_zscore_window(const float* x, float* out, int n, float eps);
int8_t tm_quantize_int8(float x, float scale, int32_t zero_point);
float tm_dequantize_int8(int8_t q, float scale, int32_t zero_point);
void tm_quantize_int8_array(const float* x, int8_t* q, int n, float scale, int32_t zero_point);

#ifdef ZSCORE_IMPLEMENTATION_VERSION
void tm_zscore(const float* x, float* out, int n_channels, int n);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_NORMALIZE_H */
