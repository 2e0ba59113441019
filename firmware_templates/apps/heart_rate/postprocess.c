/* postprocess.c - heart_rate's firmware hooks (tm_app.h), C99: the HR tracking prior.
 *
 * (ECG recipe, app_settings.h defines TM_APP_QRS_*: this file instead compiles the
 * streaming R-peak decision of ecg_beats_impl.h; the ECG main loop, ecg_main.c, calls it
 * and the runner's hooks report nothing.)
 *
 * The C twin of apps/heart_rate/postprocess.py::HrTracker (tests/test_heart_rate_firmware.py
 * compiles this file on the host and compares it with the Python code window by window).
 *
 * Every 2 s the runner hands in the CNN's outputs over TM_APP_HR_BINS heart-rate bins
 * (grid[k] = TM_APP_HR_MIN_BPM + k * TM_APP_HR_STEP_BPM): logits, turned into
 * probabilities p by a float softmax (TM_APP_OUTPUTS_LOGITS), or probabilities. Then a
 * causal HMM forward filter (tracker version TM_APP_TRACK_VERSION 2):
 *   acc[k] = max over the ACC channels of the features (decompressed: the front end's
 *            normalised ACC power), m = min(max_k acc[k], 1): the motion level
 *   gamma  = gamma_motion + (gamma - gamma_motion) * (1 - m)
 *   u      = uniform^(1 - m) * uniform_motion^m
 *   r[k]   = 1 / n, or normalise(max(1 - reacquire_acc * acc[k], 0.001))
 *   prior  = normalise(post (*) kernel) * (1 - u) + u * r               (predict)
 *   post   = normalise(prior * ((p / max p)^gamma + floor))             (update; without
 *            the division by max p when TM_APP_TRACK_NORMALIZE is 0)
 * then the estimate = the posterior's maximum, refined to the posterior mean within
 * +- TM_APP_TRACK_REFINE_BINS bins (refine 1 "mean") or to the parabolic peak of the
 * scores nearest to it (refine 0 "peak"). Reported every window: kind TM_EVENT_VALUE,
 * value = heart rate (BPM), label "bpm", confidence = posterior mass within
 * +- TM_APP_TRACK_REFINE_BINS bins of the maximum.
 * A recording starts from TM_APP_TRACK_INIT (flat, or half flat and half a Gaussian
 * around a typical starting heart rate: TrackParams.initial).
 * Static RAM: 6 * TM_APP_HR_BINS floats + the kernel, flash: the starting posterior
 * (HeartRateApp.app_buffers_bytes counts 7 * TM_APP_HR_BINS floats).
 */
#include <math.h>

#include "app_settings.h"
#include "model_settings.h"
#include "tm_app.h"

#if TM_APP_API_VERSION != 1
#error "postprocess.c implements tm_app.h version 1"
#endif

#ifdef TM_APP_QRS_REFRACTORY
#include "ecg_beats_impl.h"
#else /* the PPG recipe: the HR tracking prior */

#if !defined(TM_APP_HR_BINS) || !defined(TM_APP_TRACK_KERNEL_COUNT) || !defined(TM_APP_HR_MIN_BPM)
#error "heart_rate needs TM_APP_HR_BINS, TM_APP_HR_MIN_BPM, TM_APP_HR_STEP_BPM and TM_APP_TRACK_* in app_settings.h"
#endif
#if TM_MODEL_OUTPUT_COUNT != TM_APP_HR_BINS
#error "the model must output one score per heart-rate bin (TM_MODEL_OUTPUT_COUNT == TM_APP_HR_BINS)"
#endif
#if !defined(TM_APP_TRACK_VERSION) || TM_APP_TRACK_VERSION != 2
#error "postprocess.c implements the heart-rate tracker version 2 (TrackParams.IMPLEMENTATION_VERSION); regenerate app_settings.h"
#endif
#if TM_APP_ACC_CHANNELS > 0
#if TM_APP_FEATURE_CHANNELS * TM_APP_HR_BINS != TM_FEATURE_COUNT
#error "the tracker reads the ACC spectrum from features of TM_APP_HR_BINS x TM_APP_FEATURE_CHANNELS values"
#endif
#endif

#define HR_REFINE_PEAK 0
#define HR_REFINE_MEAN 1

