// Online softmax and attention benchmarks (Google Benchmark).
//   build/<dir>/bench/simdmax_attention_bench [--benchmark_filter=...]
// simdmax_attention_f32 (the first API):
// - Decode: 1 query, 32 heads, 8 kv heads, head_dim 128, n_keys 4096 / 32768, 1 and 2 threads. bytes_per_second
//   counts the K and V bytes (read once); BM_MemcpyKV copies the same number of bytes, so the ratio of the two
//   bytes_per_second figures is the fraction of the memcpy bandwidth limit reached.
// - Prefill: 2048 causal queries, 8 heads, 2 kv heads, head_dim 128: simdmax_attention_f32 against the naive
//   composition (materialised scores, simdmax_softmax_f32, weighted sum) on the same data.
// - Online update: simdmax_online_update_f32 (+ normalise) vs the two-pass simdmax_softmax_f32 on 1 x 128000.
// simdmax_attention / simdmax_attention_batch, "attention as engines call it" (bench/summarize.py, section
// "Attention for engines", evaluates the goals on these):
// - BM_EngineDecode/<kv type>/<contiguous|paged16|paged256>/<keys>/threads:<n>: 1 query, 32 heads / 8 kv heads,
//   head_dim 128, 4096 and 32768 keys, K/V f32, f16 or bf16, q and out f32. Paged: a pool [block][row][kv head][dim]
//   read through a shuffled block table. bytes_per_second = K + V bytes (each read once); counter kv_bytes.
// - BM_StreamKV/<bytes>/threads:<n>: a read-only pass over that many bytes (sum of 64-bit words, independent
//   accumulators, widest vectors the CPU has): the physical limit of a decode reading those K + V bytes.
// - BM_EngineDecodeBatch/<kv type>/paged16/16seq/threads:<n>: one simdmax_attention_batch over 16 sequences of 512..
//   32768 keys (geometric spread) in one shared pool; BM_EngineDecodeLoop: the same 16 calls one by one.
// - BM_EnginePrefill/<f32|bf16>/<512|2048>/threads:<n>: causal, n_keys = n_queries, 32/8 heads, head_dim 128; q,
//   K/V and out all of the type. Counters: flop (per call: 2 matmuls x 2 flop x head_dim per visible pair, summed
//   over heads) and flop/s.
// - BM_EngineFeature/<decode|prefill>/<type>/<size>/<feature>/threads:1: the plain call and each feature alone
//   (mask: f32 additive, broadcast to every head; window: one that hides no key, so only its cost shows; softcap 30;
//   alibi; sinks) and all at once, at the decode shape (bf16 K/V, 4096 keys, contiguous) and the prefill shape
//   (f32, 512 queries); realwindow<W>: a window that hides keys (less work, reported apart from the cost goal).
//   Counters paired_ratio, paired_q1, paired_q3 (not on plain): the feature's time over the plain call's, measured
//   in alternating rounds after the timed loop (PairedFeatureCost): the figure the summary's goal uses.
#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/attention_features.h"
#include "bench/typed_data.h"
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

// ---- Attention as engines call it: simdmax_attention / simdmax_attention_batch --------------------------------
namespace engine {

using simdmax_bench::FillRandom;

constexpr size_t kHeads = 32, kKvHeads = 8, kDim = 128;
constexpr int kThreadCounts[] = {1, 2};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t[], FreeDeleter>;

// 64-byte aligned and written once (page faults are never timed). Aborts when memory is short: a benchmark on
// a machine without the memory is meaningless.
Buffer Allocate(size_t bytes) {
  const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  Buffer b(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)));
  if (!b) {
    std::fprintf(stderr, "simdmax_attention_bench: cannot allocate %zu bytes\n", bytes);
    std::abort();
  }
  std::memset(b.get(), 0, rounded);
  return b;
}

const char* TypeName(simdmax_dtype t) { return t == SIMDMAX_F32 ? "f32" : t == SIMDMAX_F16 ? "f16" : "bf16"; }

std::string LayoutName(size_t block) { return block == 0 ? "contiguous" : "paged" + std::to_string(block); }

// Bytes of K + V for n_keys keys of every kv head.
size_t KvBytes(size_t n_keys, simdmax_dtype t) { return 2 * n_keys * kKvHeads * kDim * simdmax_dtype_size(t); }

