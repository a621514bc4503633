#include "dispatch/argument_checks.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <initializer_list>
#include <vector>

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

// [begin, end) byte range of a tensor (an empty range for none).
struct Span {
  uintptr_t begin = 0, end = 0;
  bool Intersects(const Span& other) const {
    return begin != end && other.begin != other.end && begin < other.end && other.begin < end;
  }
};

// One dimension of a strided tensor: `count` steps of `stride` elements.
struct Dim {
  size_t count, stride;
};

// The bytes from p's first to last element + 1 of a tensor whose elements are at p + sum_k i_k * stride_k + c
// (i_k < count_k, c < inner), or false on overflow of size_t or the address space. Every count must be >= 1.
bool StridedSpan(const void* p, std::initializer_list<Dim> dims, size_t inner, size_t element_size, Span* span) {
  size_t last = 0;
  for (const Dim& dim : dims) {
    size_t part = 0;
    if (__builtin_mul_overflow(dim.count - 1, dim.stride, &part)) return false;
    if (__builtin_add_overflow(last, part, &last)) return false;
  }
  size_t elements = 0, bytes = 0;
  if (__builtin_add_overflow(last, inner, &elements)) return false;
  if (__builtin_mul_overflow(elements, element_size, &bytes)) return false;
  span->begin = reinterpret_cast<uintptr_t>(p);
  return !__builtin_add_overflow(span->begin, bytes, &span->end);
}

// The tensors of one attention call: what it reads and what it writes.
struct AttentionSpans {
  Span q, k, v, mask, alibi, sinks, table;  // read
  Span out, lse;                            // written
};

// By reference: a C caller may have stored any int there, and loading it as the enum would be undefined
// behaviour (UBSan: "load of value 4 ... simdmax_dtype", found by the attention fuzzer); DtypeBits reads the bits.
bool ValidType(const simdmax_dtype& type) {
  ElementType unused;
  return ToElementType(DtypeBits(type), &unused);
}
size_t SizeOf(const simdmax_dtype& type) { return ElementSize(static_cast<ElementType>(DtypeBits(type))); }

// Positions are computed in int64 (dispatch/attention_scheduler.cc): larger counts cannot describe memory anyway.
constexpr size_t kMaxPositions = size_t{1} << 62;

// Rows of a paged kv block that hold keys: all of them, or the keys when there are fewer.
size_t PagedRows(const simdmax_attention_args& a) { return a.block_size < a.n_keys ? a.block_size : a.n_keys; }
size_t TableEntries(const simdmax_attention_args& a) { return (a.n_keys + a.block_size - 1) / a.block_size; }

