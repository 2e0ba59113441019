/* tm_engine_dsp.h - Cortex-M4/M7 DSP-extension helpers for the int8 kernels (C99 + ACLE).
 *
 * Used by the `__ARM_FEATURE_DSP` paths of tm_eng_conv.c, tm_eng_dwconv.c, tm_eng_fc.c and
 * tm_eng_add.c (Armv7E-M: Cortex-M4, M7, M33 with DSP; the compiler defines the macro for
 * -mcpu=cortex-m4 and the like). Four int8 values are loaded as one 32-bit word and
 * sign-extended in pairs with SXTB16 (bytes 0 and 2; with a rotation by 8, bytes 1 and 3);
 * SMLAD multiplies two 16-bit pairs and adds both products to a 32-bit accumulator.
 * Integer sums are exact and order-free, so these paths give the same int32 as the
 * portable loops, and the requantisation shortcuts are derived where they are defined
 * (tests/test_engine_qemu.py, tests/test_device_qemu.py and bench/device.py build both on
 * QEMU and compare with TFLite Micro). Define TM_ENGINE_PORTABLE to build the portable
 * path on a DSP core.
 */
#ifndef TM_ENGINE_DSP_H
#define TM_ENGINE_DSP_H

#if defined(__ARM_FEATURE_DSP) && !defined(TM_ENGINE_PORTABLE)
#define TM_ENGINE_USE_DSP 1

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "tm_engine.h"

