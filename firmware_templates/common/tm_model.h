/* tm_model.h - the inference call the runner makes (C99 linkage).
 *
 * Implementations:
 *   model_runner_tflm.cc   TensorFlow Lite Micro (the real firmware; needs TFLM_DIR)
 *   tm_model_replay.c      replays recorded int8 outputs (host `make check`, no TFLM)
 *   tm_model_callback.c    calls a function pointer (tests drive the runner from
 *                          Python with the TFLM Python runtime doing the inference)
 * Exactly one of them is linked into a program.
 */
#ifndef TM_MODEL_H
#define TM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Map the model, register its ops and allocate the tensor arena.
 * Returns 0 on success; negative on failure (after hal_log'ing the reason). */
int tm_model_init(void);

/* Run one inference: in holds TM_MODEL_INPUT_COUNT int8 values (the quantised model
 * input, C order of the input shape); out receives TM_MODEL_OUTPUT_COUNT int8 values.
 * Returns 0 on success, negative on failure. */
int tm_model_invoke(const int8_t* in, int8_t* out);

/* Arena bytes the interpreter really uses (0 where it does not apply). */
size_t tm_model_arena_used(void);

#ifdef __cplusplus
}
#endif

#endif /* TM_MODEL_H */
