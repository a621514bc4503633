// Rows in lanes: the shortest rows transposed, so that lane r of every vector belongs to row r.
//
// Why: a row of a few vectors spends most of its time on per-row work that does not scale with its length: the
// horizontal reductions of its max and its sums, the broadcasts of its max, shift and scale, the scalar steps
// between the passes. At 32 columns (AVX3_DL, Zen 5) the row-major short-row path (kernels/short_rows-inl.h) took
// ~21 ns per row, of which ~16 ns did not depend on the length (32 against 64 columns). With a block of rows
// transposed, a "row's max" is a vertical Max over the block's column vectors, every sum is a vertical sum, and the
// per-row steps (the scaled shift, the f64 log or reciprocal of the sums, the float pairs) are lane-wise vector
// operations on all rows of the block at once: nothing is horizontal. The price is the transpose itself (~4-5
// shuffles per vector each way on AVX-512, ~3 on AVX2): in, and for softmax out again (its e lives transposed);
// log-softmax's output needs only x and each row's max and log(sum), so it is written row by row.
//
// Numerics: every lane runs the short-row path's scaled kinds (ShortSoftmaxScaled / ShortLogSoftmaxScaled) with
// the same per-term arithmetic: the same ExpScaled terms, the same accuracy devices, and the same error budget
// (the softmax sum is the seeded compensated sum, log-softmax's the f64 sum with each term's correction). Only the
// order in which a row's terms enter its sums differs (column by column instead of lanes then a reduction), which
// the error bounds do not depend on: results may differ from the row-major path in the last bits, within the same
// tolerance. Rows of other kinds (NaN, +inf, only -inf, or |max| beyond the scaled exp's range) take the row-major
// path one at a time. Every lane's arithmetic depends on its own row only (the masked variant and the TwoSum order
// of the output are exact transforms), so a row's result does not depend on its block, the batch or the threads;
// which path a row takes depends on its length and its own values only.
//
// Where: targets with fixed-width vectors of 8 or 16 floats (AVX2, AVX3, AVX3_DL). Not on SVE/RVV (no compile-time
// lane count to transpose by), nor with 4 lanes or one (SSE4, NEON, SCALAR: short reductions, nothing to gain).

#if defined(SIMDMAX_KERNELS_ROWS_IN_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ROWS_IN_LANES_INL_H_
#undef SIMDMAX_KERNELS_ROWS_IN_LANES_INL_H_
#else
#define SIMDMAX_KERNELS_ROWS_IN_LANES_INL_H_
#endif

#include <stddef.h>

#include <limits>

#include "hwy/highway.h"
#include "kernels/exp-inl.h"
#include "kernels/load_store_n-inl.h"
#include "kernels/lockstep-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_batch.h"
#include "kernels/row_plan.h"
#include "kernels/short_rows-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR
// 8 or 16 lanes: with 4 (SSE4, NEON) a row's reductions are short and the transposes did not pay (SSE4, Zen 5,
// paired A/B: 16x16 +3.5%, 16x8 -4%).
inline constexpr bool kHaveRowsInLanes = hn::MaxLanes(hn::ScalableTag<float>()) >= 8;
#else
inline constexpr bool kHaveRowsInLanes = false;
#endif

#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR

