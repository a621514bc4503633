// Short rows (up to kShortRowMax elements, kernels/row_plan.h): several rows at once, no chunk bookkeeping.
//
// Why: a short row is a few vectors of streaming work behind a fixed cost of dependent steps (max reduction ->
// variant choice -> exp-and-sum -> sum reduction -> 1/sum or log(sum) -> scale). Done one row at a time, each step
// waits for the previous one's horizontal reduction and the FP units idle (4096x64 spent ~75% of its time in that
// fixed cost). Here up to four rows go through each pass together, with one set of accumulators per row, so one
// row's reduction latency overlaps the other rows' work. The rows stay in L1 between the passes (x is read twice,
// y written twice, all from L1).
//
// And up to kMaxShortGroupsInFlight groups are in flight (kernels/row_plan.h): all their first passes, then all sum
// passes, then every row's scalar step (log-softmax: the f64 log of the sums, once per 16 rows), then all output
// passes, so every group's dependent tail overlaps other groups' passes.
//
// Each row picks its kind from its own values (ClassifyShortRow) and a group only shares a compile-time variant when
// every row in it chose the same kind (the Fast2Sum order does not change results: both transforms are exact). So a
// row's result does not depend on which rows it was grouped with, nor on the thread count. The path itself depends
// on the row length only (kShortRowMax): short rows of the scaled kinds round differently from the chunked path.

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
#include "kernels/lockstep-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_batch.h"
#include "kernels/row_chunks.h"
#include "kernels/row_map-inl.h"
#include "kernels/row_plan.h"
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

// Selects one of four variables by a compile-time row index (SVE vectors are sizeless: no arrays of them).
template <size_t kRow, class T>
HWY_INLINE T& Pick(T& v0, T& v1, T& v2, T& v3) {
  if constexpr (kRow == 0) return v0;
  if constexpr (kRow == 1) return v1;
  if constexpr (kRow == 2) return v2;
  if constexpr (kRow == 3) return v3;
}

// Per-row bounds of the first pass, reduced. The min is filled in by ClassifyShortRows: exact where a row's kind
// needs it (x - max rows: the masked-exp decision), else -inf, a valid lower bound that only makes ShiftOrder choose
// kNonPositive (max > 0) or the x-larger order (max <= 0), both exact.
// max holds a whole vector (ShortRowMax stores the rows' maxes with one vector store, lane r = row r, the lanes past
// the group's rows a copy of row 0's), so that the per-row steps after the passes can load the maxes of a group as
// one vector (the top terms, ShortSoftmaxScaledSums): a vector load of scalars stored one by one waits for the
// stores to retire (no store-to-load forwarding), which cost more than the vector saved.
inline constexpr size_t kShortBoundsLanes = hn::MaxLanes(hn::ScalableTag<float>()) > kShortRowGroup
                                                ? hn::MaxLanes(hn::ScalableTag<float>())
                                                : kShortRowGroup;
struct ShortRowBounds {
  float max[kShortBoundsLanes];
  float min[4];
  bool finite[4];
};

// The Fast2Sum order every row of a group allows (ShiftOrder), else kNonPositive (x <= max: every shift).
template <size_t kRows>
HWY_INLINE SumOrder GroupShiftOrder(const ShortRowBounds& b) {
  SumOrder order = ShiftOrder(b.max[0], b.min[0]);
  for (size_t r = 1; r < kRows; ++r) {
    if (ShiftOrder(b.max[r], b.min[r]) != order) order = SumOrder::kNonPositive;
  }
  return order;
}

// Pass 1: max and finiteness (sum of x * 0 is NaN iff some x is not finite) of each row. One accumulator pair per
// row: the rows are the independent chains. No min: the scaled-exp rows (nearly all) do not need it.
template <size_t kRows, class D>
HWY_INLINE ShortRowBounds ShortRowMax(D d, const ShortRowPtrs& p, size_t n) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V zero = hn::Zero(d);
  V hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero;
  V f0 = zero, f1 = zero, f2 = zero, f3 = zero;
  ForSlots<kRows>([&](auto r) HWY_ATTR { Pick<r>(hi0, hi1, hi2, hi3) = hn::Set(d, p.x[r][0]); });
  const auto step = [&](auto r, V v) HWY_ATTR {
    V& hi = Pick<r>(hi0, hi1, hi2, hi3);
    V& f = Pick<r>(f0, f1, f2, f3);
    hi = hn::Max(hi, v);
    f = hn::MulAdd(v, zero, f);
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    ForSlots<kRows>([&](auto r) HWY_ATTR { step(r, hn::LoadU(d, p.x[r] + i)); });
  }
  if (i < n) {  // padded with the row's first element: changes neither the max nor finiteness
    ForSlots<kRows>([&](auto r) HWY_ATTR { step(r, LoadNOr(d, p.x[r] + i, n - i, p.x[r][0])); });
  }
  ShortRowBounds b;
