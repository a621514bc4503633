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

// Checks one attention call (simdmax_attention, and simdmax_attention_f32 through the same arguments), in the order
// simdmax.h documents: INVALID_ARGUMENT for the scalars and types; then, when there is work (n_heads and n_queries
// nonzero; *no_op is set otherwise): NULL_POINTER (q, out; k, v with keys), INVALID_ARGUMENT (non-finite ALiBi
// slopes or sinks, block table entries outside [0, n_blocks)), INVALID_STRIDE, INVALID_SHAPE, OVERLAP (out or lse
// against every tensor of the call and each other, on byte spans; reads may overlap each other). The NULL args
// pointer is the caller's check.
simdmax_status CheckAttentionCall(const simdmax_attention_args& args, bool* no_op);

// After every call of a batch passed CheckAttentionCall: OVERLAP if an output (out, lse) of any call intersects
// any tensor (read or written) of any call, its own included. One sort and sweep over all spans (n log n).
simdmax_status CheckAttentionBatchOverlaps(const simdmax_attention_args* args, size_t n);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_
