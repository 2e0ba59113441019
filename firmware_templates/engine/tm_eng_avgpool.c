/* tm_eng_avgpool.c - AVERAGE_POOL_2D, int8 (C99).
 *
 * TFLite Micro reference: reference_integer_ops::AveragePool. Padded taps are not
 * counted; the sum is divided by the number of taps inside the image, rounding half
 * away from zero with C integer division, then clamped to the activation range.
 */
#include "tm_engine.h"

void tm_avgpool_s8(const tm_pool_params_t* p, const int8_t* in, int8_t* out) {
  int32_t b, oy, ox, c, fy, fx;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* in_b = in + (size_t)b * p->in_h * p->in_w * p->channels;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
      const int32_t fy1 = p->in_h - iy0 < p->k_h ? p->in_h - iy0 : p->k_h;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t fx1 = p->in_w - ix0 < p->k_w ? p->in_w - ix0 : p->k_w;
        const int32_t count = (fy1 - fy0) * (fx1 - fx0);
        for (c = 0; c < p->channels; ++c) {
          int32_t acc = 0;
          for (fy = fy0; fy < fy1; ++fy) {
            const int8_t* row = in_b + (size_t)(iy0 + fy) * p->in_w * p->channels + c;
            for (fx = fx0; fx < fx1; ++fx) acc += row[(size_t)(ix0 + fx) * p->channels];
          }
          if (count > 0) {
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          *out++ = (int8_t)tm_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}
