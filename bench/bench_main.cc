// simdmax benchmark suite: softmax and log-softmax for every target this CPU supports, memcpy of the same bytes
// (the bandwidth limit), and the peers compiled in (oneDNN, XNNPACK, PyTorch), over the shapes of issue 3 with
// 1 and 2 threads. scripts/bench.sh runs it and bench/summarize.py turns the JSON into tables.
//
// Own flags (removed before Google Benchmark parses the rest):
//   --simdmax_max_elements=N   skip shapes with more than N elements (scripts/bench.sh --quick uses 1<<22)
//   --simdmax_threads=1,2      thread counts to register
//   --simdmax_typed            the typed suite instead (issue 10): softmax and log-softmax for the type pairs
//                              bf16->bf16, f16->f16, bf16->f32, f32->bf16 and f32->f32 (the conversion overhead's
//                              baseline) on kTypedShapes, simdmax on its best target and AVX2, memcpy of the same
//                              bytes, oneDNN and PyTorch with half-precision tensors where they have the kernel
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/common.h"
#include "simdmax/simdmax.h"

namespace simdmax_bench {
namespace {

std::vector<Shape>& MutableShapes() {
  static std::vector<Shape> shapes;
  return shapes;
}
std::vector<int>& MutableThreads() {
  static std::vector<int> threads;
  return threads;
}

// The shapes; the last one (256 MiB in + 256 MiB out) is out of this machine's 480 MiB L3.
// The shapes of issue 3 plus those of issue 9: short rows of attention tiles and classifier heads (16384x32,
// 2048x128, 1024x256) and a GPT-2 vocabulary row (1x50257, not a multiple of any vector width).
const Shape kAllShapes[] = {{1, 1000},  {1, 32000},  {1, 50257},  {1, 128000}, {128, 128},   {1024, 1024}, {64, 32000},
                            {4096, 64}, {16384, 32}, {2048, 128}, {1024, 256}, {8, 1048576}, {16, 4194304}};

// The typed suite's shapes: in-cache rows short to long, and the out-of-cache shape.
const Shape kTypedShapes[] = {{1, 1000}, {1, 32000}, {128, 128}, {1024, 1024}, {4096, 64}, {2048, 128}, {16, 4194304}};
const std::pair<simdmax_dtype, simdmax_dtype> kTypePairs[] = {{SIMDMAX_BF16, SIMDMAX_BF16},
                                                              {SIMDMAX_F16, SIMDMAX_F16},
                                                              {SIMDMAX_BF16, SIMDMAX_F32},
                                                              {SIMDMAX_F32, SIMDMAX_BF16},
                                                              {SIMDMAX_F32, SIMDMAX_F32}};

void RegisterMemcpy(const Shape& shape) {
  // memcpy is single-threaded: the reference for a one-thread call.
  Register("memcpy", "memcpy", shape, 1, [shape](benchmark::State& state) {
    Buffers b = BuffersFor(shape);
    const size_t bytes = shape.elements() * sizeof(float);
    for (auto _ : state) {
      std::memcpy(b.out, b.in, bytes);
      benchmark::ClobberMemory();
    }
    SetCounters(state, shape);
  });
}

void RegisterSimdmax(const Shape& shape) {
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (size_t t = 0; t < simdmax_target_count(); ++t) {
      const std::string target = simdmax_target_name(t);
      for (int threads : ThreadCounts()) {
        Register(OpName(op), "simdmax:" + target, shape, threads, [=](benchmark::State& state) {
          Buffers b = BuffersFor(shape);
          if (simdmax_select_target(target.c_str()) != SIMDMAX_OK) {
            state.SkipWithError("simdmax_select_target failed");
            return;
          }
          simdmax_set_max_threads(static_cast<size_t>(threads));
          auto fn = op == Op::kSoftmax ? simdmax_softmax_f32 : simdmax_log_softmax_f32;
          simdmax_status status = SIMDMAX_OK;
          for (auto _ : state) {
            status = fn(shape.rows, shape.cols, b.in, shape.cols, b.out, shape.cols);
            benchmark::DoNotOptimize(status);
            benchmark::ClobberMemory();
          }
          simdmax_select_target(nullptr);
          simdmax_set_max_threads(0);
          if (status != SIMDMAX_OK) {
            state.SkipWithError(simdmax_status_string(status));
            return;
          }
          SetCounters(state, shape);
        });
      }
    }
  }
}

void RegisterTyped(const Shape& shape, simdmax_dtype x_type, simdmax_dtype y_type) {
  // memcpy moving the op's bytes: (size x + size y) / 2 per element, one thread.
  Register(TypedOpName("memcpy", x_type, y_type), "memcpy", shape, 1, [=](benchmark::State& state) {
    const TypedBuffers b = TypedBuffersFor(shape, SIMDMAX_F32, SIMDMAX_F32);  // f32: room for the larger copy
    const size_t bytes = shape.elements() * (simdmax_dtype_size(x_type) + simdmax_dtype_size(y_type)) / 2;
    for (auto _ : state) {
      std::memcpy(b.out, b.in, bytes);
      benchmark::ClobberMemory();
    }
    SetTypedCounters(state, shape, x_type, y_type);
  });
  std::vector<std::string> targets = {simdmax_target_name(0)};
  for (size_t t = 1; t < simdmax_target_count(); ++t) {
    if (std::strcmp(simdmax_target_name(t), "AVX2") == 0) targets.push_back("AVX2");
  }
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (const std::string& target : targets) {
      for (int threads : ThreadCounts()) {
        Register(TypedOpName(OpName(op), x_type, y_type), "simdmax:" + target, shape, threads,
                 [=](benchmark::State& state) {
                   const TypedBuffers b = TypedBuffersFor(shape, x_type, y_type);
                   if (simdmax_select_target(target.c_str()) != SIMDMAX_OK) {
                     state.SkipWithError("simdmax_select_target failed");
                     return;
                   }
                   simdmax_set_max_threads(static_cast<size_t>(threads));
                   auto fn = op == Op::kSoftmax ? simdmax_softmax : simdmax_log_softmax;
                   simdmax_status status = SIMDMAX_OK;
                   for (auto _ : state) {
                     status = fn(shape.rows, shape.cols, x_type, b.in, shape.cols, y_type, b.out, shape.cols);
                     benchmark::DoNotOptimize(status);
                     benchmark::ClobberMemory();
                   }
                   simdmax_select_target(nullptr);
                   simdmax_set_max_threads(0);
                   if (status != SIMDMAX_OK) {
                     state.SkipWithError(simdmax_status_string(status));
                     return;
                   }
                   SetTypedCounters(state, shape, x_type, y_type);
                 });
      }
    }
  }
#ifdef SIMDMAX_BENCH_HAVE_ONEDNN
  RegisterOneDnnTyped(shape, x_type, y_type);
#endif
#ifdef SIMDMAX_BENCH_HAVE_TORCH
  RegisterTorchTyped(shape, x_type, y_type);
#endif
}

