/* tm_eng_softmax.c - SOFTMAX int8 -> int8 (C99).
 *
 * TFLite Micro reference: reference_ops::Softmax<int8_t, int8_t>: differences to the row
 * maximum, scaled to Q5.26 by the compile-time multiplier, exponentiated in fixed point,
 * summed in Q12.19, one reciprocal per row, outputs rounded to 1/256 steps with zero
 * point -128. Differences below diff_min give -128. In place (in == out) is allowed.
 */
#include "tm_engine_fixedpoint.h"

#include <stdint.h>

static int32_t softmax_exp(const tm_softmax_params_t* p, int32_t diff) {
  const int32_t rescaled = tm_srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
  return tm_fp_exp_neg(rescaled, 5);
}

static int tm_clz32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

void tm_softmax_s8(const tm_softmax_params_t* p, const int8_t* in, int8_t* out) {
  int32_t i, c;
  for (i = 0; i < p->outer; ++i) {
    const int8_t* x = in + (size_t)i * p->depth;
    int8_t* y = out + (size_t)i * p->depth;
    int32_t max_in_row = -128;
    int32_t sum_of_exps = 0; /* Q12.19 */
    int headroom_plus_one, num_bits_over_unit, exponent;
    int32_t shifted_scale;
    for (c = 0; c < p->depth; ++c) {
      if (x[c] > max_in_row) max_in_row = x[c];
    }
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff >= p->diff_min) sum_of_exps += tm_rdbpot(softmax_exp(p, diff), 12);
    }
    /* GetReciprocal(sum_of_exps, 12 integer bits) */
    headroom_plus_one = tm_clz32((uint32_t)sum_of_exps);
    num_bits_over_unit = 12 - headroom_plus_one;
    shifted_scale = tm_fp_one_over_one_plus_x(
        (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
    exponent = num_bits_over_unit + 31 - 8;
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t unsat = tm_rdbpot(tm_srdhm(shifted_scale, softmax_exp(p, diff)), exponent);
        y[c] = (int8_t)tm_clamp(unsat - 128, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}
