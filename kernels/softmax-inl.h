// Row-wise softmax and log-softmax: the per-target bodies behind simdmax_softmax_f32 / simdmax_log_softmax_f32.
//
// Algorithm, per chunk of the row (kernels/row_chunks.h: fixed-size chunks, merged in order):
//   1. the chunk's max and min and a non-finite flag (reduce-inl.h);
//   2. e = exp(x - chunk max) with x - max carried exactly (two_sum-inl.h, exp-inl.h), summed without error
//   (reduce-inl.h); softmax
//      stores e (the chunk is still in L2 from step 1, so the input is read from memory once for both);
//   merge: global max, sum = sum of chunk sums * exp(chunk max - max), in f64, in chunk order;
//   3. softmax: y = e * (exp(chunk max - max) / sum) with that factor as a float pair, so the product is rounded
//      once; log-softmax: y = (x - max) - log(sum) with x - max carried exactly.
// Element types (kernels/element_type.h): x and y may be f32, f16 or bf16 independently. Every pass loads x widened
// exactly to f32 and computes in f32 as above; only the final store rounds to y's type (kernels/convert-inl.h,
// nearest even). Passes that only read x are templated on its type alone, so the type pairs share them.
// Softmax's finish rescales e stored by the first pass (in y, or in f32 scratch for a half-precision y), or, where
// the row plan says so (rows far out of cache, kernels/row_plan.h) or there is no space for e, re-evaluates e from x
// bit for bit (RescaleRecomputed) before the same rescaling. So the plan changes speed, never bits, and a half
// output is the f32 output rounded once (<= 2 f32 ulp + 0.5 ULP of its type, < 1 ULP; correctly rounded unless the
// f32 result lies within 2 f32 ulp of a half-precision rounding boundary).
// ULP budget, softmax: exp < 1 ulp (exp-inl.h) + 0.5 ulp final rounding + sum error ~1e-9 relative -> <= 2 ULP.
// Log-softmax: <= 1 ulp (two roundings at most, one where the result cancels) + the float-pair error of log(sum)
// (2^-48 relative) -> <= 1 ULP measured, including outputs near 0, where log(sum) is formed as log1p(rest) with
// the entries equal to the max counted exactly rather than summed (an f64 sum of 1 + 1e-20 would lose the 1e-20
// that is the whole answer).

#if defined(SIMDMAX_KERNELS_SOFTMAX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SOFTMAX_INL_H_
#undef SIMDMAX_KERNELS_SOFTMAX_INL_H_
#else
#define SIMDMAX_KERNELS_SOFTMAX_INL_H_
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <limits>
#include <type_traits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/convert-inl.h"
#include "kernels/exp-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_batch.h"
#include "kernels/row_chunks.h"
#include "kernels/row_map-inl.h"
#include "kernels/special_rows-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

enum class RowOp { kSoftmax, kLogSoftmax };

// Sum of exp(x - max) over a row, split as (entries equal to max, exactly) + (f64 sum of the others).
struct ExpSum {
  size_t at_max = 0;  // only counted when requested; otherwise those 1s are in `rest`
  double rest = 0.0;
  double Total() const { return static_cast<double>(at_max) + rest; }
};

// The two forms of e = exp(x - offset) that softmax's first pass sums (and stores, for an f32 output), as functors
// so that the finish without reload (RescaleRecomputed) re-evaluates exactly the same e, bit for bit. They hold
// scalars, not vectors (SVE vectors are sizeless and cannot be members); the broadcasts are loop-invariant and
// hoisted out of the row loops once inlined.
//
// ShiftedExp: exp(x - max) 2^kScaleLog2 with x - max carried exactly as a float pair (hi, also returned, and its
// error). kMasked: exactly 0 for -inf arguments (ExpOfPairMasked).
template <bool kMasked, SumOrder kOrder, int kScaleLog2, class D>
struct ShiftedExp {
  using V = hn::Vec<D>;
  HWY_INLINE V operator()(V v, V& hi) const {
    V lo;
    hi = TwoSumOrdered<ExpShiftOrder(kOrder)>(v, hn::Set(d, -max), lo);
    return kMasked ? ExpOfPairMasked<kScaleLog2>(d, hi, lo) : ExpOfPair<kScaleLog2>(d, hi, lo);
  }
  HWY_INLINE V operator()(V v) const {
    V hi;
    return (*this)(v, hi);
  }
  D d;
  float max;
};

// Consecutive vectors of one row whose scaled exps run in lockstep in the chunked passes (kernels/lockstep-inl.h).
inline constexpr size_t kRowLockstep = 4;

