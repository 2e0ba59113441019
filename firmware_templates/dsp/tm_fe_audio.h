/* tm_fe_audio.h - the audio front end's per-frame interface (C99).
 *
 * Sizes of the front end configured by dsp_params.h (an MFCC_* or a LOGMEL_* block):
 *   TM_FE_AUDIO_FRAME_LENGTH  samples per analysis frame (480 = 30 ms at 16 kHz)
 *   TM_FE_AUDIO_HOP_LENGTH    samples between frames (320 = 20 ms)
 *   TM_FE_AUDIO_N_COEFFS      values per frame (n_mfcc, or n_mels for log-mel)
 *   TM_FE_AUDIO_N_FRAMES      frames per model window of TM_WINDOW_SAMPLES samples
 *
 *   tm_fe_audio_init();                 // once (tables)
 *   tm_fe_audio_frame(frame, out);      // frame[TM_FE_AUDIO_FRAME_LENGTH] -> out[N_COEFFS]
 */
#ifndef TM_FE_AUDIO_H
#define TM_FE_AUDIO_H

#include "dsp_params.h"
#include "model_settings.h"

#if defined(MFCC_IMPLEMENTATION_VERSION)
#include "tm_mfcc.h"
#define TM_FE_AUDIO_FRAME_LENGTH MFCC_FRAME_LENGTH
#define TM_FE_AUDIO_HOP_LENGTH MFCC_HOP_LENGTH
#define TM_FE_AUDIO_N_COEFFS MFCC_N_MFCC
#elif defined(LOGMEL_IMPLEMENTATION_VERSION)
#include "tm_logmel.h"
#define TM_FE_AUDIO_FRAME_LENGTH LOGMEL_FRAME_LENGTH
#define TM_FE_AUDIO_HOP_LENGTH LOGMEL_HOP_LENGTH
#define TM_FE_AUDIO_N_COEFFS LOGMEL_N_MELS
#else
#error "tm_fe_audio needs an MFCC_* or LOGMEL_* block in dsp_params.h (features kind=mfcc or logmel)"
#endif

#define TM_FE_AUDIO_N_FRAMES (1 + (TM_WINDOW_SAMPLES - TM_FE_AUDIO_FRAME_LENGTH) / TM_FE_AUDIO_HOP_LENGTH)

#ifdef __cplusplus
extern "C" {
#endif

int tm_fe_audio_init(void);
void tm_fe_audio_frame(const float* frame, float* out);

#ifdef __cplusplus
}
#endif

#endif /* TM_FE_AUDIO_H */