#if HWY_TARGET == HWY_SCALAR
  ForSlots<kRows>([&](auto r) HWY_ATTR { b.max[r] = hn::GetLane(Pick<r>(hi0, hi1, hi2, hi3)); });
#else
  {
    // MaxOfLanes broadcasts each row's max; lane r of one vector takes row r's (rows past kRows: row 0's).
    const V m0 = hn::MaxOfLanes(d, hi0);
    const V m1 = kRows > 1 ? hn::MaxOfLanes(d, hi1) : m0;
    const V m2 = kRows > 2 ? hn::MaxOfLanes(d, hi2) : m0;
    const V m3 = kRows > 3 ? hn::MaxOfLanes(d, hi3) : m0;
    const V m23 = kRows > 3 ? hn::IfThenElse(hn::FirstN(d, 3), m2, m3) : m2;
    const V m123 = kRows > 2 ? hn::IfThenElse(hn::FirstN(d, 2), m1, m23) : m1;
    hn::StoreU(kRows > 1 ? hn::IfThenElse(hn::FirstN(d, 1), m0, m123) : m0, d, b.max);
  }
#endif
  ForSlots<kRows>([&](auto r) HWY_ATTR {
    b.min[r] = -std::numeric_limits<float>::infinity();
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
    const V hi = TwoSumOrdered<ExpShiftOrder(kOrder)>(v, hn::Set(d, -max[r]), lo);
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
    ForSlots<kRows>([&](auto r) HWY_ATTR {
      const V e = step(r, hn::LoadU(d, p.x[r] + i));
      if constexpr (kSoftmax) hn::StoreU(e, d, p.y[r] + i);
    });
  }
  if (i < n) {  // padded with the max: a benign argument of 0, dropped by the mask
    const auto valid = hn::FirstN(d, n - i);
    ForSlots<kRows>([&](auto r) HWY_ATTR {
      const V e = step(r, LoadNOr(d, p.x[r] + i, n - i, max[r]), valid);
      if constexpr (kSoftmax) StoreN(e, d, p.y[r] + i, n - i);
    });
  }
  constexpr double kUnscale = kSoftmax ? 1.0 : 1.0 / 18446744073709551616.0;  // 2^-64, exact
  ForSlots<kRows>([&](auto r) HWY_ATTR {
    sums[r].rest = SumTotal<kSoftmax>(d, Pick<r>(s0, s1, s2, s3), Pick<r>(c0, c1, c2, c3)) * kUnscale;
    sums[r].at_max = kSoftmax ? 0 : static_cast<size_t>(hn::GetLane(hn::SumOfLanes(d, Pick<r>(k0, k1, k2, k3))));
  });
}

// What the output pass of scaled softmax rows needs from their sum pass, per row: the sum, and the term of the
// row's max with its rounding error (MulByPairPlus adds it back, kernels/softmax-inl.h).
struct ScaledSoftmaxSums {
  double sum[4];
  float top[4], top_lo[4];
};

// The sum passes of rows of more than this many vectors run their rows in lockstep (kernels/lockstep-inl.h); shorter
// rows keep each vector's chain whole, the rows interleaved vector by vector: their chains are few and short, the
// groups in flight overlap them anyway, and lockstep measured +1.5% (softmax) and +4% (log-softmax) at 32 columns on
// AVX3_DL (Zen 5), against gains from three vectors up on every target measured.
inline constexpr size_t kLockstepFromVectors = 2;

