// Online softmax and attention benchmarks (Google Benchmark).
//   build/<dir>/bench/simdmax_attention_bench [--benchmark_filter=...]
// - Decode: 1 query, 32 heads, 8 kv heads, head_dim 128, n_keys 4096 / 32768, 1 and 2 threads. bytes_per_second
//   counts the K and V bytes (read once); BM_MemcpyKV copies the same number of bytes, so the ratio of the two
//   bytes_per_second figures is the fraction of the memcpy bandwidth limit reached.
// - Prefill: 2048 causal queries, 8 heads, 2 kv heads, head_dim 128: simdmax_attention_f32 against the naive
//   composition (materialised scores, simdmax_softmax_f32, weighted sum) on the same data.
// - Online update: simdmax_online_update_f32 (+ normalise) vs the two-pass simdmax_softmax_f32 on 1 x 128000.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"

namespace {

std::vector<float> Random(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

constexpr size_t kDecodeHeads = 32, kDecodeKvHeads = 8, kHeadDim = 128;

void BM_Decode(benchmark::State& state) {
  const size_t n_keys = static_cast<size_t>(state.range(0));
  simdmax_set_max_threads(static_cast<size_t>(state.range(1)));
  const simdmax::AttentionDesc desc =
      simdmax::ContiguousAttention(kDecodeHeads, kDecodeKvHeads, 1, n_keys, kHeadDim, /*causal=*/false);
  const std::vector<float> q = Random(kDecodeHeads * kHeadDim, 1);
  const std::vector<float> k = Random(kDecodeKvHeads * n_keys * kHeadDim, 2);
  const std::vector<float> v = Random(kDecodeKvHeads * n_keys * kHeadDim, 3);
  std::vector<float> out(kDecodeHeads * kHeadDim), lse(kDecodeHeads);
  for (auto _ : state) {
    if (simdmax::Attention(desc, q.data(), k.data(), v.data(), out.data(), lse.data()) != simdmax::Status::kOk) {
      state.SkipWithError("attention failed");
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (k.size() + v.size()) * sizeof(float)));
  state.counters["threads"] = static_cast<double>(state.range(1));
  simdmax_set_max_threads(0);
}
BENCHMARK(BM_Decode)->ArgsProduct({{512, 4096, 32768}, {1, 2}})->Unit(benchmark::kMicrosecond)->UseRealTime();

// memcpy of the decode's K + V bytes: the bandwidth limit the decode is compared with.
void BM_MemcpyKV(benchmark::State& state) {
  const size_t bytes = 2 * kDecodeKvHeads * static_cast<size_t>(state.range(0)) * kHeadDim * sizeof(float);
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_MemcpyKV)->Arg(4096)->Arg(32768)->Unit(benchmark::kMicrosecond)->UseRealTime();

constexpr size_t kPrefillQueries = 2048, kPrefillHeads = 8, kPrefillKvHeads = 2;

struct Prefill {
  simdmax::AttentionDesc desc;
  std::vector<float> q, k, v, out;
  Prefill() {
    desc = simdmax::ContiguousAttention(kPrefillHeads, kPrefillKvHeads, kPrefillQueries, kPrefillQueries, kHeadDim,
                                        /*causal=*/true);
    q = Random(kPrefillHeads * kPrefillQueries * kHeadDim, 4);
    k = Random(kPrefillKvHeads * kPrefillQueries * kHeadDim, 5);
    v = Random(kPrefillKvHeads * kPrefillQueries * kHeadDim, 6);
    out.resize(q.size());
  }
};

void BM_PrefillCausal(benchmark::State& state) {
  simdmax_set_max_threads(static_cast<size_t>(state.range(0)));
  static const Prefill* p = new Prefill();
  std::vector<float> out(p->out.size());
  for (auto _ : state) {
    simdmax::Attention(p->desc, p->q.data(), p->k.data(), p->v.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["threads"] = static_cast<double>(state.range(0));
  simdmax_set_max_threads(0);
}
BENCHMARK(BM_PrefillCausal)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The naive composition, single thread for the dot products and weighted sums (plain loops the compiler
// vectorises for the baseline target), simdmax_softmax_f32 for the rows: materialises n_queries x n_keys scores per
// head (16 MiB here).
void BM_PrefillNaive(benchmark::State& state) {
  static const Prefill* p = new Prefill();
  const size_t n = kPrefillQueries, dim = kHeadDim, group = kPrefillHeads / kPrefillKvHeads;
  std::vector<float> scores(n * n), out(p->out.size());
  const float scale = p->desc.scale;
  for (auto _ : state) {
    for (size_t h = 0; h < kPrefillHeads; ++h) {
      const float* k = p->k.data() + (h / group) * n * dim;
      const float* v = p->v.data() + (h / group) * n * dim;
      for (size_t i = 0; i < n; ++i) {
        const float* qi = p->q.data() + (h * n + i) * dim;
        for (size_t j = 0; j < n; ++j) {
          if (j > i) {
            scores[i * n + j] = -INFINITY;
            continue;
          }
          float dot = 0;
          for (size_t c = 0; c < dim; ++c) dot += qi[c] * k[j * dim + c];
          scores[i * n + j] = scale * dot;
        }
      }
      simdmax_softmax_f32(n, n, scores.data(), n, scores.data(), n);
      for (size_t i = 0; i < n; ++i) {
        float* o = out.data() + (h * n + i) * dim;
        std::fill(o, o + dim, 0.0f);
        for (size_t j = 0; j <= i; ++j) {
          const float w = scores[i * n + j];
          for (size_t c = 0; c < dim; ++c) o[c] += w * v[j * dim + c];
        }
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PrefillNaive)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

constexpr size_t kRow = 128000;

void BM_OnlineUpdate(benchmark::State& state) {
  const std::vector<float> x = Random(kRow, 7, -10.0f, 10.0f);
  for (auto _ : state) {
    simdmax::OnlineSoftmax s;
    s.Update(x);
    benchmark::DoNotOptimize(s.Sum());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRow));
}
BENCHMARK(BM_OnlineUpdate);

// A full softmax through the online API: update (one read of memory), then normalise.
void BM_OnlineUpdateNormalize(benchmark::State& state) {
  const std::vector<float> x = Random(kRow, 7, -10.0f, 10.0f);
  std::vector<float> y(kRow);
  for (auto _ : state) {
    simdmax::OnlineSoftmax s;
    s.Update(x);
    s.Normalize(x.data(), y.data(), kRow);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRow));
}
BENCHMARK(BM_OnlineUpdateNormalize);

void BM_TwoPassSoftmax(benchmark::State& state) {
  const std::vector<float> x = Random(kRow, 7, -10.0f, 10.0f);
  std::vector<float> y(kRow);
  for (auto _ : state) {
    simdmax_softmax_f32(1, kRow, x.data(), kRow, y.data(), kRow);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRow));
}
BENCHMARK(BM_TwoPassSoftmax);

}  // namespace

BENCHMARK_MAIN();
