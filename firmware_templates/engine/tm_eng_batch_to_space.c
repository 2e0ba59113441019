/* tm_eng_batch_to_space.c - BATCH_TO_SPACE_ND int8 (C99).
 *
 * TFLite reference: reference_ops::BatchToSpaceND: input batch b reads into output batch
 * b % out_batch at (iy * block_h + (b / out_batch) / block_w - crop_top,
 * ix * block_w + (b / out_batch) % block_w - crop_left); cropped pixels are dropped.
 */
#include <string.h>

#include "tm_engine.h"

void tm_batch_to_space_s8(const tm_space_batch_params_t* p, const int8_t* in, int8_t* out) {
  int32_t ib, iy, ix;
  for (ib = 0; ib < p->in_batch; ++ib) {
    const int32_t ob = ib % p->out_batch;
    const int32_t spatial = ib / p->out_batch;
    for (iy = 0; iy < p->in_h; ++iy) {
      const int32_t oy = iy * p->block_h + spatial / p->block_w - p->pad_top;
      if (oy < 0 || oy >= p->out_h) continue;
      for (ix = 0; ix < p->in_w; ++ix) {
        const int32_t ox = ix * p->block_w + spatial % p->block_w - p->pad_left;
        if (ox < 0 || ox >= p->out_w) continue;
        memcpy(out + (((size_t)ob * p->out_h + oy) * p->out_w + ox) * p->depth,
               in + (((size_t)ib * p->in_h + iy) * p->in_w + ix) * p->depth, (size_t)p->depth);
      }
    }
  }
}
