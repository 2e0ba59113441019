/* hal_mps2.c - the HAL of the Arm MPS2-AN386 board (Cortex-M4F) as QEMU emulates it (C99).
 *
 * Console and serial protocol: the CMSDK APB UART0 at 0x40004000 (QEMU's first -serial).
 * Samples, in the three builds of the project's Makefile:
 *   check    (TM_DEVICE_CHECK)  the raw test samples compiled into tm_testdata.c, then the
 *            end of the input (-1); time is simulated from the sample count, as on the host
 *            board, so that event times are reproducible;
 *   firmware, serial            the emulated board has no sensor: a built-in signal
 *            generator stands in for one (tm_sensor_value below). The CMSDK timer 0
 *            interrupts every TM_HAL_BLOCK_FRAMES frames (1 per ms of signal, at least 1:
 *            a DMA block, as microphones deliver them) at TM_SAMPLE_RATE_HZ (its reload
 *            rounded to whole cycles of the TM_CM_CLOCK_HZ clock) and its handler puts the
 *            block into a ring of TM_HAL_BUFFER_FRAMES frames;
 *            hal_read_samples returns -2 once when the firmware fell behind and frames were
 *            lost, and waits for the next interrupt (WFI) when none is ready, so that QEMU
 *            (-icount sleep=off) skips the idle time.
 * The signal: channel c is a triangle wave of period 50 (c + 1) samples between -0.25 and
 * +0.25, in steps of 1/32768 (so that it is exact in float32, int16 WAV and decimal text);
 * tinyml capture's test writes the same formula in Python and compares what lands on disk.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hal.h"
#include "model_settings.h"
#include "tm_cm.h"

#ifndef TM_UART_BASE
#define TM_UART_BASE 0x40004000u
#endif
#ifndef TM_CM_CLOCK_HZ
#define TM_CM_CLOCK_HZ 25000000u
#endif
#ifndef TM_HAL_BLOCK_FRAMES
#define TM_HAL_BLOCK_FRAMES (TM_SAMPLE_RATE_HZ >= 2000 ? TM_SAMPLE_RATE_HZ / 1000 : 1)
#endif
#ifndef TM_HAL_BUFFER_FRAMES
#define TM_HAL_BUFFER_FRAMES 1024u /* frames the sensor ring holds */
#endif

#define UART_DATA (*(volatile uint32_t*)(TM_UART_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t*)(TM_UART_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t*)(TM_UART_BASE + 0x08u))
#define UART_INTCLEAR (*(volatile uint32_t*)(TM_UART_BASE + 0x0Cu))
#define UART_BAUDDIV (*(volatile uint32_t*)(TM_UART_BASE + 0x10u))
#define UART0_RX_IRQ 0u
#define UART_TX_FULL 1u
#define UART_RX_FULL 2u
#define TIMER0_BASE 0x40000000u /* CMSDK APB timer 0, interrupt 8 */
#define TIMER0_CTRL (*(volatile uint32_t*)(TIMER0_BASE + 0x00u))
#define TIMER0_VALUE (*(volatile uint32_t*)(TIMER0_BASE + 0x04u))
#define TIMER0_RELOAD (*(volatile uint32_t*)(TIMER0_BASE + 0x08u))
#define TIMER0_INTCLEAR (*(volatile uint32_t*)(TIMER0_BASE + 0x0Cu))
#define NVIC_ISER0 (*(volatile uint32_t*)0xE000E100u)
#define TIMER0_IRQ 8u


static void uart_init(void) {
  UART_BAUDDIV = 16u;    /* the smallest divider the CMSDK UART accepts */
  UART_CTRL = 3u | 8u;   /* TX and RX enabled, RX interrupt (it wakes the core from WFI) */
  NVIC_ISER0 = 1u << UART0_RX_IRQ;
}

/* UART0 RX: only wakes the core; hal_serial_getc reads the byte. */
void IRQ0_Handler(void);
void IRQ0_Handler(void) { UART_INTCLEAR = 2u; }

void tm_cm_console_write(const char* s, int n) {
  int i;
  if ((UART_CTRL & 1u) == 0u) uart_init();
  for (i = 0; i < n; ++i) {
    while (UART_STATE & UART_TX_FULL) {
    }
    UART_DATA = (uint32_t)(unsigned char)s[i];
  }
}

/* The serial protocol (tm_serial.c): one byte if one arrived, else -1 after sleeping until
 * the next interrupt (WFI: on QEMU this lets the emulator deliver the host's bytes). */
int hal_serial_getc(void) {
  if ((UART_CTRL & 2u) == 0u) uart_init();
  if ((UART_STATE & UART_RX_FULL) == 0u) {
    __asm__ volatile("wfi");
    if ((UART_STATE & UART_RX_FULL) == 0u) return -1;
  }
  return (int)(UART_DATA & 0xFFu);
}

void hal_serial_write(const char* s, int n) { tm_cm_console_write(s, n); }

/* Executed instructions (QEMU -icount shift=0; a proxy for cycles, see tm_cm.h). */
uint64_t hal_instructions(void) { return tm_cm_ticks() * (uint64_t)TM_CM_INSTRUCTIONS_PER_TICK; }

