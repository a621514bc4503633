// Scalar long-double reference for every op, the ground truth of the tolerance suite. x87 long double carries a
// 64-bit significand (IEEE quad on AArch64), so its own error (~1e-19 relative) is invisible at float precision.
#ifndef SIMDMAX_TESTS_REFERENCE_H_
#define SIMDMAX_TESTS_REFERENCE_H_

#include <stddef.h>

#include <vector>

namespace simdmax_test {

enum class Op { kSoftmax, kLogSoftmax };
const char* OpName(Op op);

// The exact result of `op` on one row, with the special values documented in README.md: NaN anywhere -> all NaN;
// k entries +inf -> 1/k (log: -log k) there and 0 (log: -inf) elsewhere; all -inf -> 0 (log: -inf).
std::vector<long double> ReferenceRow(Op op, const float* x, size_t n);

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_REFERENCE_H_
