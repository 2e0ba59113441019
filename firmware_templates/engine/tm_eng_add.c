/* tm_eng_add.c - ADD int8 with broadcasting (C99).
 *
 * TFLite Micro reference: reference_integer_ops AddFunc / BroadcastAdd6DSlow: both
 * inputs shifted left by 20 bits, rescaled to twice the larger input scale, summed,
 * rescaled to the output (three MultiplyByQuantizedMultiplierSmallerThanOneExp).
 * In place (out == in1 or in2 of the output's shape) is allowed.
 */
#include "tm_engine_broadcast.h"
#include "tm_engine_dsp.h"

#if defined(TM_ENGINE_USE_DSP)
/* DSP path: the same three rescalings with tm_mbqm_any (one SMLAL or SMULL, no 64-bit
 * division), the parameters in locals, and one flat loop where nothing is broadcast. */
void tm_add_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out) {
  const int32_t off1 = p->in1_offset, off2 = p->in2_offset, ls = p->left_shift;
  const int32_t m1 = p->in1_mult, s1 = p->in1_shift, m2 = p->in2_mult, s2 = p->in2_shift;
  const int32_t mo = p->out_mult, so = p->out_shift, zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  int8_t* o = out;
  if (p->dims[0] == 1 && p->dims[1] == 1 && p->dims[2] == 1 && p->dims[3] == 1 && p->dims[4] == 1 &&
      p->in1_strides[5] == 1 && p->in2_strides[5] == 1) {
    const int32_t n = p->dims[5];
    int32_t i;
    for (i = 0; i < n; ++i) {
      const int32_t a = tm_mbqm_any((int32_t)((uint32_t)(off1 + in1[i]) << ls), m1, s1);
      const int32_t b = tm_mbqm_any((int32_t)((uint32_t)(off2 + in2[i]) << ls), m2, s2);
      o[i] = (int8_t)tm_clamp(tm_mbqm_any(a + b, mo, so) + zp, lo, hi);
    }
    return;
  }
  TM_BROADCAST_LOOP(p, i1, i2, {
    const int32_t a = tm_mbqm_any((int32_t)((uint32_t)(off1 + in1[i1]) << ls), m1, s1);
    const int32_t b = tm_mbqm_any((int32_t)((uint32_t)(off2 + in2[i2]) << ls), m2, s2);
    *o++ = (int8_t)tm_clamp(tm_mbqm_any(a + b, mo, so) + zp, lo, hi);
  });
}
#else
void tm_add_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out) {
  int8_t* o = out;
  TM_BROADCAST_LOOP(p, i1, i2, {
    const int32_t a = tm_mbqm((int32_t)((uint32_t)(p->in1_offset + in1[i1]) << p->left_shift), p->in1_mult,
                              p->in1_shift);
    const int32_t b = tm_mbqm((int32_t)((uint32_t)(p->in2_offset + in2[i2]) << p->left_shift), p->in2_mult,
                              p->in2_shift);
    const int32_t r = tm_mbqm(a + b, p->out_mult, p->out_shift) + p->out_zp;
    *o++ = (int8_t)tm_clamp(r, p->act_min, p->act_max);
  });
}
#endif
