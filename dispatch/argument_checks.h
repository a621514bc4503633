// Argument validation for the public API: everything is checked here, before any kernel runs, so that a failed
// call never touches memory. Kernels assume valid arguments.
#ifndef SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_
#define SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_

#include <stddef.h>

#include "kernels/element_type.h"
#include "simdmax/simdmax.h"

namespace simdmax {

// The bits of a simdmax_dtype argument as an int, read without loading it as the enum. A C caller may pass any
// int; C++ may not hold a value outside the enum's range in a simdmax_dtype (undefined behaviour, reported by
// UBSan's -fsanitize=enum), so the C entry points take the argument's address here and use only the int after.
int DtypeBits(const simdmax_dtype& type);
// The element type of a simdmax_dtype value (DtypeBits): false for a value outside the enum (the caller returns
// SIMDMAX_ERROR_INVALID_ARGUMENT).
bool ToElementType(int value, ElementType* element_type);

// Checks a rows x cols matrix pair for the row-wise ops, in this order: NULL_POINTER, INVALID_STRIDE,
// INVALID_SHAPE (the span (rows - 1) * stride + cols elements of its type overflows size_t bytes or the address
// space), OVERLAP. Overlap is decided in bytes, across element sizes: exactly in place (same pointer, same type,
// same stride) is accepted; otherwise, with the same type and stride, some x row sharing a byte with some y row is
// OVERLAP (exact, so rows interleaved in one buffer are accepted); in every other case the byte spans from first to
// last element must not intersect (conservative). Call only when rows and cols are nonzero.
simdmax_status CheckRowsArgs(size_t rows, size_t cols, const void* x, size_t x_stride, ElementType x_type,
                             const void* y, size_t y_stride, ElementType y_type);

// Online state: the state must be plausible for normalise (max = -inf with sum 0, a finite max with sum > 0, or
// max = +inf with sum > 0; NaN in either field is a poisoned state and accepted). INVALID_ARGUMENT otherwise.
simdmax_status CheckOnlineState(float max, double sum);

// Checks an attention call, in this order: NULL_POINTER (desc), INVALID_ARGUMENT (n_kv_heads == 0, n_heads not a
// multiple of n_kv_heads, head_dim == 0, scale not finite); then, when there is work (n_heads and n_queries
// nonzero; *no_op is set otherwise): NULL_POINTER (q, out; k, v when n_keys > 0), INVALID_STRIDE (a row stride <
// head_dim where there is more than one row, a head stride < head_dim where there is more than one head),
// INVALID_SHAPE (a tensor's span overflows size_t bytes or the address space), OVERLAP (out or lse intersects q, k,
// v, or each other; q, k and v may overlap each other, e.g. a packed QKV buffer).
simdmax_status CheckAttentionArgs(const simdmax_attention_desc* desc, const float* q, const float* k, const float* v,
                                  const float* out, const float* lse, bool* no_op);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_
