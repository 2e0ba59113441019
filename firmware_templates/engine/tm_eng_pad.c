/* tm_eng_pad.c - PAD / PADV2 int8 (C99).
 *
 * TFLite reference: reference_ops::Pad: the output filled with the pad value (the output
 * zero point for PAD, the constant for PADV2), then every innermost row of the input
 * copied to its place.
 */
#include <string.h>

#include "tm_engine.h"

void tm_pad_s8(const tm_pad_params_t* p, const int8_t* in, int8_t* out) {
  int32_t stride[TM_ENGINE_MAX_DIMS];
  int32_t i0, i1, i2, i3, i4, k, total = 1;
  const int32_t* d = p->in_dims;
  const int32_t row = d[5];
  for (k = TM_ENGINE_MAX_DIMS - 1; k >= 0; --k) {
    stride[k] = total;
    total *= p->out_dims[k];
  }
  memset(out, (int8_t)p->value, (size_t)total);
  for (i0 = 0; i0 < d[0]; ++i0)
    for (i1 = 0; i1 < d[1]; ++i1)
      for (i2 = 0; i2 < d[2]; ++i2)
        for (i3 = 0; i3 < d[3]; ++i3)
          for (i4 = 0; i4 < d[4]; ++i4) {
            const int32_t o = (i0 + p->before[0]) * stride[0] + (i1 + p->before[1]) * stride[1] +
                              (i2 + p->before[2]) * stride[2] + (i3 + p->before[3]) * stride[3] +
                              (i4 + p->before[4]) * stride[4] + p->before[5];
            memcpy(out + o, in, (size_t)row);
            in += row;
          }
}
