// The accuracy contract, in ULP against the long-double reference rounded to float (tests/ulp.h). These are the
// bounds the README's accuracy table documents and every test enforces on every target.
#ifndef SIMDMAX_TESTS_TOLERANCES_H_
#define SIMDMAX_TESTS_TOLERANCES_H_

#include <stdint.h>

namespace simdmax_test {

inline constexpr uint64_t kSoftmaxMaxUlp = 2;
inline constexpr uint64_t kLogSoftmaxMaxUlp = 2;

// Online softmax (simdmax_online_*), measured by tests/online_softmax_test.cc on every target (printed as
// "[measured]"): relative error of the running sum against one call and against the exact sum, for any block sizes
// and merge orders; ULP of normalise / log-normalise against the long-double softmax / log-softmax; log-normalise
// outputs with |reference| < 1e-6 (the entries at the max) in absolute error.
inline constexpr double kOnlineSumRelTol = 2e-8;     // measured 8.6e-9 (SSE4, n = 128000)
inline constexpr uint64_t kOnlineNormalizeMaxUlp = 2;       // measured 2
inline constexpr uint64_t kOnlineLogNormalizeMaxUlp = 2;    // measured 1
inline constexpr double kOnlineLogNormalizeAbsTol = 2e-14;  // measured 9.1e-15

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_TOLERANCES_H_
