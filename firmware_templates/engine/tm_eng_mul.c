/* tm_eng_mul.c - MUL int8 with broadcasting (C99).
 *
 * TFLite Micro reference: reference_integer_ops::MulElementwise / BroadcastMul4DSlow:
 * (x1 - zp1) * (x2 - zp2) rescaled once to the output. In place is allowed.
 */
#include "tm_engine_broadcast.h"

void tm_mul_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out) {
  int8_t* o = out;
  TM_BROADCAST_LOOP(p, i1, i2, {
    const int32_t prod = (p->in1_offset + in1[i1]) * (p->in2_offset + in2[i2]);
    const int32_t r = tm_mbqm(prod, p->out_mult, p->out_shift) + p->out_zp;
    *o++ = (int8_t)tm_clamp(r, p->act_min, p->act_max);
  });
}
