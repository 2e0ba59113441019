/* postprocess.c - the gesture app's firmware hooks (tm_app.h): smoothing and debounce.
 *
 * The same algorithm, in the same float32 order of operations, as
 * apps/gesture/postprocess.py::GestureDetector (tests/test_gesture_firmware.py compiles
 * this file on the host and compares its events with Python's, window by window):
 *
 *   1. keep the last TM_APP_SMOOTH_WINDOWS posterior vectors (the dequantised model
 *      outputs); average them: float sums in arrival order / how many there are;
 *   2. top = first index of the largest average, score = its value;
 *   3. for TM_APP_REFRACTORY_WINDOWS inferences after an event: report nothing;
 *   4. after an event, stay disarmed until an inference where top is a background class
 *      (TM_APP_EVENT_MASK 0) or score < TM_APP_THRESHOLD - a gesture stays in the
 *      sliding window for a whole window length and is reported once;
 *   5. report top when it is an event class with score >= TM_APP_THRESHOLD for
 *      TM_APP_MIN_CONSECUTIVE inferences in a row.
 *
 * Reported event: kind TM_EVENT_CLASS, index/label of the gesture, value = the smoothed
 * score, confidence = the latest raw posterior of that class. Static state only:
 * (TM_APP_SMOOTH_WINDOWS + 1) * TM_MODEL_OUTPUT_COUNT floats + 5 ints.
 */
#include <string.h>

#include "app_settings.h"
#include "model_settings.h"
#include "tm_app.h"

#if !defined(TM_APP_SMOOTH_WINDOWS) || !defined(TM_APP_THRESHOLD) || !defined(TM_APP_MIN_CONSECUTIVE) || \
    !defined(TM_APP_REFRACTORY_WINDOWS) || !defined(TM_APP_EVENT_MASK_COUNT)
#error "app_settings.h lacks the gesture constants (GestureApp.firmware_context): regenerate the project"
#endif
#if TM_APP_EVENT_MASK_COUNT != TM_MODEL_OUTPUT_COUNT
#error "TM_APP_EVENT_MASK must have one entry per model output"
#endif
#if TM_APP_SMOOTH_WINDOWS < 1 || TM_APP_MIN_CONSECUTIVE < 1 || TM_APP_REFRACTORY_WINDOWS < 0
#error "bad gesture debounce constants in app_settings.h"
#endif

#define K_SMOOTH TM_APP_SMOOTH_WINDOWS
#define K_CLASSES TM_MODEL_OUTPUT_COUNT

static const int k_event_mask[K_CLASSES] = TM_APP_EVENT_MASK_INIT;
static float g_ring[K_SMOOTH][K_CLASSES];
static float g_avg[K_CLASSES];
static int g_pos;      /* next slot of g_ring */
static int g_filled;   /* valid slots, <= K_SMOOTH */
static int g_cooldown; /* inferences left in the refractory period */
static int g_run;      /* consecutive inferences g_last has won */
static int g_last;     /* class of the current run, -1 none */
static int g_armed;    /* 0 after an event until a quiet inference */

int tm_app_init(void) {
  memset(g_ring, 0, sizeof(g_ring));
  memset(g_avg, 0, sizeof(g_avg));
  g_pos = 0;
  g_filled = 0;
  g_cooldown = 0;
  g_run = 0;
  g_last = -1;
  g_armed = 1;
  return 0;
}

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  int i, j, top, quiet;
  float score;
  if (io == 0 || ev == 0 || io->outputs == 0 || io->n_outputs != K_CLASSES) return -1;
  for (j = 0; j < K_CLASSES; ++j) g_ring[g_pos][j] = io->outputs[j];
  g_pos = (g_pos + 1) % K_SMOOTH;
  if (g_filled < K_SMOOTH) ++g_filled;
  for (j = 0; j < K_CLASSES; ++j) g_avg[j] = 0.0f;
  for (i = 0; i < g_filled; ++i) {
    const int slot = (g_pos - g_filled + i + K_SMOOTH) % K_SMOOTH;
    for (j = 0; j < K_CLASSES; ++j) g_avg[j] += g_ring[slot][j];
  }
  for (j = 0; j < K_CLASSES; ++j) g_avg[j] = g_avg[j] / (float)g_filled;
  top = 0;
  for (j = 1; j < K_CLASSES; ++j) {
    if (g_avg[j] > g_avg[top]) top = j;
  }
  score = g_avg[top];
  if (g_cooldown > 0) {
    --g_cooldown;
    g_run = 0;
    g_last = -1;
    return 0;
  }
  quiet = (!k_event_mask[top]) || score < TM_APP_THRESHOLD;
  if (!g_armed) {
    g_armed = quiet;
    g_run = 0;
    g_last = -1;
    return 0;
  }
  if (quiet) {
    g_run = 0;
    g_last = -1;
    return 0;
  }
  if (top == g_last) {
    ++g_run;
  } else {
    g_last = top;
    g_run = 1;
  }
  if (g_run < TM_APP_MIN_CONSECUTIVE) return 0;
  g_cooldown = TM_APP_REFRACTORY_WINDOWS;
  g_run = 0;
  g_last = -1;
  g_armed = 0;
  ev->kind = TM_EVENT_CLASS;
  ev->index = top;
  ev->label = kCategoryLabels[top];
  ev->value = score;
  ev->confidence = io->outputs[top];
  return 1;
}
