// Row-wise softmax and log-softmax: the per-target bodies behind simdmax_softmax_f32 / simdmax_log_softmax_f32.
//
// Algorithm (three passes, the input re-read rather than stored twice):
//   1. max and a non-finite flag (reduce-inl.h);
//   2. e = exp(x - max) with x - max carried exactly (two_sum-inl.h, exp-inl.h), summed in f64; softmax stores e;
//   3. softmax: y = e * (1/sum) with 1/sum as a float pair, so the product is rounded once;
//      log-softmax: y = (x - max) - log(sum) with both differences carried exactly and rounded once at the end.
// ULP budget, softmax: exp < 1 ulp (exp-inl.h) + 0.5 ulp final rounding + sum error ~1e-9 relative -> <= 2 ULP.
// Log-softmax: 0.5 ulp final rounding + the float-pair error of log(sum) (2^-48 relative) -> <= 1 ULP, including
// outputs near 0, where log(sum) is formed as log1p(rest) with the entries equal to the max counted exactly
// rather than summed (an f64 sum of 1 + 1e-20 would lose the 1e-20 that is the whole answer).

#if defined(SIMDMAX_KERNELS_SOFTMAX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SOFTMAX_INL_H_
#undef SIMDMAX_KERNELS_SOFTMAX_INL_H_
#else
#define SIMDMAX_KERNELS_SOFTMAX_INL_H_
#endif

#include <math.h>
#include <stddef.h>

#include <limits>

#include "hwy/highway.h"
#include "kernels/exp-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_batch.h"
#include "kernels/row_map-inl.h"
#include "kernels/special_rows-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sum of exp(x - max) over a row, split as (entries equal to max, exactly) + (f64 sum of the others).
struct ExpSum {
  size_t at_max = 0;  // only counted when requested; otherwise those 1s are in `rest`
  double rest = 0.0;
  double Total() const { return static_cast<double>(at_max) + rest; }
};

// Pass 2. kStore: also write e to y (softmax). kCountMax: count entries equal to the max instead of adding their
// exact 1s to the f64 sum (log-softmax needs sum - 1 to full relative precision).
template <bool kStore, bool kCountMax, class D>
HWY_INLINE ExpSum ExpPass(D d, const float* x, float* y, size_t n, float max) {
  using V = hn::Vec<D>;
  const F64AccTag<D> dd;
  auto acc_lo = hn::Zero(dd), acc_hi = hn::Zero(dd);
  const V neg_max = hn::Set(d, -max);
  ExpSum sum;
  const auto exp_of = [&](V v) HWY_ATTR {
    V lo;
    const V hi = TwoSum(v, neg_max, lo);
    V e = ExpOfPair(d, hi, lo);
    if (kCountMax) {
      const auto at_max = hn::Eq(hi, hn::Zero(d));
      sum.at_max += hn::CountTrue(d, at_max);
      AccumulateF64(d, hn::IfThenZeroElse(at_max, e), acc_lo, acc_hi);
    } else {
      AccumulateF64(d, e, acc_lo, acc_hi);
    }
    return e;
  };
  // Tail lanes are -inf: exp gives 0 and they never equal the max.
  constexpr float kPad = -std::numeric_limits<float>::infinity();
  if (kStore) {
    MapRow(d, x, y, n, kPad, exp_of);
  } else {
    VisitRow(d, x, n, kPad, exp_of);
  }
  sum.rest = hn::GetLane(hn::SumOfLanes(dd, hn::Add(acc_lo, acc_hi)));
  return sum;
}

// Multiplication by 1/sum with 1/sum as hi + lo floats: e * hi + e * lo is rounded once (one FMA) instead of twice
// (rounded reciprocal, then product), which saves up to 0.5 ulp of the budget. Shared with the online normalise.
template <class D>
struct InverseScale {
  hn::Vec<D> hi, lo;
  InverseScale(D d, double sum) {
    const double inv = 1.0 / sum;
    const float inv_hi = static_cast<float>(inv);
    hi = hn::Set(d, inv_hi);
    lo = hn::Set(d, static_cast<float>(inv - inv_hi));
  }
  HWY_INLINE hn::Vec<D> operator()(hn::Vec<D> e) const { return hn::MulAdd(e, hi, hn::Mul(e, lo)); }
};

template <class D>
HWY_INLINE void SoftmaxRow(D d, const float* x, float* y, size_t n) {
  using V = hn::Vec<D>;
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kSoftmax>(d, x, y, n)) return;
  const ExpSum sum = ExpPass</*kStore=*/true, /*kCountMax=*/false>(d, x, y, n, max.max);
  const InverseScale<D> scale(d, sum.Total());
  MapRow(d, y, y, n, 0.0f, [&](V e) HWY_ATTR { return scale(e); });
}

// y = x - max - log_sum for finite max, with both differences carried exactly and rounded once. Shared by
// log-softmax and the online log-normalise.
template <class D>
HWY_INLINE void LogShiftRow(D d, const float* x, float* y, size_t n, float max, double log_sum) {
  using V = hn::Vec<D>;
  const float log_hi = static_cast<float>(log_sum);
  const V neg_max = hn::Set(d, -max);
  const V neg_log_hi = hn::Set(d, -log_hi);
  const V neg_log_lo = hn::Set(d, static_cast<float>(-(log_sum - log_hi)));
  const V neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  MapRow(d, x, y, n, 0.0f, [&](V v) HWY_ATTR {
    V lo_shift, lo_log;
    const V shifted = TwoSum(v, neg_max, lo_shift);         // x - max, exactly
    const V out = TwoSum(shifted, neg_log_hi, lo_log);      // ... - log_hi, exactly
    const V y_v = hn::Add(out, hn::Add(hn::Add(lo_shift, lo_log), neg_log_lo));
    // -inf entries (masked, or x - max overflowing to -inf) have NaN error terms: give them -inf.
    return hn::IfThenElse(hn::Eq(shifted, neg_inf), neg_inf, y_v);
  });
}

template <class D>
HWY_INLINE void LogSoftmaxRow(D d, const float* x, float* y, size_t n) {
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kLogSoftmax>(d, x, y, n)) return;
  const ExpSum sum = ExpPass</*kStore=*/false, /*kCountMax=*/true>(d, x, y, n, max.max);
  // log(sum) = log1p(sum - 1) with sum - 1 = (at_max - 1) + rest exactly up to the f64 rounding of rest.
  const double log_sum = ::log1p(static_cast<double>(sum.at_max - 1) + sum.rest);
  LogShiftRow(d, x, y, n, max.max, log_sum);
}

// Exported entry points: a range of rows of a batch. Row by row, so the result of a row never depends on which
// thread or which range it came with.
HWY_NOINLINE void SoftmaxRows(const RowBatch& batch, size_t row_begin, size_t row_end) {
  const hn::ScalableTag<float> d;
  for (size_t r = row_begin; r < row_end; ++r) {
    SoftmaxRow(d, batch.x + r * batch.x_stride, batch.y + r * batch.y_stride, batch.cols);
  }
}

HWY_NOINLINE void LogSoftmaxRows(const RowBatch& batch, size_t row_begin, size_t row_end) {
  const hn::ScalableTag<float> d;
  for (size_t r = row_begin; r < row_end; ++r) {
    LogSoftmaxRow(d, batch.x + r * batch.x_stride, batch.y + r * batch.y_stride, batch.cols);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
