// Element types in the tests: conversions written from the IEEE 754 definition (independent of the library's
// kernels/convert-inl.h), rounding of the long-double reference to f16/bf16, ULP distance in the output type, and
// typed copies of float test data.
#ifndef SIMDMAX_TESTS_DTYPE_H_
#define SIMDMAX_TESTS_DTYPE_H_

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_test {

inline constexpr simdmax_dtype kAllDtypes[] = {SIMDMAX_F32, SIMDMAX_F16, SIMDMAX_BF16};
const char* DtypeName(simdmax_dtype type);  // "f32", "f16", "bf16"

// v rounded to nearest, ties to even, to binary16 / bfloat16 bits, from the definition: the exact long double is
// scaled by a power of two so that the kept significand is an integer, rounded by nearbyintl (nearest even), with
// the subnormal range's fixed exponent and overflow to inf (|v| >= max + half an ulp). NaN -> a quiet NaN with v's
// sign. Exact for every value a long double holds (64-bit or wider significand).
uint16_t RoundToF16Bits(long double v);
uint16_t RoundToBF16Bits(long double v);
// The exact value of f16 / bf16 bits.
long double F16BitsValue(uint16_t bits);
long double BF16BitsValue(uint16_t bits);

// Bits of v rounded to `type` (F32: the float's own bits, as uint32) and the value of such bits, as a float (every
// f16/bf16 value is a float).
uint32_t RoundToBits(simdmax_dtype type, long double v);
float BitsValue(simdmax_dtype type, uint32_t bits);
// v rounded to the type (nearest even), as a float: how an input of that type represents v; what TypedBuffer stores.
float Quantize(simdmax_dtype type, float v);
// v rounded to the type to nearest with ties away from zero (from the definition, as RoundToBits), as a float: how
// log-softmax rounds its f32 result to a half-precision output (kernels/convert-inl.h LogSoftmaxTiesAway).
float QuantizeTiesAway(simdmax_dtype type, float v);

// ULP distance in `type` between an output (a value of that type, given as a float) and the reference rounded to
// that type: representable values between them (+0 == -0); 0 when both NaN or the same infinity; UINT64_MAX when
// only one is NaN or the infinities differ. For F32 it is tests/ulp.h's UlpDistance (which lets outputs below
// FLT_MIN flush); bf16, which shares f32's exponent range and is rounded from the f32 result, gets the same
// allowance below FLT_MIN (0 when |reference| < FLT_MIN and |actual - reference| <= FLT_MIN); f16 has none (its
// subnormal outputs must be right).
uint64_t UlpDistanceIn(simdmax_dtype type, float actual, long double reference);
// Whether the output is the correctly rounded reference (0.5 ULP): the same bits as RoundToBits (any NaN for NaN).
bool CorrectlyRounded(simdmax_dtype type, float actual, long double reference);

// A typed copy of float data: each element rounded to `type` and stored in its own encoding.
class TypedBuffer {
 public:
  TypedBuffer(simdmax_dtype type, const float* values, size_t n);
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size() / simdmax_dtype_size(type_); }
  float Get(size_t i) const;                                   // element i, widened
  bool SameElement(const TypedBuffer& other, size_t i) const;  // bit-identical element i
 private:
  simdmax_dtype type_;
  std::vector<unsigned char> bytes_;
};

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_DTYPE_H_
