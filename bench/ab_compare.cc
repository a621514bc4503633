// simdmax_ab_compare: two builds of libsimdmax in one process, timed in alternation on the same buffers.
//
// Why: on the shared 2-vCPU VMs these benchmarks run on, two separate benchmark processes run minutes apart drift by
// +-5..15% (other tenants, L3 and memory bandwidth), which hid or invented every effect under ~10% (2026-12-06:
// separate-process A/B gave -3..-11% for a change that measures 0% here, and +17% for one that measures +2%). Here
// each round times the base library, then the new one (the order alternates between rounds), each for ~2 ms, and
// the per-round ratio new/base is what is reported: drift slower than a round cancels. The median ratio and its
// quartiles say how large an effect is and how sure.
//
// Both libraries are dlopen()ed with RTLD_LOCAL (this program does not link simdmax), so each copy's calls into its
// own exported functions bind to itself.
//
// Usage (DEVELOPERS.md "Measuring a kernel change"):
//   simdmax_ab_compare BASE_LIB NEW_LIB [OP=softmax|log_softmax] [TARGET=AVX3_DL] [ROUNDS=100] SHAPE...
//   where SHAPE is ROWSxCOLS, e.g. 16384x32 4096x64. One thread (simdmax_set_max_threads(1); threads=N for N);
//   inputs uniform in [-4, 4) (softmax's scaled short-row path, log-softmax's Fast2Sum-free order mix).
//   OP softmax:X-Y or log_softmax:X-Y (X, Y = f32, f16, bf16) times simdmax_softmax / simdmax_log_softmax from X to Y
//   (the typed suite's names), inputs uniform in [-10, 10) as the typed suite's.
//   Each line ends with "same bits" or "DIFFERENT bits": whether the two libraries' outputs are identical.
//   OP attention_f32|attention_f16|attention_bf16 (K/V of that type; q and out f32) takes SHAPE as QUERIESxKEYS:
//   simdmax_attention with the attention benchmark's engine layout (32 heads, 8 kv heads, head_dim 128, contiguous
//   K/V, causal), e.g. 1x4096 for a decode step, 512x512 for a prefill; q, K and V uniform in [-1, 1). Features as
//   the attention benchmark's BM_EngineFeature sets them (bench/attention_features.h), appended with '+':
//   attention_bf16+alibi, attention_f32+softcap+mask, attention_bf16+all (mask: f32 in [-1, 0] broadcast to every
//   head; window: n_keys, hiding nothing; realwindow: the last quarter of the keys; softcap: 30; softcaptight: 0.1;
//   alibi: slopes 2^(-8 (h + 1) / 32); sinks: uniform in [0, 2)).

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/attention_features.h"
#include "bench/typed_data.h"
#include "simdmax/simdmax.h"

