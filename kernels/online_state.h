// Scalar pieces of the online (streaming) softmax state shared by the kernels and the dispatch layer: rescaling a
// running sum to a new maximum and merging two states. No Highway types; plain C++ on the simdmax_online_state
// layout (max: float, sum: double = sum of exp(x - max) over the inputs seen).
//
// Special states (documented in simdmax.h):
// - empty: max = -inf, sum = 0 (nothing seen, or only -inf entries). The identity of Merge.
// - max = +inf: sum counts the +inf entries (the limit: they share the whole mass); finite entries add nothing.
// - max = NaN: poisoned by a NaN input; stays NaN.
#ifndef SIMDMAX_KERNELS_ONLINE_STATE_H_
#define SIMDMAX_KERNELS_ONLINE_STATE_H_

#include <math.h>

namespace simdmax {

// sum (relative to old_max) re-expressed relative to new_max >= old_max. Never forms -inf - (-inf): an empty state
// (old_max = -inf) has sum 0, and equal maxima (+inf included) keep the sum unchanged. The difference of two
// floats is exact in double for exponents up to 29 apart and irrelevant beyond (exp underflows to 0).
inline double RescaleSum(float old_max, double sum, float new_max) {
  if (old_max == new_max) return sum;
  if (sum == 0.0 || old_max == -INFINITY) return 0.0;
  return sum * ::exp(static_cast<double>(old_max) - static_cast<double>(new_max));
}

// The state's max with a zero always +0: a row's zeros may be +0 or -0, and which one a max reduction or a
// comparison keeps depends on the order it meets them (x86's max returns its second operand for equal values),
// so without this the max's bits depended on how a row was split into updates and merges (online fuzzer,
// 2026-12-06: +0 merged against -0 whole, on SSE4). x + 0 is x for every other value, NaN and infinities included.
inline float CanonicalMax(float max) { return max + 0.0f; }

// Merges state (b_max, b_sum) into (*max, *sum). Commutative bit for bit (the two terms are formed the same way
// and added once); associative within the rounding of the double sum and of the exp scales.
inline void MergeState(float* max, double* sum, float b_max, double b_sum) {
  if (isnan(*max) || isnan(b_max)) {
    *max = NAN;
    *sum = NAN;
    return;
  }
  if (b_max == -INFINITY) return;  // other empty: identity
  if (*max == -INFINITY) {         // this empty: take the other
    *max = CanonicalMax(b_max);
    *sum = b_sum;
    return;
  }
  const float m = CanonicalMax(*max > b_max ? *max : b_max);
  *sum = RescaleSum(*max, *sum, m) + RescaleSum(b_max, b_sum, m);
  *max = m;
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ONLINE_STATE_H_
