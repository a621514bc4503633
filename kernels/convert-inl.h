// Typed loads and stores: the only place where an element type other than f32 enters the kernels. Every pass
// computes in f32; it loads n elements of T widened to f32 (LoadF32, LoadF32NOr) and stores f32 results narrowed to
// T (StoreF32, StoreF32N). T is float, F16 (IEEE binary16) or BF16 (bfloat16) (kernels/element_type.h).
//
// Numerics (tests/convert_test.cc checks every target against a scalar conversion written from the IEEE
// definition, for every f16/bf16 bit pattern and for f32 values around every f16/bf16 rounding boundary):
// - Widening f16/bf16 -> f32 is exact (every f16 and bf16 value, subnormals included, is an f32); NaN stays NaN.
// - Narrowing f32 -> f16/bf16 rounds to nearest, ties to even; values beyond the largest finite value round to
//   +-inf as IEEE says (f16: |x| >= 65520, the midpoint between 65504 and 2^16); +-inf stays; NaN becomes a quiet
//   NaN of the same sign; f16 subnormals are produced (and rounded) exactly, and values below half the smallest
//   subnormal (2^-25) become +-0.
// Why own code rather than Highway 1.0.3's PromoteTo/DemoteTo:
// - bf16: DemoteTo truncates (and would turn the largest finite f32 values into the largest bf16 rather than inf).
// - f16 without F16C (SSE4, SSSE3, SCALAR, EMU128): the emulation truncates, maps inf/NaN to finite values and
//   PromoteTo maps f16 inf/NaN to 2^16..2^17. With F16C (AVX2, AVX3, AVX3_DL) Highway uses vcvtph2ps / vcvtps2ph
//   with the immediate rounding mode 0 (nearest even), which is correct, and one instruction: kept.
// - NEON and SVE: FCVT honours FPCR (nearest even by default) and handles subnormals and NaN; SIMDMAX_HARDWARE_F16
//   below selects it where tests/convert_test.cc verified it (the AArch64 qemu suite).

#if defined(SIMDMAX_KERNELS_CONVERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_CONVERT_INL_H_
#undef SIMDMAX_KERNELS_CONVERT_INL_H_
#else
#define SIMDMAX_KERNELS_CONVERT_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <limits>
#include <type_traits>

#include "hwy/highway.h"
#include "kernels/element_type.h"
#include "kernels/load_store_n-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#undef SIMDMAX_HARDWARE_F16
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2 && !defined(HWY_DISABLE_F16C)) || HWY_TARGET == HWY_NEON || \
    (HWY_TARGET & (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128))
#define SIMDMAX_HARDWARE_F16 1
#else
#define SIMDMAX_HARDWARE_F16 0
#endif

// ---- Lane conversions between f32 vectors (D) and vectors of the 16 bits (Rebind<uint16_t, D>, as many lanes).

template <class D>
using Bits16 = hn::Rebind<uint16_t, D>;

// bf16 -> f32: the bits are the top half of the f32; exact.
template <class D>
HWY_INLINE hn::Vec<D> WidenBF16(D d, hn::Vec<Bits16<D>> bits) {
  const hn::RebindToUnsigned<D> du;
  return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du, bits)));
}

// f32 -> bf16, nearest even: adding 0x7FFF plus the lowest kept bit rounds the dropped 16 bits half to even, and
// a carry out of the mantissa correctly increments the exponent (the largest finite values round to inf; inf stays
// inf). NaN would be rounded like a number (a NaN whose payload is in the low bits would become inf), so it is
// mapped to the quiet NaN with the same sign and top payload bits. The result is in the upper 16 bits of each
// 32-bit lane (the lower 16 are garbage): NarrowBF16 shifts it down for one vector, StoreF32Pair takes the upper
// halves of two vectors with one ConcatOdd.
// RoundBF16HighNumbers is the rounding alone, for vectors without NaN: the callers test for NaN once per vector
// (pair) and branch, because the NaN select (an OR, a compare and a blend per vector) cost bf16 outputs 5-10% of
// their throughput (softmax f32 -> bf16 and bf16 -> bf16, AVX3_DL on Zen 4), and kernel outputs are almost never NaN.
template <class D>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<D>> RoundBF16HighNumbers(D d, hn::Vec<D> v) {
  (void)d;  // only its type is used
  const hn::RebindToUnsigned<D> du;
  const auto bits = hn::BitCast(du, v);
  const auto lowest_kept = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
  return hn::Add(bits, hn::Add(hn::Set(du, 0x7FFFu), lowest_kept));
}