// ScaledExp: exp(x) 2^s = exp(x - offset), offset = -s ln 2, for a chunk whose max satisfies |max| <=
// kScaledExpMaxAbs (kernels/exp-inl.h ExpScaled): the argument is x itself, no TwoSum, and -inf gives exactly 0.
template <class D>
struct ScaledExp {
  using V = hn::Vec<D>;
  HWY_INLINE ScaledExp(D d_in, float max) : d(d_in), shift(ScaledExpShift(max)), clamp_at(max - kScaledExpClamp) {}
  HWY_INLINE V operator()(V v) const { return ExpScaled(d, v, hn::Set(d, clamp_at), hn::Set(d, shift)); }
  // The same e, and (1 + small) * scale before its last rounding (ExpScaledTerm); G: V or a group of them.
  template <class G>
  HWY_INLINE G Term(G v, G& small, G& scale) const {
    return ExpScaledTerm(d, v, hn::Set(d, clamp_at), hn::Set(d, shift), small, scale);
  }
  D d;
  float shift;
  float clamp_at;
};

// Pass 2. kStore: also write e to y (softmax). kCountMax: count entries equal to the max instead of adding their
// exact 1s to the f64 sum (log-softmax needs sum - 1 to full relative precision). kMasked: the row has -inf
// entries or x - max may overflow, so exp must give exactly 0 for -inf arguments (ExpOfPairMasked).
// kOrder: which of x and max is larger in magnitude over the chunk (kernels/sum_order.h).
//
// kCountMax also scales the summed terms by 2^64 (ExpOfPair<64>) and unscales the sum: log-softmax's output at the
// max is -log1p(rest), and rest may be made of terms below FLT_MIN (a row [0, -87.3, -88.7] has rest ~1.5e-38, a
// quarter of it from exp(-88.7)). Softmax stores its terms, which must not be scaled, and cannot see terms below
// FLT_MIN beside a sum >= 1.
// kSeeded: every term is <= 1 and the total is >= 1 (the max's own term is in it), so the cheaper seeded
// compensated sum is exact (reduce-inl.h); otherwise the general one.
// x: float, F16 or BF16; y (written only if kStore): f32.
template <bool kStore, bool kCountMax, bool kMasked, SumOrder kOrder, bool kSeeded, class D, class TX>
HWY_INLINE ExpSum ExpPass(D d, const TX* x, float* y, size_t n, float max) {
  static_assert(!(kStore && kCountMax), "stored terms must not be scaled");
  constexpr int kScaleLog2 = kCountMax ? 64 : 0;
  using V = hn::Vec<D>;
  V acc_hi = hn::Set(d, SumSeed<kSeeded>()), acc_lo = hn::Zero(d);
  ExpSum sum;
  // Tail lanes are padded with the max itself (a cheap, benign argument of 0) and dropped through the mask.
  const ShiftedExp<kMasked, kOrder, kScaleLog2, D> shifted_exp{d, max};
  const auto exp_of = [&](V v, auto... tail_mask) HWY_ATTR {
    V hi;
    V e = shifted_exp(v, hi);
    V e_sum = ValidLanes(e, tail_mask...);
    if (kCountMax) {
      const auto at_max = ValidMask(hn::Eq(hi, hn::Zero(d)), tail_mask...);
      sum.at_max += hn::CountTrue(d, at_max);
      e_sum = hn::IfThenZeroElse(at_max, e_sum);
    }
    AddToSum<kSeeded>(acc_hi, acc_lo, e_sum);
    return e;
  };
  if (kStore) {
    MapRow(d, x, y, n, max, exp_of);
  } else {
    VisitRow(d, x, n, max, exp_of);
  }
  constexpr double kUnscale = 1.0 / static_cast<double>(uint64_t{1} << (kScaleLog2 / 2)) /
                              static_cast<double>(uint64_t{1} << (kScaleLog2 - kScaleLog2 / 2));
  sum.rest = SumTotal<kSeeded>(d, acc_hi, acc_lo) * kUnscale;  // exact: a power of two
  return sum;
}

// Whether exp(x - max) over a chunk with bounds `stats` (max >= stats.max) needs the masked exp: -inf entries, or a
// range too wide for the unmasked one (ShiftNeedsMasking). One select more per vector.
HWY_INLINE bool NeedsMasking(float max, bool all_finite, float min) {
  return !all_finite || ShiftNeedsMasking(max, min);
}
HWY_INLINE bool NeedsMasking(float max, const MaxResult& stats) {
  return NeedsMasking(max, stats.all_finite, stats.min);
}

