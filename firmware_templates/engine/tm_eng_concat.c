/* tm_eng_concat.c - CONCATENATION int8 (C99).
 *
 * TFLite Micro's int8 kernel copies bytes (reference_ops::Concatenation, no
 * requantisation): for each of `outer` blocks, chunk[i] bytes from every input i in turn.
 */
#include <string.h>

#include "tm_engine.h"

void tm_concat_s8(const tm_concat_params_t* p, const int8_t* const* in, int8_t* out) {
  int32_t o, i;
  for (o = 0; o < p->outer; ++o) {
    for (i = 0; i < p->n_inputs; ++i) {
      const int32_t n = p->chunk[i];
      memcpy(out, in[i] + (size_t)o * n, (size_t)n);
      out += n;
    }
  }
}
