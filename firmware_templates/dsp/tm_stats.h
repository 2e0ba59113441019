/* tm_stats.h - time-domain statistics of a window (C99, float32).
 *
 * The C twin of common/dsp/stats.py::time_stats. Writes TM_STATS_COUNT values in the
 * order of STAT_NAMES: mean, std, rms, skewness, kurtosis, crest, p2p, zcr.
 *
 *   mean      m = sum(x) / n
 *   std       sqrt(m2), m_k = sum((x - m)^k) / n   (population, biased moments)
 *   rms       sqrt(sum(x^2) / n)
 *   skewness  m3 / m2^1.5
 *   kurtosis  m4 / m2^2 - 3 (fisher != 0) or m4 / m2^2 (Pearson)
 *   crest     max|x| / rms (0 when rms == 0)
 *   p2p       max(x) - min(x)
 *   zcr       fraction of the n - 1 adjacent pairs whose signs differ (>= 0 counts as
 *             positive), of x - m when zcr_center != 0, else of x; 0 when n == 1
 *
 * A window with std <= 1e-5 * max|x| counts as constant: skewness 0, kurtosis 0
 * (Fisher) or 3 (Pearson). Two passes, float32 accumulators.
 *
 * Kernel API
 *   void tm_stats_compute(const float* x, int n, int fisher, int zcr_center,
 *                         float out[TM_STATS_COUNT]);          n >= 1
 * Generated-parameter API (StatsParams -> dsp_params.h, prefix STATS)
 *   void tm_stats(const float* x, int n, float out[TM_STATS_COUNT]);
 *     uses STATS_FISHER and STATS_ZCR_CENTER; compiled when dsp_params.h defines
 *     STATS_IMPLEMENTATION_VERSION.
 */
#ifndef TM_STATS_H
#define TM_STATS_H

#include "dsp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_STATS_COUNT 8
#define TM_STAT_MEAN 0
#define TM_STAT_STD 1
#define TM_STAT_RMS 2
#define TM_STAT_SKEWNESS 3
#define TM_STAT_KURTOSIS 4
#define TM_STAT_CREST 5
#define TM_STAT_P2P 6
#define TM_STAT_ZCR 7

void tm_stats_compute(const float* x, int n, int fisher, int zcr_center, float* out);

#ifdef STATS_IMPLEMENTATION_VERSION
void tm_stats(const float* x, int n, float* out);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_STATS_H */