namespace {

using RowFn = int (*)(size_t, size_t, const float*, size_t, float*, size_t);
using TypedRowFn = int (*)(size_t, size_t, simdmax_dtype, const void*, size_t, simdmax_dtype, void*, size_t);
using SelectFn = int (*)(const char*);
using ThreadsFn = int (*)(size_t);
using AttentionFn = int (*)(const simdmax_attention_args*);
using AttentionInitFn = void (*)(simdmax_attention_args*);

struct Library {
  void* handle = nullptr;
  RowFn row_fn = nullptr;
  TypedRowFn typed_row_fn = nullptr;
  AttentionFn attention = nullptr;
  AttentionInitFn attention_init = nullptr;
};

// Bytes per element (the library's simdmax_dtype_size is not linked here).
size_t ElementBytes(simdmax_dtype type) { return type == SIMDMAX_F32 ? 4 : 2; }

// The type named f32, f16 or bf16.
bool DtypeNamed(const std::string& name, simdmax_dtype* type) {
  if (name == "f32")
    *type = SIMDMAX_F32;
  else if (name == "f16")
    *type = SIMDMAX_F16;
  else if (name == "bf16")
    *type = SIMDMAX_BF16;
  else
    return false;
  return true;
}

// The K/V type of an attention OP (attention_f32, attention_f16, attention_bf16, each optionally followed by
// +mask, +window, +softcap, +alibi, +sinks) and its features; false for the row ops.
bool AttentionType(const std::string& op, simdmax_dtype* type, unsigned* features = nullptr) {
  const std::string prefix = "attention_";
  if (op.rfind(prefix, 0) != 0) return false;
  const size_t plus = op.find('+');
  if (!DtypeNamed(op.substr(prefix.size(), plus == std::string::npos ? std::string::npos : plus - prefix.size()),
                  type)) {
    return false;
  }
  unsigned bits = 0;
  for (size_t at = plus; at != std::string::npos;) {
    const size_t next = op.find('+', at + 1);
    const std::string name = op.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    unsigned feature = 0;
    if (!simdmax_bench::AttentionFeatureNamed(name, &feature)) return false;
    bits |= feature;
    at = next;
  }
  if (features != nullptr) *features = bits;
  return true;
}

// A typed row OP, softmax:X-Y or log_softmax:X-Y (X, Y = f32, f16, bf16: the typed suite's names): its base op
// and the two types; false for the other ops.
bool TypedRowOp(const std::string& op, std::string* base, simdmax_dtype* x_type, simdmax_dtype* y_type) {
  const size_t colon = op.find(':'), dash = op.find('-');
  if (colon == std::string::npos || dash == std::string::npos || dash < colon) return false;
  *base = op.substr(0, colon);
  return (*base == "softmax" || *base == "log_softmax") && DtypeNamed(op.substr(colon + 1, dash - colon - 1), x_type) &&
         DtypeNamed(op.substr(dash + 1), y_type);
}

bool IsOp(const std::string& arg) {
  simdmax_dtype t, u;
  std::string base;
  return AttentionType(arg, &t) || TypedRowOp(arg, &base, &t, &u);
}

bool Open(const std::string& path, const std::string& op, const std::string& target, int threads_wanted, Library* lib) {
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle == nullptr) {
    fprintf(stderr, "cannot load %s: %s\n", path.c_str(), dlerror());
    return false;
  }
  const char* fn_name = op == "log_softmax" ? "simdmax_log_softmax_f32" : "simdmax_softmax_f32";
  lib->row_fn = reinterpret_cast<RowFn>(dlsym(lib->handle, fn_name));
  std::string base;
  simdmax_dtype x_type, y_type;
  const bool typed = TypedRowOp(op, &base, &x_type, &y_type);
  lib->typed_row_fn = reinterpret_cast<TypedRowFn>(
      dlsym(lib->handle, typed && base == "log_softmax" ? "simdmax_log_softmax" : "simdmax_softmax"));
  lib->attention = reinterpret_cast<AttentionFn>(dlsym(lib->handle, "simdmax_attention"));
  lib->attention_init = reinterpret_cast<AttentionInitFn>(dlsym(lib->handle, "simdmax_attention_args_init"));
  const auto select = reinterpret_cast<SelectFn>(dlsym(lib->handle, "simdmax_select_target"));
  const auto threads = reinterpret_cast<ThreadsFn>(dlsym(lib->handle, "simdmax_set_max_threads"));
  simdmax_dtype type;
  const bool attention = AttentionType(op, &type);
  if (lib->row_fn == nullptr || select == nullptr || threads == nullptr ||
      (attention && (lib->attention == nullptr || lib->attention_init == nullptr)) ||
      (typed && lib->typed_row_fn == nullptr)) {
    fprintf(stderr, "%s: not a simdmax library\n", path.c_str());
    return false;
  }
  if (select(target.c_str()) != 0 || threads(static_cast<size_t>(threads_wanted)) != 0) {
    fprintf(stderr, "%s: target %s not available\n", path.c_str(), target.c_str());
    return false;
  }
  return true;
}

double Seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

