/* ecg_main.c - heart_rate's ECG firmware main loop (App.firmware_main of EcgApp), C99.
 *
 * Replaces common/tm_main.c for the R-peak recipe. Every ECG sample from the HAL goes
 * through the Pan-Tompkins block (tm_pan_tompkins, the C twin of common/dsp/qrs.py) and the
 * streaming decision stage (ecg_beats.h, the C twin of apps/heart_rate/ecg.py), sample by
 * sample: no windows, no model. Each detected beat is reported as one event:
 *   kind TM_EVENT_VALUE, label "beat", index = R-peak sample index (since start),
 *   value = instantaneous heart rate 60 * fs / RR (BPM; 0 for the first beat),
 *   confidence = mean heart rate over the last 8 RR intervals (BPM),
 *   timestamp_ms = time of the R peak.
 * The beat comes out about the refractory period (200 ms) after the R peak, later for a
 * search-back beat.
 */
#include "app_settings.h"
#include "dsp_params.h"
#include "ecg_beats.h"
#include "hal.h"
#include "model_settings.h"
#include "tm_pan_tompkins.h"

#ifndef TM_READ_FRAMES
#define TM_READ_FRAMES 64
#endif
#if TM_INPUT_CHANNELS != 1
#error "the ECG main loop reads one lead"
#endif

static float g_read_buf[TM_READ_FRAMES];
static tm_pantomp_t g_pt;
static float g_rr_hist[8];
static int g_rr_n;
static uint32_t g_beats;

static void report(const tm_beat_t* b) {
  tm_event_t ev;
  const float fs = (float)TM_SAMPLE_RATE_HZ;
  float mean = 0.0f;
  int i;
  if (b->rr > 0) {
    g_rr_hist[g_rr_n % 8] = (float)b->rr;
    g_rr_n++;
  }
  for (i = 0; i < (g_rr_n < 8 ? g_rr_n : 8); ++i) mean += g_rr_hist[i];
  ev.kind = TM_EVENT_VALUE;
  ev.index = b->index;
  ev.label = "beat";
  ev.value = b->rr > 0 ? 60.0f * fs / (float)b->rr : 0.0f;
  ev.confidence = g_rr_n > 0 ? 60.0f * fs / (mean / (float)(g_rr_n < 8 ? g_rr_n : 8)) : 0.0f;
  ev.timestamp_ms = (uint32_t)(((uint64_t)(uint32_t)b->index * 1000u) / (uint32_t)TM_SAMPLE_RATE_HZ);
  ev.window_index = g_beats++;
  hal_report(&ev);
}

int tm_main_setup(void) {
  int status = hal_init();
  if (status != 0) {
    hal_log("tinyml: hal_init failed (%d)", status);
    return status;
  }
  if (tm_pantomp_init(&g_pt) != 0 || tm_qrs_init() != 0) {
    hal_log("tinyml: ECG front end init failed");
    return -10;
  }
  g_rr_n = 0;
  g_beats = 0;
  hal_log("tinyml: %s ECG R-peak detector ready: 1 lead at %d Hz", TM_APP_NAME, (int)TM_SAMPLE_RATE_HZ);
  return 0;
}

int tm_main_loop_once(void) {
  tm_beat_t beats[TM_QRS_MAX_BEATS];
  float y[3];
  int i, j, k;
  const int n = hal_read_samples(g_read_buf, TM_READ_FRAMES);
  if (n == -1) {
    k = tm_qrs_flush(beats);
    for (j = 0; j < k; ++j) report(&beats[j]);
    return -1;
  }
  if (n < -1) {
    hal_log("tinyml: hal_read_samples error %d (samples lost)", n);
    return 0;
  }
  for (i = 0; i < n; ++i) {
    tm_pantomp_push(&g_pt, g_read_buf[i], y);
    k = tm_qrs_push(y[0], y[1], y[2], beats);
    for (j = 0; j < k; ++j) report(&beats[j]);
  }
  return 0;
}