/* Four int8 values as one word (an unaligned LDR: allowed on Armv7-M). */
static inline int32_t tm_ld4(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* Bytes 0 and 2 sign-extended to two int16 lanes. */
static inline int32_t tm_sxtb16(int32_t x) { return (int32_t)__sxtb16(x); }

/* Bytes 1 and 3 sign-extended to two int16 lanes (SXTB16 with ROR #8, one instruction). */
static inline int32_t tm_sxtb16_ror8(int32_t x) {
#if defined(__GNUC__)
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
#else
  return (int32_t)__sxtb16((int32_t)(((uint32_t)x >> 8) | ((uint32_t)x << 24)));
#endif
}

static inline int32_t tm_smlad(int32_t a, int32_t b, int32_t acc) { return (int32_t)__smlad(a, b, acc); }

/* tm_mbqm (tm_engine.h) with fewer instructions, the same integers: gemmlowp's
 * SaturatingRoundingDoublingHighMul, (a b + nudge) / 2^31 truncated with the nudge
 * +2^30 or 1 - 2^30 by the sign of a b, equals floor((a b + 2^30) / 2^31) for every
 * a b (for a b < 0 the truncation is a ceiling, which the +2^31 - 1 turns into the same
 * floor); only INT32_MIN x INT32_MIN saturates. One SMULL, an add with carry and a
 * shift on Armv7E-M. */
static inline int32_t tm_mbqm_dsp(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t a = (int32_t)((uint32_t)x << left);
  int32_t high;
  if (a == INT32_MIN && multiplier == INT32_MIN) {
    high = INT32_MAX;
  } else {
    high = (int32_t)(((int64_t)a * (int64_t)multiplier + ((int64_t)1 << 30)) >> 31);
  }
  return tm_rdbpot(high, right);
}

#if defined(__GNUC__)
#define TM_DSP_LIKELY(c) __builtin_expect(!!(c), 1)
#define TM_DSP_COLD __attribute__((noinline, cold, unused))
#else
#define TM_DSP_LIKELY(c) (c)
#define TM_DSP_COLD
#endif

/* The general requantisation out of line: the hot loops keep their registers. */
static TM_DSP_COLD int32_t tm_mbqm_general(int32_t x, int32_t multiplier, int32_t shift) {
  return tm_mbqm_dsp(x, multiplier, (int)shift);
}

/* The high word of x m + 2^30 (x >= 0) or x m - 2^30 (x < 0): the nudge is built without
 * a branch (high word: the sign of x; low word: 2^30 with x's sign bit above it), then one
 * SMLAL. */
static inline int32_t tm_mul_nudge_hi(int32_t x, int32_t m) {
#if defined(__GNUC__)
  int32_t lo, hi;
  __asm__("asr %1, %2, #31\n\t"
          "and %0, %2, #0x80000000\n\t"
          "orr %0, %0, #0x40000000\n\t"
          "smlal %0, %1, %2, %3"
          : "=&r"(lo), "=&r"(hi)
          : "r"(x), "r"(m));
  (void)lo;
  return hi;
#else
  const int64_t nudge = x >= 0 ? ((int64_t)1 << 30) : -((int64_t)1 << 30);
  return (int32_t)(((int64_t)x * m + nudge) >> 32);
#endif
}

/* tm_mbqm in one SMLAL and three ALU instructions for the usual case, a right shift r =
 * -shift >= 2 and a multiplier >= 0 (TFLite's are 0 or in [2^30, 2^31)): the two roundings
 * (SaturatingRoundingDoublingHighMul's, then RoundingDivideByPOT's, half away from zero)
 * are one: with h = floor((a m + 2^30) / 2^31) the high product,
 *   RoundingDivideByPOT(h, r) = floor((h + 2^(r-1) - [h < 0]) / 2^r)
 *                             = floor((a m + 2^30 - [a < 0] 2^31 + 2^(30+r)) / 2^(31+r))
 * (the inner floor goes: 2^(r-1) - [h < 0] is an integer), and h < 0 exactly when a < 0
 * and h != 0 (m >= 0), while h = 0 rounds to 0 either way. With q = a m +- 2^30 (the sign
 * of a) and q_hi its high word: floor((q_hi + 2^(r-2)) / 2^(r-1)), which is
 * floor((floor(q_hi / 2^(r-2)) + 1) / 2) (three instructions). Other shifts go through
 * tm_mbqm_dsp. */
static inline int32_t tm_mbqm_fast(int32_t x, int32_t multiplier, int32_t shift) {
  if (TM_DSP_LIKELY(shift <= -2 && multiplier >= 0)) {
    const int32_t s1 = -shift - 2;
    return ((tm_mul_nudge_hi(x, multiplier) >> s1) + 1) >> 1;
  }
  return tm_mbqm_general(x, multiplier, shift);
}

/* tm_mbqm_fast with the shifts -1 and >= 0 (ADD's input rescaling: 2^20 x s_in / 2 s_max
 * has the multiplier 2^30 and the shift 0 for the larger input scale) inline too, for a
 * multiplier >= 0. Shift -1: floor((a m +- 2^30 + 2^31) / 2^32), the nudge and the 2^31
 * in the low word (the high word of their sum is 0 for either sign). Shift >= 0: a = x
 * shifted left (wrapping, as tm_mbqm), then floor((a m + 2^30) / 2^31), no rounding
 * divide. Negative multipliers go through tm_mbqm_dsp. */
static inline int32_t tm_mbqm_any(int32_t x, int32_t multiplier, int32_t shift) {
  if (TM_DSP_LIKELY(multiplier >= 0)) {
    if (shift <= -2) {
      const int32_t s1 = -shift - 2;
      return ((tm_mul_nudge_hi(x, multiplier) >> s1) + 1) >> 1;
    }
    if (shift == -1) {
      const int64_t nudge = x < 0 ? (int64_t)0x40000000 : (int64_t)0xC0000000;
      return (int32_t)(((int64_t)x * multiplier + nudge) >> 32);
    }
    {
      const int32_t a = (int32_t)((uint32_t)x << shift);
      const uint64_t q = (uint64_t)((int64_t)a * multiplier + ((int64_t)1 << 30));
      return (int32_t)(uint32_t)(q >> 31);
    }
  }
  return tm_mbqm_dsp(x, multiplier, (int)shift);
}

/* Requantise one accumulator and store it as int8. */
static inline int8_t tm_requant_dsp(int32_t acc, int32_t mult, int32_t shift, int32_t out_zp, int32_t lo, int32_t hi) {
  int32_t v;
  if (TM_DSP_LIKELY(shift <= -2 && mult >= 0)) {
    /* tm_mbqm_fast's last halving with the zero point inside: floor((y + 1) / 2) + zp =
     * floor((y + 2 zp + 1) / 2) */
    v = ((tm_mul_nudge_hi(acc, mult) >> (-shift - 2)) + (2 * out_zp + 1)) >> 1;
  } else {
    v = tm_mbqm_general(acc, mult, shift) + out_zp;
  }
  return (int8_t)tm_clamp(v, lo, hi);
}

/* One channel's requantisation applied to two accumulators (two rows or pixels): the
 * channel's rounding and shift are worked out once. The same integers as tm_requant_dsp. */
static inline void tm_requant2_dsp(int32_t a, int32_t b, int32_t mult, int32_t shift, int32_t out_zp, int32_t lo,
                                   int32_t hi, int8_t* pa, int8_t* pb) {
  int32_t va, vb;
  if (TM_DSP_LIKELY(shift <= -2 && mult >= 0)) {
    const int32_t s1 = -shift - 2, zp1 = 2 * out_zp + 1; /* the zero point inside the last halving */
    va = ((tm_mul_nudge_hi(a, mult) >> s1) + zp1) >> 1;
    vb = ((tm_mul_nudge_hi(b, mult) >> s1) + zp1) >> 1;
  } else {
    va = tm_mbqm_general(a, mult, shift) + out_zp;
    vb = tm_mbqm_general(b, mult, shift) + out_zp;
  }
  *pa = (int8_t)tm_clamp(va, lo, hi);
  *pb = (int8_t)tm_clamp(vb, lo, hi);
}

/* Two int8 rows of n4 values (a multiple of 4) sign-extended once into the int16 pairs
 * that SMLAD takes against an SXTB16-split weight word: per 4 values v0..v3, four words
 * row 0 (v0, v2), row 0 (v1, v3), row 1 (v0, v2), row 1 (v1, v3). Expanding the input
 * once per pair of rows, not once per output channel, leaves SXTB16 to the weights. */
static inline void tm_expand2_q15(const int8_t* r0, const int8_t* r1, int32_t n4, int32_t* buf) {
  int32_t i;
  for (i = 0; i < n4; i += 4, buf += 4) {
    const int32_t a = tm_ld4(r0 + i), b = tm_ld4(r1 + i);
    buf[0] = tm_sxtb16(a);
    buf[1] = tm_sxtb16_ror8(a);
    buf[2] = tm_sxtb16(b);
    buf[3] = tm_sxtb16_ror8(b);
  }
}

/* 2x2 block over n4 values of two expanded rows xb (tm_expand2_q15): s[0] += w0 . x0,
 * s[1] += w1 . x0, s[2] += w0 . x1, s[3] += w1 . x1. Per 4 values: two weight words, four
 * SXTB16, four input words, eight SMLAD (16 multiply-accumulates); 13 live registers. */
static inline void tm_mac2x2_q15(const int8_t* w0, const int8_t* w1, const int32_t* xb, int32_t n4, int32_t* s) {
  int32_t a00 = s[0], a10 = s[1], a01 = s[2], a11 = s[3];
#if defined(__GNUC__) && !defined(__clang__)
  /* The loop in assembly: GCC spills one of the 13 live registers of the C loop below. */
  if (n4 > 0) {
    const int32_t* const end = xb + n4;
    int32_t we0, wo0, we1, wo1, x;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[we0], [%[w0]], #4\n\t"
        "ldr %[we1], [%[w1]], #4\n\t"
        "sxtb16 %[wo0], %[we0], ror #8\n\t"
        "sxtb16 %[we0], %[we0]\n\t"
        "sxtb16 %[wo1], %[we1], ror #8\n\t"
        "sxtb16 %[we1], %[we1]\n\t"
        "ldr %[x], [%[xb]], #4\n\t"
        "smlad %[a00], %[we0], %[x], %[a00]\n\t"
        "smlad %[a10], %[we1], %[x], %[a10]\n\t"
        "ldr %[x], [%[xb]], #4\n\t"
        "smlad %[a00], %[wo0], %[x], %[a00]\n\t"
        "smlad %[a10], %[wo1], %[x], %[a10]\n\t"
        "ldr %[x], [%[xb]], #4\n\t"
        "smlad %[a01], %[we0], %[x], %[a01]\n\t"
        "smlad %[a11], %[we1], %[x], %[a11]\n\t"
        "ldr %[x], [%[xb]], #4\n\t"
        "smlad %[a01], %[wo0], %[x], %[a01]\n\t"
        "smlad %[a11], %[wo1], %[x], %[a11]\n\t"
        "cmp %[xb], %[end]\n\t"
        "bne 1b"
        : [a00] "+r"(a00), [a10] "+r"(a10), [a01] "+r"(a01), [a11] "+r"(a11), [w0] "+r"(w0), [w1] "+r"(w1),
          [xb] "+r"(xb), [we0] "=&r"(we0), [wo0] "=&r"(wo0), [we1] "=&r"(we1), [wo1] "=&r"(wo1), [x] "=&r"(x)
        : [end] "r"(end)
        : "cc", "memory");
  }
#else
  const int32_t* const end = xb + n4;
  while (xb < end) {
    const int32_t v0 = tm_ld4(w0), v1 = tm_ld4(w1);
    const int32_t we0 = tm_sxtb16(v0), wo0 = tm_sxtb16_ror8(v0);
    const int32_t we1 = tm_sxtb16(v1), wo1 = tm_sxtb16_ror8(v1);
    int32_t x = xb[0];
    a00 = tm_smlad(we0, x, a00);
    a10 = tm_smlad(we1, x, a10);
    x = xb[1];
    a00 = tm_smlad(wo0, x, a00);
    a10 = tm_smlad(wo1, x, a10);
    x = xb[2];
    a01 = tm_smlad(we0, x, a01);
    a11 = tm_smlad(we1, x, a11);
    x = xb[3];
    a01 = tm_smlad(wo0, x, a01);
    a11 = tm_smlad(wo1, x, a11);
    w0 += 4;
    w1 += 4;
    xb += 4;
  }
#endif
  s[0] = a00;
  s[1] = a10;
  s[2] = a01;
  s[3] = a11;
}

