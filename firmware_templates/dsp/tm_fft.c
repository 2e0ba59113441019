/* tm_fft.c - real FFT for power-of-two lengths (C99, float32). See tm_fft.h. */
#include "tm_fft.h"

#include <math.h>
#include <stddef.h>

#if TM_FFT_VERSION != 1
#error "tm_fft.c implements TM_FFT_VERSION 1 but tm_fft.h declares another; use the matching pair"
#endif

/* pi to double precision (M_PI is not part of C99). */
#define TM_FFT_PI 3.14159265358979323846
#define TM_FFT_QUARTER (TM_FFT_MAX_N / 4)

/* g_tm_fft_cos[k] = cos(2 pi k / TM_FFT_MAX_N), k = 0..TM_FFT_MAX_N/4. */
static float g_tm_fft_cos[TM_FFT_QUARTER + 1];
static int g_tm_fft_ready = 0;

static void tm_fft_fill_table(void) {
  int k;
  for (k = 0; k <= TM_FFT_QUARTER; ++k) {
    g_tm_fft_cos[k] = (float)cos(2.0 * TM_FFT_PI * (double)k / (double)TM_FFT_MAX_N);
  }
  g_tm_fft_cos[TM_FFT_QUARTER] = 0.0f; /* exactly cos(pi/2) */
  g_tm_fft_ready = 1;
}

/* exp(-2 pi i K / TM_FFT_MAX_N) for 0 <= K < TM_FFT_MAX_N / 2, from the quarter table. */
static void tm_fft_twiddle(int big_k, float* wr, float* wi) {
  if (big_k <= TM_FFT_QUARTER) {
    *wr = g_tm_fft_cos[big_k];
    *wi = -g_tm_fft_cos[TM_FFT_QUARTER - big_k];
  } else {
    *wr = -g_tm_fft_cos[2 * TM_FFT_QUARTER - big_k];
    *wi = -g_tm_fft_cos[big_k - TM_FFT_QUARTER];
  }
}

static unsigned tm_fft_bitrev(unsigned v, int bits) {
  unsigned r = 0u;
  int b;
  for (b = 0; b < bits; ++b) {
    r = (r << 1) | (v & 1u);
    v >>= 1;
  }
  return r;
}

int tm_rfft_init(tm_rfft_t* s, int n) {
  int lg;
  if (s == NULL) return TM_FFT_ERR_NULL;
  if (n < 2 || n > TM_FFT_MAX_N || (n & (n - 1)) != 0) return TM_FFT_ERR_N;
  if (!g_tm_fft_ready) tm_fft_fill_table();
  lg = 0;
  while ((2 << lg) < n) ++lg; /* (1 << lg) == n / 2 */
  s->n = n;
  s->log2_half = lg;
  s->stride = TM_FFT_MAX_N / n;
  return 0;
}

int tm_rfft_n(const tm_rfft_t* s) { return s->n; }

void tm_rfft(const tm_rfft_t* s, const float* in, float* out) {
  const int n = s->n;
  const int m = n / 2; /* complex length */
  int j, k, len;

  /* Pack x[2j] + i x[2j+1] into bit-reversed positions. */
  for (j = 0; j < m; ++j) {
    const unsigned r = tm_fft_bitrev((unsigned)j, s->log2_half);
    out[2u * r] = in[2 * j];
    out[2u * r + 1u] = in[2 * j + 1];
  }

  /* Radix-2 decimation-in-time butterflies, in place: w_len^j = w_n^(j * n / len). */
  for (len = 2; len <= m; len <<= 1) {
    const int half = len >> 1;
    const int step = (n / len) * s->stride; /* in units of the TM_FFT_MAX_N table */
    for (j = 0; j < half; ++j) {
      float wr, wi;
      int start;
      tm_fft_twiddle(j * step, &wr, &wi);
      for (start = j; start < m; start += len) {
        float* a = out + 2 * start;
        float* b = a + 2 * half;
        const float tr = b[0] * wr - b[1] * wi;
        const float ti = b[0] * wi + b[1] * wr;
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
      }
    }
  }

  /* Split Z (length m) into the real transform X (m + 1 bins):
   *   Fe[k] = (Z[k] + conj(Z[m-k])) / 2,  Fo[k] = (Z[k] - conj(Z[m-k])) / 2i,
   *   X[k] = Fe[k] + W^k Fo[k],  X[m-k] = conj(Fe[k] - W^k Fo[k]),  W = exp(-2 pi i / n). */
  {
    const float z0r = out[0];
    const float z0i = out[1];
    out[0] = z0r + z0i;
    out[1] = 0.0f;
    out[2 * m] = z0r - z0i;
    out[2 * m + 1] = 0.0f;
  }
  for (k = 1; k <= m / 2; ++k) {
    const int k2 = m - k;
    const float ar = out[2 * k], ai = out[2 * k + 1];
    const float br = out[2 * k2], bi = out[2 * k2 + 1];
    const float fer = 0.5f * (ar + br);
    const float fei = 0.5f * (ai - bi);
    const float fo_r = 0.5f * (ai + bi);
    const float fo_i = -0.5f * (ar - br);
    float wr, wi;
    float tr, ti;
    tm_fft_twiddle(k * s->stride, &wr, &wi);
    tr = wr * fo_r - wi * fo_i;
    ti = wr * fo_i + wi * fo_r;
    out[2 * k2] = fer - tr;
    out[2 * k2 + 1] = ti - fei;
    out[2 * k] = fer + tr; /* written last: wins when k == k2 (k = m/2) */
    out[2 * k + 1] = fei + ti;
  }
}
