// ULP distance between a float result and the long-double reference, as the accuracy contract defines it.
#ifndef SIMDMAX_TESTS_ULP_H_
#define SIMDMAX_TESTS_ULP_H_

#include <stddef.h>
#include <stdint.h>

namespace simdmax_test {

// Distance in float ULPs between `actual` and `reference` rounded to float:
// - the number of representable floats between them (+0 and -0 are equal);
// - 0 when both are NaN, or both the same infinity; "infinite" (UINT64_MAX) when only one is NaN or they are
//   different infinities;
// - 0 when |reference| < FLT_MIN and |actual - reference| <= FLT_MIN (outputs below FLT_MIN may be flushed).
uint64_t UlpDistance(float actual, long double reference);

struct UlpStats {
  uint64_t max_ulp = 0;
  size_t worst_index = 0;
  float worst_actual = 0.0f;
  long double worst_reference = 0.0L;
  void Add(size_t index, float actual, long double reference);
};

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ULP_H_