// ---- Data kept between benchmarks ----
// Benchmarks of one case (thread counts, the stream of the same bytes, repetitions interleaved at random) share
// their inputs; the least recently used are released above a budget (SIMDMAX_BENCH_CACHE_MIB, default 2048) so the
// 1 GiB f32 batch pool and the 256 MiB 32K-key cases do not all stay resident.
struct Data {
  virtual ~Data() = default;
};

class DataCache {
 public:
  template <class T>
  T& Get(const std::string& key, size_t bytes, const std::function<std::unique_ptr<T>()>& make) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->key == key) {
        entries_.splice(entries_.begin(), entries_, it);
        return static_cast<T&>(*entries_.front().data);
      }
    }
    while (!entries_.empty() && total_ + bytes > Budget()) {
      total_ -= entries_.back().bytes;
      entries_.pop_back();
    }
    entries_.push_front(Entry{key, bytes, make()});
    total_ += bytes;
    return static_cast<T&>(*entries_.front().data);
  }

 private:
  struct Entry {
    std::string key;
    size_t bytes;
    std::unique_ptr<Data> data;
  };
  static size_t Budget() {
    const char* env = std::getenv("SIMDMAX_BENCH_CACHE_MIB");
    const size_t mib = env ? std::strtoull(env, nullptr, 10) : 2048;
    return mib << 20;
  }
  std::list<Entry> entries_;
  size_t total_ = 0;
};

DataCache& Cache() {
  static DataCache* cache = new DataCache();
  return *cache;
}

// K and V of one decode case: contiguous [kv head][key][dim], or a pool [block][row][kv head][dim] of
// ceil(n_keys / block) blocks whose order in the block table is shuffled (a fixed permutation).
struct KvData : Data {
  Buffer k, v;
  std::vector<int32_t> table;
};

KvData& DecodeKv(simdmax_dtype t, size_t block, size_t n_keys) {
  const std::string key = std::string("kv/") + TypeName(t) + "/" + LayoutName(block) + "/" + std::to_string(n_keys);
  const size_t n_blocks = block ? (n_keys + block - 1) / block : 0;
  const size_t rows = block ? n_blocks * block : n_keys;
  const size_t elems = rows * kKvHeads * kDim, bytes = 2 * elems * simdmax_dtype_size(t);
  return Cache().Get<KvData>(key, bytes, [&] {
    auto d = std::make_unique<KvData>();
    d->k = Allocate(elems * simdmax_dtype_size(t));
    d->v = Allocate(elems * simdmax_dtype_size(t));
    FillRandom(d->k.get(), t, elems, 2);
    FillRandom(d->v.get(), t, elems, 3);
    if (block) {
      d->table.resize(n_blocks);
      std::iota(d->table.begin(), d->table.end(), 0);
      std::shuffle(d->table.begin(), d->table.end(), std::mt19937_64(11));
    }
    return d;
  });
}

// Decode arguments over K/V at k, v: contiguous when table is NULL, else the pool layout above.
simdmax_attention_args DecodeArgs(simdmax_dtype t, size_t block, size_t n_keys, const void* k, const void* v,
                                  const int32_t* table, size_t n_blocks, const float* q, float* out) {
  simdmax_attention_args a;
  simdmax_attention_args_init(&a);
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.q_type = SIMDMAX_F32;
  a.kv_type = t;
  a.out_type = SIMDMAX_F32;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.n_queries = 1;
  a.n_keys = n_keys;
  a.head_dim = kDim;
  a.q_head_stride = a.q_row_stride = kDim;
  a.out_head_stride = a.out_row_stride = kDim;
  if (table == nullptr) {
    a.k_head_stride = a.v_head_stride = n_keys * kDim;
    a.k_row_stride = a.v_row_stride = kDim;
  } else {
    a.k_head_stride = a.v_head_stride = kDim;
    a.k_row_stride = a.v_row_stride = kKvHeads * kDim;
    a.block_table = table;
    a.block_size = block;
    a.n_blocks = n_blocks;
    a.k_block_stride = a.v_block_stride = block * kKvHeads * kDim;
  }
  return a;
}

const std::vector<float>& DecodeQuery() {
  static const std::vector<float>* q = new std::vector<float>(Random(kHeads * kDim, 1));
  return *q;
}

// Sets the simdmax thread limit for one benchmark and restores the default after it.
struct ThreadLimit {
  explicit ThreadLimit(int n) { simdmax_set_max_threads(static_cast<size_t>(n)); }
  ~ThreadLimit() { simdmax_set_max_threads(0); }
};

