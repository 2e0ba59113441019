/* tm_types.h - types shared by the firmware runner, the HAL and the app hooks (C99).
 *
 * An inference produces at most one tm_event_t, filled by the app's post-processing
 * hook (tm_app.h) and handed to the board's hal_report() (hal.h). Every board prints
 * it as one JSON line (tm_event_format), so a host script reads any board's serial
 * output the same way.
 */
#ifndef TM_TYPES_H
#define TM_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an event reports. */
typedef enum {
  TM_EVENT_NONE = 0,    /* nothing to report (never passed to hal_report) */
  TM_EVENT_CLASS = 1,   /* a class was recognised: index, label, value = its score */
  TM_EVENT_VALUE = 2,   /* a measured value: value (e.g. heart rate in BPM), label = unit */
  TM_EVENT_ANOMALY = 3  /* an anomaly score: value = score, index = 1 if above threshold */
} tm_event_kind_t;

/* One result of the app, as reported by hal_report(). */
typedef struct {
  tm_event_kind_t kind;
  int32_t index;          /* class index (TM_EVENT_CLASS), 0/1 (TM_EVENT_ANOMALY), else -1 */
  const char* label;      /* static string (e.g. kCategoryLabels[index]) or NULL */
  float value;            /* score, measured value or anomaly score */
  float confidence;       /* app-defined second figure (e.g. smoothed score), or 0 */
  uint32_t timestamp_ms;  /* time of the newest sample of the window (from the HAL) */
  uint32_t window_index;  /* number of the inference that produced it, from 0 */
} tm_event_t;

/* Write ev as one JSON line without the newline, e.g.
 *   {"event":"class","index":1,"label":"yes","value":0.9375,"confidence":0,"t_ms":1250,"window":4}
 * into buf (size n). Returns the number of characters written (snprintf rules). */
int tm_event_format(const tm_event_t* ev, char* buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* TM_TYPES_H */
