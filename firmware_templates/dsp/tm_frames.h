/* tm_frames.h - analysis windows and a streaming framer (C99, float32).
 *
 * C twins of common/dsp/windows.py (get_window) and common/dsp/frames.py (frame with
 * center=False): the framer turns a stream of samples, pushed in chunks of any size,
 * into overlapping frames of frame_length samples every hop_length samples, exactly the
 * frames numpy's frame() cuts from the whole signal.
 *
 * Windows
 * -------
 * int tm_window_fill(float* w, int n, int kind, int periodic)
 *     w[i] = a - (1 - a) cos(2 pi i / D), a = 0.5 (TM_WINDOW_HANN) or 0.54
 *     (TM_WINDOW_HAMMING), D = n if periodic else n - 1; all ones for
 *     TM_WINDOW_RECTANGULAR (and for n == 1). Computed in double, rounded once to float
 *     (as numpy does). Returns 0, or -1 for n < 1 or an unknown kind.
 *
 * Framer
 * ------
 *   static float buf[FRAME_LENGTH];
 *   tm_framer_t f;
 *   tm_framer_init(&f, buf, FRAME_LENGTH, HOP_LENGTH);
 *   while (n > 0) {                       // x: n new samples
 *     int used = tm_framer_push(&f, x, n);
 *     x += used; n -= used;
 *     if (tm_framer_ready(&f)) use(tm_framer_frame(&f));   // FRAME_LENGTH samples
 *   }
 *
 * int tm_framer_init(tm_framer_t* f, float* buf, int frame_length, int hop_length)
 *     buf: caller storage for frame_length floats. Returns 0, or -1 for bad sizes.
 * int tm_framer_push(tm_framer_t* f, const float* x, int n)
 *     Consumes samples from x[0..n-1] until a frame is complete (or x is used up) and
 *     returns how many it consumed. When a frame is complete, tm_framer_ready() is 1
 *     until the next push, which first drops the oldest hop_length samples.
 * int tm_framer_ready(const tm_framer_t* f)  /  const float* tm_framer_frame(const tm_framer_t* f)
 * void tm_framer_reset(tm_framer_t* f)  -- start a new stream.
 *
 * Frame t covers stream samples [t * hop_length, t * hop_length + frame_length): no
 * centring, no padding (numpy: frame(..., center=False)). hop_length > frame_length is
 * allowed (the samples between frames are skipped).
 */
#ifndef TM_FRAMES_H
#define TM_FRAMES_H

#ifdef __cplusplus
extern "C" {
#endif

/* The numerics version of these helpers; tm_frames.c refuses to build against another. */
#define TM_FRAMES_VERSION 1

/* Window codes: the values of common/dsp/windows.py WINDOW_CODES. */
#define TM_WINDOW_HANN 0
#define TM_WINDOW_HAMMING 1
#define TM_WINDOW_RECTANGULAR 2

int tm_window_fill(float* w, int n, int kind, int periodic);

typedef struct {
  float* buf;       /* frame_length samples */
  int frame_length;
  int hop_length;
  int fill;         /* samples currently in buf */
  int skip;         /* samples still to drop before filling (hop_length > frame_length) */
  int ready;        /* 1 when buf holds a complete frame */
} tm_framer_t;

int tm_framer_init(tm_framer_t* f, float* buf, int frame_length, int hop_length);
int tm_framer_push(tm_framer_t* f, const float* x, int n);
int tm_framer_ready(const tm_framer_t* f);
const float* tm_framer_frame(const tm_framer_t* f);
void tm_framer_reset(tm_framer_t* f);

#ifdef __cplusplus
}
#endif

#endif /* TM_FRAMES_H */