// Calls fn(masked, order) with both as compile-time constants (std::integral_constant) for the runtime choice:
// the masked variants always take kNonPositive (x <= max holds; a -inf entry gives hi = -inf and a lo that is NaN
// or infinite with either TwoSum, and the masked kernels replace those lanes). The one place that turns the
// per-chunk decisions into kernel instantiations.
template <class Fn>
HWY_INLINE auto WithShiftVariant(bool masked, SumOrder order, const Fn& fn) {
  using NonPositive = std::integral_constant<SumOrder, SumOrder::kNonPositive>;
  if (masked) return fn(std::true_type(), NonPositive());
  switch (order) {
    case SumOrder::kFirstLarger:
      return fn(std::false_type(), std::integral_constant<SumOrder, SumOrder::kFirstLarger>());
    case SumOrder::kSecondLarger:
      return fn(std::false_type(), std::integral_constant<SumOrder, SumOrder::kSecondLarger>());
    default:
      return fn(std::false_type(), NonPositive());
  }
}

// sum of exp(x - max) over x[0, n) (stored to y if kStore), for max >= stats.max: picks the masked exp and the
// Fast2Sum order from the chunk's bounds. Shared by the row kernels and the online update.
template <bool kStore, bool kCountMax, bool kSeeded, class D, class TX>
HWY_INLINE ExpSum ExpSumFor(D d, const TX* x, float* y, size_t n, float max, const MaxResult& stats) {
  return WithShiftVariant(NeedsMasking(max, stats), ShiftOrder(max, stats.min), [&](auto masked, auto order) HWY_ATTR {
    return ExpPass<kStore, kCountMax, decltype(masked)::value, decltype(order)::value, kSeeded>(d, x, y, n, max);
  });
}

// Softmax's pass with the scaled exp (kernels/exp-inl.h ExpScaled), for a chunk whose max satisfies |max| <=
// kScaledExpMaxAbs (any entries <= max, -inf included, no NaN): e = exp(x) 2^s = exp(x - offset) with
// offset = -s ln 2, stored to y if kStore, summed with the seeded compensated sum (every term <= 2^1.5 < 4, the
// seed). No TwoSum, no masked variant: ~10 operations per vector fewer than ExpPass. Returns the sum.
// ahead: the read-ahead of the chunk driver (kernels/row_chunks.h ChunkedPlan::prefetch), or NoReadAhead.
template <bool kStore, class D, class TX, class Ahead>
HWY_INLINE double ScaledExpPass(D d, const TX* x, float* y, size_t n, float max, const Ahead& ahead) {
  using V = hn::Vec<D>;
  constexpr float kSeed = 4.0f;
  const ScaledExp<D> scaled_exp(d, max);
  // One accumulator pair is enough: its loop-carried chain is one add (4 cycles) per vector, while the ~20
  // independent operations of each vector's exp take ~10 cycles of issue even at two FMA pipes, so the loop is
  // throughput-bound (checked in the generated code), and one pair keeps the summation order of the short-row path.
  // The exps of kRowLockstep consecutive vectors run in lockstep (kernels/lockstep-inl.h) and enter the pair in
  // order: the same sum as one vector at a time.
  V hi = hn::Set(d, kSeed), lo = hn::Zero(d);
  // Tail lanes are padded with -inf: the scaled exp gives exactly 0 for them, nothing to drop.
  const auto exp_of = [&](auto v, auto...) SIMDMAX_INLINE_LAMBDA {
    decltype(v) small, scale;
    const decltype(v) e = scaled_exp.Term(v, small, scale);
    AddScaledTermToSeededSum(hi, lo, e, small, scale);
    return e;
  };
  const float kNegInf = -std::numeric_limits<float>::infinity();
  if (kStore) {
    MapRow<kRowLockstep>(d, x, y, n, kNegInf, exp_of, ahead);
  } else {
    VisitRow<kRowLockstep>(d, x, n, kNegInf, exp_of, ahead);
  }
  return SumTotalFrom(d, hi, lo, kSeed);
}