/* The n - n4 (< 4) values after the expanded ones, from the int8 rows. */
static inline void tm_tail2x2_s8(const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, int32_t n4,
                                 int32_t n, int32_t* s) {
  int32_t i;
  for (i = n4; i < n; ++i) {
    s[0] += (int32_t)w0[i] * (int32_t)x0[i];
    s[1] += (int32_t)w1[i] * (int32_t)x0[i];
    s[2] += (int32_t)w0[i] * (int32_t)x1[i];
    s[3] += (int32_t)w1[i] * (int32_t)x1[i];
  }
}

/* Two rows by all output channels through tm_mac2x2_q15: rows x0 and x1 (n values each,
 * already expanded into xb), weights [out_n][n]; outputs to o0[0..out_n) and o1[0..out_n). */
static inline void tm_rows2_q15(const int8_t* weights, const int32_t* bias, const int32_t* mult, const int8_t* shift,
                                int32_t out_n, int32_t n, const int8_t* x0, const int8_t* x1, const int32_t* xb,
                                int32_t out_zp, int32_t lo, int32_t hi, int8_t* o0, int8_t* o1) {
  const int32_t n4 = n & ~3;
  const int8_t* w = weights;
  int32_t o;
  for (o = 0; o + 1 < out_n; o += 2, w += 2 * n) {
    int32_t s[4];
    s[0] = s[2] = bias[o];
    s[1] = s[3] = bias[o + 1];
    tm_mac2x2_q15(w, w + n, xb, n4, s);
    if (n4 < n) tm_tail2x2_s8(w, w + n, x0, x1, n4, n, s);
    tm_requant2_dsp(s[0], s[2], mult[o], shift[o], out_zp, lo, hi, o0 + o, o1 + o);
    tm_requant2_dsp(s[1], s[3], mult[o + 1], shift[o + 1], out_zp, lo, hi, o0 + o + 1, o1 + o + 1);
  }
  if (o < out_n) {
    int32_t s[4];
    s[0] = s[1] = s[2] = s[3] = bias[o];
    tm_mac2x2_q15(w, w, xb, n4, s);
    if (n4 < n) tm_tail2x2_s8(w, w, x0, x1, n4, n, s);
    tm_requant2_dsp(s[0], s[2], mult[o], shift[o], out_zp, lo, hi, o0 + o, o1 + o);
  }
}

