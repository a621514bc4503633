// simdmax_attention_f32 against the long-double naive formula (tests/attention_reference.h) on every target:
// random and adversarial data, GQA/MQA/MHA, causal corners, key counts that are no multiple of any block,
// head_dim 1..256, strided layouts, split-K decode; bit-identical results for 1, 2 and all threads; argument errors
// that leave the output untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/attention_reference.h"
#include "tests/inputs.h"
#include "tests/target_fixture.h"
#include "tests/tolerances.h"

namespace simdmax_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

enum class Data {
  kRandom,       // q, k, v uniform in [-1, 1]
  kLargeRange,   // q, k in [-8, 8] with scale 1: scores spread over thousands, most weights underflow
  kAscending,    // scores grow with the key index: the running max grows in every block (maximal rescaling)
  kOneDominant,  // one key far above the rest
  kMixedValues,  // v spans 1e-3 .. 1e3 in magnitude across columns
};
const char* DataName(Data data) {
  switch (data) {
    case Data::kRandom:
      return "random";
    case Data::kLargeRange:
      return "large_range";
    case Data::kAscending:
      return "ascending";
    case Data::kOneDominant:
      return "one_dominant";
    case Data::kMixedValues:
      return "mixed_values";
  }
  return "?";
}

struct Shape {
  size_t heads, kv_heads, queries, keys, dim;
  bool causal;
};
std::string ShapeName(const Shape& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "h%zu/kv%zu q%zu k%zu d%zu%s", s.heads, s.kv_heads, s.queries, s.keys, s.dim,
                s.causal ? " causal" : "");
  return buf;
}

struct Problem {
  simdmax_attention_desc desc;
  std::vector<float> q, k, v;
};

