/* tm_logmel.c - log-mel energies of one frame from dsp_params.h. See tm_logmel.h. */
#include "tm_logmel.h"

#include <stddef.h>

#if LOGMEL_IMPLEMENTATION_VERSION != 1
#error "tm_logmel.c implements LogMelParams IMPLEMENTATION_VERSION 1; dsp_params.h says otherwise (regenerate it or update the C code)"
#endif
#if LOGMEL_N_FFT > TM_FFT_MAX_N
#error "LOGMEL_N_FFT exceeds TM_FFT_MAX_N (tm_fft.h, default 1024): compile every file with -DTM_FFT_MAX_N=<a power of two >= n_fft>"
#endif
#if LOGMEL_CENTER != 0
#error "LogMelParams.center=True cannot run on a device (frames are cut from a stream); train with center=False"
#endif

int tm_logmel_init(tm_logmel_t* s) {
  tm_logmel_config_t cfg;
  tm_logmel_storage_t mem;
  if (s == NULL) return TM_MEL_ERR_ARG;
  cfg.sample_rate = LOGMEL_SAMPLE_RATE;
  cfg.frame_length = LOGMEL_FRAME_LENGTH;
  cfg.n_fft = LOGMEL_N_FFT;
  cfg.window = LOGMEL_WINDOW;
  cfg.periodic_window = LOGMEL_PERIODIC_WINDOW;
  cfg.n_mels = LOGMEL_N_MELS;
  cfg.fmin = (double)LOGMEL_FMIN;
  cfg.fmax = (double)LOGMEL_FMAX;
  cfg.mel_scale = LOGMEL_MEL_SCALE;
  cfg.mel_norm = LOGMEL_MEL_NORM;
  cfg.power = LOGMEL_POWER;
  cfg.log_kind = LOGMEL_LOG;
  cfg.log_offset = LOGMEL_LOG_OFFSET;
  cfg.log_floor = LOGMEL_LOG_FLOOR;
  mem.window = s->window;
  mem.fft_in = s->fft_in;
  mem.fft_out = s->fft_out;
  mem.band_start = s->band_start;
  mem.band_len = s->band_len;
  mem.weights = s->weights;
  mem.weights_capacity = TM_MEL_MAX_WEIGHTS(LOGMEL_N_FFT);
  return tm_logmel_core_init(&s->core, &cfg, &mem);
}

void tm_logmel_compute(tm_logmel_t* s, const float* frame, float* out) {
  tm_logmel_core_compute(&s->core, frame, out);
}

int tm_logmel_compute_clip(tm_logmel_t* s, const float* x, int n_samples, float* out) {
  int t, n_frames;
  if (n_samples < LOGMEL_FRAME_LENGTH) return 0;
  n_frames = 1 + (n_samples - LOGMEL_FRAME_LENGTH) / LOGMEL_HOP_LENGTH;
  for (t = 0; t < n_frames; ++t) {
    tm_logmel_compute(s, x + t * LOGMEL_HOP_LENGTH, out + t * LOGMEL_N_MELS);
  }
  return n_frames;
}
