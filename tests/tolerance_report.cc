// simdmax_tolerance_report: measures the max ULP error of every op, for row-length classes and every target this
// CPU supports, against the long-double reference, and prints the Markdown table the README shows.
//   simdmax_tolerance_report [--quick] [--check]
//     --quick   stops at 128000 columns; the default under emulation (tests/inputs.h EmulatedRun: the AArch64 cross
//               build run under qemu), where wide SVE and the quad-precision long-double reference are slow
//     --check   exits with status 1 when an entry exceeds the bounds of tests/tolerances.h (ctest runs it so)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/inputs.h"
#include "tests/reference.h"
#include "tests/tolerances.h"
#include "tests/ulp.h"

using simdmax_test::Distribution;
using simdmax_test::Op;

namespace {

struct LengthClass {
  std::string label;
  std::vector<size_t> lengths;
};

// Max ULP per target (index as in `targets`) over the lengths of a class and every distribution. Inputs and the
// reference are computed once and shared by the targets (the reference is software quad precision on AArch64).
std::vector<uint64_t> MaxUlp(Op op, const LengthClass& length_class, const std::vector<std::string>& targets) {
  std::vector<uint64_t> worst(targets.size(), 0);
  const auto fn = op == Op::kSoftmax ? simdmax_softmax_f32 : simdmax_log_softmax_f32;
  for (size_t n : length_class.lengths) {
    for (Distribution dist : simdmax_test::kAllDistributions) {
      const std::vector<float> x = simdmax_test::MakeRow(dist, n, /*seed=*/1);
      const std::vector<long double> ref = simdmax_test::ReferenceRow(op, x.data(), n);
      std::vector<float> y(n);
      for (size_t t = 0; t < targets.size(); ++t) {
        if (simdmax_select_target(targets[t].c_str()) != SIMDMAX_OK ||
            fn(1, n, x.data(), n, y.data(), n) != SIMDMAX_OK) {
          worst[t] = UINT64_MAX;
          continue;
        }
        simdmax_test::UlpStats stats;
        for (size_t i = 0; i < n; ++i) stats.Add(i, y[i], ref[i]);
        if (stats.max_ulp > worst[t]) worst[t] = stats.max_ulp;
      }
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = simdmax_test::EmulatedRun(), check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--check]\n", argv[0]);
      return 2;
    }
  }
  std::vector<LengthClass> classes;
  {
    LengthClass tails{"1-67", {}};
    for (size_t n = 1; n <= 67; ++n) tails.lengths.push_back(n);
    classes.push_back(tails);
  }
  for (size_t n : {1000, 4097, 32000, 128000}) classes.push_back({std::to_string(n), {n}});
  if (!quick) {
    classes.push_back({"1M", {size_t{1} << 20}});
    classes.push_back({"4M", {size_t{4} << 20}});
  }
  bool within_bounds = true;
  std::vector<std::string> targets;
  for (size_t i = 0; i < simdmax_target_count(); ++i) targets.push_back(simdmax_target_name(i));

  std::printf(
      "Max ULP vs long-double reference; inputs: uniform [-10,10], [-100,100], +1e4 shift, [80,89], one "
      "dominant, all equal (simdmax %s)\n\n",
      simdmax_version());
  if (const char* qemu_cpu = std::getenv("QEMU_CPU")) std::printf("Emulated CPU: QEMU_CPU=%s\n\n", qemu_cpu);
  std::printf("| op | cols |");
  for (const auto& t : targets) std::printf(" %s |", t.c_str());
  std::printf("\n|---|---|");
  for (size_t i = 0; i < targets.size(); ++i) std::printf("---|");
  std::printf("\n");
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (const auto& length_class : classes) {
      std::printf("| %s | %s |", simdmax_test::OpName(op), length_class.label.c_str());
      const uint64_t bound = op == Op::kSoftmax ? simdmax_test::kSoftmaxMaxUlp : simdmax_test::kLogSoftmaxMaxUlp;
      for (uint64_t ulp : MaxUlp(op, length_class, targets)) {
        std::printf(" %llu |", static_cast<unsigned long long>(ulp));
        within_bounds &= ulp <= bound;
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  simdmax_select_target(nullptr);
  if (check && !within_bounds) {
    std::fprintf(stderr, "simdmax_tolerance_report: an entry exceeds tests/tolerances.h\n");
    return 1;
  }
  return 0;
}