template <class D>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<D>> RoundBF16High(D d, hn::Vec<D> v) {
  const hn::RebindToUnsigned<D> du;
  const auto quiet_nan = hn::Or(hn::BitCast(du, v), hn::Set(du, 0x00400000u));
  return hn::IfThenElse(hn::RebindMask(du, hn::IsNaN(v)), quiet_nan, RoundBF16HighNumbers(d, v));
}

// AVX-512 BF16 (Zen 4 and 5, Cooper Lake, Sapphire Rapids and later): VCVTNEPS2BF16 / VCVTNE2PS2BF16 round to
// nearest even, keep inf, overflow to inf and quiet NaN keeping the sign and top payload bits, exactly as the code
// above, in one instruction per vector (pair) instead of about five integer operations, an add, a compare and a
// permute; but they take f32 denormal inputs as zero, so a vector (pair) with a denormal lane takes the integer path
// (VFPCLASSPS finds them; softmax outputs are denormal only for terms below e^-87 of the largest). Same bits on
// every path (tests/convert_test.cc: every bf16 boundary, denormals included). Highway 1.0.3 has no target with
// these instructions and its AVX3_DL does not imply them (Ice Lake lacks them), so they are emitted by inline asm
// behind a run-time CPUID test (one load of a flag that libgcc's constructor sets: free next to a conversion).
#undef SIMDMAX_X86_BF16_CONVERT
#if HWY_ARCH_X86 && (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) && (HWY_COMPILER_GCC || HWY_COMPILER_CLANG)
#define SIMDMAX_X86_BF16_CONVERT 1
#else
#define SIMDMAX_X86_BF16_CONVERT 0
#endif

#if SIMDMAX_X86_BF16_CONVERT
HWY_INLINE bool HasBF16Convert() { return __builtin_cpu_supports("avx512bf16"); }

// v's 16 lanes rounded to bf16 bits; false (nothing written) where a lane is an f32 denormal.
HWY_INLINE bool ConvertBF16(hn::Vec512<float> v, __m256i* bits) {
  if (_mm512_fpclass_ps_mask(v.raw, 0x20) != 0) return false;  // 0x20: denormal
  __m256i r;
  asm("vcvtneps2bf16 %1, %0" : "=v"(r) : "v"(v.raw));
  *bits = r;
  return true;
}

// lo's 16 lanes rounded to bf16 bits in the lower half of *bits, hi's in the upper; false (nothing written) where
// a lane of either is an f32 denormal.
HWY_INLINE bool ConvertBF16Pair(hn::Vec512<float> lo, hn::Vec512<float> hi, __m512i* bits) {
  if ((_mm512_fpclass_ps_mask(lo.raw, 0x20) | _mm512_fpclass_ps_mask(hi.raw, 0x20)) != 0) return false;
  __m512i r;
  // AT&T operand order: the last source operand (Intel's third) fills the lower half.
  asm("vcvtne2ps2bf16 %2, %1, %0" : "=v"(r) : "v"(hi.raw), "v"(lo.raw));
  *bits = r;
  return true;
}
#endif  // SIMDMAX_X86_BF16_CONVERT

template <class D>
HWY_INLINE hn::Vec<Bits16<D>> NarrowBF16(D d, hn::Vec<D> v) {
#if SIMDMAX_X86_BF16_CONVERT
  if constexpr (sizeof(hn::Vec<D>) == 64) {
    __m256i bits;
    if (HasBF16Convert() && ConvertBF16(v, &bits)) return hn::Vec<Bits16<D>>{bits};
  }
#endif
  const hn::RebindToSigned<D> di;
  // Every lane is <= 0xFFFF after the shift, so the saturating i32 -> u16 demotion just takes the low 16 bits.
  if (HWY_LIKELY(hn::AllFalse(d, hn::IsNaN(v)))) {
    return hn::DemoteTo(Bits16<D>(), hn::BitCast(di, hn::ShiftRight<16>(RoundBF16HighNumbers(d, v))));
  }
  return hn::DemoteTo(Bits16<D>(), hn::BitCast(di, hn::ShiftRight<16>(RoundBF16High(d, v))));
}

