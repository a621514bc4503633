#include "tests/attention_reference.h"

#include <stdint.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tests/dtype.h"

namespace simdmax_test {
namespace {

using Real = long double;
constexpr Real kInfinity = std::numeric_limits<Real>::infinity();

// Every f16 value as a float, from the IEEE definition (tests/dtype.h): the reference widens millions of elements
// (masks, paged pools), and F16BitsValue is a few ldexp each (software quad precision under qemu).
const std::vector<float>& F16Values() {
  static const std::vector<float> table = [] {
    std::vector<float> values(65536);
    for (uint32_t bits = 0; bits < 65536; ++bits) {
      values[bits] = static_cast<float>(F16BitsValue(static_cast<uint16_t>(bits)));
    }
    return values;
  }();
  return table;
}

// The general formula with the scale already resolved (the desc overload keeps its scale 0).
AttentionReference Evaluate(const simdmax_attention_args& a, Real scale) {
  const size_t rows = a.n_heads * a.n_queries, dim = a.head_dim;
  AttentionReference ref;
  ref.out.assign(rows * dim, 0.0L);
  ref.lse.assign(rows, -kInfinity);
  ref.v_scale.assign(rows * dim, 0.0L);
  ref.visible_keys.assign(rows, 0);
  if (rows == 0 || dim == 0 || a.n_kv_heads == 0) return ref;
  const size_t group = a.n_heads / a.n_kv_heads;
  const size_t n_keys = a.n_keys;
  // Rows of k and v of one kv head as float pointers: into the tensors themselves for f32, into widened copies
  // otherwise (one kv head at a time, so a long paged context costs one head's rows).
  std::vector<float> k_widened, v_widened;
  if (a.kv_type != SIMDMAX_F32) {
    k_widened.resize(n_keys * dim);
    v_widened.resize(n_keys * dim);
  }
  std::vector<const float*> k_rows(n_keys), v_rows(n_keys);
  std::vector<float> q_row(dim);
  std::vector<Real> scores(n_keys);
  std::vector<unsigned char> visible(n_keys);
  // Window bounds in signed arithmetic; a window longer than any distance is no window.
  const long long window_limit = static_cast<long long>(n_keys + a.n_queries + 1);
  const long long window = a.window == 0 ? 0 : static_cast<long long>(std::min<size_t>(a.window, window_limit));
  for (size_t g = 0; g < a.n_kv_heads; ++g) {
    for (size_t j = 0; j < n_keys; ++j) {
      size_t k_at, v_at;
      if (a.block_table != nullptr) {
        const size_t block = static_cast<size_t>(a.block_table[j / a.block_size]), row = j % a.block_size;
        k_at = block * a.k_block_stride + row * a.k_row_stride + g * a.k_head_stride;
        v_at = block * a.v_block_stride + row * a.v_row_stride + g * a.v_head_stride;
      } else {
        k_at = g * a.k_head_stride + j * a.k_row_stride;
        v_at = g * a.v_head_stride + j * a.v_row_stride;
      }
      if (a.kv_type == SIMDMAX_F32) {
        k_rows[j] = static_cast<const float*>(a.k) + k_at;
        v_rows[j] = static_cast<const float*>(a.v) + v_at;
      } else {
        for (size_t d = 0; d < dim; ++d) {
          k_widened[j * dim + d] = WidenElement(a.kv_type, a.k, k_at + d);
          v_widened[j * dim + d] = WidenElement(a.kv_type, a.v, v_at + d);
        }
        k_rows[j] = &k_widened[j * dim];
        v_rows[j] = &v_widened[j * dim];
      }
    }
    for (size_t h = g * group; h < (g + 1) * group; ++h) {
      for (size_t i = 0; i < a.n_queries; ++i) {
        const size_t row = h * a.n_queries + i;
        for (size_t d = 0; d < dim; ++d)
          q_row[d] = WidenElement(a.q_type, a.q, h * a.q_head_stride + i * a.q_row_stride + d);
        const long long p =
            static_cast<long long>(i) + static_cast<long long>(n_keys) - static_cast<long long>(a.n_queries);
        // Keys visible by position: [lo, hi).
        long long lo = 0, hi = static_cast<long long>(n_keys);
        if (a.causal) hi = std::min(hi, p + 1);
        if (window > 0) {
          lo = std::max(lo, p - window + 1);
          if (!a.causal) hi = std::min(hi, p + window);
        }
        bool nan = false;
        Real max = -kInfinity;
        std::fill(visible.begin(), visible.end(), 0);
        for (long long jj = lo; jj < hi; ++jj) {
          const size_t j = static_cast<size_t>(jj);
          Real mask = 0;
          if (a.mask != nullptr) {
            mask = WidenElement(a.mask_type, a.mask, h * a.mask_head_stride + i * a.mask_row_stride + j);
            if (mask == -kInfinity) continue;  // hidden
          }
          const float* kj = k_rows[j];
          Real dot = 0;
          for (size_t d = 0; d < dim; ++d) dot += static_cast<Real>(q_row[d]) * kj[d];
          Real s = scale * dot;
          if (!std::isfinite(s)) nan = true;
          if (a.softcap > 0) s = static_cast<Real>(a.softcap) * std::tanh(s / static_cast<Real>(a.softcap));
          if (a.alibi_slopes != nullptr) s += static_cast<Real>(a.alibi_slopes[h]) * static_cast<Real>(jj - p);
          s += mask;
          if (std::isnan(s) || s == kInfinity) nan = true;
          scores[j] = s;
          visible[j] = 1;
          ++ref.visible_keys[row];
          max = std::max(max, s);
        }
        if (nan) {
          ref.lse[row] = std::numeric_limits<Real>::quiet_NaN();
          std::fill_n(&ref.out[row * dim], dim, std::numeric_limits<Real>::quiet_NaN());
          continue;
        }
        const Real sink = a.sinks != nullptr ? static_cast<Real>(a.sinks[h]) : -kInfinity;
        const Real shift = std::max(max, sink);
        if (shift == -kInfinity) continue;  // nothing visible, no sink: out 0, lse -inf
        Real sum = a.sinks != nullptr ? std::exp(sink - shift) : 0.0L;
        for (long long jj = lo; jj < hi; ++jj) {
          if (visible[jj]) sum += std::exp(scores[jj] - shift);
        }
        ref.lse[row] = shift + std::log(sum);
        Real* out = &ref.out[row * dim];
        Real* v_scale = &ref.v_scale[row * dim];
        for (long long jj = lo; jj < hi; ++jj) {
          if (!visible[jj]) continue;
          const Real weight = std::exp(scores[jj] - shift) / sum;
          const float* vj = v_rows[jj];
          for (size_t d = 0; d < dim; ++d) {
            out[d] += weight * vj[d];
            v_scale[d] = std::max(v_scale[d], static_cast<Real>(std::fabs(vj[d])));
          }
        }
      }
    }
  }
  return ref;
}

}  // namespace

float WidenElement(simdmax_dtype type, const void* base, size_t index) {
  const auto* bytes = static_cast<const unsigned char*>(base);
  if (type == SIMDMAX_F32) {
    float f;
    std::memcpy(&f, bytes + 4 * index, 4);
    return f;
  }
  uint16_t bits;
  std::memcpy(&bits, bytes + 2 * index, 2);
  if (type == SIMDMAX_BF16) {
    const uint32_t wide = static_cast<uint32_t>(bits) << 16;  // bf16 is the top half of a binary32: exact
    float f;
    std::memcpy(&f, &wide, 4);
    return f;
  }
  return F16Values()[bits];
}

AttentionReference ReferenceAttention(const simdmax_attention_args& args) {
  // The library's default: the float nearest 1/sqrt(head_dim), then used exactly like a given scale.
  const float scale = args.scale != 0.0f || args.head_dim == 0
                          ? args.scale
                          : static_cast<float>(1.0 / std::sqrt(static_cast<double>(args.head_dim)));
  return Evaluate(args, static_cast<Real>(scale));
}

AttentionReference ReferenceAttention(const simdmax_attention_desc& desc, const float* q, const float* k,
                                      const float* v) {
  // Zero-initialised rather than simdmax_attention_args_init: the reference must not depend on the library under
  // test (every default is a zero: F32 types, no paging, mask, window, soft-cap, ALiBi or sinks).
  simdmax_attention_args args{};
  args.q = q;
  args.k = k;
  args.v = v;
  args.n_heads = desc.n_heads;
  args.n_kv_heads = desc.n_kv_heads;
  args.n_queries = desc.n_queries;
  args.n_keys = desc.n_keys;
  args.head_dim = desc.head_dim;
  args.q_head_stride = desc.q_head_stride;
  args.q_row_stride = desc.q_row_stride;
  args.k_head_stride = desc.k_head_stride;
  args.k_row_stride = desc.k_row_stride;
  args.v_head_stride = desc.v_head_stride;
  args.v_row_stride = desc.v_row_stride;
  args.causal = desc.causal;
  return Evaluate(args, static_cast<Real>(desc.scale));
}

}  // namespace simdmax_test