static const float kKernel[TM_APP_TRACK_KERNEL_COUNT] = TM_APP_TRACK_KERNEL_INIT;
#if TM_APP_TRACK_INIT_COUNT != TM_APP_HR_BINS
#error "TM_APP_TRACK_INIT (the starting posterior) must hold TM_APP_HR_BINS values"
#endif
static const float kInit[TM_APP_HR_BINS] = TM_APP_TRACK_INIT_INIT;
static float g_post[TM_APP_HR_BINS];
static float g_prior[TM_APP_HR_BINS];
static float g_grid[TM_APP_HR_BINS];
static float g_prob[TM_APP_HR_BINS];
static float g_acc[TM_APP_HR_BINS];
static float g_reacq[TM_APP_HR_BINS];

int tm_app_init(void) {
  int k;
  for (k = 0; k < TM_APP_HR_BINS; ++k) {
    g_post[k] = kInit[k];
    g_grid[k] = (float)TM_APP_HR_MIN_BPM + (float)TM_APP_HR_STEP_BPM * (float)k;
  }
  return 0;
}

/* The ACC spectrum of the window from the features (max over the ACC channels, the front
 * end's compression undone) into g_acc; returns the motion level m in [0, 1]. */
static float acc_spectrum(const float* features, int n_features) {
#if TM_APP_ACC_CHANNELS > 0
  float m = 0.0f;
  int k, c;
  if (features == 0 || n_features != TM_APP_FEATURE_CHANNELS * TM_APP_HR_BINS) return 0.0f;
  for (k = 0; k < TM_APP_HR_BINS; ++k) {
    float best = 0.0f;
    for (c = 0; c < TM_APP_ACC_CHANNELS; ++c) {
      float v = features[k * TM_APP_FEATURE_CHANNELS + TM_APP_ACC_FIRST_CHANNEL + c];
#if TM_APP_ACC_COMPRESS == 0
      v = expf((v - 1.0f) * (float)(-log((double)(float)TM_APP_ACC_LOG_FLOOR)));
#elif TM_APP_ACC_COMPRESS == 1
      v = v * v;
#endif
      if (c == 0 || v > best) best = v;
    }
    g_acc[k] = best;
    if (best > m) m = best;
  }
  return m < 0.0f ? 0.0f : (m > 1.0f ? 1.0f : m);
#else
  (void)features;
  (void)n_features;
  return 0.0f;
#endif
}

/* One tracking step on scores[TM_APP_HR_BINS] at motion level m (g_acc holds the ACC
 * spectrum when there is one); returns the estimate, *mass = confidence. */
