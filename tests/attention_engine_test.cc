// simdmax_attention and simdmax_attention_batch (simdmax.h, "Attention as engines call it") on every target, against
// the long-double reference of the general formula (tests/attention_reference.h): GQA ratios 1/2/4/8, head_dim
// 1..256, sliding windows around the 64-key blocks and the 1024-key decode chunks, broadcast and per-head masks of
// every type, paged K/V with shuffled block tables and partial last blocks, sinks, soft-cap, ALiBi, the 27 typed
// q/kv/out combinations, and batches mixing them. Then what the contract states exactly: bit-identical results for
// every thread count, per sequence of a batch whatever the batch, and between simdmax_attention_f32 and
// simdmax_attention; exact zeros and -inf (or the sink) for queries that see no key; NaN rows for NaN or +inf mask
// entries and NaN queries; -inf mask entries hiding keys as a window does.
//
// Bounds (tests/tolerances.h): |out - exact| <= kAttentionOutRelTol * max|v_j| for f32 outputs, plus
// kAttentionHalfOutputUlp ULP of the output type at the exact value for f16/bf16 outputs; |lse - exact| <=
// kAttentionLseRelTol * max(1, |exact|). Scores stay within tens (scale ~1/sqrt(d) on values in [-1, 1]; soft-caps
// of 5..50 over scores of up to ~10; ALiBi slopes 2^-1..2^-8 over lengths where the biases that matter stay small),
// the regime those bounds are stated for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/attention_problem.h"
#include "tests/attention_reference.h"
#include "tests/dtype.h"
#include "tests/inputs.h"
#include "tests/target_fixture.h"
#include "tests/tolerances.h"

namespace simdmax_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

#ifdef SIMDMAX_TEST_UNDER_SANITIZER
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif
// Under qemu (the AArch64 suite runs every test emulated, and the long-double reference is software quad precision
// there) and under the sanitizers (~10x slower): fewer and smaller cases, the same features.
bool Small() { return EmulatedRun() || kUnderSanitizer; }

// One ULP of `type` at the exact value x: the spacing of the type's values in x's binade (the subnormal spacing
// below the normal range).
long double UlpAt(simdmax_dtype type, long double x) {
  const int precision = type == SIMDMAX_F16 ? 11 : (type == SIMDMAX_BF16 ? 8 : 24);
  const int emin = type == SIMDMAX_F16 ? -14 : -126;
  int exponent = emin;
  if (x != 0 && std::isfinite(x)) {
    int e = 0;
    std::frexp(std::fabs(x), &e);  // |x| = m 2^e, m in [0.5, 1)
    exponent = std::max(e - 1, emin);
  }
  return std::ldexp(1.0L, exponent - (precision - 1));
}

struct Measured {
  double out = 0;       // f32 outputs: max |out - exact| / max|v_j|
  double half_out = 0;  // f16/bf16 outputs: max |out - exact| / (its bound), <= 1
  double lse = 0;       // max |lse - exact| / max(1, |exact|)
  void Add(const Measured& m) {
    out = std::max(out, m.out);
    half_out = std::max(half_out, m.half_out);
    lse = std::max(lse, m.lse);
  }
};

// The reference of an unmodified case, computed once per process (every target checks against the same one; it
// is the dominant cost of the suite, especially under qemu). Keyed by the case's full name.
const AttentionReference& CachedReference(AttentionProblem& p) {
  static std::map<std::string, AttentionReference> cache;
  const std::string key = p.Case().Name();
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, ReferenceAttention(p.Args())).first;
  return it->second;
}

