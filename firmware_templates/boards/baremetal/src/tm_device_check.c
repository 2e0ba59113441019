/* tm_device_check.c - the check build's trace and measurements (C99, GNU ld --wrap).
 *
 * The Makefile links the check build with --wrap for the functions below, so that the
 * app's own code (tm_main.c or the app's main loop, tm_runner.c, the front end, the model,
 * the hooks) runs unchanged while every call is counted:
 *   tm_model_invoke                        instructions per inference
 *   tm_features_compute, tm_fe_audio_frame, instructions per front-end call (a window, an
 *   tm_pantomp_push                        audio frame, an ECG sample: whichever the main
 *                                          loop calls)
 *   tm_conv_s8, tm_dwconv_s8, tm_fc_s8     the engine's multiply-accumulate kernels (inside
 *                                          the model's count)
 *   tm_app_postprocess                     instructions of the hooks; and the trace line of
 *                                          the inference: its float features, int8 input and
 *                                          int8 outputs, in hex (exact), e.g.
 *     inf 3 f=<hex> q=<hex> o=<hex>
 * (the bytes in memory order: little-endian float32, int8).
 * Events are the HAL's JSON lines. The last line sums it up:
 *     end status=0 inferences=K model_calls=.. model_instr=.. fe_calls=.. fe_instr=.. fe_fn=<name>
 *         pp_calls=.. pp_instr=.. stack=<bytes> stack_size=<bytes> heap=<bytes>
 * Instruction counts are SysTick ticks x TM_CM_INSTRUCTIONS_PER_TICK (tm_cm.h): QEMU's
 * executed instructions, a proxy for cycles. The stack is measured by painting (tm_cm.h)
 * and noted before any trace is printed; the trace's own stack use is painted over again.
 */
#include <stdint.h>

#include "model_settings.h"
#include "tm_app.h"
#include "tm_cm.h"

typedef struct {
  uint64_t calls;
  uint64_t ticks;
} counter_t;

static counter_t g_model, g_fe, g_pp;
static counter_t g_k_conv, g_k_dwconv, g_k_fc; /* the engine's MAC kernels, inside the model */
static uint32_t g_inference;
static const char* g_fe_fn = "none"; /* the front-end function the main loop called */

static void put(const char* s) {
  int n = 0;
  while (s[n]) ++n;
  tm_cm_console_write(s, n);
}

static void put_u64(uint64_t v) {
  char buf[24];
  int i = (int)sizeof(buf);
  do {
    buf[--i] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0u);
  tm_cm_console_write(&buf[i], (int)sizeof(buf) - i);
}

static void put_hex(const void* data, int n_bytes) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char* b = (const unsigned char*)data;
  char buf[64];
  int i, len = 0;
  /* the bytes in memory order (little-endian words) */
  for (i = 0; i < n_bytes; ++i) {
    buf[len++] = digits[b[i] >> 4];
    buf[len++] = digits[b[i] & 15];
    if (len == (int)sizeof(buf)) {
      tm_cm_console_write(buf, len);
      len = 0;
    }
  }
  tm_cm_console_write(buf, len);
}

static void count(counter_t* c, uint64_t t0) {
  c->ticks += tm_cm_ticks() - t0;
  c->calls++;
}

static void put_counter(const char* name, const counter_t* c) {
  put(" ");
  put(name);
  put("_calls=");
  put_u64(c->calls);
  put(" ");
  put(name);
  put("_instr=");
  put_u64(c->ticks * (uint64_t)TM_CM_INSTRUCTIONS_PER_TICK);
}

/* -- wrapped functions (the __real_ ones are weak: a build may lack some) --------------- */

int __real_tm_model_invoke(const int8_t* in, int8_t* out) __attribute__((weak));
int __real_tm_features_compute(const float* window, float* out) __attribute__((weak));
void __real_tm_fe_audio_frame(const float* frame, float* out) __attribute__((weak));
void __real_tm_pantomp_push(void* state, float x, float* y) __attribute__((weak));
int __real_tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) __attribute__((weak));