// f16 -> f32, exact. Normal numbers re-bias the exponent (15 -> 127) with one integer add; subnormals
// (mantissa m, value m * 2^-24) go through an exact int -> float conversion and a multiplication by a power of two
// whose result is a normal f32, so flush-to-zero / denormals-are-zero modes set by the caller cannot change them;
// inf and NaN get the f32 all-ones exponent.
template <class D>
HWY_INLINE hn::Vec<D> WidenF16(D d, hn::Vec<Bits16<D>> bits16) {
#if SIMDMAX_HARDWARE_F16
  const hn::Rebind<hwy::float16_t, D> df16;
  return hn::PromoteTo(d, hn::BitCast(df16, bits16));
#else
  const hn::RebindToUnsigned<D> du;
  const hn::RebindToSigned<D> di;
  const auto bits = hn::PromoteTo(du, bits16);
  const auto sign = hn::ShiftLeft<16>(hn::And(bits, hn::Set(du, 0x8000u)));
  const auto magnitude = hn::And(bits, hn::Set(du, 0x7FFFu));
  const auto magnitude_i = hn::BitCast(di, magnitude);
  const auto shifted = hn::ShiftLeft<13>(magnitude);
  const auto normal = hn::Add(shifted, hn::Set(du, (127u - 15u) << 23));
  const auto inf_nan = hn::Or(shifted, hn::Set(du, 0x7F800000u));
  const auto subnormal = hn::BitCast(du, hn::Mul(hn::ConvertTo(d, magnitude_i), hn::Set(d, 1.0f / 16777216.0f)));
  auto result = hn::IfThenElse(hn::RebindMask(du, hn::Lt(magnitude_i, hn::Set(di, 0x0400))), subnormal, normal);
  result = hn::IfThenElse(hn::RebindMask(du, hn::Gt(magnitude_i, hn::Set(di, 0x7BFF))), inf_nan, result);
  return hn::BitCast(d, hn::Or(result, sign));
#endif
}

// f32 -> f16, nearest even, on the magnitude (the sign is put back at the end):
// - normal range (|v| >= 2^-14): re-bias the exponent and round the 13 dropped mantissa bits half to even by an
//   integer add (as NarrowBF16); a carry increments the exponent;
// - |v| >= 65520 (0x477FF000; 65520 is the tie between 65504 and 2^16, which goes to the even 2^16): inf;
// - subnormal range (|v| < 2^-14): |v| + 0.5 in f32 has an ulp of 2^-24, the f16 subnormal spacing, so the FPU's
//   nearest-even addition rounds |v| to the f16 grid and the low mantissa bits are the f16 bits (0x400 when it
//   rounds up to the smallest normal). An f32 denormal input (flushed or not) is far below 2^-25 and gives 0.
// - NaN: the quiet f16 NaN with the top payload bits.
template <class D>
HWY_INLINE hn::Vec<Bits16<D>> NarrowF16(D d, hn::Vec<D> v) {
#if SIMDMAX_HARDWARE_F16
  (void)d;  // only its type is used
  const hn::Rebind<hwy::float16_t, D> df16;
  return hn::BitCast(Bits16<D>(), hn::DemoteTo(df16, v));
#else
  const hn::RebindToUnsigned<D> du;
  const hn::RebindToSigned<D> di;
  const auto bits = hn::BitCast(du, v);
  const auto sign = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 0x8000u));
  const auto magnitude = hn::And(bits, hn::Set(du, 0x7FFFFFFFu));
  const auto magnitude_i = hn::BitCast(di, magnitude);  // < 2^31: signed comparisons are exact
  const auto rebased = hn::Sub(magnitude, hn::Set(du, (127u - 15u) << 23));
  const auto lowest_kept = hn::And(hn::ShiftRight<13>(rebased), hn::Set(du, 1u));
  const auto normal = hn::ShiftRight<13>(hn::Add(rebased, hn::Add(hn::Set(du, 0x0FFFu), lowest_kept)));
  const auto half_bits = hn::Set(du, 0x3F000000u);  // 0.5f
  const auto subnormal =
      hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(d, magnitude), hn::BitCast(d, half_bits))), half_bits);
  const auto quiet_nan = hn::Or(hn::Set(du, 0x7E00u), hn::And(hn::ShiftRight<13>(magnitude), hn::Set(du, 0x03FFu)));
  auto result = hn::IfThenElse(hn::RebindMask(du, hn::Lt(magnitude_i, hn::Set(di, 0x38800000))), subnormal, normal);
  result =
      hn::IfThenElse(hn::RebindMask(du, hn::Gt(magnitude_i, hn::Set(di, 0x477FEFFF))), hn::Set(du, 0x7C00u), result);
  result = hn::IfThenElse(hn::RebindMask(du, hn::Gt(magnitude_i, hn::Set(di, 0x7F800000))), quiet_nan, result);
  return hn::DemoteTo(Bits16<D>(), hn::BitCast(di, hn::Or(result, sign)));
