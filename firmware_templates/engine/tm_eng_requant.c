/* tm_eng_requant.c - QUANTIZE int8 -> int8 (requantise) (C99).
 *
 * TFLite Micro reference: reference_ops::Requantize: (x - zp_in) times the
 * s_in / s_out multiplier plus zp_out, clamped. In place is allowed.
 */
#include "tm_engine.h"

void tm_requant_s8(const tm_requant_params_t* p, const int8_t* in, int8_t* out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t r = tm_mbqm((int32_t)in[i] - p->in_zp, p->mult, p->shift) + p->out_zp;
    out[i] = (int8_t)tm_clamp(r, -128, 127);
  }
}
