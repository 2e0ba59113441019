/* tm_peaks.h - streaming peak detector with a refractory period (C99, float32).
 *
 * The C twin of common/dsp/peaks.py::detect_peaks: pushing a signal sample by sample
 * and flushing at the end yields exactly the indices detect_peaks returns for the
 * whole signal. Peaks come out in increasing order, about min_distance samples late.
 *
 *  1. Local maxima as scipy.signal.find_peaks: a sample or flat run higher than its
 *     neighbours; a flat run's peak is its middle sample (first + last) / 2.
 *  2. Threshold: mode TM_PEAKS_NONE, TM_PEAKS_ABSOLUTE (value >= threshold) or
 *     TM_PEAKS_ADAPTIVE (value >= factor * max of the `window` samples ending at the
 *     run's first sample; a monotonic deque keeps that running maximum in O(1)).
 *  3. Refractory period of min_distance samples, greedy in time: a peak closer than
 *     min_distance to the kept one replaces it if strictly higher, else is dropped.
 *
 * API
 * ---
 *   float dq_val[W]; int32_t dq_idx[W];          // W = window (adaptive mode only)
 *   tm_peaks_t p;
 *   tm_peaks_init(&p, min_distance, mode, threshold, factor, W, dq_val, dq_idx);
 *   int32_t idx[2];
 *   int k = tm_peaks_push(&p, x, idx);            // 0..2 confirmed peaks in idx[0..k-1]
 *   ...
 *   k = tm_peaks_flush(&p, idx);                  // end of signal: 0..1 more
 *
 * int tm_peaks_init(...)  returns 0, or -1 for bad arguments (min_distance < 1, window < 1
 *     or NULL buffers in adaptive mode); deque buffers are unused (may be NULL) otherwise.
 * void tm_peaks_reset(tm_peaks_t* p)  -- start a new signal (sample index 0).
 *
 * Generated-parameter API (PeakParams -> dsp_params.h, prefix PEAKS)
 *   int tm_peaks_params_init(tm_peaks_t* p, float dq_val[PEAKS_WINDOW],
 *                            int32_t dq_idx[PEAKS_WINDOW]);
 */
#ifndef TM_PEAKS_H
#define TM_PEAKS_H

#include <stdint.h>

#include "dsp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Threshold modes: the codes of PeakParams.C_ENUMS["threshold_mode"]. */
#define TM_PEAKS_NONE 0
#define TM_PEAKS_ABSOLUTE 1
#define TM_PEAKS_ADAPTIVE 2

typedef struct {
  int32_t min_distance;
  int mode;
  float threshold;
  float factor;
  int32_t window;
  float* dq_val; /* running-maximum deque (ring of `window` entries) */
  int32_t* dq_idx;
  int32_t dq_head;
  int32_t dq_len;
  int32_t t;       /* index of the next sample */
  float prev;      /* previous sample */
  int cand;        /* 1 while in a rise or the flat top after a rise */
  int32_t cand_start;
  int cand_ok;     /* the candidate passed the threshold at its first sample */
  int pending;     /* 1 when a kept peak awaits confirmation */
  int32_t pending_idx;
  float pending_val;
} tm_peaks_t;

int tm_peaks_init(tm_peaks_t* p, int32_t min_distance, int mode, float threshold, float factor,
                  int32_t window, float* dq_val, int32_t* dq_idx);
void tm_peaks_reset(tm_peaks_t* p);
int tm_peaks_push(tm_peaks_t* p, float x, int32_t* out);
int tm_peaks_flush(tm_peaks_t* p, int32_t* out);

#ifdef PEAKS_IMPLEMENTATION_VERSION
int tm_peaks_params_init(tm_peaks_t* p, float* dq_val, int32_t* dq_idx);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_PEAKS_H */
