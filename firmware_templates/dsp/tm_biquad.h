/* tm_biquad.h - cascade of biquads (second-order sections), float32, with state (C99).
 *
 * The C twin of common/dsp/filters.py: SosFilter / sosfilt (causal, zero initial
 * state). Each section runs in Direct Form II transposed, the form scipy.signal.sosfilt
 * uses:
 *
 *     y  = b0 * x + z0
 *     z0 = b1 * x - a1 * y + z1
 *     z1 = b2 * x - a2 * y
 *
 * Coefficients are rows [b0, b1, b2, a0, a1, a2] with a0 == 1 (scipy's sos layout; a0 is
 * not read). State persists across calls, so a stream processed in chunks of any sizes
 * gives the same output as one call on the whole signal.
 *
 * Kernel API (runtime coefficients; any number of independent filters)
 * ----------
 *   float state[2 * N_SECTIONS];
 *   tm_biquad_t f;
 *   tm_biquad_init(&f, sos, N_SECTIONS, state);      // zeroes the state
 *   tm_biquad_process(&f, in, out, n);                // in == out allowed
 *   tm_biquad_reset(&f);                              // back to the zero state
 *
 * Generated-parameter API (ButterworthParams -> dsp_params.h, prefix BUTTER)
 * -------------------------
 *   Compiled when dsp_params.h defines BUTTER_IMPLEMENTATION_VERSION:
 *   tm_butter_sos[6 * BUTTER_N_SECTIONS]   the float32 coefficients from Python
 *   int tm_butter_init(tm_biquad_t* f, float state[2 * BUTTER_N_SECTIONS])
 *
 * Accuracy (tests/test_c_parity_signal.py): float32 arithmetic against Python's float64
 * filtering of the same float32 coefficients; see the test for the stated tolerances.
 */
#ifndef TM_BIQUAD_H
#define TM_BIQUAD_H

#include "dsp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const float* sos; /* n_sections rows of 6 coefficients */
  float* state;     /* 2 * n_sections delays */
  int n_sections;
} tm_biquad_t;

/* Returns 0, or -1 for NULL pointers or n_sections < 1. */
int tm_biquad_init(tm_biquad_t* f, const float* sos, int n_sections, float* state);
void tm_biquad_reset(tm_biquad_t* f);
void tm_biquad_process(tm_biquad_t* f, const float* in, float* out, int n);

#ifdef BUTTER_IMPLEMENTATION_VERSION
extern const float tm_butter_sos[6 * BUTTER_N_SECTIONS];
int tm_butter_init(tm_biquad_t* f, float* state);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_BIQUAD_H */
