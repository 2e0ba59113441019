/* tm_eng_quantize.c - QUANTIZE float32 -> int8 (C99).
 *
 * TFLite reference: AffineQuantize: round(x / scale) half away from zero (roundf),
 * in float32, plus the zero point, clamped. Values far outside the int8 range (and NaN)
 * clamp to the same ends as TFLite's int32 conversion then clamp does on its hosts.
 */
#include <math.h>

#include "tm_engine.h"

void tm_quantize_f32_s8(const tm_affine_params_t* p, const float* in, int8_t* out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    float r = roundf(in[i] / p->scale);
    if (!(r >= -1000.0f)) r = -1000.0f; /* also NaN */
    if (r > 1000.0f) r = 1000.0f;
    out[i] = (int8_t)tm_clamp((int32_t)r + p->zp, -128, 127);
  }
}