// Transposes the square matrix whose rows are v[0..N) (N = lanes, 4 per 128-bit block): lane c of v[r] becomes lane
// r of v[c]. First the 4x4 transposes inside each block (two rounds of interleaves, of 32- then 64-bit lanes), then
// the blocks themselves (two blocks: swaps and block selects; four: half-vector concatenations, then swaps and
// selects).
template <class D>
HWY_INLINE void TransposeSquare(D d, hn::Vec<D>* v) {
  using V = hn::Vec<D>;
  constexpr size_t kN = hn::MaxLanes(D());
  constexpr size_t kBlocks = kN / 4;
  static_assert(kN % 4 == 0 && (kBlocks == 2 || kBlocks == 4), "8 or 16 lanes");
  const hn::Repartition<uint64_t, D> d64;
  V w[kN];  // w[4g + c]: block k holds column 4k + c of rows 4g..4g+3
  for (size_t g = 0; g < kN; g += 4) {
    const auto t0 = hn::BitCast(d64, hn::InterleaveLower(d, v[g], v[g + 1]));
    const auto t1 = hn::BitCast(d64, hn::InterleaveUpper(d, v[g], v[g + 1]));
    const auto t2 = hn::BitCast(d64, hn::InterleaveLower(d, v[g + 2], v[g + 3]));
    const auto t3 = hn::BitCast(d64, hn::InterleaveUpper(d, v[g + 2], v[g + 3]));
    w[g + 0] = hn::BitCast(d, hn::InterleaveLower(d64, t0, t2));
    w[g + 1] = hn::BitCast(d, hn::InterleaveUpper(d64, t0, t2));
    w[g + 2] = hn::BitCast(d, hn::InterleaveLower(d64, t1, t3));
    w[g + 3] = hn::BitCast(d, hn::InterleaveUpper(d64, t1, t3));
  }
  for (size_t c = 0; c < 4; ++c) {
    if constexpr (kBlocks == 2) {
      v[c] = hn::OddEvenBlocks(hn::SwapAdjacentBlocks(w[4 + c]), w[c]);
      v[4 + c] = hn::OddEvenBlocks(w[4 + c], hn::SwapAdjacentBlocks(w[c]));
    } else {
      const V x0 = hn::ConcatLowerLower(d, w[8 + c], w[c]);       // blocks 0, 1 of groups 0 and 2
      const V x1 = hn::ConcatLowerLower(d, w[12 + c], w[4 + c]);  // ... of groups 1 and 3
      const V x2 = hn::ConcatUpperUpper(d, w[8 + c], w[c]);       // blocks 2, 3 of groups 0 and 2
      const V x3 = hn::ConcatUpperUpper(d, w[12 + c], w[4 + c]);
      v[c] = hn::OddEvenBlocks(hn::SwapAdjacentBlocks(x1), x0);
      v[4 + c] = hn::OddEvenBlocks(x1, hn::SwapAdjacentBlocks(x0));
      v[8 + c] = hn::OddEvenBlocks(hn::SwapAdjacentBlocks(x3), x2);
      v[12 + c] = hn::OddEvenBlocks(x3, hn::SwapAdjacentBlocks(x2));
    }
  }
}

// A block of N rows (N = lanes) of n columns, transposed into t: column c is the vector t + c * N.
struct LaneRows {
  const float* x[hn::MaxLanes(hn::ScalableTag<float>())];
  float* y[hn::MaxLanes(hn::ScalableTag<float>())];
};

// Lane-wise bounds of a transposed block (pass 1, fused with the transpose): each row's max; whether the row takes
// the scaled kind (no NaN, no +inf, |max| within the scaled exp's range, which excludes an all -inf row); whether any
// row has -inf entries (the output's masked variant).
template <class D>
struct LaneBounds {
  hn::Vec<D> max;
  hn::Mask<D> scaled;
  bool any_neg_inf;
};

// Loads and transposes the block (rows past `rows` repeat the last one: computed, never stored), storing the columns
// to t and reducing the bounds on the way.
template <RowOp kOp, class D>
HWY_INLINE LaneBounds<D> LoadRowsInLanes(D d, const LaneRows& p, size_t n, float* HWY_RESTRICT t) {
  using V = hn::Vec<D>;
  constexpr size_t kN = hn::MaxLanes(D());
  const V inf = hn::Set(d, std::numeric_limits<float>::infinity());
  const V neg_inf = hn::Neg(inf);
  V max0 = neg_inf, max1 = neg_inf;  // two chains: columns even and odd
  auto ok = hn::Eq(max0, max0);      // no NaN or +inf so far
  auto any_neg_inf = hn::Lt(max0, max0);
  const auto add = [&](V col, size_t c) HWY_ATTR {
    V& max = (c & 1) ? max1 : max0;
    max = hn::Max(max, col);
    ok = hn::And(ok, hn::Lt(col, inf));
    any_neg_inf = hn::Or(any_neg_inf, hn::Eq(col, neg_inf));
  };
  for (size_t j = 0; j < n; j += kN) {
    V v[kN];
    const size_t cols = n - j < kN ? n - j : kN;
    if (cols == kN) {
      for (size_t r = 0; r < kN; ++r) v[r] = hn::LoadU(d, p.x[r] + j);
    } else {  // padded with 0; the padding columns are never reduced nor used
      for (size_t r = 0; r < kN; ++r) v[r] = LoadNOr(d, p.x[r] + j, cols, 0.0f);
    }
    TransposeSquare(d, v);
    for (size_t c = 0; c < kN; ++c) hn::Store(v[c], d, t + (j + c) * kN);
    if (cols == kN) {
      for (size_t c = 0; c < kN; ++c) add(v[c], c);
    } else {
      for (size_t c = 0; c < cols; ++c) add(v[c], c);
    }
  }
  LaneBounds<D> b;
  b.max = hn::Max(max0, max1);
  constexpr float kMaxAbs = kOp == RowOp::kSoftmax ? kScaledExpMaxAbs : kScaledLogExpMaxAbs;
  b.scaled = hn::And(ok, hn::Le(hn::Abs(b.max), hn::Set(d, kMaxAbs)));
  b.any_neg_inf = !hn::AllFalse(d, any_neg_inf);
  return b;
}

