// Benchmark data of any simdmax_dtype: uniform values from a fixed seed, rounded to the element type. Shared by the
// attention benchmark and simdmax_ab_compare (which dlopen()s the library, so it cannot use its conversions).

#ifndef SIMDMAX_BENCH_TYPED_DATA_H_
#define SIMDMAX_BENCH_TYPED_DATA_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "simdmax/simdmax.h"

namespace simdmax_bench {

inline uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint32_t FloatBits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

inline uint16_t ToBf16(float f) {  // round to nearest even (finite inputs)
  const uint32_t b = FloatBits(f);
  return static_cast<uint16_t>((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// Round to nearest even for |f| < 65504; magnitudes below 2^-14 (f16 subnormals) become +-0: benchmark data only.
inline uint16_t ToF16(float f) {
  const uint32_t b = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000u);
  const int exp = static_cast<int>((b >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0) return sign;
  uint32_t mant = b & 0x7FFFFFu;
  uint32_t h = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is the right rounding
  return static_cast<uint16_t>(sign | h);
}

// n elements of type t, uniform in [lo, hi), fixed seed (rounded to t).
inline void FillRandom(void* dst, simdmax_dtype t, size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
  for (size_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(SplitMix(s) >> 40) * (1.0f / 16777216.0f);
    const float x = lo + (hi - lo) * u;
    if (t == SIMDMAX_F32) {
      static_cast<float*>(dst)[i] = x;
    } else if (t == SIMDMAX_BF16) {
      static_cast<uint16_t*>(dst)[i] = ToBf16(x);
    } else {
      static_cast<uint16_t*>(dst)[i] = ToF16(x);
    }
  }
}

}  // namespace simdmax_bench

#endif  // SIMDMAX_BENCH_TYPED_DATA_H_