// The sum pass of ShortSoftmaxScaledSums for K rows, in lockstep or (kLockstep false) each vector's chain whole: row
// k is x[k], y[k] with clamp clamp_at[k] and shift shift[k]; sum[k] receives its sum. Both orders give the same bits.
template <size_t K, bool kLockstep, class D>
HWY_INLINE void ScaledSoftmaxSumsOf(D d, const float* const* x, float* const* y, size_t n, const float* clamp_at,
                                    const float* shift, double* sum) {
  using V = hn::Vec<D>;
  using G = Lockstep<V, K>;
  const size_t N = hn::Lanes(d);
  constexpr float kSeed = 4.0f;
  G s, c, clamp, shift_of;
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
    Slot<k>(s) = hn::Set(d, kSeed);
    Slot<k>(c) = hn::Zero(d);
    Slot<k>(clamp) = hn::Set(d, clamp_at[k]);
    Slot<k>(shift_of) = hn::Set(d, shift[k]);
  });
  // e and its rounding error, both summed (the error into the compensated sum's low part).
  const auto exp_sum = [&](const G& v) SIMDMAX_INLINE_LAMBDA {
    G small, scale, e;
    if constexpr (kLockstep) {
      e = ExpScaledTerm(d, v, clamp, shift_of, small, scale);
      AddScaledTermToSeededSum(s, c, e, small, scale);
    } else {  // slot after slot, each vector's chain whole
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
        Slot<k>(e) = ExpScaledTerm(d, Slot<k>(v), Slot<k>(clamp), Slot<k>(shift_of), Slot<k>(small), Slot<k>(scale));
        AddScaledTermToSeededSum(Slot<k>(s), Slot<k>(c), Slot<k>(e), Slot<k>(small), Slot<k>(scale));
      });
    }
    return e;
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    G v;
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { Slot<k>(v) = hn::LoadU(d, x[k] + i); });
    const G e = exp_sum(v);
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { hn::StoreU(Slot<k>(e), d, y[k] + i); });
  }
  if (i < n) {  // padded with -inf: exactly 0, nothing to drop
    const float kNegInf = -std::numeric_limits<float>::infinity();
    G v;
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { Slot<k>(v) = LoadNOr(d, x[k] + i, n - i, kNegInf); });
    const G e = exp_sum(v);
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { StoreN(Slot<k>(e), d, y[k] + i, n - i); });
  }
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { sum[k] = SumTotalFrom(d, Slot<k>(s), Slot<k>(c), kSeed); });
}

// Softmax of kRows rows by ExpScaled (kernels/exp-inl.h), the sum pass: e = exp(x) 2^s_r, stored to y and summed
// (seeded with 4, which is >= every term); sums[r] receives row r's sum. Rows: no NaN or +inf, a finite max with
// |max| <= kScaledExpMaxAbs. The argument of exp is x itself, so there is no TwoSum, no masked variant and no min
// reduction: ~10 operations per vector fewer than the x - max form, at the same error budget (exp < 1 ulp, the
// final rounding, the float-pair scale). The rows run in lockstep where the target allows.
template <size_t kRows, class D>
HWY_INLINE void ShortSoftmaxScaledSums(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b,
                                       ScaledSoftmaxSums* sums) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  // Each row's shift, and its max's own term with that term's rounding error, for the group's rows at once: lane r
  // of a vector is row r (ShortRowBounds::max; one vector covers the group unless the target has fewer lanes).
  HWY_ALIGN float shift[kShortBoundsLanes], top[kShortBoundsLanes], top_lo[kShortBoundsLanes];
  for (size_t i = 0; i < kRows; i += N) {
    V s, e_lo;
    const V e = ScaledTopTerms(d, hn::LoadU(d, b.max + i), s, e_lo);
    hn::StoreU(s, d, shift + i);
    hn::StoreU(e, d, top + i);
    hn::StoreU(e_lo, d, top_lo + i);
  }
  float clamp_at[4];
  ForSlots<kRows>([&](auto r) HWY_ATTR {
    clamp_at[r] = b.max[r] - kScaledExpClamp;
    sums->top[r] = top[r];
    sums->top_lo[r] = top_lo[r];
  });
  if constexpr (kRows > kMaxLockstep) {
    ForSlots<kRows>([&](auto r) HWY_ATTR {
      ScaledSoftmaxSumsOf<1, true>(d, p.x + r, p.y + r, n, clamp_at + r, shift + r, sums->sum + r);
    });
  } else if (n > kLockstepFromVectors * N) {
    ScaledSoftmaxSumsOf<kRows, true>(d, p.x, p.y, n, clamp_at, shift, sums->sum);
  } else {
    ScaledSoftmaxSumsOf<kRows, false>(d, p.x, p.y, n, clamp_at, shift, sums->sum);
  }
}

