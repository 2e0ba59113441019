/* tm_eng_fc.c - FULLY_CONNECTED (and pointwise CONV_2D), int8 (C99).
 *
 * TFLite Micro reference: reference_integer_ops::FullyConnected (per-tensor) and
 * FullyConnectedPerChannel; per-tensor weights get the same multiplier in every
 * channel. The input zero point is folded into the bias (tm_engine.h).
 */
#include "tm_engine.h"
#include "tm_engine_dsp.h"

#if !defined(TM_ENGINE_USE_DSP)
/* Portable dot product; the __ARM_FEATURE_DSP path below gives the same int32. */
static int32_t fc_dot(const int8_t* w, const int8_t* x, int32_t n) {
  int32_t acc = 0;
  int32_t i;
  for (i = 0; i < n; ++i) acc += (int32_t)w[i] * (int32_t)x[i];
  return acc;
}
#endif

#if defined(TM_ENGINE_USE_DSP)
/* DSP path: two outputs per pass share the SXTB16-expanded input (tm_engine_dsp.h). */
static inline void fc_store(const tm_fc_params_t* p, int32_t o, int32_t acc, int8_t* out) {
  *out = tm_requant_dsp(acc, p->mult[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
}

void tm_fc_s8(const tm_fc_params_t* p, const int8_t* in, int8_t* out) {
  int32_t r, o;
  for (r = 0; r < p->rows; ++r) {
    const int8_t* x = in + (size_t)r * p->in_n;
    const int8_t* w = p->weights;
    for (o = 0; o + 1 < p->out_n; o += 2, w += 2 * p->in_n) {
      int32_t a0 = p->bias[o], a1 = p->bias[o + 1];
      tm_dot2_s8(w, w + p->in_n, x, p->in_n, &a0, &a1);
      fc_store(p, o, a0, out++);
      fc_store(p, o + 1, a1, out++);
    }
    if (o < p->out_n) fc_store(p, o, p->bias[o] + tm_dot_s8(w, x, p->in_n), out++);
  }
}
#else
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
#endif
