/* tm_eng_dwconv.c - DEPTHWISE_CONV_2D, int8, per-channel requantisation (C99).
 *
 * TFLite Micro reference: reference_integer_ops::DepthwiseConvPerChannel. Output
 * channel oc = ic * depth_mult + m reads input channel ic; weights are [k_h][k_w][oc].
 * The input zero point is folded into the bias; padded taps read in_zp (tm_engine.h).
 */
#include "tm_engine.h"

void tm_dwconv_s8(const tm_dwconv_params_t* p, const int8_t* in, int8_t* out) {
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
