/* toy_raw_features.c - the C front end of the test-only toy recipe (tests/toy.py ToyRaw).
 *
 * ToyRaw's features are the raw window transposed to (samples, channels), times
 * TOY_RAW_SCALE: out[t * C + c] = window[c * N + t] * scale. Implements tm_features.h.
 */
#include "dsp_params.h"
#include "model_settings.h"
#include "tm_features.h"

#if !defined(TOY_RAW_IMPLEMENTATION_VERSION) || TOY_RAW_IMPLEMENTATION_VERSION != 1
#error "toy_raw_features.c implements TOY_RAW version 1; regenerate dsp_params.h"
#endif
#if TM_FEATURE_COUNT != TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES
#error "toy_raw features are the raw window: TM_FEATURE_COUNT must be channels x samples"
#endif

int tm_features_init(void) { return 0; }

int tm_features_compute(const float* window, float* out) {
  int c, t;
  for (t = 0; t < TM_WINDOW_SAMPLES; ++t) {
    for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
      out[t * TM_INPUT_CHANNELS + c] = window[c * TM_WINDOW_SAMPLES + t] * (float)TOY_RAW_SCALE;
    }
  }
  return 0;
}
