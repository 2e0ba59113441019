/* tm_serial.c - the serial line protocol of `tinyml validate` and `tinyml capture` (C99).
 *
 * One command per line (ASCII, "\n"-terminated, at most TM_SERIAL_LINE_MAX characters);
 * every reply ends with a line "ok" or "error <reason>". Binary data travels as hex of the
 * bytes in memory order (int8; little-endian float32). Lines starting "#" (logs) or "{"
 * (events) may come at any time and are not part of a reply. Version TM_SERIAL_PROTOCOL:
 *
 *   name                -> name tinyml app=<app> protocol=1 config=<hash>
 *   info                -> info app=.. task=.. has_model=0|1 channels=C rate=Hz window=W
 *                          hop=H features=F outputs=O in_scale=.. in_zp=.. out_scale=..
 *                          out_zp=.. counter=instructions|none
 *   load input          next data lines carry one int8 model input (F bytes)
 *   load window         next data lines carry one raw window, C x W float32, channel-major
 *   data <hex>          -> "ok <bytes so far>"; at most 128 bytes per line
 *   infer [repeats]     run the loaded input (model) or window (front end, quantisation,
 *                       model) repeats times (default 1) -> "out <hex int8 outputs>",
 *                       for a window also "q <hex int8 input>", then
 *                       "time us=<per run> instr=<per run, or -1>"
 *   features            -> "f <hex float32 features>" of the last window run
 *   capture <frames>    start the sensor (hal_sensor_enable), stream that many frames ->
 *                       "capture channels=C rate=Hz frames=N", then lines "s <hex>" of up
 *                       to 16 frames each (float32, interleaved), in order
 * Buffers are static: the raw window takes 4 x C x W bytes (64 KB for one second of 16 kHz
 * audio), which the fit check of the sensor firmware does not count - this is a test and
 * bring-up firmware.
 */
#include "tm_serial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"
#include "model_settings.h"
#include "tm_features.h"
#include "tm_model.h"
#include "tm_runner.h"

#ifndef TM_CONFIG_HASH
#define TM_CONFIG_HASH "unknown"
#endif
#ifndef TM_HAS_MODEL
#define TM_HAS_MODEL 1
#endif

#define TM_SERIAL_DATA_MAX 128 /* bytes per data line */
#define TM_SERIAL_WINDOW (TM_INPUT_CHANNELS * TM_WINDOW_SAMPLES)
#define TM_SERIAL_N_OUT (TM_MODEL_OUTPUT_COUNT > 0 ? TM_MODEL_OUTPUT_COUNT : 1)
#define TM_SERIAL_CAPTURE_FRAMES 16

enum { LOAD_NONE = 0, LOAD_INPUT = 1, LOAD_WINDOW = 2 };

static float g_window[TM_SERIAL_WINDOW];
static int8_t g_input_q[TM_FEATURE_COUNT];
static float g_features[TM_FEATURE_COUNT];
static int8_t g_output_q[TM_SERIAL_N_OUT];
static unsigned char* g_dest;
static uint32_t g_expect;
static uint32_t g_received;
static int g_load;
static int g_have_features;

static void write_str(const char* s) { hal_serial_write(s, (int)strlen(s)); }

static void line(const char* s) {
  write_str(s);
  hal_serial_write("\n", 1);
}

static void write_u64(uint64_t v) {
  char buf[24];
  int i = (int)sizeof(buf);
  do {
    buf[--i] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0u);
  hal_serial_write(&buf[i], (int)sizeof(buf) - i);
}

static void write_hex(const void* data, uint32_t n) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char* b = (const unsigned char*)data;
  char buf[64];
  uint32_t i;
  int len = 0;
  for (i = 0; i < n; ++i) {
    buf[len++] = digits[b[i] >> 4];
    buf[len++] = digits[b[i] & 15u];
    if (len == (int)sizeof(buf)) {
      hal_serial_write(buf, len);
      len = 0;
    }
  }
  hal_serial_write(buf, len);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void cmd_name(void) {
  char buf[160];
  snprintf(buf, sizeof(buf), "name tinyml app=%s protocol=%d config=%s", TM_APP_NAME, TM_SERIAL_PROTOCOL,
           TM_CONFIG_HASH);
  line(buf);
  line("ok");
}

