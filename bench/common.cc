#include "bench/common.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <tuple>
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

namespace {

uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// Benchmark inputs are finite and within [-10, 10]: round to nearest even without the special cases.
uint16_t ToBf16(float f) {
  const uint32_t bits = FloatBits(f);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

uint16_t ToF16(float f) {
  const uint32_t bits = FloatBits(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xFFu) - 127 + 15;
  if (exponent <= 0) return static_cast<uint16_t>(sign);  // below f16's normal range: 0 (no input is there)
  const uint32_t mantissa = bits & 0x7FFFFFu;
  uint32_t half = (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // a carry into the exponent is still right
  return static_cast<uint16_t>(sign | half);
}

struct TypedShapeBuffers {
  std::unique_ptr<void, void (*)(void*)> in{nullptr, std::free}, out{nullptr, std::free};
};

void* AllocateBytes(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == nullptr) std::abort();
  std::memset(p, 0, bytes);  // page faults outside the timed loop
  return p;
}

}  // namespace

const char* DtypeName(simdmax_dtype type) { return type == SIMDMAX_F32 ? "f32" : type == SIMDMAX_F16 ? "f16" : "bf16"; }

std::string TypedOpName(const std::string& op, simdmax_dtype x_type, simdmax_dtype y_type) {
  return op + ":" + DtypeName(x_type) + "-" + DtypeName(y_type);
}

TypedBuffers TypedBuffersFor(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type) {
  static std::map<std::tuple<size_t, size_t, int, int>, TypedShapeBuffers> cache;
  TypedShapeBuffers& b = cache[{shape.rows, shape.cols, x_type, y_type}];
  if (!b.in) {
    const size_t n = shape.elements();
    const float* values = BuffersFor(shape).in;
    b.in.reset(AllocateBytes(n * simdmax_dtype_size(x_type)));
    b.out.reset(AllocateBytes(n * simdmax_dtype_size(y_type)));
    if (x_type == SIMDMAX_F32) {
      std::memcpy(b.in.get(), values, n * sizeof(float));
    } else {
      uint16_t* in = static_cast<uint16_t*>(b.in.get());
      for (size_t i = 0; i < n; ++i) in[i] = x_type == SIMDMAX_BF16 ? ToBf16(values[i]) : ToF16(values[i]);
    }
  }
  return TypedBuffers{b.in.get(), b.out.get()};
}

void SetTypedCounters(benchmark::State& state, const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type) {
  const int64_t elements = static_cast<int64_t>(shape.elements());
  state.SetItemsProcessed(state.iterations() * elements);
  state.SetBytesProcessed(state.iterations() * elements *
                          static_cast<int64_t>(simdmax_dtype_size(x_type) + simdmax_dtype_size(y_type)));
}

benchmark::internal::Benchmark* Register(const std::string& op, const std::string& impl, const Shape& shape,
                                         int threads, std::function<void(benchmark::State&)> body) {
  const std::string name = op + "/" + impl + "/" + shape.Name() + "/threads:" + std::to_string(threads);
  return benchmark::RegisterBenchmark(name.c_str(), [body = std::move(body)](benchmark::State& state) { body(state); })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace simdmax_bench