// Log-softmax's pass with the scaled exp, for a chunk whose max satisfies |max| <= kScaledLogExpMaxAbs (any
// entries <= max, -inf included, no NaN): the short rows' sum (kernels/short_rows-inl.h ShortLogScaledSums) on one
// chunk. Terms exp(x) 2^s with log-softmax's shift (the max's term ~2^32, so terms far below FLT_MIN relative to
// the max are still normal floats); the entries equal to the max are counted exactly (*at_max) and left out of the
// sum, which log1p needs to full relative accuracy; the others are summed in f64 (two accumulators, the lower and
// upper lanes: a chunk's <= 16384 terms cost <= ~2^-39 relative, far inside the budget of log(sum)), each term with
// the correction of its last rounding (ExpScaledWithError), so rest is good to ~0.41 ulp of f32 (AddScaledLogTerms,
// shared with the short rows). Against ExpPass: no TwoSum, no variants, no compensated f32 sum.
// V: a vector or a group of K of them (kernels/lockstep-inl.h), with lower, upper, lo and count either one set per
// slot (Lockstep<F64SumVec<D>, K>, Lockstep<V, K>, Lockstep<size_t, K>: the short rows, one row per slot) or one set
// for all (consecutive vectors of one row, added slot after slot: the same sums as one vector at a time).
// count: an integer per row (no FP operation on the add ports), or, where each lane is a row of its own
// (kernels/rows_in_lanes-inl.h), a vector of per-lane counts (exact integers in f32: n <= 2^24).
template <class D, class M>
HWY_INLINE void CountAtMax(D d, size_t& count, M is_max) {
  count += hn::CountTrue(d, is_max);
}
template <class D, class M>
HWY_INLINE void CountAtMax(D d, hn::Vec<D>& count, M is_max) {
  count = hn::Add(count, hn::IfThenElseZero(is_max, hn::Set(d, 1.0f)));
}

template <class D, class V, class VC, class SumV, class Count, class Lo>
HWY_INLINE void AddScaledLogTerms(D d, V v, VC v_max, VC clamp_at, VC shift, SumV& lower, SumV& upper, Lo& lo,
                                  Count& count) {
  constexpr size_t K = LockstepSlots<V>::value;
  const auto is_max = ls::Eq(v, v_max);
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { CountAtMax(d, Slot<k>(count), Slot<k>(is_max)); });
  V e_lo;
  const V e = ExpScaledWithError(d, v, clamp_at, shift, is_max, e_lo);  // 0 at the max
  ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { AddToF64Sum(d, Slot<k>(lower), Slot<k>(upper), Slot<k>(e)); });
  // The corrections are below 2^-24 of their terms: an f32 sum of them costs < 2^-34 of rest (n <= 16384).
  AddSlotsTo(lo, e_lo);
}

template <class D, class V = hn::Vec<D>>
HWY_INLINE double ScaledLogTermsTotal(D d, F64SumVec<D> lower, F64SumVec<D> upper, V lo) {
  return F64SumTotal(d, lower, upper) + static_cast<double>(hn::GetLane(hn::SumOfLanes(d, lo)));
}

template <class D, class TX, class Ahead>
HWY_INLINE double ScaledLogExpPass(D d, const TX* x, size_t n, float max, size_t* at_max, const Ahead& ahead) {
  using V = hn::Vec<D>;
  const V clamp_at = hn::Set(d, max - kScaledLogExpClamp);
  const V shift = hn::Set(d, ScaledLogExpShift(max));
  const V v_max = hn::Set(d, max);
  F64SumVec<D> lower = F64SumZero(d), upper = F64SumZero(d);
  V lo = hn::Zero(d);
  size_t count = 0;
  // Tail lanes are padded with -inf: a term of exactly 0, never equal to the (finite) max.
  // kRowLockstep vectors at a time, added to the sums in order (AddScaledLogTerms): the same sums as one at a time.
  VisitRow<kRowLockstep>(
      d, x, n, -std::numeric_limits<float>::infinity(),
      [&](auto v, auto...)
          SIMDMAX_INLINE_LAMBDA { AddScaledLogTerms(d, v, v_max, clamp_at, shift, lower, upper, lo, count); },
      ahead);
  *at_max = count;
  return ScaledLogTermsTotal(d, lower, upper, lo);
}

