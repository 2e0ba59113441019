/* tm_motion.h - accelerometer-driven motion-artefact suppression of a PPG spectrum (C99, float32).
 *
 * The C twin of common/dsp/motion.py (MotionSuppressionParams, motion_noise, motion_gain,
 * MotionSuppressor). Per window, on n_bins spectrum bins:
 *
 *   N[k] = max over axes of acc[axis][k], then the maximum over k - spread .. k + spread
 *   subtract: G[k] = max(1 - strength * N[k], gain_floor)
 *   wiener:   S[k] = history * S[k] + (1 - history) * ppg[k]   (S = ppg on the first window)
 *             G[k] = max(S[k] / (S[k] + strength * N[k] + 1e-12), gain_floor)
 *   out[k] = ppg[k] * min(G[k], 1)
 *
 * acc is axis-major: acc[axis * n_bins + k], each axis's power normalised to [0, 1] by the
 * caller (the ppg_spectrum front end does it). Float32 in the same order as the Python
 * code; tests/test_motion_dsp.py holds the two together (golden file motion_v1.txt).
 *
 * Kernel API (explicit parameters)
 * --------------------------------
 * int tm_motion_noise(const float* acc, int n_axes, int n_bins, int spread, float* work, float* noise)
 *     work, noise: n_bins floats each (noise may not alias work); returns 0, -1 for bad arguments.
 *
 * Generated-parameter API (MotionSuppressionParams -> dsp_params.h, prefix MOTION)
 * ------------------------------------------------------------------------------
 * int tm_motion_init(tm_motion_t* s, int n_bins)    n_bins <= TM_MOTION_MAX_BINS; 0 or -1
 * void tm_motion_reset(tm_motion_t* s)              a new recording (no signal history)
 * int tm_motion_step(tm_motion_t* s, const float* ppg, const float* acc, int n_axes, float* out)
 *     out[n_bins] (may alias ppg); returns 0, -1 for bad arguments.
 * Static RAM: 3 * TM_MOTION_MAX_BINS floats per tm_motion_t.
 */
#ifndef TM_MOTION_H
#define TM_MOTION_H

#include "dsp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TM_MOTION_MAX_BINS
#define TM_MOTION_MAX_BINS 128
#endif

/* Gain rules: the codes of MotionSuppressionParams.C_ENUMS["rule"]. */
#define TM_MOTION_SUBTRACT 0
#define TM_MOTION_WIENER 1

int tm_motion_noise(const float* acc, int n_axes, int n_bins, int spread, float* work, float* noise);

#ifdef MOTION_IMPLEMENTATION_VERSION
typedef struct {
  int n_bins;
  int started;
  float signal[TM_MOTION_MAX_BINS]; /* the Wiener signal estimate S */
  float noise[TM_MOTION_MAX_BINS];  /* N of the current window */
  float work[TM_MOTION_MAX_BINS];   /* the axis maximum before the spread */
} tm_motion_t;

int tm_motion_init(tm_motion_t* s, int n_bins);
void tm_motion_reset(tm_motion_t* s);
int tm_motion_step(tm_motion_t* s, const float* ppg, const float* acc, int n_axes, float* out);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_MOTION_H */
