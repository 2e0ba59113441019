/* tm_app.h - the hooks an app implements for its firmware (C99).
 *
 * The runner computes features, quantises them, runs the model and dequantises its
 * outputs; everything after that is the app's: smoothing posteriors, thresholds,
 * tracking a heart rate, scoring an anomaly. An app writes it in
 *
 *     firmware_templates/apps/<app>/postprocess.c
 *
 * (copied into every board project of that app; without the file the projects use
 * tm_app_default.c: argmax for classifiers, the value for regressors, the mean squared
 * reconstruction error for anomaly detectors). The file includes "tm_app.h" and may
 * include "model_settings.h" (labels, shapes, quantisation) and "app_settings.h"
 * (TM_APP_* constants generated from App.firmware_context(ctx), e.g. thresholds).
 * It keeps its state in file-scope static variables and resets them in tm_app_init().
 * No malloc, no printf (use hal_log from "hal.h" for debug text).
 *
 * Documented in docs/DEPLOY.md, "Writing an app's firmware hooks".
 */
#ifndef TM_APP_H
#define TM_APP_H

#include <stdint.h>

#include "tm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this contract; an app file may check it with #if. */
#define TM_APP_API_VERSION 1

/* What one inference gives the app. Pointers are valid during the call only. */
typedef struct {
  const float* features;   /* model input as float (before quantisation), n_features */
  int n_features;          /* = TM_FEATURE_COUNT */
  const int8_t* input_q;   /* the quantised input the model saw, n_features values */
  const float* outputs;    /* dequantised model outputs, n_outputs (like Keras predict) */
  const int8_t* outputs_q; /* the raw int8 outputs */
  int n_outputs;           /* = TM_MODEL_OUTPUT_COUNT (e.g. kCategoryCount) */
  uint32_t timestamp_ms;   /* time of the newest sample in the window */
  uint32_t window_index;   /* 0, 1, 2, ... one per inference */
  float hop_s;             /* seconds between two inferences (TM_HOP_SAMPLES / rate) */
} tm_app_io_t;

/* Reset the app's state; called once by tm_runner_init (and again on every reset).
 * Returns 0 on success, negative on failure. */
int tm_app_init(void);

/* Post-process one inference. The runner hands in *ev pre-filled (kind TM_EVENT_NONE,
 * index -1, label NULL, value 0, confidence 0, timestamp_ms and window_index from io).
 * Fill it and return 1 to report it through hal_report(); return 0 to report nothing
 * this time (a wake word below threshold, a heart rate still settling, ...); return a
 * negative value on error (the runner logs it and carries on with the next window). */
int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev);

#ifdef __cplusplus
}
#endif

#endif /* TM_APP_H */
