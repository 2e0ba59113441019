/* ecg_beats_impl.h - implementation of ecg_beats.h, included once by postprocess.c (C99).
 *
 * (The deploy layer copies an app's postprocess.c and its headers into a project; the ECG
 * detector lives in this header so that it travels with them. Include it from exactly one
 * .c file.)
 *
 * The C twin of apps/heart_rate/ecg.py::detect_qrs, step by step:
 *  1. candidates: tm_peaks on mwi (no threshold, refractory TM_APP_QRS_REFRACTORY);
 *  2. learning over the first TM_APP_QRS_LEARN samples: SPKI = spk_init * max(mwi),
 *     NPKI = npk_init * mean(mwi); candidates confirmed earlier wait in a queue;
 *  3. THR1 = NPKI + 0.25 (SPKI - NPKI) (x irregular_factor after an irregular RR),
 *     QRS if v >= THR1 unless a T wave (within TM_APP_QRS_T_WAVE of the last QRS with a
 *     max band-pass slope below t_slope_ratio x that QRS's), else noise;
 *  4. search-back when a candidate arrives more than searchback x mean(last 8 RR) after
 *     the last QRS: the highest noise candidate >= THR1 / 2 since then becomes a QRS;
 *  5. R apex: argmax |hp| over TM_APP_QRS_R_SEARCH samples ending TM_APP_QRS_R_LAG
 *     before the candidate, computed when the candidate is confirmed (from the rings).
 */
#include <string.h>

#include "ecg_beats.h"
#include "tm_peaks.h"

#if !defined(TM_APP_QRS_LEARN) || !defined(TM_APP_QRS_RING) || !defined(TM_APP_QRS_N_INT)
#error "the ECG detector needs TM_APP_QRS_* in app_settings.h (EcgApp.firmware_context)"
#endif

#define QRS_QUEUE 32

typedef struct {
  int32_t idx;  /* candidate (mwi peak) sample */
  float value;  /* mwi there */
  float slope;  /* max |bp[t] - bp[t-1]| over [idx - n_int, idx] */
  int32_t r;    /* R apex */
} qrs_cand_t;

static tm_peaks_t g_pk;
static float g_hp[TM_APP_QRS_RING];
static float g_slope[TM_APP_QRS_RING];
static float g_mwi[TM_APP_QRS_RING];
static int32_t g_t;          /* samples pushed */
static float g_prev_bp;
static float g_learn_max;
static double g_learn_sum;
static int g_learned;
static qrs_cand_t g_queue[QRS_QUEUE];
static int g_queued;
static float g_spki, g_npki, g_last_slope;
static int32_t g_last_qrs;
static int32_t g_rr[8];
static int g_rr_n, g_rr_pos;
static qrs_cand_t g_best;    /* search-back candidate since the last QRS (idx < 0: none) */
static int32_t g_last_r;

int tm_qrs_init(void) {
  if (tm_peaks_init(&g_pk, TM_APP_QRS_REFRACTORY, TM_PEAKS_NONE, 0.0f, 0.5f, 1, 0, 0) != 0) return -1;
  memset(g_hp, 0, sizeof(g_hp));
  memset(g_slope, 0, sizeof(g_slope));
  memset(g_mwi, 0, sizeof(g_mwi));
  g_t = 0;
  g_prev_bp = 0.0f;
  g_learn_max = 0.0f;
  g_learn_sum = 0.0;
  g_learned = 0;
  g_queued = 0;
  g_spki = g_npki = g_last_slope = 0.0f;
  g_last_qrs = -1;
  g_rr_n = g_rr_pos = 0;
  g_best.idx = -1;
  g_best.value = 0.0f;
  g_last_r = -1;
  return 0;
}

static int slot(int32_t t) { return (int)(t % TM_APP_QRS_RING); }

/* candidate c's value, slope window and R apex, from the rings (c >= g_t - TM_APP_QRS_RING) */
static qrs_cand_t describe(int32_t c) {
  qrs_cand_t q;
  int32_t lo = c - TM_APP_QRS_N_INT, a, b, k, oldest = g_t - TM_APP_QRS_RING;
  float best = -1.0f;
  if (oldest < 0) oldest = 0;
  if (lo < 0) lo = 0;
  if (lo < oldest) lo = oldest;
  q.idx = c;
  q.value = g_mwi[slot(c)];
  q.slope = 0.0f;
  for (k = lo; k <= c; ++k) {
    if (g_slope[slot(k)] > q.slope) q.slope = g_slope[slot(k)];
  }
  b = c - TM_APP_QRS_R_LAG + 1;
  if (b < 0) b = 0;
  a = b - TM_APP_QRS_R_SEARCH;
  if (a < 0) a = 0;
  if (a < oldest) a = oldest;
  q.r = -1;
  for (k = a; k < b; ++k) {
    const float v = fabsf(g_hp[slot(k)]);
    if (v > best) {
      best = v;
      q.r = k;
    }
  }
  return q;
}

