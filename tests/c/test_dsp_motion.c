/* Host driver for tm_motion.c (tests/test_motion_dsp.py builds and runs it).
 *
 * stdin: n_windows n_axes n_bins, then per window ppg[n_bins] and acc[n_axes * n_bins]
 * (axis-major); stdout: per window out[n_bins] (%.9g), the streaming stage's output with
 * the state carried from window to window. "noise SPREAD" as argv[1..2] prints
 * tm_motion_noise() of each window's acc instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm_motion.h"

static float g_ppg[TM_MOTION_MAX_BINS];
static float g_acc[8 * TM_MOTION_MAX_BINS];
static float g_out[TM_MOTION_MAX_BINS];
static float g_work[TM_MOTION_MAX_BINS];

static int read_floats(float* dst, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    if (scanf("%f", &dst[i]) != 1) return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  static tm_motion_t s;
  int n_win, n_axes, n_bins, w, k;
  const int noise_mode = argc >= 3 && strcmp(argv[1], "noise") == 0;
  if (scanf("%d %d %d", &n_win, &n_axes, &n_bins) != 3) return 2;
  if (n_axes < 1 || n_axes > 8 || n_bins < 1 || n_bins > TM_MOTION_MAX_BINS) return 3;
  if (tm_motion_init(&s, n_bins) != 0) return 4;
  for (w = 0; w < n_win; ++w) {
    if (read_floats(g_ppg, n_bins) != 0 || read_floats(g_acc, n_axes * n_bins) != 0) return 5;
    if (noise_mode) {
      if (tm_motion_noise(g_acc, n_axes, n_bins, atoi(argv[2]), g_work, g_out) != 0) return 6;
    } else if (tm_motion_step(&s, g_ppg, g_acc, n_axes, g_out) != 0) {
      return 7;
    }
    for (k = 0; k < n_bins; ++k) printf("%.9g\n", (double)g_out[k]);
  }
  return 0;
}
