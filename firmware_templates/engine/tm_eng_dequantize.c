/* tm_eng_dequantize.c - DEQUANTIZE int8 -> float32 (C99).
 *
 * TFLite reference: reference_ops::Dequantize: (float)(scale * (x - zero_point)) with
 * the scale as a double.
 */
#include "tm_engine.h"

void tm_dequantize_s8_f32(const tm_affine_params_t* p, const int8_t* in, float* out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) out[i] = (float)(p->scale_d * (double)((int32_t)in[i] - p->zp));
}
