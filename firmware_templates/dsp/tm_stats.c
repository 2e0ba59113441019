/* tm_stats.c - time-domain statistics, float32. See tm_stats.h. */
#include "tm_stats.h"

#include <math.h>

#ifdef STATS_IMPLEMENTATION_VERSION
#if STATS_IMPLEMENTATION_VERSION != 1
#error "tm_stats.c implements STATS_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#if STATS_COUNT != TM_STATS_COUNT
#error "dsp_params.h STATS_COUNT differs from TM_STATS_COUNT"
#endif
#endif

/* Relative threshold below which a window counts as constant (stats.py _DEGENERATE_REL). */
#define TM_STATS_DEGENERATE_REL 1e-5f

void tm_stats_compute(const float* x, int n, int fisher, int zcr_center, float* out) {
  float sum = 0.0f, sq = 0.0f, peak = 0.0f, lo = x[0], hi = x[0];
  float m2 = 0.0f, m3 = 0.0f, m4 = 0.0f;
  float mean, sd, rms, skew, kurt, crest, zcr;
  const float inv_n = 1.0f / (float)n;
  int i, crossings = 0;

  for (i = 0; i < n; ++i) {
    const float v = x[i];
    const float a = fabsf(v);
    sum += v;
    sq += v * v;
    if (a > peak) peak = a;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  mean = sum * inv_n;
  for (i = 0; i < n; ++i) {
    const float d = x[i] - mean;
    const float d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 *= inv_n;
  m3 *= inv_n;
  m4 *= inv_n;
  sd = sqrtf(m2);
  rms = sqrtf(sq * inv_n);
  if (sd <= TM_STATS_DEGENERATE_REL * peak) {
    skew = 0.0f;
    kurt = 3.0f;
  } else {
    skew = m3 / (m2 * sd);
    kurt = m4 / (m2 * m2);
  }
  if (fisher) kurt -= 3.0f;
  crest = rms > 0.0f ? peak / rms : 0.0f;
  if (n > 1) {
    const float off = zcr_center ? mean : 0.0f;
    int prev = (x[0] - off) >= 0.0f;
    for (i = 1; i < n; ++i) {
      const int pos = (x[i] - off) >= 0.0f;
      crossings += pos != prev;
      prev = pos;
    }
    zcr = (float)crossings / (float)(n - 1);
  } else {
    zcr = 0.0f;
  }
  out[TM_STAT_MEAN] = mean;
  out[TM_STAT_STD] = sd;
  out[TM_STAT_RMS] = rms;
  out[TM_STAT_SKEWNESS] = skew;
  out[TM_STAT_KURTOSIS] = kurt;
  out[TM_STAT_CREST] = crest;
  out[TM_STAT_P2P] = hi - lo;
  out[TM_STAT_ZCR] = zcr;
}

#ifdef STATS_IMPLEMENTATION_VERSION
void tm_stats(const float* x, int n, float* out) {
  tm_stats_compute(x, n, STATS_FISHER, STATS_ZCR_CENTER, out);
}
#endif
