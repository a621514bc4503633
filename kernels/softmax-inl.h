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
//
// kCountMax also scales the summed terms by 2^64 (ExpOfPair<64>) and unscales the f64 sum: log-softmax's output at
// the max is -log1p(rest), and rest may be made of terms below the float flush threshold exp(-87.5) (a row
// [0, -87.3, -88.7] has rest ~1.5e-38, a quarter of it from exp(-88.7)). Softmax stores its terms, which must not be
// scaled, and cannot see terms < FLT_MIN beside a sum >= 1.
template <bool kStore, bool kCountMax, class D>
HWY_INLINE ExpSum ExpPass(D d, const float* x, float* y, size_t n, float max) {
  static_assert(!(kStore && kCountMax), "stored terms must not be scaled");
  constexpr int kScaleLog2 = kCountMax ? 64 : 0;
  using V = hn::Vec<D>;
  const F64AccTag<D> dd;
  auto acc_lo = hn::Zero(dd), acc_hi = hn::Zero(dd);
  const V neg_max = hn::Set(d, -max);
  ExpSum sum;
  const auto exp_of = [&](V v) HWY_ATTR {
    V lo;
    const V hi = TwoSum(v, neg_max, lo);
    V e = ExpOfPair<kScaleLog2>(d, hi, lo);
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
  sum.rest = ::ldexp(hn::GetLane(hn::SumOfLanes(dd, hn::Add(acc_lo, acc_hi))), -kScaleLog2);  // exact
  return sum;
}

template <class D>
HWY_INLINE void SoftmaxRow(D d, const float* x, float* y, size_t n) {
  using V = hn::Vec<D>;
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kSoftmax>(d, x, y, n)) return;
  const ExpSum sum = ExpPass</*kStore=*/true, /*kCountMax=*/false>(d, x, y, n, max.max);
  // 1/sum as hi + lo floats: e * hi + e * lo is rounded once (one FMA) instead of twice (rounded reciprocal, then
  // product), which saves up to 0.5 ulp of the budget.
  const double inv = 1.0 / sum.Total();
  const float inv_hi = static_cast<float>(inv);
  const V v_inv_hi = hn::Set(d, inv_hi);
  const V v_inv_lo = hn::Set(d, static_cast<float>(inv - inv_hi));
  MapRow(d, y, y, n, 0.0f,
         [&](V e) HWY_ATTR { return hn::MulAdd(e, v_inv_hi, hn::Mul(e, v_inv_lo)); });
}

template <class D>
HWY_INLINE void LogSoftmaxRow(D d, const float* x, float* y, size_t n) {
  using V = hn::Vec<D>;
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite && WriteNonFiniteRow<RowOp::kLogSoftmax>(d, x, y, n)) return;
  const ExpSum sum = ExpPass</*kStore=*/false, /*kCountMax=*/true>(d, x, y, n, max.max);
  // log(sum) = log1p(sum - 1) with sum - 1 = (at_max - 1) + rest exactly up to the f64 rounding of rest.
  const double log_sum = ::log1p(static_cast<double>(sum.at_max - 1) + sum.rest);
  const float log_hi = static_cast<float>(log_sum);
  const V neg_max = hn::Set(d, -max.max);
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
