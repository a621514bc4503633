#include "dispatch/argument_checks.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <initializer_list>

namespace simdmax {
namespace {

// Bytes spanned by a rows x cols matrix with the given stride, or false if that overflows size_t or the
// address space starting at p.
bool SpanBytes(const void* p, size_t rows, size_t cols, size_t stride, size_t element_size, uintptr_t* bytes) {
  size_t elements = 0;
  if (__builtin_mul_overflow(rows - 1, stride, &elements)) return false;
  if (__builtin_add_overflow(elements, cols, &elements)) return false;
  size_t span = 0;
  if (__builtin_mul_overflow(elements, element_size, &span)) return false;
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
// (Same element type, so row_bytes and stride_bytes are the same for both matrices.)
bool EqualStrideRowsIntersect(uintptr_t x, uintptr_t y, size_t rows, size_t cols, size_t stride, size_t element_size) {
  const uintptr_t d = x > y ? x - y : y - x;
  const uintptr_t row_bytes = cols * element_size, stride_bytes = stride * element_size;  // no overflow: checked
  const uintptr_t k0 = d / stride_bytes, rem = d % stride_bytes;
  if (k0 <= rows - 1 && rem < row_bytes) return true;
  if (k0 + 1 <= rows - 1 && stride_bytes - rem < row_bytes) return true;
  return false;
}

// [begin, end) byte range of a (heads x rows x head_dim) tensor, or false on overflow.
struct Span {
  uintptr_t begin = 0, end = 0;
  bool Intersects(const Span& other) const {
    return begin != end && other.begin != other.end && begin < other.end && other.begin < end;
  }
};
bool TensorSpan(const float* p, size_t heads, size_t head_stride, size_t rows, size_t row_stride, size_t head_dim,
                Span* span) {
  size_t last = 0, head_part = 0, row_part = 0;
  if (__builtin_mul_overflow(heads - 1, head_stride, &head_part)) return false;
  if (__builtin_mul_overflow(rows - 1, row_stride, &row_part)) return false;
  if (__builtin_add_overflow(head_part, row_part, &last)) return false;
  size_t elements = 0, bytes = 0;
  if (__builtin_add_overflow(last, head_dim, &elements)) return false;
  if (__builtin_mul_overflow(elements, sizeof(float), &bytes)) return false;
  span->begin = reinterpret_cast<uintptr_t>(p);
  return !__builtin_add_overflow(span->begin, bytes, &span->end);
}

}  // namespace

int DtypeBits(const simdmax_dtype& type) {
  static_assert(sizeof(simdmax_dtype) == sizeof(int), "simdmax_dtype is an int-sized enum");
  int value = 0;
  memcpy(&value, &type, sizeof(value));
  return value;
}

bool ToElementType(int value, ElementType* element_type) {
  if (value < 0 || value >= static_cast<int>(kElementTypeCount)) return false;
  *element_type = static_cast<ElementType>(value);
  return true;
}

simdmax_status CheckRowsArgs(size_t rows, size_t cols, const void* x, size_t x_stride, ElementType x_type,
                             const void* y, size_t y_stride, ElementType y_type) {
  if (x == nullptr || y == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  if (x_stride < cols || y_stride < cols) return SIMDMAX_ERROR_INVALID_STRIDE;
  const size_t x_size = ElementSize(x_type), y_size = ElementSize(y_type);
  uintptr_t x_bytes = 0, y_bytes = 0;
  if (!SpanBytes(x, rows, cols, x_stride, x_size, &x_bytes) || !SpanBytes(y, rows, cols, y_stride, y_size, &y_bytes)) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  const uintptr_t x_begin = reinterpret_cast<uintptr_t>(x);
  const uintptr_t y_begin = reinterpret_cast<uintptr_t>(y);
  const bool same_layout = x_type == y_type && x_stride == y_stride;
  const bool in_place = x_begin == y_begin && same_layout;
  const bool disjoint = (x_begin + x_bytes <= y_begin) || (y_begin + y_bytes <= x_begin);
  if (in_place || disjoint) return SIMDMAX_OK;
  // Spans intersect. Different types or strides: rejected (conservative: the rows themselves may still be
  // disjoint; the same pointer with another type is never in place, as the kernels would read elements they had
  // already overwritten with elements of another size). Same type and stride: exact, rows interleaved without
  // sharing a byte are fine.
  if (!same_layout || EqualStrideRowsIntersect(x_begin, y_begin, rows, cols, x_stride, x_size)) {
    return SIMDMAX_ERROR_OVERLAP;
  }
  return SIMDMAX_OK;
}

simdmax_status CheckOnlineState(float max, double sum) {
  if (isnan(max) || isnan(sum)) return SIMDMAX_OK;
  if (max == -INFINITY) return sum == 0.0 ? SIMDMAX_OK : SIMDMAX_ERROR_INVALID_ARGUMENT;
  return (sum > 0.0 && sum != INFINITY) ? SIMDMAX_OK : SIMDMAX_ERROR_INVALID_ARGUMENT;
}

simdmax_status CheckAttentionArgs(const simdmax_attention_desc* desc, const float* q, const float* k, const float* v,
                                  const float* out, const float* lse, bool* no_op) {
  *no_op = false;
  if (desc == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  const simdmax_attention_desc& a = *desc;
  if (a.n_kv_heads == 0 || a.n_heads % a.n_kv_heads != 0 || a.head_dim == 0 || !isfinite(a.scale)) {
    return SIMDMAX_ERROR_INVALID_ARGUMENT;
  }
  if (a.n_heads == 0 || a.n_queries == 0) {
    *no_op = true;
    return SIMDMAX_OK;
  }
  const bool has_keys = a.n_keys != 0;
  if (q == nullptr || out == nullptr || (has_keys && (k == nullptr || v == nullptr))) {
    return SIMDMAX_ERROR_NULL_POINTER;
  }
  const auto bad = [&](size_t count, size_t stride) { return count > 1 && stride < a.head_dim; };
  if (bad(a.n_heads, a.q_head_stride) || bad(a.n_queries, a.q_row_stride) || bad(a.n_heads, a.out_head_stride) ||
      bad(a.n_queries, a.out_row_stride) ||
      (has_keys && (bad(a.n_kv_heads, a.k_head_stride) || bad(a.n_keys, a.k_row_stride) ||
                    bad(a.n_kv_heads, a.v_head_stride) || bad(a.n_keys, a.v_row_stride)))) {
    return SIMDMAX_ERROR_INVALID_STRIDE;
  }
  Span q_span, k_span, v_span, out_span, lse_span;
  size_t lse_count = 0;
  if (!TensorSpan(q, a.n_heads, a.q_head_stride, a.n_queries, a.q_row_stride, a.head_dim, &q_span) ||
      !TensorSpan(out, a.n_heads, a.out_head_stride, a.n_queries, a.out_row_stride, a.head_dim, &out_span) ||
      __builtin_mul_overflow(a.n_heads, a.n_queries, &lse_count) ||
      (lse != nullptr && !TensorSpan(lse, 1, 0, 1, 0, lse_count, &lse_span))) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  if (has_keys && (!TensorSpan(k, a.n_kv_heads, a.k_head_stride, a.n_keys, a.k_row_stride, a.head_dim, &k_span) ||
                   !TensorSpan(v, a.n_kv_heads, a.v_head_stride, a.n_keys, a.v_row_stride, a.head_dim, &v_span))) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  for (const Span* written : {&out_span, &lse_span}) {
    if (written->Intersects(q_span) || written->Intersects(k_span) || written->Intersects(v_span)) {
      return SIMDMAX_ERROR_OVERLAP;
    }
  }
  if (out_span.Intersects(lse_span)) return SIMDMAX_ERROR_OVERLAP;
  return SIMDMAX_OK;
}

}  // namespace simdmax
