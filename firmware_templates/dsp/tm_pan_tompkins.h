/* tm_pan_tompkins.h - Pan-Tompkins QRS pre-processing, streaming, float32 (C99).
 *
 * The C twin of common/dsp/qrs.py (pan_tompkins, PanTompkinsStream): per ECG sample,
 *   hp  = high-pass Butterworth (baseline removed; the R apex is located on it)
 *   bp  = QRS band-pass Butterworth
 *   d   = PANTOMP_DERIV_SCALE * (2 bp[n] + bp[n-1] - bp[n-3] - 2 bp[n-4])   (fs / 8)
 *   mwi = mean of the last PANTOMP_N_INT values of d^2
 * from a zero initial state. Pushing a signal sample by sample gives the batch function's
 * rows (float32 arithmetic here; numpy computes the derivative and integral in float64).
 *
 * Generated-parameter API (PanTompkinsParams -> dsp_params.h, prefix PANTOMP)
 * -------------------------
 *   tm_pantomp_t s;
 *   tm_pantomp_init(&s);                 // 0, or -1 on bad parameters
 *   float y[3];
 *   tm_pantomp_push(&s, x, y);           // y = {hp, bp, mwi} of sample x
 *   tm_pantomp_reset(&s);                // start a new signal
 * Memory: the struct, 4 * (2 * (HP + BP sections) + 4 + PANTOMP_N_INT) bytes.
 */
#ifndef TM_PAN_TOMPKINS_H
#define TM_PAN_TOMPKINS_H

#include "dsp_params.h"
#include "tm_biquad.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef PANTOMP_IMPLEMENTATION_VERSION
typedef struct {
  tm_biquad_t hp;
  tm_biquad_t bp;
  float hp_state[2 * PANTOMP_HP_SECTIONS];
  float bp_state[2 * PANTOMP_BP_SECTIONS];
  float hist[4]; /* bp[n-1] .. bp[n-4] */
  float ring[PANTOMP_N_INT];
  int pos;
} tm_pantomp_t;

int tm_pantomp_init(tm_pantomp_t* s);
void tm_pantomp_reset(tm_pantomp_t* s);
void tm_pantomp_push(tm_pantomp_t* s, float x, float* out3);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_PAN_TOMPKINS_H */