static void cmd_info(void) {
  char buf[300];
#if defined(TM_HAL_HAS_INSTRUCTIONS)
  const char* counter = "instructions";
#else
  const char* counter = "none";
#endif
  snprintf(buf, sizeof(buf),
           "info app=%s task=%d has_model=%d channels=%d rate=%ld window=%d hop=%d features=%d outputs=%d "
           "in_scale=%.9g in_zp=%d out_scale=%.9g out_zp=%d counter=%s",
           TM_APP_NAME, (int)TM_TASK, (int)TM_HAS_MODEL, (int)TM_INPUT_CHANNELS, (long)TM_SAMPLE_RATE_HZ,
           (int)TM_WINDOW_SAMPLES, (int)TM_HOP_SAMPLES, (int)TM_FEATURE_COUNT, (int)TM_MODEL_OUTPUT_COUNT,
           (double)TM_INPUT_SCALE, (int)TM_INPUT_ZERO_POINT, (double)TM_OUTPUT_SCALE, (int)TM_OUTPUT_ZERO_POINT,
           counter);
  line(buf);
  line("ok");
}

static void cmd_load(const char* what) {
  if (strcmp(what, "input") == 0) {
    g_load = LOAD_INPUT;
    g_dest = (unsigned char*)g_input_q;
    g_expect = (uint32_t)TM_FEATURE_COUNT;
  } else if (strcmp(what, "window") == 0) {
    g_load = LOAD_WINDOW;
    g_dest = (unsigned char*)g_window;
    g_expect = (uint32_t)sizeof(g_window);
  } else {
    line("error load: expected 'load input' or 'load window'");
    return;
  }
  g_received = 0u;
  g_have_features = 0;
  line("ok");
}

static void cmd_data(const char* hex) {
  char buf[40];
  uint32_t n = 0;
  size_t len = strlen(hex);
  size_t i;
  if (g_load == LOAD_NONE) {
    line("error data: no load in progress");
    return;
  }
  if (len % 2u != 0u || len / 2u > TM_SERIAL_DATA_MAX) {
    line("error data: expected an even number of hex digits, at most 256");
    return;
  }
  if (g_received + len / 2u > g_expect) {
    line("error data: more bytes than the load expects");
    return;
  }
  for (i = 0; i < len; i += 2u) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1u]);
    if (hi < 0 || lo < 0) {
      line("error data: not a hex digit");
      return;
    }
    g_dest[g_received + n++] = (unsigned char)(hi * 16 + lo);
  }
  g_received += n;
  snprintf(buf, sizeof(buf), "ok %lu", (unsigned long)g_received);
  line(buf);
}

static int run_once(void) {
  if (g_load == LOAD_WINDOW) {
    if (tm_features_compute(g_window, g_features) != 0) return -11;
    g_have_features = 1;
#if TM_HAS_MODEL
    tm_quantize_input(g_features, g_input_q, TM_FEATURE_COUNT);
#endif
  }
#if TM_HAS_MODEL
  if (tm_model_invoke(g_input_q, g_output_q) != 0) return -21;
#endif
  return 0;
}

static void cmd_infer(const char* arg) {
  long repeats = 1;
  long r;
  uint32_t t0, t1;
  int status = 0;
#if defined(TM_HAL_HAS_INSTRUCTIONS)
  uint64_t i0, i1;
#endif
  if (*arg) {
    repeats = strtol(arg, 0, 10);
    if (repeats < 1 || repeats > 1000) {
      line("error infer: repeats must be 1..1000");
      return;
    }
  }
  if (g_load == LOAD_NONE || g_received != g_expect) {
    line("error infer: load a complete input or window first");
    return;
  }
#if !TM_HAS_MODEL
  if (g_load == LOAD_INPUT) {
    line("error infer: this recipe has no model; load a window");
    return;
  }
#endif
#if defined(TM_HAL_HAS_INSTRUCTIONS)
  i0 = hal_instructions();
#endif
  t0 = hal_timestamp_us();
  for (r = 0; r < repeats && status == 0; ++r) status = run_once();
  t1 = hal_timestamp_us();
#if defined(TM_HAL_HAS_INSTRUCTIONS)
  i1 = hal_instructions();
#endif
  if (status != 0) {
    line(status == -11 ? "error infer: the front end failed" : "error infer: the model failed");
    return;
  }
#if TM_HAS_MODEL
  write_str("out ");
  write_hex(g_output_q, (uint32_t)TM_MODEL_OUTPUT_COUNT);
  hal_serial_write("\n", 1);
  if (g_load == LOAD_WINDOW) {
    write_str("q ");
    write_hex(g_input_q, (uint32_t)TM_FEATURE_COUNT);
    hal_serial_write("\n", 1);
  }
#endif
  write_str("time us=");
  write_u64((uint64_t)(t1 - t0) / (uint64_t)repeats);
  write_str(" instr=");
#if defined(TM_HAL_HAS_INSTRUCTIONS)
  write_u64((i1 - i0) / (uint64_t)repeats);
#else
  write_str("-1");
#endif
  hal_serial_write("\n", 1);
  line("ok");
}

