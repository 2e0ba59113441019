/* tm_check.c - `make check`: the device's C99 path against the Python pipeline (host, C99).
 *
 * Reads testdata/check_vectors.txt, written by `tinyml deploy` from the Python
 * pipeline: a stream of raw frames, and for every window the int8 model input that the
 * Python front end + quantisation produced and the int8 outputs the TFLite Micro
 * runtime gave for it. Pushes the frames through tm_runner (C front end, C
 * quantisation, the app's C hooks) with tm_model_replay.c standing in for TFLM, and
 * compares every window's quantised input with Python's. Exit status 0 when every
 * window is within TM_CHECK_TOL_LSB (default 1 LSB: float rounding in the front end
 * may move a value across a quantisation step) and the window count matches.
 *
 * With TM_CHECK_REAL_MODEL 1 (runtime: engine) the real compiled model runs instead of
 * the replay: the runner infers on the C front end's input, and every window's model is
 * also invoked on Python's int8 input, whose outputs must equal TFLite Micro's exactly.
 *
 * A DSP-only recipe (TM_HAS_MODEL 0) has no quantised input: the expected values are the
 * float features, compared with a relative tolerance TM_CHECK_FEATURE_RTOL (default 1e-3
 * of the window's largest |feature|, + 1e-6).
 *
 * File format (whitespace separated):
 *   tinyml-check 1
 *   frames <N> channels <C> windows <K> features <F> outputs <O> values <int8|float>
 *   K x (F values: expected input (int8) or features (float), O ints: TFLM outputs)
 *   N x C floats: the frames, interleaved
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hal.h"
#include "model_settings.h"
#include "tm_runner.h"

#ifndef TM_CHECK_TOL_LSB
#define TM_CHECK_TOL_LSB 1
#endif
#ifndef TM_CHECK_FEATURE_RTOL
#define TM_CHECK_FEATURE_RTOL 1e-3f
#endif
#ifndef TM_CHECK_REAL_MODEL
#define TM_CHECK_REAL_MODEL 0
#endif

#if TM_CHECK_REAL_MODEL
#include "tm_model.h"
#else
void tm_model_replay_set(const int8_t* outputs, int n_windows);
#endif

static int fail(const char* msg) {
  fprintf(stderr, "tm_check: %s\n", msg);
  return 2;
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "testdata/check_vectors.txt";
  FILE* f = fopen(path, "r");
  int version = 0, n_frames = 0, channels = 0, n_windows = 0, n_feat = 0, n_out = 0;
  int w, i, worst = 0, bad_windows = 0, runs = 0, model_mismatches = 0;
  int* expected_in;
  float* expected_feat;
  int8_t* outputs;
  char values[8] = "int8";
  int float_values;
  float worst_rel = 0.0f;
  if (!f) return fail("cannot open the check vectors (run from the project folder)");
  if (fscanf(f, " tinyml-check %d frames %d channels %d windows %d features %d outputs %d values %7s", &version,
             &n_frames, &channels, &n_windows, &n_feat, &n_out, values) != 7 ||
      version != 1) {
    fclose(f);
    return fail("bad header in the check vectors");
  }
  float_values = values[0] == 'f';
  if (float_values != !TM_HAS_MODEL) {
    fclose(f);
    return fail("check vectors and model_settings.h disagree on TM_HAS_MODEL (regenerate with tinyml deploy)");
  }
  if (channels != TM_INPUT_CHANNELS || n_feat != TM_FEATURE_COUNT || n_out != TM_MODEL_OUTPUT_COUNT ||
      n_windows < 1) {
    fclose(f);
    return fail("check vectors do not match model_settings.h (regenerate with tinyml deploy)");
  }
  expected_in = (int*)malloc(sizeof(int) * (size_t)n_windows * (size_t)n_feat);
  expected_feat = (float*)malloc(sizeof(float) * (size_t)n_windows * (size_t)n_feat);
  outputs = (int8_t*)malloc((size_t)n_windows * (size_t)(n_out > 0 ? n_out : 1));
  if (!expected_in || !expected_feat || !outputs) return fail("out of memory");
  for (w = 0; w < n_windows; ++w) {
    for (i = 0; i < n_feat; ++i) {
      const int ok = float_values ? fscanf(f, "%f", &expected_feat[w * n_feat + i])
                                  : fscanf(f, "%d", &expected_in[w * n_feat + i]);
      if (ok != 1) return fail("truncated check vectors");
    }
    for (i = 0; i < n_out; ++i) {
      int v;
      if (fscanf(f, "%d", &v) != 1) return fail("truncated check vectors");
      outputs[w * n_out + i] = (int8_t)v;
    }
  }
  (void)model_mismatches; /* counted with TM_CHECK_REAL_MODEL only */
