/* hal_host.c - the host board's HAL: samples from stdin, results on stdout (C99).
 *
 * Input: whitespace-separated numbers on stdin, TM_INPUT_CHANNELS per frame, in the
 * training data's units (e.g. `python -c ...` or a text file: `./build/tinyml_app < in.txt`).
 * Time is simulated from the sample count (frames / TM_SAMPLE_RATE_HZ), so a run is
 * reproducible. Output: one JSON line per event on stdout; logs on stderr.
 */
#include <stdarg.h>
#include <stdio.h>

#include "hal.h"
#include "model_settings.h"

static uint64_t g_frames;

int hal_init(void) {
  g_frames = 0;
  return 0;
}

int hal_read_samples(float* dst, int max_frames) {
  int f, c;
  for (f = 0; f < max_frames; ++f) {
    for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
      if (scanf("%f", &dst[f * TM_INPUT_CHANNELS + c]) != 1) {
        if (c != 0) hal_log("hal_host: input ended inside a frame; %d value(s) dropped", c);
        return f > 0 ? f : -1;
      }
    }
    g_frames++;
  }
  return f;
}

uint32_t hal_timestamp_us(void) {
  return (uint32_t)((g_frames * 1000000u) / (uint64_t)TM_SAMPLE_RATE_HZ);
}

void hal_log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void hal_report(const tm_event_t* ev) {
  char line[256];
  tm_event_format(ev, line, sizeof(line));
  puts(line);
  fflush(stdout);
}
