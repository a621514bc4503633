// Short rows (up to kShortRowMax elements, kernels/row_plan.h): several rows at once, no chunk bookkeeping.
//
// Why: a short row is a few vectors of streaming work behind a fixed cost of dependent steps (max reduction ->
// variant choice -> exp-and-sum -> sum reduction -> 1/sum or log(sum) -> scale). Done one row at a time, each step
// waits for the previous one's horizontal reduction and the FP units idle (4096x64 spent ~75% of its time in that
// fixed cost). Here up to four rows go through each pass together, with one set of accumulators per row, so one
// row's reduction latency overlaps the other rows' work. The rows stay in L1 between the passes (x is read twice,
// y written twice, all from L1).
//
// The arithmetic per row is exactly that of the chunked path for a one-chunk row (the same TwoSum, ExpOfPair,
// compensated sum, float-pair scale, in the same order), and a group only shares a compile-time variant when every
// row in it chose the same masked-exp decision (the Fast2Sum order does not change results: both transforms are
// exact). So a row's result does not depend on which rows it was grouped with, nor on the thread count.

#if defined(SIMDMAX_KERNELS_SHORT_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SHORT_ROWS_INL_H_
#undef SIMDMAX_KERNELS_SHORT_ROWS_INL_H_
#else
#define SIMDMAX_KERNELS_SHORT_ROWS_INL_H_
#endif

#include <math.h>
#include <stddef.h>

#include <limits>
#include <type_traits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/exp-inl.h"
#include "kernels/load_store_n-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_chunks.h"
#include "kernels/row_map-inl.h"
#include "kernels/softmax-inl.h"
#include "kernels/special_rows-inl.h"
#include "kernels/sum_order.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Up to four rows: x[r], y[r] for r < kRows. Passed as plain pointers so that the row loop below stays generic.
struct ShortRowPtrs {
  const float* x[4];
  float* y[4];
};

// Calls f(r) for r = 0 .. kRows-1 with r a compile-time constant: the per-row statements of a pass are written
// once and the compiler emits kRows independent copies, interleaved.
template <size_t kRows, class F>
HWY_INLINE void ForRows(const F& f) {
  f(std::integral_constant<size_t, 0>());
  if constexpr (kRows > 1) f(std::integral_constant<size_t, 1>());
  if constexpr (kRows > 2) f(std::integral_constant<size_t, 2>());
  if constexpr (kRows > 3) f(std::integral_constant<size_t, 3>());
}

// Selects one of four variables by a compile-time row index (SVE vectors are sizeless: no arrays of them).
template <size_t kRow, class T>
HWY_INLINE T& Pick(T& v0, T& v1, T& v2, T& v3) {
  if constexpr (kRow == 0) return v0;
  if constexpr (kRow == 1) return v1;
  if constexpr (kRow == 2) return v2;
  if constexpr (kRow == 3) return v3;
}

// Per-row bounds of the first pass, reduced (min only where the op needs it; else min = max).
struct ShortRowBounds {
  float max[4], min[4];
  bool finite[4];
};

// Pass 1: max, min and finiteness (sum of x * 0 is NaN iff some x is not finite) of each row. One accumulator
// triple per row: the rows are the independent chains.
template <size_t kRows, bool kMin, class D>
HWY_INLINE ShortRowBounds ShortRowMax(D d, const ShortRowPtrs& p, size_t n) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V zero = hn::Zero(d);
  V hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero;
  V lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero;
  V f0 = zero, f1 = zero, f2 = zero, f3 = zero;
  ForRows<kRows>([&](auto r) HWY_ATTR {
    Pick<r>(hi0, hi1, hi2, hi3) = hn::Set(d, p.x[r][0]);
    Pick<r>(lo0, lo1, lo2, lo3) = hn::Set(d, p.x[r][0]);
  });
  const auto step = [&](auto r, V v) HWY_ATTR {
    V& hi = Pick<r>(hi0, hi1, hi2, hi3);
    V& lo = Pick<r>(lo0, lo1, lo2, lo3);
    V& f = Pick<r>(f0, f1, f2, f3);
    hi = hn::Max(hi, v);
    if constexpr (kMin) lo = hn::Min(lo, v);
    f = hn::MulAdd(v, zero, f);
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    ForRows<kRows>([&](auto r) HWY_ATTR { step(r, hn::LoadU(d, p.x[r] + i)); });
  }
  if (i < n) {  // padded with the row's first element: changes neither bound
    ForRows<kRows>([&](auto r) HWY_ATTR { step(r, LoadNOr(d, p.x[r] + i, n - i, p.x[r][0])); });
  }
  ShortRowBounds b;
  ForRows<kRows>([&](auto r) HWY_ATTR {
    b.max[r] = hn::GetLane(hn::MaxOfLanes(d, Pick<r>(hi0, hi1, hi2, hi3)));
    b.min[r] = kMin ? hn::GetLane(hn::MinOfLanes(d, Pick<r>(lo0, lo1, lo2, lo3))) : b.max[r];
    b.finite[r] = hn::AllTrue(d, hn::Eq(Pick<r>(f0, f1, f2, f3), zero));
  });
  return b;
}

