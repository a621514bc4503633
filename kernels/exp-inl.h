// exp for softmax: exp(hi + lo) for arguments hi <= 0 given as an unevaluated float pair.
//
// Contract
// - hi <= 0.5 (softmax arguments are x - max <= 0); |lo| <= ulp(hi) (the TwoSum error).
// - Results below exp(-87.5) ~ 1.0e-38 < FLT_MIN are not computed: ExpOfPair returns some value below FLT_MIN
//   (the accuracy contract counts |error| <= FLT_MIN as exact, and a sum of at least 1 cannot notice them);
//   ExpOfPairMasked returns exactly 0 there and also accepts hi = -inf with any lo (masked entries).
// - NaN hi is not handled (the row kernels route NaN rows elsewhere).
// - Error: <= 0.5 ulp (final rounding) + 0.13 ulp (r rounded to float) + 0.1 ulp (polynomial, minimax relative
//   error 3.5e-9 at float coefficients) + 0.18 ulp (rounding of r + r^2 q before 1 is added) < 1 ulp; measured in
//   the tolerance suite through softmax.
//
// Why not hwy::Exp: it takes a single float (so x - max would be rounded first, see two_sum-inl.h), handles
// overflow that cannot happen here, and returns 0 for NaN (google/highway#1016).
//
// Method: n = round(hi * log2(e)) by the 1.5 * 2^23 shifter (which also leaves n in the low mantissa bits for
// building 2^n); r = hi - n*ln2 with Cody-Waite constants (kLn2Hi has 12 significant bits, so n * kLn2Hi is exact
// for |n| <= 2^11 and hi - n * kLn2Hi is exact by Sterbenz); lo and -n * kLn2Lo are folded into r with one
// rounding; exp(r) = 1 + (r + r^2 * Q(r)) with Q of degree 4 fitted for minimax relative error on
// |r| <= 0.354, the small part summed before the 1 so that its rounding is scaled down.

#if defined(SIMDMAX_KERNELS_EXP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_EXP_INL_H_
#undef SIMDMAX_KERNELS_EXP_INL_H_
#else
#define SIMDMAX_KERNELS_EXP_INL_H_
#endif

#include <math.h>

#include "hwy/highway.h"
#include "kernels/lockstep-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// vscalefps scales into the subnormal range and rounds to 0 below it: clamping at -110 (2^-159) changes nothing
// and every argument below about -103.9 gives exactly 0.
constexpr float kFlushBelow = -110.0f;
#else
// exp(-87.5) < FLT_MIN, and n = round(-87.5 / ln 2) = -126 keeps 2^n normal for the exponent-field scaling; the
// clamped lanes return exp(-87.5) ~ 1e-38, not 0.
constexpr float kFlushBelow = -87.5f;
#endif

// The pieces ExpOfPair and ExpScaled share (one definition of the reduction and the polynomial).
struct ExpCoefficients {
  static constexpr float kLog2E = 1.44269502f;
  static constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  static constexpr float kLn2Hi = 0.693359375f;   // 12 significant bits
  static constexpr float kLn2Lo = -2.12194440e-4f;
  // Q(r) coefficients (r^2 .. r^6 of exp), minimax relative error 3.5e-9 on [-0.354, 0.354].
  static constexpr float kC2 = 0.49999994f;
  static constexpr float kC3 = 0.16666509f;
  static constexpr float kC4 = 0.041668531f;
  static constexpr float kC5 = 0.0083701406f;
  static constexpr float kC6 = 0.0013811657f;
};

// Cody-Waite reduction of x (|x| <= ~1419): n = round(x log2 e), also left in the low mantissa bits of `shifted`
// (for building 2^n); returns x - n * ln2_hi, exact (n * kLn2Hi has <= 23 significant bits, and the subtraction is
// exact by Sterbenz). The caller adds -n * kLn2Lo (and any low part of the argument). V: a vector or a group of them
// (kernels/lockstep-inl.h), as for the scaled exp below (whose row constants clamp_at and shift, VC, may be plain
// vectors used by every slot of a group).
template <class D, class V>
HWY_INLINE V ReduceExpArgument(D d, V x, V& n, V& shifted) {
  using C = ExpCoefficients;
  shifted = ls::MulAdd(x, hn::Set(d, C::kLog2E), hn::Set(d, C::kShifter));
  n = ls::Sub(shifted, hn::Set(d, C::kShifter));
  return ls::NegMulAdd(n, hn::Set(d, C::kLn2Hi), x);
}

