/* tm_eng_space_to_batch.c - SPACE_TO_BATCH_ND int8 (C99).
 *
 * TFLite reference: reference_ops::SpaceToBatchND: output batch b' = (sh * block_w + sw)
 * * in_batch + b reads input pixel (oy * block_h + sh - pad_top, ox * block_w + sw -
 * pad_left); pixels in the padding get pad_value. (Dilated depthwise convolutions are
 * converted to SPACE_TO_BATCH_ND -> DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND.)
 */
#include <string.h>

#include "tm_engine.h"

void tm_space_to_batch_s8(const tm_space_batch_params_t* p, const int8_t* in, int8_t* out) {
  int32_t ob, oy, ox;
  for (ob = 0; ob < p->out_batch; ++ob) {
    const int32_t b = ob % p->in_batch;
    const int32_t shift_w = (ob / p->in_batch) % p->block_w;
    const int32_t shift_h = (ob / p->in_batch) / p->block_w;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy = oy * p->block_h + shift_h - p->pad_top;
      for (ox = 0; ox < p->out_w; ++ox, out += p->depth) {
        const int32_t ix = ox * p->block_w + shift_w - p->pad_left;
        if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
          memset(out, (int8_t)p->pad_value, (size_t)p->depth);
        } else {
          memcpy(out, in + (((size_t)b * p->in_h + iy) * p->in_w + ix) * p->depth, (size_t)p->depth);
        }
      }
    }
  }
}