// Strides and spans of a call with work (the scalar checks passed, n_heads and n_queries >= 1, the pointers it
// needs are set): INVALID_STRIDE or INVALID_SHAPE, or SIMDMAX_OK with *spans filled.
simdmax_status AttentionTensorSpans(const simdmax_attention_args& a, AttentionSpans* spans) {
  const size_t dim = a.head_dim;
  const bool has_keys = a.n_keys != 0, paged = a.block_table != nullptr;
  const auto bad = [](size_t count, size_t stride, size_t row) { return count > 1 && stride < row; };
  bool stride_error = bad(a.n_heads, a.q_head_stride, dim) || bad(a.n_queries, a.q_row_stride, dim) ||
                      bad(a.n_heads, a.out_head_stride, dim) || bad(a.n_queries, a.out_row_stride, dim);
  if (has_keys) {
    const size_t key_rows = paged ? PagedRows(a) : a.n_keys;
    stride_error = stride_error || bad(a.n_kv_heads, a.k_head_stride, dim) || bad(key_rows, a.k_row_stride, dim) ||
                   bad(a.n_kv_heads, a.v_head_stride, dim) || bad(key_rows, a.v_row_stride, dim);
    if (paged) {
      stride_error = stride_error || bad(a.n_blocks, a.k_block_stride, dim) || bad(a.n_blocks, a.v_block_stride, dim);
    }
    if (a.mask != nullptr) {
      stride_error = stride_error || bad(a.n_queries, a.mask_row_stride, a.n_keys) ||
                     (a.mask_head_stride != 0 && bad(a.n_heads, a.mask_head_stride, a.n_keys));
    }
  }
  if (stride_error) return SIMDMAX_ERROR_INVALID_STRIDE;
  size_t rows = 0;
  if (a.n_keys > kMaxPositions || a.n_queries > kMaxPositions ||
      __builtin_mul_overflow(a.n_heads, a.n_queries, &rows)) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  const size_t q_size = SizeOf(a.q_type), kv_size = SizeOf(a.kv_type), out_size = SizeOf(a.out_type);
  bool ok = StridedSpan(a.q, {{a.n_heads, a.q_head_stride}, {a.n_queries, a.q_row_stride}}, dim, q_size, &spans->q) &&
            StridedSpan(a.out, {{a.n_heads, a.out_head_stride}, {a.n_queries, a.out_row_stride}}, dim, out_size,
                        &spans->out) &&
            (a.lse == nullptr || StridedSpan(a.lse, {}, rows, sizeof(float), &spans->lse)) &&
            (a.alibi_slopes == nullptr || StridedSpan(a.alibi_slopes, {}, a.n_heads, sizeof(float), &spans->alibi)) &&
            (a.sinks == nullptr || StridedSpan(a.sinks, {}, a.n_heads, sizeof(float), &spans->sinks));
  if (ok && has_keys) {
    if (paged) {
      ok = StridedSpan(a.block_table, {}, TableEntries(a), sizeof(int32_t), &spans->table) &&
           StridedSpan(
               a.k, {{a.n_blocks, a.k_block_stride}, {PagedRows(a), a.k_row_stride}, {a.n_kv_heads, a.k_head_stride}},
               dim, kv_size, &spans->k) &&
           StridedSpan(
               a.v, {{a.n_blocks, a.v_block_stride}, {PagedRows(a), a.v_row_stride}, {a.n_kv_heads, a.v_head_stride}},
               dim, kv_size, &spans->v);
    } else {
      ok = StridedSpan(a.k, {{a.n_kv_heads, a.k_head_stride}, {a.n_keys, a.k_row_stride}}, dim, kv_size, &spans->k) &&
           StridedSpan(a.v, {{a.n_kv_heads, a.v_head_stride}, {a.n_keys, a.v_row_stride}}, dim, kv_size, &spans->v);
    }
    if (ok && a.mask != nullptr) {
      ok = StridedSpan(a.mask, {{a.n_heads, a.mask_head_stride}, {a.n_queries, a.mask_row_stride}}, a.n_keys,
                       SizeOf(a.mask_type), &spans->mask);
    }
  }
  return ok ? SIMDMAX_OK : SIMDMAX_ERROR_INVALID_SHAPE;
}

// A span of a call, tagged with whether the call writes it.
struct AccessSpan {
  Span span;
  bool written;
};

// Whether any written span intersects any other span of the list (read-read intersections are fine: q, k and v
// may share a packed buffer, sequences may share a kv pool). Sorted by begin, a span intersects an earlier one iff
// it begins before that one ends, so one sweep keeping the largest end of the earlier spans (all of them, and
// the written ones) decides it exactly. Empty spans never intersect. Reorders the list.
template <class Iterator>
bool AnyWrittenOverlap(Iterator first, Iterator last) {
  std::sort(first, last, [](const AccessSpan& a, const AccessSpan& b) { return a.span.begin < b.span.begin; });
  uintptr_t end_any = 0, end_written = 0;
  for (Iterator it = first; it != last; ++it) {
    const Span& s = it->span;
    if (s.begin == s.end) continue;
    if (s.begin < end_written || (it->written && s.begin < end_any)) return true;
    end_any = std::max(end_any, s.end);
    if (it->written) end_written = std::max(end_written, s.end);
  }
  return false;
}

