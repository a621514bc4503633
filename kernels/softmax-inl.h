// Row-wise softmax and log-softmax: the per-target bodies behind simdmax_softmax_f32 / simdmax_log_softmax_f32.
//
// Algorithm (three passes, the input re-read rather than stored twice):
//   1. max and a non-finite flag (reduce-inl.h);
//   2. e = exp(x - max) with x - max carried exactly (two_sum-inl.h, exp-inl.h), summed in f64; softmax stores e;
//   3. softmax: y = e * (1/sum) with 1/sum as a float pair, so the product is rounded once;
//      log-softmax: y = (x - max) - log(sum) with both differences carried exactly and rounded once at the end.
// ULP budget, softmax: exp < 1 ulp (exp-inl.h) + 0.5 ulp final rounding + sum error ~1e-9 relative -> <= 2 ULP.
// Log-softmax: <= 1 ulp (two roundings at most, one where the result cancels) + the float-pair error of log(sum)
// (2^-48 relative) -> <= 1 ULP measured, including
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
// exact 1s to the f64 sum (log-softmax needs sum - 1 to full relative precision). kMasked: the row has -inf
// entries or x - max may overflow, so exp must give exactly 0 for -inf arguments (ExpOfPairMasked).
template <bool kStore, bool kCountMax, bool kMasked, class D>
HWY_INLINE ExpSum ExpPass(D d, const float* x, float* y, size_t n, float max) {
  using V = hn::Vec<D>;
  const F64AccTag<D> dd;
  auto acc_lo = hn::Zero(dd), acc_hi = hn::Zero(dd);
  const V neg_max = hn::Set(d, -max);
  ExpSum sum;
  // Tail lanes are padded with the max itself (a cheap, benign argument of 0) and dropped through the mask.
  const auto exp_of = [&](V v, auto... tail_mask) HWY_ATTR {
    V lo;
    const V hi = TwoSum(v, neg_max, lo);
    V e = kMasked ? ExpOfPairMasked(d, hi, lo) : ExpOfPair(d, hi, lo);
    V e_sum = e;
    (void)((e_sum = hn::IfThenElseZero(tail_mask, e_sum)), ...);
    if (kCountMax) {
      auto at_max = hn::Eq(hi, hn::Zero(d));
      (void)((at_max = hn::And(at_max, tail_mask)), ...);
      sum.at_max += hn::CountTrue(d, at_max);
      e_sum = hn::IfThenZeroElse(at_max, e_sum);
    }
    AccumulateF64(d, e_sum, acc_lo, acc_hi);
    return e;
  };
  if (kStore) {
    MapRow(d, x, y, n, max, exp_of);
  } else {
    VisitRow(d, x, n, max, exp_of);
  }
  sum.rest = hn::GetLane(hn::SumOfLanes(dd, hn::Add(acc_lo, acc_hi)));
  return sum;
}

// Whether the fast (unmasked) exp applies: every entry finite, and max - min <= 2^16 so that the TwoSum error
// term stays below 2^-8 and a clamped argument cannot be pushed back into range (or to inf) by it. Wider rows
// (masked entries, or values spread over more than 65536) take the masked exp, one select more per vector.
HWY_INLINE bool NeedsMasking(const MaxResult& max) {
  return !max.all_finite || static_cast<double>(max.max) - static_cast<double>(max.min) > 65536.0;
}

template <bool kMasked, class D>
HWY_INLINE void SoftmaxFinishRow(D d, const float* x, float* y, size_t n, float max) {
  using V = hn::Vec<D>;
  const ExpSum sum = ExpPass</*kStore=*/true, /*kCountMax=*/false, kMasked>(d, x, y, n, max);
  // 1/sum as hi + lo floats: e * hi + e * lo is rounded once (one FMA) instead of twice (rounded reciprocal, then
  // product), which saves up to 0.5 ulp of the budget.
  const double inv = 1.0 / sum.Total();
  const float inv_hi = static_cast<float>(inv);
  const V v_inv_hi = hn::Set(d, inv_hi);
  const V v_inv_lo = hn::Set(d, static_cast<float>(inv - inv_hi));
  MapRow(d, y, y, n, 0.0f, [&](V e, auto...) HWY_ATTR { return hn::MulAdd(e, v_inv_hi, hn::Mul(e, v_inv_lo)); });
}

template <class D>
HWY_INLINE void SoftmaxRow(D d, const float* x, float* y, size_t n) {
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kSoftmax>(d, x, y, n)) return;
  if (NeedsMasking(max)) {
    SoftmaxFinishRow</*kMasked=*/true>(d, x, y, n, max.max);
  } else {
    SoftmaxFinishRow</*kMasked=*/false>(d, x, y, n, max.max);
  }
}

template <bool kMasked, class D>
HWY_INLINE void LogSoftmaxFinishRow(D d, const float* x, float* y, size_t n, float max) {
  using V = hn::Vec<D>;
  const ExpSum sum = ExpPass</*kStore=*/false, /*kCountMax=*/true, kMasked>(d, x, y, n, max);
  // log(sum) = log1p(sum - 1) with sum - 1 = (at_max - 1) + rest exactly up to the f64 rounding of rest.
  const double log_sum = ::log1p(static_cast<double>(sum.at_max - 1) + sum.rest);
  const float log_hi = static_cast<float>(log_sum);
  const V neg_max = hn::Set(d, -max);
  const V v_log_hi = hn::Set(d, log_hi);
  const V v_log_lo = hn::Set(d, static_cast<float>(log_sum - log_hi));
  const V neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  MapRow(d, x, y, n, 0.0f, [&](V v, auto...) HWY_ATTR {
    V lo;
    const V shifted = TwoSum(v, neg_max, lo);  // x - max, exactly
    // (shifted - log_hi) is exact when it cancels (Sterbenz), which is where log-softmax is tiny and a rounding
    // would cost the most; elsewhere it rounds once more, adding at most 0.5 ulp: <= 1 ulp in all.
    const V y_v = hn::Add(hn::Sub(shifted, v_log_hi), hn::Sub(lo, v_log_lo));
    // -inf entries (masked, or x - max overflowing to -inf) have NaN error terms: give them -inf.
    return kMasked ? hn::IfThenElse(hn::Eq(shifted, neg_inf), neg_inf, y_v) : y_v;
  });
}

template <class D>
HWY_INLINE void LogSoftmaxRow(D d, const float* x, float* y, size_t n) {
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kLogSoftmax>(d, x, y, n)) return;
  // Unlike softmax, log-softmax can see the tiny values the unmasked exp returns below its clamp: near the max
  // the result is -log1p(rest) with rest possibly ~1e-40, so n * 1e-38 of clamp residue would show. Use the
  // masked exp unless this target's exp already flushes to exactly 0.
  if (NeedsMasking(max) || !kExpFlushesToZero) {
    LogSoftmaxFinishRow</*kMasked=*/true>(d, x, y, n, max.max);
  } else {
    LogSoftmaxFinishRow</*kMasked=*/false>(d, x, y, n, max.max);
  }
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
