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
//   where SHAPE is ROWSxCOLS, e.g. 16384x32 4096x64. One thread (simdmax_set_max_threads(1)); inputs uniform in
//   [-4, 4) (softmax's scaled short-row path, log-softmax's Fast2Sum-free order mix).

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace {

using RowFn = int (*)(size_t, size_t, const float*, size_t, float*, size_t);
using SelectFn = int (*)(const char*);
using ThreadsFn = int (*)(size_t);

struct Library {
  void* handle = nullptr;
  RowFn row_fn = nullptr;
};

bool Open(const std::string& path, const std::string& op, const std::string& target, Library* lib) {
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle == nullptr) {
    fprintf(stderr, "cannot load %s: %s\n", path.c_str(), dlerror());
    return false;
  }
  const char* fn_name = op == "log_softmax" ? "simdmax_log_softmax_f32" : "simdmax_softmax_f32";
  lib->row_fn = reinterpret_cast<RowFn>(dlsym(lib->handle, fn_name));
  const auto select = reinterpret_cast<SelectFn>(dlsym(lib->handle, "simdmax_select_target"));
  const auto threads = reinterpret_cast<ThreadsFn>(dlsym(lib->handle, "simdmax_set_max_threads"));
  if (lib->row_fn == nullptr || select == nullptr || threads == nullptr) {
    fprintf(stderr, "%s: not a simdmax library\n", path.c_str());
    return false;
  }
  if (select(target.c_str()) != 0 || threads(1) != 0) {
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

void Compare(const Library (&libs)[2], const std::string& label, size_t rows, size_t cols, int rounds) {
  const size_t n = rows * cols;
  std::vector<float> x(n), y(n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  for (float& v : x) v = dist(rng);
  const auto run = [&](const Library& lib, int reps) {
    const double start = Seconds();
    for (int r = 0; r < reps; ++r) lib.row_fn(rows, cols, x.data(), cols, y.data(), cols);
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
  printf("%-28s %6zux%-6zu base %10.2f us  new %10.2f us  new/base %+6.1f%%  (quartiles %+6.1f%% %+6.1f%%)\n",
         label.c_str(), rows, cols, Quantile(times[0], 0.5) * 1e6, Quantile(times[1], 0.5) * 1e6,
         (Quantile(ratios, 0.5) - 1) * 100, (Quantile(ratios, 0.25) - 1) * 100, (Quantile(ratios, 0.75) - 1) * 100);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BASE_LIB NEW_LIB [softmax|log_softmax] [TARGET] [ROUNDS] ROWSxCOLS...\n", argv[0]);
    return 2;
  }
  std::string op = "softmax", target = "AVX3_DL";
  int rounds = 100;
  std::vector<std::pair<size_t, size_t>> shapes;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    size_t rows = 0, cols = 0;
    char tail = 0;
    if (sscanf(arg.c_str(), "%zux%zu%c", &rows, &cols, &tail) == 2 && rows > 0 && cols > 0) {
      shapes.emplace_back(rows, cols);
    } else if (arg == "softmax" || arg == "log_softmax") {
      op = arg;
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
  if (!Open(argv[1], op, target, &libs[0]) || !Open(argv[2], op, target, &libs[1])) return 1;
  for (const auto& shape : shapes) Compare(libs, op + " " + target, shape.first, shape.second, rounds);
  return 0;
}
