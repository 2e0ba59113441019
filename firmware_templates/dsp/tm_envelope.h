/* tm_envelope.h - Hilbert envelope and envelope spectrum (C99, float32).
 *
 * The C twin of common/dsp/envelope.py (hilbert_envelope; envelope_spectrum with a
 * causal band-pass, zero_phase=False): the bearing-diagnosis chain band-pass around a
 * structural resonance -> Hilbert envelope -> mean removed -> window -> amplitude
 * spectrum. Built on tm_fft (real FFT only) and tm_biquad: link tm_fft.c, tm_frames.c
 * and tm_biquad.c with this file.
 *
 * Hilbert transform with a real FFT (no complex inverse FFT needed): with
 * X = rfft(x) and Y[k] = -j sign(k) X[k] (0 at DC and Nyquist), the Hilbert transform is
 * the real inverse DFT of the Hermitian Y. For Hermitian Y = a + jb the inverse DFT is
 * x[t] = (1/n)(Re R[t] - Im R[t]) with R = rfft(h), h[k] = a[k] - b[k] (the Hartley
 * identity; the cross terms cancel by symmetry), i.e.
 *     h[k]     = Im X[k] + Re X[k]      k = 1 .. n/2 - 1
 *     h[n - k] = Im X[k] - Re X[k]
 *     h[0] = h[n/2] = 0
 * and for t > n/2, R[t] = conj(R[n - t]). The envelope is sqrt(x^2 + H{x}^2), equal to
 * numpy's |ifft(fft(x) * [1, 2, ..., 2, 1, 0, ..., 0])| (scipy.signal.hilbert).
 *
 * Kernel API
 * ----------
 * int tm_hilbert_envelope(const tm_rfft_t* fft, const float* x, float* env, float* work)
 *     n = tm_rfft_n(fft) samples of x -> env (may not alias x); work: 2 n + 2 floats.
 *     Returns 0, or -1 for NULL pointers.
 *
 * Generated-parameter API (EnvelopeSpectrumParams -> dsp_params.h, prefix ENVSPEC, plus
 * the band-pass as ButterworthParams, prefix BUTTER)
 * -------------------------
 *   ENVSPEC_N_FFT   record length n (a power of two <= TM_FFT_MAX_N)
 *   ENVSPEC_N_BINS  spectrum bins kept (frequencies k fs / n <= ENVSPEC_FMAX_HZ)
 * int tm_envspec_init(tm_envspec_t* s)
 * int tm_envspec_compute(tm_envspec_t* s, const float* x, float* filtered, float* work,
 *                        float* amp)
 *     x: ENVSPEC_N_FFT samples; filtered receives the band-passed signal (the band-pass
 *     runs from a zero state, as the Python feature does on each window); work:
 *     TM_ENVSPEC_WORK_SIZE floats; amp: ENVSPEC_N_BINS amplitudes
 *     A_k = 2 |rfft(w (e - mean e))_k| / sum(w), halved at DC (and at Nyquist).
 */
#ifndef TM_ENVELOPE_H
#define TM_ENVELOPE_H

#include "dsp_params.h"
#include "tm_biquad.h"
#include "tm_fft.h"

#ifdef __cplusplus
extern "C" {
#endif

int tm_hilbert_envelope(const tm_rfft_t* fft, const float* x, float* env, float* work);

#ifdef ENVSPEC_IMPLEMENTATION_VERSION
#ifndef BUTTER_IMPLEMENTATION_VERSION
#error "tm_envelope.c needs the band-pass (prefix BUTTER) in dsp_params.h next to ENVSPEC"
#endif
#define TM_ENVSPEC_WORK_SIZE (3 * ENVSPEC_N_FFT + 2)
typedef struct {
  tm_rfft_t fft;
  tm_biquad_t bandpass;
  float bandpass_state[2 * BUTTER_N_SECTIONS];
  float window[ENVSPEC_N_FFT];
  float sum_w;
} tm_envspec_t;

int tm_envspec_init(tm_envspec_t* s);
int tm_envspec_compute(tm_envspec_t* s, const float* x, float* filtered, float* work, float* amp);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_ENVELOPE_H */
