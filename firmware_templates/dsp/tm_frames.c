/* tm_frames.c - analysis windows and a streaming framer (C99, float32). See tm_frames.h. */
#include "tm_frames.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#if TM_FRAMES_VERSION != 1
#error "tm_frames.c implements TM_FRAMES_VERSION 1 but tm_frames.h declares another; use the matching pair"
#endif

#define TM_FRAMES_PI 3.14159265358979323846

int tm_window_fill(float* w, int n, int kind, int periodic) {
  int i;
  double a, denom;
  if (w == NULL || n < 1) return -1;
  if (kind != TM_WINDOW_HANN && kind != TM_WINDOW_HAMMING && kind != TM_WINDOW_RECTANGULAR) return -1;
  if (kind == TM_WINDOW_RECTANGULAR || n == 1) {
    for (i = 0; i < n; ++i) w[i] = 1.0f;
    return 0;
  }
  a = (kind == TM_WINDOW_HANN) ? 0.5 : 0.54;
  denom = periodic ? (double)n : (double)(n - 1);
  for (i = 0; i < n; ++i) {
    /* Same operation order as numpy: a - (1 - a) * cos((2 pi * i) / denom). */
    w[i] = (float)(a - (1.0 - a) * cos(2.0 * TM_FRAMES_PI * (double)i / denom));
  }
  return 0;
}

int tm_framer_init(tm_framer_t* f, float* buf, int frame_length, int hop_length) {
  if (f == NULL || buf == NULL || frame_length < 1 || hop_length < 1) return -1;
  f->buf = buf;
  f->frame_length = frame_length;
  f->hop_length = hop_length;
  tm_framer_reset(f);
  return 0;
}

void tm_framer_reset(tm_framer_t* f) {
  f->fill = 0;
  f->skip = 0;
  f->ready = 0;
}

int tm_framer_push(tm_framer_t* f, const float* x, int n) {
  int used = 0;
  int take;
  if (n <= 0) return 0;
  if (f->ready) {
    /* Slide by one hop: keep the newest frame_length - hop_length samples. */
    const int keep = f->frame_length - f->hop_length;
    if (keep > 0) {
      memmove(f->buf, f->buf + f->hop_length, (size_t)keep * sizeof(float));
      f->fill = keep;
    } else {
      f->fill = 0;
      f->skip = -keep; /* hop_length - frame_length samples between frames */
    }
    f->ready = 0;
  }
  if (f->skip > 0) {
    take = f->skip < n ? f->skip : n;
    f->skip -= take;
    used += take;
    if (f->skip > 0) return used;
  }
  take = f->frame_length - f->fill;
  if (take > n - used) take = n - used;
  memcpy(f->buf + f->fill, x + used, (size_t)take * sizeof(float));
  f->fill += take;
  used += take;
  if (f->fill == f->frame_length) f->ready = 1;
  return used;
}

int tm_framer_ready(const tm_framer_t* f) { return f->ready; }

const float* tm_framer_frame(const tm_framer_t* f) { return f->buf; }