// Runs call() once untimed (scratch allocation, warm caches, a failing status skips the benchmark), then timed.
template <class Call>
bool TimeCalls(benchmark::State& state, Call call) {
  simdmax_status st = call();
  if (st != SIMDMAX_OK) {
    state.SkipWithError(simdmax_status_string(st));
    return false;
  }
  for (auto _ : state) {
    st = call();
    if (st != SIMDMAX_OK) {
      state.SkipWithError(simdmax_status_string(st));
      break;
    }
    benchmark::ClobberMemory();
  }
  return st == SIMDMAX_OK;
}

void EngineDecode(benchmark::State& state, simdmax_dtype t, size_t block, size_t n_keys, int threads) {
  ThreadLimit limit(threads);
  KvData& d = DecodeKv(t, block, n_keys);
  std::vector<float> out(kHeads * kDim);
  const simdmax_attention_args a = DecodeArgs(t, block, n_keys, d.k.get(), d.v.get(), block ? d.table.data() : nullptr,
                                              d.table.size(), DecodeQuery().data(), out.data());
  TimeCalls(state, [&] { return simdmax_attention(&a); });
  const size_t bytes = KvBytes(n_keys, t);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["kv_bytes"] = static_cast<double>(bytes);
  state.counters["threads"] = threads;
}

// ---- The streaming reference ----
// Sums 64-bit words with four independent 64-byte vector accumulators, so that only the memory (or cache) bandwidth
// limits it. GCC/Clang vector extensions compiled three times (AVX-512, AVX2, the baseline) and chosen at run time:
// the reference must not be held back by the baseline's 16-byte loads when K + V sits in L3. (Only this loop is
// built for a specific ISA; the library's own dispatch is untouched.)
#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t U64x8 __attribute__((vector_size(64), may_alias, aligned(8)));
#define SIMDMAX_SUM_WORDS_BODY                         \
  U64x8 a0 = {}, a1 = {}, a2 = {}, a3 = {};            \
  size_t i = 0;                                        \
  for (; i + 32 <= n; i += 32) {                       \
    a0 += *reinterpret_cast<const U64x8*>(p + i);      \
    a1 += *reinterpret_cast<const U64x8*>(p + i + 8);  \
    a2 += *reinterpret_cast<const U64x8*>(p + i + 16); \
    a3 += *reinterpret_cast<const U64x8*>(p + i + 24); \
  }                                                    \
  const U64x8 a = (a0 + a1) + (a2 + a3);               \
  uint64_t s = 0;                                      \
  for (int l = 0; l < 8; ++l) s += a[l];               \
  for (; i < n; ++i) s += p[i];                        \
  return s;
#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) uint64_t SumWordsAvx512(const uint64_t* p, size_t n) {
  SIMDMAX_SUM_WORDS_BODY
}
__attribute__((target("avx2"), noinline)) uint64_t SumWordsAvx2(const uint64_t* p, size_t n) { SIMDMAX_SUM_WORDS_BODY }
#endif
__attribute__((noinline)) uint64_t SumWordsBaseline(const uint64_t* p, size_t n) { SIMDMAX_SUM_WORDS_BODY }
#undef SIMDMAX_SUM_WORDS_BODY

using SumFn = uint64_t (*)(const uint64_t*, size_t);
SumFn SelectSum() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return SumWordsAvx512;
  if (__builtin_cpu_supports("avx2")) return SumWordsAvx2;
