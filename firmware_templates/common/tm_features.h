/* tm_features.h - the DSP front end contract: one raw window in, model input out (C99).
 *
 * A feature extractor (common/features/) names, in FeatureExtractor.c_sources(), the
 * C99 files the device needs: the DSP twins (tm_fft.c, tm_mfcc.c, ...) AND one file
 * that implements the two functions below by calling them with the parameters of the
 * generated dsp_params.h. It must compute exactly what the extractor's __call__ does
 * on one window (the parity tests hold it to that).
 *
 * Sizes come from the generated model_settings.h:
 *   TM_INPUT_CHANNELS   channels of a raw window
 *   TM_WINDOW_SAMPLES   samples per channel in a window
 *   TM_FEATURE_COUNT    floats in one model input (product of the input shape)
 */
#ifndef TM_FEATURES_H
#define TM_FEATURES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this contract; a front end file may check it with #if. */
#define TM_FEATURES_API_VERSION 1

/* Prepare tables (FFT twiddles, mel weights, ...). Called once by tm_runner_init.
 * Returns 0 on success, negative on failure. */
int tm_features_init(void);

/* Features of one window.
 *   window: TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES floats, channel-major, oldest sample
 *           first: window[c * TM_WINDOW_SAMPLES + t] - the layout of one Python window
 *           x[i] of shape (channels, samples).
 *   out:    TM_FEATURE_COUNT floats in the C (row-major) order of the model input shape
 *           - the layout of extractor(x)[i].
 * Working memory must be static (no malloc); declare its size to the fit check with
 * FeatureExtractor.c_scratch_bytes() (docs/DEPLOY.md). An implementation may keep state
 * between calls (e.g. reuse frames that overlap the previous window) as long as the
 * result equals the full computation. Returns 0 on success, negative on failure. */
int tm_features_compute(const float* window, float* out);

#ifdef __cplusplus
}
#endif

#endif /* TM_FEATURES_H */
