// model_runner_tflm.cc - tm_model.h implemented with TensorFlow Lite Micro (C++17).
//
// The only file of the firmware that needs TFLM. Everything it calls is TFLM's public
// API, checked against the tensorflow/tflite-micro sources:
//   tensorflow/lite/micro/micro_interpreter.h    MicroInterpreter(model, op_resolver,
//       arena, arena_size), AllocateTensors(), input(0), output(0), Invoke(),
//       arena_used_bytes()
//   tensorflow/lite/micro/micro_mutable_op_resolver.h   MicroMutableOpResolver<N>,
//       Add<Op>() (called by the generated op_resolver.h)
//   tensorflow/lite/micro/system_setup.h          tflite::InitializeTarget()
//   tensorflow/lite/schema/schema_generated.h     tflite::GetModel(), Model::version()
//   tensorflow/lite/micro/micro_interpreter.h     TFLITE_SCHEMA_VERSION
//   tensorflow/lite/micro/examples/micro_speech/micro_speech_test.cc (the same sequence)
// It cannot be compiled without a TFLM source tree (TFLM_DIR); see the project README.
#include <cstdint>
#include <cstring>
#include <new>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "hal.h"
#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"
#include "tm_model.h"

namespace {

// TFLM wants a 16-byte aligned arena; its size was measured on the host (model_settings.h).
alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];
TmOpResolver g_op_resolver;
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_storage[sizeof(tflite::MicroInterpreter)];
tflite::MicroInterpreter* g_interpreter = nullptr;

bool CheckTensor(const TfLiteTensor* t, const char* what, size_t count, float scale, int32_t zero_point) {
  if (t == nullptr) {
    hal_log("tm_model: the model has no %s tensor", what);
    return false;
  }
  if (t->type != kTfLiteInt8 || t->bytes != count) {
    hal_log("tm_model: %s tensor is type %d with %u bytes; model_settings.h expects int8 x %u", what,
            static_cast<int>(t->type), static_cast<unsigned>(t->bytes), static_cast<unsigned>(count));
    return false;
  }
  const float rel = t->params.scale > scale ? t->params.scale - scale : scale - t->params.scale;
  if (t->params.zero_point != zero_point || rel > 1e-6f * scale) {
    hal_log("tm_model: %s quantisation (%g, %d) differs from model_settings.h (%g, %d): regenerate it",
            what, static_cast<double>(t->params.scale), static_cast<int>(t->params.zero_point),
            static_cast<double>(scale), static_cast<int>(zero_point));
    return false;
  }
  return true;
}

}  // namespace

extern "C" int tm_model_init(void) {
  tflite::InitializeTarget();
  const tflite::Model* model = tflite::GetModel(TM_MODEL_DATA);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    hal_log("tm_model: model schema version %d, TFLM supports %d", static_cast<int>(model->version()),
            TFLITE_SCHEMA_VERSION);
    return -1;
  }
  if (TmRegisterOps(g_op_resolver) != kTfLiteOk) {
    hal_log("tm_model: registering the model's %d operators failed", kNumberOperators);
    return -2;
  }
  g_interpreter = new (g_interpreter_storage)
      tflite::MicroInterpreter(model, g_op_resolver, g_tensor_arena, kTensorArenaSize);
  if (g_interpreter->AllocateTensors() != kTfLiteOk) {
    hal_log("tm_model: AllocateTensors failed: kTensorArenaSize=%d is too small for this build "
            "(optimised kernels may need more scratch than the host measurement); raise it",
            static_cast<int>(kTensorArenaSize));
    return -3;
  }
  if (!CheckTensor(g_interpreter->input(0), "input", TM_MODEL_INPUT_COUNT, TM_INPUT_SCALE,
                   TM_INPUT_ZERO_POINT) ||
      !CheckTensor(g_interpreter->output(0), "output", TM_MODEL_OUTPUT_COUNT, TM_OUTPUT_SCALE,
                   TM_OUTPUT_ZERO_POINT)) {
    return -4;
  }
  hal_log("tm_model: arena %u of %u bytes used", static_cast<unsigned>(g_interpreter->arena_used_bytes()),
          static_cast<unsigned>(kTensorArenaSize));
  return 0;
}

extern "C" int tm_model_invoke(const int8_t* in, int8_t* out) {
  if (g_interpreter == nullptr) return -1;
  std::memcpy(g_interpreter->input(0)->data.int8, in, TM_MODEL_INPUT_COUNT);
  if (g_interpreter->Invoke() != kTfLiteOk) {
    hal_log("tm_model: Invoke failed");
    return -2;
  }
  std::memcpy(out, g_interpreter->output(0)->data.int8, TM_MODEL_OUTPUT_COUNT);
  return 0;
}

extern "C" size_t tm_model_arena_used(void) {
  return g_interpreter == nullptr ? 0 : g_interpreter->arena_used_bytes();
}