#endif
  return SumWordsBaseline;
}
#else
uint64_t SumWordsBaseline(const uint64_t* p, size_t n) {
  uint64_t s[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += p[i + l];
  for (; i < n; ++i) s[0] += p[i];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}
using SumFn = uint64_t (*)(const uint64_t*, size_t);
SumFn SelectSum() { return SumWordsBaseline; }
#endif

const char* SumIsa() {
  const SumFn f = SelectSum();
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  if (f == SumWordsAvx512) return "AVX-512";
  if (f == SumWordsAvx2) return "AVX2";
#endif
  return f == SumWordsBaseline ? "baseline" : "?";
}

// Splits one read of [p, p + words) over n threads: the caller takes part 0, n - 1 persistent workers the rest
// (spinning between calls, as a pool's workers do under load; a thread started per call would add tens of
// microseconds to a 0.5 ms pass). Waits spin with pause and yield after a while: should two of the threads share a
// core (another process on the other one), a pure spin would hold the core until the next scheduler tick (4 ms).
class StreamTeam {
 public:
  explicit StreamTeam(int n) : n_(n), sums_(static_cast<size_t>(n) * 8) {
    for (int w = 1; w < n; ++w) workers_.emplace_back([this, w] { Work(w); });
  }
  ~StreamTeam() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    for (auto& t : workers_) t.join();
  }
  uint64_t Run(const uint64_t* p, size_t words) {
    p_ = p;
    words_ = words;
    done_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    sums_[0] = Part(0);
    for (unsigned spins = 0; done_.load(std::memory_order_acquire) != n_ - 1; ++spins) Wait(spins);
    uint64_t s = 0;
    for (int w = 0; w < n_; ++w) s += sums_[static_cast<size_t>(w) * 8];
    return s;
  }

 private:
  static void Wait(unsigned spins) {
#if defined(__x86_64__) || defined(__i386__)
    if (spins < 4096) {
      __builtin_ia32_pause();
      return;
    }
#endif
    std::this_thread::yield();
  }
  uint64_t Part(int w) const {
    // Part boundaries on 64-byte lines (8 words).
    const size_t lines = words_ / 8;
    const size_t begin = lines * static_cast<size_t>(w) / static_cast<size_t>(n_) * 8;
    const size_t end = w + 1 == n_ ? words_ : lines * static_cast<size_t>(w + 1) / static_cast<size_t>(n_) * 8;
    return sum_(p_ + begin, end - begin);
  }
  void Work(int w) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g;
      for (unsigned spins = 0; (g = generation_.load(std::memory_order_acquire)) == seen; ++spins) Wait(spins);
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      sums_[static_cast<size_t>(w) * 8] = Part(w);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
  const int n_;
  const SumFn sum_ = SelectSum();
  std::vector<uint64_t> sums_;  // one per thread, 64 bytes apart
  const uint64_t* p_ = nullptr;
  size_t words_ = 0;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

struct StreamData : Data {
  Buffer bytes;
};

// BM_FmaPeak: the f32 FMA throughput of one core, measured (the prefill "% of peak" divides by it): twelve
// independent accumulators of the widest vector the CPU runs (more than FMA latency x pipes), so the loop is
// throughput-bound. A nominal clock x pipes x lanes figure misses boost clocks (this VM reports its 2.6 GHz TSC; the
// core runs near 3.75 GHz) and pipes that a CPU has but cannot feed.
#if defined(__x86_64__)
__attribute__((target("avx512f,fma"), noinline)) float FmaLoopAvx512(uint64_t iterations) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (uint64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  alignas(64) float lanes[16];
  float sum = 0;
  for (int i = 0; i < 12; ++i) {
    _mm512_store_ps(lanes, a[i]);
    sum += lanes[0];
  }
  return sum;
}
__attribute__((target("avx2,fma"), noinline)) float FmaLoopAvx2(uint64_t iterations) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  for (uint64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  alignas(32) float lanes[8];
  float sum = 0;
  for (int i = 0; i < 12; ++i) {
    _mm256_store_ps(lanes, a[i]);
    sum += lanes[0];
  }
  return sum;
}
#endif

void BM_FmaPeak(benchmark::State& state) {
  constexpr uint64_t kIterations = 1 << 22;
  float (*loop)(uint64_t) = nullptr;
  double lanes = 0;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    loop = FmaLoopAvx512;
    lanes = 16;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    loop = FmaLoopAvx2;
    lanes = 8;
  }
#endif
  if (loop == nullptr) {
    state.SkipWithError("no FMA loop for this CPU");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(loop(kIterations));
  // 12 FMAs (2 flops per lane) per iteration.
  state.counters["flop"] = 12.0 * kIterations * lanes * 2;
  state.counters["lanes"] = lanes;
}
BENCHMARK(BM_FmaPeak)->Unit(benchmark::kMillisecond)->UseRealTime();

void StreamKV(benchmark::State& state, size_t bytes, int threads) {
  StreamData& d = Cache().Get<StreamData>("stream/" + std::to_string(bytes), bytes, [&] {
    auto s = std::make_unique<StreamData>();
    s->bytes = Allocate(bytes);
    FillRandom(s->bytes.get(), SIMDMAX_F32, bytes / 4, 9);
    return s;
  });
  StreamTeam team(threads);
  const uint64_t* p = reinterpret_cast<const uint64_t*>(d.bytes.get());
  const size_t words = bytes / 8;
  benchmark::DoNotOptimize(team.Run(p, words));  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(team.Run(p, words));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["kv_bytes"] = static_cast<double>(bytes);
  state.counters["threads"] = threads;
}

// ---- Decode batch: 16 sequences of mixed lengths, paged (block 16) in one shared pool ----
constexpr size_t kBatch = 16, kBatchBlock = 16;

// 512 * 64^(i / 15), rounded: 512, 676, 891, ..., 24834, 32768 (133722 keys in all); most are not multiples of
// the block size, so last blocks are partly used as in an engine.
const std::vector<size_t>& BatchLengths() {
  static const std::vector<size_t>* lengths = [] {
    auto* l = new std::vector<size_t>();
    for (size_t i = 0; i < kBatch; ++i) {
      l->push_back(static_cast<size_t>(std::lround(512.0 * std::pow(64.0, static_cast<double>(i) / (kBatch - 1)))));
    }
    return l;
  }();
  return *lengths;
}

size_t BatchKeys() {
  const auto& l = BatchLengths();
  return std::accumulate(l.begin(), l.end(), size_t{0});
}

struct BatchData : Data {
  Buffer k, v;
  std::vector<std::vector<int32_t>> tables;
  size_t n_blocks = 0;
  std::vector<float> q, out;
};

BatchData& Batch(simdmax_dtype t) {
  size_t n_blocks = 0;
  for (size_t len : BatchLengths()) n_blocks += (len + kBatchBlock - 1) / kBatchBlock;
  const size_t elems = n_blocks * kBatchBlock * kKvHeads * kDim;
  return Cache().Get<BatchData>(std::string("batch/") + TypeName(t), 2 * elems * simdmax_dtype_size(t), [&] {
    auto d = std::make_unique<BatchData>();
    d->n_blocks = n_blocks;
    d->k = Allocate(elems * simdmax_dtype_size(t));
    d->v = Allocate(elems * simdmax_dtype_size(t));
    FillRandom(d->k.get(), t, elems, 12);
    FillRandom(d->v.get(), t, elems, 13);
    // Pool blocks handed out in a shuffled order, each sequence taking the next ones: the blocks of a sequence are
    // scattered over the pool, as after an engine has run for a while.
    std::vector<int32_t> order(n_blocks);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(14));
    size_t next = 0;
    for (size_t len : BatchLengths()) {
      const size_t nb = (len + kBatchBlock - 1) / kBatchBlock;
      d->tables.emplace_back(order.begin() + static_cast<ptrdiff_t>(next),
                             order.begin() + static_cast<ptrdiff_t>(next + nb));
      next += nb;
    }
    d->q = Random(kBatch * kHeads * kDim, 15);
    d->out.assign(kBatch * kHeads * kDim, 0.0f);
    return d;
  });
}