// Transposes the block's results in t back and stores rows [0, rows) that took the scaled kind (store[r]).
template <class D>
HWY_INLINE void StoreRowsInLanes(D d, const LaneRows& p, size_t rows, size_t n, const bool* store, bool all,
                                 const float* HWY_RESTRICT t) {
  using V = hn::Vec<D>;
  constexpr size_t kN = hn::MaxLanes(D());
  for (size_t j = 0; j < n; j += kN) {
    V v[kN];
    for (size_t c = 0; c < kN; ++c) v[c] = hn::Load(d, t + (j + c) * kN);
    TransposeSquare(d, v);
    const size_t cols = n - j < kN ? n - j : kN;
    if (all && rows == kN && cols == kN) {
      for (size_t r = 0; r < kN; ++r) hn::StoreU(v[r], d, p.y[r] + j);
    } else {
      for (size_t r = 0; r < rows; ++r) {
        if (store[r]) StoreN(v[r], d, p.y[r] + j, cols);
      }
    }
  }
}

// t[col] = fn(t[col]) (kWrite; else fn(t[col]) for its sums alone) for the columns of a transposed block,
// kRowLockstep columns at a time in lockstep (kernels/lockstep-inl.h: the exps' chains interleaved, so that the FP
// scheduler holds several rather than two or three). Against one column at a time: -2..-5% on 16384x32 (AVX3 probe
// builds, each against the row-major path in its own run; not paired with each other). fn takes a vector or a group
// and adds to its sums slot after slot: the same sums, in column order, as one column at a time.
template <bool kWrite, class D, class Fn>
HWY_INLINE void ForColumnsInLockstep(D d, size_t n, float* HWY_RESTRICT t, const Fn& fn) {
  constexpr size_t kN = hn::MaxLanes(D());
  constexpr size_t K = kRowLockstep <= kMaxLockstep ? kRowLockstep : kMaxLockstep;
  size_t col = 0;
  if constexpr (K > 1) {
    for (; col + K <= n; col += K) {
      Lockstep<hn::Vec<D>, K> v;
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { Slot<k>(v) = hn::Load(d, t + (col + k) * kN); });
      const auto out = fn(v);
      if constexpr (kWrite) {
        ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { hn::Store(Slot<k>(out), d, t + (col + k) * kN); });
      }
    }
  }
  for (; col < n; ++col) {
    const auto out = fn(hn::Load(d, t + col * kN));
    if constexpr (kWrite) hn::Store(out, d, t + col * kN);
  }
}

// (hi, lo) float pairs of the f64 values in[0..N) (FloatPair lane-wise: hi rounded to nearest, lo the rounded rest).
template <class D>
HWY_INLINE void FloatPairs(D d, const double* in, hn::Vec<D>& hi, hn::Vec<D>& lo) {
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  constexpr size_t kHalf = hn::MaxLanes(dh);
  const auto a = hn::LoadU(dd, in), b = hn::LoadU(dd, in + kHalf);
  const auto a_hi = hn::DemoteTo(dh, a), b_hi = hn::DemoteTo(dh, b);
  hi = hn::Combine(d, b_hi, a_hi);
  lo = hn::Combine(d, hn::DemoteTo(dh, hn::Sub(b, hn::PromoteTo(dd, b_hi))),
                   hn::DemoteTo(dh, hn::Sub(a, hn::PromoteTo(dd, a_hi))));
}