// Compares a problem the library has run with its reference: every element and lse within the bounds; rows the
// reference makes NaN entirely NaN; rows with no visible key exactly 0 with lse -inf (sinks[h] with a sink);
// never a NaN elsewhere; every out element outside the (h, i, d < dim) rows untouched.
Measured Check(const AttentionProblem& p, const AttentionReference& ref, const std::string& what) {
  const AttentionCase& c = p.Case();
  Measured m;
  int failures = 0;
  const auto report = [&](size_t h, size_t i, long long d, double got, long double want, const char* why) {
    if (++failures <= 4) {
      ADD_FAILURE() << what << ": h " << h << " i " << i << (d < 0 ? " lse" : " d ") << (d < 0 ? "" : std::to_string(d))
                    << ": got " << got << " want " << static_cast<double>(want) << " (" << why << ")";
    }
  };
  std::vector<bool> written(p.OutSpan(), false);
  for (size_t h = 0; h < c.heads; ++h) {
    for (size_t i = 0; i < c.queries; ++i) {
      const size_t row = h * c.queries + i;
      const bool hidden = ref.visible_keys[row] == 0;
      if (c.lse) {
        const float got = p.Lse(h, i);
        const long double want = ref.lse[row];
        if (std::isnan(want)) {
          if (!std::isnan(got)) report(h, i, -1, got, want, "NaN expected");
        } else if (hidden) {
          const float exact = c.sinks ? p.Sinks()[h] : -kInf;
          if (!(got == exact)) report(h, i, -1, got, want, c.sinks ? "no visible key: the sink exactly" : "-inf");
        } else {
          const double err = static_cast<double>(std::fabs(got - want) / std::max(1.0L, std::fabs(want)));
          if (!(err <= kAttentionLseRelTol)) report(h, i, -1, got, want, "lse bound");
          m.lse = std::max(m.lse, err);
        }
      }
      for (size_t d = 0; d < c.dim; ++d) {
        written[p.OutIndex(h, i, d)] = true;
        const float got = p.Out(h, i, d);
        const long double want = ref.out[row * c.dim + d];
        if (std::isnan(want)) {
          if (!std::isnan(got)) report(h, i, d, got, want, "NaN expected");
          continue;
        }
        if (hidden) {
          if (got != 0.0f) report(h, i, d, got, want, "no visible key: exactly 0");
          continue;
        }
        const long double v_scale = ref.v_scale[row * c.dim + d];
        const long double diff = std::fabs(got - want);
        if (c.out_type == SIMDMAX_F32) {
          const long double bound = kAttentionOutRelTol * v_scale;
          if (!(diff <= bound)) report(h, i, d, got, want, "out bound");
          m.out = std::max(m.out, static_cast<double>(v_scale == 0 ? diff : diff / v_scale));
        } else {
          const long double bound = kAttentionOutRelTol * v_scale + kAttentionHalfOutputUlp * UlpAt(c.out_type, want);
          if (!(diff <= bound)) report(h, i, d, got, want, "out bound (f16/bf16)");
          m.half_out = std::max(m.half_out, static_cast<double>(diff / bound));
        }
      }
      if (failures > 16) return m;
    }
  }
  for (size_t at = 0; at < p.OutSpan(); ++at) {
    if (!written[at] && !p.OutUntouched(at)) {
      ADD_FAILURE() << what << ": out padding written at element " << at;
      break;
    }
  }
  return m;
}

bool SameOutputs(const AttentionProblem& a, const AttentionProblem& b) {
  // std::equal rather than memcmp: a call without lse has empty vectors, and memcmp of NULL is undefined (UBSan).
  return a.OutBytes() == b.OutBytes() && a.LseValues().size() == b.LseValues().size() &&
         std::equal(a.LseValues().begin(), a.LseValues().end(), b.LseValues().begin(),
                    [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; });
}

class AttentionEngine : public PerTarget {
 protected:
  void TearDown() override {
    simdmax_set_max_threads(0);
    PerTarget::TearDown();
  }
  // Runs one case with simdmax_attention on the current target and checks it against the (cached) reference.
  void Run(const AttentionCase& c) {
    AttentionProblem p(c);
    const simdmax_attention_args a = p.Args();
    const simdmax_status status = simdmax_attention(&a);
    ASSERT_EQ(status, SIMDMAX_OK) << c.Name() << ": " << simdmax_status_string(status);
    worst_.Add(Check(p, CachedReference(p), c.Name()));
  }
  void Report(const char* what) {
    std::printf("[measured] %s %s: out %.3g x max|v| (f32 out), f16/bf16 out %.3g of the bound, lse %.3g\n",
                GetParam().c_str(), what, worst_.out, worst_.half_out, worst_.lse);
  }
  Measured worst_;
};

// A base case: values in [-1, 1], default scale.
AttentionCase Shape(size_t heads, size_t kv_heads, size_t queries, size_t keys, size_t dim, bool causal = false) {
  AttentionCase c;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.queries = queries;
  c.keys = keys;
  c.dim = dim;
  c.causal = causal;
  return c;
}

TEST_P(AttentionEngine, GqaRatiosAndHeadDims) {
  const bool small = Small();
  std::vector<size_t> dims;
  if (small) {
    dims = {1, 2, 3, 5, 8, 16, 17, 31, 33, 64, 65, 128, 129, 256};
  } else {
    for (size_t d = 1; d <= 20; ++d) dims.push_back(d);
    for (size_t d : {23, 24, 31, 32, 33, 47, 48, 63, 64, 65, 80, 96, 100, 127, 128, 129, 160, 191, 192, 255, 256}) {
      dims.push_back(d);
    }
  }
  size_t n = 0;
  for (size_t dim : dims) {
    const size_t ratio = size_t{1} << (n % 4);
    AttentionCase c = Shape(8, 8 / ratio, small ? 3 : 5, small ? 70 : 150, dim, n % 2 == 1);
    c.strided = n % 3 == 0;
    c.seed = dim;
    Run(c);
    ++n;
  }
  // Every ratio on the split-decode path (n_queries <= 8, n_keys >= 2048), from MHA to 8 query heads per kv head.
  for (size_t ratio : {1, 2, 4, 8}) {
    for (size_t queries : {1, 4}) {
      if (small && (queries == 1) != (ratio <= 2)) continue;  // emulated: one query count per ratio
      AttentionCase c = Shape(8, 8 / ratio, queries, 2100, small ? 16 : 64, queries > 1);
      c.seed = ratio;
      Run(c);
    }
  }
  Report("GQA ratios x head_dim");
}

