/* tm_fft.h - real FFT for power-of-two lengths (C99, float32).
 *
 * The C twin of numpy.fft.rfft for the suite's DSP blocks (MFCC, log-mel, spectral
 * features). No dynamic memory: one static quarter-wave cosine table, sized for the
 * largest length the firmware uses (TM_FFT_MAX_N), is shared by every transform.
 *
 * API
 * ---
 *   tm_rfft_t s;
 *   if (tm_rfft_init(&s, 512) != 0) { ... n is not a power of two in [2, TM_FFT_MAX_N] ... }
 *   float in[512], out[512 + 2];
 *   tm_rfft(&s, in, out);
 *
 * int tm_rfft_init(tm_rfft_t* s, int n)
 *     Prepare a transform of length n (a power of two, 2 <= n <= TM_FFT_MAX_N). The first
 *     call fills the shared twiddle table (cosines computed in double, rounded once to
 *     float); call it at start-up, before any concurrent use. Returns 0 on success,
 *     TM_FFT_ERR_N (-1) if n is not a power of two in range, TM_FFT_ERR_NULL (-2) if s is
 *     NULL. The state is read-only afterwards and may be shared.
 *
 * void tm_rfft(const tm_rfft_t* s, const float* in, float* out)
 *     Forward real FFT of the n samples in[0..n-1], unnormalised, exactly as
 *     numpy.fft.rfft: X[k] = sum_t in[t] * exp(-2*pi*i*k*t/n) for k = 0..n/2.
 *     out holds n + 2 floats, interleaved: out[2k] = Re X[k], out[2k+1] = Im X[k],
 *     k = 0..n/2 (out[1] and out[n+1] are exactly 0). in and out must not overlap.
 *     Uses no memory besides out (the complex half-length FFT runs in place in out).
 *
 * int tm_rfft_n(const tm_rfft_t* s)
 *     The length n given to tm_rfft_init.
 *
 * Method: the n real samples are packed as n/2 complex values z[j] = x[2j] + i x[2j+1],
 * transformed by an iterative radix-2 decimation-in-time complex FFT (bit-reversed
 * input order, in place), then split into the n/2 + 1 bins of the real transform.
 * Cost: about (n/2) log2(n/2) complex butterflies + n/2 split steps.
 *
 * Memory: tm_rfft_t is 3 ints. tm_fft.c holds one static table of TM_FFT_MAX_N/4 + 1
 * floats (cos(2*pi*k/TM_FFT_MAX_N), 1 KiB for the default 1024), from which the twiddles
 * of every n <= TM_FFT_MAX_N are read with a stride. TM_FFT_MAX_N only matters when
 * compiling tm_fft.c: build it with e.g. -DTM_FFT_MAX_N=4096 for longer transforms, or
 * -DTM_FFT_MAX_N=512 to save RAM.
 *
 * Accuracy (tests/test_c_parity_audio.py, against numpy.fft.rfft in float64, n = 2..4096,
 * noise/impulse/DC/Nyquist/sine inputs): max abs error <= 4 * FLT_EPSILON * log2(n) * ||x||_2.
 */
#ifndef TM_FFT_H
#define TM_FFT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The numerics version of this FFT; tm_fft.c refuses to build against another. */
#define TM_FFT_VERSION 1

#ifndef TM_FFT_MAX_N
#define TM_FFT_MAX_N 1024
#endif

#if (TM_FFT_MAX_N < 4) || ((TM_FFT_MAX_N & (TM_FFT_MAX_N - 1)) != 0)
#error "TM_FFT_MAX_N must be a power of two >= 4 (e.g. 512)"
#endif

#define TM_FFT_ERR_N (-1)
#define TM_FFT_ERR_NULL (-2)

typedef struct {
  int n;         /* transform length (power of two) */
  int log2_half; /* log2(n / 2) */
  int stride;    /* TM_FFT_MAX_N / n: step through the shared table */
} tm_rfft_t;

int tm_rfft_init(tm_rfft_t* s, int n);
void tm_rfft(const tm_rfft_t* s, const float* in, float* out);
int tm_rfft_n(const tm_rfft_t* s);

#ifdef __cplusplus
}
#endif

#endif /* TM_FFT_H */
