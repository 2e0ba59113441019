/* tm_spectral.h - Welch PSD, band powers, log band energies, IMU spectral block (C99, float32).
 *
 * C twins of common/dsp/spectral.py (welch, band_powers), common/dsp/band_energy.py
 * (log_band_energies, one frame at a time) and common/dsp/imu_spectral.py
 * (imu_spectral, one axis of one window at a time). Built on tm_fft (real FFT),
 * tm_frames (windows), tm_biquad (filter) and tm_stats (moments): link tm_fft.c,
 * tm_frames.c, tm_biquad.c and tm_stats.c with this file. Band bin ranges are computed
 * in Python (one rule, one place) and read from dsp_params.h.
 *
 * Kernel API
 * ----------
 * int tm_welch_init(tm_welch_t* s, const float* window, int nperseg, int hop, int detrend)
 *     window: nperseg coefficients (e.g. from tm_window_fill(..., periodic=1)), kept by
 *     pointer; nperseg a power of two <= TM_FFT_MAX_N; detrend 1 removes each segment's
 *     mean. Returns 0, or -1 for bad arguments.
 * int tm_welch_power(const tm_welch_t* s, const float* x, int n, float* work, float* power)
 *     power[k] = mean over segments of c_k |X_k|^2, k = 0..nperseg/2 (c_k = 1 at DC and
 *     Nyquist, else 2), segments every hop samples, no padding. work: 2 * nperseg + 2
 *     floats. Returns the number of segments (0 if n < nperseg: power untouched).
 *     Welch density = power / (fs * sum w^2); power spectrum = power / (sum w)^2
 *     (tm_welch_t holds sum_w and sum_w2).
 * void tm_band_sums(const float* spec, const int* lo, const int* hi, int n_bands,
 *                   float scale, float* out)
 *     out[b] = scale * sum(spec[lo[b] .. hi[b] - 1]).
 *
 * Generated-parameter APIs (compiled when dsp_params.h has the prefix)
 * -------------------------
 * WELCH  (WelchParams)      int tm_welch_params_init(tm_welch_t* s, float window[WELCH_NPERSEG])
 *                           int tm_welch_psd(const tm_welch_t* s, const float* x, int n,
 *                               float sample_rate, float* work, float psd[WELCH_N_BINS])
 * BANDS  (BandPowerParams)  void tm_bands(const float* spec, float out[BANDS_N_BANDS])
 * LBE    (LogBandEnergyParams)
 *                           int tm_lbe_init(tm_lbe_t* s)
 *                           void tm_lbe_frame(const tm_lbe_t* s, const float* frame,
 *                               float work[TM_LBE_WORK_SIZE], float out[LBE_N_BANDS])
 *                           frame: LBE_N_FFT samples (frame the stream with tm_framer,
 *                           frame_length LBE_N_FFT, hop LBE_HOP_LENGTH).
 * IMUSPEC (ImuSpectralParams)
 *                           int tm_imuspec_init(tm_imuspec_t* s)
 *                           int tm_imuspec_axis(tm_imuspec_t* s, const float* x, int n,
 *                               float* work, float out[IMUSPEC_N_FEATURES])
 *                           work: TM_IMUSPEC_WORK_SIZE(n) floats; returns 0, or -1 if
 *                           n < IMUSPEC_NPERSEG. Output: rms, skewness, kurtosis, bands.
 */
#ifndef TM_SPECTRAL_H
#define TM_SPECTRAL_H

#include "dsp_params.h"
#include "tm_biquad.h"
#include "tm_fft.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  tm_rfft_t fft;
  const float* window;
  int nperseg;
  int hop;
  int detrend;
  float sum_w;  /* sum of the window */
  float sum_w2; /* sum of the squared window */
} tm_welch_t;

int tm_welch_init(tm_welch_t* s, const float* window, int nperseg, int hop, int detrend);
int tm_welch_power(const tm_welch_t* s, const float* x, int n, float* work, float* power);
void tm_band_sums(const float* spec, const int* lo, const int* hi, int n_bands, float scale,
                  float* out);

#ifdef WELCH_IMPLEMENTATION_VERSION
int tm_welch_params_init(tm_welch_t* s, float* window);
int tm_welch_psd(const tm_welch_t* s, const float* x, int n, float sample_rate, float* work,
                 float* psd);
#endif

#ifdef BANDS_IMPLEMENTATION_VERSION
void tm_bands(const float* spec, float* out);
#endif

#ifdef LBE_IMPLEMENTATION_VERSION
#define TM_LBE_WORK_SIZE (2 * LBE_N_FFT + 2)
typedef struct {
  tm_rfft_t fft;
  float window[LBE_N_FFT];
} tm_lbe_t;
int tm_lbe_init(tm_lbe_t* s);
void tm_lbe_frame(const tm_lbe_t* s, const float* frame, float* work, float* out);
#endif

#ifdef IMUSPEC_IMPLEMENTATION_VERSION
#define TM_IMUSPEC_WORK_SIZE(n) ((n) + 2 * IMUSPEC_NPERSEG + 2 + IMUSPEC_NPERSEG / 2 + 1)
typedef struct {
  tm_welch_t welch;
  float window[IMUSPEC_NPERSEG];
#if IMUSPEC_N_SECTIONS > 0
  tm_biquad_t filter;
  float filter_state[2 * IMUSPEC_N_SECTIONS];
#endif
} tm_imuspec_t;
int tm_imuspec_init(tm_imuspec_t* s);
int tm_imuspec_axis(tm_imuspec_t* s, const float* x, int n, float* work, float* out);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TM_SPECTRAL_H */