/* Two dot products of length n sharing x: *s0 += w0 . x, *s1 += w1 . x. */
static inline void tm_dot2_s8(const int8_t* w0, const int8_t* w1, const int8_t* x, int32_t n, int32_t* s0,
                              int32_t* s1) {
  int32_t a0 = 0, a1 = 0, i = 0;
  for (; i + 8 <= n; i += 8) { /* two words per step: less loop overhead */
    const int32_t xv = tm_ld4(x + i), xw = tm_ld4(x + i + 4);
    const int32_t xe = tm_sxtb16(xv), xo = tm_sxtb16_ror8(xv);
    const int32_t ye = tm_sxtb16(xw), yo = tm_sxtb16_ror8(xw);
    const int32_t v0 = tm_ld4(w0 + i), u0 = tm_ld4(w0 + i + 4);
    const int32_t v1 = tm_ld4(w1 + i), u1 = tm_ld4(w1 + i + 4);
    a0 = tm_smlad(tm_sxtb16(v0), xe, a0);
    a0 = tm_smlad(tm_sxtb16_ror8(v0), xo, a0);
    a0 = tm_smlad(tm_sxtb16(u0), ye, a0);
    a0 = tm_smlad(tm_sxtb16_ror8(u0), yo, a0);
    a1 = tm_smlad(tm_sxtb16(v1), xe, a1);
    a1 = tm_smlad(tm_sxtb16_ror8(v1), xo, a1);
    a1 = tm_smlad(tm_sxtb16(u1), ye, a1);
    a1 = tm_smlad(tm_sxtb16_ror8(u1), yo, a1);
  }
  for (; i + 4 <= n; i += 4) {
    const int32_t xv = tm_ld4(x + i);
    const int32_t xe = tm_sxtb16(xv);
    const int32_t xo = tm_sxtb16_ror8(xv);
    const int32_t v0 = tm_ld4(w0 + i);
    const int32_t v1 = tm_ld4(w1 + i);
    a0 = tm_smlad(tm_sxtb16(v0), xe, a0);
    a0 = tm_smlad(tm_sxtb16_ror8(v0), xo, a0);
    a1 = tm_smlad(tm_sxtb16(v1), xe, a1);
    a1 = tm_smlad(tm_sxtb16_ror8(v1), xo, a1);
  }
  for (; i < n; ++i) {
    a0 += (int32_t)w0[i] * (int32_t)x[i];
    a1 += (int32_t)w1[i] * (int32_t)x[i];
  }
  *s0 += a0;
  *s1 += a1;
}

