/* tm_runner.c - samples -> features -> int8 -> model -> app hooks -> hal_report (C99).
 *
 * See tm_runner.h for the data flow. All memory is static and sized by the generated
 * model_settings.h; common/deploy/boards.py::runner_buffer_bytes counts it for the fit
 * check.
 */
#include "tm_runner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hal.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_model.h"

#if !defined(TM_INPUT_CHANNELS) || !defined(TM_WINDOW_SAMPLES) || !defined(TM_HOP_SAMPLES) || \
    !defined(TM_FEATURE_COUNT) || !defined(TM_MODEL_OUTPUT_COUNT) || !defined(TM_SAMPLE_RATE_HZ)
#error "model_settings.h is incomplete: regenerate it with `tinyml deploy`"
#endif
#if TM_HOP_SAMPLES > TM_WINDOW_SAMPLES || TM_HOP_SAMPLES < 1
#error "TM_HOP_SAMPLES must be in [1, TM_WINDOW_SAMPLES]"
#endif
#ifndef TM_HAS_MODEL
#define TM_HAS_MODEL 1
#endif

#define TM_N_OUT_ALLOC (TM_MODEL_OUTPUT_COUNT > 0 ? TM_MODEL_OUTPUT_COUNT : 1)

/* The last TM_WINDOW_SAMPLES frames, frame-interleaved: g_ring[slot * C + c]. */
static float g_ring[TM_WINDOW_SAMPLES * TM_INPUT_CHANNELS];
/* One window, channel-major and oldest first: the training layout. */
static float g_window[TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES];
static float g_features[TM_FEATURE_COUNT];
static int8_t g_input_q[TM_FEATURE_COUNT];
static int8_t g_output_q[TM_N_OUT_ALLOC];
static float g_outputs[TM_N_OUT_ALLOC];

static int g_write;            /* ring slot of the next frame */
static int g_filled;           /* frames in the ring, up to TM_WINDOW_SAMPLES */
static int g_since;            /* frames since the last inference */
static int g_started;          /* 1 once the first window ran */
static uint32_t g_inferences;  /* since init/reset */
static tm_event_t g_last_event;
static int g_last_reported;

void tm_quantize_input(const float* x, int8_t* q, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    /* round half away from zero, as TFLite's QUANTIZE kernel (std::round) */
    long v = (long)roundf(x[i] / TM_INPUT_SCALE) + (long)TM_INPUT_ZERO_POINT;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
    q[i] = (int8_t)v;
  }
}

void tm_dequantize_output(const int8_t* q, float* y, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    y[i] = (float)((int32_t)q[i] - (int32_t)TM_OUTPUT_ZERO_POINT) * TM_OUTPUT_SCALE;
  }
}

int tm_runner_reset(void) {
  memset(g_ring, 0, sizeof(g_ring));
  g_write = 0;
  g_filled = 0;
  g_since = 0;
  g_started = 0;
  g_inferences = 0;
  g_last_reported = 0;
  memset(&g_last_event, 0, sizeof(g_last_event));
  return tm_app_init() == 0 ? 0 : -30;
}

int tm_runner_init(void) {
  if (tm_features_init() != 0) {
    hal_log("tm_runner: tm_features_init failed");
    return -10;
  }
#if TM_HAS_MODEL
  if (tm_model_init() != 0) {
    hal_log("tm_runner: tm_model_init failed");
    return -20;
  }
#endif
  if (tm_runner_reset() != 0) {
    hal_log("tm_runner: tm_app_init failed");
    return -30;
  }
  return 0;
}

static int run_window(uint32_t t_ms) {
  int c, t, status;
  tm_app_io_t io;
  tm_event_t ev;
  /* oldest frame sits at g_write once the ring is full */
  for (t = 0; t < TM_WINDOW_SAMPLES; ++t) {
    const int slot = (g_write + t) % TM_WINDOW_SAMPLES;
    for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
      g_window[c * TM_WINDOW_SAMPLES + t] = g_ring[slot * TM_INPUT_CHANNELS + c];
    }
  }
  if (tm_features_compute(g_window, g_features) != 0) {
    hal_log("tm_runner: tm_features_compute failed (window %lu)", (unsigned long)g_inferences);
    return -11;
  }
#if TM_HAS_MODEL
  tm_quantize_input(g_features, g_input_q, TM_FEATURE_COUNT);
  if (tm_model_invoke(g_input_q, g_output_q) != 0) {
    hal_log("tm_runner: tm_model_invoke failed (window %lu)", (unsigned long)g_inferences);
    return -21;
  }
  tm_dequantize_output(g_output_q, g_outputs, TM_MODEL_OUTPUT_COUNT);