// 1/sum as a float pair (hi, lo): e * hi + e * lo (MulByPair) is rounded once (one FMA) instead of twice (rounded
// reciprocal, then product), which saves up to 0.5 ulp of the budget. Shared by softmax, the online normalise and
// attention.
HWY_INLINE void FloatPair(double value, float* hi, float* lo) {
  *hi = static_cast<float>(value);
  *lo = static_cast<float>(value - *hi);
}
//
// Without FMA (SSSE3, SSE4, SCALAR, EMU128, Armv7 NEON), e * hi rounded and then e * lo added would round twice
// and drop e * lo whenever it is below half an ulp: up to ~1 ulp lost, and with exp's error that broke the 2 ULP
// bound (3 ulp, found by the softmax fuzzer on EMU128, tests/fuzz_regressions_test.cc). There the product e * hi is
// made exact as p + err by Dekker's algorithm (Veltkamp's split of both factors into 12-bit halves, whose products
// are exact), so that the result is again rounded once: p + (err + e * lo), the small parts' own roundings being
// ~2^-24 of an ulp. hi's split is loop-invariant (the compiler hoists it out of the row loop). Underflowing partial
// products (e below ~2^-100) cost an absolute error far below FLT_MIN, which the accuracy contract counts as exact.
// The rounding error of p = e * hi (p being that product rounded), exactly: one FMA where it is native, else
// Dekker's product of Veltkamp's 12-bit halves. Also used by attention's compensated rescale and merge, which need
// the error on every target (with MulSub alone it is 0 without FMA: the product is rounded before the subtraction).
template <class V>
HWY_INLINE V ProductError(V e, V hi, V p) {
#if HWY_NATIVE_FMA
  return hn::MulSub(e, hi, p);
#else
  const hn::DFromV<V> d;
  const V split = hn::Set(d, 4097.0f);  // 2^12 + 1
  const V e_big = hn::Mul(e, split);
  const V e_hi = hn::Sub(e_big, hn::Sub(e_big, e));
  const V e_lo = hn::Sub(e, e_hi);
  const V hi_big = hn::Mul(hi, split);
  const V hi_hi = hn::Sub(hi_big, hn::Sub(hi_big, hi));
  const V hi_lo = hn::Sub(hi, hi_hi);
  return hn::Add(hn::Add(hn::Add(hn::Sub(hn::Mul(e_hi, hi_hi), p), hn::Mul(e_hi, hi_lo)), hn::Mul(e_lo, hi_hi)),
                 hn::Mul(e_lo, hi_lo));
#endif
}

template <class V>
HWY_INLINE V MulByPair(V e, V hi, V lo) {
#if HWY_NATIVE_FMA
  return hn::MulAdd(e, hi, hn::Mul(e, lo));
#else
  const V p = hn::Mul(e, hi);
  return hn::Add(p, hn::Add(ProductError(e, hi, p), hn::Mul(e, lo)));
#endif
}

// e * (hi + lo) + add, rounded once (as MulByPair; add is at most ~1 ulp of the product): the output of a term known
// as e + c, with add = c * hi. Softmax's scaled sums add every term's rounding error (ExpScaledWithError), so the
// terms at the max, whose rounding no longer cancels against the sum's, get theirs back here: a row of one finite
// entry is exactly 1, and k equal entries exactly 1/k, as with the rounded sum.
template <class V>
HWY_INLINE V MulByPairPlus(V e, V hi, V lo, V add) {
#if HWY_NATIVE_FMA
  return hn::MulAdd(e, hi, hn::MulAdd(e, lo, add));
#else
  const V p = hn::Mul(e, hi);
  return hn::Add(p, hn::Add(ProductError(e, hi, p), hn::Add(hn::Mul(e, lo), add)));
#endif
}

// The scaled terms of maxes (ScaledExp's e for x = max, lane-wise) with their rounding errors, and the shifts they
// were scaled by. Vector form for the short rows, where lane r is row r of a group (kernels/short_rows-inl.h
// ShortSoftmaxScaledSums: one scalar-lane exp per row cost 32-column rows ~13%); ScaledTopTerm is one max's, once
// per chunk of the chunked path. The same lane arithmetic: the same bits.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ScaledTopTerms(D d, V max, V& shift, V& e_lo) {
  shift = ScaledExpShift(d, max);
  return ExpScaledWithError(d, max, hn::Sub(max, hn::Set(d, kScaledExpClamp)), shift, e_lo);
}
struct TopTerm {
  float e, e_lo;
};
template <class D>
HWY_INLINE TopTerm ScaledTopTerm(D d, float max) {
  hn::Vec<D> shift, e_lo;
  const hn::Vec<D> e = ScaledTopTerms(d, hn::Set(d, max), shift, e_lo);
  return TopTerm{hn::GetLane(e), hn::GetLane(e_lo)};
}