// The output pass after ShortSoftmaxScaledSums: y = e * (1 / sum) as a float pair (one rounding, MulByPair; the
// terms at the max with their rounding error, MulByPairPlus), the rows interleaved (elementwise: the same bits as one
// row at a time).
template <size_t kRows, class D>
HWY_INLINE void ShortSoftmaxScaledOutput(D d, const ShortRowPtrs& p, size_t n, const ScaledSoftmaxSums& sums) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V zero = hn::Zero(d);
  V h0 = zero, h1 = zero, h2 = zero, h3 = zero;  // 1/sum as a float pair: hi
  V l0 = zero, l1 = zero, l2 = zero, l3 = zero;  // ... and lo
  V t0 = zero, t1 = zero, t2 = zero, t3 = zero;  // the max's term
  V e0 = zero, e1 = zero, e2 = zero, e3 = zero;  // ... and its rounding error times hi
  ForSlots<kRows>([&](auto r) HWY_ATTR {
    float hi, lo;
    FloatPair(1.0 / sums.sum[r], &hi, &lo);
    Pick<r>(h0, h1, h2, h3) = hn::Set(d, hi);
    Pick<r>(l0, l1, l2, l3) = hn::Set(d, lo);
    Pick<r>(t0, t1, t2, t3) = hn::Set(d, sums.top[r]);
    Pick<r>(e0, e1, e2, e3) = hn::Set(d, sums.top_lo[r] * hi);
  });
  const auto out = [&](auto r, V e) HWY_ATTR {
    const V add = hn::IfThenElseZero(hn::Eq(e, Pick<r>(t0, t1, t2, t3)), Pick<r>(e0, e1, e2, e3));
    return MulByPairPlus(e, Pick<r>(h0, h1, h2, h3), Pick<r>(l0, l1, l2, l3), add);
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    ForSlots<kRows>([&](auto r) HWY_ATTR { hn::StoreU(out(r, hn::LoadU(d, p.y[r] + i)), d, p.y[r] + i); });
  }
  if (i < n) {
    ForSlots<kRows>([&](auto r)
                        HWY_ATTR { StoreN(out(r, LoadNOr(d, p.y[r] + i, n - i, 0.0f)), d, p.y[r] + i, n - i); });
  }
}

