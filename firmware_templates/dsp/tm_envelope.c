/* tm_envelope.c - Hilbert envelope and envelope spectrum. See tm_envelope.h. */
#include "tm_envelope.h"

#include <math.h>
#include <stddef.h>

#include "tm_frames.h"

#ifdef ENVSPEC_IMPLEMENTATION_VERSION
#if ENVSPEC_IMPLEMENTATION_VERSION != 1
#error "tm_envelope.c implements ENVSPEC_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

int tm_hilbert_envelope(const tm_rfft_t* fft, const float* x, float* env, float* work) {
  int n, half, k, t;
  float* spec;
  float* h;
  float inv_n;
  if (fft == NULL || x == NULL || env == NULL || work == NULL) return -1;
  n = tm_rfft_n(fft);
  half = n / 2;
  spec = work;        /* n + 2: X, then R */
  h = work + n + 2;   /* n: the Hartley sequence of -j sign(k) X */
  tm_rfft(fft, x, spec);
  h[0] = 0.0f;
  h[half] = 0.0f;
  for (k = 1; k < half; ++k) {
    const float re = spec[2 * k], im = spec[2 * k + 1];
    h[k] = im + re;
    h[n - k] = im - re;
  }
  tm_rfft(fft, h, spec);
  inv_n = 1.0f / (float)n;
  for (t = 0; t <= half; ++t) {
    const float ht = (spec[2 * t] - spec[2 * t + 1]) * inv_n;
    env[t] = sqrtf(x[t] * x[t] + ht * ht);
  }
  for (t = half + 1; t < n; ++t) {
    const float ht = (spec[2 * (n - t)] + spec[2 * (n - t) + 1]) * inv_n;
    env[t] = sqrtf(x[t] * x[t] + ht * ht);
  }
  return 0;
}

#ifdef ENVSPEC_IMPLEMENTATION_VERSION
#if ENVSPEC_N_FFT > TM_FFT_MAX_N
#error "ENVSPEC_N_FFT exceeds TM_FFT_MAX_N: build tm_fft.c with -DTM_FFT_MAX_N=<window length>"
#endif
#if ENVSPEC_N_BINS > ENVSPEC_N_FFT / 2 + 1
#error "ENVSPEC_N_BINS exceeds the rfft bins of ENVSPEC_N_FFT"
#endif

int tm_envspec_init(tm_envspec_t* s) {
  int i;
  if (s == NULL) return -1;
  if (tm_rfft_init(&s->fft, ENVSPEC_N_FFT) != 0) return -1;
  if (tm_butter_init(&s->bandpass, s->bandpass_state) != 0) return -1;
  if (tm_window_fill(s->window, ENVSPEC_N_FFT, ENVSPEC_WINDOW, 1) != 0) return -1;
  s->sum_w = 0.0f;
  for (i = 0; i < ENVSPEC_N_FFT; ++i) s->sum_w += s->window[i];
  return 0;
}

int tm_envspec_compute(tm_envspec_t* s, const float* x, float* filtered, float* work, float* amp) {
  const int n = ENVSPEC_N_FFT;
  float* env = work;          /* n */
  float* scratch = work + n;  /* 2 n + 2 */
  float mean = 0.0f;
  float scale;
  int i, k;
  if (s == NULL || x == NULL || filtered == NULL || work == NULL || amp == NULL) return -1;
  tm_biquad_reset(&s->bandpass);
  tm_biquad_process(&s->bandpass, x, filtered, n);
  if (tm_hilbert_envelope(&s->fft, filtered, env, scratch) != 0) return -1;
  for (i = 0; i < n; ++i) mean += env[i];
  mean /= (float)n;
  for (i = 0; i < n; ++i) env[i] = (env[i] - mean) * s->window[i];
  tm_rfft(&s->fft, env, scratch);
  scale = 2.0f / s->sum_w;
  for (k = 0; k < ENVSPEC_N_BINS; ++k) {
    const float re = scratch[2 * k], im = scratch[2 * k + 1];
    amp[k] = sqrtf(re * re + im * im) * scale;
  }
  amp[0] *= 0.5f;
#if ENVSPEC_N_BINS == ENVSPEC_N_FFT / 2 + 1
  amp[ENVSPEC_N_BINS - 1] *= 0.5f;
#endif
  return 0;
}
#endif