constexpr size_t kSpansPerCall = 9;
size_t AccessSpansOf(const AttentionSpans& s, AccessSpan* out) {
  const AccessSpan all[kSpansPerCall] = {{s.q, false},     {s.k, false},     {s.v, false},
                                         {s.mask, false},  {s.alibi, false}, {s.sinks, false},
                                         {s.table, false}, {s.out, true},    {s.lse, true}};
  std::copy(all, all + kSpansPerCall, out);
  return kSpansPerCall;
}

bool AllFinite(const float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!isfinite(values[i])) return false;
  }
  return true;
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

simdmax_status CheckAttentionCall(const simdmax_attention_args& a, bool* no_op) {
  *no_op = false;
  if (!ValidType(a.q_type) || !ValidType(a.kv_type) || !ValidType(a.out_type) || !ValidType(a.mask_type) ||
      a.n_kv_heads == 0 || a.n_heads % a.n_kv_heads != 0 || a.head_dim == 0 || !isfinite(a.scale) ||
      !isfinite(a.softcap) || a.softcap < 0.0f || (a.block_table != nullptr && a.block_size == 0)) {
    return SIMDMAX_ERROR_INVALID_ARGUMENT;
  }
  if (a.n_heads == 0 || a.n_queries == 0) {
    *no_op = true;
    return SIMDMAX_OK;
  }
  const bool has_keys = a.n_keys != 0;
  if (a.q == nullptr || a.out == nullptr || (has_keys && (a.k == nullptr || a.v == nullptr))) {
    return SIMDMAX_ERROR_NULL_POINTER;
  }
  if ((a.alibi_slopes != nullptr && !AllFinite(a.alibi_slopes, a.n_heads)) ||
      (a.sinks != nullptr && !AllFinite(a.sinks, a.n_heads))) {
    return SIMDMAX_ERROR_INVALID_ARGUMENT;
  }
  if (has_keys && a.block_table != nullptr) {
    Span table;
    if (!StridedSpan(a.block_table, {}, TableEntries(a), sizeof(int32_t), &table)) return SIMDMAX_ERROR_INVALID_SHAPE;
    for (size_t e = 0; e < TableEntries(a); ++e) {
      if (a.block_table[e] < 0 || static_cast<size_t>(a.block_table[e]) >= a.n_blocks) {
        return SIMDMAX_ERROR_INVALID_ARGUMENT;
      }
    }
  }
  AttentionSpans spans;
  const simdmax_status status = AttentionTensorSpans(a, &spans);
  if (status != SIMDMAX_OK) return status;
  AccessSpan access[kSpansPerCall];
  const size_t n = AccessSpansOf(spans, access);
  return AnyWrittenOverlap(access, access + n) ? SIMDMAX_ERROR_OVERLAP : SIMDMAX_OK;
}

simdmax_status CheckAttentionBatchOverlaps(const simdmax_attention_args* args, size_t n) {
  std::vector<AccessSpan> access;
  access.reserve(n * kSpansPerCall);  // std::bad_alloc -> OUT_OF_MEMORY, nothing written
  for (size_t c = 0; c < n; ++c) {
    if (args[c].n_heads == 0 || args[c].n_queries == 0) continue;  // no-op calls touch nothing
    AttentionSpans spans;
    if (AttentionTensorSpans(args[c], &spans) != SIMDMAX_OK) return SIMDMAX_ERROR_INTERNAL;  // checked before
    AccessSpan call[kSpansPerCall];
    const size_t count = AccessSpansOf(spans, call);
    access.insert(access.end(), call, call + count);
  }
  return AnyWrittenOverlap(access.begin(), access.end()) ? SIMDMAX_ERROR_OVERLAP : SIMDMAX_OK;
}

}  // namespace simdmax
