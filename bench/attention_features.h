// The attention features of the benchmarks (mask, window, soft-cap, ALiBi, sinks): their names, their inputs and
// how they are set on simdmax_attention_args. One definition for the attention benchmark's feature costs
// (BM_EngineFeature, bench/attention_bench.cc) and the paired A/B tool's attention ops (bench/ab_compare.cc), so
// that an A/B of "attention_bf16+alibi" measures the call whose cost the benchmark reports.
#ifndef SIMDMAX_BENCH_ATTENTION_FEATURES_H_
#define SIMDMAX_BENCH_ATTENTION_FEATURES_H_

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "bench/typed_data.h"
#include "simdmax/simdmax.h"

namespace simdmax_bench {

// kRealWindow: a window that hides keys (the benchmark's sizes); kSoftcapTight: a cap of 0.1, far below the scores'
// spread (~0.3), so nearly every vector of scores takes the soft-cap's full tanh (kernels/soft_cap-inl.h) rather
// than its polynomial-only fast path (|s| < 0.625 cap).
enum AttentionFeature : unsigned {
  kMask = 1,
  kWindow = 2,
  kSoftcap = 4,
  kAlibi = 8,
  kSinks = 16,
  kRealWindow = 32,
  kSoftcapTight = 64
};
constexpr unsigned kAllFeatures = kMask | kWindow | kSoftcap | kAlibi | kSinks;

struct AttentionFeatureName {
  const char* name;
  unsigned features;
};
constexpr AttentionFeatureName kAttentionFeatureNames[] = {{"plain", 0},
                                                           {"mask", kMask},
                                                           {"window", kWindow},
                                                           {"softcap", kSoftcap},
                                                           {"alibi", kAlibi},
                                                           {"sinks", kSinks},
                                                           {"all", kAllFeatures},
                                                           {"realwindow", kRealWindow},
                                                           {"softcaptight", kSoftcapTight}};

// The bits of a feature name of kAttentionFeatureNames; false for another name.
inline bool AttentionFeatureNamed(const std::string& name, unsigned* features) {
  for (const AttentionFeatureName& f : kAttentionFeatureNames) {
    if (name == f.name) {
      *features = f.features;
      return true;
    }
  }
  return false;
}

// mask: small finite additive values in [-1, 0] (they hide nothing), one matrix broadcast to every head (head
// stride 0); ALiBi slopes 2^(-8 (h + 1) / n_heads) (the usual geometric sequence); sinks in [0, 2), near the
// scores' size.
struct AttentionFeatureInputs {
  std::vector<float> mask, alibi, sinks;
};
inline AttentionFeatureInputs MakeAttentionFeatureInputs(size_t n_heads, size_t mask_elems) {
  AttentionFeatureInputs f;
  f.mask.resize(mask_elems);
  FillRandom(f.mask.data(), SIMDMAX_F32, mask_elems, 16, -1.0f, 0.0f);
  for (size_t h = 0; h < n_heads; ++h) f.alibi.push_back(std::exp2(-8.0f * static_cast<float>(h + 1) / n_heads));
  f.sinks.resize(n_heads);
  FillRandom(f.sinks.data(), SIMDMAX_F32, n_heads, 17, 0.0f, 2.0f);
  return f;
}

// Sets the features on a (whose n_keys is set: the mask's row stride): window for kWindow (the benchmarks pass one
// that hides nothing), real_window for kRealWindow, a cap of 30 (kSoftcap) or 0.1 (kSoftcapTight).
inline void ApplyAttentionFeatures(simdmax_attention_args& a, unsigned features, const AttentionFeatureInputs& f,
                                   size_t window, size_t real_window) {
  if (features & kMask) {
    a.mask = f.mask.data();
    a.mask_type = SIMDMAX_F32;
    a.mask_head_stride = 0;
    a.mask_row_stride = a.n_keys;
  }
  if (features & kWindow) a.window = window;
  if (features & kRealWindow) a.window = real_window;
  if (features & kSoftcap) a.softcap = 30.0f;
  if (features & kSoftcapTight) a.softcap = 0.1f;
  if (features & kAlibi) a.alibi_slopes = f.alibi.data();
  if (features & kSinks) a.sinks = f.sinks.data();
}

}  // namespace simdmax_bench

#endif  // SIMDMAX_BENCH_ATTENTION_FEATURES_H_
