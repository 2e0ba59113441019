/* Host test driver for the signal DSP twins (tests/test_c_parity_signal.py builds and runs it).
 *
 * Compiled with a generated dsp_params.h defining BUTTER_*, STATS_*, WELCH_*, BANDS_*,
 * LBE_*, IMUSPEC_*, PEAKS_* and ZSCORE_* parameters. Numbers come on stdin and go to
 * stdout one per line (%.9g; integers as %d).
 *
 *   butter C1 [C2 ...]   stdin: n, n samples  -> n outputs, filtered in chunks C1, C2, ...
 *                        (cycled) with state carried across chunks
 *   stats                stdin: n, n samples  -> 8 statistics
 *   welch FS             stdin: n, n samples  -> WELCH_N_BINS PSD values
 *   bands                stdin: n, n bins     -> BANDS_N_BANDS band powers
 *   lbe                  stdin: n, n samples  -> n_frames * LBE_N_BANDS (frames-major)
 *   imuspec AXES         stdin: m = AXES * n, then m samples (axis-major)
 *                        -> AXES * IMUSPEC_N_FEATURES
 *   peaks                stdin: n, n samples  -> count, then the peak indices (pushed one
 *                        sample at a time, then flushed)
 *   zscore CHANNELS      stdin: m = CHANNELS * n, then m samples (channel-major) -> m values
 *   int8 SCALE ZP        stdin: n, n values   -> n int8 values, then n dequantised values
 *   golden FEATURE PATH [ARG]
 *                        reads a golden file (line 1, the parameters, is skipped; then
 *                        input / expected lines) and prints, per pair, the computed output
 *                        for the input line in the mode's format above (ARG is FS for
 *                        welch, AXES for imuspec, CHANNELS for zscore, "SCALE,ZP" for int8).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm_biquad.h"
#include "tm_normalize.h"
#include "tm_peaks.h"
#include "tm_spectral.h"
#include "tm_stats.h"

#define MAX_SAMPLES 200000
#define MAX_LINE (1 << 22)

static float g_x[MAX_SAMPLES];
static float g_y[MAX_SAMPLES];
static float g_work[MAX_SAMPLES];
static char g_line[MAX_LINE];

static int read_floats(float* dst, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    if (scanf("%f", &dst[i]) != 1) return -1;
  }
  return 0;
}

static void print_floats(const float* v, int n) {
  int i;
  for (i = 0; i < n; ++i) printf("%.9g\n", (double)v[i]);
}

static int parse_line(char* line, float* dst, int cap) {
  int n = 0;
  char* tok = strtok(line, " \t\r\n");
  while (tok != NULL) {
    if (n >= cap) return -1;
    dst[n++] = strtof(tok, NULL);
    tok = strtok(NULL, " \t\r\n");
  }
  return n;
}

/* ------------------------------------------------------------------------- blocks */

static int g_chunks[64];
static int g_n_chunks = 0;

static void run_butter(const float* x, int n) {
  float state[2 * BUTTER_N_SECTIONS];
  tm_biquad_t f;
  int done = 0, c = 0;
  if (tm_butter_init(&f, state) != 0) exit(4);
  while (done < n) {
    int k = g_n_chunks > 0 ? g_chunks[c++ % g_n_chunks] : n;
    if (k > n - done) k = n - done;
    tm_biquad_process(&f, x + done, g_y + done, k);
    done += k;
  }
  print_floats(g_y, n);
}

static void run_stats(const float* x, int n) {
  float out[TM_STATS_COUNT];
  tm_stats(x, n, out);
  print_floats(out, TM_STATS_COUNT);
}

static void run_welch(const float* x, int n, float fs) {
  static float window[WELCH_NPERSEG];
  tm_welch_t w;
  if (tm_welch_params_init(&w, window) != 0) exit(4);
  if (tm_welch_psd(&w, x, n, fs, g_work, g_y) < 1) exit(5);
  print_floats(g_y, WELCH_N_BINS);
}

static void run_bands(const float* x, int n) {
  float out[BANDS_N_BANDS];
  (void)n;
  tm_bands(x, out);
  print_floats(out, BANDS_N_BANDS);
}

static void run_lbe(const float* x, int n) {
  static tm_lbe_t s;
  float out[LBE_N_BANDS];
  int start;
  if (tm_lbe_init(&s) != 0) exit(4);
  for (start = 0; start + LBE_N_FFT <= n; start += LBE_HOP_LENGTH) {
    tm_lbe_frame(&s, x + start, g_work, out);
    print_floats(out, LBE_N_BANDS);
  }
}

