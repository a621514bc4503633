#include "tests/reference.h"

#include <cmath>
#include <limits>

namespace simdmax_test {

const char* OpName(Op op) { return op == Op::kSoftmax ? "softmax" : "log_softmax"; }

std::vector<long double> ReferenceRow(Op op, const float* x, size_t n) {
  const bool log = (op == Op::kLogSoftmax);
  const long double inf = std::numeric_limits<long double>::infinity();
  std::vector<long double> y(n);
  size_t nan_count = 0, pos_inf_count = 0, neg_inf_count = 0;
  long double max = -inf;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) ++nan_count;
    if (x[i] == std::numeric_limits<float>::infinity()) ++pos_inf_count;
    if (x[i] == -std::numeric_limits<float>::infinity()) ++neg_inf_count;
    if (x[i] > max) max = x[i];
  }
  if (nan_count != 0) {
    for (auto& v : y) v = std::numeric_limits<long double>::quiet_NaN();
    return y;
  }
  if (pos_inf_count != 0) {
    const long double k = static_cast<long double>(pos_inf_count);
    for (size_t i = 0; i < n; ++i) {
      const bool at_inf = std::isinf(x[i]) && x[i] > 0;
      y[i] = log ? (at_inf ? -std::log(k) : -inf) : (at_inf ? 1.0L / k : 0.0L);
    }
    return y;
  }
  if (neg_inf_count == n) {
    for (auto& v : y) v = log ? -inf : 0.0L;
    return y;
  }
  // sum = (entries equal to the max) + rest, and log(sum) = log1p(sum - 1): near the max the log-softmax value is
  // -log(1 + rest), which a plain long-double sum would round away once rest < 2^-64 (e.g. a gap of 50).
  size_t at_max = 0;
  long double rest = 0.0L;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] == max) {
      ++at_max;
    } else {
      rest += std::exp(static_cast<long double>(x[i]) - max);
    }
  }
  const long double sum = static_cast<long double>(at_max) + rest;
  const long double log_sum = std::log1p(static_cast<long double>(at_max - 1) + rest);
  for (size_t i = 0; i < n; ++i) {
    const long double shifted = static_cast<long double>(x[i]) - max;
    y[i] = log ? shifted - log_sum : std::exp(shifted) / sum;
  }
  return y;
}

}  // namespace simdmax_test