std::vector<simdmax_attention_args> BatchArgs(simdmax_dtype t, BatchData& d) {
  std::vector<simdmax_attention_args> args;
  for (size_t s = 0; s < kBatch; ++s) {
    args.push_back(DecodeArgs(t, kBatchBlock, BatchLengths()[s], d.k.get(), d.v.get(), d.tables[s].data(), d.n_blocks,
                              d.q.data() + s * kHeads * kDim, d.out.data() + s * kHeads * kDim));
  }
  return args;
}

void EngineDecodeBatch(benchmark::State& state, simdmax_dtype t, int threads, bool one_call) {
  ThreadLimit limit(threads);
  BatchData& d = Batch(t);
  const std::vector<simdmax_attention_args> args = BatchArgs(t, d);
  if (one_call) {
    TimeCalls(state, [&] { return simdmax_attention_batch(args.data(), args.size()); });
  } else {
    TimeCalls(state, [&] {
      for (const auto& a : args) {
        const simdmax_status st = simdmax_attention(&a);
        if (st != SIMDMAX_OK) return st;
      }
      return SIMDMAX_OK;
    });
  }
  const size_t bytes = KvBytes(BatchKeys(), t);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["kv_bytes"] = static_cast<double>(bytes);
  state.counters["threads"] = threads;
}