static void run_imuspec(const float* x, int axes, int n) {
  static tm_imuspec_t s;
  float out[IMUSPEC_N_FEATURES];
  int a;
  if (tm_imuspec_init(&s) != 0) exit(4);
  for (a = 0; a < axes; ++a) {
    if (tm_imuspec_axis(&s, x + a * n, n, g_work, out) != 0) exit(5);
    print_floats(out, IMUSPEC_N_FEATURES);
  }
}

static void run_peaks(const float* x, int n) {
  static float dq_val[PEAKS_WINDOW];
  static int32_t dq_idx[PEAKS_WINDOW];
  tm_peaks_t p;
  int32_t found[2];
  int i, j, k, count = 0;
  if (tm_peaks_params_init(&p, dq_val, dq_idx) != 0) exit(4);
  for (i = 0; i < n; ++i) {
    k = tm_peaks_push(&p, x[i], found);
    for (j = 0; j < k; ++j) g_y[count++] = (float)found[j];
  }
  k = tm_peaks_flush(&p, found);
  for (j = 0; j < k; ++j) g_y[count++] = (float)found[j];
  printf("%d\n", count);
  for (i = 0; i < count; ++i) printf("%d\n", (int)g_y[i]);
}

static void run_zscore(const float* x, int channels, int n) {
  tm_zscore(x, g_y, channels, n);
  print_floats(g_y, channels * n);
}

static void run_int8(const float* x, int n, float scale, int zp) {
  int i;
  for (i = 0; i < n; ++i) printf("%d\n", (int)tm_quantize_int8(x[i], scale, (int32_t)zp));
  for (i = 0; i < n; ++i) {
    printf("%.9g\n", (double)tm_dequantize_int8(tm_quantize_int8(x[i], scale, (int32_t)zp), scale, (int32_t)zp));
  }
}

/* Dispatch one input of n values (arg: FS / AXES / CHANNELS as a float). */
static void run(const char* mode, const float* x, int n, const char* arg) {
  if (strcmp(mode, "butter") == 0) {
    run_butter(x, n);
  } else if (strcmp(mode, "stats") == 0) {
    run_stats(x, n);
  } else if (strcmp(mode, "welch") == 0) {
    run_welch(x, n, strtof(arg, NULL));
  } else if (strcmp(mode, "bands") == 0) {
    run_bands(x, n);
  } else if (strcmp(mode, "lbe") == 0) {
    run_lbe(x, n);
  } else if (strcmp(mode, "imuspec") == 0) {
    const int axes = atoi(arg);
    run_imuspec(x, axes, n / axes);
  } else if (strcmp(mode, "peaks") == 0) {
    run_peaks(x, n);
  } else if (strcmp(mode, "zscore") == 0) {
    const int channels = atoi(arg);
    run_zscore(x, channels, n / channels);
  } else if (strcmp(mode, "int8") == 0) {
    const char* comma = strchr(arg, ',');
    if (comma == NULL) exit(2);
    run_int8(x, n, strtof(arg, NULL), atoi(comma + 1));
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    exit(2);
  }
}

static int golden(const char* feature, const char* path, const char* arg) {
  FILE* f = fopen(path, "r");
  int line_no = 0;
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 2;
  }
  while (fgets(g_line, MAX_LINE, f) != NULL) {
    ++line_no;
    if (line_no == 1 || line_no % 2 == 1) continue; /* header, expected lines */
    {
      const int n = parse_line(g_line, g_x, MAX_SAMPLES);
      if (n < 1) {
        fclose(f);
        return 3;
      }
      run(feature, g_x, n, arg);
    }
  }
  fclose(f);
  return 0;
}

int main(int argc, char** argv) {
  const char* mode;
  int n, i;
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODE [ARGS]\n", argv[0]);
    return 2;
  }
  mode = argv[1];
  if (strcmp(mode, "golden") == 0) {
    if (argc < 4) return 2;
    return golden(argv[2], argv[3], argc > 4 ? argv[4] : "");
  }
  if (strcmp(mode, "butter") == 0) {
    for (i = 2; i < argc && g_n_chunks < 64; ++i) g_chunks[g_n_chunks++] = atoi(argv[i]);
  }
  if (scanf("%d", &n) != 1 || n < 1 || n > MAX_SAMPLES) return 2;
  if (read_floats(g_x, n) != 0) return 2;
  run(mode, g_x, n, argc > 2 ? argv[2] : "");
  return 0;
}