bool ConsumeFlag(const char* arg, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

}  // namespace

// "model name (family F, model M)" from /proc/cpuinfo (x86), or the CPU part/implementer on Arm; "unknown" else.
std::string CpuDescription() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, family, model_number;
  while (std::getline(in, line)) {
    const auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.rfind("model name", 0) == 0 && model.empty()) model = value();
    if (line.rfind("cpu family", 0) == 0 && family.empty()) family = value();
    if (line.rfind("model\t", 0) == 0 && model_number.empty()) model_number = value();
    if (line.rfind("CPU part", 0) == 0 && model.empty()) model = "Arm part " + value();
  }
  if (model.empty()) return "unknown";
  return family.empty() ? model : model + " (family " + family + ", model " + model_number + ")";
}

int VectorBits(const std::string& target) {
  if (target.rfind("AVX3", 0) == 0) return 512;
  if (target == "AVX2") return 256;
  if (target == "SSE4" || target == "SSSE3" || target == "NEON" || target == "SVE2_128") return 128;
  if (target == "SVE_256") return 256;
  return target == "SCALAR" ? 32 : 0;  // 0: scalable (SVE, SVE2), decided by the CPU
}

std::string CacheDescription() {
  std::string out;
  for (int level = 1; level <= 3; ++level) {
#ifdef _SC_LEVEL1_DCACHE_SIZE
    const int names[] = {_SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL2_CACHE_SIZE, _SC_LEVEL3_CACHE_SIZE};
    const long bytes = sysconf(names[level - 1]);
    out += (level > 1 ? ", L" : "L") + std::to_string(level) + (level == 1 ? "d " : " ") +
           (bytes > 0 ? std::to_string(bytes / 1024) + " KiB" : std::string("?"));
#endif
  }
  return out;
}

