/* postprocess.c - vibration_anomaly's firmware hooks (tm_app.h), C99.
 *
 * The C twin of apps/vibration_anomaly/postprocess.py (tests/test_vibration_firmware.py
 * compiles this file on the host and compares it with the Python code window by window).
 *
 * Anomaly recipe (TM_TASK == TM_TASK_ANOMALY): the autoencoder outputs the residual of
 * its reconstruction in standardised feature units, so
 *     score = mean(outputs[i]^2)                                   (anomaly_score)
 * The alarm (class Alarm) is raised after TM_APP_ALARM_ON_WINDOWS consecutive windows
 * with score > TM_APP_CAL_THRESHOLD (calibrated on held-out normal data at the
 * configured false-alarm rate) and cleared after TM_APP_ALARM_OFF_WINDOWS consecutive
 * windows with score < TM_APP_CAL_THRESHOLD * TM_APP_RELEASE_RATIO.
 * Every window is reported: kind TM_EVENT_ANOMALY, value = score, index = the alarm
 * state (1 raised, 0 clear), label "alarm"/"ok", confidence = the threshold.
 *
 * Fault classifier (TM_TASK == TM_TASK_CLASSIFICATION): the arg-max class every window.
 */
#include "app_settings.h"
#include "model_settings.h"
#include "tm_app.h"

#if TM_APP_API_VERSION != 1
#error "postprocess.c implements tm_app.h version 1"
#endif

#if TM_TASK == TM_TASK_ANOMALY
#ifndef TM_APP_CAL_THRESHOLD
#error "vibration_anomaly needs TM_APP_CAL_THRESHOLD in app_settings.h (run the evaluate stage before deploy)"
#endif
#ifndef TM_APP_ALARM_ON_WINDOWS
#define TM_APP_ALARM_ON_WINDOWS 3
#endif
#ifndef TM_APP_ALARM_OFF_WINDOWS
#define TM_APP_ALARM_OFF_WINDOWS 3
#endif
#ifndef TM_APP_RELEASE_RATIO
#define TM_APP_RELEASE_RATIO 0.8f
#endif

static int g_alarm = 0; /* 1 while the alarm is raised */
static int g_count = 0; /* consecutive windows towards the next state change */

int tm_app_init(void) {
  g_alarm = 0;
  g_count = 0;
  return 0;
}

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  const float threshold = TM_APP_CAL_THRESHOLD;
  const float release = threshold * TM_APP_RELEASE_RATIO;
  float acc = 0.0f;
  float score;
  int i;
  if (io == 0 || ev == 0 || io->n_outputs <= 0) return -1;
  for (i = 0; i < io->n_outputs; ++i) acc += io->outputs[i] * io->outputs[i];
  score = acc / (float)io->n_outputs;
  if (!g_alarm) {
    g_count = score > threshold ? g_count + 1 : 0;
    if (g_count >= TM_APP_ALARM_ON_WINDOWS) {
      g_alarm = 1;
      g_count = 0;
    }
  } else {
    g_count = score < release ? g_count + 1 : 0;
    if (g_count >= TM_APP_ALARM_OFF_WINDOWS) {
      g_alarm = 0;
      g_count = 0;
    }
  }
  ev->kind = TM_EVENT_ANOMALY;
  ev->index = g_alarm;
  ev->label = g_alarm ? "alarm" : "ok";
  ev->value = score;
  ev->confidence = threshold;
  return 1;
}

#else /* the fault classifier */

int tm_app_init(void) { return 0; }

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  int best = 0;
  int i;
  if (io == 0 || ev == 0 || io->n_outputs <= 0) return -1;
  for (i = 1; i < io->n_outputs; ++i) {
    if (io->outputs[i] > io->outputs[best]) best = i;
  }
  ev->kind = TM_EVENT_CLASS;
  ev->index = best;
  ev->label = (best < kCategoryCount) ? kCategoryLabels[best] : 0;
  ev->value = io->outputs[best];
  return 1;
}

#endif