// Softmax of the block in t, in place (ShortSoftmaxScaledSums and ShortSoftmaxScaledOutput, lane-wise): e = exp(x)
// 2^s summed with the seeded compensated sum and kept in t, then y = e / sum as e times the float pair of 1 / sum,
// the max's own term with its rounding error added back.
template <class D>
HWY_INLINE void SoftmaxInLanes(D d, hn::Vec<D> max, size_t n, float* HWY_RESTRICT t) {
  using V = hn::Vec<D>;
  constexpr size_t kN = hn::MaxLanes(D());
  constexpr float kSeed = 4.0f;
  V shift, top_lo;
  const V top = ScaledTopTerms(d, max, shift, top_lo);
  const V clamp = hn::Sub(max, hn::Set(d, kScaledExpClamp));
  V s = hn::Set(d, kSeed), c = hn::Zero(d);
  ForColumnsInLockstep<true>(d, n, t, [&](auto v) SIMDMAX_INLINE_LAMBDA {
    decltype(v) small, scale;
    const decltype(v) e = ExpScaledTerm(d, v, clamp, shift, small, scale);
    AddScaledTermToSeededSum(s, c, e, small, scale);
    return e;
  });
  // Per lane (SumTotalFrom's arithmetic on one lane): (hi - seed) + lo in f64, then 1 / sum.
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  constexpr size_t kHalf = hn::MaxLanes(dh);
  const auto seed = hn::Set(dd, static_cast<double>(kSeed)), one = hn::Set(dd, 1.0);
  HWY_ALIGN double inv[kN];
  hn::Store(hn::Div(one, hn::Add(hn::Sub(hn::PromoteTo(dd, hn::LowerHalf(dh, s)), seed),
                                 hn::PromoteTo(dd, hn::LowerHalf(dh, c)))),
            dd, inv);
  hn::Store(hn::Div(one, hn::Add(hn::Sub(hn::PromoteTo(dd, hn::UpperHalf(dh, s)), seed),
                                 hn::PromoteTo(dd, hn::UpperHalf(dh, c)))),
            dd, inv + kHalf);
  V hi, lo;
  FloatPairs(d, inv, hi, lo);
  const V top_add = hn::Mul(top_lo, hi);
  for (size_t col = 0; col < n; ++col) {
    const V e = hn::Load(d, t + col * kN);
    hn::Store(MulByPairPlus(e, hi, lo, hn::IfThenElseZero(hn::Eq(e, top), top_add)), d, t + col * kN);
  }
}

// Log-softmax's sums of the block in t, lane-wise (ShortLogScaledSums and LogOfScaledSums): the entries at the max
// counted, the other terms summed in f64 with their corrections, then log(sum) of all rows in one f64 pass, as the
// float pair (log_hi, log_lo). The output y = (x - max) - log(sum) is not computed here: it needs no transposed
// data, so RowsInLanes writes it row by row from x (LogSoftmaxOutput) instead of transposing it back.
template <class D>
HWY_INLINE void LogSumsInLanes(D d, hn::Vec<D> max, size_t n, float* HWY_RESTRICT t, hn::Vec<D>& log_hi,
                               hn::Vec<D>& log_lo) {
  using V = hn::Vec<D>;
  constexpr size_t kN = hn::MaxLanes(D());
  static_assert(kN <= ScaledLogSums::kCapacity, "one ScaledLogSums holds the block");
  const V clamp = hn::Sub(max, hn::Set(d, kScaledLogExpClamp));
  // ScaledLogExpShift lane-wise (Round: to nearest even, as nearbyintf).
  const V shift = hn::Sub(hn::Set(d, static_cast<float>(kScaledLogExpScaleLog2)),
                          hn::Round(hn::Mul(max, hn::Set(d, ExpCoefficients::kLog2E))));
  F64SumVec<D> lower = F64SumZero(d), upper = F64SumZero(d);
  V lo = hn::Zero(d), at_max = hn::Zero(d);
  ForColumnsInLockstep<false>(d, n, t, [&](auto v) SIMDMAX_INLINE_LAMBDA {
    AddScaledLogTerms(d, v, max, clamp, shift, lower, upper, lo, at_max);
    return v;
  });
  const hn::Repartition<double, D> dd;
  const hn::Half<D> dh;
  constexpr size_t kHalf = hn::MaxLanes(dh);
  ScaledLogSums s;
  s.Clear();
  hn::StoreU(max, d, s.max);
  hn::StoreU(shift, d, s.shift);
  // rest = the f64 sum + the f32 sum of the corrections, as ScaledLogTermsTotal, lane by lane.
  hn::StoreU(hn::Add(lower, hn::PromoteTo(dd, hn::LowerHalf(dh, lo))), dd, s.rest);
  hn::StoreU(hn::Add(upper, hn::PromoteTo(dd, hn::UpperHalf(dh, lo))), dd, s.rest + kHalf);
  hn::StoreU(hn::PromoteTo(dd, hn::LowerHalf(dh, at_max)), dd, s.at_max);
  hn::StoreU(hn::PromoteTo(dd, hn::UpperHalf(dh, at_max)), dd, s.at_max + kHalf);
  LogOfScaledSums(s, kN);
  FloatPairs(d, s.log_sum, log_hi, log_lo);
}

