// Peer: oneDNN 2.6 (libdnnl-dev), dnnl::softmax_v2_forward with softmax_accurate / softmax_log over axis 1.
// The primitive is created outside the timed loop; execute + stream.wait() are timed. oneDNN's Debian build uses
// OpenMP threading, so the thread count is set with omp_set_num_threads.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "bench/common.h"

namespace simdmax_bench {

namespace {

dnnl::memory::data_type DnnlType(simdmax_dtype type) {
  return type == SIMDMAX_F32   ? dnnl::memory::data_type::f32
         : type == SIMDMAX_F16 ? dnnl::memory::data_type::f16
                               : dnnl::memory::data_type::bf16;
}

// Typed: src and dst memory descriptors of the pair's types (oneDNN computes in f32 inside). Where this oneDNN has
// no implementation for the pair on this CPU, primitive_desc creation throws and the benchmark is skipped with
// oneDNN's message (the summary shows "–").
// typed: names "<op>:<x>-<y>" (the typed suite); else "<op>" for f32 -> f32 (the main suite).
void RegisterOneDnnWith(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type, bool typed) {
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (int threads : ThreadCounts()) {
      const std::string name = typed ? TypedOpName(OpName(op), x_type, y_type) : std::string(OpName(op));
      Register(name, "onednn", shape, threads, [=](benchmark::State& state) {
        const TypedBuffers b = TypedBuffersFor(shape, x_type, y_type);
        omp_set_num_threads(threads);
        try {
          static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
          dnnl::stream stream(engine);
          const dnnl::memory::dims dims = {static_cast<dnnl::memory::dim>(shape.rows),
                                           static_cast<dnnl::memory::dim>(shape.cols)};
          dnnl::memory::desc src_md(dims, DnnlType(x_type), dnnl::memory::format_tag::ab);
          dnnl::memory::desc dst_md(dims, DnnlType(y_type), dnnl::memory::format_tag::ab);
          const auto algorithm = op == Op::kSoftmax ? dnnl::algorithm::softmax_accurate : dnnl::algorithm::softmax_log;
          dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src_md, dst_md,
                                              /*axis=*/1);
          dnnl::softmax_v2_forward::primitive_desc pd(desc, engine);
          dnnl::softmax_v2_forward primitive(pd);
          dnnl::memory src(src_md, engine, const_cast<void*>(b.in));
          dnnl::memory dst(dst_md, engine, b.out);
          const std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
          for (auto _ : state) {
            primitive.execute(stream, args);
            stream.wait();
            benchmark::ClobberMemory();
          }
        } catch (const dnnl::error& e) {
          state.SkipWithError(e.what());
          return;
        }
        SetTypedCounters(state, shape, x_type, y_type);
      });
    }
  }
}

}  // namespace

void RegisterOneDnn(const Shape& shape) { RegisterOneDnnWith(shape, SIMDMAX_F32, SIMDMAX_F32, /*typed=*/false); }

void RegisterOneDnnTyped(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type) {
  RegisterOneDnnWith(shape, x_type, y_type, /*typed=*/true);
}

}  // namespace simdmax_bench
