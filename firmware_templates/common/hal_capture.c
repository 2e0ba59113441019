/* hal_capture.c - a HAL that records events in memory (tests only, C99).
 *
 * Used with tm_model_callback.c by the host-in-the-loop test; samples are pushed
 * straight into tm_runner_push, so hal_read_samples has nothing to read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hal.h"

#define CAPTURE_MAX_EVENTS 4096

static tm_event_t g_events[CAPTURE_MAX_EVENTS];
static int g_n_events;
static char g_last_log[256];

int hal_capture_count(void);
const tm_event_t* hal_capture_event(int i);
const char* hal_capture_last_log(void);
void hal_capture_clear(void);

int hal_init(void) { return 0; }
int hal_read_samples(float* dst, int max_frames) {
  (void)dst;
  (void)max_frames;
  return -1;
}
uint32_t hal_timestamp_us(void) { return 0u; }

void hal_log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_last_log, sizeof(g_last_log), fmt, ap);
  va_end(ap);
}

void hal_report(const tm_event_t* ev) {
  if (g_n_events < CAPTURE_MAX_EVENTS) g_events[g_n_events++] = *ev;
}

int hal_capture_count(void) { return g_n_events; }
const tm_event_t* hal_capture_event(int i) { return (i >= 0 && i < g_n_events) ? &g_events[i] : 0; }
const char* hal_capture_last_log(void) { return g_last_log; }
void hal_capture_clear(void) {
  g_n_events = 0;
  g_last_log[0] = '\0';
}
