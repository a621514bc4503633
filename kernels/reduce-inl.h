// Row reductions shared by every op: the maximum (with a flag for non-finite inputs) and sums accumulated in f64.

#if defined(SIMDMAX_KERNELS_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_REDUCE_INL_H_
#undef SIMDMAX_KERNELS_REDUCE_INL_H_
#else
#define SIMDMAX_KERNELS_REDUCE_INL_H_
#endif

#include <stddef.h>

#include "hwy/highway.h"
#include "kernels/load_store_n-inl.h"

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
template <class D>
HWY_INLINE MaxResult RowMax(D d, const float* x, size_t n) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V zero = hn::Zero(d);
  V hi0 = hn::Set(d, x[0]), hi1 = hi0, hi2 = hi0, hi3 = hi0;
  V lo0 = hi0, lo1 = hi0, lo2 = hi0, lo3 = hi0;
  V f0 = zero, f1 = zero;
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const V v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
    const V v2 = hn::LoadU(d, x + i + 2 * N), v3 = hn::LoadU(d, x + i + 3 * N);
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
    const V v = hn::LoadU(d, x + i);
    hi0 = hn::Max(hi0, v);
    lo0 = hn::Min(lo0, v);
    f0 = hn::MulAdd(v, zero, f0);
  }
  if (i < n) {
    const V v = LoadNOr(d, x + i, n - i, x[0]);
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

// Accumulates the lanes of a float vector into f64 accumulators (two, for the lower and upper halves). Summing in
// f64 keeps the relative error of a 4M-element sum of positive terms below 4M * 2^-53 ~ 5e-10, far under the
// float ulp (6e-8), where an f32 sum loses hundreds of ULP (see README.md, "Accuracy").
#if HWY_TARGET == HWY_SCALAR
template <class D, class VD>
HWY_INLINE void AccumulateF64(D /*d*/, hn::Vec<D> v, VD& acc_lo, VD& /*acc_hi*/) {
  const hn::Rebind<double, D> dd;
  acc_lo = hn::Add(acc_lo, hn::PromoteTo(dd, v));
}
#else
template <class D, class VD>
HWY_INLINE void AccumulateF64(D d, hn::Vec<D> v, VD& acc_lo, VD& acc_hi) {
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  acc_lo = hn::Add(acc_lo, hn::PromoteTo(dd, hn::LowerHalf(dh, v)));
  acc_hi = hn::Add(acc_hi, hn::PromoteTo(dd, hn::UpperHalf(dh, v)));
  (void)d;
}
#endif

// The f64 tag matching AccumulateF64's accumulators for float tag D.
#if HWY_TARGET == HWY_SCALAR
template <class D>
using F64AccTag = hn::Rebind<double, D>;
#else
template <class D>
using F64AccTag = hn::Repartition<double, D>;
#endif

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
