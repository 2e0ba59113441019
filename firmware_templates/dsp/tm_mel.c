/* tm_mel.c - mel scale, mel filterbank and the per-frame log-mel core. See tm_mel.h. */
#include "tm_mel.h"

#include <math.h>
#include <stddef.h>

#include "tm_frames.h"

#if TM_MEL_VERSION != 1
#error "tm_mel.c implements TM_MEL_VERSION 1 but tm_mel.h declares another; use the matching pair"
#endif

/* Slaney scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
#define TM_MEL_F_SP (200.0 / 3.0)
#define TM_MEL_F_BREAK 1000.0

static double tm_mel_logstep(void) { return log(6.4) / 27.0; }

double tm_hz_to_mel(double hz, int scale) {
  if (scale == TM_MEL_SCALE_HTK) return 2595.0 * log10(1.0 + hz / 700.0);
  if (hz >= TM_MEL_F_BREAK) {
    return TM_MEL_F_BREAK / TM_MEL_F_SP + log(hz / TM_MEL_F_BREAK) / tm_mel_logstep();
  }
  return hz / TM_MEL_F_SP;
}

double tm_mel_to_hz(double mel, int scale) {
  const double mel_break = TM_MEL_F_BREAK / TM_MEL_F_SP;
  if (scale == TM_MEL_SCALE_HTK) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
  if (mel >= mel_break) return TM_MEL_F_BREAK * exp(tm_mel_logstep() * (mel - mel_break));
  return TM_MEL_F_SP * mel;
}

/* Edge i of n_edges, evenly spaced in mel (numpy.linspace: i * step + start, exact end). */
static double tm_mel_edge(const tm_logmel_config_t* cfg, int i, int n_edges) {
  const double lo = tm_hz_to_mel(cfg->fmin, cfg->mel_scale);
  const double hi = tm_hz_to_mel(cfg->fmax, cfg->mel_scale);
  double mel;
  if (i == n_edges - 1) {
    mel = hi;
  } else {
    const double step = (hi - lo) / (double)(n_edges - 1);
    mel = (double)i * step + lo;
  }
  return tm_mel_to_hz(mel, cfg->mel_scale);
}

static int tm_mel_check(const tm_logmel_config_t* cfg) {
  if (cfg->sample_rate < 1 || cfg->n_mels < 1 || cfg->frame_length < 1) return TM_MEL_ERR_ARG;
  if (cfg->n_fft < cfg->frame_length) return TM_MEL_ERR_ARG;
  if (!(cfg->fmin >= 0.0) || !(cfg->fmin < cfg->fmax)) return TM_MEL_ERR_ARG;
  if (cfg->fmax > 0.5 * (double)cfg->sample_rate) return TM_MEL_ERR_ARG;
  if (cfg->mel_scale != TM_MEL_SCALE_HTK && cfg->mel_scale != TM_MEL_SCALE_SLANEY) return TM_MEL_ERR_ARG;
  if (cfg->mel_norm != TM_MEL_NORM_NONE && cfg->mel_norm != TM_MEL_NORM_SLANEY) return TM_MEL_ERR_ARG;
  if (cfg->power != 1 && cfg->power != 2) return TM_MEL_ERR_ARG;
  if (cfg->log_kind != TM_LOG_LN && cfg->log_kind != TM_LOG_DB) return TM_MEL_ERR_ARG;
  if (!(cfg->log_offset >= 0.0f) || !(cfg->log_floor >= 0.0f)) return TM_MEL_ERR_ARG;
  if (cfg->log_offset == 0.0f && cfg->log_floor == 0.0f) return TM_MEL_ERR_ARG;
  return TM_MEL_OK;
}