// ---- Prefill ----
// Query-key pairs visible to the n_queries queries (at positions i + n_keys - n_queries) of one head.
uint64_t VisiblePairs(size_t n_queries, size_t n_keys, bool causal, size_t window) {
  uint64_t pairs = 0;
  for (size_t i = 0; i < n_queries; ++i) {
    const int64_t p = static_cast<int64_t>(i + n_keys) - static_cast<int64_t>(n_queries);
    int64_t lo = 0, hi = static_cast<int64_t>(n_keys) - 1;
    if (causal) hi = std::min(hi, p);
    if (window > 0) {
      lo = std::max(lo, p - static_cast<int64_t>(window) + 1);
      if (!causal) hi = std::min(hi, p + static_cast<int64_t>(window) - 1);
    }
    if (hi >= lo) pairs += static_cast<uint64_t>(hi - lo + 1);
  }
  return pairs;
}

// q.k and p.v: one multiply-add (2 flop) per element of head_dim each, per visible pair, over every head.
double Flops(size_t n_queries, size_t n_keys, bool causal, size_t window) {
  return 2.0 * 2.0 * static_cast<double>(kDim) * static_cast<double>(kHeads) *
         static_cast<double>(VisiblePairs(n_queries, n_keys, causal, window));
}

void SetFlops(benchmark::State& state, double flops) {
  state.counters["flop"] = flops;
  state.counters["flop/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// q [head][query][dim], K/V [kv head][key][dim], out like q, all of type t; n_keys = n_queries.
struct PrefillData : Data {
  Buffer q, k, v, out;
};

PrefillData& PrefillInputs(simdmax_dtype t, size_t n) {
  const size_t es = simdmax_dtype_size(t), nq = kHeads * n * kDim, nkv = kKvHeads * n * kDim;
  return Cache().Get<PrefillData>(std::string("prefill/") + TypeName(t) + "/" + std::to_string(n),
                                  (2 * nq + 2 * nkv) * es, [&] {
                                    auto d = std::make_unique<PrefillData>();
                                    d->q = Allocate(nq * es);
                                    d->k = Allocate(nkv * es);
                                    d->v = Allocate(nkv * es);
                                    d->out = Allocate(nq * es);
                                    FillRandom(d->q.get(), t, nq, 4);
                                    FillRandom(d->k.get(), t, nkv, 5);
                                    FillRandom(d->v.get(), t, nkv, 6);
                                    return d;
                                  });
}

simdmax_attention_args PrefillArgs(simdmax_dtype t, size_t n, PrefillData& d) {
  simdmax_attention_args a;
  simdmax_attention_args_init(&a);
  a.q = d.q.get();
  a.k = d.k.get();
  a.v = d.v.get();
  a.out = d.out.get();
  a.q_type = a.kv_type = a.out_type = t;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.n_queries = a.n_keys = n;
  a.head_dim = kDim;
  a.q_head_stride = a.out_head_stride = n * kDim;
  a.k_head_stride = a.v_head_stride = n * kDim;
  a.q_row_stride = a.k_row_stride = a.v_row_stride = a.out_row_stride = kDim;
  a.causal = 1;
  return a;
}

void EnginePrefill(benchmark::State& state, simdmax_dtype t, size_t n, int threads) {
  ThreadLimit limit(threads);
  PrefillData& d = PrefillInputs(t, n);
  const simdmax_attention_args a = PrefillArgs(t, n, d);
  TimeCalls(state, [&] { return simdmax_attention(&a); });
  SetFlops(state, Flops(n, n, true, 0));
  state.counters["threads"] = threads;
}

// ---- Feature overhead ----
using simdmax_bench::AttentionFeatureInputs;
using simdmax_bench::kAttentionFeatureNames;
using simdmax_bench::kRealWindow;

constexpr simdmax_dtype kFeatureDecodeType = SIMDMAX_BF16, kFeaturePrefillType = SIMDMAX_F32;
constexpr size_t kFeatureDecodeKeys = 4096, kFeaturePrefillQueries = 512;
// The windows that hide keys: decode sees the last 1024 of 4096 keys; prefill query i sees the last 128 positions.
constexpr size_t kDecodeRealWindow = 1024, kPrefillRealWindow = 128;
// The window that hides nothing: decode n_keys (p - j < n_keys always); prefill 1024 (> the 512 positions).
constexpr size_t kPrefillWindow = 1024;

// A feature's cost measured paired, after the timed loop: rounds of one call without the feature (`plain`) and one
// with it, in alternating order, each timed alone; counters paired_ratio (the median over rounds of with / without)
// and paired_q1 / paired_q3 (its quartiles). Why: the feature benchmarks' medians are taken minutes apart on a shared
// VM whose speed drifts by 10-30% between repetitions (the run of 2026-12-07 had the plain decode spread by 16% and
// sinks by 28%), which decides a "<= 10% over plain" verdict by itself; drift slower than a round cancels in the
// per-round ratio (bench/ab_compare.cc measures kernel changes the same way). ~0.4 s of rounds, at least 16.
void PairedFeatureCost(benchmark::State& state, const simdmax_attention_args& plain,
                       const simdmax_attention_args& featured) {
  if (state.error_occurred()) return;
  using Clock = std::chrono::steady_clock;
  const auto time_call = [](const simdmax_attention_args& a) {
    const Clock::time_point start = Clock::now();
    const simdmax_status st = simdmax_attention(&a);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return st == SIMDMAX_OK ? seconds : -1.0;
  };
  std::vector<double> ratios;
  double spent = 0;
  for (int round = 0; round < 1000 && (round < 16 || spent < 0.4); ++round) {
    double t_plain, t_featured;
    if (round % 2 == 0) {
      t_plain = time_call(plain);
      t_featured = time_call(featured);
    } else {
      t_featured = time_call(featured);
      t_plain = time_call(plain);
    }
    if (t_plain <= 0 || t_featured < 0) return;  // an error: no paired counters
    ratios.push_back(t_featured / t_plain);
    spent += t_plain + t_featured;
  }
  std::sort(ratios.begin(), ratios.end());
  const auto quantile = [&](double q) { return ratios[static_cast<size_t>(q * (ratios.size() - 1) + 0.5)]; };
  state.counters["paired_ratio"] = quantile(0.5);
  state.counters["paired_q1"] = quantile(0.25);
  state.counters["paired_q3"] = quantile(0.75);
}

void FeatureDecode(benchmark::State& state, unsigned features) {
  ThreadLimit limit(1);
  const simdmax_dtype t = kFeatureDecodeType;
  const size_t n_keys = kFeatureDecodeKeys;
  KvData& d = DecodeKv(t, 0, n_keys);
  std::vector<float> out(kHeads * kDim);
  static const AttentionFeatureInputs* f =
      new AttentionFeatureInputs(simdmax_bench::MakeAttentionFeatureInputs(kHeads, n_keys));
  simdmax_attention_args a =
      DecodeArgs(t, 0, n_keys, d.k.get(), d.v.get(), nullptr, 0, DecodeQuery().data(), out.data());
  const simdmax_attention_args plain = a;
  simdmax_bench::ApplyAttentionFeatures(a, features, *f, n_keys, kDecodeRealWindow);
  TimeCalls(state, [&] { return simdmax_attention(&a); });
  if (features != 0) PairedFeatureCost(state, plain, a);
  const size_t visible = (features & kRealWindow) ? kDecodeRealWindow : n_keys;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * KvBytes(visible, t)));
  state.counters["kv_bytes"] = static_cast<double>(KvBytes(visible, t));
  state.counters["threads"] = 1;
}

