/* tm_peaks.c - streaming peak detector with a refractory period. See tm_peaks.h. */
#include "tm_peaks.h"

#include <stddef.h>

#ifdef PEAKS_IMPLEMENTATION_VERSION
#if PEAKS_IMPLEMENTATION_VERSION != 1
#error "tm_peaks.c implements PEAKS_IMPLEMENTATION_VERSION 1 but dsp_params.h has another; regenerate dsp_params.h or update firmware_templates/dsp"
#endif
#endif

int tm_peaks_init(tm_peaks_t* p, int32_t min_distance, int mode, float threshold, float factor,
                  int32_t window, float* dq_val, int32_t* dq_idx) {
  if (p == NULL || min_distance < 1) return -1;
  if (mode != TM_PEAKS_NONE && mode != TM_PEAKS_ABSOLUTE && mode != TM_PEAKS_ADAPTIVE) return -1;
  if (mode == TM_PEAKS_ADAPTIVE && (window < 1 || dq_val == NULL || dq_idx == NULL)) return -1;
  p->min_distance = min_distance;
  p->mode = mode;
  p->threshold = threshold;
  p->factor = factor;
  p->window = window;
  p->dq_val = dq_val;
  p->dq_idx = dq_idx;
  tm_peaks_reset(p);
  return 0;
}

void tm_peaks_reset(tm_peaks_t* p) {
  p->dq_head = 0;
  p->dq_len = 0;
  p->t = 0;
  p->prev = 0.0f;
  p->cand = 0;
  p->cand_start = 0;
  p->cand_ok = 0;
  p->pending = 0;
  p->pending_idx = 0;
  p->pending_val = 0.0f;
}

/* Running maximum of the last `window` samples, including x (index t). */
static float tm_peaks_running_max(tm_peaks_t* p, float x) {
  const int32_t cap = p->window;
  /* Drop smaller-or-equal values from the back: they can never be the maximum again. */
  while (p->dq_len > 0) {
    const int32_t back = (p->dq_head + p->dq_len - 1) % cap;
    if (p->dq_val[back] > x) break;
    --p->dq_len;
  }
  {
    const int32_t slot = (p->dq_head + p->dq_len) % cap;
    p->dq_val[slot] = x;
    p->dq_idx[slot] = p->t;
    ++p->dq_len;
  }
  /* Drop entries that left the window [t - window + 1, t]. */
  while (p->dq_idx[p->dq_head] <= p->t - cap) {
    p->dq_head = (p->dq_head + 1) % cap;
    --p->dq_len;
  }
  return p->dq_val[p->dq_head];
}

/* A thresholded local maximum at idx: greedy refractory rule. */
static int tm_peaks_offer(tm_peaks_t* p, int32_t idx, float val, int32_t* out) {
  int k = 0;
  if (p->pending && idx - p->pending_idx < p->min_distance) {
    if (val > p->pending_val) {
      p->pending_idx = idx;
      p->pending_val = val;
    }
    return 0;
  }
  if (p->pending) out[k++] = p->pending_idx;
  p->pending = 1;
  p->pending_idx = idx;
  p->pending_val = val;
  return k;
}

int tm_peaks_push(tm_peaks_t* p, float x, int32_t* out) {
  int k = 0;
  float run_max = 0.0f;
  if (p->mode == TM_PEAKS_ADAPTIVE) run_max = tm_peaks_running_max(p, x);
  if (p->t > 0) {
    if (x > p->prev) { /* a rise: a new candidate run starts here */
      p->cand = 1;
      p->cand_start = p->t;
      if (p->mode == TM_PEAKS_ABSOLUTE) {
        p->cand_ok = x >= p->threshold;
      } else if (p->mode == TM_PEAKS_ADAPTIVE) {
        p->cand_ok = x >= p->factor * run_max;
      } else {
        p->cand_ok = 1;
      }
    } else if (x < p->prev) { /* a fall: the run [cand_start, t - 1] was a local maximum */
      if (p->cand && p->cand_ok) {
        k += tm_peaks_offer(p, (p->cand_start + p->t - 1) / 2, p->prev, out + k);
      }
      p->cand = 0;
    }
  }
  p->prev = x;
  ++p->t;
  /* Confirm the kept peak once no future candidate can fall within min_distance of it:
   * future candidates lie at or after the current run's start, or after this sample. */
  if (p->pending) {
    const int32_t earliest = p->cand ? p->cand_start : p->t;
    if (earliest - p->pending_idx >= p->min_distance) {
      out[k++] = p->pending_idx;
      p->pending = 0;
    }
  }
  return k;
}

int tm_peaks_flush(tm_peaks_t* p, int32_t* out) {
  int k = 0;
  if (p->pending) {
    out[k++] = p->pending_idx;
    p->pending = 0;
  }
  return k;
}

#ifdef PEAKS_IMPLEMENTATION_VERSION
int tm_peaks_params_init(tm_peaks_t* p, float* dq_val, int32_t* dq_idx) {
  return tm_peaks_init(p, PEAKS_MIN_DISTANCE, PEAKS_THRESHOLD_MODE, PEAKS_THRESHOLD,
                       PEAKS_ADAPTIVE_FACTOR, PEAKS_WINDOW, dq_val, dq_idx);
}
#endif
