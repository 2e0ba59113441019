/* tm_pingpong.h - double (ping-pong) sample buffer between a sampling interrupt and the
 * main loop, for high-rate accelerometer capture behind the HAL (C99, header only).
 *
 * Vibration windows are sampled at several kHz. A board HAL that samples from a timer
 * interrupt or a DMA transfer fills one block while the main loop computes features on
 * the other, so a slow inference never corrupts the block being written:
 *
 *   static tm_pingpong_t g_pp;                       // in the board's hal file
 *   int hal_init(void) { tm_pp_init(&g_pp); ...start the timer/ADC at TM_SAMPLE_RATE_HZ... }
 *   void sample_isr(void) {                          // one frame per tick
 *     float frame[TM_INPUT_CHANNELS];  ...read the ADC, scale by TM_APP_SENSOR_SCALE...
 *     tm_pp_put(&g_pp, frame);                       // drops (and counts) if both blocks are full
 *   }
 *   int hal_read_samples(float* dst, int max_frames) {
 *     return tm_pp_read(&g_pp, dst, max_frames);     // -2 once after an overrun
 *   }
 *
 * (A DMA driver that writes whole blocks itself uses tm_pp_block_to_fill / tm_pp_commit
 * from its half/full-transfer interrupts instead of tm_pp_put.)
 *
 * Concurrency: one producer (the interrupt) and one consumer (the main loop). A block is
 * owned by the producer while its `full` flag is 0 and by the consumer while it is 1;
 * each side only ever sets the flag that hands the block over, after a compiler barrier,
 * so no lock is needed on a single-core MCU. Blocks are TM_PP_BLOCK_FRAMES frames
 * (default TM_HOP_SAMPLES: one block per inference) of TM_INPUT_CHANNELS interleaved
 * floats: RAM = 2 * TM_PP_BLOCK_FRAMES * TM_INPUT_CHANNELS * 4 bytes.
 * tests/test_vibration_firmware.py drives it with seeded interleavings of interrupts
 * and reads and checks order, loss accounting and the overrun report.
 */
#ifndef TM_PINGPONG_H
#define TM_PINGPONG_H

#include <stdint.h>
#include <string.h>

#include "model_settings.h"

#ifndef TM_PP_BLOCK_FRAMES
#define TM_PP_BLOCK_FRAMES TM_HOP_SAMPLES
#endif
#if TM_PP_BLOCK_FRAMES < 1
#error "TM_PP_BLOCK_FRAMES must be >= 1"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TM_PP_BARRIER() __asm__ __volatile__("" ::: "memory")
#else
#define TM_PP_BARRIER() ((void)0)
#endif

typedef struct {
  float buf[2][TM_PP_BLOCK_FRAMES * TM_INPUT_CHANNELS];
  volatile uint8_t full[2];     /* 1: block complete, owned by the consumer */
  uint8_t write_block;          /* producer side */
  uint32_t write_pos;           /* frames written into write_block */
  uint8_t read_block;           /* consumer side */
  uint32_t read_pos;            /* frames already read from read_block */
  volatile uint32_t overruns;   /* frames dropped because both blocks were full */
  uint32_t overruns_reported;   /* consumer's copy, to report each overrun once */
} tm_pingpong_t;

static inline void tm_pp_init(tm_pingpong_t* pp) {
  memset(pp, 0, sizeof(*pp));
}

/* Producer (interrupt): the block to fill next, or NULL if both are full. */
static inline float* tm_pp_block_to_fill(tm_pingpong_t* pp) {
  return pp->full[pp->write_block] ? (float*)0 : pp->buf[pp->write_block];
}

/* Producer (interrupt): the block returned by tm_pp_block_to_fill is complete. */
static inline void tm_pp_commit(tm_pingpong_t* pp) {
  TM_PP_BARRIER();
  pp->full[pp->write_block] = 1;
  pp->write_block ^= 1u;
  pp->write_pos = 0;
}

/* Producer (interrupt): append one frame (TM_INPUT_CHANNELS floats).
 * Returns 0, or -1 when both blocks are full (the frame is dropped and counted). */
static inline int tm_pp_put(tm_pingpong_t* pp, const float* frame) {
  float* block = tm_pp_block_to_fill(pp);
  if (block == 0) {
    pp->overruns = pp->overruns + 1u;
    return -1;
  }
  memcpy(&block[pp->write_pos * TM_INPUT_CHANNELS], frame, sizeof(float) * TM_INPUT_CHANNELS);
  if (++pp->write_pos == TM_PP_BLOCK_FRAMES) tm_pp_commit(pp);
  return 0;
}

/* Consumer (main loop): copy up to max_frames frames, oldest first, into dst (the
 * hal_read_samples contract). Returns the number of frames copied (0 if no block is
 * complete yet), or -2 once after frames were dropped (then carries on). */
static inline int tm_pp_read(tm_pingpong_t* pp, float* dst, int max_frames) {
  int copied = 0;
  const uint32_t overruns = pp->overruns;
  if (overruns != pp->overruns_reported) {
    pp->overruns_reported = overruns;
    return -2;
  }
  while (copied < max_frames && pp->full[pp->read_block]) {
    uint32_t n = TM_PP_BLOCK_FRAMES - pp->read_pos;
    if (n > (uint32_t)(max_frames - copied)) n = (uint32_t)(max_frames - copied);
    TM_PP_BARRIER();
    memcpy(&dst[copied * TM_INPUT_CHANNELS], &pp->buf[pp->read_block][pp->read_pos * TM_INPUT_CHANNELS],
           sizeof(float) * TM_INPUT_CHANNELS * n);
    copied += (int)n;
    pp->read_pos += n;
    if (pp->read_pos == TM_PP_BLOCK_FRAMES) {
      TM_PP_BARRIER();
      pp->full[pp->read_block] = 0; /* hand the block back to the producer */
      pp->read_block ^= 1u;
      pp->read_pos = 0;
    }
  }
  return copied;
}

#endif /* TM_PINGPONG_H */