void FeaturePrefill(benchmark::State& state, unsigned features) {
  ThreadLimit limit(1);
  const simdmax_dtype t = kFeaturePrefillType;
  const size_t n = kFeaturePrefillQueries;
  PrefillData& d = PrefillInputs(t, n);
  static const AttentionFeatureInputs* f =
      new AttentionFeatureInputs(simdmax_bench::MakeAttentionFeatureInputs(kHeads, n * n));
  simdmax_attention_args a = PrefillArgs(t, n, d);
  const simdmax_attention_args plain = a;
  simdmax_bench::ApplyAttentionFeatures(a, features, *f, kPrefillWindow, kPrefillRealWindow);
  TimeCalls(state, [&] { return simdmax_attention(&a); });
  if (features != 0) PairedFeatureCost(state, plain, a);
  SetFlops(state, Flops(n, n, true, a.window));
  state.counters["threads"] = 1;
}

// ---- Registration ----
std::string Threads(int n) { return "/threads:" + std::to_string(n); }

void RegisterEngineBenchmarks() {
  const simdmax_dtype types[] = {SIMDMAX_F32, SIMDMAX_F16, SIMDMAX_BF16};
  const size_t blocks[] = {0, 16, 256};
  std::vector<size_t> streamed;
  const auto stream = [&](size_t bytes) {
    if (std::find(streamed.begin(), streamed.end(), bytes) != streamed.end()) return;
    streamed.push_back(bytes);
    for (int th : kThreadCounts) {
      benchmark::RegisterBenchmark(("BM_StreamKV/" + std::to_string(bytes) + Threads(th)).c_str(),
                                   [bytes, th](benchmark::State& s) { StreamKV(s, bytes, th); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  };
  // Case by case, the stream of the same bytes first: without random interleaving, a decode and its reference run
  // back to back, under the same load.
  for (size_t n_keys : {size_t{4096}, size_t{32768}}) {
    for (simdmax_dtype t : types) {
      stream(KvBytes(n_keys, t));
      for (size_t block : blocks) {
        for (int th : kThreadCounts) {
          const std::string name = std::string("BM_EngineDecode/") + TypeName(t) + "/" + LayoutName(block) + "/" +
                                   std::to_string(n_keys) + Threads(th);
          benchmark::RegisterBenchmark(
              name.c_str(), [t, block, n_keys, th](benchmark::State& s) { EngineDecode(s, t, block, n_keys, th); })
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  for (simdmax_dtype t : {SIMDMAX_BF16, SIMDMAX_F32}) {
    stream(KvBytes(BatchKeys(), t));
    for (int th : kThreadCounts) {
      for (bool one_call : {true, false}) {
        const std::string name = std::string(one_call ? "BM_EngineDecodeBatch/" : "BM_EngineDecodeLoop/") +
                                 TypeName(t) + "/paged16/16seq" + Threads(th);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [t, th, one_call](benchmark::State& s) { EngineDecodeBatch(s, t, th, one_call); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  for (simdmax_dtype t : {SIMDMAX_F32, SIMDMAX_BF16}) {
    for (size_t n : {size_t{512}, size_t{2048}}) {
      for (int th : kThreadCounts) {
        if (n == 512 && th > 1) continue;
        const std::string name = std::string("BM_EnginePrefill/") + TypeName(t) + "/" + std::to_string(n) + Threads(th);
        // 2048 queries take ~0.3-1 s a call: the runner's first estimate (one call) already exceeds any usual
        // --benchmark_min_time, so one or two calls are timed. (A MinTime() here would change the name.)
        benchmark::RegisterBenchmark(name.c_str(), [t, n, th](benchmark::State& s) { EnginePrefill(s, t, n, th); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (const auto& c : kAttentionFeatureNames) {
    const std::string decode_name =
        c.features & kRealWindow ? "realwindow" + std::to_string(kDecodeRealWindow) : std::string(c.name);
    const unsigned features = c.features;
    benchmark::RegisterBenchmark((std::string("BM_EngineFeature/decode/") + TypeName(kFeatureDecodeType) + "/" +
                                  std::to_string(kFeatureDecodeKeys) + "/" + decode_name + Threads(1))
                                     .c_str(),
                                 [features](benchmark::State& s) { FeatureDecode(s, features); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const auto& c : kAttentionFeatureNames) {
    const std::string prefill_name =
        c.features & kRealWindow ? "realwindow" + std::to_string(kPrefillRealWindow) : std::string(c.name);
    const unsigned features = c.features;
    benchmark::RegisterBenchmark((std::string("BM_EngineFeature/prefill/") + TypeName(kFeaturePrefillType) + "/" +
                                  std::to_string(kFeaturePrefillQueries) + "/" + prefill_name + Threads(1))
                                     .c_str(),
                                 [features](benchmark::State& s) { FeaturePrefill(s, features); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, family, number;
  while (std::getline(in, line)) {
    const auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.rfind("model name", 0) == 0 && model.empty()) model = value();
    if (line.rfind("cpu family", 0) == 0 && family.empty()) family = value();
    if (line.rfind("model\t", 0) == 0 && number.empty()) number = value();
    if (line.rfind("CPU part", 0) == 0 && model.empty()) model = "Arm part " + value();
  }
  if (model.empty()) return "unknown";
  return family.empty() ? model : model + " (family " + family + ", model " + number + ")";
}

}  // namespace engine

int main(int argc, char** argv) {
  std::string targets;
  for (size_t t = 0; t < simdmax_target_count(); ++t) targets += (t ? "," : "") + std::string(simdmax_target_name(t));
  benchmark::AddCustomContext("simdmax_version", simdmax_version());
  benchmark::AddCustomContext("simdmax_targets", targets);
  benchmark::AddCustomContext("simdmax_cpu", engine::CpuModel());
  benchmark::AddCustomContext("simdmax_stream_isa", engine::SumIsa());
  engine::RegisterEngineBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
