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
#ifndef TM_FC_DSP_Q15_MAX
#define TM_FC_DSP_Q15_MAX 288 /* in_n up to which two rows are expanded to int16 (4 bytes per value, stack) */
#endif

/* DSP path (tm_engine_dsp.h): two rows (pixels of a pointwise convolution) by two
 * outputs per pass, so that each SXTB16-expanded word of input and of weights serves two
 * products. Up to TM_FC_DSP_Q15_MAX inputs, the two rows are sign-extended once into a
 * stack buffer of int16 pairs (tm_rows2_q15); longer rows are expanded per word as they
 * go. A last odd row goes two outputs at a time. The parameters are copied to locals: a
 * store through int8_t* may alias anything, and the compiler would reload them after
 * every output. */
void tm_fc_s8(const tm_fc_params_t* p, const int8_t* in, int8_t* out) {
  const int32_t rows = p->rows, in_n = p->in_n, out_n = p->out_n;
  const int32_t out_zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  const int8_t* const weights = p->weights;
  const int32_t* const bias = p->bias;
  const int32_t* const mult = p->mult;
  const int8_t* const shift = p->shift;
  int32_t r = 0, o;
  if (in_n <= TM_FC_DSP_Q15_MAX) {
    int32_t xb[TM_FC_DSP_Q15_MAX];
    for (; r + 1 < rows; r += 2) {
      const int8_t* x0 = in + (size_t)r * in_n;
      tm_expand2_q15(x0, x0 + in_n, in_n & ~3, xb);
      tm_rows2_q15(weights, bias, mult, shift, out_n, in_n, x0, x0 + in_n, xb, out_zp, lo, hi, out, out + out_n);
      out += 2 * out_n;
    }
  }
  for (; r + 1 < rows && out_n >= 2; r += 2) {
    const int8_t* x0 = in + (size_t)r * in_n;
    const int8_t* w = weights;
    int8_t* out1 = out + out_n;
    for (o = 0; o + 1 < out_n; o += 2, w += 2 * in_n) {
      int32_t s[4];
      s[0] = s[2] = bias[o];
      s[1] = s[3] = bias[o + 1];
      tm_dot2x2_s8(w, w + in_n, x0, x0 + in_n, in_n, s);
      out[0] = tm_requant_dsp(s[0], mult[o], shift[o], out_zp, lo, hi);
      out[1] = tm_requant_dsp(s[1], mult[o + 1], shift[o + 1], out_zp, lo, hi);
      out1[0] = tm_requant_dsp(s[2], mult[o], shift[o], out_zp, lo, hi);
      out1[1] = tm_requant_dsp(s[3], mult[o + 1], shift[o + 1], out_zp, lo, hi);
      out += 2;
      out1 += 2;
    }
    if (o < out_n) {
      *out = tm_requant_dsp(bias[o] + tm_dot_s8(w, x0, in_n), mult[o], shift[o], out_zp, lo, hi);
      *out1 = tm_requant_dsp(bias[o] + tm_dot_s8(w, x0 + in_n, in_n), mult[o], shift[o], out_zp, lo, hi);
      ++out1;
    }
    out = out1; /* past row r + 1 */
  }
  for (; r < rows; ++r) {
    const int8_t* x = in + (size_t)r * in_n;
    const int8_t* w = weights;
    for (o = 0; o + 1 < out_n; o += 2, w += 2 * in_n) {
      int32_t a0 = bias[o], a1 = bias[o + 1];
      tm_dot2_s8(w, w + in_n, x, in_n, &a0, &a1);
      out[0] = tm_requant_dsp(a0, mult[o], shift[o], out_zp, lo, hi);
      out[1] = tm_requant_dsp(a1, mult[o + 1], shift[o + 1], out_zp, lo, hi);
      out += 2;
    }
    if (o < out_n) *out++ = tm_requant_dsp(bias[o] + tm_dot_s8(w, x, in_n), mult[o], shift[o], out_zp, lo, hi);
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
