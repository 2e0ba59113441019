/* tm_model_replay.c - tm_model.h that replays recorded int8 outputs (host `make check`, C99).
 *
 * `make check` runs the device's C99 code (front end, quantisation, runner, app hooks)
 * without TensorFlow Lite Micro: tm_check.c loads the model outputs that the TFLM
 * runtime produced in Python for the same windows and hands them out in order here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model_settings.h"
#include "tm_model.h"

static const int8_t* g_outputs;
static int g_n_windows;
static int g_next;

void tm_model_replay_set(const int8_t* outputs, int n_windows);
void tm_model_replay_set(const int8_t* outputs, int n_windows) {
  g_outputs = outputs;
  g_n_windows = n_windows;
  g_next = 0;
}

int tm_model_init(void) { return 0; }

int tm_model_invoke(const int8_t* in, int8_t* out) {
  (void)in;
  if (!g_outputs || g_next >= g_n_windows) return -1;
  memcpy(out, g_outputs + (size_t)g_next * TM_MODEL_OUTPUT_COUNT, TM_MODEL_OUTPUT_COUNT);
  g_next++;
  return 0;
}

size_t tm_model_arena_used(void) { return 0; }
