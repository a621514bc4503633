// Row reductions shared by every op: the maximum (with a flag for non-finite inputs) and sums accumulated in f64.

#if defined(SIMDMAX_KERNELS_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_REDUCE_INL_H_
#undef SIMDMAX_KERNELS_REDUCE_INL_H_
#else
#define SIMDMAX_KERNELS_REDUCE_INL_H_
#endif

#include <stddef.h>

#include "hwy/highway.h"
#include "kernels/convert-inl.h"
#include "kernels/lockstep-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

struct MaxResult {
  float max;
  float min;
  // False if the row holds a NaN or an infinity. Computed as sum(x * 0) (NaN iff some x is not finite) because
  // x86 max instructions drop NaN operands, so the maximum alone cannot tell.
  bool all_finite;
};

// Maximum and minimum of x[0, n), n >= 1. Four accumulators hide the latency of Max/Min; the tail is padded with
// a copy of x[0], which changes neither (rows with non-finite values take the special-value path anyway). The
// minimum tells the kernels whether x - max can overflow, which decides whether they need the masked exp.
// T: float, F16 or BF16 (widened exactly).
template <class D, class T>
HWY_INLINE MaxResult RowMax(D d, const T* x, size_t n) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V zero = hn::Zero(d);
  const float first = ElementF32(d, x);
  V hi0 = hn::Set(d, first), hi1 = hi0, hi2 = hi0, hi3 = hi0;
  V lo0 = hi0, lo1 = hi0, lo2 = hi0, lo3 = hi0;
  V f0 = zero, f1 = zero;
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const V v0 = LoadF32(d, x + i), v1 = LoadF32(d, x + i + N);
    const V v2 = LoadF32(d, x + i + 2 * N), v3 = LoadF32(d, x + i + 3 * N);
    hi0 = hn::Max(hi0, v0);
    hi1 = hn::Max(hi1, v1);
    hi2 = hn::Max(hi2, v2);
    hi3 = hn::Max(hi3, v3);
    lo0 = hn::Min(lo0, v0);
    lo1 = hn::Min(lo1, v1);
    lo2 = hn::Min(lo2, v2);
    lo3 = hn::Min(lo3, v3);
    f0 = hn::MulAdd(v0, zero, f0);
    f1 = hn::MulAdd(v1, zero, f1);
    f0 = hn::MulAdd(v2, zero, f0);
    f1 = hn::MulAdd(v3, zero, f1);
  }
  for (; i + N <= n; i += N) {
    const V v = LoadF32(d, x + i);
    hi0 = hn::Max(hi0, v);
    lo0 = hn::Min(lo0, v);
    f0 = hn::MulAdd(v, zero, f0);
  }
  if (i < n) {
    const V v = LoadF32NOr(d, x + i, n - i, first);
    hi1 = hn::Max(hi1, v);
    lo1 = hn::Min(lo1, v);
    f1 = hn::MulAdd(v, zero, f1);
  }
  const V hi = hn::Max(hn::Max(hi0, hi1), hn::Max(hi2, hi3));
  const V lo = hn::Min(hn::Min(lo0, lo1), hn::Min(lo2, lo3));
  MaxResult result;
  result.max = hn::GetLane(hn::MaxOfLanes(d, hi));
  result.min = hn::GetLane(hn::MinOfLanes(d, lo));
  result.all_finite = hn::AllTrue(d, hn::Eq(hn::Add(f0, f1), zero));  // NaN != 0
  return result;
}

// Compensated accumulation of non-negative terms, lane-wise in f32: each addition's rounding error is computed
// exactly (Fast2Sum, Dekker: exact when |hi| >= |e|) and added to lo; the total (hi - seed) + lo is formed in f64
// at the end. Its relative error is ~(n/lanes)^2 * 2^-48 beyond the f64 rounding, far below the float ulp
// (6e-8), where a plain f32 sum loses hundreds of ULP at 1M elements; and it costs adds only, where widening
// every vector to f64 cost 40% of the exp pass on AVX-512 (bench/accuracy_cost_bench.cc).
//
// kSeeded (softmax): hi starts at 1 >= every term exp(x - max) <= 1, so Fast2Sum applies as is (4 operations).
//   Exact relative to the total only because the total is >= 1 (the max's own term is in it).
// Otherwise (log-softmax, whose sum of the entries below the max may be ~1e-20 and is needed to full relative
//   precision): hi starts at 0 and the larger of hi and e goes first (6 operations).
// The sum is a pair of vectors (hi, lo) kept as two variables: SVE vectors are sizeless and cannot be members of
// a struct. Start with hi = Set(d, SumSeed<kSeeded>()), lo = Zero(d).
template <bool kSeeded>
constexpr float SumSeed() {
  return kSeeded ? 1.0f : 0.0f;
}

template <bool kSeeded, class V>
HWY_INLINE void AddToSum(V& hi, V& lo, V e) {
  const V larger = kSeeded ? hi : hn::Max(hi, e);
  const V smaller = kSeeded ? e : hn::Min(hi, e);
  const V t = hn::Add(larger, smaller);
  const V error = hn::Sub(smaller, hn::Sub(t, larger));  // exact: |larger| >= |smaller|
  hi = t;
  lo = hn::Add(lo, error);
}