// One group of scaled softmax rows on its own (groups not in flight with others).
template <size_t kRows, class D>
HWY_INLINE void ShortSoftmaxScaled(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b) {
  ScaledSoftmaxSums sums;
  ShortSoftmaxScaledSums<kRows>(d, p, n, b, &sums);
  ShortSoftmaxScaledOutput<kRows>(d, p, n, sums);
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

// The scaled log-softmax rows of up to kMaxShortGroupsInFlight groups between their sum pass and their output pass.
// Entries nobody wrote keep benign values (max 0, shift 32, no rest, one entry at the max: log(sum) = log1p(0)),
// so that LogOfScaledSums may run whole vectors over them.
struct ScaledLogSums {
  static constexpr size_t kCapacity = kShortRowGroup * kMaxShortGroupsInFlight;
  float max[kCapacity];
  float shift[kCapacity];
  double rest[kCapacity];    // the compensated sum of the scaled terms below the max
  double at_max[kCapacity];  // how many entries equal the max (an exact integer)
  double log_sum[kCapacity];

  void Clear() {
    for (size_t i = 0; i < kCapacity; ++i) {
      max[i] = 0.0f;
      shift[i] = static_cast<float>(kScaledLogExpScaleLog2);
      rest[i] = 0.0;
      at_max[i] = 1.0;
    }
  }
};

// log(sum) of entries [0, count) of s after their sum passes: sum = at_max + rest exp(-max) 2^-s, with s = 32 - m
// and m = round(max log2 e). exp(-max) 2^-s = exp(m ln2 - max) 2^-32 with |m ln2 - max| <= 0.35: m ln2 is carried as
// m ln2_hi + m ln2_lo (ln2_hi has 32 significant bits, so m ln2_hi and its difference with max are exact), and
// Highway's f64 Exp adds <= 1 ulp of a double: the factor is good to ~2^-51, far inside the float-pair budget
// (2^-48) of log(sum). Then log1p(at_max - 1 + rest * factor). All rows of all groups in flight go through one pass
// of full f64 vectors: the Exp and Log1p chains (~100 cycles each) are paid once per 16 rows, not once per group.
HWY_INLINE void LogOfScaledSums(ScaledLogSums& s, size_t count) {
  constexpr double kLn2Hi = kLn2HiF64;  // kernels/row_chunks.h
  constexpr double kLn2Lo = kLn2LoF64;
  constexpr double kUnscale = 1.0 / 4294967296.0;  // 2^-32, exact
  static_assert(kScaledLogExpScaleLog2 == 32, "kUnscale is 2^-kScaledLogExpScaleLog2");
#if HWY_TARGET == HWY_SCALAR
  for (size_t i = 0; i < count; ++i) {
    const double m = static_cast<double>(kScaledLogExpScaleLog2) - static_cast<double>(s.shift[i]);
    const double t = (m * kLn2Hi - static_cast<double>(s.max[i])) + m * kLn2Lo;
    s.log_sum[i] = ::log1p((s.at_max[i] - 1.0) + s.rest[i] * (::exp(t) * kUnscale));
  }
#else
  const hn::CappedTag<double, ScaledLogSums::kCapacity> dd;
  const size_t lanes = hn::Lanes(dd);  // divides kCapacity (both powers of two): the last vector stays inside
  double m_of[ScaledLogSums::kCapacity], max_of[ScaledLogSums::kCapacity];
  for (size_t i = 0; i < ScaledLogSums::kCapacity; ++i) {
    m_of[i] = static_cast<double>(kScaledLogExpScaleLog2) - static_cast<double>(s.shift[i]);
    max_of[i] = static_cast<double>(s.max[i]);
  }
  const auto ln2_hi = hn::Set(dd, kLn2Hi), ln2_lo = hn::Set(dd, kLn2Lo), one = hn::Set(dd, 1.0);
  for (size_t i = 0; i < count; i += lanes) {
    const auto m = hn::LoadU(dd, m_of + i);
    const auto t = hn::Add(hn::Sub(hn::Mul(m, ln2_hi), hn::LoadU(dd, max_of + i)), hn::Mul(m, ln2_lo));
    const auto factor = hn::Mul(hn::Exp(dd, t), hn::Set(dd, kUnscale));
    const auto arg = hn::MulAdd(hn::LoadU(dd, s.rest + i), factor, hn::Sub(hn::LoadU(dd, s.at_max + i), one));
    hn::StoreU(hn::Log1p(dd, arg), dd, s.log_sum + i);
  }
#endif
}

// The sum pass of ShortLogScaledSums for K rows, in lockstep or not (as ScaledSoftmaxSumsOf): row k is x[k], entry
// first + k of s (whose max and shift are set).
template <size_t K, bool kLockstep, class D>
HWY_INLINE void ScaledLogSumsOf(D d, const float* const* x, size_t n, ScaledLogSums& s, size_t first) {
  using V = hn::Vec<D>;
  using G = Lockstep<V, K>;
  using SumG = Lockstep<F64SumVec<D>, K>;
  const size_t N = hn::Lanes(d);
  SumG lower, upper;        // f64 sums of the terms below the max: lower and upper lanes
  G max, clamp, shift, lo;  // lo: the terms' corrections (f32)
  Lockstep<size_t, K> at_max;
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
    Slot<k>(lower) = F64SumZero(d);
    Slot<k>(upper) = F64SumZero(d);
    Slot<k>(max) = hn::Set(d, s.max[first + k]);
    Slot<k>(clamp) = hn::Set(d, s.max[first + k] - kScaledLogExpClamp);
    Slot<k>(shift) = hn::Set(d, s.shift[first + k]);
    Slot<k>(lo) = hn::Zero(d);
    Slot<k>(at_max) = 0;
  });
  const auto add_terms = [&](const G& v) SIMDMAX_INLINE_LAMBDA {
    if constexpr (kLockstep) {
      AddScaledLogTerms(d, v, max, clamp, shift, lower, upper, lo, at_max);
    } else {  // slot after slot, each vector's chain whole
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
        AddScaledLogTerms(d, Slot<k>(v), Slot<k>(max), Slot<k>(clamp), Slot<k>(shift), Slot<k>(lower), Slot<k>(upper),
                          Slot<k>(lo), Slot<k>(at_max));
      });
    }
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    G v;
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { Slot<k>(v) = hn::LoadU(d, x[k] + i); });
    add_terms(v);
  }
  if (i < n) {  // padded with -inf: a term of exactly 0, never equal to the (finite) max
    const float kNegInf = -std::numeric_limits<float>::infinity();
    G v;
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { Slot<k>(v) = LoadNOr(d, x[k] + i, n - i, kNegInf); });
    add_terms(v);
  }
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
    s.rest[first + k] = ScaledLogTermsTotal(d, Slot<k>(lower), Slot<k>(upper), Slot<k>(lo));
    s.at_max[first + k] = static_cast<double>(Slot<k>(at_max));
  });
}

