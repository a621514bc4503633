#include "tests/dtype.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "tests/ulp.h"

namespace simdmax_test {
namespace {

// A binary format with `precision` significand bits (implicit bit included) and exponent range [emin, emax] of
// normal numbers; bits = sign | biased exponent | fraction.
struct Format {
  int precision, emin, emax, exponent_bits;
};
constexpr Format kF16{11, -14, 15, 5};
constexpr Format kBF16{8, -126, 127, 8};

uint16_t RoundToBits16(const Format& f, long double v, bool ties_away = false) {
  const int fraction_bits = f.precision - 1;
  const uint32_t exponent_mask = (1u << f.exponent_bits) - 1;
  const uint32_t sign = std::signbit(v) ? 0x8000u : 0u;
  if (std::isnan(v))
    return static_cast<uint16_t>(sign | (exponent_mask << fraction_bits) | (1u << (fraction_bits - 1)));
  const uint32_t inf = sign | (exponent_mask << fraction_bits);
  if (std::isinf(v)) return static_cast<uint16_t>(inf);
  const long double a = std::fabs(v);
  if (a == 0.0L) return static_cast<uint16_t>(sign);
  int e = 0;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): the leading bit has weight 2^(e - 1)
  int exponent = e - 1;
  if (exponent < f.emin) exponent = f.emin;  // subnormal range: fixed quantum 2^(emin - fraction_bits)
  // The significand as an integer: exact (a power-of-two scaling of a long double), then rounded to nearest even
  // (nearbyint in the default rounding mode, which the tests never change).
  // (std::round: ties away from zero, for QuantizeTiesAway.)
  const long double scaled = std::ldexp(a, fraction_bits - exponent);
  long double significand = ties_away ? std::round(scaled) : std::nearbyint(scaled);
  if (significand >= std::ldexp(1.0L, f.precision)) {  // rounded up to the next binade
    significand /= 2;
    ++exponent;
  }
  if (exponent > f.emax) return static_cast<uint16_t>(inf);
  const uint32_t s = static_cast<uint32_t>(significand);
  const bool normal = s >= (1u << fraction_bits);
  const uint32_t biased = normal ? static_cast<uint32_t>(exponent - f.emin + 1) : 0u;
  return static_cast<uint16_t>(sign | (biased << fraction_bits) | (s & ((1u << fraction_bits) - 1)));
}

long double BitsValue16(const Format& f, uint16_t bits) {
  const int fraction_bits = f.precision - 1;
  const uint32_t exponent_mask = (1u << f.exponent_bits) - 1;
  const long double sign = (bits & 0x8000u) ? -1.0L : 1.0L;
  const uint32_t biased = (bits >> fraction_bits) & exponent_mask;
  const uint32_t fraction = bits & ((1u << fraction_bits) - 1);
  if (biased == exponent_mask) {
    return fraction != 0 ? std::numeric_limits<long double>::quiet_NaN()
                         : sign * std::numeric_limits<long double>::infinity();
  }
  if (biased == 0) return sign * std::ldexp(static_cast<long double>(fraction), f.emin - fraction_bits);
  return sign * std::ldexp(static_cast<long double>(fraction + (1u << fraction_bits)),
                           static_cast<int>(biased) - 1 + f.emin - fraction_bits);
}

int64_t Ordered16(uint16_t bits) {
  return (bits & 0x8000u) ? -static_cast<int64_t>(bits & 0x7FFFu) : static_cast<int64_t>(bits);
}

// The host compiler's binary16 type (AArch64 g++ has __fp16 but no _Float16 in C++; x86-64 g++ 12 has _Float16).
#if defined(__aarch64__)
#define SIMDMAX_TEST_HOST_HALF 1
using HostHalf = __fp16;
#elif defined(__FLT16_MAX__)
#define SIMDMAX_TEST_HOST_HALF 1
using HostHalf = _Float16;
#else
#define SIMDMAX_TEST_HOST_HALF 0
#endif

// Fast float <-> f16/bf16 for preparing typed test data (TypedBuffer, Quantize), where millions of elements are
// converted per test: the compiler's binary16 conversion (nearest even, IEEE) and bf16 by integer rounding. They
// decide which inputs the library sees (the reference is computed on the same values), not what it must output:
// expectations always go through RoundToBits above.
uint16_t FastRound(simdmax_dtype type, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if (type == SIMDMAX_BF16) {
    if (std::isnan(v)) return static_cast<uint16_t>((bits >> 16) | 0x40u);
    return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
  }
#if SIMDMAX_TEST_HOST_HALF
  const HostHalf h = static_cast<HostHalf>(v);
  uint16_t out;
  std::memcpy(&out, &h, 2);
  return out;
#else
  return RoundToF16Bits(v);
#endif
}
float FastValue(simdmax_dtype type, uint16_t bits16) {
  if (type == SIMDMAX_BF16) {
    const uint32_t bits = static_cast<uint32_t>(bits16) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
#if SIMDMAX_TEST_HOST_HALF
  HostHalf h;
  std::memcpy(&h, &bits16, 2);
  return static_cast<float>(h);
#else
  return static_cast<float>(F16BitsValue(bits16));
#endif
}

}  // namespace

float Quantize(simdmax_dtype type, float v) { return type == SIMDMAX_F32 ? v : FastValue(type, FastRound(type, v)); }

float QuantizeTiesAway(simdmax_dtype type, float v) {
  if (type == SIMDMAX_F32) return v;
  return BitsValue(type, RoundToBits16(type == SIMDMAX_F16 ? kF16 : kBF16, v, /*ties_away=*/true));
}

const char* DtypeName(simdmax_dtype type) {
  switch (type) {
    case SIMDMAX_F16:
      return "f16";
    case SIMDMAX_BF16:
      return "bf16";
    default:
      return "f32";
  }
}

uint16_t RoundToF16Bits(long double v) { return RoundToBits16(kF16, v); }
uint16_t RoundToBF16Bits(long double v) { return RoundToBits16(kBF16, v); }
long double F16BitsValue(uint16_t bits) { return BitsValue16(kF16, bits); }
long double BF16BitsValue(uint16_t bits) { return BitsValue16(kBF16, bits); }

uint32_t RoundToBits(simdmax_dtype type, long double v) {
  switch (type) {
    case SIMDMAX_F16:
      return RoundToF16Bits(v);
    case SIMDMAX_BF16:
      return RoundToBF16Bits(v);
    default: {
      const float f = static_cast<float>(v);
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      return bits;
    }
  }
}

float BitsValue(simdmax_dtype type, uint32_t bits) {
  switch (type) {
    case SIMDMAX_F16:
      return static_cast<float>(F16BitsValue(static_cast<uint16_t>(bits)));
    case SIMDMAX_BF16:
      return static_cast<float>(BF16BitsValue(static_cast<uint16_t>(bits)));
    default: {
      float f;
      std::memcpy(&f, &bits, sizeof(f));
      return f;
    }
  }
}

uint64_t UlpDistanceIn(simdmax_dtype type, float actual, long double reference) {
  if (type == SIMDMAX_F32) return UlpDistance(actual, reference);
  if (std::isnan(actual) || std::isnan(reference)) {
    return (std::isnan(actual) && std::isnan(reference)) ? 0 : UINT64_MAX;
  }
  // bf16 has f32's exponent range, and its outputs come from the same f32 computation, whose results below FLT_MIN
  // may be flushed or carry an absolute error up to FLT_MIN (tests/ulp.h): the same allowance, no more. (f16's
  // smallest subnormal, 6e-8, is far above FLT_MIN: no allowance there.)
  if (type == SIMDMAX_BF16 && std::fabs(reference) < FLT_MIN &&
      std::fabs(static_cast<long double>(actual) - reference) <= FLT_MIN) {
    return 0;
  }
  const uint16_t want = static_cast<uint16_t>(RoundToBits(type, reference));
  const uint16_t got = static_cast<uint16_t>(RoundToBits(type, actual));
  if (BitsValue(type, got) != actual) return UINT64_MAX;  // not a value of the type at all
  const bool want_inf = std::isinf(BitsValue(type, want)), got_inf = std::isinf(actual);
  if (want_inf || got_inf) return (want == got) ? 0 : UINT64_MAX;
  const int64_t diff = Ordered16(got) - Ordered16(want);
  return static_cast<uint64_t>(diff < 0 ? -diff : diff);
}

bool CorrectlyRounded(simdmax_dtype type, float actual, long double reference) {
  if (std::isnan(actual) || std::isnan(reference)) return std::isnan(actual) && std::isnan(reference);
  const float want = BitsValue(type, RoundToBits(type, reference));
  return actual == want || (actual == 0.0f && want == 0.0f);
}

TypedBuffer::TypedBuffer(simdmax_dtype type, const float* values, size_t n)
    : type_(type), bytes_(n * simdmax_dtype_size(type)) {
  if (type == SIMDMAX_F32) {
    if (n != 0) std::memcpy(bytes_.data(), values, 4 * n);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint16_t half = FastRound(type, values[i]);
    std::memcpy(&bytes_[2 * i], &half, 2);
  }
}

float TypedBuffer::Get(size_t i) const {
  if (type_ == SIMDMAX_F32) {
    float f;
    std::memcpy(&f, &bytes_[4 * i], 4);
    return f;
  }
  uint16_t half;
  std::memcpy(&half, &bytes_[2 * i], 2);
  return FastValue(type_, half);
}

bool TypedBuffer::SameElement(const TypedBuffer& other, size_t i) const {
  const size_t size = simdmax_dtype_size(type_);
  return std::memcmp(&bytes_[size * i], &other.bytes_[size * i], size) == 0;
}

}  // namespace simdmax_test
