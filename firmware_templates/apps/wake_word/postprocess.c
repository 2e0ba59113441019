/* postprocess.c - wake_word's firmware hooks: posterior smoothing, threshold, suppression (C99).
 *
 * The C twin of apps/wake_word/postprocess.py (Detector): per inference
 *   1. smoothing: the mean of the last TM_APP_SMOOTH_WINDOWS output vectors (fewer at the
 *      start), summed oldest first in float32;
 *   2. the best keyword class k < TM_APP_N_KEYWORDS (silence / unknown are never reported)
 *      and its smoothed score s;
 *   3. report k when s >= the threshold and nothing was reported in the previous
 *      TM_APP_SUPPRESSION_WINDOWS inferences.
 * The threshold is the one calibrated on the validation stream (TM_APP_CAL_THRESHOLD)
 * or, without calibration, TM_APP_THRESHOLD. The suite's parity test feeds the same
 * posteriors to both implementations and requires identical detections.
 *
 * Event: kind TM_EVENT_CLASS, index k, label kCategoryLabels[k], value s (smoothed),
 * confidence = the raw (unsmoothed) output of k in this window.
 * RAM: (TM_APP_SMOOTH_WINDOWS + 1) x TM_MODEL_OUTPUT_COUNT floats and a few counters.
 */
#include <string.h>

#include "app_settings.h"
#include "model_settings.h"
#include "tm_app.h"

#if !defined(TM_APP_SMOOTH_WINDOWS) || !defined(TM_APP_SUPPRESSION_WINDOWS) || !defined(TM_APP_N_KEYWORDS)
#error "app_settings.h lacks the wake_word detector settings: regenerate it with tinyml deploy"
#endif
#if TM_APP_SMOOTH_WINDOWS < 1
#error "TM_APP_SMOOTH_WINDOWS must be >= 1"
#endif
#if TM_APP_N_KEYWORDS < 1 || TM_APP_N_KEYWORDS > TM_MODEL_OUTPUT_COUNT
#error "TM_APP_N_KEYWORDS must be in [1, TM_MODEL_OUTPUT_COUNT]"
#endif

#ifdef TM_APP_CAL_THRESHOLD
#define WW_THRESHOLD TM_APP_CAL_THRESHOLD
#else
#define WW_THRESHOLD TM_APP_THRESHOLD
#endif

static float g_history[TM_APP_SMOOTH_WINDOWS][TM_MODEL_OUTPUT_COUNT];
static float g_smoothed[TM_MODEL_OUTPUT_COUNT];
static int g_next;  /* history slot of the next vector */
static int g_count; /* vectors in the history, up to TM_APP_SMOOTH_WINDOWS */
static int g_hold;  /* inferences still muted after a detection */

int tm_app_init(void) {
  memset(g_history, 0, sizeof(g_history));
  memset(g_smoothed, 0, sizeof(g_smoothed));
  g_next = 0;
  g_count = 0;
  g_hold = 0;
  return 0;
}

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  int c, j, best = 0;
  int oldest;
  if (io->n_outputs != TM_MODEL_OUTPUT_COUNT) return -1;
  for (c = 0; c < TM_MODEL_OUTPUT_COUNT; ++c) g_history[g_next][c] = io->outputs[c];
  g_next = (g_next + 1) % TM_APP_SMOOTH_WINDOWS;
  if (g_count < TM_APP_SMOOTH_WINDOWS) g_count++;
  oldest = (g_next - g_count + TM_APP_SMOOTH_WINDOWS) % TM_APP_SMOOTH_WINDOWS;
  for (c = 0; c < TM_MODEL_OUTPUT_COUNT; ++c) {
    float acc = 0.0f;
    for (j = 0; j < g_count; ++j) acc += g_history[(oldest + j) % TM_APP_SMOOTH_WINDOWS][c];
    g_smoothed[c] = acc / (float)g_count;
  }
  for (c = 1; c < TM_APP_N_KEYWORDS; ++c) {
    if (g_smoothed[c] > g_smoothed[best]) best = c;
  }
  if (g_hold > 0) {
    g_hold--;
    return 0;
  }
  if (g_smoothed[best] >= WW_THRESHOLD) {
    g_hold = TM_APP_SUPPRESSION_WINDOWS;
    ev->kind = TM_EVENT_CLASS;
    ev->index = best;
    ev->label = best < kCategoryCount ? kCategoryLabels[best] : 0;
    ev->value = g_smoothed[best];
    ev->confidence = io->outputs[best];
    return 1;
  }
  return 0;
}
