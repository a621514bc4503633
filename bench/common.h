// Shared pieces of the simdmax benchmark suite: shapes, per-shape input/output buffers, counters and the naming
// scheme every implementation (simdmax, memcpy, peers) follows so that bench/summarize.py can parse the results.
//
// Benchmark names: <op>/<impl>/<rows>x<cols>/threads:<n>, op in {softmax, log_softmax, memcpy}; Google Benchmark
// appends "/real_time" (every benchmark measures wall time, since several threads may work for one call).
#ifndef SIMDMAX_BENCH_COMMON_H_
#define SIMDMAX_BENCH_COMMON_H_

#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_bench {

struct Shape {
  size_t rows;
  size_t cols;
  size_t elements() const { return rows * cols; }
  std::string Name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};

enum class Op { kSoftmax, kLogSoftmax };
inline const char* OpName(Op op) { return op == Op::kSoftmax ? "softmax" : "log_softmax"; }

// The shapes selected on the command line (see bench_main.cc), in registration order, and the thread counts.
const std::vector<Shape>& Shapes();
const std::vector<int>& ThreadCounts();

// Input (uniform in [-10, 10], fixed seed) and output buffers for a shape, 64-byte aligned, shared by every
// implementation. Generated on first use (never inside a timed loop) and kept until the process exits. Large shapes
// are out of cache anyway; small ones are warm after the first iterations, as in an engine calling in a loop.
struct Buffers {
  const float* in;
  float* out;
};
Buffers BuffersFor(const Shape& shape);

// Sets elements/s (items) and bytes/s: one 4-byte read and one 4-byte write per element.
void SetCounters(benchmark::State& state, const Shape& shape);

// Typed runs (--simdmax_typed, issue 10): the same inputs stored as x_type (rounded to nearest even), an output
// buffer of y_type, both 64-byte aligned and kept like Buffers. Benchmark names: <op>:<x>-<y>/<impl>/<shape>/threads:n
// (e.g. "softmax:bf16-bf16"), and "memcpy:<x>-<y>" for a memcpy moving the same bytes ((size x + size y) / 2 per
// element, so a copy reads and writes as many bytes as the op).
struct TypedBuffers {
  const void* in;
  void* out;
};
TypedBuffers TypedBuffersFor(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type);
const char* DtypeName(simdmax_dtype type);
std::string TypedOpName(const std::string& op, simdmax_dtype x_type, simdmax_dtype y_type);
// Items/s, and bytes/s for one x_type read and one y_type write per element.
void SetTypedCounters(benchmark::State& state, const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type);

// Registers one benchmark named <op>/<impl>/<shape>/threads:<n> with wall-clock timing.
benchmark::internal::Benchmark* Register(const std::string& op, const std::string& impl, const Shape& shape,
                                         int threads, std::function<void(benchmark::State&)> body);

// Peer registration hooks: each peer file (bench/peer_*.cc) defines one; bench_main.cc calls those compiled in.
void RegisterOneDnn(const Shape& shape);
void RegisterXnnpack(const Shape& shape);
void RegisterTorch(const Shape& shape);
// Typed peers: skipped (with the peer's error) where the peer has no kernel for the type pair.
void RegisterOneDnnTyped(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type);
void RegisterTorchTyped(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type);

}  // namespace simdmax_bench

#endif  // SIMDMAX_BENCH_COMMON_H_