// Log-softmax by ExpScaled (kernels/exp-inl.h, log-softmax's shift), in two passes with the scalar step between
// them. Rows: no NaN or +inf, a finite max with |max| <= kScaledLogExpMaxAbs (-inf entries allowed). The sum pass
// (this function): e = exp(x) 2^s_r, the entries equal to the max counted exactly and left out of the compensated
// sum, as ShortRowExpSum does (so that a rest far below 1 keeps its relative accuracy through log1p); x is the exact
// argument and -inf entries clamp to a term of exactly 0, so this pass has no TwoSum and no variant. The step is the
// chunked pass's (AddScaledLogTerms: each term with the correction of its last rounding). Entries
// [first, first + kRows) of s receive the rows.
template <size_t kRows, class D>
HWY_INLINE void ShortLogScaledSums(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, ScaledLogSums& s,
                                   size_t first) {
  ForSlots<kRows>([&](auto r) HWY_ATTR {
    s.max[first + r] = b.max[r];
    s.shift[first + r] = ScaledLogExpShift(b.max[r]);
  });
  if constexpr (kRows > kMaxLockstep) {
    ForSlots<kRows>([&](auto r) HWY_ATTR { ScaledLogSumsOf<1, true>(d, p.x + r, n, s, first + r); });
  } else if (n > kLockstepFromVectors * hn::Lanes(d)) {
    ScaledLogSumsOf<kRows, true>(d, p.x, n, s, first);
  } else {
    ScaledLogSumsOf<kRows, false>(d, p.x, n, s, first);
  }
}

// The output pass after LogOfScaledSums: y = (x - max) - log(sum) exactly as the chunked path computes it
// (LogSoftmaxOf), the rows interleaved, in the variant the group shares: masked if any row has -inf entries, the
// TwoSum order of the rows if they agree (else kNonPositive). Neither changes results (the TwoSum variants are exact,
// and no finite entry gives x - max = -inf for |max| <= 128), so a row's result does not depend on its group. Error:
// the terms as ExpOfPair's (< 1 ulp), the sum and log as the chunked path's: the same <= 1 ulp budget.
template <size_t kRows, class D>
HWY_INLINE void ShortLogScaledOutput(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b,
                                     const double* log_sums) {
  bool masked = false;
  for (size_t r = 0; r < kRows; ++r) masked |= !b.finite[r];
  const SumOrder order = GroupShiftOrder<kRows>(b);
  WithShiftVariant(masked, order, [&](auto kmasked, auto korder) HWY_ATTR {
    constexpr bool kMasked = decltype(kmasked)::value;
    constexpr SumOrder kOrder = decltype(korder)::value;
    using V = hn::Vec<D>;
    const size_t N = hn::Lanes(d);
    const V zero = hn::Zero(d);
    V m0 = zero, m1 = zero, m2 = zero, m3 = zero;  // -max
    V h0 = zero, h1 = zero, h2 = zero, h3 = zero;  // log(sum) as a float pair: hi
    V l0 = zero, l1 = zero, l2 = zero, l3 = zero;  // ... and lo
    ForSlots<kRows>([&](auto r) HWY_ATTR {
      float hi, lo;
      FloatPair(log_sums[r], &hi, &lo);
      Pick<r>(m0, m1, m2, m3) = hn::Set(d, -b.max[r]);
      Pick<r>(h0, h1, h2, h3) = hn::Set(d, hi);
      Pick<r>(l0, l1, l2, l3) = hn::Set(d, lo);
    });
    const auto out = [&](auto r, V v) HWY_ATTR {
      return LogSoftmaxOf<kMasked, kOrder>(d, v, Pick<r>(m0, m1, m2, m3), Pick<r>(h0, h1, h2, h3),
                                           Pick<r>(l0, l1, l2, l3));
    };
    size_t i = 0;
    for (; i + N <= n; i += N) {
      ForSlots<kRows>([&](auto r) HWY_ATTR { hn::StoreU(out(r, hn::LoadU(d, p.x[r] + i)), d, p.y[r] + i); });
    }
    if (i < n) {  // padded with the max: a benign argument, never stored
      ForSlots<kRows>([&](auto r)
                          HWY_ATTR { StoreN(out(r, LoadNOr(d, p.x[r] + i, n - i, b.max[r])), d, p.y[r] + i, n - i); });
    }
  });
}

