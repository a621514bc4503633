#include "dispatch/argument_checks.h"

#include <math.h>
#include <stdint.h>

namespace simdmax {
namespace {

// Bytes spanned by a rows x cols matrix with the given stride, or false if that overflows size_t or the
// address space starting at p.
bool SpanBytes(const float* p, size_t rows, size_t cols, size_t stride, uintptr_t* bytes) {
  size_t elements = 0;
  if (__builtin_mul_overflow(rows - 1, stride, &elements)) return false;
  if (__builtin_add_overflow(elements, cols, &elements)) return false;
  size_t span = 0;
  if (__builtin_mul_overflow(elements, sizeof(float), &span)) return false;
  uintptr_t end = 0;
  if (__builtin_add_overflow(reinterpret_cast<uintptr_t>(p), span, &end)) return false;
  *bytes = span;
  return true;
}

}  // namespace

simdmax_status CheckRowsArgs(size_t rows, size_t cols, const float* x, size_t x_stride, const float* y,
                             size_t y_stride) {
  if (x == nullptr || y == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  if (x_stride < cols || y_stride < cols) return SIMDMAX_ERROR_INVALID_STRIDE;
  uintptr_t x_bytes = 0, y_bytes = 0;
  if (!SpanBytes(x, rows, cols, x_stride, &x_bytes) || !SpanBytes(y, rows, cols, y_stride, &y_bytes)) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  const uintptr_t x_begin = reinterpret_cast<uintptr_t>(x);
  const uintptr_t y_begin = reinterpret_cast<uintptr_t>(y);
  const bool in_place = (x_begin == y_begin && x_stride == y_stride);
  const bool disjoint = (x_begin + x_bytes <= y_begin) || (y_begin + y_bytes <= x_begin);
  if (!in_place && !disjoint) return SIMDMAX_ERROR_OVERLAP;
  return SIMDMAX_OK;
}

simdmax_status CheckOnlineState(float max, double sum) {
  if (isnan(max) || isnan(sum)) return SIMDMAX_OK;
  if (max == -INFINITY) return sum == 0.0 ? SIMDMAX_OK : SIMDMAX_ERROR_INVALID_ARGUMENT;
  return (sum > 0.0 && sum != INFINITY) ? SIMDMAX_OK : SIMDMAX_ERROR_INVALID_ARGUMENT;
}

}  // namespace simdmax
