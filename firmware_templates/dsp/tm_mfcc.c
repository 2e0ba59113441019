/* tm_mfcc.c - MFCCs of one frame from dsp_params.h. See tm_mfcc.h. */
#include "tm_mfcc.h"

#include <math.h>
#include <stddef.h>

#if MFCC_IMPLEMENTATION_VERSION != 1
#error "tm_mfcc.c implements MfccParams IMPLEMENTATION_VERSION 1; dsp_params.h says otherwise (regenerate it or update the C code)"
#endif
#if MFCC_N_FFT > TM_FFT_MAX_N
#error "MFCC_N_FFT exceeds TM_FFT_MAX_N (tm_fft.h, default 1024): compile every file with -DTM_FFT_MAX_N=<a power of two >= n_fft>"
#endif
#if MFCC_CENTER != 0
#error "MfccParams.center=True cannot run on a device (frames are cut from a stream); train with center=False"
#endif
#if MFCC_N_MFCC > MFCC_N_MELS
#error "MFCC_N_MFCC must be <= MFCC_N_MELS"
#endif

#define TM_MFCC_PI 3.14159265358979323846

/* Same operation order as common/dsp/mfcc.py (dct_matrix, lifter_weights) in double. */
static void tm_mfcc_fill_dct(float* dct, int n_mfcc, int n_mels, double lifter) {
  int k, m;
  for (k = 0; k < n_mfcc; ++k) {
    const double lift =
        (lifter > 0.0) ? 1.0 + (lifter / 2.0) * sin(TM_MFCC_PI * (double)(k + 1) / lifter) : 1.0;
    for (m = 0; m < n_mels; ++m) {
      double d = cos(TM_MFCC_PI * (double)k * (2.0 * (double)m + 1.0) / (2.0 * (double)n_mels)) *
                 sqrt(2.0 / (double)n_mels);
      if (k == 0) d *= sqrt(0.5);
      dct[k * n_mels + m] = (float)(lift * d);
    }
  }
}

int tm_mfcc_init(tm_mfcc_t* s) {
  tm_logmel_config_t cfg;
  tm_logmel_storage_t mem;
  if (s == NULL) return TM_MEL_ERR_ARG;
  if (MFCC_N_MFCC < 1 || !((double)MFCC_LIFTER >= 0.0)) return TM_MEL_ERR_ARG;
  cfg.sample_rate = MFCC_SAMPLE_RATE;
  cfg.frame_length = MFCC_FRAME_LENGTH;
  cfg.n_fft = MFCC_N_FFT;
  cfg.window = MFCC_WINDOW;
  cfg.periodic_window = MFCC_PERIODIC_WINDOW;
  cfg.n_mels = MFCC_N_MELS;
  cfg.fmin = (double)MFCC_FMIN;
  cfg.fmax = (double)MFCC_FMAX;
  cfg.mel_scale = MFCC_MEL_SCALE;
  cfg.mel_norm = MFCC_MEL_NORM;
  cfg.power = MFCC_POWER;
  cfg.log_kind = MFCC_LOG;
  cfg.log_offset = MFCC_LOG_OFFSET;
  cfg.log_floor = MFCC_LOG_FLOOR;
  mem.window = s->window;
  mem.fft_in = s->fft_in;
  mem.fft_out = s->fft_out;
  mem.band_start = s->band_start;
  mem.band_len = s->band_len;
  mem.weights = s->weights;
  mem.weights_capacity = TM_MEL_MAX_WEIGHTS(MFCC_N_FFT);
  tm_mfcc_fill_dct(s->dct, MFCC_N_MFCC, MFCC_N_MELS, (double)MFCC_LIFTER);
  return tm_logmel_core_init(&s->core, &cfg, &mem);
}

void tm_mfcc_compute(tm_mfcc_t* s, const float* frame, float* out) {
  int k, m;
  tm_logmel_core_compute(&s->core, frame, s->logmel);
  for (k = 0; k < MFCC_N_MFCC; ++k) {
    const float* row = s->dct + k * MFCC_N_MELS;
    float acc = 0.0f;
    for (m = 0; m < MFCC_N_MELS; ++m) acc += row[m] * s->logmel[m];
    out[k] = acc;
  }
}

int tm_mfcc_compute_clip(tm_mfcc_t* s, const float* x, int n_samples, float* out) {
  int t, n_frames;
  if (n_samples < MFCC_FRAME_LENGTH) return 0;
  n_frames = 1 + (n_samples - MFCC_FRAME_LENGTH) / MFCC_HOP_LENGTH;
  for (t = 0; t < n_frames; ++t) {
    tm_mfcc_compute(s, x + t * MFCC_HOP_LENGTH, out + t * MFCC_N_MFCC);
  }
  return n_frames;
}