static void cmd_features(void) {
  if (!g_have_features) {
    line("error features: run 'infer' on a loaded window first");
    return;
  }
  write_str("f ");
  write_hex(g_features, (uint32_t)sizeof(g_features));
  hal_serial_write("\n", 1);
  line("ok");
}

static void cmd_capture(const char* arg) {
  static float frames[TM_SERIAL_CAPTURE_FRAMES * TM_INPUT_CHANNELS];
  char buf[120];
  const long total = strtol(arg, 0, 10);
  long sent = 0;
  if (total < 1) {
    line("error capture: give the number of frames, e.g. 'capture 16000'");
    return;
  }
  snprintf(buf, sizeof(buf), "capture channels=%d rate=%ld frames=%ld", (int)TM_INPUT_CHANNELS,
           (long)TM_SAMPLE_RATE_HZ, total);
  line(buf);
  hal_sensor_enable(1);
  while (sent < total) {
    const long want = total - sent < TM_SERIAL_CAPTURE_FRAMES ? total - sent : TM_SERIAL_CAPTURE_FRAMES;
    const int n = hal_read_samples(frames, (int)want);
    if (n == -1) {
      hal_sensor_enable(0);
      line("error capture: the sensor input ended");
      return;
    }
    if (n < -1) {
      hal_sensor_enable(0);
      snprintf(buf, sizeof(buf), "error capture: samples lost after frame %ld (status %d)", sent, n);
      line(buf);
      return;
    }
    if (n > 0) {
      write_str("s ");
      write_hex(frames, (uint32_t)(sizeof(float) * (size_t)n * TM_INPUT_CHANNELS));
      hal_serial_write("\n", 1);
      sent += n;
    }
  }
  hal_sensor_enable(0);
  line("ok");
}

void tm_serial_handle(const char* cmd) {
  const char* arg = strchr(cmd, ' ');
  size_t len = arg ? (size_t)(arg - cmd) : strlen(cmd);
  arg = arg ? arg + 1 : cmd + len;
  if (len == 0) return;
  if (len == 4 && strncmp(cmd, "name", 4) == 0) {
    cmd_name();
  } else if (len == 4 && strncmp(cmd, "info", 4) == 0) {
    cmd_info();
  } else if (len == 4 && strncmp(cmd, "load", 4) == 0) {
    cmd_load(arg);
  } else if (len == 4 && strncmp(cmd, "data", 4) == 0) {
    cmd_data(arg);
  } else if (len == 5 && strncmp(cmd, "infer", 5) == 0) {
    cmd_infer(arg);
  } else if (len == 8 && strncmp(cmd, "features", 8) == 0) {
    cmd_features();
  } else if (len == 7 && strncmp(cmd, "capture", 7) == 0) {
    cmd_capture(arg);
  } else {
    line("error unknown command; commands: name info load data infer features capture");
  }
}

int tm_serial_main(void) {
  static char buf[TM_SERIAL_LINE_MAX + 1];
  int n = 0, overlong = 0;
  int status = hal_init();
  if (status == 0 && tm_features_init() != 0) status = -10;
#if TM_HAS_MODEL
  if (status == 0 && tm_model_init() != 0) status = -20;
#endif
  if (status != 0) {
    hal_log("tm_serial: initialisation failed (%d)", status);
    return status;
  }
  line("ready tinyml serial protocol 1");
  for (;;) {
    const int c = hal_serial_getc();
    if (c < 0) continue;
    if (c == '\r') continue;
    if (c == '\n') {
      buf[n] = '\0';
      if (overlong) {
        line("error line too long");
      } else {
        tm_serial_handle(buf);
      }
      n = 0;
      overlong = 0;
    } else if (n < TM_SERIAL_LINE_MAX) {
      buf[n++] = (char)c;
    } else {
      overlong = 1;
    }
  }
}