// Pass 2: e = exp(x - max) per row, summed with the compensated sum (softmax: seeded, e stored to y; log-softmax:
// entries at the max counted exactly and the others scaled by 2^64, as ExpPass does). kMasked/kOrder as ExpPass.
template <size_t kRows, RowOp kOp, bool kMasked, SumOrder kOrder, class D>
HWY_INLINE void ShortRowExpSum(D d, const ShortRowPtrs& p, size_t n, const float* max, ExpSum* sums) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  constexpr int kScaleLog2 = kSoftmax ? 0 : 64;
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V seed = hn::Set(d, SumSeed<kSoftmax>());
  const V zero = hn::Zero(d);
  V s0 = seed, s1 = seed, s2 = seed, s3 = seed;  // compensated sums: hi
  V c0 = zero, c1 = zero, c2 = zero, c3 = zero;  // ... and lo
  V k0 = zero, k1 = zero, k2 = zero, k3 = zero;  // log-softmax: entries equal to the max (exact in f32 here)
  const auto step = [&](auto r, V v, auto... tail_mask) HWY_ATTR {
    V lo;
    const V hi = TwoSumOrdered<kOrder>(v, hn::Set(d, -max[r]), lo);
    const V e = kMasked ? ExpOfPairMasked<kScaleLog2>(d, hi, lo) : ExpOfPair<kScaleLog2>(d, hi, lo);
    V e_sum = ValidLanes(e, tail_mask...);
    if constexpr (!kSoftmax) {
      const auto at_max = ValidMask(hn::Eq(hi, zero), tail_mask...);
      V& k = Pick<r>(k0, k1, k2, k3);
      k = hn::Add(k, hn::IfThenElseZero(at_max, hn::Set(d, 1.0f)));
      e_sum = hn::IfThenZeroElse(at_max, e_sum);
    }
    AddToSum<kSoftmax>(Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3), e_sum);
    return e;
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    ForRows<kRows>([&](auto r) HWY_ATTR {
      const V e = step(r, hn::LoadU(d, p.x[r] + i));
      if constexpr (kSoftmax) hn::StoreU(e, d, p.y[r] + i);
    });
  }
  if (i < n) {  // padded with the max: a benign argument of 0, dropped by the mask
    const auto valid = hn::FirstN(d, n - i);
    ForRows<kRows>([&](auto r) HWY_ATTR {
      const V e = step(r, LoadNOr(d, p.x[r] + i, n - i, max[r]), valid);
      if constexpr (kSoftmax) StoreN(e, d, p.y[r] + i, n - i);
    });
  }
  constexpr double kUnscale = kSoftmax ? 1.0 : 1.0 / 18446744073709551616.0;  // 2^-64, exact
  ForRows<kRows>([&](auto r) HWY_ATTR {
    sums[r].rest = SumTotal<kSoftmax>(d, Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3)) * kUnscale;
    sums[r].at_max = kSoftmax ? 0 : static_cast<size_t>(hn::GetLane(hn::SumOfLanes(d, Pick<r>(k0, k1, k2, k3))));
  });
}

