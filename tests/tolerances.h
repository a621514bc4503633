// The accuracy contract, in ULP against the long-double reference rounded to float (tests/ulp.h). These are the
// bounds the README's accuracy table documents and every test enforces on every target.
#ifndef SIMDMAX_TESTS_TOLERANCES_H_
#define SIMDMAX_TESTS_TOLERANCES_H_

#include <stdint.h>

namespace simdmax_test {

inline constexpr uint64_t kSoftmaxMaxUlp = 2;
inline constexpr uint64_t kLogSoftmaxMaxUlp = 1;

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_TOLERANCES_H_
