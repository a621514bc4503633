#include "dispatch/argument_checks.h"

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

// Equal strides: whether some row of one matrix shares a byte with some row of the other, exactly. Rows are
// [base + r * stride_bytes, base + r * stride_bytes + row_bytes) for r < rows; with d = |y - x| = k0 * S + rem
// (S = stride bytes), a row pair at index distance k intersects iff |d - k * S| < row_bytes, and since
// row_bytes <= S only k0 and k0 + 1 can. So rows interleaved in one buffer (x in the first half of each stride, y
// in the second) are accepted. Call only when the spans intersect (then k0 < rows) and d != 0.
bool EqualStrideRowsIntersect(uintptr_t x, uintptr_t y, size_t rows, size_t cols, size_t stride) {
  const uintptr_t d = x > y ? x - y : y - x;
  const uintptr_t row_bytes = cols * sizeof(float), stride_bytes = stride * sizeof(float);  // no overflow: checked
  const uintptr_t k0 = d / stride_bytes, rem = d % stride_bytes;
  if (k0 <= rows - 1 && rem < row_bytes) return true;
  if (k0 + 1 <= rows - 1 && stride_bytes - rem < row_bytes) return true;
  return false;
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
  if (in_place || disjoint) return SIMDMAX_OK;
  // Spans intersect. Unequal strides: rejected (conservative: the rows themselves may still be disjoint).
  // Equal strides: exact, rows interleaved without sharing a byte are fine.
  if (x_stride != y_stride || EqualStrideRowsIntersect(x_begin, y_begin, rows, cols, x_stride)) {
    return SIMDMAX_ERROR_OVERLAP;
  }
  return SIMDMAX_OK;
}

}  // namespace simdmax
