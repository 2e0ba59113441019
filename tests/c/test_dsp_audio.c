/* Host test driver for the audio DSP twins (tests/test_c_parity_audio.py builds and runs it).
 *
 * Compiled with a generated dsp_params.h that defines both MFCC_* and LOGMEL_* parameters.
 * Numbers are read from stdin and written to stdout, one per line (%.9g).
 *
 *   fft N                  stdin: N samples               -> N + 2 numbers (re, im interleaved)
 *   window KIND PERIODIC N                                 -> N numbers
 *   filterbank             (MFCC params)                  -> n_mels * (n_fft/2 + 1), dense
 *   mfcc_clip | logmel_clip   stdin: n, then n samples   -> n_frames * n_features (frames-major)
 *   mfcc_stream            stdin: n, n samples, c, c chunk sizes (summing to n)
 *                          -> features of each frame the framer completes (frames-major)
 *   framer FL HOP          stdin: as mfcc_stream          -> each completed frame's samples
 *   golden FEATURE PATH    FEATURE: rfft | mfcc | logmel; reads the golden file (line 1:
 *                          parameters, skipped; then input / expected lines), computes each
 *                          input and prints one line per pair: the computed numbers, then
 *                          the max abs difference from the expected line. The test applies
 *                          the tolerance. Exit status 3 if a line's length does not match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm_fft.h"
#include "tm_frames.h"
#include "tm_logmel.h"
#include "tm_mel.h"
#include "tm_mfcc.h"

#define MAX_SAMPLES 200000
#define MAX_LINE (1 << 21)

static float g_x[MAX_SAMPLES];
static float g_y[MAX_SAMPLES];
static float g_expected[MAX_SAMPLES];
static char g_line[MAX_LINE];
static tm_mfcc_t g_mfcc;
static tm_logmel_t g_logmel;
static tm_rfft_t g_fft;

static int read_floats(float* dst, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    if (scanf("%f", &dst[i]) != 1) return -1;
  }
  return 0;
}

static int read_int(void) {
  int v = -1;
  if (scanf("%d", &v) != 1) return -1;
  return v;
}

static void print_floats(const float* v, int n) {
  int i;
  for (i = 0; i < n; ++i) printf("%.9g\n", (double)v[i]);
}

/* Parse whitespace-separated numbers of one line; returns the count (or -1 if too many). */
static int parse_line(const char* line, float* dst, int cap) {
  int n = 0;
  const char* p = line;
  char* end;
  for (;;) {
    float v = strtof(p, &end);
    if (end == p) break;
    if (n >= cap) return -1;
    dst[n++] = v;
    p = end;
  }
  return n;
}

static int init_features(void) {
  int rc = tm_mfcc_init(&g_mfcc);
  if (rc != 0) {
    fprintf(stderr, "tm_mfcc_init failed: %d\n", rc);
    return rc;
  }
  rc = tm_logmel_init(&g_logmel);
  if (rc != 0) fprintf(stderr, "tm_logmel_init failed: %d\n", rc);
  return rc;
}

static int run_golden(const char* feature, const char* path) {
  FILE* f = fopen(path, "r");
  int n_in, n_exp, n_out = 0, i;
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 2;
  }
  if (fgets(g_line, MAX_LINE, f) == NULL) return 3; /* line 1: parameters */
  if (strcmp(feature, "rfft") != 0 && init_features() != 0) return 2;
  while (fgets(g_line, MAX_LINE, f) != NULL) {
    float maxdiff = 0.0f;
    n_in = parse_line(g_line, g_x, MAX_SAMPLES);
    if (fgets(g_line, MAX_LINE, f) == NULL) return 3;
    n_exp = parse_line(g_line, g_expected, MAX_SAMPLES);
    if (n_in <= 0 || n_exp < 0) return 3;
    if (strcmp(feature, "rfft") == 0) {
      if (tm_rfft_init(&g_fft, n_in) != 0) return 3;
      tm_rfft(&g_fft, g_x, g_y);
      n_out = n_in + 2;
    } else if (strcmp(feature, "mfcc") == 0) {
      n_out = tm_mfcc_compute_clip(&g_mfcc, g_x, n_in, g_y) * MFCC_N_MFCC;
    } else if (strcmp(feature, "logmel") == 0) {
      n_out = tm_logmel_compute_clip(&g_logmel, g_x, n_in, g_y) * LOGMEL_N_MELS;
    } else {
      return 2;
    }
    if (n_out != n_exp) {
      fprintf(stderr, "%s: computed %d numbers, golden line has %d\n", feature, n_out, n_exp);
      return 3;
    }
    for (i = 0; i < n_out; ++i) {
      float d = g_y[i] - g_expected[i];
      if (d < 0.0f) d = -d;
      if (d > maxdiff) maxdiff = d;
      printf("%.9g ", (double)g_y[i]);
    }
    printf("%.9g\n", (double)maxdiff);
  }
  fclose(f);
  return 0;
}

