// simdmax_tolerance_report: measures the max ULP error of every op, for row-length classes and every target this
// CPU supports, against the long-double reference, and prints the Markdown tables the README shows: f32 -> f32 by
// length class, then every other (input, output) type pair of simdmax_softmax / simdmax_log_softmax over all the
// lengths (ULP of the output type; inputs rounded to the input type first, the reference computed on them), with
// the fraction of half-precision outputs that are correctly rounded (0.5 ULP).
//   simdmax_tolerance_report [--quick] [--check]
//     --quick   stops at 128000 columns; the default under emulation (tests/inputs.h EmulatedRun: the AArch64 cross
//               build run under qemu), where wide SVE and the quad-precision long-double reference are slow
//     --check   exits with status 1 when an entry exceeds the bounds of tests/tolerances.h (ctest runs it so)
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/dtype.h"
#include "tests/entry_points.h"
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

// Typed: max ULP (of y_type) per target over every length of every class and every distribution, and the count of
// correctly rounded half-precision outputs (all targets together).
struct TypedResult {
  std::vector<uint64_t> worst;
  size_t outputs = 0, correctly_rounded = 0;
};
TypedResult MaxUlpTyped(Op op, simdmax_dtype x_type, simdmax_dtype y_type, const std::vector<LengthClass>& classes,
                        const std::vector<std::string>& targets) {
  TypedResult result;
  result.worst.assign(targets.size(), 0);
  const auto fn = op == Op::kSoftmax ? simdmax_softmax : simdmax_log_softmax;
  for (const LengthClass& length_class : classes) {
    for (size_t n : length_class.lengths) {
      for (Distribution dist : simdmax_test::kAllDistributions) {
        std::vector<float> x = simdmax_test::MakeRow(dist, n, /*seed=*/1);
        for (float& v : x) v = simdmax_test::Quantize(x_type, v);
        const std::vector<long double> ref = simdmax_test::ReferenceRow(op, x.data(), n);
        const simdmax_test::TypedBuffer typed_x(x_type, x.data(), n);
        simdmax_test::TypedBuffer typed_y(y_type, x.data(), n);
        for (size_t t = 0; t < targets.size(); ++t) {
          if (simdmax_select_target(targets[t].c_str()) != SIMDMAX_OK ||
              fn(1, n, x_type, typed_x.data(), n, y_type, typed_y.data(), n) != SIMDMAX_OK) {
            result.worst[t] = UINT64_MAX;
            continue;
          }
          for (size_t i = 0; i < n; ++i) {
            const float y = typed_y.Get(i);
            const uint64_t ulp = simdmax_test::UlpDistanceIn(y_type, y, ref[i]);
            if (ulp > result.worst[t]) result.worst[t] = ulp;
            // Correct rounding is counted where the f32 computation promises it: bf16 outputs whose exact value is
            // below FLT_MIN share the f32 kernels' allowance (absolute error <= FLT_MIN, tests/dtype.h), so they
            // are left out of the fraction (they are in the max ULP column).
            if (y_type != SIMDMAX_F32 && !(y_type == SIMDMAX_BF16 && std::fabs(ref[i]) < FLT_MIN)) {
              ++result.outputs;
              result.correctly_rounded += simdmax_test::CorrectlyRounded(y_type, y, ref[i]);
            }
          }
        }
      }
    }
  }
  return result;
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
  // SIMDMAX_TEST_TARGETS (tests/inputs.h TestTargets) narrows the columns: each emulated CPU reports the targets it
  // adds.
  for (const std::string& name : simdmax_test::TestTargets()) targets.push_back(name);

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

  // Typed pairs up to 128000 columns (the 1M rows take the same chunked path as 32000 and 128000; the per-element
  // rounding of the reference to f16/bf16 is slow at 4M x 16, whose streamed finish the f32 rows above measure).
  std::vector<LengthClass> typed_classes;
  for (const LengthClass& length_class : classes) {
    if (length_class.label != "1M" && length_class.label != "4M") typed_classes.push_back(length_class);
  }
  std::printf(
      "\nTyped entry points (simdmax_softmax / simdmax_log_softmax), every length above up to 128000: max ULP of the "
      "output type "
      "against the reference of the inputs rounded to the input type; correctly rounded = share of half-precision "
      "outputs equal to the rounded reference, all targets (bf16: outputs with |exact| >= FLT_MIN)\n\n");
  std::printf("| op | x -> y |");
  for (const auto& t : targets) std::printf(" %s |", t.c_str());
  std::printf(" correctly rounded |\n|---|---|");
  for (size_t i = 0; i < targets.size(); ++i) std::printf("---|");
  std::printf("---|\n");
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    for (simdmax_dtype x_type : simdmax_test::kAllDtypes) {
      for (simdmax_dtype y_type : simdmax_test::kAllDtypes) {
        if (x_type == SIMDMAX_F32 && y_type == SIMDMAX_F32) continue;  // the table above
        if (!simdmax_test::TypedPairTested(x_type, y_type)) continue;  // under emulation: two pairs
        const uint64_t bound = y_type != SIMDMAX_F32 ? simdmax_test::kHalfOutputMaxUlp
                               : op == Op::kSoftmax  ? simdmax_test::kSoftmaxMaxUlp
                                                     : simdmax_test::kLogSoftmaxMaxUlp;
        const TypedResult result = MaxUlpTyped(op, x_type, y_type, typed_classes, targets);
        std::printf("| %s | %s -> %s |", simdmax_test::OpName(op), simdmax_test::DtypeName(x_type),
                    simdmax_test::DtypeName(y_type));
        for (uint64_t ulp : result.worst) {
          std::printf(" %llu |", static_cast<unsigned long long>(ulp));
          within_bounds &= ulp <= bound;
        }
        if (result.outputs != 0) {
          std::printf(" %.4f%% |\n",
                      100.0 * static_cast<double>(result.correctly_rounded) / static_cast<double>(result.outputs));
        } else {
          std::printf(" - |\n");
        }
        std::fflush(stdout);
      }
    }
  }
  simdmax_select_target(nullptr);
  if (check && !within_bounds) {
    std::fprintf(stderr, "simdmax_tolerance_report: an entry exceeds tests/tolerances.h\n");
    return 1;
  }
  return 0;
}
