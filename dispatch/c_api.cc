// The C API: argument checks, then target and scheduling, then kernels. No SIMD code here.
#include "simdmax/simdmax.h"

#include "dispatch/argument_checks.h"
#include "dispatch/kernel_table.h"
#include "dispatch/row_scheduler.h"
#include "dispatch/targets.h"

namespace simdmax {
namespace {

enum class RowOpKind { kSoftmax, kLogSoftmax };

simdmax_status RunRowOp(RowOpKind op, size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                        size_t y_stride) {
  if (rows == 0 || cols == 0) return SIMDMAX_OK;
  const simdmax_status status = CheckRowsArgs(rows, cols, x, x_stride, y, y_stride);
  if (status != SIMDMAX_OK) return status;
  const KernelTable& kernels = KernelsFor(SelectedTarget());
  const RowBatch batch{cols, x, x_stride, y, y_stride};
  RunRows(op == RowOpKind::kSoftmax ? kernels.softmax : kernels.log_softmax, batch, rows);
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

simdmax_status simdmax_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                   size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kSoftmax, rows, cols, x, x_stride, y, y_stride);
}

simdmax_status simdmax_log_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                       size_t y_stride) {
  return simdmax::RunRowOp(simdmax::RowOpKind::kLogSoftmax, rows, cols, x, x_stride, y, y_stride);
}

size_t simdmax_target_count(void) { return simdmax::TargetCount(); }

const char* simdmax_target_name(size_t index) { return simdmax::TargetNameAt(index); }

simdmax_status simdmax_select_target(const char* name) { return simdmax::SelectTarget(name); }

const char* simdmax_selected_target(void) { return simdmax::SelectedTargetName(); }

simdmax_status simdmax_set_max_threads(size_t n) {
  simdmax::SetMaxThreads(n);
  return SIMDMAX_OK;
}

}  // extern "C"
