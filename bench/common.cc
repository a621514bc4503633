#include "bench/common.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <utility>

namespace simdmax_bench {
namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;

AlignedFloats AllocateAligned(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

struct ShapeBuffers {
  AlignedFloats in, out;
};

}  // namespace

Buffers BuffersFor(const Shape& shape) {
  // Kept for the whole run (all shapes together are ~600 MiB), so that benchmarks of different shapes may be
  // interleaved (--benchmark_enable_random_interleaving) without regenerating inputs.
  static std::map<std::pair<size_t, size_t>, ShapeBuffers> cache;
  ShapeBuffers& b = cache[{shape.rows, shape.cols}];
  if (!b.in) {
    const size_t n = shape.elements();
    b.in = AllocateAligned(n);
    b.out = AllocateAligned(n);
    if (!b.in || !b.out) std::abort();
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
    for (size_t i = 0; i < n; ++i) b.in[i] = dist(rng);
    // Touch the output once so that page faults are not timed.
    for (size_t i = 0; i < n; ++i) b.out[i] = 0.0f;
  }
  return Buffers{b.in.get(), b.out.get()};
}

void SetCounters(benchmark::State& state, const Shape& shape) {
  const int64_t elements = static_cast<int64_t>(shape.elements());
  state.SetItemsProcessed(state.iterations() * elements);
  state.SetBytesProcessed(state.iterations() * elements * 8);
}

benchmark::internal::Benchmark* Register(const std::string& op, const std::string& impl, const Shape& shape,
                                         int threads, std::function<void(benchmark::State&)> body) {
  const std::string name = op + "/" + impl + "/" + shape.Name() + "/threads:" + std::to_string(threads);
  return benchmark::RegisterBenchmark(name.c_str(), [body = std::move(body)](benchmark::State& state) { body(state); })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace simdmax_bench