const std::vector<Shape>& Shapes() { return MutableShapes(); }
const std::vector<int>& ThreadCounts() { return MutableThreads(); }

}  // namespace simdmax_bench

int main(int argc, char** argv) {
  using namespace simdmax_bench;
  size_t max_elements = static_cast<size_t>(-1);
  std::string threads_flag = "1,2";
  bool typed = false;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string value;
    if (i > 0 && std::strcmp(argv[i], "--simdmax_typed") == 0) {
      typed = true;
    } else if (i > 0 && ConsumeFlag(argv[i], "--simdmax_max_elements", &value)) {
      max_elements = std::strtoull(value.c_str(), nullptr, 10);
    } else if (i > 0 && ConsumeFlag(argv[i], "--simdmax_threads", &value)) {
      threads_flag = value;
    } else {
      rest.push_back(argv[i]);
    }
  }
  for (size_t pos = 0; pos < threads_flag.size();) {
    size_t comma = threads_flag.find(',', pos);
    if (comma == std::string::npos) comma = threads_flag.size();
    const int n = std::atoi(threads_flag.substr(pos, comma - pos).c_str());
    if (n > 0) MutableThreads().push_back(n);
    pos = comma + 1;
  }
  for (const Shape& shape : kAllShapes) {
    if (!typed && shape.elements() <= max_elements) MutableShapes().push_back(shape);
  }
  for (const Shape& shape : kTypedShapes) {
    if (typed && shape.elements() <= max_elements) MutableShapes().push_back(shape);
  }

  std::string targets;
  for (size_t t = 0; t < simdmax_target_count(); ++t) targets += (t ? "," : "") + std::string(simdmax_target_name(t));
  benchmark::AddCustomContext("simdmax_version", simdmax_version());
  benchmark::AddCustomContext("simdmax_targets", targets);
  // What the summary must state about the machine (results are CPU-specific): model, family, vector width, caches.
  benchmark::AddCustomContext("simdmax_cpu", CpuDescription());
  benchmark::AddCustomContext("simdmax_vector_bits", std::to_string(VectorBits(simdmax_target_name(0))));
  benchmark::AddCustomContext("simdmax_caches", CacheDescription());

  // Shape by shape: without random interleaving, all implementations of a shape run back to back.
  for (const Shape& shape : typed ? std::vector<Shape>() : Shapes()) {
    RegisterMemcpy(shape);
    RegisterSimdmax(shape);
#ifdef SIMDMAX_BENCH_HAVE_ONEDNN
    RegisterOneDnn(shape);
#endif
#ifdef SIMDMAX_BENCH_HAVE_XNNPACK
    RegisterXnnpack(shape);
#endif
#ifdef SIMDMAX_BENCH_HAVE_TORCH
    RegisterTorch(shape);
#endif
  }

  for (const Shape& shape : typed ? Shapes() : std::vector<Shape>()) {
    for (const auto& pair : kTypePairs) RegisterTyped(shape, pair.first, pair.second);
  }

  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