#endif
  io.features = g_features;
  io.n_features = TM_FEATURE_COUNT;
  io.input_q = g_input_q;
  io.outputs = g_outputs;
  io.outputs_q = g_output_q;
  io.n_outputs = TM_HAS_MODEL ? TM_MODEL_OUTPUT_COUNT : 0;
  io.timestamp_ms = t_ms;
  io.window_index = g_inferences;
  io.hop_s = (float)TM_HOP_SAMPLES / (float)TM_SAMPLE_RATE_HZ;

  ev.kind = TM_EVENT_NONE;
  ev.index = -1;
  ev.label = 0;
  ev.value = 0.0f;
  ev.confidence = 0.0f;
  ev.timestamp_ms = t_ms;
  ev.window_index = g_inferences;
  status = tm_app_postprocess(&io, &ev);
  g_inferences++;
  g_last_reported = 0;
  if (status < 0) {
    hal_log("tm_runner: tm_app_postprocess returned %d (window %lu)", status,
            (unsigned long)io.window_index);
  } else if (status > 0 && ev.kind != TM_EVENT_NONE) {
    g_last_event = ev;
    g_last_reported = 1;
    hal_report(&ev);
  }
  return 0;
}

int tm_runner_push(const float* frames, int n_frames, uint32_t t_ms) {
  int i, runs = 0;
  for (i = 0; i < n_frames; ++i) {
    memcpy(&g_ring[g_write * TM_INPUT_CHANNELS], &frames[i * TM_INPUT_CHANNELS],
           sizeof(float) * TM_INPUT_CHANNELS);
    g_write = (g_write + 1) % TM_WINDOW_SAMPLES;
    if (g_filled < TM_WINDOW_SAMPLES) g_filled++;
    g_since++;
    if (g_filled == TM_WINDOW_SAMPLES && (!g_started || g_since >= TM_HOP_SAMPLES)) {
      /* time of this frame: the last one pushed is at t_ms */
      const uint32_t behind = (uint32_t)(n_frames - 1 - i);
      const uint32_t t = t_ms - (uint32_t)(((uint64_t)behind * 1000u) / (uint32_t)TM_SAMPLE_RATE_HZ);
      const int status = run_window(t);
      g_started = 1;
      g_since = 0;
      if (status != 0) return status;
      runs++;
    }
  }
  return runs;
}

const float* tm_runner_features(void) { return g_features; }
const int8_t* tm_runner_input(void) { return g_input_q; }
const int8_t* tm_runner_output_q(void) { return g_output_q; }
const float* tm_runner_outputs(void) { return g_outputs; }
uint32_t tm_runner_inferences(void) { return g_inferences; }

int tm_runner_last_event(tm_event_t* ev) {
  if (!g_last_reported) return 0;
  if (ev) *ev = g_last_event;
  return 1;
}

static const char* kind_name(tm_event_kind_t k) {
  switch (k) {
    case TM_EVENT_CLASS:
      return "class";
    case TM_EVENT_VALUE:
      return "value";
    case TM_EVENT_ANOMALY:
      return "anomaly";
    default:
      return "none";
  }
}

int tm_event_format(const tm_event_t* ev, char* buf, size_t n) {
  char label[64];
  size_t j = 0;
  const char* s = ev->label;
  if (s) {
    for (; *s && j + 2 < sizeof(label); ++s) {
      if (*s == '"' || *s == '\\') label[j++] = '\\';
      label[j++] = (char)((unsigned char)*s < 0x20 ? ' ' : *s);
    }
  }
  label[j] = '\0';
  if (ev->label) {
    return snprintf(buf, n,
                    "{\"event\":\"%s\",\"index\":%ld,\"label\":\"%s\",\"value\":%.6g,"
                    "\"confidence\":%.6g,\"t_ms\":%lu,\"window\":%lu}",
                    kind_name(ev->kind), (long)ev->index, label, (double)ev->value,
                    (double)ev->confidence, (unsigned long)ev->timestamp_ms,
                    (unsigned long)ev->window_index);
  }
  return snprintf(buf, n,
                  "{\"event\":\"%s\",\"index\":%ld,\"label\":null,\"value\":%.6g,"
                  "\"confidence\":%.6g,\"t_ms\":%lu,\"window\":%lu}",
                  kind_name(ev->kind), (long)ev->index, (double)ev->value, (double)ev->confidence,
                  (unsigned long)ev->timestamp_ms, (unsigned long)ev->window_index);
}
