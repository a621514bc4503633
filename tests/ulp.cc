#include "tests/ulp.h"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace simdmax_test {
namespace {

// Maps a float to an integer such that adjacent floats differ by 1 and -0 == +0.
int64_t Ordered(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits < 0 ? -static_cast<int64_t>(bits & 0x7fffffff) : static_cast<int64_t>(bits);
}

}  // namespace

uint64_t UlpDistance(float actual, long double reference) {
  const float rounded = static_cast<float>(reference);
  if (std::isnan(actual) || std::isnan(reference)) {
    return (std::isnan(actual) && std::isnan(reference)) ? 0 : UINT64_MAX;
  }
  if (std::isinf(actual) || std::isinf(rounded)) {
    return (actual == rounded) ? 0 : UINT64_MAX;
  }
  if (std::fabs(reference) < FLT_MIN && std::fabs(static_cast<long double>(actual) - reference) <= FLT_MIN) {
    return 0;
  }
  const int64_t diff = Ordered(actual) - Ordered(rounded);
  return static_cast<uint64_t>(diff < 0 ? -diff : diff);
}

void UlpStats::Add(size_t index, float actual, long double reference) {
  const uint64_t ulp = UlpDistance(actual, reference);
  if (ulp > max_ulp || (index == 0 && max_ulp == 0)) {
    if (ulp > max_ulp) max_ulp = ulp;
    worst_index = index;
    worst_actual = actual;
    worst_reference = reference;
  }
}

}  // namespace simdmax_test
