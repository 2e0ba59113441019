/* tm_biquad.c - cascade of biquads, Direct Form II transposed, float32. See tm_biquad.h. */
#include "tm_biquad.h"

#include <stddef.h>

#ifdef BUTTER_IMPLEMENTATION_VERSION
#if BUTTER_IMPLEMENTATION_VERSION != 1
#error "tm_biquad.c implements BUTTER_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

int tm_biquad_init(tm_biquad_t* f, const float* sos, int n_sections, float* state) {
  if (f == NULL || sos == NULL || state == NULL || n_sections < 1) return -1;
  f->sos = sos;
  f->state = state;
  f->n_sections = n_sections;
  tm_biquad_reset(f);
  return 0;
}

void tm_biquad_reset(tm_biquad_t* f) {
  int i;
  for (i = 0; i < 2 * f->n_sections; ++i) f->state[i] = 0.0f;
}

void tm_biquad_process(tm_biquad_t* f, const float* in, float* out, int n) {
  int i, s;
  for (i = 0; i < n; ++i) {
    float v = in[i];
    for (s = 0; s < f->n_sections; ++s) {
      const float* c = f->sos + 6 * s;
      float* z = f->state + 2 * s;
      const float y = c[0] * v + z[0];
      z[0] = c[1] * v - c[4] * y + z[1];
      z[1] = c[2] * v - c[5] * y;
      v = y;
    }
    out[i] = v;
  }
}

#ifdef BUTTER_IMPLEMENTATION_VERSION
const float tm_butter_sos[6 * BUTTER_N_SECTIONS] = BUTTER_SOS;

int tm_butter_init(tm_biquad_t* f, float* state) {
  return tm_biquad_init(f, tm_butter_sos, BUTTER_N_SECTIONS, state);
}
#endif