// Rows [row_begin, row_end) of a batch of rows of n <= kRowsInLanesMaxColumns columns, N rows at a time.
template <RowOp kOp, class D>
HWY_INLINE void RowsInLanes(D d, const RowBatch& batch, size_t row_begin, size_t row_end) {
  constexpr size_t kN = hn::MaxLanes(D());
  const size_t n = batch.cols;
  HWY_ALIGN float t[kRowsInLanesMaxColumns * kN];
  static_assert(kRowsInLanesMaxColumns % kN == 0, "whole vectors of columns");
  const float* x = static_cast<const float*>(batch.x);  // f32 -> f32 only (kernels/short_rows_typed-inl.h)
  float* y = static_cast<float*>(batch.y);
  for (size_t r0 = row_begin; r0 < row_end; r0 += kN) {
    const size_t rows = row_end - r0 < kN ? row_end - r0 : kN;
    LaneRows p;
    for (size_t r = 0; r < kN; ++r) {
      const size_t row = r0 + (r < rows ? r : rows - 1);
      p.x[r] = x + row * batch.x_stride;
      p.y[r] = y + row * batch.y_stride;
    }
    const LaneBounds<D> b = LoadRowsInLanes<kOp>(d, p, n, t);
    const bool all_scaled = hn::AllTrue(d, b.scaled);
    // Lanes of other kinds keep a benign max (their results are computed, never stored).
    const hn::Vec<D> max = all_scaled ? b.max : hn::IfThenElseZero(b.scaled, b.max);
    bool store[kN];
    for (size_t r = 0; r < kN; ++r) store[r] = true;
    if (!all_scaled) {
      HWY_ALIGN float flags[kN];
      hn::Store(hn::VecFromMask(d, b.scaled), d, flags);
      for (size_t r = 0; r < kN; ++r) store[r] = flags[r] != 0.0f;
    }
    if constexpr (kOp == RowOp::kSoftmax) {
      SoftmaxInLanes(d, max, n, t);
      StoreRowsInLanes(d, p, rows, n, store, all_scaled, t);
    } else {
      hn::Vec<D> log_hi, log_lo;
      LogSumsInLanes(d, max, n, t, log_hi, log_lo);
      // Row by row from x (in L1): a row's max and log(sum) are broadcast from memory, which costs no shuffle, where
      // transposing the output back cost ~4-5 shuffles per vector (Intel's 512-bit shuffles have one port).
      HWY_ALIGN float maxes[kN], his[kN], los[kN];
      hn::Store(max, d, maxes);
      hn::Store(log_hi, d, his);
      hn::Store(log_lo, d, los);
      // x <= max in every row: kNonPositive is valid for all of them (the other orders only save operations).
      WithShiftVariant(b.any_neg_inf, SumOrder::kNonPositive, [&](auto kmasked, auto korder) HWY_ATTR {
        for (size_t r = 0; r < rows; ++r) {
          if (!store[r]) continue;
          ChunkFinish finish{};
          finish.max = maxes[r];
          finish.log_hi = his[r];
          finish.log_lo = los[r];
          LogSoftmaxOutput<decltype(kmasked)::value, decltype(korder)::value>(d, p.x[r], p.y[r], n, finish);
        }
      });
    }
    if (!all_scaled) {  // the rows of other kinds, one at a time, as the row-major short-row path does them
      for (size_t r = 0; r < rows; ++r) {
        if (store[r]) continue;
        const ShortRowPtrs one{{p.x[r]}, {p.y[r]}};
        ShortRowGroup<1, kOp>(d, one, n);
      }
    }
  }
}

#endif  // !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR

// The short rows of a batch: the shortest ones in lanes where the target allows, the others row-major.
template <RowOp kOp, class D>
HWY_INLINE void ShortRowsOfBatch(D d, const RowBatch& batch, size_t row_begin, size_t row_end) {
#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR
  if constexpr (kHaveRowsInLanes) {
    if (batch.cols <= kRowsInLanesMaxColumns) {
      RowsInLanes<kOp>(d, batch, row_begin, row_end);
      return;
    }
  }
#endif
  ShortRows<kOp>(d, batch, row_begin, row_end);
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
