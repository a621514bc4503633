// The C API: argument checks, then target and scheduling, then kernels. No SIMD code here.
#include <math.h>
#include <stdint.h>

#include "dispatch/argument_checks.h"
#include "dispatch/attention_scheduler.h"
#include "dispatch/kernel_table.h"
#include "dispatch/row_scheduler.h"
#include "dispatch/targets.h"
#include "kernels/online_state.h"
#include "simdmax/simdmax.h"

namespace simdmax {
namespace {

static_assert(static_cast<int>(ElementType::kF32) == SIMDMAX_F32 &&
                  static_cast<int>(ElementType::kF16) == SIMDMAX_F16 &&
                  static_cast<int>(ElementType::kBF16) == SIMDMAX_BF16,
              "ElementType mirrors simdmax_dtype");

enum class RowOpKind { kSoftmax, kLogSoftmax };

// The one path of every row-wise entry point (the _f32 functions included): types, then shapes, then kernels.
simdmax_status RunRowOp(RowOpKind op, size_t rows, size_t cols, simdmax_dtype x_dtype, const void* x, size_t x_stride,
                        simdmax_dtype y_dtype, void* y, size_t y_stride) {
  ElementType x_type, y_type;
  if (!ToElementType(x_dtype, &x_type) || !ToElementType(y_dtype, &y_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  if (rows == 0 || cols == 0) return SIMDMAX_OK;
  const simdmax_status status = CheckRowsArgs(rows, cols, x, x_stride, x_type, y, y_stride, y_type);
  if (status != SIMDMAX_OK) return status;
  const KernelTable& kernels = KernelsFor(SelectedTarget());
  const RowBatch batch{cols, x, x_stride, y, y_stride, x_type, y_type};
  RunRows(kernels.RowOp(op == RowOpKind::kLogSoftmax, x_type, y_type), batch, rows);
  return SIMDMAX_OK;
}

simdmax_status RunOnlineUpdate(simdmax_online_state* state, simdmax_dtype x_dtype, const void* x, size_t n) {
  if (state == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  ElementType x_type;
  if (!ToElementType(x_dtype, &x_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  if (n == 0) return SIMDMAX_OK;
  if (x == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  const size_t size = ElementSize(x_type);
  if (n > SIZE_MAX / size || reinterpret_cast<uintptr_t>(x) > UINTPTR_MAX - n * size) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  // Into locals, then stored: the state is written once, after the whole block.
  float max = state->max;
  double sum = state->sum;
  KernelsFor(SelectedTarget()).by_input[static_cast<int>(x_type)]->online_update(&max, &sum, x, n);
  state->max = max;
  state->sum = sum;
  return SIMDMAX_OK;
}

simdmax_status RunOnlineNormalize(const simdmax_online_state* state, simdmax_dtype x_dtype, const void* x,
                                  simdmax_dtype y_dtype, void* y, size_t n, bool log) {
  if (state == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  ElementType x_type, y_type;
  if (!ToElementType(x_dtype, &x_type) || !ToElementType(y_dtype, &y_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  const simdmax_status state_status = CheckOnlineState(state->max, state->sum);
  if (state_status != SIMDMAX_OK) return state_status;
  if (n == 0) return SIMDMAX_OK;
  const simdmax_status status = CheckRowsArgs(1, n, x, n, x_type, y, n, y_type);
  if (status != SIMDMAX_OK) return status;
  KernelsFor(SelectedTarget())
      .by_input[static_cast<int>(x_type)]
      ->online_normalize[static_cast<int>(y_type)](state->max, state->sum, x, y, n, log);
  return SIMDMAX_OK;
}

}  // namespace
}  // namespace simdmax

extern "C" {

const char* simdmax_status_string(simdmax_status status) {
  switch (status) {
    case SIMDMAX_OK:
      return "ok";
    case SIMDMAX_ERROR_NULL_POINTER:
      return "a required pointer is NULL";
    case SIMDMAX_ERROR_INVALID_SHAPE:
      return "invalid shape: the matrix span overflows size_t or the address space";
    case SIMDMAX_ERROR_INVALID_STRIDE:
      return "invalid stride: a row stride is smaller than the row length";
    case SIMDMAX_ERROR_OVERLAP:
      return "input and output overlap without being exactly in place (same pointer and stride)";
    case SIMDMAX_ERROR_UNKNOWN_TARGET:
      return "unknown target name";
    case SIMDMAX_ERROR_UNSUPPORTED_TARGET:
      return "target not compiled into this build or not supported by this CPU";
    case SIMDMAX_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
  }
  return "unknown status";
}

const char* simdmax_version(void) { return SIMDMAX_VERSION_STRING; }

size_t simdmax_dtype_size(simdmax_dtype type) {
  simdmax::ElementType element_type;
  return simdmax::ToElementType(type, &element_type) ? simdmax::ElementSize(element_type) : 0;
}

simdmax_status simdmax_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x, size_t x_stride,
                               simdmax_dtype y_type, void* y, size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kSoftmax, rows, cols, x_type, x, x_stride, y_type, y, y_stride);
}

simdmax_status simdmax_log_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x, size_t x_stride,
                                   simdmax_dtype y_type, void* y, size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kLogSoftmax, rows, cols, x_type, x, x_stride, y_type, y, y_stride);
}

simdmax_status simdmax_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                   size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kSoftmax, rows, cols, SIMDMAX_F32, x, x_stride, SIMDMAX_F32, y,
                           y_stride);
}

simdmax_status simdmax_log_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                       size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kLogSoftmax, rows, cols, SIMDMAX_F32, x, x_stride, SIMDMAX_F32, y,
                           y_stride);
}

size_t simdmax_target_count(void) { return simdmax::TargetCount(); }

const char* simdmax_target_name(size_t index) { return simdmax::TargetNameAt(index); }

simdmax_status simdmax_select_target(const char* name) { return simdmax::SelectTarget(name); }

const char* simdmax_selected_target(void) { return simdmax::SelectedTargetName(); }

void simdmax_online_init(simdmax_online_state* state) {
  if (state == nullptr) return;
  state->max = -INFINITY;
  state->sum = 0.0;
}

simdmax_status simdmax_online_update_f32(simdmax_online_state* state, const float* x, size_t n) {
  return simdmax::RunOnlineUpdate(state, SIMDMAX_F32, x, n);
}

simdmax_status simdmax_online_update(simdmax_online_state* state, simdmax_dtype x_type, const void* x, size_t n) {
  return simdmax::RunOnlineUpdate(state, x_type, x, n);
}

simdmax_status simdmax_online_merge(simdmax_online_state* state, const simdmax_online_state* other) {
  if (state == nullptr || other == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  float max = state->max;
  double sum = state->sum;
  simdmax::MergeState(&max, &sum, other->max, other->sum);
  state->max = max;
  state->sum = sum;
  return SIMDMAX_OK;
}

double simdmax_online_log_sum_exp(const simdmax_online_state* state) {
  if (state == nullptr) return NAN;
  if (isnan(state->max) || isnan(state->sum)) return NAN;
  if (state->max == -INFINITY || state->sum <= 0.0) return -INFINITY;
  if (state->max == INFINITY) return INFINITY;
  return static_cast<double>(state->max) + log(state->sum);
}

simdmax_status simdmax_online_normalize_f32(const simdmax_online_state* state, const float* x, float* y, size_t n) {
  return simdmax::RunOnlineNormalize(state, SIMDMAX_F32, x, SIMDMAX_F32, y, n, /*log=*/false);
}

simdmax_status simdmax_online_log_normalize_f32(const simdmax_online_state* state, const float* x, float* y, size_t n) {
  return simdmax::RunOnlineNormalize(state, SIMDMAX_F32, x, SIMDMAX_F32, y, n, /*log=*/true);
}

simdmax_status simdmax_online_normalize(const simdmax_online_state* state, simdmax_dtype x_type, const void* x,
                                        simdmax_dtype y_type, void* y, size_t n) {
  return simdmax::RunOnlineNormalize(state, x_type, x, y_type, y, n, /*log=*/false);
}

simdmax_status simdmax_online_log_normalize(const simdmax_online_state* state, simdmax_dtype x_type, const void* x,
                                            simdmax_dtype y_type, void* y, size_t n) {
  return simdmax::RunOnlineNormalize(state, x_type, x, y_type, y, n, /*log=*/true);
}

simdmax_status simdmax_attention_f32(const simdmax_attention_desc* desc, const float* q, const float* k, const float* v,
                                     float* out, float* lse) {
  bool no_op = false;
  const simdmax_status status = simdmax::CheckAttentionArgs(desc, q, k, v, out, lse, &no_op);
  if (status != SIMDMAX_OK || no_op) return status;
  const simdmax::KernelTable& kernels = simdmax::KernelsFor(simdmax::SelectedTarget());
  if (!simdmax::RunAttention({kernels.attention_tile, kernels.attention_merge}, *desc, q, k, v, out, lse)) {
    return SIMDMAX_ERROR_INVALID_SHAPE;  // the split-K scratch for this shape cannot be allocated
  }
  return SIMDMAX_OK;
}

simdmax_status simdmax_set_max_threads(size_t n) {
  simdmax::SetMaxThreads(n);
  return SIMDMAX_OK;
}

}  // extern "C"
