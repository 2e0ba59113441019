/* tm_eng_dwconv.c - DEPTHWISE_CONV_2D, int8, per-channel requantisation (C99).
 *
 * TFLite Micro reference: reference_integer_ops::DepthwiseConvPerChannel. Output
 * channel oc = ic * depth_mult + m reads input channel ic; weights are [k_h][k_w][oc].
 * The input zero point is folded into the bias; padded taps read in_zp (tm_engine.h).
 */
#include "tm_engine.h"
#include "tm_engine_dsp.h"

#if defined(TM_ENGINE_USE_DSP)
static void dwconv_portable(const tm_dwconv_params_t* p, const int8_t* in, int8_t* out)
#else
void tm_dwconv_s8(const tm_dwconv_params_t* p, const int8_t* in, int8_t* out)
#endif
{
  const int32_t out_c = p->in_c * p->depth_mult;
  int32_t b, oy, ox, ic, m, ky, kx;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in_b = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        for (ic = 0; ic < p->in_c; ++ic) {
          for (m = 0; m < p->depth_mult; ++m) {
            const int32_t oc = ic * p->depth_mult + m;
            int32_t acc = p->bias[oc];
            for (ky = 0; ky < p->k_h; ++ky) {
              const int32_t iy = iy0 + ky * p->dil_h;
              const int8_t* w = p->weights + (size_t)ky * p->k_w * out_c + oc;
              for (kx = 0; kx < p->k_w; ++kx, w += out_c) {
                const int32_t ix = ix0 + kx * p->dil_w;
                int32_t x = p->in_zp;
                if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                  x = in_b[((size_t)iy * p->in_w + ix) * p->in_c + ic];
                }
                acc += (int32_t)(*w) * x;
              }
            }
            acc = tm_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_zp;
            *out++ = (int8_t)tm_clamp(acc, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}

#if defined(TM_ENGINE_USE_DSP)
#ifndef TM_DW_DSP_MAX_TAPS
#define TM_DW_DSP_MAX_TAPS 49 /* k_h x k_w up to 7 x 7 */
#endif
#ifndef TM_DW_DSP_MAX_CHANNELS
#define TM_DW_DSP_MAX_CHANNELS 512
#endif
#ifndef TM_DW_DSP_WEIGHT_WORDS
#define TM_DW_DSP_WEIGHT_WORDS 288 /* taps x channels / 2 up to which weights are expanded (stack) */
#endif

/* DSP path for depth_mult = 1, a multiple of 4 channels (at most TM_DW_DSP_MAX_CHANNELS)
 * and at most TM_DW_DSP_MAX_TAPS taps: per output pixel, a table points every tap at its
 * input pixel, or at a row of in_zp bytes where the tap is padded (the value the portable
 * path reads); then four channels per pass: one word of input per tap, split by SXTB16
 * into channels (0, 2) and (1, 3), and SMLABB/SMLATT accumulate each channel on its own.
 * Where taps x channels fit TM_DW_DSP_WEIGHT_WORDS int16 pairs, the weights are
 * sign-extended once per call into a stack buffer, four channels' taps in a row (two words
 * per tap), so the tap loop loads them with one LDRD and keeps its accumulators in
 * registers; otherwise they are read and split per tap. */
void tm_dwconv_s8(const tm_dwconv_params_t* p, const int8_t* in, int8_t* out) {
  static int8_t zp_row[TM_DW_DSP_MAX_CHANNELS];
  const int8_t* tap[TM_DW_DSP_MAX_TAPS];
  int32_t wx[TM_DW_DSP_WEIGHT_WORDS];
  /* locals: a store through int8_t* may alias the parameters */
  const int32_t c_n = p->in_c, in_h = p->in_h, in_w = p->in_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t out_h = p->out_h, out_w = p->out_w, n_taps = k_h * k_w;
  const int32_t out_zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  const int8_t* const weights = p->weights;
  const int32_t* const bias = p->bias;
  const int32_t* const mult = p->mult;
  const int8_t* const shift = p->shift;
  const int expanded = n_taps * c_n <= 2 * TM_DW_DSP_WEIGHT_WORDS;
  int32_t b, oy, ox, c, ky, kx, t;
  if (p->depth_mult != 1 || (c_n & 3) != 0 || c_n > TM_DW_DSP_MAX_CHANNELS || n_taps > TM_DW_DSP_MAX_TAPS) {
    dwconv_portable(p, in, out);
    return;
  }
  memset(zp_row, p->in_zp, (size_t)c_n);
  if (expanded) {
    int32_t* dst = wx;
    for (c = 0; c < c_n; c += 4) {
      const int8_t* w = weights + c;
      for (t = 0; t < n_taps; ++t, w += c_n, dst += 2) {
        const int32_t wv = tm_ld4(w);
        dst[0] = tm_sxtb16(wv);
        dst[1] = tm_sxtb16_ror8(wv);
      }
    }
  }
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in_b = in + (size_t)b * in_h * in_w * c_n;
    for (oy = 0; oy < out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      for (ox = 0; ox < out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        for (ky = 0, t = 0; ky < k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dil_h;
          for (kx = 0; kx < k_w; ++kx, ++t) {
            const int32_t ix = ix0 + kx * p->dil_w;
            tap[t] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) ? in_b + ((size_t)iy * in_w + ix) * c_n : zp_row;
          }
        }
        for (c = 0; c < c_n; c += 4) {
          int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
          if (expanded) {
            const int32_t* w = wx + (size_t)c / 4 * 2 * n_taps;
            const int8_t* const* tp = tap;
            const int8_t* const* const tend = tap + n_taps;
            while (tp < tend) {
              const int32_t xv = tm_ld4(*tp++ + c);
              const int32_t xe = tm_sxtb16(xv), xo = tm_sxtb16_ror8(xv);
              const int32_t we = w[0], wo = w[1];
              w += 2;
              a0 = __smlabb(we, xe, a0);
              a2 = __smlatt(we, xe, a2);
              a1 = __smlabb(wo, xo, a1);
              a3 = __smlatt(wo, xo, a3);
            }
          } else {
            const int8_t* w = weights + c;
            for (t = 0; t < n_taps; ++t, w += c_n) {
              const int32_t xv = tm_ld4(tap[t] + c);
              const int32_t wv = tm_ld4(w);
              const int32_t xe = tm_sxtb16(xv), xo = tm_sxtb16_ror8(xv);
              const int32_t we = tm_sxtb16(wv), wo = tm_sxtb16_ror8(wv);
              a0 = __smlabb(we, xe, a0);
              a2 = __smlatt(we, xe, a2);
              a1 = __smlabb(wo, xo, a1);
              a3 = __smlatt(wo, xo, a3);
            }
          }
          out[0] = tm_requant_dsp(a0, mult[c], shift[c], out_zp, lo, hi);
          out[1] = tm_requant_dsp(a1, mult[c + 1], shift[c + 1], out_zp, lo, hi);
          out[2] = tm_requant_dsp(a2, mult[c + 2], shift[c + 2], out_zp, lo, hi);
          out[3] = tm_requant_dsp(a3, mult[c + 3], shift[c + 3], out_zp, lo, hi);
          out += 4;
        }
      }
    }
  }
}
#endif