// Softmax of kRows rows by ExpScaled (kernels/exp-inl.h): e = exp(x) 2^s_r, stored to y and summed (seeded with 4,
// which is >= every term), then y = e * (1 / sum) as a float pair (one rounding). Rows: no NaN or +inf, a finite max
// with |max| <= kScaledExpMaxAbs. The argument of exp is x itself, so there is no TwoSum, no masked variant and no
// min reduction: ~10 operations per vector fewer than the x - max form, at the same error budget (exp < 1 ulp, the
// final rounding, the float-pair scale).
template <size_t kRows, class D>
HWY_INLINE void ShortSoftmaxScaled(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  constexpr float kSeed = 4.0f;
  const V seed = hn::Set(d, kSeed);
  const V zero = hn::Zero(d);
  V s0 = seed, s1 = seed, s2 = seed, s3 = seed;
  V c0 = zero, c1 = zero, c2 = zero, c3 = zero;
  V clamp0 = zero, clamp1 = zero, clamp2 = zero, clamp3 = zero;
  V shift0 = zero, shift1 = zero, shift2 = zero, shift3 = zero;
  ForRows<kRows>([&](auto r) HWY_ATTR {
    Pick<r>(clamp0, clamp1, clamp2, clamp3) = hn::Set(d, b.max[r] - 120.0f);
    Pick<r>(shift0, shift1, shift2, shift3) = hn::Set(d, ScaledExpShift(b.max[r]));
  });
  const auto exp_of = [&](auto r, V v) HWY_ATTR {
    return ExpScaled(d, v, Pick<r>(clamp0, clamp1, clamp2, clamp3), Pick<r>(shift0, shift1, shift2, shift3));
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    ForRows<kRows>([&](auto r) HWY_ATTR {
      const V e = exp_of(r, hn::LoadU(d, p.x[r] + i));
      AddToSum</*kSeeded=*/true>(Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3), e);
      hn::StoreU(e, d, p.y[r] + i);
    });
  }
  if (i < n) {  // padded with -inf: exactly 0, nothing to drop
    const float kNegInf = -std::numeric_limits<float>::infinity();
    ForRows<kRows>([&](auto r) HWY_ATTR {
      const V e = exp_of(r, LoadNOr(d, p.x[r] + i, n - i, kNegInf));
      AddToSum</*kSeeded=*/true>(Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3), e);
      StoreN(e, d, p.y[r] + i, n - i);
    });
  }
  ForRows<kRows>([&](auto r) HWY_ATTR {
    const double sum = SumTotalFrom(d, Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3), kSeed);
    float hi, lo;
    FloatPair(1.0 / sum, &hi, &lo);
    const V v_hi = hn::Set(d, hi), v_lo = hn::Set(d, lo);
    MapRow(d, p.y[r], p.y[r], n, 0.0f, [&](V e, auto...) HWY_ATTR { return MulByPair(e, v_hi, v_lo); });
  });
}

// out[i] = log1p(in[i]) for the four values of `in` (each >= 0), in one vector where the target has f64 lanes.
// Highway's Log1p: <= 2 ulp of a double, far inside the float-pair budget (2^-48 relative) of log(sum).
HWY_INLINE void Log1pOfEach(const double* in, double* out) {
#if HWY_TARGET == HWY_SCALAR
  for (size_t i = 0; i < 4; ++i) out[i] = ::log1p(in[i]);
#else
  const hn::CappedTag<double, 4> dd;
  for (size_t i = 0; i < 4; i += hn::Lanes(dd)) hn::StoreU(hn::Log1p(dd, hn::LoadU(dd, in + i)), dd, out + i);
#endif
}

// kRows rows of length n <= kShortRowMax whose values are finite or -inf with a finite max (the caller routes the
// others to the chunked path), all with the same masked decision.
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowsWith(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, bool masked) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  SumOrder order = ShiftOrder(b.max[0], b.min[0]);
  for (size_t r = 1; r < kRows; ++r) {
    if (ShiftOrder(b.max[r], b.min[r]) != order) order = SumOrder::kAny;
  }
  ExpSum sums[4];
  WithShiftVariant(masked, order, [&](auto kmasked, auto korder) HWY_ATTR {
    ShortRowExpSum<kRows, kOp, decltype(kmasked)::value, decltype(korder)::value>(d, p, n, b.max, sums);
  });
  // log(sum) = log1p(sum - 1) of every row at once (one libm call per row cost as much as a 64-element row).
  double log_sums[4] = {0.0, 0.0, 0.0, 0.0};
  if (!kSoftmax) {
    double args[4] = {0.0, 0.0, 0.0, 0.0};
    for (size_t r = 0; r < kRows; ++r) args[r] = static_cast<double>(sums[r].at_max) - 1.0 + sums[r].rest;
    Log1pOfEach(args, log_sums);
  }
  // Finish each row as MergeChunks + ChunkFinishPass do for a one-chunk row.
  for (size_t r = 0; r < kRows; ++r) {
    ChunkFinish finish{};
    finish.kind = ChunkFinish::kNormal;
    finish.max = b.max[r];
    finish.masked = masked;
    finish.order = ShiftOrder(b.max[r], b.min[r]);
    if (kSoftmax) {
      FloatPair(1.0 / sums[r].Total(), &finish.scale_hi, &finish.scale_lo);
    } else {
      FloatPair(log_sums[r], &finish.log_hi, &finish.log_lo);
    }
    ChunkFinishPass<kOp>(d, p.x[r], p.y[r], n, finish);
  }
}

