/* tm_app_default.c - post-processing for apps without firmware_templates/apps/<app>/postprocess.c.
 *
 * classification: report the arg-max class and its score every window;
 * regression:     report outputs[0] as a value;
 * anomaly:        score = mean squared error between the model input and output
 *                 (an autoencoder) or outputs[0] (a model that outputs a score);
 *                 index = 1 when the score exceeds TM_APP_CAL_THRESHOLD (if calibrated).
 * See tm_app.h for the contract and docs/DEPLOY.md for writing your own.
 */
#include "app_settings.h"
#include "model_settings.h"
#include "tm_app.h"

int tm_app_init(void) { return 0; }

int tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  if (io->n_outputs <= 0) return -1;
#if TM_TASK == TM_TASK_CLASSIFICATION
  {
    int best = 0;
    int i;
    for (i = 1; i < io->n_outputs; ++i) {
      if (io->outputs[i] > io->outputs[best]) best = i;
    }
    ev->kind = TM_EVENT_CLASS;
    ev->index = best;
    ev->label = (best < kCategoryCount) ? kCategoryLabels[best] : 0;
    ev->value = io->outputs[best];
  }
#elif TM_TASK == TM_TASK_ANOMALY
  {
    float score = io->outputs[0];
    if (io->n_outputs == io->n_features) {
      float acc = 0.0f;
      int i;
      for (i = 0; i < io->n_outputs; ++i) {
        const float d = io->outputs[i] - io->features[i];
        acc += d * d;
      }
      score = acc / (float)io->n_outputs;
    }
    ev->kind = TM_EVENT_ANOMALY;
    ev->value = score;
#ifdef TM_APP_CAL_THRESHOLD
    ev->index = score > TM_APP_CAL_THRESHOLD ? 1 : 0;
    ev->confidence = TM_APP_CAL_THRESHOLD;
#else
    ev->index = -1;
#endif
  }
#else /* regression */
  ev->kind = TM_EVENT_VALUE;
  ev->value = io->outputs[0];
#endif
  return 1;
}
