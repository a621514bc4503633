// Online (streaming) softmax: the per-target bodies behind simdmax_online_update_f32 and
// simdmax_online_{log_}normalize_f32. The state is (max, sum of exp(x - max)) (kernels/online_state.h).
//
// Update, per chunk of at most kOnlineChunk elements (so a long block is read from memory once and re-read from
// L1): the chunk's max (RowMax), then sum of exp(x - new_max) with x - new_max carried exactly (TwoSum + ExpOfPair,
// the softmax ExpPass), the entries at new_max counted exactly and the others accumulated with the compensated sum,
// added to the old sum rescaled by exp(old_max - new_max) in double. Every term is therefore within 1 float ulp of
// exp(x - final_max) after at most one double rescale per chunk, and sum - 1 keeps its relative precision next to
// a single max (what log-normalize's outputs near 0 need): within 2^-23 of the exact sum whatever the block sizes
// (tests/tolerances.h).
//
// Normalise: y = exp(x - max) * (1/sum) (softmax's MulByPair) or x - max - log(sum) (softmax's LogShiftRow).
// Typed: x and y may be f32, f16 or bf16 (widened exactly, computed in f32, rounded once to y's type at the store;
// the f32 product's <= 2 f32 ulp then cost at most 2^-12 of a half ULP on top of the final rounding).

#if defined(SIMDMAX_KERNELS_ONLINE_SOFTMAX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ONLINE_SOFTMAX_INL_H_
#undef SIMDMAX_KERNELS_ONLINE_SOFTMAX_INL_H_
#else
#define SIMDMAX_KERNELS_ONLINE_SOFTMAX_INL_H_
#endif

#include <math.h>
#include <stddef.h>

#include <limits>

#include "hwy/highway.h"
#include "kernels/exp-inl.h"
#include "kernels/online_state.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_map-inl.h"
#include "kernels/softmax-inl.h"
#include "kernels/special_rows-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 16 KiB of floats: the max pass leaves the chunk in L1 for the exp pass.
inline constexpr size_t kOnlineChunk = 4096;

template <class D, class TX>
HWY_INLINE void OnlineUpdateChunk(D d, float* state_max, double* state_sum, const TX* x, size_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (isnan(*state_max)) return;  // poisoned: stays NaN
  const MaxResult block = RowMax(d, x, n);
  if (!block.all_finite) {
    const NonFiniteCounts counts = CountNonFinite(d, x, n);
    if (counts.nan != 0) {
      *state_max = std::numeric_limits<float>::quiet_NaN();
      *state_sum = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    if (counts.pos_inf != 0) {  // the +inf entries take the whole mass (softmax's limit)
      *state_sum = (*state_max == kInf ? *state_sum : 0.0) + static_cast<double>(counts.pos_inf);
      *state_max = kInf;
      return;
    }
    if (counts.neg_inf == n) return;  // fully masked block: the state is unchanged (never -inf - (-inf))
    // Otherwise a finite max beside -inf entries: RowMax's max is right and ExpPass maps -inf to exactly 0.
  }
  if (*state_max == kInf) return;  // finite entries add nothing next to +inf ones
  const float new_max = CanonicalMax(block.max > *state_max ? block.max : *state_max);
  // Not seeded: when new_max is an earlier block's, every term here may be tiny. Entries at the max counted exactly
  // (kCountMax, as log-softmax does): otherwise their 1s would sit in the compensated sum's high part and every
  // other term in its low part, which is a plain f32 sum: a row of one max and 24K equal terms of 5e-9 lost 5e-6 of
  // sum - 1 that way (SCALAR; the online fuzzer found 3-6 ULP log-normalize outputs near -1.2e-4 from it), and the
  // log-normalize output next to the max is -log1p(sum - 1), only as precise as sum - 1.
  const ExpSum block_sum = ExpSumFor</*kStore=*/false, /*kCountMax=*/true, /*kSeeded=*/false>(
      d, x, static_cast<float*>(nullptr), n, new_max, block);
  *state_sum = RescaleSum(*state_max, *state_sum, new_max) + block_sum.Total();
  *state_max = new_max;
}

// Exported: folds x[0, n) (elements of TX) into the state.
template <class TX>
HWY_NOINLINE void TypedOnlineUpdate(float* state_max, double* state_sum, const void* x_untyped, size_t n) {
  const hn::ScalableTag<float> d;
  const TX* x = static_cast<const TX*>(x_untyped);
  for (size_t i = 0; i < n; i += kOnlineChunk) {
    const size_t len = n - i < kOnlineChunk ? n - i : kOnlineChunk;
    OnlineUpdateChunk(d, state_max, state_sum, x + i, len);
  }
}

// Exported: y = softmax (log = false) or log-softmax (log = true) of x[0, n) under a finished state. Entries above
// the state's max are outside the contract. Special states: NaN -> NaN; empty (max = -inf) -> 0 / -inf;
// max = +inf -> 1/sum / -log(sum) at +inf entries, 0 / -inf elsewhere.
template <class TX, class TY>
HWY_NOINLINE void TypedOnlineNormalize(float max, double sum, const void* x_untyped, void* y_untyped, size_t n,
                                       bool log) {
  const TX* x = static_cast<const TX*>(x_untyped);
  TY* y = static_cast<TY*>(y_untyped);
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // The special states finish like a special chunk of a row (kernels/special_rows-inl.h): NaN everywhere; empty:
  // 0 / -inf; +inf entries share the mass (sum counts them): 1/sum / -log(sum) there, 0 / -inf elsewhere.
  if (isnan(max) || isnan(sum) || max == -kInf || max == kInf) {
    ChunkFinish special{};
    special.kind = max == kInf && !isnan(sum) ? ChunkFinish::kInfSplit : ChunkFinish::kFill;
    special.fill = (isnan(max) || isnan(sum)) ? std::numeric_limits<float>::quiet_NaN() : (log ? -kInf : 0.0f);
    special.at_inf = log ? static_cast<float>(-::log(sum)) : static_cast<float>(1.0 / sum);
    FinishSpecialChunk(d, x, y, n, special);
    return;
  }
  if (log) {
    LogShiftRow(d, x, y, n, max, ::log(sum));
    return;
  }
  float inv_hi, inv_lo;
  FloatPair(1.0 / sum, &inv_hi, &inv_lo);
  const V v_inv_hi = hn::Set(d, inv_hi), v_inv_lo = hn::Set(d, inv_lo);
  const V neg_max = hn::Set(d, -max);
  MapRow(d, x, y, n, 0.0f, [&](V v, auto...) HWY_ATTR {
    V lo;
    const V hi = TwoSum(v, neg_max, lo);
    return MulByPair(ExpOfPairMasked(d, hi, lo), v_inv_hi, v_inv_lo);  // -inf entries give exactly 0
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
