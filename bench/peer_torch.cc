// Peer: PyTorch / ATen (libtorch-dev 1.13): at::softmax_out / at::log_softmax_out over dim 1 on from_blob tensors
// under c10::InferenceMode, with at::set_num_threads. ATen 1.13 only uses its AVX-512 kernels when the process is
// started with ATEN_CPU_CAPABILITY=avx512, so the implementation is named after that variable
// ("torch:avx512", or "torch:default" when unset) and scripts/bench.sh runs the torch benchmarks both ways.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <string>

#include "bench/common.h"

namespace simdmax_bench {

void RegisterTorch(const Shape& shape) {
  const char* capability = std::getenv("ATEN_CPU_CAPABILITY");
  const std::string impl =
      std::string("torch:") + (capability != nullptr && *capability != '\0' ? capability : "default");
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (int threads : ThreadCounts()) {
      Register(OpName(op), impl, shape, threads, [=](benchmark::State& state) {
        Buffers b = BuffersFor(shape);
        at::set_num_threads(threads);
        c10::InferenceMode guard;
        const auto options = at::TensorOptions().dtype(at::kFloat);
        const int64_t rows = static_cast<int64_t>(shape.rows), cols = static_cast<int64_t>(shape.cols);
        at::Tensor x = at::from_blob(const_cast<float*>(b.in), {rows, cols}, options);
        at::Tensor y = at::from_blob(b.out, {rows, cols}, options);
        for (auto _ : state) {
          if (op == Op::kSoftmax) {
            at::softmax_out(y, x, 1);
          } else {
            at::log_softmax_out(y, x, 1);
          }
          benchmark::ClobberMemory();
        }
        SetCounters(state, shape);
      });
    }
  }
}

// Typed: from_blob tensors of the pair's types. Same types: at::softmax_out(y, x, 1). Different types: the dtype
// argument set to y's type (ATen converts x to it first, then runs its kernel for that type), what a PyTorch user
// writes. Errors (no CPU kernel for a type) skip the benchmark with ATen's message.
void RegisterTorchTyped(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type) {
  const char* capability = std::getenv("ATEN_CPU_CAPABILITY");
  const std::string impl =
      std::string("torch:") + (capability != nullptr && *capability != '\0' ? capability : "default");
  const auto scalar_type = [](simdmax_dtype type) {
    return type == SIMDMAX_F32 ? at::kFloat : type == SIMDMAX_F16 ? at::kHalf : at::kBFloat16;
  };
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (int threads : ThreadCounts()) {
      Register(TypedOpName(OpName(op), x_type, y_type), impl, shape, threads, [=](benchmark::State& state) {
        const TypedBuffers b = TypedBuffersFor(shape, x_type, y_type);
        at::set_num_threads(threads);
        c10::InferenceMode guard;
        const int64_t rows = static_cast<int64_t>(shape.rows), cols = static_cast<int64_t>(shape.cols);
        at::Tensor x =
            at::from_blob(const_cast<void*>(b.in), {rows, cols}, at::TensorOptions().dtype(scalar_type(x_type)));
        at::Tensor y = at::from_blob(b.out, {rows, cols}, at::TensorOptions().dtype(scalar_type(y_type)));
        c10::optional<at::ScalarType> dtype;
        if (x_type != y_type) dtype = scalar_type(y_type);
        try {
          for (auto _ : state) {
            if (op == Op::kSoftmax) {
              at::softmax_out(y, x, 1, dtype);
            } else {
              at::log_softmax_out(y, x, 1, dtype);
            }
            benchmark::ClobberMemory();
          }
        } catch (const c10::Error& e) {
          state.SkipWithError(e.what_without_backtrace());
          return;
        }
        SetTypedCounters(state, shape, x_type, y_type);
      });
    }
  }
}

}  // namespace simdmax_bench