// One group of scaled log-softmax rows on its own (groups not in flight with others).
template <size_t kRows, class D>
HWY_INLINE void ShortLogSoftmaxScaled(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b) {
  ScaledLogSums s;
  s.Clear();
  ShortLogScaledSums<kRows>(d, p, n, b, s, 0);
  LogOfScaledSums(s, kRows);
  ShortLogScaledOutput<kRows>(d, p, n, b, s.log_sum);
}

// kRows rows of length n <= kShortRowMax whose values are finite or -inf with a finite max (the caller routes the
// others to the chunked path), all with the same masked decision.
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowsWith(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, bool masked) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  const SumOrder order = GroupShiftOrder<kRows>(b);
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
    finish.reload = kSoftmax;  // ShortRowExpSum stored e in y (f32)
    if (kSoftmax) {
      FloatPair(1.0 / sums[r].Total(), &finish.scale_hi, &finish.scale_lo);
    } else {
      FloatPair(log_sums[r], &finish.log_hi, &finish.log_lo);
    }
    ChunkFinishPass<kOp>(d, p.x[r], p.y[r], p.y[r], n, finish);
  }
}

// How one row of a group is computed. Decided from that row alone, so that its result never depends on the rows it
// is grouped with: a group runs together only when all its rows chose the same variant.
enum class ShortRowKind {
  kSpecial,   // NaN, +inf or only -inf: the chunked path (kernels/special_rows-inl.h semantics)
  kScaled,    // ExpScaled: softmax for |max| <= 1024, log-softmax for |max| <= 128
  kUnmasked,  // exp(x - max) with x - max exact (TwoSum), the fast exp
  kMasked,    // the same with the masked exp (-inf entries, or a range > 2^16)
};

template <RowOp kOp, class D>
HWY_INLINE ShortRowKind ClassifyShortRow(D d, const float* x, size_t n, float max, float min, bool finite) {
  if (!finite) {
    const NonFiniteCounts counts = CountNonFinite(d, x, n);
    if (counts.nan != 0 || counts.pos_inf != 0 || counts.neg_inf == n) return ShortRowKind::kSpecial;
  }
  if (fabsf(max) <= (kOp == RowOp::kSoftmax ? kScaledExpMaxAbs : kScaledLogExpMaxAbs)) return ShortRowKind::kScaled;
  return (!finite || ShiftNeedsMasking(max, min)) ? ShortRowKind::kMasked : ShortRowKind::kUnmasked;
}

template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowsOfKind(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, ShortRowKind kind) {
  if (kind == ShortRowKind::kScaled) {
    if constexpr (kOp == RowOp::kSoftmax) {
      ShortSoftmaxScaled<kRows>(d, p, n, b);
    } else {
      ShortLogSoftmaxScaled<kRows>(d, p, n, b);
    }
  } else if (kind == ShortRowKind::kSpecial) {
    for (size_t r = 0; r < kRows; ++r)
      ChunkedRow<kOp>(p.x[r], p.y[r], n, /*scratch=*/nullptr, ChunkedPlan{});  // f32 rows
  } else {
    ShortRowsWith<kRows, kOp>(d, p, n, b, kind == ShortRowKind::kMasked);
  }
}