// The seeded AddToSum of a scaled exp term known as (1 + small) * scale before its last rounding (kernels/exp-inl.h
// ExpScaledTerm: e is that product rounded, scale a power of two): lo receives everything of the term that hi did
// not, the rounding error of e included, as (1 + small) * scale - u with u = t - hi the part of e that entered hi.
// scale - u is exact (both are multiples of ulp(hi) when scale >= ulp(hi), and within a factor of two of each other
// or u = 0 when it is not), so the FMA rounds the remainder once: the same value as adding e's error (scale - e,
// then an FMA) and the Fast2Sum error (e - u) separately, in 3 operations fewer. lo's loop-carried chain stays one add
// (two dependent adds per vector made the single-pair loops of softmax latency-bound: -12..-20% against this form).
// V: a vector or a group of them (kernels/lockstep-inl.h); a group of terms goes into one pair (Acc a plain vector)
// slot after slot, in the order of a loop over their vectors, or each slot into its own pair (Acc a group).
template <class Acc, class V>
HWY_INLINE void AddScaledTermToSeededSum(Acc& hi, Acc& lo, const V& e, const V& small, const V& scale) {
  if constexpr (LockstepSlots<Acc>::value == LockstepSlots<V>::value) {
    const V t = ls::Add(hi, e);
    const V u = ls::Sub(t, hi);  // exact: hi >= e (the seed)
    hi = t;
    lo = ls::Add(lo, ls::MulAdd(small, scale, ls::Sub(scale, u)));
  } else {
    ForSlots<LockstepSlots<V>::value>([&](auto k) SIMDMAX_INLINE_LAMBDA {
      AddScaledTermToSeededSum(hi, lo, Slot<k>(e), Slot<k>(small), Slot<k>(scale));
    });
  }
}

// The total of all lanes, in f64: (hi - seed) + lo per lane, widened once per row (not per vector), so that short
// rows do not pay a scalar loop over the lanes.
// SumTotalFrom: the same for a sum seeded with `seed` (any value >= every term, so that the seeded AddToSum is exact).
template <class D>
HWY_INLINE double SumTotalFrom(D d, hn::Vec<D> sum_hi, hn::Vec<D> sum_lo, double seed_value) {
  (void)d;  // only its type is used
#if HWY_TARGET == HWY_SCALAR
  return (static_cast<double>(hn::GetLane(sum_hi)) - seed_value) + static_cast<double>(hn::GetLane(sum_lo));
#else
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  const auto seed = hn::Set(dd, seed_value);
  const auto hi = hn::Add(hn::Sub(hn::PromoteTo(dd, hn::LowerHalf(dh, sum_hi)), seed),
                          hn::Sub(hn::PromoteTo(dd, hn::UpperHalf(dh, sum_hi)), seed));
  const auto lo = hn::Add(hn::PromoteTo(dd, hn::LowerHalf(dh, sum_lo)), hn::PromoteTo(dd, hn::UpperHalf(dh, sum_lo)));
  return hn::GetLane(hn::SumOfLanes(dd, hn::Add(hi, lo)));
#endif
}

// A plain f64 sum of f32 terms, for sums that need relative accuracy down to tiny totals without the compensated
// pair's six FP operations per vector: each vector's lanes are widened (exactly) and added to two f64 accumulators,
// its lower and its upper half. n terms cost at most n 2^-53 of the total (< 2^-43 for the short rows' n <= 768).
#if HWY_TARGET == HWY_SCALAR
template <class D>
using F64SumVec = double;
template <class D>
HWY_INLINE double F64SumZero(D) {
  return 0.0;
}
template <class D>
HWY_INLINE void AddToF64Sum(D, double& lower, double& /*upper*/, hn::Vec<D> e) {
  lower += static_cast<double>(hn::GetLane(e));
}
template <class D>
HWY_INLINE double F64SumTotal(D, double lower, double upper) {
  return lower + upper;
}
#else
template <class D>
using F64SumVec = hn::Vec<hn::Repartition<double, D> >;
template <class D>
HWY_INLINE F64SumVec<D> F64SumZero(D) {
  return hn::Zero(hn::Repartition<double, D>());
}
template <class D>
HWY_INLINE void AddToF64Sum(D, F64SumVec<D>& lower, F64SumVec<D>& upper, hn::Vec<D> e) {
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  lower = hn::Add(lower, hn::PromoteTo(dd, hn::LowerHalf(dh, e)));
  upper = hn::Add(upper, hn::PromoteTo(dd, hn::UpperHalf(dh, e)));
}
template <class D>
HWY_INLINE double F64SumTotal(D, F64SumVec<D> lower, F64SumVec<D> upper) {
  const hn::Repartition<double, D> dd;
  return hn::GetLane(hn::SumOfLanes(dd, hn::Add(lower, upper)));
}
#endif

template <bool kSeeded, class D>
HWY_INLINE double SumTotal(D d, hn::Vec<D> sum_hi, hn::Vec<D> sum_lo) {
  return SumTotalFrom(d, sum_hi, sum_lo, static_cast<double>(SumSeed<kSeeded>()));
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
