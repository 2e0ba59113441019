/* ecg_beats.h - heart_rate's streaming R-peak decision (ECG recipe), C99.
 *
 * The C twin of apps/heart_rate/ecg.py::detect_qrs (see its docstring for the method):
 * fed sample by sample with the Pan-Tompkins rows (tm_pan_tompkins_push: hp, bp, mwi),
 * it reports each R peak once its moving-window-integral peak is confirmed (about the
 * refractory period later; a search-back beat when the next candidate arrives).
 * Implemented in postprocess.c (compiled when app_settings.h defines TM_APP_QRS_*).
 *
 *   tm_qrs_init();
 *   tm_beat_t beats[TM_QRS_MAX_BEATS];
 *   int k = tm_qrs_push(hp, bp, mwi, beats);   // 0..TM_QRS_MAX_BEATS new beats
 *   k = tm_qrs_flush(beats);                    // end of the signal
 *
 * beats[i].index is the R apex's sample index since tm_qrs_init (increasing), .rr the
 * samples since the previous reported beat (0 for the first).
 */
#ifndef HEART_RATE_ECG_BEATS_H
#define HEART_RATE_ECG_BEATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_QRS_MAX_BEATS 16

typedef struct {
  int32_t index; /* R apex, samples since tm_qrs_init */
  int32_t rr;    /* samples since the previous beat (0 for the first) */
} tm_beat_t;

int tm_qrs_init(void);
int tm_qrs_push(float hp, float bp, float mwi, tm_beat_t* out);
int tm_qrs_flush(tm_beat_t* out);

#ifdef __cplusplus
}
#endif

#endif /* HEART_RATE_ECG_BEATS_H */
