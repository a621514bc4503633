// The two decisions a pass over x - max takes from bounds on x (a chunk's min and the max it subtracts), so that
// the cheaper kernel variants are only used where they are exact. Plain C++, shared by the per-target kernels and
// by row_chunks.h, which must re-derive both against the *row* max before the finish pass (a decision derived from a
// chunk's own max is not valid for x - row max: that was issue 12's NaN bug).
#ifndef SIMDMAX_KERNELS_SUM_ORDER_H_
#define SIMDMAX_KERNELS_SUM_ORDER_H_

namespace simdmax {

// For a + b: kFirstLarger: |a| >= |b| in every lane; kSecondLarger: |b| >= |a|; kNonPositive: a + b <= 0 in every
// lane (a shift x - max with x <= max), so the operand of larger magnitude is min(a, b) (both <= 0: the more negative
// one; opposite signs: the negative one, since |negative| >= positive); kAny: nothing known.
enum class SumOrder { kAny, kFirstLarger, kSecondLarger, kNonPositive };

// The order for x + (-max) over elements x in [min, max] (finite).
inline SumOrder ShiftOrder(float max, float min) {
  if (max <= 0.0f) return SumOrder::kFirstLarger;   // x <= max <= 0: |x| >= |max|
  if (min >= -max) return SumOrder::kSecondLarger;  // -max <= x <= max: |x| <= |max|
  return SumOrder::kNonPositive;                    // x <= max is all that is known
}

// The order the exp passes take for x - max: the six-add TwoSum where only x <= max is known. kNonPositive's Min/Max
// form made softmax's chunked exp pass 1.4-3.8% slower on AVX2 (neutral on AVX3_DL; paired A/B, Zen 4), while
// log-softmax's output pass gains 2-5% from it (kernels/two_sum-inl.h).
constexpr SumOrder ExpShiftOrder(SumOrder order) { return order == SumOrder::kNonPositive ? SumOrder::kAny : order; }

// Whether exp(x - max) over finite x in [min, max] needs the masked exp: max - min > 2^16 may push the TwoSum error
// term of a clamped argument back into range (or make x - max overflow to -inf with a NaN error term). Narrower
// ranges keep that term below 2^-8 and take the unmasked exp. Entries equal to -inf always need the masked exp;
// callers add that themselves.
inline bool ShiftNeedsMasking(float max, float min) {
  return static_cast<double>(max) - static_cast<double>(min) > 65536.0;
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_SUM_ORDER_H_