#endif
}

// ---- Typed loads and stores, f32 in registers. Overloads by element type; f32 is a plain load/store.

HWY_INLINE const uint16_t* BitsOf(const F16* p) { return reinterpret_cast<const uint16_t*>(p); }
HWY_INLINE const uint16_t* BitsOf(const BF16* p) { return reinterpret_cast<const uint16_t*>(p); }
HWY_INLINE uint16_t* BitsOf(F16* p) { return reinterpret_cast<uint16_t*>(p); }
HWY_INLINE uint16_t* BitsOf(BF16* p) { return reinterpret_cast<uint16_t*>(p); }

template <class D>
HWY_INLINE hn::Vec<D> Widen(D d, hn::Vec<Bits16<D>> bits, const F16*) {
  return WidenF16(d, bits);
}
template <class D>
HWY_INLINE hn::Vec<D> Widen(D d, hn::Vec<Bits16<D>> bits, const BF16*) {
  return WidenBF16(d, bits);
}
template <class D>
HWY_INLINE hn::Vec<Bits16<D>> Narrow(D d, hn::Vec<D> v, const F16*) {
  return NarrowF16(d, v);
}
template <class D>
HWY_INLINE hn::Vec<Bits16<D>> Narrow(D d, hn::Vec<D> v, const BF16*) {
  return NarrowBF16(d, v);
}

// Lanes(d) elements of p, widened to f32.
template <class D>
HWY_INLINE hn::Vec<D> LoadF32(D d, const float* p) {
  return hn::LoadU(d, p);
}
template <class D, class T>
HWY_INLINE hn::Vec<D> LoadF32(D d, const T* p) {
  return Widen(d, hn::LoadU(Bits16<D>(), BitsOf(p)), p);
}

// The first n (< Lanes(d)) elements of p widened to f32; the other lanes hold `pad`. Reads only p[0, n).
template <class D>
HWY_INLINE hn::Vec<D> LoadF32NOr(D d, const float* p, size_t n, float pad) {
  return LoadNOr(d, p, n, pad);
}
template <class D, class T>
HWY_INLINE hn::Vec<D> LoadF32NOr(D d, const T* p, size_t n, float pad) {
  const hn::Vec<D> v = Widen(d, LoadNOr(Bits16<D>(), BitsOf(p), n, uint16_t{0}), p);
  return hn::IfThenElse(hn::FirstN(d, n), v, hn::Set(d, pad));
}

// v narrowed to T (nearest even) into p[0, Lanes(d)).
template <class D>
HWY_INLINE void StoreF32(hn::Vec<D> v, D d, float* p) {
  hn::StoreU(v, d, p);
}
template <class D, class T>
HWY_INLINE void StoreF32(hn::Vec<D> v, D d, T* p) {
  hn::StoreU(Narrow(d, v, static_cast<const T*>(p)), Bits16<D>(), BitsOf(p));
}

// v0 and v1 narrowed to T into p[0, 2 Lanes(d)): the bits of StoreF32(v0, d, p) and StoreF32(v1, d, p + Lanes(d)).
// Why a pair: bf16 takes the upper halves of two rounded vectors with one ConcatOdd (one vpermt2w on AVX-512)
// and stores one full vector, where narrowing each vector alone costs a shift and a two-instruction demotion.
template <class D, class T>
HWY_INLINE void StoreF32Pair(hn::Vec<D> v0, hn::Vec<D> v1, D d, T* p) {
  StoreF32(v0, d, p);
  StoreF32(v1, d, p + hn::Lanes(d));
}
#if HWY_TARGET != HWY_SCALAR  // one lane: no pairs to concatenate
template <class D>
HWY_INLINE void StoreF32Pair(hn::Vec<D> v0, hn::Vec<D> v1, D d, BF16* p) {
  const hn::Repartition<uint16_t, D> d16;  // 2 Lanes(d) lanes
  // One test for both vectors: v0 + v1 is NaN where either lane is (or where inf meets -inf: the full path, which is
  // right for every value).
  // Odd u16 lanes = upper halves (little endian).
#if SIMDMAX_X86_BF16_CONVERT
  if constexpr (sizeof(hn::Vec<D>) == 64) {
    __m512i bits;
    if (HasBF16Convert() && ConvertBF16Pair(v0, v1, &bits)) {
      hn::StoreU(hn::Vec<decltype(d16)>{bits}, d16, BitsOf(p));
      return;
    }
  }
#endif
  if (HWY_LIKELY(hn::AllFalse(d, hn::IsNaN(hn::Add(v0, v1))))) {
    const auto high0 = hn::BitCast(d16, RoundBF16HighNumbers(d, v0));
    const auto high1 = hn::BitCast(d16, RoundBF16HighNumbers(d, v1));
    hn::StoreU(hn::ConcatOdd(d16, high1, high0), d16, BitsOf(p));
    return;
  }
  const auto high0 = hn::BitCast(d16, RoundBF16High(d, v0));
  const auto high1 = hn::BitCast(d16, RoundBF16High(d, v1));
  hn::StoreU(hn::ConcatOdd(d16, high1, high0), d16, BitsOf(p));
}
#endif

