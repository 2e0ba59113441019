/* tm_fe_audio.c - device front end of features kind=mfcc / kind=logmel
 * (common/features/audio.py::Mfcc / LogMel), implementing tm_features.h (C99).
 *
 * One window of TM_WINDOW_SAMPLES mono samples -> the model input
 * out[t * N_COEFFS + k] for frame t (0 .. TM_N_FRAMES-1) and coefficient k: the C order of
 * the Python extractor's (frames, coefficients, 1) output. The frames are computed by
 * the DSP twins (tm_mfcc.c or tm_logmel.c, chosen by which block dsp_params.h holds),
 * the same per-frame numerics as numpy.
 *
 * This is the whole-window path that tm_runner.c uses. A streaming main loop
 * (e.g. firmware_templates/apps/wake_word/main_loop.c) computes one frame per hop instead
 * with tm_fe_audio_frame() and keeps the last TM_N_FRAMES in a ring.
 */
#include "dsp_params.h"
#include "model_settings.h"
#include "tm_fe_audio.h"
#include "tm_features.h"

#if TM_INPUT_CHANNELS != 1
#error "tm_fe_audio.c is a mono front end: TM_INPUT_CHANNELS must be 1"
#endif
#if TM_FEATURE_COUNT != TM_FE_AUDIO_N_FRAMES * TM_FE_AUDIO_N_COEFFS
#error "TM_FEATURE_COUNT must be frames x coefficients of the audio front end (49 x 10 for MLPerf KWS)"
#endif

#if defined(MFCC_IMPLEMENTATION_VERSION)
static tm_mfcc_t g_fe_state;
int tm_fe_audio_init(void) { return tm_mfcc_init(&g_fe_state) == 0 ? 0 : -1; }
void tm_fe_audio_frame(const float* frame, float* out) { tm_mfcc_compute(&g_fe_state, frame, out); }
#else
static tm_logmel_t g_fe_state;
int tm_fe_audio_init(void) { return tm_logmel_init(&g_fe_state) == 0 ? 0 : -1; }
void tm_fe_audio_frame(const float* frame, float* out) { tm_logmel_compute(&g_fe_state, frame, out); }
#endif

int tm_features_init(void) { return tm_fe_audio_init(); }

int tm_features_compute(const float* window, float* out) {
  int t;
  if (window == 0 || out == 0) return -1;
  for (t = 0; t < TM_FE_AUDIO_N_FRAMES; ++t) {
    tm_fe_audio_frame(window + t * TM_FE_AUDIO_HOP_LENGTH, out + t * TM_FE_AUDIO_N_COEFFS);
  }
  return 0;
}