// exp(r) - 1 = r + r^2 Q(r) for |r| <= 0.354 (|result| < 0.43).
template <class D, class V>
HWY_INLINE V ExpPolynomialSmall(D d, V r) {
  using C = ExpCoefficients;
  const V r2 = ls::Mul(r, r);
  V q = ls::MulAdd(hn::Set(d, C::kC6), r, hn::Set(d, C::kC5));
  q = ls::MulAdd(q, r, hn::Set(d, C::kC4));
  q = ls::MulAdd(q, r, hn::Set(d, C::kC3));
  q = ls::MulAdd(q, r, hn::Set(d, C::kC2));
  return ls::MulAdd(r2, q, r);
}

// exp(r) for |r| <= 0.354 as 1 + (r + r^2 Q(r)), the small part summed before the 1 so that its rounding is scaled
// down.
template <class D, class V>
HWY_INLINE V ExpPolynomial(D d, V r) {
  return hn::Add(ExpPolynomialSmall(d, r), hn::Set(d, 1.0f));
}

// exp(hi + lo) for finite hi <= 0.5 and |lo| <= ulp(hi). Arguments below kFlushBelow are clamped, so those lanes
// return a value below FLT_MIN (not necessarily 0): harmless in a sum >= 1, and an output below FLT_MIN counts as
// exact. Callers that need an exact 0 (masked -inf entries) use ExpOfPairMasked.
//
// kScaleLog2 > 0 returns exp(hi + lo) * 2^kScaleLog2 and moves the clamp down by kScaleLog2 * ln2, so that terms
// down to exp(kFlushBelow - kScaleLog2 * ln2) are computed. Log-softmax needs it: its output at the row maximum is
// -log1p(rest) ~ -rest, and when rest is ~1e-35 the terms below FLT_MIN are a visible part of it (dropping them
// cost up to millions of ULP on rows like [0, -87.3, -88.7]; found by tests/special_values_test.cc).
template <int kScaleLog2 = 0, class D, class V = hn::Vec<D>>
HWY_INLINE V ExpOfPair(D d, V hi, V lo) {
  static_assert(kScaleLog2 >= 0 && kScaleLog2 <= 64, "2^(n + kScaleLog2) must stay a normal float");
  // One Max instead of a compare and a select: keeps n >= -126 so that 2^n below is a normal float, and keeps
  // huge negative arguments from turning the reduction into inf - inf.
  constexpr float kClamp = kFlushBelow - static_cast<float>(kScaleLog2) * 0.69314718f;
  const V x = hn::Max(hi, hn::Set(d, kClamp));
  V n, shifted;
  const V r_hi = ReduceExpArgument(d, x, n, shifted);                        // exact
  const V r_lo = hn::NegMulAdd(n, hn::Set(d, ExpCoefficients::kLn2Lo), lo);  // tiny: rounding error <= 2^-36
  const V p = ExpPolynomial(d, hn::Add(r_hi, r_lo));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // vscalefps: p * 2^n in one instruction (Highway 1.0.3 has no op for it).
  (void)shifted;
  return V{_mm512_scalef_ps(p.raw, hn::Add(n, hn::Set(d, static_cast<float>(kScaleLog2))).raw)};
#else
  // 2^n for n in [-126, 127]: the shifter left n (two's complement) in the low mantissa bits; shifting by 23 moves
  // it to the exponent field and discards the shifter's own bits.
  const hn::RebindToSigned<D> di;
  const auto exponent = hn::Add(hn::ShiftLeft<23>(hn::BitCast(di, shifted)), hn::Set(di, (127 + kScaleLog2) << 23));
  return hn::Mul(p, hn::BitCast(d, exponent));  // correctly rounded, subnormal results included
#endif
}

