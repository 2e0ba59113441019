/* tm_engine.h - the int8 kernels of the tinyml-suite model compiler (C99).
 *
 * common/deploy/engine compiles a .tflite model into one C file that calls these
 * kernels in execution order, with every shape, stride, padding, zero point and
 * requantisation multiplier a compile-time constant in a `const` parameter struct
 * (flash). No interpreter, no malloc: activations live in one static arena whose
 * offsets the compiler planned.
 *
 * Arithmetic: TensorFlow Lite Micro's reference int8 kernels
 * (tensorflow/lite/kernels/internal/reference/integer_ops/, reference/softmax.h,
 * reference/reduce.h and the micro kernels' Prepare code), re-implemented here and
 * checked bit for bit against the tflite-micro runtime by tests/test_engine_ops.py:
 *   - requantisation: MultiplyByQuantizedMultiplier with DOUBLE rounding
 *     (gemmlowp SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), the
 *     default TFLite Micro build (TFLITE_SINGLE_ROUNDING unset);
 *   - per-channel multipliers and shifts computed at compile time (common/deploy/engine/quant.py);
 *   - the input zero point folded into the bias at compile time:
 *       sum_k w_k (x_k - zp_in) + b = sum_k w_k x_k + (b - zp_in sum_k w_k),
 *     and padded taps read the value zp_in (so they add w_k zp_in - w_k zp_in = 0,
 *     as TFLite's "skip the tap" does).
 * Assumes two's complement int32 with arithmetic right shift of negative values
 * (GCC, Clang, Arm Compiler, IAR on every target this suite renders for).
 *
 * Organisation: one kernel per file (tm_eng_<kernel>.c), so a model links only what it
 * uses. The hot loops (tm_eng_conv.c, tm_eng_dwconv.c, tm_eng_fc.c) keep the portable
 * C path self-contained; an `#if defined(__ARM_FEATURE_DSP)` path (SMLAD/SXTB16) can sit
 * beside it in the same file and must give the same integers.
 */
#ifndef TM_ENGINE_H
#define TM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_ENGINE_KERNELS_VERSION 1
#define TM_ENGINE_MAX_DIMS 6

/* Called by the generated tm_model_run after each operator with its step number; empty
 * unless defined (the engine's QEMU runs count instructions per operator with it). */
#ifndef TM_ENGINE_OP_DONE
#define TM_ENGINE_OP_DONE(step) ((void)0)
#endif

/* ---- fixed point (gemmlowp fixedpoint.h / TFLite kernels/internal/common.h) -------- */

/* SaturatingRoundingDoublingHighMul: (a * b + 2^30) / 2^31 rounded half away from zero,
 * INT32_MIN * INT32_MIN saturating to INT32_MAX (ARM VQRDMULH). */
static inline int32_t tm_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int32_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
static inline int32_t tm_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent (exponent > 0), saturating (SaturatingRoundingMultiplyByPOT). */
static inline int32_t tm_sat_shl(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* MultiplyByQuantizedMultiplier, double rounding: shift > 0 is a left shift. */
static inline int32_t tm_mbqm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return tm_rdbpot(tm_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

static inline int32_t tm_clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- kernel parameters (one const struct per operator, in flash) ----------------- */

/* CONV_2D (NHWC input, OHWI weights, groups when filter_in_c < in_c). */
typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, filter_in_c;
  int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t in_zp; /* value of padded taps */
  int32_t out_zp, act_min, act_max;
  const int8_t* weights;  /* [out_c][k_h][k_w][filter_in_c] */
  const int32_t* bias;    /* [out_c], zero point folded in */
  const int32_t* mult;    /* [out_c] */
  const int8_t* shift;    /* [out_c] */
} tm_conv_params_t;

/* DEPTHWISE_CONV_2D: out channel = in channel * depth_mult + m. */
typedef struct {
  int32_t batches, in_h, in_w, in_c, depth_mult;
  int32_t out_h, out_w;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t in_zp, out_zp, act_min, act_max;
  const int8_t* weights; /* [k_h][k_w][in_c * depth_mult] */
  const int32_t* bias;
  const int32_t* mult;
  const int8_t* shift;
} tm_dwconv_params_t;

/* FULLY_CONNECTED, and CONV_2D 1x1 / stride 1 / no padding (rows = pixels). */
typedef struct {
  int32_t rows, in_n, out_n;
  int32_t out_zp, act_min, act_max;
  const int8_t* weights; /* [out_n][in_n] */
  const int32_t* bias;   /* [out_n], zero point folded in */
  const int32_t* mult;   /* [out_n] */
  const int8_t* shift;   /* [out_n] */
} tm_fc_params_t;

/* AVERAGE_POOL_2D / MAX_POOL_2D. */
typedef struct {
  int32_t batches, in_h, in_w, channels, out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} tm_pool_params_t;

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), over the last axis. */
typedef struct {
  int32_t outer, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
} tm_softmax_params_t;

