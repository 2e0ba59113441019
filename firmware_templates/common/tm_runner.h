/* tm_runner.h - the device-side pipeline: samples -> features -> int8 -> model -> app (C99).
 *
 *   tm_runner_init();                       // front end, model, app hooks
 *   for (;;) {
 *     int n = hal_read_samples(buf, TM_READ_FRAMES);
 *     if (n > 0) tm_runner_push(buf, n, hal_timestamp_us() / 1000u);
 *   }
 *
 * The runner keeps the last TM_WINDOW_SAMPLES frames in a ring buffer. Once the first
 * full window is in, and then every TM_HOP_SAMPLES new frames, it
 *   1. copies the window out channel-major, oldest first (the training layout),
 *   2. computes the features with tm_features_compute (the DSP twins),
 *   3. quantises them with the model's input scale and zero point
 *      (q = clamp(roundf(x / TM_INPUT_SCALE) + TM_INPUT_ZERO_POINT, -128, 127)),
 *   4. runs tm_model_invoke,
 *   5. dequantises the outputs ((q - TM_OUTPUT_ZERO_POINT) * TM_OUTPUT_SCALE),
 *   6. calls the app's tm_app_postprocess and hal_report()s the event it returns.
 * All buffers are static; their size is what the fit check counts as runner RAM
 * (common/deploy/boards.py::runner_buffer_bytes).
 */
#ifndef TM_RUNNER_H
#define TM_RUNNER_H

#include <stdint.h>

#include "tm_app.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialise the front end, the model and the app, and empty the ring buffer.
 * Returns 0 on success, or the first negative status (-10 features, -20 model,
 * -30 app). */
int tm_runner_init(void);

/* Empty the ring buffer and reset the app state (the model and tables stay). */
int tm_runner_reset(void);

/* Push n_frames frames (TM_INPUT_CHANNELS interleaved floats each), t_ms being the
 * time of the last one. Runs every inference that becomes due. Returns the number of
 * inferences run (>= 0) or a negative status from the front end (-11) or the model
 * (-21). */
int tm_runner_push(const float* frames, int n_frames, uint32_t t_ms);

/* The quantisation the runner applies, exposed for tests. */
void tm_quantize_input(const float* x, int8_t* q, int n);
void tm_dequantize_output(const int8_t* q, float* y, int n);

/* Buffers of the most recent inference (for tests, debugging and custom main loops). */
const float* tm_runner_features(void);  /* TM_FEATURE_COUNT floats */
const int8_t* tm_runner_input(void);    /* TM_MODEL_INPUT_COUNT int8 */
const int8_t* tm_runner_output_q(void); /* TM_MODEL_OUTPUT_COUNT int8 */
const float* tm_runner_outputs(void);   /* TM_MODEL_OUTPUT_COUNT floats */
uint32_t tm_runner_inferences(void);    /* inferences since init / reset */
int tm_runner_last_event(tm_event_t* ev); /* 1 and a copy if the last one reported */

#ifdef __cplusplus
}
#endif

#endif /* TM_RUNNER_H */