// First pass over a chunk: its max, then exp(x - chunk max) summed (and stored to y, f32, if kStore). A chunk with
// a NaN or +inf is only counted (not written); an all -inf chunk is empty (not written: MergeChunks makes its
// finish a fill with 0).
// ahead: the chunk driver's read-ahead (the next chunk, kernels/row_chunks.h NextChunkAhead), issued by the exp
// pass alone: it is compute-bound and leaves the memory idle, while the max pass is the one that waits on memory
// (a max pass prefetching too ran at the memory's pace and lost the overlap). Only the scaled passes (the common
// case: |max| <= 1024 resp. 128) take it, each instantiated with and without (no cost where nothing is fetched).
template <RowOp kOp, bool kStore, class D, class TX>
HWY_INLINE void ChunkPassWith(D d, const TX* x, float* y, size_t n, const ReadAhead& ahead, ChunkState* state) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  *state = EmptyChunkState();
  const MaxResult max = RowMax(d, x, n);
  if (!max.all_finite) {
    const NonFiniteCounts counts = CountNonFinite(d, x, n);
    state->nan = counts.nan;
    state->pos_inf = counts.pos_inf;
    if (counts.nan != 0 || counts.pos_inf != 0) return;
    if (counts.neg_inf == n) return;  // empty: max stays -inf
  }
  state->max = max.max;
  state->min = max.min;
  state->scaled = false;
  state->neg_inf = !max.all_finite;  // no NaN or +inf here: the non-finite entries are -inf
  if (kSoftmax && fabsf(max.max) <= kScaledExpMaxAbs) {
    state->at_max = 0;
    state->scaled = true;
    state->shift = ScaledExpShift(max.max);
    state->rest =
        WithReadAhead(ahead, [&](const auto& a) HWY_ATTR { return ScaledExpPass<kStore>(d, x, y, n, max.max, a); });
    return;
  }
  if (!kSoftmax && fabsf(max.max) <= kScaledLogExpMaxAbs) {
    state->scaled = true;
    state->shift = ScaledLogExpShift(max.max);
    state->rest = WithReadAhead(
        ahead, [&](const auto& a) HWY_ATTR { return ScaledLogExpPass(d, x, n, max.max, &state->at_max, a); });
    return;
  }
  // The unmasked exp leaves a residue below FLT_MIN (or, scaled for log-softmax, below 2^-64 FLT_MIN) for the
  // clamped lanes: invisible beside the terms that matter in both sums.
  const ExpSum sum = ExpSumFor<kStore, !kSoftmax, /*kSeeded=*/kSoftmax>(d, x, y, n, max.max, max);
  state->at_max = sum.at_max;
  state->rest = sum.rest;
}

// store (softmax only): keep exp(x - chunk max) in y (f32) for the finish to rescale; false when the finish
// re-evaluates it (then y is not used and may be null).
template <RowOp kOp, class D, class TX>
HWY_INLINE void ChunkPass(D d, const TX* x, float* y, size_t n, bool store, const ReadAhead& ahead, ChunkState* state) {
  constexpr bool kSoftmax = (kOp == RowOp::kSoftmax);
  if (kSoftmax && !store) {
    ChunkPassWith<kOp, /*kStore=*/false>(d, x, y, n, ahead, state);
  } else {
    ChunkPassWith<kOp, kSoftmax>(d, x, y, n, ahead, state);
  }
}

// y = (x - max) - log(sum) for one vector, log(sum) = log_hi + log_lo (a float pair). Shared by every log-softmax
// output loop (the chunk finish below, the short rows' interleaved finish). TY: the type y is narrowed to after,
// whose ties break away from zero (kernels/convert-inl.h LogSoftmaxTiesAway; one OR for a half-precision output).
template <bool kMasked, SumOrder kOrder, class TY = float, class D, class V = hn::Vec<D>>
HWY_INLINE V LogSoftmaxOf(D d, V x, V neg_max, V log_hi, V log_lo) {
  V lo;
  const V shifted = TwoSumOrdered<kOrder>(x, neg_max, lo);  // x - max, exactly
  // (shifted - log_hi) is exact when it cancels (Sterbenz), which is where log-softmax is tiny and a rounding
  // would cost the most; elsewhere it rounds once more, adding at most 0.5 ulp: <= 1 ulp in all.
  // The loop is bound by the FP add ports (the TwoSum above is six adds); where FMA is native, two of the adds go to
  // the FMA pipes as a * 1 + b and b - 1 * c, which round exactly as the add and subtract do (same bits).
#if HWY_NATIVE_FMA
  const V one = hn::Set(d, 1.0f);
  const V y = LogSoftmaxTiesAway<TY>(d, hn::MulAdd(one, hn::Sub(shifted, log_hi), hn::NegMulAdd(one, log_lo, lo)));
#else
  const V y = LogSoftmaxTiesAway<TY>(d, hn::Add(hn::Sub(shifted, log_hi), hn::Sub(lo, log_lo)));
#endif
  if (!kMasked) return y;
  // -inf entries (masked, or x - max overflowing to -inf) have NaN error terms: give them -inf.
  const V neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  return hn::IfThenElse(hn::Eq(shifted, neg_inf), neg_inf, y);
}