// The kind of each row of a group (ClassifyShortRow; softmax first completes the min of rows outside ExpScaled's
// range, rare: |max| > 1024). True when all rows share one kind.
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE bool ClassifyShortRows(D d, const ShortRowPtrs& p, size_t n, ShortRowBounds& b, ShortRowKind* kinds) {
  constexpr bool kLog = (kOp == RowOp::kLogSoftmax);
  bool uniform = true;
  for (size_t r = 0; r < kRows; ++r) {
    // The min only for finite rows outside the scaled exp's range (rare); a row with -inf entries has min -inf.
    if (b.finite[r] && !(fabsf(b.max[r]) <= (kLog ? kScaledLogExpMaxAbs : kScaledExpMaxAbs))) {
      b.min[r] = RowMax(d, p.x[r], n).min;
    }
    kinds[r] = ClassifyShortRow<kOp>(d, p.x[r], n, b.max[r], b.min[r], b.finite[r]);
    uniform &= (kinds[r] == kinds[0]);
  }
  return uniform;
}

// The rows of a group after its first pass: together when they share a kind, else one at a time.
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowsOfKinds(D d, const ShortRowPtrs& p, size_t n, const ShortRowBounds& b, bool uniform,
                                 const ShortRowKind* kinds) {
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

// Rows [0, kRows) of p, each of length n (1 <= n <= ShortRowMax).
template <size_t kRows, RowOp kOp, class D>
HWY_INLINE void ShortRowGroup(D d, const ShortRowPtrs& p, size_t n) {
  ShortRowBounds b = ShortRowMax<kRows>(d, p, n);
  ShortRowKind kinds[4];
  const bool uniform = ClassifyShortRows<kRows, kOp>(d, p, n, b, kinds);
  ShortRowsOfKinds<kRows, kOp>(d, p, n, b, uniform, kinds);
}

// `groups` full groups of rows in flight together (kernels/row_plan.h ShortGroupsInFlight): every group's first
// pass, then the sum passes, then the scalar step of every scaled row (log-softmax: the log of every sum at once,
// LogOfScaledSums), then the output passes. So one group's dependent tail (its reductions, 1/sum or log(sum))
// overlaps the other groups' streaming work. Groups that are not all kScaled run on their own at their turn. Each
// row's arithmetic is ShortSoftmaxScaled's / ShortLogSoftmaxScaled's (or its kind's), so the pipeline changes
// timing only.
template <RowOp kOp, class D>
HWY_INLINE void ShortGroupsPipelined(D d, const ShortRowPtrs* p, size_t groups, size_t n) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  ShortRowBounds b[kMaxShortGroupsInFlight];
  bool scaled[kMaxShortGroupsInFlight];
  for (size_t g = 0; g < groups; ++g) b[g] = ShortRowMax<4>(d, p[g], n);
  ScaledLogSums log_sums;                           // log-softmax
  ScaledSoftmaxSums sums[kMaxShortGroupsInFlight];  // softmax
  if (!kSoftmax) log_sums.Clear();
  for (size_t g = 0; g < groups; ++g) {
    ShortRowKind kinds[4];
    const bool uniform = ClassifyShortRows<4, kOp>(d, p[g], n, b[g], kinds);
    scaled[g] = uniform && kinds[0] == ShortRowKind::kScaled;
    if (!scaled[g]) {
      ShortRowsOfKinds<4, kOp>(d, p[g], n, b[g], uniform, kinds);
    } else if constexpr (kSoftmax) {
      ShortSoftmaxScaledSums<4>(d, p[g], n, b[g], &sums[g]);
    } else {
      ShortLogScaledSums<4>(d, p[g], n, b[g], log_sums, 4 * g);
    }
  }
  if (!kSoftmax) LogOfScaledSums(log_sums, 4 * groups);
  for (size_t g = 0; g < groups; ++g) {
    if (!scaled[g]) continue;
    if constexpr (kSoftmax) {
      ShortSoftmaxScaledOutput<4>(d, p[g], n, sums[g]);
    } else {
      ShortLogScaledOutput<4>(d, p[g], n, b[g], log_sums.log_sum + 4 * g);
    }
  }
}

// Rows [row_begin, row_end) of a batch of short rows, four at a time, batch.short_groups groups of four in flight.
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
  const size_t groups = batch.short_groups < kMaxShortGroupsInFlight ? batch.short_groups : kMaxShortGroupsInFlight;
  if (groups > 1) {
    ShortRowPtrs p[kMaxShortGroupsInFlight];
    for (; r + 4 * groups <= row_end; r += 4 * groups) {
      for (size_t g = 0; g < groups; ++g) p[g] = ptrs(r + 4 * g, 4);
      ShortGroupsPipelined<kOp>(d, p, groups, batch.cols);
    }
  }
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
