/* tm_serial.h - the device side of the suite's serial line protocol (C99).
 *
 * `tinyml validate` streams model inputs to a board and compares its int8 outputs with the
 * host's; `tinyml capture` records raw sensor samples from it. Both speak this protocol
 * (version TM_SERIAL_PROTOCOL, documented in docs/boards.md) over the board's serial port.
 * A board offers it by implementing, besides hal.h,
 *   int  hal_serial_getc(void);                   one received byte, or -1 if none is waiting
 *   void hal_serial_write(const char* s, int n);  send n bytes
 *   void hal_sensor_enable(int on);               start the sensor (a fresh stream) or stop
 *                                                 it: it runs during `capture` only, so that
 *                                                 timings see no sampling interrupts
 * and optionally, with TM_HAL_HAS_INSTRUCTIONS defined,
 *   uint64_t hal_instructions(void);              a cycle or instruction counter
 * and calling tm_serial_main() instead of the sensor main loop.
 */
#ifndef TM_SERIAL_H
#define TM_SERIAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_SERIAL_PROTOCOL 1
#define TM_SERIAL_LINE_MAX 300 /* longest command line, characters */

int hal_serial_getc(void);
void hal_serial_write(const char* s, int n);
void hal_sensor_enable(int on);
#if defined(TM_HAL_HAS_INSTRUCTIONS)
uint64_t hal_instructions(void);
#endif

/* Initialise the HAL, the front end and the model, print "ready ..." and answer commands
 * for ever (returns only if an initialisation fails, with its status). */
int tm_serial_main(void);

/* Answer one command line (without its newline); the reply lines end with "ok" or
 * "error <reason>". Exposed for host tests. */
void tm_serial_handle(const char* line);

#ifdef __cplusplus
}
#endif

#endif /* TM_SERIAL_H */