int tm_mel_filterbank_init(const tm_logmel_config_t* cfg, int* band_start, int* band_len,
                           float* weights, int weights_capacity, int* n_weights) {
  const int n_bins = cfg->n_fft / 2 + 1;
  const int n_edges = cfg->n_mels + 2;
  const double bin_hz = (double)cfg->sample_rate / (double)cfg->n_fft;
  int m, k, used = 0;
  int rc = tm_mel_check(cfg);
  if (rc != TM_MEL_OK) return rc;
  for (m = 0; m < cfg->n_mels; ++m) {
    const double left = tm_mel_edge(cfg, m, n_edges);
    const double centre = tm_mel_edge(cfg, m + 1, n_edges);
    const double right = tm_mel_edge(cfg, m + 2, n_edges);
    const double enorm = (cfg->mel_norm == TM_MEL_NORM_SLANEY) ? 2.0 / (right - left) : 1.0;
    int first = -1, last = -1;
    /* Pass 1: the span of bins whose float32 weight is > 0 (as numpy's flatnonzero). */
    for (k = 0; k < n_bins; ++k) {
      const double f = (double)k * bin_hz;
      const double rising = (f - left) / (centre - left);
      const double falling = (right - f) / (right - centre);
      double w = rising < falling ? rising : falling;
      float wf;
      if (w < 0.0) w = 0.0;
      if (cfg->mel_norm == TM_MEL_NORM_SLANEY) w *= enorm;
      wf = (float)w;
      if (wf > 0.0f) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) return TM_MEL_ERR_EMPTY_BAND;
    if (used + (last - first + 1) > weights_capacity) return TM_MEL_ERR_CAPACITY;
    band_start[m] = first;
    band_len[m] = last - first + 1;
    /* Pass 2: store the span. */
    for (k = first; k <= last; ++k) {
      const double f = (double)k * bin_hz;
      const double rising = (f - left) / (centre - left);
      const double falling = (right - f) / (right - centre);
      double w = rising < falling ? rising : falling;
      if (w < 0.0) w = 0.0;
      if (cfg->mel_norm == TM_MEL_NORM_SLANEY) w *= enorm;
      weights[used++] = (float)w;
    }
  }
  *n_weights = used;
  return TM_MEL_OK;
}

int tm_logmel_core_init(tm_logmel_core_t* c, const tm_logmel_config_t* cfg,
                        const tm_logmel_storage_t* mem) {
  int rc, m;
  if (c == NULL || cfg == NULL || mem == NULL) return TM_MEL_ERR_ARG;
  if (mem->window == NULL || mem->fft_in == NULL || mem->fft_out == NULL ||
      mem->band_start == NULL || mem->band_len == NULL || mem->weights == NULL) {
    return TM_MEL_ERR_ARG;
  }
  rc = tm_mel_check(cfg);
  if (rc != TM_MEL_OK) return rc;
  if (tm_rfft_init(&c->fft, cfg->n_fft) != 0) return TM_MEL_ERR_FFT;
  if (tm_window_fill(mem->window, cfg->frame_length, cfg->window, cfg->periodic_window) != 0) {
    return TM_MEL_ERR_ARG;
  }
  rc = tm_mel_filterbank_init(cfg, mem->band_start, mem->band_len, mem->weights,
                              mem->weights_capacity, &c->n_weights);
  if (rc != TM_MEL_OK) return rc;
  c->cfg = *cfg;
  c->mem = *mem;
  c->bin_lo = mem->band_start[0];
  c->bin_hi = 0;
  for (m = 0; m < cfg->n_mels; ++m) {
    const int end = mem->band_start[m] + mem->band_len[m];
    if (mem->band_start[m] < c->bin_lo) c->bin_lo = mem->band_start[m];
    if (end > c->bin_hi) c->bin_hi = end;
  }
  return TM_MEL_OK;
}

void tm_logmel_core_compute(const tm_logmel_core_t* c, const float* frame, float* out) {
  const tm_logmel_config_t* cfg = &c->cfg;
  float* in = c->mem.fft_in;
  float* spec = c->mem.fft_out;
  const float* w = c->mem.weights;
  int i, k, m;

  /* Window, zero-pad at the end, FFT. */
  for (i = 0; i < cfg->frame_length; ++i) in[i] = frame[i] * c->mem.window[i];
  for (i = cfg->frame_length; i < cfg->n_fft; ++i) in[i] = 0.0f;
  tm_rfft(&c->fft, in, spec);

  /* |X[k]|^power for the bins the bands use, in place: spec[k] <- f(spec[2k], spec[2k+1])
   * (index k is written after 2k and 2k+1 are read, and later reads are at >= 2k + 2). */
  for (k = c->bin_lo; k < c->bin_hi; ++k) {
    const float re = spec[2 * k];
    const float im = spec[2 * k + 1];
    const float p = re * re + im * im;
    spec[k] = (cfg->power == 1) ? sqrtf(p) : p;
  }

  /* Band sums in bin order, then the log. */
  for (m = 0; m < cfg->n_mels; ++m) {
    const int start = c->mem.band_start[m];
    const int len = c->mem.band_len[m];
    float acc = 0.0f;
    for (k = 0; k < len; ++k) acc += w[k] * spec[start + k];
    w += len;
    acc += cfg->log_offset;
    if (acc < cfg->log_floor) acc = cfg->log_floor;
    out[m] = (cfg->log_kind == TM_LOG_LN) ? logf(acc) : 10.0f * log10f(acc);
  }
}
