/* tm_eng_conv.c - CONV_2D, int8, per-channel requantisation (C99).
 *
 * TFLite Micro reference: reference_integer_ops::ConvPerChannel. The input zero point
 * is folded into the bias (tm_engine.h), so a tap inside the image adds w * x and a
 * padded tap adds w * in_zp. 1x1 convolutions with stride 1 and no padding are compiled
 * to tm_fc_s8 instead (same arithmetic, one dot product per pixel and channel).
 */
#include "tm_engine.h"
#include "tm_engine_dsp.h"

/* Portable dot product of n int8 pairs. The __ARM_FEATURE_DSP path (SXTB16 + SMLAD, at
 * the end of the file) returns the same int32. */
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

#if defined(TM_ENGINE_USE_DSP)
static void conv_portable(const tm_conv_params_t* p, const int8_t* in, int8_t* out)
#else
void tm_conv_s8(const tm_conv_params_t* p, const int8_t* in, int8_t* out)
#endif
{
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

#if defined(TM_ENGINE_USE_DSP)
#ifndef TM_CONV_DSP_PATCH_MAX
#define TM_CONV_DSP_PATCH_MAX 1152 /* bytes of one output pixel's input patch (stack; a multiple of 4) */
#endif

/* The input patch of output pixel (oy, ox), taps in weight order, in_zp where padded. */
static void conv_gather(const tm_conv_params_t* p, const int8_t* in_b, int32_t oy, int32_t ox, int8_t* dst) {
  const int32_t in_c = p->in_c, in_h = p->in_h, in_w = p->in_w;
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int32_t ky, kx, i;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dil_h;
    for (kx = 0; kx < p->k_w; ++kx, dst += in_c) {
      const int32_t ix = ix0 + kx * p->dil_w;
      if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
        const int8_t* src = in_b + ((size_t)iy * in_w + ix) * in_c;
        if (in_c < 8) {
          for (i = 0; i < in_c; ++i) dst[i] = src[i];
        } else {
          memcpy(dst, src, (size_t)in_c);
        }
      } else {
        for (i = 0; i < in_c; ++i) dst[i] = (int8_t)p->in_zp;
      }
    }
  }
}

/* DSP path for ungrouped convolutions whose input patch (k_h x k_w x in_c) fits
 * TM_CONV_DSP_PATCH_MAX: the patch of each output pixel is gathered once into a stack
 * buffer (in_zp where a tap is padded, as the portable path reads it). Patches of up to
 * TM_CONV_DSP_PATCH_MAX / 6 values go two pixels at a time: both patches are sign-extended
 * once into int16 pairs and every pair of output channels is a 2x2 block of SMLAD dot
 * products (tm_rows2_q15, as the pointwise path). Longer patches go one pixel at a time,
 * every pair of output channels one SMLAD dot product over it (tm_dot2_s8). */
void tm_conv_s8(const tm_conv_params_t* p, const int8_t* in, int8_t* out) {
  int32_t buf[TM_CONV_DSP_PATCH_MAX / 4];
  int8_t* const patch = (int8_t*)(void*)buf;
  /* locals: a store through int8_t* may alias the parameters */
  const int32_t in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t out_c = p->out_c, filter_len = k_h * k_w * in_c, out_w = p->out_w;
  const int32_t n_pix = p->out_h * out_w;
  const int32_t out_zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  const int8_t* const weights = p->weights;
  const int32_t* const bias = p->bias;
  const int32_t* const mult = p->mult;
  const int8_t* const shift = p->shift;
  int32_t b, pix, oc;
  if (p->filter_in_c != in_c || filter_len > TM_CONV_DSP_PATCH_MAX) {
    conv_portable(p, in, out);
    return;
  }
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in_b = in + (size_t)b * in_h * in_w * in_c;
    pix = 0;
    if (6 * filter_len <= TM_CONV_DSP_PATCH_MAX) {
      int8_t* const x0 = (int8_t*)(void*)(buf + filter_len);
      int8_t* const x1 = x0 + filter_len;
      for (; pix + 1 < n_pix; pix += 2) {
        conv_gather(p, in_b, pix / out_w, pix % out_w, x0);
        conv_gather(p, in_b, (pix + 1) / out_w, (pix + 1) % out_w, x1);
        tm_expand2_q15(x0, x1, filter_len & ~3, buf);
        tm_rows2_q15(weights, bias, mult, shift, out_c, filter_len, x0, x1, buf, out_zp, lo, hi, out, out + out_c);
        out += 2 * out_c;
      }
    }
    for (; pix < n_pix; ++pix) {
      conv_gather(p, in_b, pix / out_w, pix % out_w, patch);
      for (oc = 0; oc + 1 < out_c; oc += 2) {
        const int8_t* w0 = weights + (size_t)oc * filter_len;
        int32_t a0 = bias[oc], a1 = bias[oc + 1];
        tm_dot2_s8(w0, w0 + filter_len, patch, filter_len, &a0, &a1);
        out[0] = tm_requant_dsp(a0, mult[oc], shift[oc], out_zp, lo, hi);
        out[1] = tm_requant_dsp(a1, mult[oc + 1], shift[oc + 1], out_zp, lo, hi);
        out += 2;
      }
      if (oc < out_c) {
        const int32_t acc = bias[oc] + tm_dot_s8(weights + (size_t)oc * filter_len, patch, filter_len);
        *out++ = tm_requant_dsp(acc, mult[oc], shift[oc], out_zp, lo, hi);
      }
    }
  }
}
#endif