void Compare(const Library (&libs)[2], const std::string& label, const std::string& op, size_t rows, size_t cols,
             int rounds) {
  std::function<void(const Library&)> call;
  std::vector<float> x, y;
  std::vector<uint8_t> q, k, v, typed_x, typed_y;
  simdmax_bench::AttentionFeatureInputs feature_inputs;
  simdmax_dtype type, x_type, y_type;
  unsigned features = 0;
  std::string base;
  if (TypedRowOp(op, &base, &x_type, &y_type)) {
    const size_t n = rows * cols;
    typed_x.resize(n * ElementBytes(x_type));
    typed_y.resize(n * ElementBytes(y_type));
    simdmax_bench::FillRandom(typed_x.data(), x_type, n, 1, -10.0f, 10.0f);  // the typed suite's range
    call = [&, rows, cols](const Library& lib) {
      if (lib.typed_row_fn(rows, cols, x_type, typed_x.data(), cols, y_type, typed_y.data(), cols) != 0) {
        fprintf(stderr, "%s failed\n", op.c_str());
        exit(1);
      }
    };
  } else if (AttentionType(op, &type, &features)) {
    // rows = queries, cols = keys: the engine layout of bench/attention_bench.cc.
    constexpr size_t kHeads = 32, kKvHeads = 8, kDim = 128;
    feature_inputs =
        simdmax_bench::MakeAttentionFeatureInputs(kHeads, (features & simdmax_bench::kMask) ? rows * cols : 0);
    q.resize(kHeads * rows * kDim * ElementBytes(SIMDMAX_F32));
    k.resize(kKvHeads * cols * kDim * ElementBytes(type));
    v.resize(k.size());
    simdmax_bench::FillRandom(q.data(), SIMDMAX_F32, kHeads * rows * kDim, 1);
    simdmax_bench::FillRandom(k.data(), type, kKvHeads * cols * kDim, 2);
    simdmax_bench::FillRandom(v.data(), type, kKvHeads * cols * kDim, 3);
    y.resize(kHeads * rows * kDim);
    call = [&, rows, cols](const Library& lib) {
      simdmax_attention_args a;
      lib.attention_init(&a);
      a.q = q.data();
      a.k = k.data();
      a.v = v.data();
      a.out = y.data();
      a.kv_type = type;
      a.n_heads = kHeads;
      a.n_kv_heads = kKvHeads;
      a.n_queries = rows;
      a.n_keys = cols;
      a.head_dim = kDim;
      a.q_head_stride = a.out_head_stride = rows * kDim;
      a.q_row_stride = a.out_row_stride = a.k_row_stride = a.v_row_stride = kDim;
      a.k_head_stride = a.v_head_stride = cols * kDim;
      a.causal = 1;
      // The windows as the benchmark's decode shape sets them: n_keys (hiding nothing), or its real window.
      simdmax_bench::ApplyAttentionFeatures(a, features, feature_inputs, cols, cols / 4);
      if (lib.attention(&a) != 0) {
        fprintf(stderr, "simdmax_attention failed\n");
        exit(1);
      }
    };
  } else {
    const size_t n = rows * cols;
    x.resize(n);
    y.resize(n);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
    for (float& e : x) e = dist(rng);
    call = [&, rows, cols](const Library& lib) { lib.row_fn(rows, cols, x.data(), cols, y.data(), cols); };
  }
  const auto run = [&](const Library& lib, int reps) {
    const double start = Seconds();
    for (int r = 0; r < reps; ++r) call(lib);
    return (Seconds() - start) / reps;
  };
  int reps = 1;
  while (run(libs[0], reps) * reps < 2e-3) reps *= 2;  // ~2 ms per timing
  std::vector<double> times[2], ratios;
  for (int k = 0; k < rounds; ++k) {
    double t[2];
    for (int j = 0; j < 2; ++j) {
      const int which = (k % 2 == 0) ? j : 1 - j;
      t[which] = run(libs[which], reps);
    }
    times[0].push_back(t[0]);
    times[1].push_back(t[1]);
    ratios.push_back(t[1] / t[0]);
  }
  // Whether both libraries write the same bits for these inputs (most speed changes should not change any).
  std::vector<uint8_t>* out_bytes = typed_y.empty() ? nullptr : &typed_y;
  const auto output = [&]() {
    return out_bytes != nullptr ? *out_bytes
                                : std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(y.data()),
                                                       reinterpret_cast<const uint8_t*>(y.data() + y.size()));
  };
  call(libs[0]);
  const std::vector<uint8_t> base_out = output();
  call(libs[1]);
  const bool same = output() == base_out;
  printf("%-28s %6zux%-6zu base %10.2f us  new %10.2f us  new/base %+6.1f%%  (quartiles %+6.1f%% %+6.1f%%)  %s\n",
         label.c_str(), rows, cols, Quantile(times[0], 0.5) * 1e6, Quantile(times[1], 0.5) * 1e6,
         (Quantile(ratios, 0.5) - 1) * 100, (Quantile(ratios, 0.25) - 1) * 100, (Quantile(ratios, 0.75) - 1) * 100,
         same ? "same bits" : "DIFFERENT bits");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: %s BASE_LIB NEW_LIB [softmax|log_softmax|softmax:X-Y|log_softmax:X-Y|attention_f32|attention_f16|"
            "attention_bf16[+mask][+window][+softcap][+alibi][+sinks][+all]...] [TARGET] [ROUNDS] [threads=N] "
            "ROWSxCOLS...\n",
            argv[0]);
    return 2;
  }
  std::string op = "softmax", target = "AVX3_DL";
  int rounds = 100;
  int threads = 1;
  std::vector<std::pair<size_t, size_t>> shapes;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    size_t rows = 0, cols = 0;
    char tail = 0;
    if (sscanf(arg.c_str(), "%zux%zu%c", &rows, &cols, &tail) == 2 && rows > 0 && cols > 0) {
      shapes.emplace_back(rows, cols);
    } else if (arg == "softmax" || arg == "log_softmax" || IsOp(arg)) {
      op = arg;
    } else if (arg.rfind("threads=", 0) == 0) {
      threads = std::max(1, atoi(arg.c_str() + 8));
    } else if (arg.find_first_not_of("0123456789") == std::string::npos) {
      rounds = std::max(4, atoi(arg.c_str()));
    } else {
      target = arg;
    }
  }
  if (shapes.empty()) {
    fprintf(stderr, "no ROWSxCOLS shape given\n");
    return 2;
  }
  Library libs[2];
  if (!Open(argv[1], op, target, threads, &libs[0]) || !Open(argv[2], op, target, threads, &libs[1])) return 1;
  const std::string label = op + " " + target + (threads > 1 ? " " + std::to_string(threads) + "t" : "");
  for (const auto& shape : shapes) Compare(libs, label, op, shape.first, shape.second, rounds);
  return 0;
}
