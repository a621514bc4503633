#include "tests/attention_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace simdmax_test {

AttentionReference ReferenceAttention(const simdmax_attention_desc& desc, const float* q, const float* k,
                                      const float* v) {
  const size_t rows = desc.n_heads * desc.n_queries, dim = desc.head_dim;
  const size_t group = desc.n_heads / desc.n_kv_heads;
  AttentionReference ref;
  ref.out.assign(rows * dim, 0.0L);
  ref.lse.assign(rows, -std::numeric_limits<long double>::infinity());
  ref.v_scale.assign(rows * dim, 0.0L);
  std::vector<long double> scores(desc.n_keys);
  for (size_t h = 0; h < desc.n_heads; ++h) {
    const size_t g = h / group;
    for (size_t i = 0; i < desc.n_queries; ++i) {
      size_t visible = desc.n_keys;
      if (desc.causal) {
        // j <= i + n_keys - n_queries, computed in signed arithmetic.
        const long long last =
            static_cast<long long>(i) + static_cast<long long>(desc.n_keys) - static_cast<long long>(desc.n_queries);
        visible = last < 0 ? 0 : std::min<size_t>(desc.n_keys, static_cast<size_t>(last) + 1);
      }
      if (visible == 0) continue;
      const float* qi = q + h * desc.q_head_stride + i * desc.q_row_stride;
      long double max = -std::numeric_limits<long double>::infinity();
      for (size_t j = 0; j < visible; ++j) {
        const float* kj = k + g * desc.k_head_stride + j * desc.k_row_stride;
        long double dot = 0;
        for (size_t d = 0; d < dim; ++d) dot += static_cast<long double>(qi[d]) * kj[d];
        scores[j] = static_cast<long double>(desc.scale) * dot;
        max = std::max(max, scores[j]);
      }
      long double sum = 0;
      for (size_t j = 0; j < visible; ++j) sum += std::exp(scores[j] - max);
      const size_t row = h * desc.n_queries + i;
      ref.lse[row] = max + std::log(sum);
      long double* out = &ref.out[row * dim];
      long double* scale = &ref.v_scale[row * dim];
      for (size_t j = 0; j < visible; ++j) {
        const long double p = std::exp(scores[j] - max) / sum;
        const float* vj = v + g * desc.v_head_stride + j * desc.v_row_stride;
        for (size_t d = 0; d < dim; ++d) {
          out[d] += p * vj[d];
          scale[d] = std::max(scale[d], static_cast<long double>(std::fabs(vj[d])));
        }
      }
    }
  }
  return ref;
}

}  // namespace simdmax_test