// Contiguous [head][row][dim] tensors, or (strided) [row][head][dim] with padding after each row and head.
Problem MakeProblem(const Shape& s, Data data, bool strided, uint64_t seed) {
  Problem p;
  p.desc = simdmax::ContiguousAttention(s.heads, s.kv_heads, s.queries, s.keys, s.dim, s.causal);
  if (strided) {
    const size_t pad = 3;
    p.desc.q_head_stride = p.desc.out_head_stride = s.dim + pad;
    p.desc.q_row_stride = p.desc.out_row_stride = s.heads * (s.dim + pad) + 1;
    p.desc.k_head_stride = p.desc.v_head_stride = s.dim + pad;
    p.desc.k_row_stride = p.desc.v_row_stride = s.kv_heads * (s.dim + pad) + 2;
  }
  const auto size = [](size_t heads, size_t hs, size_t rows, size_t rs, size_t dim) {
    return heads == 0 || rows == 0 ? 0 : (heads - 1) * hs + (rows - 1) * rs + dim;
  };
  p.q.assign(size(s.heads, p.desc.q_head_stride, s.queries, p.desc.q_row_stride, s.dim), 0.0f);
  p.k.assign(size(s.kv_heads, p.desc.k_head_stride, s.keys, p.desc.k_row_stride, s.dim), 0.0f);
  p.v.assign(size(s.kv_heads, p.desc.v_head_stride, s.keys, p.desc.v_row_stride, s.dim), 0.0f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (auto& x : p.q) x = unit(rng);
  for (auto& x : p.k) x = unit(rng);
  for (auto& x : p.v) x = unit(rng);
  const simdmax_attention_desc& d = p.desc;
  auto k_at = [&](size_t g, size_t j) { return &p.k[g * d.k_head_stride + j * d.k_row_stride]; };
  auto v_at = [&](size_t g, size_t j) { return &p.v[g * d.v_head_stride + j * d.v_row_stride]; };
  switch (data) {
    case Data::kRandom:
      break;
    case Data::kLargeRange:
      for (auto& x : p.q) x *= 8.0f;
      for (auto& x : p.k) x *= 8.0f;
      p.desc.scale = 1.0f;
      break;
    case Data::kAscending:
      // Component 0 of every query is 1 and of key j grows with j, dominating the score.
      for (size_t h = 0; h < s.heads; ++h) {
        for (size_t i = 0; i < s.queries; ++i) p.q[h * d.q_head_stride + i * d.q_row_stride] = 1.0f;
      }
      for (size_t g = 0; g < s.kv_heads; ++g) {
        for (size_t j = 0; j < s.keys; ++j) k_at(g, j)[0] = 0.05f * static_cast<float>(j);
      }
      p.desc.scale = 1.0f;
      break;
    case Data::kOneDominant:
      for (size_t g = 0; g < s.kv_heads && s.keys > 0; ++g) {
        const size_t j = rng() % s.keys;
        for (size_t c = 0; c < s.dim; ++c) k_at(g, j)[c] = 40.0f * (p.q[c] > 0 ? 1.0f : -1.0f);
      }
      break;
    case Data::kMixedValues:
      for (size_t g = 0; g < s.kv_heads; ++g) {
        for (size_t j = 0; j < s.keys; ++j) {
          for (size_t c = 0; c < s.dim; ++c) v_at(g, j)[c] *= std::pow(10.0f, static_cast<float>(c % 7) - 3.0f);
        }
      }
      break;
  }
  return p;
}

// Scores of ~1000 (kLargeRange, kAscending) carry a float rounding of ~6e-5 absolute, which becomes the relative
// error of their weights: a separate, documented bound.
bool LargeScores(Data data) { return data == Data::kLargeRange || data == Data::kAscending; }
double OutTol(Data data) { return LargeScores(data) ? kAttentionOutRelTolLargeScores : kAttentionOutRelTol; }

struct Errors {
  double out = 0;  // max |out - ref| / max_j |v_j[d]|
  double lse = 0;  // max |lse - ref| / max(1, |ref|)
};

// Runs and checks one problem on the current target; returns the measured errors.
Errors Check(const Shape& s, Data data, bool strided, uint64_t seed) {
  const Problem p = MakeProblem(s, data, strided, seed);
  const simdmax_attention_desc& d = p.desc;
  const size_t out_size =
      (s.heads - 1) * d.out_head_stride + (s.queries == 0 ? 0 : (s.queries - 1) * d.out_row_stride) + s.dim;
  constexpr float kSentinel = 1234.5f;
  std::vector<float> out(out_size, kSentinel), lse(s.heads * s.queries, kSentinel);
  EXPECT_EQ(simdmax_attention_f32(&d, p.q.data(), p.k.empty() ? nullptr : p.k.data(),
                                  p.v.empty() ? nullptr : p.v.data(), out.data(), lse.data()),
            SIMDMAX_OK);
  const AttentionReference ref = ReferenceAttention(d, p.q.data(), p.k.data(), p.v.data());
  Errors e;
  std::vector<bool> written(out_size, false);
  const std::string what = ShapeName(s) + " " + DataName(data) + (strided ? " strided" : "");
  for (size_t h = 0; h < s.heads; ++h) {
    for (size_t i = 0; i < s.queries; ++i) {
      const size_t row = h * s.queries + i;
      const long double want_lse = ref.lse[row];
      if (std::isinf(want_lse)) {
        EXPECT_EQ(lse[row], -kInf) << what << " row " << row;
      } else {
        const double err = static_cast<double>(std::fabs(lse[row] - want_lse) / std::max(1.0L, std::fabs(want_lse)));
        e.lse = std::max(e.lse, err);
      }
      for (size_t c = 0; c < s.dim; ++c) {
        const size_t at = h * d.out_head_stride + i * d.out_row_stride + c;
        written[at] = true;
        const float got = out[at];
        if (std::isnan(got)) {
          ADD_FAILURE() << what << " row " << row << " d " << c << ": NaN";
          return e;
        }
        const long double scale = ref.v_scale[row * s.dim + c];
        const long double diff = std::fabs(got - ref.out[row * s.dim + c]);
        const double err = static_cast<double>(scale == 0 ? diff : diff / scale);
        if (err > OutTol(data)) {
          ADD_FAILURE() << what << " row " << row << " d " << c << ": got " << got << " want "
                        << static_cast<double>(ref.out[row * s.dim + c]) << " (err " << err << ")";
          return e;
        }
        e.out = std::max(e.out, err);
      }
    }
  }
  for (size_t at = 0; at < out_size; ++at) {
    if (!written[at]) {
      EXPECT_EQ(out[at], kSentinel) << what << ": padding written at " << at;
    }
  }
  EXPECT_LE(e.lse, kAttentionLseRelTol) << what;
  return e;
}

void Worst(Errors& acc, const Errors& e) {
  acc.out = std::max(acc.out, e.out);
  acc.lse = std::max(acc.lse, e.lse);
}
// Worst errors by data class: [0] ordinary scores, [1] large scores.
struct ClassErrors {
  Errors by_class[2];
  void Add(Data data, const Errors& e) { Worst(by_class[LargeScores(data) ? 1 : 0], e); }
};

class Attention : public PerTarget {
 protected:
  void TearDown() override {
    simdmax_set_max_threads(0);
    PerTarget::TearDown();
  }
  void Report(const char* what, const ClassErrors& e) {
    std::printf("[measured] %s %s: out %.3g x max|v| (large scores %.3g), lse %.3g (large scores %.3g)\n",
                GetParam().c_str(), what, e.by_class[0].out, e.by_class[1].out, e.by_class[0].lse, e.by_class[1].lse);
  }
};

TEST_P(Attention, ShapesAndData) {
  const Shape shapes[] = {
      {8, 2, 1, 3000, 128, false},  // GQA decode, split-K with a partial last chunk
      {4, 1, 1, 5000, 64, true},    // MQA decode, split-K
      {4, 4, 3, 2049, 32, true},    // MHA speculative decode: 3 queries, split-K, causal
      {2, 2, 37, 37, 33, true},     // causal prefill, square
      {2, 1, 100, 70, 16, true},    // fewer keys than queries: the first 30 queries see nothing
      {3, 3, 20, 200, 1, false},    // head_dim 1
      {6, 1, 5, 129, 7, true},      // MQA, odd head_dim, keys = 2 blocks + 1
      {32, 8, 2, 65, 128, false},   // one block + 1 key
      {20, 20, 17, 1, 5, true},     // a single key
      {2, 2, 40, 1100, 24, true},   // prefill past one chunk without split (40 queries)
  };
  ClassErrors worst;
  // Under qemu (EmulatedRun) one data set per shape, ordinary and large scores in turn, keeps the run short;
  // native runs use all five on every shape.
  const bool emulated = EmulatedRun();
  const std::vector<Data> datas = {Data::kRandom, Data::kLargeRange, Data::kAscending, Data::kOneDominant,
                                   Data::kMixedValues};
  size_t shape_index = 0;
  for (const Shape& s : shapes) {
    for (Data data : datas) {
      if (emulated && data != datas[shape_index % 2]) continue;
      worst.Add(data, Check(s, data, /*strided=*/false, 1));
    }
    ++shape_index;
    worst.Add(Data::kRandom, Check(s, Data::kRandom, /*strided=*/true, 2));
  }
  Report("shapes x data", worst);
}

TEST_P(Attention, EveryHeadDim) {
  ClassErrors worst;
  const bool emulated = EmulatedRun();
  for (size_t dim = 1; dim <= 256; dim += (dim < 40 ? (emulated ? 3 : 1) : (emulated ? 37 : 13))) {
    worst.Add(Data::kRandom, Check({2, 1, 9, 131, dim, dim % 2 == 0}, Data::kRandom, false, dim));
  }
  const std::vector<size_t> long_dims =
      emulated ? std::vector<size_t>{63, 128, 129} : std::vector<size_t>{63, 64, 65, 127, 128, 129, 255, 256};
  for (size_t dim : long_dims) {
    worst.Add(Data::kLargeRange, Check({4, 2, 1, 2100, dim, false}, Data::kLargeRange, dim % 2 == 1, dim));
    worst.Add(Data::kMixedValues, Check({4, 2, 1, 2100, dim, false}, Data::kMixedValues, dim % 2 == 1, dim));
  }
  Report("head_dim 1..256", worst);
}

// Long decode rows: the split-K merge over many chunks.
TEST_P(Attention, LongDecode) {
  ClassErrors worst;
  const size_t keys = EmulatedRun() ? 6000 : 20000;  // still several split-K chunks under qemu
  for (Data data : {Data::kRandom, Data::kOneDominant, Data::kAscending, Data::kLargeRange}) {
    // Under qemu the two data sets whose merges differ most (one key dominating every chunk, large scores).
    if (EmulatedRun() && (data == Data::kRandom || data == Data::kAscending)) continue;
    worst.Add(data, Check({8, 2, 1, keys, 128, false}, data, false, 3));
  }
  Report("decode 20000 keys", worst);
}

TEST_P(Attention, NoVisibleKeyGivesZerosAndMinusInfinity) {
  // n_keys == 0: k and v may be NULL.
  simdmax_attention_desc d = simdmax::ContiguousAttention(4, 2, 3, 0, 8, false);
  std::vector<float> q(4 * 3 * 8, 1.0f), out(4 * 3 * 8, 5.0f), lse(12, 5.0f);
  ASSERT_EQ(simdmax_attention_f32(&d, q.data(), nullptr, nullptr, out.data(), lse.data()), SIMDMAX_OK);
  for (float x : out) EXPECT_EQ(x, 0.0f);
  for (float x : lse) EXPECT_EQ(x, -kInf);
  // Causal with fewer keys than queries: covered row by row in ShapesAndData; here with lse NULL.
  d = simdmax::ContiguousAttention(1, 1, 4, 2, 8, true);
  std::vector<float> k(2 * 8, 0.5f), v(2 * 8, 2.0f);
  out.assign(4 * 8, 5.0f);
  ASSERT_EQ(simdmax_attention_f32(&d, q.data(), k.data(), v.data(), out.data(), nullptr), SIMDMAX_OK);
  for (size_t c = 0; c < 8; ++c) {
    EXPECT_EQ(out[0 * 8 + c], 0.0f);
    EXPECT_EQ(out[1 * 8 + c], 0.0f);
    EXPECT_EQ(out[2 * 8 + c], 2.0f);  // one visible key: exactly its value
    EXPECT_NEAR(out[3 * 8 + c], 2.0f, 1e-6f);
  }
  // n_heads == 0 or n_queries == 0: no-op with NULL pointers.
  d.n_queries = 0;
  EXPECT_EQ(simdmax_attention_f32(&d, nullptr, nullptr, nullptr, nullptr, nullptr), SIMDMAX_OK);
}

// The lse output lets a caller merge results over disjoint key ranges (what simdmax does internally for split-K).
TEST_P(Attention, CallerMergeWithLse) {
  const Shape s{4, 2, 2, 300, 40, false};
  const Problem p = MakeProblem(s, Data::kRandom, false, 9);
  simdmax_attention_desc whole = p.desc, first = p.desc, second = p.desc;
  first.n_keys = 120;
  second.n_keys = 180;
  const size_t n = s.heads * s.queries * s.dim;
  std::vector<float> out(n), out1(n), out2(n), lse(8), lse1(8), lse2(8);
  ASSERT_EQ(simdmax_attention_f32(&whole, p.q.data(), p.k.data(), p.v.data(), out.data(), lse.data()), SIMDMAX_OK);
  ASSERT_EQ(simdmax_attention_f32(&first, p.q.data(), p.k.data(), p.v.data(), out1.data(), lse1.data()), SIMDMAX_OK);
  ASSERT_EQ(simdmax_attention_f32(&second, p.q.data(), p.k.data() + 120 * s.dim, p.v.data() + 120 * s.dim, out2.data(),
                                  lse2.data()),
            SIMDMAX_OK);
  for (size_t row = 0; row < 8; ++row) {
    const double m = std::max(lse1[row], lse2[row]);
    const double w1 = std::exp(lse1[row] - m), w2 = std::exp(lse2[row] - m);
    EXPECT_NEAR(m + std::log(w1 + w2), lse[row], 1e-5);
    for (size_t c = 0; c < s.dim; ++c) {
      const size_t at = row * s.dim + c;
      EXPECT_NEAR((w1 * out1[at] + w2 * out2[at]) / (w1 + w2), out[at], 1e-5) << row << " " << c;
    }
  }
}

TEST_P(Attention, BitIdenticalForEveryThreadCount) {
  // Under qemu (EmulatedRun) fewer heads and a narrower head: still split-K and several prefill tiles.
  const bool emulated = EmulatedRun();
  const Shape shapes[] = {{emulated ? 4u : 32u, emulated ? 2u : 8u, 1, 9000, emulated ? 32u : 128u, false},
                          {4, 4, 4, 5000, emulated ? 16u : 64u, true},
                          {emulated ? 2u : 8u, 2, 300, 300, emulated ? 16u : 64u, true}};
  for (const Shape& s : shapes) {
    const Problem p = MakeProblem(s, Data::kRandom, false, 4);
    std::vector<std::vector<float>> outs, lses;
    for (size_t threads : {size_t{1}, emulated ? size_t{3} : size_t{2}, size_t{0}}) {
      if (emulated && threads == 0) continue;
      ASSERT_EQ(simdmax_set_max_threads(threads), SIMDMAX_OK);
      outs.emplace_back(s.heads * s.queries * s.dim);
      lses.emplace_back(s.heads * s.queries);
      ASSERT_EQ(
          simdmax_attention_f32(&p.desc, p.q.data(), p.k.data(), p.v.data(), outs.back().data(), lses.back().data()),
          SIMDMAX_OK);
    }
    for (size_t t = 1; t < outs.size(); ++t) {
      EXPECT_EQ(std::memcmp(outs[0].data(), outs[t].data(), outs[0].size() * sizeof(float)), 0) << ShapeName(s);
      EXPECT_EQ(std::memcmp(lses[0].data(), lses[t].data(), lses[0].size() * sizeof(float)), 0) << ShapeName(s);
    }
  }
}

TEST_P(Attention, ArgumentErrorsLeaveOutputUntouched) {
  const Shape s{4, 2, 3, 10, 8, false};
  const Problem p = MakeProblem(s, Data::kRandom, false, 5);
  std::vector<float> out(4 * 3 * 8, 7.0f), lse(12, 7.0f);
  const auto run = [&](const simdmax_attention_desc* d, const float* q, const float* k, const float* v, float* o,
                       float* l) { return simdmax_attention_f32(d, q, k, v, o, l); };
  const float* q = p.q.data();
  const float* k = p.k.data();
  const float* v = p.v.data();
  EXPECT_EQ(run(nullptr, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(run(&p.desc, nullptr, k, v, out.data(), lse.data()), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(run(&p.desc, q, nullptr, v, out.data(), lse.data()), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(run(&p.desc, q, k, nullptr, out.data(), lse.data()), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(run(&p.desc, q, k, v, nullptr, lse.data()), SIMDMAX_ERROR_NULL_POINTER);
  simdmax_attention_desc d = p.desc;
  d.n_kv_heads = 3;  // 4 % 3 != 0
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_ARGUMENT);
  d = p.desc;
  d.n_kv_heads = 0;
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_ARGUMENT);
  d = p.desc;
  d.head_dim = 0;
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_ARGUMENT);
  d = p.desc;
  d.scale = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_ARGUMENT);
  for (size_t simdmax_attention_desc::*stride :
       {&simdmax_attention_desc::q_row_stride, &simdmax_attention_desc::q_head_stride,
        &simdmax_attention_desc::k_row_stride, &simdmax_attention_desc::k_head_stride,
        &simdmax_attention_desc::v_row_stride, &simdmax_attention_desc::v_head_stride,
        &simdmax_attention_desc::out_row_stride, &simdmax_attention_desc::out_head_stride}) {
    d = p.desc;
    d.*stride = 7;  // < head_dim
    EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_STRIDE);
  }
  d = p.desc;
  d.k_row_stride = SIZE_MAX / 2;
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_SHAPE);
  d = p.desc;
  d.n_queries = SIZE_MAX / 4;
  EXPECT_EQ(run(&d, q, k, v, out.data(), lse.data()), SIMDMAX_ERROR_INVALID_SHAPE);
  // out over q (in place is not supported), lse inside out.
  std::vector<float> q_copy = p.q;
  EXPECT_EQ(run(&p.desc, q_copy.data(), k, v, q_copy.data(), lse.data()), SIMDMAX_ERROR_OVERLAP);
  EXPECT_EQ(run(&p.desc, q, k, v, out.data(), out.data() + 4), SIMDMAX_ERROR_OVERLAP);
  EXPECT_EQ(q_copy, p.q);
  for (float x : out) EXPECT_EQ(x, 7.0f);
  for (float x : lse) EXPECT_EQ(x, 7.0f);
  // n_heads == 0 is a no-op even with a bad kv count only when the ratio is valid: 0 % 2 == 0.
  d = p.desc;
  d.n_heads = 0;
  EXPECT_EQ(run(&d, nullptr, nullptr, nullptr, nullptr, nullptr), SIMDMAX_OK);
  // The C++ wrapper goes through the same checks.
  EXPECT_EQ(simdmax::Attention(p.desc, q, k, v, nullptr), simdmax::Status::kNullPointer);
}

SIMDMAX_INSTANTIATE_PER_TARGET(Attention);

}  // namespace
}  // namespace simdmax_test
