/* tm_spectral.c - Welch PSD, band powers, log band energies, IMU spectral block. See tm_spectral.h. */
#include "tm_spectral.h"

#include <math.h>
#include <stddef.h>

#include "tm_frames.h"
#include "tm_stats.h"

#ifdef WELCH_IMPLEMENTATION_VERSION
#if WELCH_IMPLEMENTATION_VERSION != 1
#error "tm_spectral.c implements WELCH_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif
#ifdef BANDS_IMPLEMENTATION_VERSION
#if BANDS_IMPLEMENTATION_VERSION != 1
#error "tm_spectral.c implements BANDS_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif
#ifdef LBE_IMPLEMENTATION_VERSION
#if LBE_IMPLEMENTATION_VERSION != 1
#error "tm_spectral.c implements LBE_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif
#ifdef IMUSPEC_IMPLEMENTATION_VERSION
#if IMUSPEC_IMPLEMENTATION_VERSION != 1
#error "tm_spectral.c implements IMUSPEC_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

/* |X_k|^2 of one windowed (optionally mean-removed) segment, one-sided weights c_k,
 * accumulated into power[0..n/2]. seg: n floats of scratch, spec: n + 2 floats. */
static void tm_accumulate_power(const tm_rfft_t* fft, const float* x, const float* window, int n,
                                int detrend, float* seg, float* spec, float* power) {
  int i;
  float mean = 0.0f;
  if (detrend) {
    for (i = 0; i < n; ++i) mean += x[i];
    mean /= (float)n;
  }
  for (i = 0; i < n; ++i) seg[i] = (x[i] - mean) * window[i];
  tm_rfft(fft, seg, spec);
  for (i = 0; i <= n / 2; ++i) {
    const float re = spec[2 * i], im = spec[2 * i + 1];
    const float p = re * re + im * im;
    power[i] += (i == 0 || i == n / 2) ? p : 2.0f * p;
  }
}

int tm_welch_init(tm_welch_t* s, const float* window, int nperseg, int hop, int detrend) {
  int i;
  if (s == NULL || window == NULL || hop < 1) return -1;
  if (tm_rfft_init(&s->fft, nperseg) != 0) return -1;
  s->window = window;
  s->nperseg = nperseg;
  s->hop = hop;
  s->detrend = detrend;
  s->sum_w = 0.0f;
  s->sum_w2 = 0.0f;
  for (i = 0; i < nperseg; ++i) {
    s->sum_w += window[i];
    s->sum_w2 += window[i] * window[i];
  }
  return 0;
}

int tm_welch_power(const tm_welch_t* s, const float* x, int n, float* work, float* power) {
  const int m = s->nperseg;
  int i, start, n_seg = 0;
  if (n < m) return 0;
  for (i = 0; i <= m / 2; ++i) power[i] = 0.0f;
  for (start = 0; start + m <= n; start += s->hop) {
    tm_accumulate_power(&s->fft, x + start, s->window, m, s->detrend, work, work + m, power);
    ++n_seg;
  }
  for (i = 0; i <= m / 2; ++i) power[i] /= (float)n_seg;
  return n_seg;
}

void tm_band_sums(const float* spec, const int* lo, const int* hi, int n_bands, float scale,
                  float* out) {
  int b, k;
  for (b = 0; b < n_bands; ++b) {
    float acc = 0.0f;
    for (k = lo[b]; k < hi[b]; ++k) acc += spec[k];
    out[b] = scale * acc;
  }
}

#ifdef WELCH_IMPLEMENTATION_VERSION
int tm_welch_params_init(tm_welch_t* s, float* window) {
  if (tm_window_fill(window, WELCH_NPERSEG, WELCH_WINDOW, 1) != 0) return -1;
  return tm_welch_init(s, window, WELCH_NPERSEG, WELCH_HOP, WELCH_DETREND);
}

int tm_welch_psd(const tm_welch_t* s, const float* x, int n, float sample_rate, float* work,
                 float* psd) {
  int k;
  const int n_seg = tm_welch_power(s, x, n, work, psd);
  /* WELCH_SCALING: 0 density, 1 spectrum */
  const float scale = WELCH_SCALING == 0 ? 1.0f / (sample_rate * s->sum_w2)
                                         : 1.0f / (s->sum_w * s->sum_w);
  if (n_seg == 0) return 0;
  for (k = 0; k < WELCH_N_BINS; ++k) psd[k] *= scale;
  return n_seg;
}
#endif

#ifdef BANDS_IMPLEMENTATION_VERSION
static const int tm_bands_lo[BANDS_N_BANDS] = BANDS_BIN_LO;
static const int tm_bands_hi[BANDS_N_BANDS] = BANDS_BIN_HI;