// Keys are walked in blocks of 64, and decode keys split into chunks of 1024: the first and last visible keys of
// a window at, before and after those edges, one-sided (causal) and two-sided.
TEST_P(AttentionEngine, WindowsAroundBlockAndChunkEdges) {
  const bool small = Small();
  const size_t queries = small ? 70 : 150, keys = small ? 100 : 200;
  const std::vector<size_t> windows =
      small ? std::vector<size_t>{1, 63, 64, 65, 129}
            : std::vector<size_t>{1, 2, 63, 64, 65, 127, 128, 129, 191, 200, 1000, SIZE_MAX};
  for (size_t window : windows) {
    for (bool causal : {true, false}) {
      AttentionCase c = Shape(2, 1, queries, keys, 16, causal);
      c.window = window;
      c.seed = window % 1000;
      Run(c);
    }
  }
  // Decode: window = keys - first puts the last query's first visible key at `first`.
  const size_t decode_keys = small ? 2100 : 3000;
  const std::vector<size_t> firsts =
      small ? std::vector<size_t>{64, 1023, 1025, 2047} : std::vector<size_t>{63, 64, 65, 1023, 1024, 1025, 2047, 2048};
  size_t n = 0;
  for (size_t first : firsts) {
    for (size_t q : {1, 8}) {
      AttentionCase c = Shape(4, 2, q, decode_keys, small ? 16 : 32, n++ % 2 == 0);
      c.window = decode_keys - first;
      Run(c);
    }
  }
  Report("windows");
}

// Split decode starts at 2048 keys and n_queries <= 8; chunks are 1024 keys, longer for contexts past 64 chunks.
TEST_P(AttentionEngine, DecodeChunkEdges) {
  const bool small = Small();
  const std::vector<size_t> key_counts = small ? std::vector<size_t>{2047, 2048, 2049, 3073}
                                               : std::vector<size_t>{2047, 2048, 2049, 3071, 3072, 3073, 4097};
  for (size_t keys : key_counts) {
    for (size_t queries : {size_t{1}, size_t{8}, size_t{9}}) {
      if (small && queries == 8) continue;
      AttentionCase c = Shape(2, 1, queries, keys, 16, queries > 1);
      c.seed = keys + queries;
      Run(c);
    }
  }
  // Past 64 chunks of 1024 keys: at most 64 longer chunks.
  for (size_t keys : small ? std::vector<size_t>{66000} : std::vector<size_t>{65536, 65537, 70000}) {
    Run(Shape(small ? 1 : 2, 1, 1, keys, small ? 4 : 16));
  }
  Report("decode chunk edges");
}

TEST_P(AttentionEngine, Masks) {
  const bool small = Small();
  const AttentionCase shapes[] = {
      Shape(4, 2, small ? 20 : 40, small ? 70 : 130, 24, true),  // causal prefill over 2+ blocks
      Shape(4, 2, 33, 70, 24, false),                            // two-sided
      Shape(4, 1, 2, small ? 2100 : 2200, small ? 16 : 32),      // split decode
  };
  size_t n = 0;
  for (MaskKind kind : {MaskKind::kBroadcast, MaskKind::kPerHead}) {
    for (simdmax_dtype type : kAllDtypes) {
      for (const AttentionCase& shape : shapes) {
        if (small && (n++ % 2 == 1)) continue;
        AttentionCase c = shape;
        c.mask = kind;
        c.mask_type = type;
        c.mask_hidden = 0.3;
        c.strided = type != SIMDMAX_F32;
        Run(c);
      }
    }
  }
  // Most keys hidden (rows with one or two visible keys, some with none), and everything hidden, with and without
  // sinks; with a window and causal on top.
  for (double hidden : {0.97, 1.0}) {
    for (const AttentionCase& shape : shapes) {
      for (bool sinks : {false, true}) {
        AttentionCase c = shape;
        c.mask = MaskKind::kPerHead;
        c.mask_type = sinks ? SIMDMAX_BF16 : SIMDMAX_F16;
        c.mask_hidden = hidden;
        c.sinks = sinks;
        Run(c);
      }
    }
  }
  AttentionCase c = shapes[0];
  c.mask = MaskKind::kBroadcast;
  c.window = 65;
  Run(c);
  Report("masks");
}

