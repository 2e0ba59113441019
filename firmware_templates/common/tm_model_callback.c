/* tm_model_callback.c - tm_model.h over a function pointer (tests only, C99).
 *
 * The suite's host-in-the-loop test (tests/test_firmware_host.py) builds the C runner as
 * a shared library with this file and sets the callback from Python with ctypes, so
 * that the REAL TFLite Micro runtime (the tflite-micro Python package) runs the model
 * while everything else is the device's C code. Not copied into board projects.
 */
#include <stddef.h>
#include <stdint.h>

#include "model_settings.h"
#include "tm_model.h"

typedef int (*tm_model_callback_t)(const int8_t* in, int n_in, int8_t* out, int n_out);

static tm_model_callback_t g_callback;

void tm_model_set_callback(tm_model_callback_t fn);
void tm_model_set_callback(tm_model_callback_t fn) { g_callback = fn; }

int tm_model_init(void) { return g_callback ? 0 : -1; }

int tm_model_invoke(const int8_t* in, int8_t* out) {
  if (!g_callback) return -1;
  return g_callback(in, TM_MODEL_INPUT_COUNT, out, TM_MODEL_OUTPUT_COUNT);
}

size_t tm_model_arena_used(void) { return 0; }