// How one row of a group is computed. Decided from that row alone, so that its result never depends on the rows it
// is grouped with: a group runs together only when all its rows chose the same variant.
enum class ShortRowKind {
  kSpecial,   // NaN, +inf or only -inf: the chunked path (kernels/special_rows-inl.h semantics)
  kScaled,    // softmax by ExpScaled
  kUnmasked,  // exp(x - max) with x - max exact (TwoSum), the fast exp
  kMasked,    // the same with the masked exp (-inf entries, or a range > 2^16)
};

template <RowOp kOp, class D>
HWY_INLINE ShortRowKind ClassifyShortRow(D d, const float* x, size_t n, float max, float min, bool finite) {
  if (!finite) {
    const NonFiniteCounts counts = CountNonFinite(d, x, n);
    if (counts.nan != 0 || counts.pos_inf != 0 || counts.neg_inf == n) return ShortRowKind::kSpecial;
  }
  if (kOp == RowOp::kSoftmax && fabsf(max) <= kScaledExpMaxAbs) return ShortRowKind::kScaled;
  return (!finite || ShiftNeedsMasking(max, min)) ? ShortRowKind::kMasked : ShortRowKind::kUnmasked;
}

template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowsOfKind(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, ShortRowKind kind) {
  if (kind == ShortRowKind::kScaled) {
    ShortSoftmaxScaled<kRows>(d, p, n, b);
  } else if (kind == ShortRowKind::kSpecial) {
    for (size_t r = 0; r < kRows; ++r) ChunkedRow<kOp>(p.x[r], p.y[r], n);
  } else {
    ShortRowsWith<kRows, kOp>(d, p, n, b, kind == ShortRowKind::kMasked);
  }
}

// Rows [0, kRows) of p, each of length n (1 <= n <= ShortRowMax).
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowGroup(D d, const ShortRowPtrs& p, size_t n) {
  // Softmax needs the min only for rows outside ExpScaled's range (rare: |max| > 1024); log-softmax always.
  constexpr bool kLog = (kOp == RowOp::kLogSoftmax);
  ShortRowBounds b = ShortRowMax<kRows, kLog>(d, p, n);
  ShortRowKind kinds[4];
  bool uniform = true;
  for (size_t r = 0; r < kRows; ++r) {
    if (!kLog && b.finite[r] && !(fabsf(b.max[r]) <= kScaledExpMaxAbs)) {
      b.min[r] = RowMax(d, p.x[r], n).min;
    }
    kinds[r] = ClassifyShortRow<kOp>(d, p.x[r], n, b.max[r], b.min[r], b.finite[r]);
    uniform &= (kinds[r] == kinds[0]);
  }
  if (uniform) {
    ShortRowsOfKind<kRows, kOp>(d, p, n, b, kinds[0]);
    return;
  }
  for (size_t r = 0; r < kRows; ++r) {
    const ShortRowPtrs one{{p.x[r]}, {p.y[r]}};
    const ShortRowBounds one_bounds{{b.max[r]}, {b.min[r]}, {b.finite[r]}};
    ShortRowsOfKind<1, kOp>(d, one, n, one_bounds, kinds[r]);
  }
}

// Rows [row_begin, row_end) of a batch of short rows, four at a time.
template <RowOp kOp, class D>
HWY_INLINE void ShortRows(D d, const RowBatch& batch, size_t row_begin, size_t row_end) {
  const auto ptrs = [&](size_t r, size_t count) {
    ShortRowPtrs p{};
    for (size_t i = 0; i < count; ++i) {
      p.x[i] = static_cast<const float*>(batch.x) + (r + i) * batch.x_stride;  // f32 -> f32 only (TypedRows)
      p.y[i] = static_cast<float*>(batch.y) + (r + i) * batch.y_stride;
    }
    return p;
  };
  size_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) ShortRowGroup<4, kOp>(d, ptrs(r, 4), batch.cols);
  switch (row_end - r) {
    case 3:
      ShortRowGroup<3, kOp>(d, ptrs(r, 3), batch.cols);
      break;
    case 2:
      ShortRowGroup<2, kOp>(d, ptrs(r, 2), batch.cols);
      break;
    case 1:
      ShortRowGroup<1, kOp>(d, ptrs(r, 1), batch.cols);
      break;
    default:
      break;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
