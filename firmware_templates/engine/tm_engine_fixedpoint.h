/* tm_engine_fixedpoint.h - gemmlowp's fixed-point exp, 1/(1+x), logistic and tanh (C99).
 *
 * The int32 ("raw") forms of gemmlowp/fixedpoint/fixedpoint.h that TFLite Micro's int8
 * SOFTMAX, LOGISTIC and TANH use. A value with I integer bits is raw / 2^(31 - I).
 * Constants are gemmlowp's (exp(-1/8), 1/3, 48/17, -32/17 and the exp(-2^k) barrel
 * multipliers), as Q0.31 or Q2.29 integers. Included by the kernels that need it.
 */
#ifndef TM_ENGINE_FIXEDPOINT_H
#define TM_ENGINE_FIXEDPOINT_H

#include "tm_engine.h"

/* Rescale from src to dst integer bits (SaturatingRoundingMultiplyByPOT<src - dst>). */
static inline int32_t tm_fp_rescale(int32_t x, int src_bits, int dst_bits) {
  const int e = src_bits - dst_bits;
  if (e > 0) return tm_sat_shl(x, e);
  if (e < 0) return tm_rdbpot(x, -e);
  return x;
}

/* RoundingHalfSum: (a + b) / 2 rounded half away from zero. */
static inline int32_t tm_fp_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t tm_fp_exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668;    /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883; /* 1/3 */
  const int32_t x = a + (1 << 28);             /* a + 1/8 */
  const int32_t x2 = tm_srdhm(x, x);
  const int32_t x3 = tm_srdhm(x2, x);
  const int32_t x4 = tm_srdhm(x2, x2);
  const int32_t x4_over_4 = tm_rdbpot(x4, 2);
  const int32_t poly = tm_rdbpot(tm_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + tm_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 with `integer_bits` integer bits in; Q0.31 out. */
static inline int32_t tm_fp_exp_neg(int32_t a, int integer_bits) {
  static const int32_t kBarrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                     39332535,   720401,     242};
  const int frac_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod = (a & mask) - one_quarter;
  int32_t result = tm_fp_exp_quarter(tm_fp_rescale(a_mod, integer_bits, 0));
  const int32_t remainder = a_mod - a;
  int k;
  for (k = 0; k < 7; ++k) {
    const int exponent = k - 2;
    if (integer_bits > exponent) {
      const int shift_amount = frac_bits + exponent;
      if (remainder & ((int32_t)1 << shift_amount)) result = tm_srdhm(result, kBarrel[k]);
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp = -((int32_t)1 << (36 - integer_bits)); /* -32.0 */
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

/* Newton-Raphson for 1 / (1 + a), a in [0, 1) Q0.31; returns x in Q2.29 ~ 2 / (1 + a). */
static inline int32_t tm_fp_nr_reciprocal(int32_t a) {
  const int32_t half_denominator = tm_fp_half_sum(a, INT32_MAX);
  const int32_t c48_17 = 1515870810;      /* 48/17, Q2.29 */
  const int32_t cneg32_17 = -1010580540;  /* -32/17, Q2.29 */
  int32_t x = c48_17 + tm_srdhm(half_denominator, cneg32_17);
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t hdx = tm_srdhm(half_denominator, x);
    const int32_t one_minus = ((int32_t)1 << 29) - hdx;
    x = x + tm_fp_rescale(tm_srdhm(x, one_minus), 4, 2);
  }
  return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tm_fp_one_over_one_plus_x(int32_t a) {
  return tm_fp_rescale(tm_fp_nr_reciprocal(a), 1, 0);
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tm_fp_one_minus_x_over_one_plus_x(int32_t a) {
  return tm_fp_rescale(tm_fp_nr_reciprocal(a) - ((int32_t)1 << 29), 2, 0);
}

/* logistic(a), a in Q4.27; Q0.31 out. */
static inline int32_t tm_fp_logistic_q4(int32_t a) {
  int32_t pos;
  if (a == 0) return (int32_t)1 << 30;
  pos = tm_fp_one_over_one_plus_x(tm_fp_exp_neg(a > 0 ? -a : a, 4));
  return a > 0 ? pos : INT32_MAX - pos;
}

/* tanh(a), a in Q4.27; Q0.31 out. */
static inline int32_t tm_fp_tanh_q4(int32_t a) {
  int32_t t;
  if (a == 0) return 0;
  /* exp(2 n) with n = -|a|: the same raw value read with 5 integer bits */
  t = tm_fp_one_minus_x_over_one_plus_x(tm_fp_exp_neg(a < 0 ? a : -a, 5));
  return a < 0 ? -t : t;
}

#endif /* TM_ENGINE_FIXEDPOINT_H */
