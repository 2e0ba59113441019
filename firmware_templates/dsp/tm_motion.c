/* tm_motion.c - motion-artefact suppression of a PPG spectrum. See tm_motion.h. */
#include "tm_motion.h"

#include <stddef.h>

#ifdef MOTION_IMPLEMENTATION_VERSION
#if MOTION_IMPLEMENTATION_VERSION != 1
#error "tm_motion.c implements MOTION_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

int tm_motion_noise(const float* acc, int n_axes, int n_bins, int spread, float* work, float* noise) {
  int a, k, j;
  if (acc == NULL || work == NULL || noise == NULL || n_axes < 1 || n_bins < 1 || spread < 0) return -1;
  for (k = 0; k < n_bins; ++k) { /* the largest axis per bin */
    float m = acc[k];
    for (a = 1; a < n_axes; ++a) {
      if (acc[a * n_bins + k] > m) m = acc[a * n_bins + k];
    }
    work[k] = m;
  }
  for (k = 0; k < n_bins; ++k) { /* its running maximum over +- spread bins */
    const int lo = k - spread < 0 ? 0 : k - spread;
    const int hi = k + spread > n_bins - 1 ? n_bins - 1 : k + spread;
    float m = work[lo];
    for (j = lo + 1; j <= hi; ++j) {
      if (work[j] > m) m = work[j];
    }
    noise[k] = m;
  }
  return 0;
}

#ifdef MOTION_IMPLEMENTATION_VERSION
int tm_motion_init(tm_motion_t* s, int n_bins) {
  if (s == NULL || n_bins < 1 || n_bins > TM_MOTION_MAX_BINS) return -1;
  s->n_bins = n_bins;
  tm_motion_reset(s);
  return 0;
}

void tm_motion_reset(tm_motion_t* s) {
  if (s != NULL) s->started = 0;
}

int tm_motion_step(tm_motion_t* s, const float* ppg, const float* acc, int n_axes, float* out) {
  const float beta = (float)MOTION_STRENGTH;
  const float floor_g = (float)MOTION_GAIN_FLOOR;
  int k, n;
  if (s == NULL || ppg == NULL || out == NULL) return -1;
  n = s->n_bins;
  if (tm_motion_noise(acc, n_axes, n, MOTION_SPREAD_BINS, s->work, s->noise) != 0) return -1;
#if MOTION_RULE == TM_MOTION_WIENER
  {
    const float h = (float)MOTION_HISTORY;
    for (k = 0; k < n; ++k) {
      s->signal[k] = s->started ? h * s->signal[k] + (1.0f - h) * ppg[k] : ppg[k];
    }
    s->started = 1;
  }
#endif
  for (k = 0; k < n; ++k) {
#if MOTION_RULE == TM_MOTION_WIENER
    float g = s->signal[k] / (s->signal[k] + beta * s->noise[k] + 1e-12f);
#else
    float g = 1.0f - beta * s->noise[k];
#endif
    if (g < floor_g) g = floor_g;
    if (g > 1.0f) g = 1.0f;
    out[k] = ppg[k] * g;
  }
  return 0;
}
#endif
