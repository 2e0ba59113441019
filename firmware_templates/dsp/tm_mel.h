/* tm_mel.h - mel scale, mel filterbank and the per-frame log-mel core (C99, float32).
 *
 * C twin of common/dsp/mel.py and of the per-frame part of common/dsp/logmel.py.
 * The feature-specific files (tm_logmel.c, tm_mfcc.c) bind this core to the
 * LOGMEL_* / MFCC_* constants of the generated dsp_params.h and own its storage; use
 * those unless you need a runtime-configured front end.
 *
 * Mel scale (double precision, as numpy)
 * ---------
 * double tm_hz_to_mel(double hz, int scale);   scale: TM_MEL_SCALE_HTK / _SLANEY
 * double tm_mel_to_hz(double mel, int scale);
 *
 * Filterbank
 * ----------
 * n_mels + 2 edges evenly spaced in mel between fmin and fmax; band m is a triangle
 * rising linearly in Hz from edge m to m + 1 and falling to m + 2, sampled at the bin
 * frequencies k * sample_rate / n_fft; TM_MEL_NORM_SLANEY scales it by
 * 2 / (edge[m+2] - edge[m]). Weights are computed in double at init and rounded once to
 * float, and only each band's non-zero span is stored (band_start[m], band_len[m],
 * weights concatenated): at most 2 * (n_fft / 2 + 1) weights, TM_MEL_MAX_WEIGHTS(n_fft).
 *
 * Per-frame core
 * --------------
 *   frame (frame_length samples) -> * window -> zero-pad to n_fft -> tm_rfft
 *   -> |X|^power (power 1 or 2) -> band sums (in bin order, float32)
 *   -> log(max(E + log_offset, log_floor))  (ln, or 10 log10 for TM_LOG_DB)
 *
 * int tm_logmel_core_init(tm_logmel_core_t* c, const tm_logmel_config_t* cfg,
 *                         const tm_logmel_storage_t* mem)
 *     Checks cfg, fills the window and the sparse filterbank. Returns TM_MEL_OK or a
 *     negative TM_MEL_ERR_* code.
 * void tm_logmel_core_compute(const tm_logmel_core_t* c, const float* frame, float* out)
 *     out: n_mels log-mel energies of one frame. Uses mem's fft_in/fft_out as scratch
 *     (so one core must not be used by two threads at once).
 */
#ifndef TM_MEL_H
#define TM_MEL_H

#include "tm_fft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The numerics version of the core; tm_mel.c refuses to build against another. */
#define TM_MEL_VERSION 1

/* Codes: the C_ENUMS of common/dsp/logmel.py LogMelParams. */
#define TM_MEL_SCALE_HTK 0
#define TM_MEL_SCALE_SLANEY 1
#define TM_MEL_NORM_NONE 0
#define TM_MEL_NORM_SLANEY 1
#define TM_LOG_LN 0
#define TM_LOG_DB 1

#define TM_MEL_OK 0
#define TM_MEL_ERR_ARG (-1)      /* a size, code or frequency out of range */
#define TM_MEL_ERR_FFT (-2)      /* n_fft not a power of two <= TM_FFT_MAX_N */
#define TM_MEL_ERR_CAPACITY (-3) /* weights_capacity too small */
#define TM_MEL_ERR_EMPTY_BAND (-4) /* a band contains no FFT bin (too many bands) */

#define TM_MEL_MAX_WEIGHTS(n_fft) (2 * ((n_fft) / 2 + 1))

double tm_hz_to_mel(double hz, int scale);
double tm_mel_to_hz(double mel, int scale);

typedef struct {
  int sample_rate;     /* Hz */
  int frame_length;    /* samples per frame (window length) */
  int n_fft;           /* power of two >= frame_length */
  int window;          /* TM_WINDOW_* (tm_frames.h) */
  int periodic_window; /* 1 periodic, 0 symmetric */
  int n_mels;
  double fmin, fmax;   /* Hz, 0 <= fmin < fmax <= sample_rate / 2 */
  int mel_scale;       /* TM_MEL_SCALE_* */
  int mel_norm;        /* TM_MEL_NORM_* */
  int power;           /* 1 magnitude, 2 power */
  int log_kind;        /* TM_LOG_LN or TM_LOG_DB */
  float log_offset;    /* added before the log */
  float log_floor;     /* lower clamp after the offset */
} tm_logmel_config_t;

/* Caller-owned storage (sizes in elements). */
typedef struct {
  float* window;        /* [frame_length] */
  float* fft_in;        /* [n_fft] scratch */
  float* fft_out;       /* [n_fft + 2] scratch */
  int* band_start;      /* [n_mels] */
  int* band_len;        /* [n_mels] */
  float* weights;       /* [weights_capacity] */
  int weights_capacity; /* >= total non-zero weights; TM_MEL_MAX_WEIGHTS(n_fft) always is */
} tm_logmel_storage_t;

typedef struct {
  tm_logmel_config_t cfg;
  tm_logmel_storage_t mem;
  tm_rfft_t fft;
  int bin_lo, bin_hi; /* union of the bands' spans: bins [bin_lo, bin_hi) */
  int n_weights;      /* weights in use */
} tm_logmel_core_t;

int tm_mel_filterbank_init(const tm_logmel_config_t* cfg, int* band_start, int* band_len,
                           float* weights, int weights_capacity, int* n_weights);
int tm_logmel_core_init(tm_logmel_core_t* c, const tm_logmel_config_t* cfg,
                        const tm_logmel_storage_t* mem);
void tm_logmel_core_compute(const tm_logmel_core_t* c, const float* frame, float* out);

#ifdef __cplusplus
}
#endif

#endif /* TM_MEL_H */
