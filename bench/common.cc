#include "bench/common.h"

#include <cstdint>
#include <cstdlib>
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
  size_t rows = 0, cols = 0;
  AlignedFloats in, out;
};

}  // namespace

Buffers BuffersFor(const Shape& shape) {
  static ShapeBuffers current;
  if (current.rows != shape.rows || current.cols != shape.cols || !current.in) {
    current.in.reset();
    current.out.reset();
    const size_t n = shape.elements();
    current.in = AllocateAligned(n);
    current.out = AllocateAligned(n);
    if (!current.in || !current.out) std::abort();
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
    for (size_t i = 0; i < n; ++i) current.in[i] = dist(rng);
    // Touch the output once so that page faults are not timed.
    for (size_t i = 0; i < n; ++i) current.out[i] = 0.0f;
    current.rows = shape.rows;
    current.cols = shape.cols;
  }
  return Buffers{current.in.get(), current.out.get()};
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