/* Four dot products of length n: two weight rows by two inputs, each word expanded once.
 * s[0] += w0 . x0, s[1] += w1 . x0, s[2] += w0 . x1, s[3] += w1 . x1. */
static inline void tm_dot2x2_s8(const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, int32_t n,
                                int32_t* s) {
  int32_t a00 = 0, a10 = 0, a01 = 0, a11 = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t xa = tm_ld4(x0 + i), xb = tm_ld4(x1 + i);
    const int32_t xae = tm_sxtb16(xa), xao = tm_sxtb16_ror8(xa);
    const int32_t xbe = tm_sxtb16(xb), xbo = tm_sxtb16_ror8(xb);
    int32_t v = tm_ld4(w0 + i);
    int32_t ve = tm_sxtb16(v), vo = tm_sxtb16_ror8(v);
    a00 = tm_smlad(ve, xae, a00);
    a00 = tm_smlad(vo, xao, a00);
    a01 = tm_smlad(ve, xbe, a01);
    a01 = tm_smlad(vo, xbo, a01);
    v = tm_ld4(w1 + i);
    ve = tm_sxtb16(v);
    vo = tm_sxtb16_ror8(v);
    a10 = tm_smlad(ve, xae, a10);
    a10 = tm_smlad(vo, xao, a10);
    a11 = tm_smlad(ve, xbe, a11);
    a11 = tm_smlad(vo, xbo, a11);
  }
  for (; i < n; ++i) {
    a00 += (int32_t)w0[i] * (int32_t)x0[i];
    a10 += (int32_t)w1[i] * (int32_t)x0[i];
    a01 += (int32_t)w0[i] * (int32_t)x1[i];
    a11 += (int32_t)w1[i] * (int32_t)x1[i];
  }
  s[0] += a00;
  s[1] += a10;
  s[2] += a01;
  s[3] += a11;
}

/* One dot product of length n. */
static inline int32_t tm_dot_s8(const int8_t* w, const int8_t* x, int32_t n) {
  int32_t a = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t xv = tm_ld4(x + i);
    const int32_t wv = tm_ld4(w + i);
    a = tm_smlad(tm_sxtb16(wv), tm_sxtb16(xv), a);
    a = tm_smlad(tm_sxtb16_ror8(wv), tm_sxtb16_ror8(xv), a);
  }
  for (; i < n; ++i) a += (int32_t)w[i] * (int32_t)x[i];
  return a;
}
#endif

#endif /* TM_ENGINE_DSP_H */
