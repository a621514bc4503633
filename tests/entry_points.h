// The public row-wise entry points, as one table that the robustness suites (special values, argument errors,
// concurrency, determinism, the fuzzer) iterate over. A new entry point with the row-wise contract
// (rows, cols, x, x_stride, y, y_stride; same special values, same errors) is covered by every one of those suites
// by adding one line to RowEntryPoints() (and, if its result differs from softmax/log-softmax, an Op in
// tests/reference.h). Entry points with other signatures (attention) get their own table next to this one.
#ifndef SIMDMAX_TESTS_ENTRY_POINTS_H_
#define SIMDMAX_TESTS_ENTRY_POINTS_H_

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/reference.h"
#include "tests/tolerances.h"

namespace simdmax_test {

using RowFn = simdmax_status (*)(size_t rows, size_t cols, const float* x, size_t x_stride, float* y, size_t y_stride);

struct RowEntryPoint {
  const char* name;  // the C function's name, for messages
  Op op;             // which reference it must match
  RowFn fn;
  uint64_t max_ulp;  // its accuracy bound (tests/tolerances.h)
};

inline const std::vector<RowEntryPoint>& RowEntryPoints() {
  static const std::vector<RowEntryPoint> entry_points = {
      {"simdmax_softmax_f32", Op::kSoftmax, simdmax_softmax_f32, kSoftmaxMaxUlp},
      {"simdmax_log_softmax_f32", Op::kLogSoftmax, simdmax_log_softmax_f32, kLogSoftmaxMaxUlp},
  };
  return entry_points;
}

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ENTRY_POINTS_H_