int __wrap_tm_model_invoke(const int8_t* in, int8_t* out);
/* the engine's kernels (firmware_templates/engine): where the model's instructions go */
void __real_tm_conv_s8(const void* p, const int8_t* in, int8_t* out) __attribute__((weak));
void __real_tm_dwconv_s8(const void* p, const int8_t* in, int8_t* out) __attribute__((weak));
void __real_tm_fc_s8(const void* p, const int8_t* in, int8_t* out) __attribute__((weak));
void __wrap_tm_conv_s8(const void* p, const int8_t* in, int8_t* out);
void __wrap_tm_dwconv_s8(const void* p, const int8_t* in, int8_t* out);
void __wrap_tm_fc_s8(const void* p, const int8_t* in, int8_t* out);
int __wrap_tm_features_compute(const float* window, float* out);
void __wrap_tm_fe_audio_frame(const float* frame, float* out);
void __wrap_tm_pantomp_push(void* state, float x, float* y);
int __wrap_tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev);

int __wrap_tm_model_invoke(const int8_t* in, int8_t* out) {
  const uint64_t t0 = tm_cm_ticks();
  const int status = __real_tm_model_invoke(in, out);
  count(&g_model, t0);
  tm_cm_stack_note(); /* the deepest point of the front end and the model so far */
  return status;
}

void __wrap_tm_conv_s8(const void* p, const int8_t* in, int8_t* out) {
  const uint64_t t0 = tm_cm_ticks();
  __real_tm_conv_s8(p, in, out);
  count(&g_k_conv, t0);
}

void __wrap_tm_dwconv_s8(const void* p, const int8_t* in, int8_t* out) {
  const uint64_t t0 = tm_cm_ticks();
  __real_tm_dwconv_s8(p, in, out);
  count(&g_k_dwconv, t0);
}

void __wrap_tm_fc_s8(const void* p, const int8_t* in, int8_t* out) {
  const uint64_t t0 = tm_cm_ticks();
  __real_tm_fc_s8(p, in, out);
  count(&g_k_fc, t0);
}

int __wrap_tm_features_compute(const float* window, float* out) {
  const uint64_t t0 = tm_cm_ticks();
  const int status = __real_tm_features_compute(window, out);
  g_fe_fn = "tm_features_compute";
  count(&g_fe, t0);
  return status;
}

void __wrap_tm_fe_audio_frame(const float* frame, float* out) {
  const uint64_t t0 = tm_cm_ticks();
  g_fe_fn = "tm_fe_audio_frame";
  __real_tm_fe_audio_frame(frame, out);
  count(&g_fe, t0);
}

void __wrap_tm_pantomp_push(void* state, float x, float* y) {
  const uint64_t t0 = tm_cm_ticks();
  g_fe_fn = "tm_pantomp_push";
  __real_tm_pantomp_push(state, x, y);
  count(&g_fe, t0);
}

int __wrap_tm_app_postprocess(const tm_app_io_t* io, tm_event_t* ev) {
  const uint64_t t0 = tm_cm_ticks();
  const int status = __real_tm_app_postprocess(io, ev);
  count(&g_pp, t0);
  tm_cm_stack_note();
  put("inf ");
  put_u64(g_inference++);
  put(" f=");
  put_hex(io->features, (int)sizeof(float) * io->n_features);
#if TM_HAS_MODEL
  put(" q=");
  put_hex(io->input_q, io->n_features);
  put(" o=");
  put_hex(io->outputs_q, io->n_outputs);
#endif
  put("\n");
  tm_cm_stack_repaint();
  return status;
}

/* -- begin / end ------------------------------------------------------------------------ */

void tm_device_check_begin(void) {
  put("tinyml-device 1 app=");
  put(TM_APP_NAME);
  put(" mode=check\n");
}

int tm_device_check_end(int setup_status) {
  tm_cm_stack_note();
  put("end status=");
  put_u64((uint64_t)(setup_status < 0 ? -setup_status : setup_status));
  put(" inferences=");
  put_u64(g_inference);
  put_counter("model", &g_model);
  put_counter("fe", &g_fe);
  put(" fe_fn=");
  put(g_fe_fn);
  put_counter("pp", &g_pp);
  put_counter("conv", &g_k_conv);
  put_counter("dwconv", &g_k_dwconv);
  put_counter("fc", &g_k_fc);
  put(" stack=");
  put_u64(tm_cm_stack_max());
  put(" stack_size=");
  put_u64(tm_cm_stack_size());
  put(" heap=");
  put_u64(tm_cm_heap_max());
  put("\n");
  return setup_status == 0 ? 0 : 3;
}