template <bool kMasked, SumOrder kOrder, class D, class TX, class TY>
HWY_INLINE void LogSoftmaxOutput(D d, const TX* x, TY* y, size_t n, const ChunkFinish& finish) {
  using V = hn::Vec<D>;
  const V neg_max = hn::Set(d, -finish.max);
  const V v_log_hi = hn::Set(d, finish.log_hi);
  const V v_log_lo = hn::Set(d, finish.log_lo);
  MapRowTo(d, x, y, n, 0.0f, finish.stream,
           [&](V v, auto...) HWY_ATTR { return LogSoftmaxOf<kMasked, kOrder, TY>(d, v, neg_max, v_log_hi, v_log_lo); });
}

// y = x - max - log_sum for a finite max, any x (-inf included): LogSoftmaxOutput outside the chunk machinery,
// for the online log-normalise.
template <class D, class TX, class TY>
HWY_INLINE void LogShiftRow(D d, const TX* x, TY* y, size_t n, float max, double log_sum) {
  ChunkFinish finish{};
  finish.max = max;
  FloatPair(log_sum, &finish.log_hi, &finish.log_lo);
  LogSoftmaxOutput</*kMasked=*/true, SumOrder::kAny>(d, x, y, n, finish);
}

// Softmax's finish with reload: e holds exp(x - offset) in f32 (y itself for an f32 output, scratch for a
// half-precision one, ChunkedRow); one FMA with the float-pair scale rounds the product once (then the store rounds
// it to y's type).
template <class D, class TY>
HWY_INLINE void RescaleStored(D d, const float* e, TY* y, size_t n, const ChunkFinish& finish) {
  using V = hn::Vec<D>;
  const V hi = hn::Set(d, finish.scale_hi);
  const V lo = hn::Set(d, finish.scale_lo);
  if (finish.chunk_scaled) {
    const TopTerm top = ScaledTopTerm(d, finish.chunk_max);
    const V top_e = hn::Set(d, top.e), top_add = hn::Set(d, top.e_lo * finish.scale_hi);
    MapRow(d, e, y, n, 0.0f, [&](V v, auto...) HWY_ATTR {
      return MulByPairPlus(v, hi, lo, hn::IfThenElseZero(hn::Eq(v, top_e), top_add));
    });
    return;
  }
  MapRow(d, e, y, n, 0.0f, [&](V v, auto...) HWY_ATTR { return MulByPair(v, hi, lo); });
}

// The same finish where e was not kept (ChunkedPlan::reload false, or a half-precision output without scratch): e
// is re-evaluated from x exactly as the first pass computed it (the same functor on the same chunk max, so the same
// bits), then scaled by the same float pair. So the result is the reload finish's, bit for bit, and a half output is
// the f32 output rounded once: <= 2 f32 ulp + 0.5 ULP of the output type (< 1 ULP). ~16 operations per vector
// (one exp and the product), against 2 for the reload finish: it pays where the row is far out of cache and the
// memory traffic it saves (y not re-read) costs more (kernels/row_plan.h). finish.stream: non-temporal stores.
template <class D, class TX, class TY>
HWY_INLINE void RescaleRecomputed(D d, const TX* x, TY* y, size_t n, const ChunkFinish& finish) {
  using V = hn::Vec<D>;
  const V hi = hn::Set(d, finish.scale_hi);
  const V lo = hn::Set(d, finish.scale_lo);
  if (finish.chunk_scaled) {  // ChunkPassWith's choice (|chunk max| <= kScaledExpMaxAbs)
    const ScaledExp<D> scaled_exp(d, finish.chunk_max);
    const TopTerm top = ScaledTopTerm(d, finish.chunk_max);
    const V top_e = hn::Set(d, top.e), top_add = hn::Set(d, top.e_lo * finish.scale_hi);
    MapRowTo(d, x, y, n, -std::numeric_limits<float>::infinity(), finish.stream, [&](V v, auto...) HWY_ATTR {
      const V e = scaled_exp(v);
      return MulByPairPlus(e, hi, lo, hn::IfThenElseZero(hn::Eq(e, top_e), top_add));
    });
    return;
  }
  WithShiftVariant(
      NeedsMasking(finish.chunk_max, !finish.chunk_neg_inf, finish.chunk_min),
      ShiftOrder(finish.chunk_max, finish.chunk_min), [&](auto masked, auto order) HWY_ATTR {
        const ShiftedExp<decltype(masked)::value, decltype(order)::value, 0, D> shifted_exp{d, finish.chunk_max};
        MapRowTo(d, x, y, n, finish.chunk_max, finish.stream,
                 [&](V v, auto...) HWY_ATTR { return MulByPair(shifted_exp(v), hi, lo); });
      });
}