TEST_P(AttentionEngine, PagedKv) {
  const bool small = Small();
  const std::vector<size_t> key_counts = small ? std::vector<size_t>{37, 300} : std::vector<size_t>{1, 37, 300, 1000};
  size_t n = 0;
  for (size_t block_size : {1, 16, 256}) {
    for (size_t keys : key_counts) {
      AttentionCase c = Shape(8, 2, std::min<size_t>(keys, small ? 8 : 20), keys, small ? 24 : 40, true);
      c.block_size = block_size;
      c.strided = n++ % 2 == 0;
      c.seed = keys * 7 + block_size;
      Run(c);
    }
    // Split decode over a paged context whose last block is partial (2500 = 9 * 256 + 196 = 156 * 16 + 4).
    AttentionCase c = Shape(8, 2, 1, small ? 2100 : 2500, small ? 16 : 64);
    c.block_size = block_size;
    c.strided = block_size == 16;
    Run(c);
  }
  AttentionCase c = Shape(4, 4, 8, 2049, small ? 16 : 32, true);
  c.block_size = 16;
  c.kv_type = SIMDMAX_F16;
  Run(c);
  Report("paged");
}

// A paged pool of a few rows that the block table reads thousands of times (a prefix shared by every key, the
// attention fuzzer's finding of 2026-12-06, seed tests/fuzz/corpus_attention/repeated-pool-rows): the same (score,
// value) products repeat, and their f32 roundings do not average out as random data's do. Before each block's
// products were summed from zero (kernels/attention-inl.h AccumulatePV4), one running sum over 2904 keys left an
// output 1.57e-6 x max|v| off, beyond kAttentionOutRelTol.
TEST_P(AttentionEngine, PoolRowsReadThousandsOfTimes) {
  const std::vector<size_t> key_counts = Small() ? std::vector<size_t>{2904} : std::vector<size_t>{2904, 9000, 20000};
  for (size_t keys : key_counts) {
    for (size_t pool_rows : {1, 2, 3}) {
      for (uint64_t seed : {1, 2, 3}) {
        // 2 queries: decode, the keys split into 1024-key chunks; 12: one walk over every key.
        AttentionCase c = Shape(2, 1, seed == 3 ? 12 : 2, keys, 16);
        c.block_size = 1;
        c.q_amplitude = 4.0f;  // scores of a few units: the two or three weights differ
        c.seed = seed * 100 + pool_rows;
        AttentionProblem p(c);
        std::vector<int32_t>& table = p.BlockTable();
        for (size_t j = 0; j < table.size(); ++j) table[j] = static_cast<int32_t>((j * 7 + j / 5) % pool_rows);
        const simdmax_attention_args a = p.Args();
        ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
        worst_.Add(Check(p, ReferenceAttention(a), c.Name() + " pool of " + std::to_string(pool_rows)));
      }
    }
  }
  Report("repeated pool rows");
}

TEST_P(AttentionEngine, SinksSoftcapAlibi) {
  const bool small = Small();
  // Sinks: the first 4 queries see no key (lse = the sink, out 0); split decode; a two-sided window.
  {
    AttentionCase c = Shape(4, 2, 12, 8, 16, true);
    c.sinks = true;
    Run(c);
    c = Shape(4, 2, 1, 2100, small ? 16 : 32);
    c.sinks = true;
    Run(c);
    c = Shape(4, 4, 30, 30, 16, false);
    c.sinks = true;
    c.window = 5;
    c.out_type = SIMDMAX_F16;
    Run(c);
  }
  // Soft-cap: scale 10/sqrt(d) puts raw scores up to ~10, where a cap of 5 saturates and 50 is nearly linear.
  for (float cap : {5.0f, 20.0f, 50.0f}) {
    for (bool decode : {false, true}) {
      if (small && decode && cap != 20.0f) continue;
      const size_t dim = decode ? (small ? 16 : 64) : 32;
      AttentionCase c = decode ? Shape(4, 1, 1, 2100, dim) : Shape(4, 2, small ? 12 : 30, 100, dim, true);
      c.scale = static_cast<float>(10.0 / std::sqrt(static_cast<double>(dim)));
      c.softcap = cap;
      Run(c);
    }
  }
  // ALiBi: causal (biases <= 0, the max at j = p_i), two-sided over 40 keys (biases up to +20), split decode.
  {
    AttentionCase c = Shape(8, 8, small ? 32 : 64, small ? 32 : 64, 16, true);
    c.alibi = true;
    Run(c);
    c = Shape(8, 4, 40, 40, 16, false);
    c.alibi = true;
    Run(c);
    c = Shape(8, 2, 1, 2100, small ? 16 : 32, true);
    c.alibi = true;
    Run(c);
    c = Shape(8, 2, 3, 2100, small ? 16 : 32, true);
    c.alibi = true;
    c.window = 1100;
    Run(c);
    // One walk over thousands of keys whose max grows at nearly every block (causal ALiBi): the carry is summed at
    // an older max and re-based when acc joins it (every kFoldBlocks blocks) and at the end.
    c = Shape(8, 2, 12, small ? 2100 : 6000, 16, true);
    c.alibi = true;
    Run(c);
  }
  // Everything at once: soft-cap, ALiBi, sinks, a per-head f16 mask, a window, paging and typed tensors.
  for (bool decode : {false, true}) {
    AttentionCase c = decode ? Shape(8, 2, 2, small ? 2100 : 2600, small ? 16 : 64, true)
                             : Shape(8, 2, small ? 16 : 48, small ? 80 : 160, 40, true);
    c.scale = static_cast<float>(5.0 / std::sqrt(static_cast<double>(c.dim)));
    c.softcap = 20.0f;
    c.alibi = true;
    c.sinks = true;
    c.mask = MaskKind::kPerHead;
    c.mask_type = SIMDMAX_F16;
    c.mask_hidden = 0.1;
    c.window = decode ? 1500 : 70;
    c.block_size = 16;
    c.q_type = SIMDMAX_BF16;
    c.kv_type = SIMDMAX_F16;
    c.out_type = decode ? SIMDMAX_F32 : SIMDMAX_BF16;
    c.strided = decode;
    Run(c);
  }
  Report("sinks, soft-cap, ALiBi");
}

