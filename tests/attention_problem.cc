#include "tests/attention_problem.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>

#include "tests/attention_reference.h"

namespace simdmax_test {

size_t TensorSpan(std::initializer_list<std::pair<size_t, size_t>> counts_and_strides, size_t row) {
  size_t span = row;
  for (const auto& [count, stride] : counts_and_strides) {
    if (count == 0) return 0;
    span += (count - 1) * stride;
  }
  return span;
}

std::string AttentionCase::Name() const {
  static const char* kMaskNames[] = {"", " mask", " head_mask"};
  char buf[512];
  std::snprintf(
      buf, sizeof buf, "h%zu/kv%zu q%zu k%zu d%zu %s/%s/%s%s w%zu scale%a qa%a cap%a%s%s%s%s p%.3g b%zu%s%s seed%llu",
      heads, kv_heads, queries, keys, dim, DtypeName(q_type), DtypeName(kv_type), DtypeName(out_type),
      causal ? " causal" : "", window, scale, q_amplitude, softcap, alibi ? " alibi" : "", sinks ? " sinks" : "",
      kMaskNames[static_cast<int>(mask)], mask == MaskKind::kNone ? "" : DtypeName(mask_type), mask_hidden, block_size,
      strided ? " strided" : "", lse ? "" : " no_lse", static_cast<unsigned long long>(seed));
  return buf;
}

AttentionProblem::AttentionProblem(const AttentionCase& c) : c_(c) {
  // SplitMix64: std::mt19937_64 with uniform_real_distribution was most of the suite's time (paged pools and long
  // contexts are millions of elements per problem).
  uint64_t state = c.seed * 0x9E3779B97F4A7C15ull + 17;
  const auto next = [&state] {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  // Uniform in [-1, 1): 24 random bits, exact in float.
  const auto unit = [&next] { return static_cast<float>(static_cast<int64_t>(next() >> 40) - (1 << 23)) * 0x1p-23f; };
  const auto random = [&](size_t n, float amplitude) {
    std::vector<float> values(n);
    for (float& x : values) x = amplitude * unit();
    return values;
  };
  const size_t dim = c.dim;
  // q and out: [head][row][dim], or [row][head][dim] with padding (different for q and out).
  if (c.strided) {
    q_head_stride_ = dim + 3;
    q_row_stride_ = c.heads * q_head_stride_ + 1;
    out_head_stride_ = dim + 1;
    out_row_stride_ = c.heads * out_head_stride_ + 2;
  } else {
    q_row_stride_ = out_row_stride_ = dim;
    q_head_stride_ = out_head_stride_ = c.queries * dim;
  }
  q_values_ = random(TensorSpan({{c.heads, q_head_stride_}, {c.queries, q_row_stride_}}, dim), c.q_amplitude);
  q_.emplace(c.q_type, q_values_.data(), q_values_.size());
  out_span_ = TensorSpan({{c.heads, out_head_stride_}, {c.queries, out_row_stride_}}, dim);
  // k and v.
  size_t k_span, v_span;
  if (c.block_size == 0) {
    if (c.strided) {
      k_head_stride_ = dim + 2;
      k_row_stride_ = c.kv_heads * k_head_stride_ + 3;
      v_head_stride_ = dim + 1;
      v_row_stride_ = c.kv_heads * v_head_stride_ + 1;
    } else {
      k_row_stride_ = v_row_stride_ = dim;
      k_head_stride_ = v_head_stride_ = c.keys * dim;
    }
    k_span = TensorSpan({{c.kv_heads, k_head_stride_}, {c.keys, k_row_stride_}}, dim);
    v_span = TensorSpan({{c.kv_heads, v_head_stride_}, {c.keys, v_row_stride_}}, dim);
  } else {
    const size_t b = c.block_size;
    const size_t used = (c.keys + b - 1) / b;
    n_blocks_ = used + 3;  // spare blocks, never referenced: the table is a shuffled subset of the pool
    if (c.strided) {       // [block][row][kv head][dim], padded
      k_head_stride_ = dim + 1;
      k_row_stride_ = c.kv_heads * k_head_stride_ + 2;
      k_block_stride_ = b * k_row_stride_ + 5;
      v_head_stride_ = dim + 2;
      v_row_stride_ = c.kv_heads * v_head_stride_ + 1;
      v_block_stride_ = b * v_row_stride_ + 3;
    } else {  // [block][kv head][row][dim]
      k_row_stride_ = v_row_stride_ = dim;
      k_head_stride_ = v_head_stride_ = b * dim;
      k_block_stride_ = v_block_stride_ = c.kv_heads * b * dim;
    }
    k_span = TensorSpan({{n_blocks_, k_block_stride_}, {b, k_row_stride_}, {c.kv_heads, k_head_stride_}}, dim);
    v_span = TensorSpan({{n_blocks_, v_block_stride_}, {b, v_row_stride_}, {c.kv_heads, v_head_stride_}}, dim);
    std::vector<int32_t> pool(n_blocks_);
    std::iota(pool.begin(), pool.end(), 0);
    for (size_t b = n_blocks_; b > 1; --b) std::swap(pool[b - 1], pool[next() % b]);  // Fisher-Yates
    block_table_.assign(pool.begin(), pool.begin() + std::max<size_t>(used, 1));
  }
  const std::vector<float> k_values = random(k_span, 1.0f), v_values = random(v_span, 1.0f);
  k_.emplace(c.kv_type, k_values.data(), k_values.size());
  v_.emplace(c.kv_type, v_values.data(), v_values.size());
  if (c.mask != MaskKind::kNone) {
    mask_row_stride_ = c.keys + (c.strided ? 5 : 0);
    mask_head_stride_ = c.mask == MaskKind::kBroadcast ? 0 : c.queries * mask_row_stride_ + (c.strided ? 3 : 0);
    const size_t mask_heads = c.mask == MaskKind::kBroadcast ? 1 : c.heads;
    mask_values_.resize(
        std::max<size_t>(1, TensorSpan({{mask_heads, mask_head_stride_}, {c.queries, mask_row_stride_}}, c.keys)));
    for (float& x : mask_values_) {
      const double coin = static_cast<double>(next() >> 11) * 0x1p-53;  // uniform in [0, 1)
      x = coin < c.mask_hidden ? -std::numeric_limits<float>::infinity() : 2.0f * unit();
    }
    mask_.emplace(c.mask_type, mask_values_.data(), mask_values_.size());
  }
  if (c.alibi) {
    for (size_t h = 0; h < c.heads; ++h) {
      slopes_.push_back(std::exp2(-8.0f * static_cast<float>(h + 1) / static_cast<float>(c.heads)));
    }
  }
  if (c.sinks) {
    for (size_t h = 0; h < c.heads; ++h) sinks_.push_back(1.0f + 2.0f * unit());
  }
  out_.assign(out_span_ * simdmax_dtype_size(c.out_type), kOutSentinelByte);
  if (c.lse) lse_.resize(c.heads * c.queries);
  ResetOutputs();
}

void AttentionProblem::ResetOutputs() {
  std::fill(out_.begin(), out_.end(), kOutSentinelByte);
  if (!lse_.empty()) std::memset(lse_.data(), kOutSentinelByte, lse_.size() * sizeof(float));
}

simdmax_attention_args AttentionProblem::Args() {
  simdmax_attention_args a;
  simdmax_attention_args_init(&a);
  a.q = q_->data();
  a.k = k_->size() == 0 ? nullptr : k_->data();
  a.v = v_->size() == 0 ? nullptr : v_->data();
  a.out = out_.data();
  a.lse = lse_.empty() ? nullptr : lse_.data();
  a.q_type = c_.q_type;
  a.kv_type = c_.kv_type;
  a.out_type = c_.out_type;
  a.n_heads = c_.heads;
  a.n_kv_heads = c_.kv_heads;
  a.n_queries = c_.queries;
  a.n_keys = c_.keys;
  a.head_dim = c_.dim;
  a.q_head_stride = q_head_stride_;
  a.q_row_stride = q_row_stride_;
  a.k_head_stride = k_head_stride_;
  a.k_row_stride = k_row_stride_;
  a.v_head_stride = v_head_stride_;
  a.v_row_stride = v_row_stride_;
  a.out_head_stride = out_head_stride_;
  a.out_row_stride = out_row_stride_;
  if (c_.block_size > 0) {
    a.block_table = block_table_.data();
    a.block_size = c_.block_size;
    a.n_blocks = n_blocks_;
    a.k_block_stride = k_block_stride_;
    a.v_block_stride = v_block_stride_;
  }
  a.scale = c_.scale;
  a.softcap = c_.softcap;
  a.alibi_slopes = slopes_.empty() ? nullptr : slopes_.data();
  if (mask_) {
    a.mask = mask_->data();
    a.mask_type = c_.mask_type;
    a.mask_head_stride = mask_head_stride_;
    a.mask_row_stride = mask_row_stride_;
  }
  a.causal = c_.causal ? 1 : 0;
  a.window = c_.window;
  a.sinks = sinks_.empty() ? nullptr : sinks_.data();
  return a;
}

float AttentionProblem::Out(size_t h, size_t i, size_t d) const {
  return WidenElement(c_.out_type, out_.data(), OutIndex(h, i, d));
}

bool AttentionProblem::OutUntouched(size_t index) const {
  const size_t size = simdmax_dtype_size(c_.out_type);
  for (size_t b = 0; b < size; ++b) {
    if (out_[index * size + b] != kOutSentinelByte) return false;
  }
  return true;
}

void AttentionProblem::SetQ(size_t h, size_t i, size_t d, float value) {
  q_values_[h * q_head_stride_ + i * q_row_stride_ + d] = value;
  q_.emplace(c_.q_type, q_values_.data(), q_values_.size());
}

void AttentionProblem::SetMask(size_t h, size_t i, size_t j, float value) {
  mask_values_[h * mask_head_stride_ + i * mask_row_stride_ + j] = value;
  mask_.emplace(c_.mask_type, mask_values_.data(), mask_values_.size());
}

void AttentionProblem::SetMaskValues(const std::function<float(size_t h, size_t i, size_t j)>& value) {
  const size_t mask_heads = c_.mask == MaskKind::kBroadcast ? 1 : c_.heads;
  for (size_t h = 0; h < mask_heads; ++h) {
    for (size_t i = 0; i < c_.queries; ++i) {
      for (size_t j = 0; j < c_.keys; ++j)
        mask_values_[h * mask_head_stride_ + i * mask_row_stride_ + j] = value(h, i, j);
    }
  }
  mask_.emplace(c_.mask_type, mask_values_.data(), mask_values_.size());
}

}  // namespace simdmax_test
