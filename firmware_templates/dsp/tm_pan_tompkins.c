/* tm_pan_tompkins.c - see tm_pan_tompkins.h (C twin of common/dsp/qrs.py). */
#include "tm_pan_tompkins.h"

#include <string.h>

#ifdef PANTOMP_IMPLEMENTATION_VERSION
#if PANTOMP_IMPLEMENTATION_VERSION != 1
#error "tm_pan_tompkins.c implements PANTOMP_IMPLEMENTATION_VERSION 1; regenerate dsp_params.h or update firmware_templates/dsp"
#endif

static const float kHpSos[6 * PANTOMP_HP_SECTIONS] = PANTOMP_HP_SOS;
static const float kBpSos[6 * PANTOMP_BP_SECTIONS] = PANTOMP_BP_SOS;

void tm_pantomp_reset(tm_pantomp_t* s) {
  tm_biquad_reset(&s->hp);
  tm_biquad_reset(&s->bp);
  memset(s->hist, 0, sizeof(s->hist));
  memset(s->ring, 0, sizeof(s->ring));
  s->pos = 0;
}

int tm_pantomp_init(tm_pantomp_t* s) {
  if (s == 0) return -1;
  if (tm_biquad_init(&s->hp, kHpSos, PANTOMP_HP_SECTIONS, s->hp_state) != 0) return -1;
  if (tm_biquad_init(&s->bp, kBpSos, PANTOMP_BP_SECTIONS, s->bp_state) != 0) return -1;
  tm_pantomp_reset(s);
  return 0;
}

void tm_pantomp_push(tm_pantomp_t* s, float x, float* out3) {
  float hp, bp, d, sum = 0.0f;
  int i;
  tm_biquad_process(&s->hp, &x, &hp, 1);
  tm_biquad_process(&s->bp, &x, &bp, 1);
  d = (float)PANTOMP_DERIV_SCALE * (2.0f * bp + s->hist[0] - s->hist[2] - 2.0f * s->hist[3]);
  s->hist[3] = s->hist[2];
  s->hist[2] = s->hist[1];
  s->hist[1] = s->hist[0];
  s->hist[0] = bp;
  s->ring[s->pos] = d * d;
  s->pos = (s->pos + 1) % PANTOMP_N_INT;
  for (i = 0; i < PANTOMP_N_INT; ++i) sum += s->ring[i];
  out3[0] = hp;
  out3[1] = bp;
  out3[2] = sum / (float)PANTOMP_N_INT;
}
#endif
