/* tm_engine_broadcast.h - the 6-D broadcast walk shared by ADD, SUB and MUL (C99).
 *
 * TM_BROADCAST_LOOP(p, i1, i2, BODY) runs BODY once per output element, in output
 * order, with i1 / i2 the element offsets into the two inputs (strides 0 along
 * broadcast dimensions). The compiler merges dimensions, so an un-broadcast operation
 * is one loop of dims[5] elements.
 */
#ifndef TM_ENGINE_BROADCAST_H
#define TM_ENGINE_BROADCAST_H

#include "tm_engine.h"

#define TM_BROADCAST_LOOP(p, i1, i2, BODY)                                                     \
  do {                                                                                       \
    int32_t d0_, d1_, d2_, d3_, d4_, d5_;                                                    \
    for (d0_ = 0; d0_ < (p)->dims[0]; ++d0_)                                                 \
      for (d1_ = 0; d1_ < (p)->dims[1]; ++d1_)                                               \
        for (d2_ = 0; d2_ < (p)->dims[2]; ++d2_)                                             \
          for (d3_ = 0; d3_ < (p)->dims[3]; ++d3_)                                           \
            for (d4_ = 0; d4_ < (p)->dims[4]; ++d4_) {                                       \
              const int32_t b1_ = d0_ * (p)->in1_strides[0] + d1_ * (p)->in1_strides[1] +    \
                                  d2_ * (p)->in1_strides[2] + d3_ * (p)->in1_strides[3] +    \
                                  d4_ * (p)->in1_strides[4];                                 \
              const int32_t b2_ = d0_ * (p)->in2_strides[0] + d1_ * (p)->in2_strides[1] +    \
                                  d2_ * (p)->in2_strides[2] + d3_ * (p)->in2_strides[3] +    \
                                  d4_ * (p)->in2_strides[4];                                 \
              for (d5_ = 0; d5_ < (p)->dims[5]; ++d5_) {                                     \
                const int32_t i1 = b1_ + d5_ * (p)->in1_strides[5];                          \
                const int32_t i2 = b2_ + d5_ * (p)->in2_strides[5];                          \
                BODY                                                                         \
              }                                                                              \
            }                                                                                \
  } while (0)

#endif /* TM_ENGINE_BROADCAST_H */
