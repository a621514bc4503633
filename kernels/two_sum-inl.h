// Error-free transformation of a float subtraction (Knuth's TwoSum): a - b == hi + lo exactly, hi = fl(a - b).
//
// Why: softmax evaluates exp(x - max). Rounding x - max to float costs up to half an ulp of |x - max| in the
// argument, which exp turns into a relative error of |x - max| * 2^-24: about 8 ulp of the result at x - max = -20
// (this is most of the 17-20 ULP the peers show on short rows). Carrying the rounding error `lo` into exp's range
// reduction removes that source entirely; log-softmax uses the same pair to form x - max - log(sum) exactly.

#if defined(SIMDMAX_KERNELS_TWO_SUM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_TWO_SUM_INL_H_
#undef SIMDMAX_KERNELS_TWO_SUM_INL_H_
#else
#define SIMDMAX_KERNELS_TWO_SUM_INL_H_
#endif

#include "hwy/highway.h"
#include "kernels/sum_order.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// hi = fl(a + b), lo = (a + b) - hi exactly, for finite a, b whose sum does not overflow (otherwise lo is NaN and
// callers mask the lane). Six operations, no branch, no assumption on |a| vs |b|.
template <class V>
HWY_INLINE V TwoSum(V a, V b, V& lo) {
  const V hi = hn::Add(a, b);
  const V a_part = hn::Sub(hi, b);
  const V b_part = hn::Sub(hi, a_part);
  lo = hn::Add(hn::Sub(a, a_part), hn::Sub(b, b_part));
  return hi;
}

// The same transformation when the larger magnitude is known (Dekker's Fast2Sum: exact if |larger| >= |smaller|),
// in three operations instead of six (kernels/sum_order.h). kNonPositive orders the operands with a Min and a Max
// first (five operations, fewer on the add ports): log-softmax's output pass, whose x - max is mostly of that order
// (max > 0 with entries below -max), ran 2-5% faster with it (paired A/B, Zen 4, AVX3_DL and AVX2). Same bits as
// TwoSum: both are exact, and hi = fl(a + b) either way (the sign of a zero hi included: see below); lo may be a
// zero of the other sign, which no caller can see (it is added to hi - log(sum), or to exp's argument).
template <SumOrder kOrder, class V>
HWY_INLINE V TwoSumOrdered(V a, V b, V& lo) {
  if constexpr (kOrder == SumOrder::kAny) {
    return TwoSum(a, b, lo);
  } else if constexpr (kOrder == SumOrder::kNonPositive) {
    // hi from a and b themselves, not from the ordered pair: Min and Max of +0 and -0 return an operand chosen by
    // position on x86 (both -0 for Min(+0, -0) and Max(+0, -0)), so larger + smaller gave -0 where a + b is +0, and
    // a group that switched to this order changed the sign of a zero output (fuzzer, 2026-12-07). Independent of
    // the Min and Max, so also one add off the dependency chain.
    const V larger = hn::Min(a, b);
    const V smaller = hn::Max(a, b);
    const V hi = hn::Add(a, b);
    lo = hn::Sub(smaller, hn::Sub(hi, larger));
    return hi;
  } else {
    const V hi = hn::Add(a, b);
    lo = (kOrder == SumOrder::kFirstLarger) ? hn::Sub(b, hn::Sub(hi, a)) : hn::Sub(a, hn::Sub(hi, b));
    return hi;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