// Every q x kv x out type combination on a small shape (with masks and paging rotating through), and each q x out
// pair on the split-decode path (f32 copies of q, f32 accumulators).
TEST_P(AttentionEngine, TypedCombinations) {
  const bool small = Small();
  size_t n = 0;
  for (simdmax_dtype q_type : kAllDtypes) {
    for (simdmax_dtype kv_type : kAllDtypes) {
      for (simdmax_dtype out_type : kAllDtypes) {
        AttentionCase c = Shape(4, 2, 5, 70, 33, true);
        c.q_type = q_type;
        c.kv_type = kv_type;
        c.out_type = out_type;
        if (n % 3 == 1) c.mask = MaskKind::kBroadcast;
        c.mask_type = kAllDtypes[(n / 3) % 3];
        if (n % 2 == 1) c.block_size = 16;
        c.strided = n % 4 == 2;
        c.seed = n++;
        Run(c);
      }
    }
  }
  n = 0;
  for (simdmax_dtype q_type : kAllDtypes) {
    for (simdmax_dtype out_type : kAllDtypes) {
      if (small && q_type != out_type) continue;
      AttentionCase c = Shape(4, 2, 1, 2100, small ? 16 : 64);
      c.q_type = q_type;
      c.kv_type = kAllDtypes[n++ % 3];
      c.out_type = out_type;
      Run(c);
    }
  }
  Report("typed q/kv/out");
}

// The cases of a mixed batch: split decode (paged, typed, sinks, ALiBi), causal prefill with a per-head bf16 mask,
// short decode with a window, n_keys 0, soft-cap with GQA 4, a two-sided window with a broadcast f16 mask
// (strided), head_dim 1 and 129, causal with more queries than keys.
std::vector<AttentionCase> MixedBatch(bool small) {
  std::vector<AttentionCase> cases;
  AttentionCase c = Shape(8, 2, 1, small ? 2100 : 2500, small ? 16 : 64);
  c.block_size = 16;
  c.kv_type = SIMDMAX_F16;
  c.out_type = SIMDMAX_BF16;
  c.sinks = true;
  c.alibi = true;
  cases.push_back(c);
  c = Shape(4, 2, 33, 40, 24, true);
  c.mask = MaskKind::kPerHead;
  c.mask_type = SIMDMAX_BF16;
  cases.push_back(c);
  c = Shape(4, 4, 1, 100, 32);
  c.q_type = SIMDMAX_F16;
  c.window = 50;
  cases.push_back(c);
  c = Shape(2, 1, 3, 0, 8);
  c.sinks = true;
  cases.push_back(c);
  c = Shape(8, 2, 4, small ? 2100 : 3000, small ? 16 : 48, true);
  c.q_type = c.kv_type = SIMDMAX_BF16;
  c.softcap = 20.0f;
  c.alibi = true;
  cases.push_back(c);
  c = Shape(2, 2, 20, 60, 16);
  c.window = 9;
  c.mask = MaskKind::kBroadcast;
  c.mask_type = SIMDMAX_F16;
  c.strided = true;
  cases.push_back(c);
  c = Shape(2, 1, 7, 65, 1, true);
  cases.push_back(c);
  c = Shape(2, 2, 3, 300, 129);
  c.block_size = 256;
  c.out_type = SIMDMAX_F16;
  cases.push_back(c);
  c = Shape(3, 1, 10, 4, 8, true);
  c.sinks = true;
  c.lse = false;
  cases.push_back(c);
  for (size_t s = 0; s < cases.size(); ++s) cases[s].seed = 100 + s;
  return cases;
}

std::vector<AttentionProblem> MakeProblems(const std::vector<AttentionCase>& cases) {
  std::vector<AttentionProblem> problems;
  problems.reserve(cases.size());
  for (const AttentionCase& c : cases) problems.emplace_back(c);
  return problems;
}