static float track_step(const float* scores, float m, int have_acc, float* mass) {
  const int n = TM_APP_HR_BINS;
  const int half = TM_APP_TRACK_KERNEL_COUNT / 2;
  const float one_m = 1.0f - m;
  const float gamma = (float)TM_APP_TRACK_GAMMA_MOTION + ((float)TM_APP_TRACK_GAMMA - (float)TM_APP_TRACK_GAMMA_MOTION) * one_m;
  const float u = powf((float)TM_APP_TRACK_UNIFORM, one_m) * powf((float)TM_APP_TRACK_UNIFORM_MOTION, m);
  float sum = 0.0f, mx = 0.0f, rsum = 0.0f;
  int i, k, j = 0, a, b;
  /* predict */
  for (i = 0; i < n; ++i) {
    float acc = 0.0f;
    for (k = 0; k < TM_APP_TRACK_KERNEL_COUNT; ++k) {
      const int src = i + k - half;
      if (src >= 0 && src < n) acc += g_post[src] * kKernel[k];
    }
    g_prior[i] = acc;
    sum += acc;
  }
  if (have_acc && (float)TM_APP_TRACK_REACQUIRE_ACC > 0.0f) {
    for (i = 0; i < n; ++i) {
      const float r = 1.0f - (float)TM_APP_TRACK_REACQUIRE_ACC * g_acc[i];
      g_reacq[i] = r > 0.001f ? r : 0.001f;
      rsum += g_reacq[i];
    }
    for (i = 0; i < n; ++i) g_prior[i] = (g_prior[i] / sum) * (1.0f - u) + u * (g_reacq[i] / rsum);
  } else {
    for (i = 0; i < n; ++i) g_prior[i] = (g_prior[i] / sum) * (1.0f - u) + u * (1.0f / (float)n);
  }
  /* update */
  for (i = 0; i < n; ++i) {
    const float e = scores[i] > 0.0f ? scores[i] : 0.0f;
    if (e > mx) mx = e;
  }
  sum = 0.0f;
  for (i = 0; i < n; ++i) {
    const float e = scores[i] > 0.0f ? scores[i] : 0.0f;
#if TM_APP_TRACK_NORMALIZE
    const float r = mx > 0.0f ? e / mx : 1.0f;
#else
    const float r = e;
#endif
    const float em = powf(r, gamma) + (float)TM_APP_TRACK_FLOOR;
    g_post[i] = g_prior[i] * em;
    sum += g_post[i];
  }
  for (i = 0; i < n; ++i) {
    g_post[i] = g_post[i] / sum;
    if (g_post[i] > g_post[j]) j = i;
  }
  /* estimate */
  a = j - TM_APP_TRACK_REFINE_BINS;
  b = j + TM_APP_TRACK_REFINE_BINS + 1;
  if (a < 0) a = 0;
  if (b > n) b = n;
  *mass = 0.0f;
  for (i = a; i < b; ++i) *mass += g_post[i];
#if TM_APP_TRACK_REFINE == HR_REFINE_MEAN
  if (TM_APP_TRACK_REFINE_BINS > 0) {
    float num = 0.0f, den = 0.0f;
    for (i = a; i < b; ++i) {
      num += g_post[i] * g_grid[i];
      den += g_post[i];
    }
    return num / den;
  }
  return g_grid[j];
#elif TM_APP_TRACK_REFINE == HR_REFINE_PEAK
  {
    const int lo = j - TM_APP_TRACK_REFINE_BINS > 1 ? j - TM_APP_TRACK_REFINE_BINS : 1;
    const int hi = j + TM_APP_TRACK_REFINE_BINS + 1 < n - 1 ? j + TM_APP_TRACK_REFINE_BINS + 1 : n - 1;
    float best_v = -1.0f;
    int best = -1;
    for (i = lo; i < hi; ++i) {
      if (scores[i] > scores[i - 1] && scores[i] >= scores[i + 1]) {
        const float v = scores[i] * g_post[i];
        if (v > best_v) {
          best = i;
          best_v = v;
        }
      }
    }
    if (best < 0 || TM_APP_TRACK_REFINE_BINS == 0) return g_grid[j];
    {
      const float y0 = scores[best - 1], y1 = scores[best], y2 = scores[best + 1];
      const float den = y0 - 2.0f * y1 + y2;
      const float off = den < 0.0f ? 0.5f * (y0 - y2) / den : 0.0f;
      return g_grid[best] + off * (float)TM_APP_HR_STEP_BPM;
    }
  }
#else
  return g_grid[j];
#endif
}

/* The model's outputs as probabilities: a float softmax when the model outputs logits. */
static const float* probabilities(const float* y) {
#if defined(TM_APP_OUTPUTS_LOGITS) && TM_APP_OUTPUTS_LOGITS
  float mx = y[0], sum = 0.0f;
  int i;
  for (i = 1; i < TM_APP_HR_BINS; ++i) {
    if (y[i] > mx) mx = y[i];
  }
  for (i = 0; i < TM_APP_HR_BINS; ++i) {
    g_prob[i] = expf(y[i] - mx);
    sum += g_prob[i];
  }
  for (i = 0; i < TM_APP_HR_BINS; ++i) g_prob[i] = g_prob[i] / sum;
  return g_prob;
#else
  return y;
#endif
}

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  float mass = 0.0f, m;
  if (io == 0 || ev == 0 || io->n_outputs != TM_APP_HR_BINS) return -1;
  m = acc_spectrum(io->features, io->n_features);
  ev->kind = TM_EVENT_VALUE;
  ev->value = track_step(probabilities(io->outputs), m, TM_APP_ACC_CHANNELS > 0 && io->features != 0, &mass);
  ev->label = "bpm";
  ev->confidence = mass;
  return 1;
}

#endif /* TM_APP_QRS_REFRACTORY */