// The f32 output a first pass may store e into: y itself when it is f32, none otherwise.
HWY_INLINE float* StoredOutput(float* y) { return y; }
template <class TY>
HWY_INLINE float* StoredOutput(TY*) {
  return nullptr;
}

// Second pass over a chunk, with what MergeChunks and the chunk driver decided for it. stored: where the first pass
// stored e (f32; y itself for an f32 output) when finish.reload, else unused (softmax re-evaluates e from x).
template <RowOp kOp, class D, class TX, class TY>
HWY_INLINE void ChunkFinishPass(D d, const TX* x, const float* stored, TY* y, size_t n, const ChunkFinish& finish) {
  if (finish.kind != ChunkFinish::kNormal) {
    FinishSpecialChunk(d, x, y, n, finish);
  } else if (kOp == RowOp::kSoftmax && finish.reload) {
    RescaleStored(d, stored, y, n, finish);
  } else if (kOp == RowOp::kSoftmax) {
    RescaleRecomputed(d, x, y, n, finish);
  } else {
    WithShiftVariant(finish.masked, finish.order, [&](auto masked, auto order) HWY_ATTR {
      LogSoftmaxOutput<decltype(masked)::value, decltype(order)::value>(d, x, y, n, finish);
    });
  }
  // Non-temporal stores are weakly ordered: make them visible before the caller (or TBB's join) hands y on.
  if (finish.stream) hwy::FlushStream();
}

// The two chunk passes as out-of-line functions: the only instantiations of each pass, shared by whole rows
// (ChunkedRow), the special rows of the short-row path and the dispatch layer's threaded rows (through
// kernels/row_kernels-inl.h). Inlining them into every caller multiplied the largest code of a kernel table by the
// number of callers and output types (and the sanitizer builds' compile time with it) for a call per chunk saved.
template <RowOp kOp, class TX>
HWY_NOINLINE void RowChunkPass(const TX* x, float* y, size_t n, bool store, const ReadAhead& ahead, ChunkState* state) {
  ChunkPass<kOp>(hn::ScalableTag<float>(), x, y, n, store, ahead, state);
}

template <RowOp kOp, class TX, class TY>
HWY_NOINLINE void RowChunkFinish(const TX* x, const float* stored, TY* y, size_t n, const ChunkFinish& finish) {
  ChunkFinishPass<kOp>(hn::ScalableTag<float>(), x, stored, y, n, finish);
}

// A whole row on the calling thread: the chunk driver (kernels/row_chunks.h) with a serial loop, the same sequence
// as a row split across threads by the dispatch layer. With plan.reload the first pass stores e into an f32 output,
// or into `scratch` (n floats, or null) for a half-precision one; without either the finish re-evaluates it. Either
// way the bits are the f32 row's.
template <RowOp kOp, class TX, class TY>
HWY_INLINE void ChunkedRow(const TX* x, TY* y, size_t n, float* scratch, const ChunkedPlan& plan) {
  float* const output = StoredOutput(y);
  float* const stored = output != nullptr ? output : scratch;
  RunChunkedRow(
      kOp == RowOp::kLogSoftmax, plan, /*can_store=*/stored != nullptr, n,
      [](size_t count, const auto& body) {
        for (size_t c = 0; c < count; ++c) body(c);
      },
      [&](size_t begin, size_t len, bool store, ChunkState* state) {
        RowChunkPass<kOp>(x + begin, stored == nullptr ? nullptr : stored + begin, len, store,
                          NextChunkAhead(plan, x, n * sizeof(TX), len * sizeof(TX)), state);
      },
      [&](size_t begin, size_t len, const ChunkFinish& finish) {
        RowChunkFinish<kOp>(x + begin, stored == nullptr ? nullptr : stored + begin, y + begin, len, finish);
      });
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
