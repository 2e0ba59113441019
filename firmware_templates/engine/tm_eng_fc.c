/* tm_eng_fc.c - FULLY_CONNECTED (and pointwise CONV_2D), int8 (C99).
 *
 * TFLite Micro reference: reference_integer_ops::FullyConnected (per-tensor) and
 * FullyConnectedPerChannel; per-tensor weights get the same multiplier in every
 * channel. The input zero point is folded into the bias (tm_engine.h).
 */
#include "tm_engine.h"

/* Portable dot product; a __ARM_FEATURE_DSP variant may replace it (same int32). */
static int32_t fc_dot(const int8_t* w, const int8_t* x, int32_t n) {
  int32_t acc = 0;
  int32_t i;
  for (i = 0; i < n; ++i) acc += (int32_t)w[i] * (int32_t)x[i];
  return acc;
}

void tm_fc_s8(const tm_fc_params_t* p, const int8_t* in, int8_t* out) {
  int32_t r, o;
  for (r = 0; r < p->rows; ++r) {
    const int8_t* x = in + (size_t)r * p->in_n;
    const int8_t* w = p->weights;
    for (o = 0; o < p->out_n; ++o, w += p->in_n) {
      int32_t acc = p->bias[o] + fc_dot(w, x, p->in_n);
      acc = tm_mbqm(acc, p->mult[o], p->shift[o]) + p->out_zp;
      *out++ = (int8_t)tm_clamp(acc, p->act_min, p->act_max);
    }
  }
}