static double rr_mean(void) {
  int i;
  double s = 0.0;
  if (g_rr_n == 0) return (double)TM_APP_QRS_RR_INIT;
  for (i = 0; i < g_rr_n; ++i) s += (double)g_rr[i];
  return s / (double)g_rr_n;
}

static float thr1(void) {
  float t = g_npki + 0.25f * (g_spki - g_npki);
  if (g_rr_n >= 2) {
    const double avg = rr_mean();
    const int32_t last = g_rr[(g_rr_pos + 7) % 8];
    if (!((double)TM_APP_QRS_IRREGULAR_LOW * avg <= (double)last && (double)last <= (double)TM_APP_QRS_IRREGULAR_HIGH * avg)) {
      t = t * (float)TM_APP_QRS_IRREGULAR_FACTOR;
    }
  }
  return t;
}

static void accept(const qrs_cand_t* q, float factor, tm_beat_t* out, int* n_out) {
  g_spki = factor * q->value + (1.0f - factor) * g_spki;
  if (g_last_qrs >= 0) {
    g_rr[g_rr_pos] = q->idx - g_last_qrs;
    g_rr_pos = (g_rr_pos + 1) % 8;
    if (g_rr_n < 8) g_rr_n++;
  }
  g_last_qrs = q->idx;
  g_last_slope = q->slope;
  g_best.idx = -1;
  g_best.value = 0.0f;
  if (q->r >= 0 && q->r != g_last_r && *n_out < TM_QRS_MAX_BEATS) {
    out[*n_out].index = q->r;
    out[*n_out].rr = g_last_r >= 0 ? q->r - g_last_r : 0;
    (*n_out)++;
    g_last_r = q->r;
  }
}

static void decide(const qrs_cand_t* q, tm_beat_t* out, int* n_out) {
  const float v = q->value;
  float t1;
  if (g_last_qrs >= 0 && (double)(q->idx - g_last_qrs) > (double)TM_APP_QRS_SEARCHBACK * rr_mean() &&
      g_best.idx >= 0 && g_best.value >= 0.5f * thr1()) {
    const qrs_cand_t b = g_best;
    accept(&b, 0.25f, out, n_out);
  }
  t1 = thr1();
  if (v >= t1) {
    if (g_last_qrs >= 0 && q->idx - g_last_qrs < TM_APP_QRS_T_WAVE &&
        q->slope < (float)TM_APP_QRS_T_SLOPE_RATIO * g_last_slope) {
      g_npki = 0.125f * v + 0.875f * g_npki; /* a T wave */
      return;
    }
    accept(q, 0.125f, out, n_out);
  } else {
    g_npki = 0.125f * v + 0.875f * g_npki;
    if ((g_last_qrs < 0 || q->idx - g_last_qrs >= TM_APP_QRS_REFRACTORY) && v > g_best.value) g_best = *q;
  }
}

static void finish_learning(tm_beat_t* out, int* n_out) {
  int i;
  const int32_t n = g_t < TM_APP_QRS_LEARN ? g_t : TM_APP_QRS_LEARN;
  g_spki = (float)TM_APP_QRS_SPK_INIT * g_learn_max;
  g_npki = (float)TM_APP_QRS_NPK_INIT * (float)(n > 0 ? g_learn_sum / (double)n : 0.0);
  g_learned = 1;
  for (i = 0; i < g_queued; ++i) decide(&g_queue[i], out, n_out);
  g_queued = 0;
}

static void candidate(int32_t c, tm_beat_t* out, int* n_out) {
  const qrs_cand_t q = describe(c);
  if (!g_learned) {
    if (g_queued < QRS_QUEUE) g_queue[g_queued++] = q;
    return;
  }
  decide(&q, out, n_out);
}

int tm_qrs_push(float hp, float bp, float mwi, tm_beat_t* out) {
  int32_t idx[2];
  int k, i, n_out = 0;
  const int s = slot(g_t);
  g_hp[s] = hp;
  g_slope[s] = g_t > 0 ? fabsf(bp - g_prev_bp) : 0.0f;
  g_mwi[s] = mwi;
  g_prev_bp = bp;
  if (g_t < TM_APP_QRS_LEARN) {
    if (g_t == 0 || mwi > g_learn_max) g_learn_max = mwi;
    g_learn_sum += (double)mwi;
  }
  g_t++;
  k = tm_peaks_push(&g_pk, mwi, idx);
  for (i = 0; i < k; ++i) candidate(idx[i], out, &n_out);
  if (!g_learned && g_t >= TM_APP_QRS_LEARN) finish_learning(out, &n_out);
  return n_out;
}

int tm_qrs_flush(tm_beat_t* out) {
  int32_t idx[2];
  int k, i, n_out = 0;
  k = tm_peaks_flush(&g_pk, idx);
  for (i = 0; i < k; ++i) candidate(idx[i], out, &n_out);
  if (!g_learned) finish_learning(out, &n_out);
  return n_out;
}

/* The runner's hooks: the ECG main loop (ecg_main.c) does not run the runner. */
int tm_app_init(void) { return tm_qrs_init(); }

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  (void)io;
  (void)ev;
  return 0;
}