// exp(x) * 2^s for softmax's short rows, with s = 1 - round(max * log2(e)) for the row's max (ScaledExpShift): the
// argument is x itself, exact, so no TwoSum is needed for x - max (the 2^s factor is exact and cancels in the
// normalisation: softmax(x) = exp(x) 2^s / sum(exp(x) 2^s)). The max's own term lies in [2^0.5, 2^1.5], every term
// is <= 2^1.5 and the sum is >= 2^0.5. Contract: max finite with |max| <= kScaledExpMaxAbs, x <= max (any x, -inf
// included, NaN excluded). x is clamped to max - 120 first: there the result is below 2^-170 and rounds to exactly 0,
// so -inf entries and everything below exp(-103.9) relative to the max give exactly 0 on every target, and the
// Cody-Waite reduction stays exact (|x| <= 1419 keeps n * kLn2Hi exact). Error: as ExpOfPair (< 1 ulp), subnormal
// results rounded once.
inline constexpr float kScaledExpMaxAbs = 1024.0f;
inline constexpr float kScaledExpClamp = 120.0f;  // below the max

// s for rows whose maxes are the lanes of `max` (|max| <= kScaledExpMaxAbs), as floats holding integers (Round:
// to nearest, ties to even, as nearbyintf in the default rounding mode). The scalar form for one row is the same
// lane arithmetic.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ScaledExpShift(D d, V max) {
  return hn::Sub(hn::Set(d, 1.0f), hn::Round(hn::Mul(max, hn::Set(d, ExpCoefficients::kLog2E))));
}
HWY_INLINE float ScaledExpShift(float max) {
  const hn::CappedTag<float, 1> d1;
  return hn::GetLane(ScaledExpShift(d1, hn::Set(d1, max)));
}

// Log-softmax's use of ExpScaled (kernels/short_rows-inl.h): there the sum of the terms other than the max may lie
// far below 1 and log1p needs it to full relative accuracy (log-softmax of the max is -log1p(rest)), so the terms
// keep a scale of 2^32: s = 32 - round(max * log2(e)) puts the max's term in [2^31.5, 2^32.5], and terms down to
// 2^-158 of it (exp(-110)) are still normal floats. The clamp sits 130 below the max: a clamped term is at most
// exp(-130) 2^32.5 < 2^-155 and rounds to exactly 0, so -inf entries and padding add nothing. |max| <=
// kScaledLogExpMaxAbs keeps the clamped |x| <= 258 (n <= 373), where the Cody-Waite tail n * kLn2Lo costs < 0.05 ulp
// (ExpScaled's error bound stays < 1 ulp); and n + s stays in [-156, 33], inside the exponent range every target's
// ExpScaled handles.
inline constexpr float kScaledLogExpMaxAbs = 128.0f;
inline constexpr float kScaledLogExpClamp = 130.0f;  // below the max
inline constexpr int kScaledLogExpScaleLog2 = 32;

HWY_INLINE float ScaledLogExpShift(float max) {
  return static_cast<float>(kScaledLogExpScaleLog2) - nearbyintf(max * ExpCoefficients::kLog2E);
}

// 2^(n + s) for ExpScaled: n as ReduceExpArgument left it (and in `shifted`), s a float holding an integer,
// n + s in [-172, 33]. Exact down to 2^-149 (subnormal), rounded to nearest below (2^-150 and less give 0).
template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ExpScaledPower(D d, V n, V shifted, VC shift) {
  return InLockstep(
      [d](auto n1, auto shifted1, auto shift1) SIMDMAX_INLINE_LAMBDA {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
        (void)shifted1;
        return decltype(n1){_mm512_scalef_ps(hn::Set(d, 1.0f).raw, hn::Add(n1, shift1).raw)};
#else
        // As 2^(n + s + 64), a normal float built in the exponent field (the shifter left n in the low mantissa
        // bits; s + 64 + 127 is added there), times 2^-64: exact while normal, one rounding below.
        (void)n1;
        const hn::RebindToSigned<D> di;
        const auto bias = hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, shift1), hn::Set(di, 127 + 64)));
        const auto exponent = hn::Add(hn::ShiftLeft<23>(hn::BitCast(di, shifted1)), bias);
        return hn::Mul(hn::BitCast(d, exponent), hn::Set(d, 5.42101086e-20f));  // 2^-64
#endif
      },
      n, shifted, shift);
}

// The reduced argument r = x - n ln2 of ExpScaled, x clamped at clamp_at first (the Cody-Waite tail n * kLn2Lo
// folded in with one rounding).
template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ReduceScaledExpArgument(D d, V x, VC clamp_at, V& n, V& shifted) {
  const V r_hi = ReduceExpArgument(d, V(ls::Max(x, clamp_at)), n, shifted);  // exact
  return ls::NegMulAdd(n, hn::Set(d, ExpCoefficients::kLn2Lo), r_hi);
}

