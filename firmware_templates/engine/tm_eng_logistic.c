/* tm_eng_logistic.c - LOGISTIC int8 -> int8 (output scale 1/256, zero point -128) (C99).
 *
 * TFLite Micro reference: reference_integer_ops::Logistic: inputs beyond the radius
 * saturate; others are rescaled to Q4.27, passed through gemmlowp's fixed-point
 * logistic and rounded to 8 fractional bits. In place (in == out) is allowed.
 */
#include "tm_engine_fixedpoint.h"

void tm_logistic_s8(const tm_lut_params_t* p, const int8_t* in, int8_t* out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)in[i] - p->in_zp;
    if (x <= -p->radius) {
      out[i] = -128;
    } else if (x >= p->radius) {
      out[i] = 127;
    } else {
      const int32_t q4 = tm_mbqm(x, p->mult, p->shift);
      const int32_t q0 = tm_fp_logistic_q4(q4);
      out[i] = (int8_t)tm_clamp(tm_rdbpot(q0, 23) - 128, -128, 127);
    }
  }
}
