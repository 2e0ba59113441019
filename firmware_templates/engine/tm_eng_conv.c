/* tm_eng_conv.c - CONV_2D, int8, per-channel requantisation (C99).
 *
 * TFLite Micro reference: reference_integer_ops::ConvPerChannel. The input zero point
 * is folded into the bias (tm_engine.h), so a tap inside the image adds w * x and a
 * padded tap adds w * in_zp. 1x1 convolutions with stride 1 and no padding are compiled
 * to tm_fc_s8 instead (same arithmetic, one dot product per pixel and channel).
 */
#include "tm_engine.h"

/* Portable dot product of n int8 pairs. A __ARM_FEATURE_DSP variant (SXTB16 + SMLAD)
 * may replace it; it must return the same int32. */
static int32_t conv_dot(const int8_t* w, const int8_t* x, int32_t n) {
  int32_t acc = 0;
  int32_t i;
  for (i = 0; i < n; ++i) acc += (int32_t)w[i] * (int32_t)x[i];
  return acc;
}

static int32_t conv_dot_const(const int8_t* w, int32_t x, int32_t n) {
  int32_t acc = 0;
  int32_t i;
  for (i = 0; i < n; ++i) acc += (int32_t)w[i];
  return acc * x;
}

void tm_conv_s8(const tm_conv_params_t* p, const int8_t* in, int8_t* out) {
  const int32_t fic = p->filter_in_c;
  const int32_t filters_per_group = p->out_c / (p->in_c / fic);
  const int32_t tap = fic;
  int32_t b, oy, ox, oc, ky, kx;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in_b = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        for (oc = 0; oc < p->out_c; ++oc) {
          const int32_t group_offset = (oc / filters_per_group) * fic;
          const int8_t* w = p->weights + (size_t)oc * p->k_h * p->k_w * fic;
          int32_t acc = p->bias[oc];
          for (ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            for (kx = 0; kx < p->k_w; ++kx, w += tap) {
              const int32_t ix = ix0 + kx * p->dil_w;
              if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                acc += conv_dot(w, in_b + ((size_t)iy * p->in_w + ix) * p->in_c + group_offset, fic);
              } else {
                acc += conv_dot_const(w, p->in_zp, fic);
              }
            }
          }
          acc = tm_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_zp;
          *out++ = (int8_t)tm_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}
