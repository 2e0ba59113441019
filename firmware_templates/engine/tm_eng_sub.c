/* tm_eng_sub.c - SUB int8 with broadcasting (C99).
 *
 * TFLite Micro reference: the int8 path of reference_ops Sub / BroadcastQuantSubSlow:
 * as ADD (tm_eng_add.c) with the rescaled second input subtracted. The multipliers of
 * SUB are computed in float32 at compile time, as TFLite Micro's SUB Prepare does.
 * In place is allowed.
 */
#include "tm_engine_broadcast.h"

void tm_sub_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out) {
  int8_t* o = out;
  TM_BROADCAST_LOOP(p, i1, i2, {
    const int32_t a = tm_mbqm((int32_t)((uint32_t)(p->in1_offset + in1[i1]) << p->left_shift), p->in1_mult,
                              p->in1_shift);
    const int32_t b = tm_mbqm((int32_t)((uint32_t)(p->in2_offset + in2[i2]) << p->left_shift), p->in2_mult,
                              p->in2_shift);
    const int32_t r = tm_mbqm(a - b, p->out_mult, p->out_shift) + p->out_zp;
    *o++ = (int8_t)tm_clamp(r, p->act_min, p->act_max);
  });
}