/* ADD / SUB / MUL with broadcasting, dims outermost first, strides in elements
 * (0 along a broadcast dimension). */
typedef struct {
  int32_t dims[TM_ENGINE_MAX_DIMS];
  int32_t in1_strides[TM_ENGINE_MAX_DIMS];
  int32_t in2_strides[TM_ENGINE_MAX_DIMS];
  int32_t in1_offset, in2_offset; /* -zero points */
  int32_t left_shift;             /* ADD/SUB: 20 */
  int32_t in1_mult, in1_shift, in2_mult, in2_shift; /* ADD/SUB */
  int32_t out_mult, out_shift, out_zp, act_min, act_max;
} tm_binary_params_t;

/* MEAN: output element = mean over the "inner" index set at an "outer" base offset. */
typedef struct {
  int32_t outer_dims[4], outer_strides[4];
  int32_t inner_dims[4], inner_strides[4];
  int32_t count, in_zp, mult, shift, out_zp;
} tm_mean_params_t;

/* LOGISTIC / TANH int8. */
typedef struct {
  int32_t size, in_zp, radius, mult, shift;
} tm_lut_params_t;

/* QUANTIZE int8 -> int8 (requantise). */
typedef struct {
  int32_t size, in_zp, mult, shift, out_zp;
} tm_requant_params_t;

/* QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32. */
typedef struct {
  int32_t size, zp;
  float scale;     /* QUANTIZE: divide by the float32 scale */
  double scale_d;  /* DEQUANTIZE: TFLite multiplies in double */
} tm_affine_params_t;

/* PAD / PADV2 (int8), dims outermost first, padded to TM_ENGINE_MAX_DIMS with 1s. */
typedef struct {
  int32_t in_dims[TM_ENGINE_MAX_DIMS];
  int32_t out_dims[TM_ENGINE_MAX_DIMS];
  int32_t before[TM_ENGINE_MAX_DIMS];
  int32_t value;
} tm_pad_params_t;

/* CONCATENATION (plain copy, as TFLite Micro's int8 kernel): `outer` blocks, each the
 * concatenation of chunk[i] bytes from every input i. */
typedef struct {
  int32_t n_inputs, outer;
  const int32_t* chunk; /* [n_inputs] */
} tm_concat_params_t;

/* SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND (int8, NHWC; a 3-D [b, h, d] tensor has w = 1).
 * SPACE_TO_BATCH_ND: pad_top/pad_left are the paddings and pad_value fills them;
 * BATCH_TO_SPACE_ND: pad_top/pad_left are the crops. */
typedef struct {
  int32_t in_batch, in_h, in_w, depth;
  int32_t out_batch, out_h, out_w;
  int32_t block_h, block_w, pad_top, pad_left, pad_value;
} tm_space_batch_params_t;

/* ---- kernels -------------------------------------------------------------------- */

void tm_conv_s8(const tm_conv_params_t* p, const int8_t* in, int8_t* out);
void tm_dwconv_s8(const tm_dwconv_params_t* p, const int8_t* in, int8_t* out);
void tm_fc_s8(const tm_fc_params_t* p, const int8_t* in, int8_t* out);
void tm_avgpool_s8(const tm_pool_params_t* p, const int8_t* in, int8_t* out);
void tm_maxpool_s8(const tm_pool_params_t* p, const int8_t* in, int8_t* out);
void tm_softmax_s8(const tm_softmax_params_t* p, const int8_t* in, int8_t* out);
void tm_add_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out);
void tm_sub_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out);
void tm_mul_s8(const tm_binary_params_t* p, const int8_t* in1, const int8_t* in2, int8_t* out);
void tm_mean_s8(const tm_mean_params_t* p, const int8_t* in, int8_t* out);
void tm_logistic_s8(const tm_lut_params_t* p, const int8_t* in, int8_t* out);
void tm_tanh_s8(const tm_lut_params_t* p, const int8_t* in, int8_t* out);
void tm_requant_s8(const tm_requant_params_t* p, const int8_t* in, int8_t* out);
void tm_quantize_f32_s8(const tm_affine_params_t* p, const float* in, int8_t* out);
void tm_dequantize_s8_f32(const tm_affine_params_t* p, const int8_t* in, float* out);
void tm_pad_s8(const tm_pad_params_t* p, const int8_t* in, int8_t* out);
void tm_space_to_batch_s8(const tm_space_batch_params_t* p, const int8_t* in, int8_t* out);
void tm_batch_to_space_s8(const tm_space_batch_params_t* p, const int8_t* in, int8_t* out);
void tm_concat_s8(const tm_concat_params_t* p, const int8_t* const* in, int8_t* out);

#ifdef __cplusplus
}
#endif

#endif /* TM_ENGINE_H */
