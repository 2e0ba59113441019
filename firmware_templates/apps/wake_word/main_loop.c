/* main_loop.c - wake_word's firmware main loop: streaming audio, one feature frame per stride (C99).
 *
 * Replaces common/tm_main.c (App.firmware_main). Instead of recomputing the features
 * of the whole 1 s window at every inference (tm_runner.c's general path), it keeps
 *   - a framer holding the newest TM_FE_AUDIO_FRAME_LENGTH samples (480 = 30 ms),
 *   - a ring of the last TM_FE_AUDIO_N_FRAMES feature frames (49 x 10 MFCC),
 * computes ONE frame per hop (320 samples = 20 ms) with the DSP twin (tm_fe_audio_frame),
 * and every TM_APP_INFER_EVERY_FRAMES frames lays the ring out oldest first (the model
 * input the Python extractor gives for the same 1 s), quantises it, runs the model,
 * dequantises the outputs and hands them to the app hooks (postprocess.c: smoothing,
 * threshold, suppression), reporting detections with hal_report().
 *
 * Audio memory: 480 + 2 x 490 floats instead of 2 x 16000 for a sample window.
 * The features of each inference equal tm_features_compute() of the window ending at
 * the same frame (the frames do not depend on where the window starts); the suite's
 * host test compares them, and the detections, with the Python pipeline.
 */
#include <stdint.h>
#include <string.h>

#include "app_settings.h"
#include "hal.h"
#include "model_settings.h"
#include "tm_app.h"
#include "tm_fe_audio.h"
#include "tm_frames.h"
#include "tm_model.h"
#include "tm_runner.h"

#ifndef TM_READ_FRAMES
#define TM_READ_FRAMES 64 /* samples fetched from the HAL per loop iteration */
#endif
#ifndef TM_APP_INFER_EVERY_FRAMES
#define TM_APP_INFER_EVERY_FRAMES 1
#endif
#if TM_INPUT_CHANNELS != 1
#error "the wake_word main loop reads one microphone channel"
#endif
#if TM_FEATURE_COUNT != TM_FE_AUDIO_N_FRAMES * TM_FE_AUDIO_N_COEFFS
#error "TM_FEATURE_COUNT must be frames x coefficients of the audio front end"
#endif
#if TM_HOP_SAMPLES != TM_APP_INFER_EVERY_FRAMES * TM_FE_AUDIO_HOP_LENGTH
#error "TM_HOP_SAMPLES must be TM_APP_INFER_EVERY_FRAMES feature strides"
#endif

#define WW_FEATURES (TM_FE_AUDIO_N_FRAMES * TM_FE_AUDIO_N_COEFFS)

static float g_read_buf[TM_READ_FRAMES];
static float g_frame_buf[TM_FE_AUDIO_FRAME_LENGTH];
static tm_framer_t g_framer;
static float g_ring[WW_FEATURES];  /* frame slot s at g_ring[s * N_COEFFS] */
static float g_input[WW_FEATURES]; /* the model input, oldest frame first */
static int8_t g_input_q[WW_FEATURES];
static int8_t g_output_q[TM_MODEL_OUTPUT_COUNT];
static float g_outputs[TM_MODEL_OUTPUT_COUNT];
static int g_slot;            /* ring slot of the next frame */
static int g_frames;          /* frames in the ring, up to TM_FE_AUDIO_N_FRAMES */
static int g_since;           /* frames since the last inference */
static uint32_t g_inferences; /* since setup */
static uint64_t g_samples;    /* samples consumed since setup */

