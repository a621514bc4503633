// Argument validation for the public API: everything is checked here, before any kernel runs, so that a failed
// call never touches memory. Kernels assume valid arguments.
#ifndef SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_
#define SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_

#include <stddef.h>

#include "simdmax/simdmax.h"

namespace simdmax {

// Checks a rows x cols matrix pair for the row-wise ops, in this order: NULL_POINTER, INVALID_STRIDE,
// INVALID_SHAPE (the span (rows - 1) * stride + cols elements overflows size_t bytes or the address space),
// OVERLAP (the spans intersect and the call is not exactly in place). Call only when rows and cols are nonzero.
simdmax_status CheckRowsArgs(size_t rows, size_t cols, const float* x, size_t x_stride, const float* y,
                             size_t y_stride);

// Online state: the state must be plausible for normalise (max = -inf with sum 0, a finite max with sum > 0, or
// max = +inf with sum > 0; NaN in either field is a poisoned state and accepted). INVALID_ARGUMENT otherwise.
simdmax_status CheckOnlineState(float max, double sum);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ARGUMENT_CHECKS_H_
