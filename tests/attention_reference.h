// Long-double reference of attention by the naive formula: the whole score row materialised, an exact softmax, and
// the weighted sum of the values. Ground truth for tests/attention_test.cc.
#ifndef SIMDMAX_TESTS_ATTENTION_REFERENCE_H_
#define SIMDMAX_TESTS_ATTENTION_REFERENCE_H_

#include <stddef.h>

#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_test {

struct AttentionReference {
  // Indexed [(h * n_queries + i) * head_dim + d] (out, v_scale) and [h * n_queries + i] (lse).
  std::vector<long double> out;
  std::vector<long double> lse;  // -inf for a query that sees no key
  // max over the visible keys j of |v[j][d]|: the scale of out's error (0 when no key is visible).
  std::vector<long double> v_scale;
};

// Same contract as simdmax_attention_f32 (strides, GQA mapping, causal alignment to the end).
AttentionReference ReferenceAttention(const simdmax_attention_desc& desc, const float* q, const float* k,
                                      const float* v);

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ATTENTION_REFERENCE_H_