int tm_main_setup(void) {
  int status = hal_init();
  if (status != 0) {
    hal_log("wake_word: hal_init failed (%d)", status);
    return status;
  }
  if (tm_fe_audio_init() != 0) {
    hal_log("wake_word: front end init failed");
    return -10;
  }
  if (tm_model_init() != 0) {
    hal_log("wake_word: tm_model_init failed");
    return -20;
  }
  if (tm_app_init() != 0) {
    hal_log("wake_word: tm_app_init failed");
    return -30;
  }
  if (tm_framer_init(&g_framer, g_frame_buf, TM_FE_AUDIO_FRAME_LENGTH, TM_FE_AUDIO_HOP_LENGTH) != 0) {
    hal_log("wake_word: bad framer sizes");
    return -11;
  }
  memset(g_ring, 0, sizeof(g_ring));
  g_slot = 0;
  g_frames = 0;
  g_since = 0;
  g_inferences = 0;
  g_samples = 0;
  hal_log("tinyml: %s ready: %d Hz, %d frames x %d features, a frame every %d samples, "
          "inference every %d frame(s)", TM_APP_NAME, (int)TM_SAMPLE_RATE_HZ, (int)TM_FE_AUDIO_N_FRAMES,
          (int)TM_FE_AUDIO_N_COEFFS, (int)TM_FE_AUDIO_HOP_LENGTH, (int)TM_APP_INFER_EVERY_FRAMES);
  return 0;
}

static int infer(uint32_t t_ms) {
  int t, status;
  tm_app_io_t io;
  tm_event_t ev;
  /* oldest frame first: slot g_slot is the oldest once the ring is full */
  for (t = 0; t < TM_FE_AUDIO_N_FRAMES; ++t) {
    const int s = (g_slot + t) % TM_FE_AUDIO_N_FRAMES;
    memcpy(&g_input[t * TM_FE_AUDIO_N_COEFFS], &g_ring[s * TM_FE_AUDIO_N_COEFFS],
           sizeof(float) * TM_FE_AUDIO_N_COEFFS);
  }
  tm_quantize_input(g_input, g_input_q, WW_FEATURES);
  if (tm_model_invoke(g_input_q, g_output_q) != 0) {
    hal_log("wake_word: tm_model_invoke failed (inference %lu)", (unsigned long)g_inferences);
    return -21;
  }
  tm_dequantize_output(g_output_q, g_outputs, TM_MODEL_OUTPUT_COUNT);
  io.features = g_input;
  io.n_features = WW_FEATURES;
  io.input_q = g_input_q;
  io.outputs = g_outputs;
  io.outputs_q = g_output_q;
  io.n_outputs = TM_MODEL_OUTPUT_COUNT;
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
  if (status < 0) {
    hal_log("wake_word: tm_app_postprocess returned %d", status);
  } else if (status > 0 && ev.kind != TM_EVENT_NONE) {
    hal_report(&ev);
  }
#ifdef TM_LOG_OUTPUTS
  for (t = 0; t < TM_MODEL_OUTPUT_COUNT; ++t) hal_log("output %d %.6f", t, (double)g_outputs[t]);
#endif
  return 0;
}

/* Feed n samples: every completed frame goes into the ring; inferences run when due. */
static int feed(const float* x, int n) {
  while (n > 0) {
    const int used = tm_framer_push(&g_framer, x, n);
    x += used;
    n -= used;
    g_samples += (uint64_t)used;
    if (tm_framer_ready(&g_framer)) {
      tm_fe_audio_frame(tm_framer_frame(&g_framer), &g_ring[g_slot * TM_FE_AUDIO_N_COEFFS]);
      g_slot = (g_slot + 1) % TM_FE_AUDIO_N_FRAMES;
      if (g_frames < TM_FE_AUDIO_N_FRAMES) g_frames++;
      g_since++;
      if (g_frames == TM_FE_AUDIO_N_FRAMES && (g_inferences == 0 || g_since >= TM_APP_INFER_EVERY_FRAMES)) {
        /* time of the newest sample of this frame, from the samples consumed */
        const uint32_t t_ms = (uint32_t)((g_samples * 1000u) / (uint64_t)TM_SAMPLE_RATE_HZ);
        const int status = infer(t_ms);
        g_since = 0;
        if (status != 0) return status;
      }
    }
  }
  return 0;
}

int tm_main_loop_once(void) {
  const int n = hal_read_samples(g_read_buf, TM_READ_FRAMES);
  if (n == -1) return -1;
  if (n < -1) {
    hal_log("wake_word: hal_read_samples error %d (samples lost)", n);
    return 0;
  }
  if (n > 0 && feed(g_read_buf, n) != 0) hal_log("wake_word: inference failed");
  return 0;
}
