/* hal.h - the hardware abstraction every board implements (C99 linkage).
 *
 * The runner (tm_runner.c) and the main loop (tm_main.c) touch the hardware only
 * through these five functions. firmware_templates/common/hal_*.c(c) hold no board
 * code; each board folder (firmware_templates/boards/<board>/) provides its own hal
 * file, which replaces any common file of the same name.
 *
 * Samples: the model was trained on windows x[channel][sample] of TM_INPUT_CHANNELS
 * channels at TM_SAMPLE_RATE_HZ (model_settings.h) in the units of the training data
 * (audio in [-1, 1]; IMU in the dataset's units, see the app's README). The HAL must
 * deliver the same: same rate, same channel order, same units. A different unit or
 * rate is the classic silent train/device mismatch.
 */
#ifndef TM_HAL_H
#define TM_HAL_H

#include <stdint.h>

#include "tm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start clocks, serial output and the sensor at TM_SAMPLE_RATE_HZ.
 * Returns 0 on success, a negative board-specific code on failure. */
int hal_init(void);

/* Copy up to max_frames frames of new samples into dst, oldest first. A frame is
 * TM_INPUT_CHANNELS floats, interleaved (dst[f * TM_INPUT_CHANNELS + c]).
 * Returns the number of frames copied (0 if none is ready yet: the caller will try
 * again), -1 at the end of the input (host boards reading a file), or < -1 on error
 * (e.g. -2: the sensor's buffer overflowed and samples were lost). Never blocks for
 * longer than one sensor buffer. */
int hal_read_samples(float* dst, int max_frames);

/* Microseconds since hal_init (wraps after about 71 minutes). */
uint32_t hal_timestamp_us(void);

/* printf-style debug text; the board appends the line ending. */
void hal_log(const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Report one result (never called with TM_EVENT_NONE). The default prints the
 * tm_event_format() JSON line on the serial port / stdout; boards may also drive an
 * LED or a radio from it. */
void hal_report(const tm_event_t* ev);

#ifdef __cplusplus
}
#endif

#endif /* TM_HAL_H */
