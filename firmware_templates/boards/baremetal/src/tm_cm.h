/* tm_cm.h - what the bare-metal Cortex-M start-up (startup_cm.c) offers the firmware (C99).
 *
 * Counting work: tm_cm_ticks() reads SysTick, started at reset with the processor clock,
 * reload 2^24 - 1 and an interrupt counting the wraps. On a microcontroller a tick is a
 * core clock cycle. On QEMU (-icount shift=0: one emulated instruction = 1 ns of virtual
 * time) the mps2-an386's SysTick runs at its 25 MHz system clock, so one tick is 40
 * executed instructions (TM_CM_INSTRUCTIONS_PER_TICK): an instruction count, which is a
 * proxy for Cortex-M4 cycles, not a cycle count.
 *
 * Stack: the start-up paints the stack below its own frame with TM_CM_STACK_PAINT;
 * tm_cm_stack_note() scans for the deepest overwritten word and keeps the maximum, and
 * tm_cm_stack_repaint() paints the unused part below the current stack pointer again (so
 * that work done for measurement, such as printing a trace, is not counted).
 */
#ifndef TM_CM_H
#define TM_CM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_CM_STACK_PAINT 0xC5A5A5C5u

#ifndef TM_CM_INSTRUCTIONS_PER_TICK
#define TM_CM_INSTRUCTIONS_PER_TICK 40u /* QEMU mps2-an386, -icount shift=0: 25 MHz SysTick */
#endif

/* SysTick ticks since reset (64-bit; the 24-bit counter's wraps are counted). */
uint64_t tm_cm_ticks(void);

/* Deepest stack use seen so far, in bytes (after tm_cm_stack_note). */
uint32_t tm_cm_stack_max(void);
/* Scan the painted stack now and update the maximum. */
void tm_cm_stack_note(void);
/* Paint the stack below the current stack pointer again. */
void tm_cm_stack_repaint(void);
/* Bytes of the stack region (the linker script's TM_STACK_BYTES). */
uint32_t tm_cm_stack_size(void);

/* Highest heap use (malloc via _sbrk, e.g. newlib's float formatting), in bytes. */
uint32_t tm_cm_heap_max(void);

/* End the program: on QEMU the semihosting SYS_EXIT_EXTENDED call ends the emulator with
 * this status; elsewhere (no debugger) it stops in a loop. */
void tm_cm_exit(int status) __attribute__((noreturn));

/* The console: implemented by the board's HAL (a UART); used by printf and the HAL. */
void tm_cm_console_write(const char* s, int n);

#ifdef __cplusplus
}
#endif

#endif /* TM_CM_H */