void tm_bands(const float* spec, float* out) {
  int b;
  tm_band_sums(spec, tm_bands_lo, tm_bands_hi, BANDS_N_BANDS,
               BANDS_INTEGRATE ? BANDS_BIN_WIDTH : 1.0f, out);
  if (BANDS_LOG) {
    for (b = 0; b < BANDS_N_BANDS; ++b) out[b] = logf(out[b] + BANDS_LOG_FLOOR);
  }
}
#endif

#ifdef LBE_IMPLEMENTATION_VERSION
static const int tm_lbe_lo[LBE_N_BANDS] = LBE_BIN_LO;
static const int tm_lbe_hi[LBE_N_BANDS] = LBE_BIN_HI;

int tm_lbe_init(tm_lbe_t* s) {
  if (s == NULL) return -1;
  if (tm_rfft_init(&s->fft, LBE_N_FFT) != 0) return -1;
  return tm_window_fill(s->window, LBE_N_FFT, LBE_WINDOW, 1);
}

void tm_lbe_frame(const tm_lbe_t* s, const float* frame, float* work, float* out) {
  float* power = work; /* reuses the segment scratch once the FFT has run */
  int b, k;
  float* spec = work + LBE_N_FFT;
  for (k = 0; k < LBE_N_FFT; ++k) work[k] = frame[k] * s->window[k];
  tm_rfft(&s->fft, work, spec);
  for (k = 0; k <= LBE_N_FFT / 2; ++k) {
    const float re = spec[2 * k], im = spec[2 * k + 1];
    const float p = re * re + im * im;
    power[k] = (k == 0 || k == LBE_N_FFT / 2) ? p : 2.0f * p;
  }
  tm_band_sums(power, tm_lbe_lo, tm_lbe_hi, LBE_N_BANDS, 1.0f / (float)LBE_N_FFT, out);
  for (b = 0; b < LBE_N_BANDS; ++b) out[b] = logf(out[b] + LBE_LOG_FLOOR);
}
#endif

#ifdef IMUSPEC_IMPLEMENTATION_VERSION
static const int tm_imuspec_lo[IMUSPEC_N_BANDS] = IMUSPEC_BIN_LO;
static const int tm_imuspec_hi[IMUSPEC_N_BANDS] = IMUSPEC_BIN_HI;
#if IMUSPEC_N_SECTIONS > 0
static const float tm_imuspec_sos[6 * IMUSPEC_N_SECTIONS] = IMUSPEC_SOS;
#endif

int tm_imuspec_init(tm_imuspec_t* s) {
  if (s == NULL) return -1;
  if (tm_window_fill(s->window, IMUSPEC_NPERSEG, IMUSPEC_WINDOW, 1) != 0) return -1;
  if (tm_welch_init(&s->welch, s->window, IMUSPEC_NPERSEG, IMUSPEC_HOP, 1) != 0) return -1;
#if IMUSPEC_N_SECTIONS > 0
  if (tm_biquad_init(&s->filter, tm_imuspec_sos, IMUSPEC_N_SECTIONS, s->filter_state) != 0) return -1;
#endif
  return 0;
}

int tm_imuspec_axis(tm_imuspec_t* s, const float* x, int n, float* work, float* out) {
  float* y = work;                                     /* n */
  float* scratch = work + n;                           /* 2 * nperseg + 2 */
  float* power = scratch + 2 * IMUSPEC_NPERSEG + 2;    /* nperseg / 2 + 1 */
  float st[TM_STATS_COUNT];
  int i, b;
  if (n < IMUSPEC_NPERSEG) return -1;
#if IMUSPEC_N_SECTIONS > 0
  tm_biquad_reset(&s->filter); /* each window is filtered from a zero state */
  tm_biquad_process(&s->filter, x, y, n);
#else
  for (i = 0; i < n; ++i) y[i] = x[i];
#endif
  if (IMUSPEC_REMOVE_MEAN) {
    float mean = 0.0f;
    for (i = 0; i < n; ++i) mean += y[i];
    mean /= (float)n;
    for (i = 0; i < n; ++i) y[i] -= mean;
  }
  tm_stats_compute(y, n, IMUSPEC_FISHER, 0, st);
  out[0] = st[TM_STAT_RMS];
  out[1] = st[TM_STAT_SKEWNESS];
  out[2] = st[TM_STAT_KURTOSIS];
  tm_welch_power(&s->welch, y, n, scratch, power);
  /* Integrated Welch density: sum(psd) * df = sum(power) / (nperseg * sum w^2). */
  tm_band_sums(power, tm_imuspec_lo, tm_imuspec_hi, IMUSPEC_N_BANDS,
               1.0f / ((float)IMUSPEC_NPERSEG * s->welch.sum_w2), out + 3);
  if (IMUSPEC_LOG_BANDS) {
    for (b = 0; b < IMUSPEC_N_BANDS; ++b) out[3 + b] = logf(out[3 + b] + IMUSPEC_LOG_FLOOR);
  }
  return 0;
}
#endif