// The first n (< Lanes(d)) lanes of v narrowed to T into p[0, n); writes nothing else.
template <class D>
HWY_INLINE void StoreF32N(hn::Vec<D> v, D d, float* p, size_t n) {
  StoreN(v, d, p, n);
}
template <class D, class T>
HWY_INLINE void StoreF32N(hn::Vec<D> v, D d, T* p, size_t n) {
  StoreN(Narrow(d, v, static_cast<const T*>(p)), Bits16<D>(), BitsOf(p), n);
}

// Log-softmax's rule for a half-precision output: the f32 result rounded to nearest with ties away from zero,
// instead of to even. Why: with half-precision inputs, x - max is exact and often lies exactly halfway between two
// half-precision values (max having bits below the grid of x - max's binade); where log(sum) is below half an f32
// ulp of it, the f32 result is x - max itself, the midpoint, while the exact result x - max - log(sum) lies below
// it (log(sum) > 0 whenever another entry is finite). Ties to even misrounded half of these outputs: log-softmax
// f16 -> f16 was 99.90% correctly rounded on the typed tolerance suite's rows (98.5% on the emulated suite's shorter
// ones). Log-softmax outputs are <= 0, so away from zero is toward the exact value. Where the f32 result lands on a
// midpoint otherwise (an f32 rounding, about 1 output in 2^13 for f16, 2^16 for bf16), the exact value is on either
// side and either rule is right half the time; both neighbours are within the 1 ULP bound.
// How, in one operation: the lowest f32 bit is set before the nearest-even narrowing. The dropped bits of a midpoint
// (100..0) become 100..01, above half, so it rounds away; dropped bits below half stay below (..0111 | 1 is itself)
// and above half stay above, so every other value rounds as before; in every binade the narrowing drops at least
// 13 bits (f16, its subnormals more) or 16 (bf16). NaN stays NaN; ±0 become the smallest f32 denormal of their sign,
// which rounds back to ±0. Not for ±inf, which would become NaN: callers keep -inf lanes apart (LogSoftmaxOf's
// masked variant selects them after; LogSoftmaxTiesAwayAnyValue). Identity for f32 outputs.
template <class TY, class D>
HWY_INLINE hn::Vec<D> LogSoftmaxTiesAway(D d, hn::Vec<D> v) {
  if constexpr (std::is_same<TY, float>::value) {
    (void)d;
    return v;
  } else {
    const hn::RebindToUnsigned<D> du;
    return hn::BitCast(d, hn::Or(hn::BitCast(du, v), hn::Set(du, 1u)));
  }
}

// The same for any log-softmax output, -inf included (the typed short rows narrow a block of finished f32 rows).
template <class TY, class D>
HWY_INLINE hn::Vec<D> LogSoftmaxTiesAwayAnyValue(D d, hn::Vec<D> v) {
  if constexpr (std::is_same<TY, float>::value) {
    return v;
  } else {
    return hn::IfThenElse(hn::Eq(v, hn::Set(d, -std::numeric_limits<float>::infinity())), v,
                          LogSoftmaxTiesAway<TY>(d, v));
  }
}

// The element at p[i] widened to f32 (scalar: a row's first element, seeds).
template <class D, class T>
HWY_INLINE float ElementF32(D d, const T* p) {
  return hn::GetLane(LoadF32NOr(d, p, 1, 0.0f));
}
template <class D>
HWY_INLINE float ElementF32(D /* d */, const float* p) {
  return *p;
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