/* Stream x[0..n) through a framer in the given chunk sizes; call emit on each frame. */
static int stream(int frame_length, int hop, int use_mfcc) {
  static float buf[MAX_SAMPLES];
  tm_framer_t fr;
  int n = read_int(), c, i, pos = 0;
  if (n < 0 || n > MAX_SAMPLES || read_floats(g_x, n) != 0) return 3;
  c = read_int();
  if (c < 0 || tm_framer_init(&fr, buf, frame_length, hop) != 0) return 3;
  for (i = 0; i < c; ++i) {
    int size = read_int();
    const float* x = g_x + pos;
    if (size < 0 || pos + size > n) return 3;
    pos += size;
    while (size > 0) {
      const int used = tm_framer_push(&fr, x, size);
      x += used;
      size -= used;
      if (tm_framer_ready(&fr)) {
        if (use_mfcc == 1) {
          tm_mfcc_compute(&g_mfcc, tm_framer_frame(&fr), g_y);
          print_floats(g_y, MFCC_N_MFCC);
        } else {
          print_floats(tm_framer_frame(&fr), frame_length);
        }
      }
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "fft") == 0 && argc == 3) {
    const int n = atoi(argv[2]);
    int rc = tm_rfft_init(&g_fft, n);
    if (rc != 0) {
      printf("init_error %d\n", rc);
      return 0;
    }
    if (read_floats(g_x, n) != 0) return 3;
    tm_rfft(&g_fft, g_x, g_y);
    print_floats(g_y, n + 2);
    return 0;
  }
  if (strcmp(mode, "window") == 0 && argc == 5) {
    const int n = atoi(argv[4]);
    if (n > MAX_SAMPLES || tm_window_fill(g_y, n, atoi(argv[2]), atoi(argv[3])) != 0) return 3;
    print_floats(g_y, n);
    return 0;
  }
  if (strcmp(mode, "filterbank") == 0) {
    const tm_logmel_core_t* core;
    const float* w;
    int m, k;
    if (init_features() != 0) return 2;
    core = &g_mfcc.core;
    w = core->mem.weights;
    for (m = 0; m < MFCC_N_MELS; ++m) {
      for (k = 0; k < MFCC_N_FFT / 2 + 1; ++k) {
        const int j = k - core->mem.band_start[m];
        printf("%.9g\n", (j >= 0 && j < core->mem.band_len[m]) ? (double)w[j] : 0.0);
      }
      w += core->mem.band_len[m];
    }
    return 0;
  }
  if ((strcmp(mode, "mfcc_clip") == 0 || strcmp(mode, "logmel_clip") == 0) && argc == 2) {
    const int is_mfcc = mode[0] == 'm';
    const int n = read_int();
    int frames;
    if (n < 0 || n > MAX_SAMPLES || read_floats(g_x, n) != 0) return 3;
    if (init_features() != 0) return 2;
    frames = is_mfcc ? tm_mfcc_compute_clip(&g_mfcc, g_x, n, g_y)
                     : tm_logmel_compute_clip(&g_logmel, g_x, n, g_y);
    print_floats(g_y, frames * (is_mfcc ? MFCC_N_MFCC : LOGMEL_N_MELS));
    return 0;
  }
  if (strcmp(mode, "mfcc_stream") == 0 && argc == 2) {
    if (init_features() != 0) return 2;
    return stream(MFCC_FRAME_LENGTH, MFCC_HOP_LENGTH, 1);
  }
  if (strcmp(mode, "framer") == 0 && argc == 4) {
    return stream(atoi(argv[2]), atoi(argv[3]), 0);
  }
  if (strcmp(mode, "golden") == 0 && argc == 4) return run_golden(argv[2], argv[3]);
  fprintf(stderr, "usage: see the comment at the top of test_dsp_audio.c\n");
  return 2;
}