simdmax_status RunBatch(std::vector<AttentionProblem>& problems, const std::vector<size_t>& order) {
  std::vector<simdmax_attention_args> args;
  for (size_t s : order) args.push_back(problems[s].Args());
  return simdmax_attention_batch(args.data(), args.size());
}

// A batch mixing all of the above: each sequence against the reference, bit-identical to simdmax_attention on it
// alone, and independent of the batch's composition and order and of the thread count.
TEST_P(AttentionEngine, Batches) {
  const std::vector<AttentionCase> cases = MixedBatch(Small());
  std::vector<AttentionProblem> problems = MakeProblems(cases);
  // Each sequence alone first: what every batch below must reproduce bit for bit.
  std::vector<std::vector<unsigned char>> alone_out;
  std::vector<std::vector<float>> alone_lse;
  for (AttentionProblem& p : problems) {
    const simdmax_attention_args a = p.Args();
    ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK) << p.Case().Name();
    alone_out.push_back(p.OutBytes());
    alone_lse.push_back(p.LseValues());
  }
  const auto run_and_compare = [&](const std::vector<size_t>& order, const std::string& what) {
    for (AttentionProblem& p : problems) p.ResetOutputs();
    ASSERT_EQ(RunBatch(problems, order), SIMDMAX_OK) << what;
    for (size_t s : order) {
      EXPECT_TRUE(problems[s].OutBytes() == alone_out[s]) << what << ", batch vs alone: " << cases[s].Name();
      const std::vector<float>& lse = problems[s].LseValues();
      EXPECT_TRUE(lse.size() == alone_lse[s].size() &&
                  (lse.empty() || std::memcmp(lse.data(), alone_lse[s].data(), lse.size() * sizeof(float)) == 0))
          << what << ", batch vs alone: " << cases[s].Name();
    }
  };
  std::vector<size_t> order(cases.size());
  for (size_t s = 0; s < order.size(); ++s) order[s] = s;
  run_and_compare(order, "in order");
  for (size_t s = 0; s < cases.size(); ++s) {
    worst_.Add(Check(problems[s], CachedReference(problems[s]), "batch: " + cases[s].Name()));
  }
  // Reversed, shuffled, every other sequence, and with 1, 2 and all threads.
  run_and_compare(std::vector<size_t>(order.rbegin(), order.rend()), "reversed");
  std::vector<size_t> shuffled = order;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(5));
  run_and_compare(shuffled, "shuffled");
  std::vector<size_t> odd, even;
  for (size_t s : order) (s % 2 ? odd : even).push_back(s);
  run_and_compare(odd, "odd sequences");
  run_and_compare(even, "even sequences");
  for (size_t threads : {size_t{1}, size_t{2}, size_t{0}}) {
    ASSERT_EQ(simdmax_set_max_threads(threads), SIMDMAX_OK);
    run_and_compare(order, std::to_string(threads) + " threads");
  }
  simdmax_set_max_threads(0);
  Report("mixed batch");
}

TEST_P(AttentionEngine, BitIdenticalForEveryThreadCount) {
  const bool small = Small();
  std::vector<AttentionCase> cases;
  // Split decode with every feature (one query: the whole parallelism is over chunks and heads).
  AttentionCase c = Shape(8, 2, 1, small ? 3000 : 9000, small ? 32 : 128);
  c.kv_type = SIMDMAX_F16;
  c.out_type = SIMDMAX_F16;
  c.block_size = 16;
  c.sinks = c.alibi = true;
  c.softcap = 30.0f;
  c.mask = MaskKind::kPerHead;
  c.mask_type = SIMDMAX_BF16;
  c.mask_hidden = 0.05;
  cases.push_back(c);
  cases.push_back(Shape(8, 2, 1, small ? 2100 : 9000, small ? 16 : 128));                    // plain split decode
  c = Shape(small ? 2 : 8, 2, small ? 100 : 300, small ? 100 : 300, small ? 16 : 64, true);  // prefill tiles
  c.window = 100;
  c.mask = MaskKind::kBroadcast;
  cases.push_back(c);
  cases.push_back(Shape(4, 4, 4, small ? 2100 : 5000, small ? 16 : 64, true));
  // A vLLM-style pool ([block][row][kv head][dim]) with 8 kv heads: the scheduler walks up to 8 kv heads' tiles in
  // lockstep, fewer per task as the threads grow (8 and 5 for 1 and 2 threads here), and a tile's bits must not
  // depend on the tiles beside it.
  c = Shape(32, 8, 1, small ? 2100 : 4100, small ? 16 : 128);
  c.block_size = 16;
  c.strided = true;
  c.kv_type = SIMDMAX_BF16;
  cases.push_back(c);
  const std::vector<size_t> thread_counts = small ? std::vector<size_t>{1, 3} : std::vector<size_t>{1, 2, 0};
  for (const AttentionCase& shape : cases) {
    AttentionProblem p(shape);
    std::vector<unsigned char> first_out;
    std::vector<float> first_lse;
    for (size_t threads : thread_counts) {
      ASSERT_EQ(simdmax_set_max_threads(threads), SIMDMAX_OK);
      p.ResetOutputs();
      const simdmax_attention_args a = p.Args();
      ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK) << shape.Name();
      if (first_out.empty()) {
        first_out = p.OutBytes();
        first_lse = p.LseValues();
        continue;
      }
      EXPECT_TRUE(p.OutBytes() == first_out) << threads << " threads: " << shape.Name();
      EXPECT_EQ(std::memcmp(p.LseValues().data(), first_lse.data(), first_lse.size() * sizeof(float)), 0)
          << threads << " threads: " << shape.Name();
    }
  }
}