/* Sample n of channel c of the built-in signal (see the header comment). */
float tm_sensor_value(uint32_t n, int c);
float tm_sensor_value(uint32_t n, int c) {
  const uint32_t period = 50u * (uint32_t)(c + 1);
  const uint32_t half = period / 2u;
  const uint32_t p = n % period;
  const int32_t tri = (int32_t)(p < half ? p : period - p); /* 0 .. half */
  const int32_t step = 8192 / (int32_t)half;                  /* 0.25 full scale at the top */
  return (float)(tri * 2 * step - (int32_t)half * step) / 32768.0f;
}

#if defined(TM_DEVICE_CHECK)
extern const uint32_t g_tm_testdata[]; /* float32 bit patterns */
extern const uint32_t g_tm_testdata_frames;
static uint64_t g_frames; /* frames handed out since hal_init */

int hal_init(void) {
  uart_init();
  g_frames = 0u;
  return 0;
}

int hal_read_samples(float* dst, int max_frames) {
  const uint64_t left = (uint64_t)g_tm_testdata_frames - g_frames;
  const int n = left < (uint64_t)max_frames ? (int)left : max_frames;
  if (n <= 0) return -1;
  memcpy(dst, &g_tm_testdata[g_frames * TM_INPUT_CHANNELS], sizeof(float) * (size_t)n * TM_INPUT_CHANNELS);
  g_frames += (uint64_t)n;
  return n;
}

uint32_t hal_timestamp_us(void) { return (uint32_t)((g_frames * 1000000u) / (uint64_t)TM_SAMPLE_RATE_HZ); }
#else
static float g_ring[TM_HAL_BUFFER_FRAMES * TM_INPUT_CHANNELS];
static volatile uint32_t g_head; /* frames produced by the interrupt */
static uint32_t g_tail;          /* frames handed out */
static volatile int g_overflow;
static uint64_t g_t0; /* SysTick ticks at hal_init */

void IRQ8_Handler(void);
void hal_sensor_enable(int on);
void IRQ8_Handler(void) {
  uint32_t f;
  TIMER0_INTCLEAR = 1u;
  for (f = 0; f < (uint32_t)TM_HAL_BLOCK_FRAMES; ++f) {
    if (g_head - g_tail >= TM_HAL_BUFFER_FRAMES) {
      g_overflow = 1;
    } else {
      float* d = &g_ring[(g_head % TM_HAL_BUFFER_FRAMES) * TM_INPUT_CHANNELS];
      int c;
      for (c = 0; c < TM_INPUT_CHANNELS; ++c) d[c] = tm_sensor_value(g_head, c);
    }
    g_head = g_head + 1u; /* a lost frame still takes its place in time */
  }
}

/* Start (on != 0: a fresh stream from sample 0) or stop the sensor (tm_serial.h). */
void hal_sensor_enable(int on) {
  TIMER0_CTRL = 0u;
  TIMER0_INTCLEAR = 1u;
  g_head = 0u;
  g_tail = 0u;
  g_overflow = 0;
  if (!on) return;
  TIMER0_RELOAD = (uint32_t)(((uint64_t)TM_CM_CLOCK_HZ * TM_HAL_BLOCK_FRAMES + TM_SAMPLE_RATE_HZ / 2) /
                             (uint64_t)TM_SAMPLE_RATE_HZ) - 1u;
  TIMER0_VALUE = TIMER0_RELOAD;
  NVIC_ISER0 = 1u << TIMER0_IRQ;
  TIMER0_CTRL = 1u | 8u; /* enable, interrupt enable */
}

int hal_init(void) {
  uart_init();
  g_t0 = tm_cm_ticks();
#if defined(TM_DEVICE_SERIAL)
  hal_sensor_enable(0); /* the protocol starts it for a capture only */
#else
  hal_sensor_enable(1);
#endif
  return 0;
}

int hal_read_samples(float* dst, int max_frames) {
  int f = 0;
  if (g_overflow) {
    g_overflow = 0;
    g_tail = g_head; /* start again from the newest frame */
    return -2;
  }
  if (g_tail == g_head) {
    __asm__ volatile("wfi"); /* sleep until the next sample (or any interrupt) */
    return 0;
  }
  while (f < max_frames && g_tail != g_head) {
    memcpy(&dst[f * TM_INPUT_CHANNELS], &g_ring[(g_tail % TM_HAL_BUFFER_FRAMES) * TM_INPUT_CHANNELS],
           sizeof(float) * TM_INPUT_CHANNELS);
    ++g_tail;
    ++f;
  }
  return f;
}

/* time since hal_init at the emulated clock */
uint32_t hal_timestamp_us(void) {
  return (uint32_t)((tm_cm_ticks() - g_t0) * (uint64_t)TM_CM_INSTRUCTIONS_PER_TICK * 1000000u / (uint64_t)TM_CM_CLOCK_HZ);
}
#endif

void hal_log(const char* fmt, ...) {
  char line[160];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof(line) - 4) n = (int)sizeof(line) - 4;
  line[0] = '#';
  line[1] = ' ';
  line[n + 2] = '\n';
  tm_cm_console_write(line, n + 3);
}

void hal_report(const tm_event_t* ev) {
  char line[256];
  int n = tm_event_format(ev, line, sizeof(line) - 1);
  if (n < 0) return;
  if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n] = '\n';
  tm_cm_console_write(line, n + 1);
}