// exp(x) 2^s as e = (1 + small) * scale rounded once, with scale = 2^(n + s) exact (ExpScaledPower) and small =
// exp(r) - 1 (ExpPolynomialSmall, |small| < 0.43) left to the caller: (1 + small) * scale is the term before its
// last rounding, so a caller that needs that rounding's error gets it from small and scale with one FMA
// (ExpScaledWithError; softmax's sums, kernels/reduce-inl.h AddScaledTermToSeededSum). One FMA for e instead of
// 1 + small and a scaling: the product is exact in the normal range (scale is a power of two), so e has the same bits
// as fl(1 + small) * 2^(n + s); a subnormal e is rounded once instead of twice. Without native FMA, MulAdd is a
// product (exact: scale is a power of two) and an add (one rounding): the same bits.
template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE void ExpScaledParts(D d, V x, VC clamp_at, VC shift, V& small, V& scale) {
  V n, shifted;
  small = ExpPolynomialSmall(d, ReduceScaledExpArgument(d, x, clamp_at, n, shifted));
  scale = ExpScaledPower(d, n, shifted, shift);
}

template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ExpScaledTerm(D d, V x, VC clamp_at, VC shift, V& small, V& scale) {
  ExpScaledParts(d, x, clamp_at, shift, small, scale);
  return ls::MulAdd(small, scale, scale);
}

template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ExpScaled(D d, V x, VC clamp_at, VC shift) {
  V small, scale;
  return ExpScaledTerm(d, x, clamp_at, shift, small, scale);
}

// ExpScaled with the rounding of (1 + small) * scale carried as a correction: exp(x) 2^s ~ e + e_lo, e exactly
// ExpScaled's result, e_lo = (1 + small) * scale - e exactly in the normal range (scale - e is exact by Sterbenz,
// e / scale lying in [0.7, 1.43], and the rounding error of e is a float). Error of e + e_lo: ~0.41 ulp of e
// (r rounded 0.13, polynomial 0.1, small rounded 0.18: ExpOfPair's budget less its final rounding).
// Log-softmax's sums need it: the output at the max is -log1p(rest), which carries rest's relative error whole, so a
// term off by up to 0.91 ulp, then the output's own rounding, reached 2 ULP (about 1e-4 of rows [a, b] with b 1..80
// below a; found by the Python suite's hypothesis test). With e + e_lo: 0.41 + 0.5 < 1 ulp.
// Lanes in `zero` give e = e_lo = 0 exactly (small = -1), one select for both.
template <class D, class M, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ExpScaledWithError(D d, V x, VC clamp_at, VC shift, M zero, V& e_lo) {
  V small, scale;
  ExpScaledParts(d, x, clamp_at, shift, small, scale);
  small = ls::IfThenElse(zero, hn::Set(d, -1.0f), small);
  const V e = ls::MulAdd(small, scale, scale);
  e_lo = ls::MulAdd(small, scale, ls::Sub(scale, e));
  return e;
}

// The same without lanes forced to 0 (one select fewer): the max's own term (kernels/softmax-inl.h ScaledTopTerm).
template <class D, class V = hn::Vec<D>, class VC = V>
HWY_INLINE V ExpScaledWithError(D d, V x, VC clamp_at, VC shift, V& e_lo) {
  V small, scale;
  const V e = ExpScaledTerm(d, x, clamp_at, shift, small, scale);
  e_lo = ls::MulAdd(small, scale, ls::Sub(scale, e));
  return e;
}

// As ExpOfPair, for any hi including -inf (and lo NaN there, as TwoSum gives for x = -inf): exactly 0 below
// kFlushBelow. Used for rows with masked (-inf) entries, or whose x - max overflows.
template <int kScaleLog2 = 0, class D, class V = hn::Vec<D>>
HWY_INLINE V ExpOfPairMasked(D d, V hi, V lo) {
  constexpr float kClamp = kFlushBelow - static_cast<float>(kScaleLog2) * 0.69314718f;
  return hn::IfThenZeroElse(hn::Lt(hi, hn::Set(d, kClamp)), ExpOfPair<kScaleLog2>(d, hi, lo));
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