// simdmax_attention_f32 is a wrapper over simdmax_attention: the same args (the desc's scale passed explicitly)
// give the same bits.
TEST_P(AttentionEngine, F32EntryPointIsTheGeneralPath) {
  const bool small = Small();
  const AttentionCase shapes[] = {Shape(8, 2, 1, small ? 2100 : 3000, small ? 32 : 128), Shape(4, 4, 3, 2049, 32, true),
                                  Shape(2, 2, 37, 37, 33, true), Shape(2, 1, 100, 70, 16, true),
                                  Shape(3, 3, 20, 200, 1)};
  size_t n = 0;
  for (AttentionCase c : shapes) {
    c.strided = n % 2 == 1;
    c.lse = n != 2;
    c.scale = n == 3 ? 0.3f : static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.dim)));
    ++n;
    AttentionProblem general(c), wrapped(c);
    const simdmax_attention_args a = general.Args();
    ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
    const simdmax_attention_args w = wrapped.Args();
    simdmax_attention_desc desc{};
    desc.n_heads = w.n_heads;
    desc.n_kv_heads = w.n_kv_heads;
    desc.n_queries = w.n_queries;
    desc.n_keys = w.n_keys;
    desc.head_dim = w.head_dim;
    desc.q_head_stride = w.q_head_stride;
    desc.q_row_stride = w.q_row_stride;
    desc.k_head_stride = w.k_head_stride;
    desc.k_row_stride = w.k_row_stride;
    desc.v_head_stride = w.v_head_stride;
    desc.v_row_stride = w.v_row_stride;
    desc.out_head_stride = w.out_head_stride;
    desc.out_row_stride = w.out_row_stride;
    desc.scale = w.scale;
    desc.causal = w.causal;
    ASSERT_EQ(simdmax_attention_f32(&desc, static_cast<const float*>(w.q), static_cast<const float*>(w.k),
                                    static_cast<const float*>(w.v), static_cast<float*>(w.out), w.lse),
              SIMDMAX_OK);
    EXPECT_TRUE(SameOutputs(general, wrapped)) << c.Name();
  }
}

// scale == 0 means 1/sqrt(head_dim): the same bits as that float passed explicitly.
TEST_P(AttentionEngine, DefaultScale) {
  for (size_t dim : {1, 3, 7, 64, 100, 129}) {
    AttentionCase c = Shape(2, 1, 3, 90, dim, true);
    AttentionProblem implicit(c);
    c.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
    AttentionProblem explicit_scale(c);
    const simdmax_attention_args a = implicit.Args(), b = explicit_scale.Args();
    ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
    ASSERT_EQ(simdmax_attention(&b), SIMDMAX_OK);
    EXPECT_TRUE(SameOutputs(implicit, explicit_scale)) << "head_dim " << dim;
  }
}

// Queries that see no key: out exactly 0 and lse -inf, or lse exactly sinks[h] with a sink (Check enforces both
// for every row the reference finds without a visible key; here the cases that produce such rows, and a count
// that they did).
TEST_P(AttentionEngine, FullyHiddenRows) {
  std::vector<AttentionCase> cases;
  for (bool sinks : {false, true}) {
    AttentionCase c = Shape(4, 2, 3, 0, 8);  // n_keys 0: k and v NULL
    c.sinks = sinks;
    cases.push_back(c);
    c.block_size = 16;  // paged with n_keys 0
    cases.push_back(c);
    c = Shape(2, 1, 10, 3, 8);  // a two-sided window of 2: queries 0..5 (p_i <= -2) see nothing
    c.window = 2;
    c.sinks = sinks;
    cases.push_back(c);
    c = Shape(4, 2, 9, 5, 16, true);  // causal, more queries than keys: the first 4 see nothing
    c.sinks = sinks;
    cases.push_back(c);
    c.window = 3;
    cases.push_back(c);
    c = Shape(2, 1, 6, 2100, 16);  // split decode with the whole mask -inf
    c.mask = MaskKind::kPerHead;
    c.mask_hidden = 1.0;
    c.sinks = sinks;
    cases.push_back(c);
    c = Shape(2, 2, 12, 130, 16, true);  // a mask hiding everything from some rows, on top of causal
    c.mask = MaskKind::kBroadcast;
    c.mask_type = SIMDMAX_BF16;
    c.mask_hidden = 0.99;
    c.sinks = sinks;
    cases.push_back(c);
  }
  size_t hidden_rows = 0;
  for (const AttentionCase& c : cases) {
    AttentionProblem p(c);
    const AttentionReference& ref = CachedReference(p);
    for (size_t count : ref.visible_keys) hidden_rows += count == 0;
    const simdmax_attention_args a = p.Args();
    ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK) << c.Name();
    worst_.Add(Check(p, ref, c.Name()));
    if (c.keys == 0 && c.block_size == 0) {
      EXPECT_EQ(a.k, nullptr);
    }
  }
  EXPECT_GT(hidden_rows, 60u);
  Report("fully hidden rows");
}

