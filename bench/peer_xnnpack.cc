// Peer: XNNPACK (libxnnpack-dev, Debian's 2022 snapshot): xnn_create_softmax_nc_f32 + xnn_setup_softmax_nc_f32
// outside the timed loop, xnn_run_operator timed, on a pthreadpool with the benchmark's thread count. This version
// has no log-softmax operator.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <map>

#include "bench/common.h"

namespace simdmax_bench {
namespace {

pthreadpool_t PoolFor(int threads) {
  static std::map<int, pthreadpool_t> pools;  // alive for the whole run, never destroyed
  auto it = pools.find(threads);
  if (it == pools.end()) it = pools.emplace(threads, pthreadpool_create(static_cast<size_t>(threads))).first;
  return it->second;
}

}  // namespace

void RegisterXnnpack(const Shape& shape) {
  for (int threads : ThreadCounts()) {
    Register(OpName(Op::kSoftmax), "xnnpack", shape, threads, [=](benchmark::State& state) {
      Buffers b = BuffersFor(shape);
      static const xnn_status init = xnn_initialize(nullptr);
      if (init != xnn_status_success) {
        state.SkipWithError("xnn_initialize failed");
        return;
      }
      pthreadpool_t pool = PoolFor(threads);
      xnn_operator_t op = nullptr;
      if (xnn_create_softmax_nc_f32(shape.cols, shape.cols, shape.cols, 0, &op) != xnn_status_success) {
        state.SkipWithError("xnn_create_softmax_nc_f32 failed");
        return;
      }
      if (xnn_setup_softmax_nc_f32(op, shape.rows, b.in, b.out, pool) != xnn_status_success) {
        xnn_delete_operator(op);
        state.SkipWithError("xnn_setup_softmax_nc_f32 failed");
        return;
      }
      xnn_status status = xnn_status_success;
      for (auto _ : state) {
        status = xnn_run_operator(op, pool);
        benchmark::ClobberMemory();
      }
      xnn_delete_operator(op);
      if (status != xnn_status_success) {
        state.SkipWithError("xnn_run_operator failed");
        return;
      }
      SetCounters(state, shape);
    });
  }
}

}  // namespace simdmax_bench
