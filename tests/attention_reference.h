// Long-double reference of attention by the naive formula: the whole score row materialised, an exact softmax, and
// the weighted sum of the values. Ground truth for tests/attention_test.cc (simdmax_attention_f32) and
// tests/attention_engine_test.cc (simdmax_attention, simdmax_attention_batch).
#ifndef SIMDMAX_TESTS_ATTENTION_REFERENCE_H_
#define SIMDMAX_TESTS_ATTENTION_REFERENCE_H_

#include <stddef.h>

#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_test {

struct AttentionReference {
  // Indexed [(h * n_queries + i) * head_dim + d] (out, v_scale) and [h * n_queries + i] (lse).
  std::vector<long double> out;  // NaN in every element of a query row the contract makes NaN
  std::vector<long double> lse;  // -inf for a query that sees no key (sinks[h] with a sink); NaN with out
  // max over the visible keys j of |v[j][d]|: the scale of out's error (0 when no key is visible; the sink's zero
  // value vector does not count).
  std::vector<long double> v_scale;
  // Keys visible to each query row [h * n_queries + i] (by position and mask; the sink is not a key).
  std::vector<size_t> visible_keys;
};

// Same contract as simdmax_attention_f32 (strides, GQA mapping, causal alignment to the end). desc.scale is used as
// given (0 gives uniform weights, as it always did here).
AttentionReference ReferenceAttention(const simdmax_attention_desc& desc, const float* q, const float* k,
                                      const float* v);

// The general formula of simdmax_attention (simdmax.h, "Attention as engines call it"), from the inputs widened
// exactly (f16/bf16 values are floats): q, k/v and mask of their dtypes, paging through block_table, positions
// p_i = i + n_keys - n_queries, causal and window visibility, -inf mask entries hiding keys, and the scores
//   s = scale * (q . k)  (scale == 0: the float nearest 1/sqrt(head_dim), the value the library uses)
//   s = softcap * tanh(s / softcap)  if softcap > 0
//   s += alibi_slopes[h] * (j - p_i)  if alibi_slopes
//   s += mask(h, i, j)  if mask
// all in long double (no f32 rounding of any step); sinks[h] joins the denominator (and lse) only. A row whose
// score before the soft-cap is not finite, or after the biases NaN or +inf, at any key visible by position and not
// hidden by the mask, is NaN (out and lse). The arguments must be valid (simdmax_attention would return OK);
// out, lse and the output types are not read. Cost O(n_heads * n_queries * n_keys * head_dim).
AttentionReference ReferenceAttention(const simdmax_attention_args& args);

// The value of element `index` of a tensor of `type` at `base`, widened exactly (every f16 and bf16 value is a
// float).
float WidenElement(simdmax_dtype type, const void* base, size_t index);

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ATTENTION_REFERENCE_H_