// A NaN or +inf mask entry at a visible key, or a NaN in q: that query's whole output row and lse are NaN; the
// other queries are unaffected (within the bound of the reference, which has the same inputs).
TEST_P(AttentionEngine, NanAndInfinityPoisonOnlyTheirRow) {
  for (simdmax_dtype mask_type : kAllDtypes) {
    for (bool decode : {false, true}) {
      AttentionCase c = decode ? Shape(4, 2, 2, 2100, 16) : Shape(2, 1, 6, 100, 16, true);
      c.mask = MaskKind::kPerHead;
      c.mask_type = mask_type;
      c.mask_hidden = 0.1;
      c.out_type = mask_type;  // the NaN in every output type
      c.seed = 3 + decode;
      AttentionProblem p(c);
      if (decode) {
        p.SetMask(1, 0, 1500, kNaN);  // (h 1, i 0) NaN; (h 3, i 1) +inf; (h 2, i 1) a NaN in q
        p.SetMask(3, 1, 2000, kInf);
        p.SetQ(2, 1, 5, kNaN);
      } else {
        p.SetMask(0, 1, 90, kNaN);  // visible to query 1 (p_1 = 95) whatever else is hidden
        p.SetMask(1, 3, 0, kInf);
        p.SetQ(0, 4, 15, kNaN);
      }
      const AttentionReference ref = ReferenceAttention(p.Args());
      size_t nan_rows = 0;
      for (long double lse : ref.lse) nan_rows += std::isnan(lse);
      EXPECT_EQ(nan_rows, 3u) << c.Name();  // the reference agrees on which rows
      const simdmax_attention_args a = p.Args();
      ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
      worst_.Add(Check(p, ref, c.Name() + " with NaN and +inf"));
    }
  }
  Report("NaN rows");
}

// -inf mask entries hide keys exactly as a window does: a mask that is 0 inside the window and -inf outside gives
// the windowed result (both against the reference, whose two evaluations agree exactly).
TEST_P(AttentionEngine, MinusInfinityMaskHidesLikeTheWindow) {
  const bool small = Small();
  struct Window {
    AttentionCase shape;
    size_t window;
  };
  const Window cases[] = {{Shape(2, 1, 50, 120, 16, true), 37},
                          {Shape(2, 2, 40, 100, 16, false), 20},
                          {Shape(2, 1, 2, small ? 2100 : 2500, 16, true), 1030}};
  for (const Window& w : cases) {
    AttentionCase windowed = w.shape;
    windowed.window = w.window;
    AttentionProblem by_window(windowed);
    AttentionCase masked = w.shape;
    masked.mask = MaskKind::kBroadcast;
    masked.mask_type = SIMDMAX_F16;
    AttentionProblem by_mask(masked);
    const long long shift = static_cast<long long>(w.shape.keys) - static_cast<long long>(w.shape.queries);
    const long long window = static_cast<long long>(w.window);
    by_mask.SetMaskValues([&](size_t, size_t i, size_t j) {
      const long long p = static_cast<long long>(i) + shift, jj = static_cast<long long>(j);
      const bool visible = p - jj < window && (w.shape.causal || jj - p < window);
      return visible ? 0.0f : -kInf;
    });
    const AttentionReference ref_window = ReferenceAttention(by_window.Args());
    const AttentionReference ref_mask = ReferenceAttention(by_mask.Args());
    ASSERT_TRUE(ref_window.out == ref_mask.out && ref_window.lse == ref_mask.lse) << "reference disagrees";
    const simdmax_attention_args a = by_window.Args(), b = by_mask.Args();
    ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
    ASSERT_EQ(simdmax_attention(&b), SIMDMAX_OK);
    worst_.Add(Check(by_window, ref_window, windowed.Name()));
    worst_.Add(Check(by_mask, ref_window, masked.Name() + " as a window"));
  }
  Report("-inf mask as a window");
}

SIMDMAX_INSTANTIATE_PER_TARGET(AttentionEngine);

}  // namespace
}  // namespace simdmax_test
