/* tm_main.c - the firmware's main loop pieces, called by each board's entry point
 * (main() on host and Pico, setup()/loop() on Arduino, app_main() on ESP-IDF) (C99).
 *
 * An app may replace this file (App.firmware_main); it must keep both functions.
 */
#include "hal.h"
#include "model_settings.h"
#include "tm_runner.h"

#ifndef TM_READ_FRAMES
#define TM_READ_FRAMES 64 /* frames fetched from the HAL per loop iteration */
#endif

static float g_read_buf[TM_READ_FRAMES * TM_INPUT_CHANNELS];

/* Start the HAL and the runner. Returns 0 on success. */
int tm_main_setup(void) {
  int status = hal_init();
  if (status != 0) {
    hal_log("tinyml: hal_init failed (%d)", status);
    return status;
  }
  status = tm_runner_init();
  if (status != 0) {
    hal_log("tinyml: tm_runner_init failed (%d)", status);
    return status;
  }
  hal_log("tinyml: %s ready: %d channel(s) at %d Hz, window %d, hop %d samples", TM_APP_NAME,
          (int)TM_INPUT_CHANNELS, (int)TM_SAMPLE_RATE_HZ, (int)TM_WINDOW_SAMPLES, (int)TM_HOP_SAMPLES);
  return 0;
}

/* Read what the sensor has and run the inferences that are due. Returns 0 to go on,
 * -1 at the end of the input (host boards reading a file). */
int tm_main_loop_once(void) {
  const int n = hal_read_samples(g_read_buf, TM_READ_FRAMES);
  if (n == -1) return -1;
  if (n < -1) {
    hal_log("tinyml: hal_read_samples error %d (samples lost)", n);
    return 0;
  }
  if (n > 0) {
    const int status = tm_runner_push(g_read_buf, n, hal_timestamp_us() / 1000u);
    if (status < 0) hal_log("tinyml: inference failed (%d)", status);
#ifdef TM_LOG_OUTPUTS
    if (status > 0) {
      const float* y = tm_runner_outputs();
      int i;
      for (i = 0; i < TM_MODEL_OUTPUT_COUNT; ++i) {
        hal_log("output %d %.6f", i, (double)y[i]);
      }
    }
#endif
  }
  return 0;
}