#if !TM_CHECK_REAL_MODEL
  tm_model_replay_set(outputs, n_windows);
#endif
  if (tm_runner_init() != 0) return fail("tm_runner_init failed");
  for (i = 0; i < n_frames; ++i) {
    float frame[TM_INPUT_CHANNELS];
    int c, status;
    for (c = 0; c < TM_INPUT_CHANNELS; ++c) {
      if (fscanf(f, "%f", &frame[c]) != 1) return fail("truncated frames in the check vectors");
    }
    status = tm_runner_push(frame, 1, (uint32_t)(((uint64_t)i * 1000u) / (uint32_t)TM_SAMPLE_RATE_HZ));
    if (status < 0) return fail("tm_runner_push failed");
    if (status > 0) {
      int k;
      if (runs >= n_windows) return fail("the runner ran more windows than Python did");
      if (float_values) {
        const float* x = tm_runner_features();
        const float* e = &expected_feat[runs * n_feat];
        float scale = 0.0f, diff = 0.0f;
        for (k = 0; k < n_feat; ++k) {
          const float a = fabsf(e[k]);
          const float d = fabsf(x[k] - e[k]);
          if (a > scale) scale = a;
          if (d > diff) diff = d;
        }
        if (diff / (scale + 1e-6f) > worst_rel) worst_rel = diff / (scale + 1e-6f);
        if (diff > TM_CHECK_FEATURE_RTOL * scale + 1e-6f) bad_windows++;
        printf("window %d: features max |C - Python| = %g (max |Python| %g)\n", runs, (double)diff, (double)scale);
      } else {
        const int8_t* q = tm_runner_input();
        int diff = 0;
        for (k = 0; k < n_feat; ++k) {
          int d = (int)q[k] - expected_in[runs * n_feat + k];
          if (d < 0) d = -d;
          if (d > diff) diff = d;
        }
        if (diff > worst) worst = diff;
        if (diff > TM_CHECK_TOL_LSB) bad_windows++;
        printf("window %d: model input max |C - Python| = %d LSB\n", runs, diff);
#if TM_CHECK_REAL_MODEL && TM_HAS_MODEL
        {
          /* the compiled model on Python's input must give TFLite Micro's output */
          static int8_t in_q[TM_FEATURE_COUNT];
          static int8_t out_q[TM_MODEL_OUTPUT_COUNT];
          int same = 1;
          for (k = 0; k < n_feat; ++k) in_q[k] = (int8_t)expected_in[runs * n_feat + k];
          if (tm_model_invoke(in_q, out_q) != 0) return fail("tm_model_invoke failed");
          for (k = 0; k < n_out; ++k) same &= out_q[k] == outputs[runs * n_out + k];
          if (!same) model_mismatches++;
          printf("window %d: compiled model output %s TFLite Micro's\n", runs, same ? "equals" : "DIFFERS FROM");
        }
#endif
      }
      runs++;
    }
  }
  fclose(f);
  free(expected_in);
  free(expected_feat);
  free(outputs);
  if (float_values) {
    printf("tm_check: %d window(s), worst feature difference %g of the largest |feature| (tolerance %g), %d over\n",
           runs, (double)worst_rel, (double)TM_CHECK_FEATURE_RTOL, bad_windows);
  } else {
    printf("tm_check: %d window(s), worst input difference %d LSB (tolerance %d), %d over\n", runs, worst,
           TM_CHECK_TOL_LSB, bad_windows);
  }
  if (runs != n_windows) return fail("window count differs from Python");
#if TM_CHECK_REAL_MODEL && TM_HAS_MODEL
  printf("tm_check: compiled model bit-exact with TFLite Micro on %d of %d window(s)\n", runs - model_mismatches, runs);
  if (model_mismatches) return fail("FAILED: the compiled model's outputs differ from TFLite Micro's");
#endif
  if (bad_windows) return fail("FAILED: C front end + quantisation differ from Python");
  printf("tm_check: OK\n");
  return 0;
}
