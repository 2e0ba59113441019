/* tm_eng_mean.c - MEAN int8 over any set of axes (C99).
 *
 * TFLite Micro reference: reference_ops::QuantizedMeanOrSum (compute_sum = false): the
 * int32 sum of the reduced elements minus zp_in * count, times the input/output scale
 * multiplier with 1/count folded in (compile time, as TFLite Micro folds it), plus the
 * output zero point. Output elements in the order of the kept axes.
 */
#include "tm_engine.h"

void tm_mean_s8(const tm_mean_params_t* p, const int8_t* in, int8_t* out) {
  int32_t o0, o1, o2, o3, r0, r1, r2, r3;
  for (o0 = 0; o0 < p->outer_dims[0]; ++o0)
    for (o1 = 0; o1 < p->outer_dims[1]; ++o1)
      for (o2 = 0; o2 < p->outer_dims[2]; ++o2)
        for (o3 = 0; o3 < p->outer_dims[3]; ++o3) {
          const int8_t* base = in + o0 * p->outer_strides[0] + o1 * p->outer_strides[1] +
                               o2 * p->outer_strides[2] + o3 * p->outer_strides[3];
          int32_t sum = 0;
          int32_t r;
          for (r0 = 0; r0 < p->inner_dims[0]; ++r0)
            for (r1 = 0; r1 < p->inner_dims[1]; ++r1)
              for (r2 = 0; r2 < p->inner_dims[2]; ++r2)
                for (r3 = 0; r3 < p->inner_dims[3]; ++r3)
                  sum += base[r0 * p->inner_strides[0] + r1 * p->inner_strides[1] +
                              r2 * p->inner_strides[2] + r3 * p->inner_strides[3]];
          r = tm_mbqm(sum - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
          *out++ = (int8_t)tm_clamp(r, -128, 127);
        }
}
