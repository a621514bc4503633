// The online softmax state (simdmax_online_*): block-size independence, merge laws, masking and special values,
// normalise accuracy against the long-double reference, and argument errors. Every test runs on every target.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/inputs.h"
#include "tests/reference.h"
#include "tests/target_fixture.h"
#include "tests/tolerances.h"
#include "tests/ulp.h"

namespace simdmax_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Exact sum of exp(x - max) and log-sum-exp in long double.
struct RefState {
  long double max;
  long double sum;
  long double lse;
};
RefState Reference(const std::vector<float>& x) {
  long double max = -INFINITY;
  for (float v : x) max = std::max<long double>(max, v);
  long double sum = 0;
  for (float v : x) sum += std::exp(static_cast<long double>(v) - max);
  return {max, sum, max + std::log(sum)};
}

simdmax_online_state UpdateInBlocks(const std::vector<float>& x, const std::vector<size_t>& blocks) {
  simdmax_online_state s;
  simdmax_online_init(&s);
  size_t i = 0, b = 0;
  while (i < x.size()) {
    const size_t len = std::min(blocks[b++ % blocks.size()], x.size() - i);
    EXPECT_EQ(simdmax_online_update_f32(&s, x.data() + i, len), SIMDMAX_OK);
    i += len;
  }
  return s;
}

bool SameState(const simdmax_online_state& a, const simdmax_online_state& b) {
  return std::memcmp(&a.max, &b.max, sizeof(float)) == 0 && std::memcmp(&a.sum, &b.sum, sizeof(double)) == 0;
}

constexpr Distribution kStateDistributions[] = {Distribution::kUniform10,   Distribution::kUniform100,
                                                Distribution::kShifted1e4,  Distribution::kNearOverflow,
                                                Distribution::kOneDominant, Distribution::kAllEqual};

class OnlineSoftmax : public PerTarget {};

// Any block sizes: the same max exactly, and a sum within kOnlineSumRelTol of the one-call sum and of the exact one.
TEST_P(OnlineSoftmax, BlockSizesGiveSameMaxAndSum) {
  double worst_vs_single = 0, worst_vs_exact = 0;
  std::mt19937 rng(5);
  for (size_t n : {size_t{1}, size_t{5}, size_t{67}, size_t{1000}, size_t{4097}, size_t{9000},
                   EmulatedRun() ? size_t{20000} : size_t{128000}}) {
    for (Distribution dist : kStateDistributions) {
      const std::vector<float> x = MakeRow(dist, n, 3);
      const RefState ref = Reference(x);
      const simdmax_online_state single = UpdateInBlocks(x, {n});
      ASSERT_EQ(static_cast<long double>(single.max), ref.max);
      worst_vs_exact = std::max(worst_vs_exact, static_cast<double>(std::fabs(single.sum - ref.sum) / ref.sum));
      std::vector<std::vector<size_t>> schedules = {{1}, {3}, {64}, {1000}, {4096}, {5000}, {7, 4096, 1, 33}};
      std::vector<size_t> random_blocks(32);
      for (auto& b : random_blocks) b = 1 + rng() % 3000;
      schedules.push_back(random_blocks);
      for (const auto& blocks : schedules) {
        if (n > 10000 && blocks[0] == 1 && blocks.size() == 1) continue;  // 128000 calls: covered at n <= 9000
        const simdmax_online_state s = UpdateInBlocks(x, blocks);
        EXPECT_EQ(s.max, single.max) << DistributionName(dist) << " n=" << n;
        const double rel = std::fabs(s.sum - single.sum) / single.sum;
        const double rel_exact = static_cast<double>(std::fabs(s.sum - ref.sum) / ref.sum);
        worst_vs_single = std::max(worst_vs_single, rel);
        worst_vs_exact = std::max(worst_vs_exact, rel_exact);
        EXPECT_LE(rel, kOnlineSumRelTol) << DistributionName(dist) << " n=" << n << " block " << blocks[0];
        EXPECT_LE(rel_exact, kOnlineSumRelTol) << DistributionName(dist) << " n=" << n << " block " << blocks[0];
        EXPECT_NEAR(simdmax_online_log_sum_exp(&s), static_cast<double>(ref.lse),
                    kOnlineSumRelTol + 1e-15 * std::fabs(static_cast<double>(ref.lse)));
      }
    }
  }
  std::printf("[measured] %s sum rel error: vs one call %.3g, vs exact %.3g\n", GetParam().c_str(), worst_vs_single,
              worst_vs_exact);
}

TEST_P(OnlineSoftmax, MergeLaws) {
  double worst_assoc = 0;
  for (Distribution dist : kStateDistributions) {
    const std::vector<float> x = MakeRow(dist, 30000, 9);
    const RefState ref = Reference(x);
    // Three parts of uneven sizes.
    simdmax_online_state a, b, c, empty;
    simdmax_online_init(&empty);
    a = UpdateInBlocks({x.begin(), x.begin() + 1000}, {1000});
    b = UpdateInBlocks({x.begin() + 1000, x.begin() + 21000}, {777});
    c = UpdateInBlocks({x.begin() + 21000, x.end()}, {4096});
    // Commutative, bit for bit.
    simdmax_online_state ab = a, ba = b;
    ASSERT_EQ(simdmax_online_merge(&ab, &b), SIMDMAX_OK);
    ASSERT_EQ(simdmax_online_merge(&ba, &a), SIMDMAX_OK);
    EXPECT_TRUE(SameState(ab, ba)) << DistributionName(dist);
    // Associative within tolerance.
    simdmax_online_state ab_c = ab, bc = b, a_bc = a;
    simdmax_online_merge(&ab_c, &c);
    simdmax_online_merge(&bc, &c);
    simdmax_online_merge(&a_bc, &bc);
    EXPECT_EQ(ab_c.max, a_bc.max);
    const double rel = std::fabs(ab_c.sum - a_bc.sum) / a_bc.sum;
    worst_assoc = std::max(worst_assoc, rel);
    EXPECT_LE(rel, kOnlineSumRelTol) << DistributionName(dist);
    EXPECT_LE(static_cast<double>(std::fabs(ab_c.sum - ref.sum) / ref.sum), kOnlineSumRelTol);
    // Empty is the identity, exactly, on both sides.
    simdmax_online_state left = empty, right = a;
    simdmax_online_merge(&left, &a);
    simdmax_online_merge(&right, &empty);
    EXPECT_TRUE(SameState(left, a));
    EXPECT_TRUE(SameState(right, a));
  }
  std::printf("[measured] %s merge associativity rel error %.3g\n", GetParam().c_str(), worst_assoc);
}

// Masked (-inf) blocks never produce NaN and leave the state as if they were absent.
TEST_P(OnlineSoftmax, MaskedBlocksLeaveStateEmpty) {
  const std::vector<float> masked(37, -kInf);
  simdmax::OnlineSoftmax s;
  ASSERT_EQ(s.Update(masked), simdmax::Status::kOk);
  EXPECT_TRUE(s.Empty());
  EXPECT_EQ(s.Sum(), 0.0);
  EXPECT_EQ(s.LogSumExp(), -INFINITY);
  std::vector<float> y(masked.size(), 5.0f);
  ASSERT_EQ(s.Normalize(masked.data(), y.data(), y.size()), simdmax::Status::kOk);
  for (float v : y) EXPECT_EQ(v, 0.0f);
  ASSERT_EQ(s.LogNormalize(masked.data(), y.data(), y.size()), simdmax::Status::kOk);
  for (float v : y) EXPECT_EQ(v, -kInf);

  // Masked blocks before, between and after data; -inf entries inside a block.
  std::vector<float> data = MakeRow(Distribution::kUniform10, 500, 1);
  data[3] = -kInf;
  data[499] = -kInf;
  simdmax::OnlineSoftmax plain, with_masks;
  plain.Update(data);
  with_masks.Update(masked);
  with_masks.Update(data.data(), 250);
  with_masks.Update(masked);
  with_masks.Update(data.data() + 250, 250);
  with_masks.Update(masked);
  simdmax::OnlineSoftmax split;
  split.Update(data.data(), 250);
  split.Update(data.data() + 250, 250);
  EXPECT_TRUE(SameState(with_masks.state(), split.state()));
  EXPECT_EQ(plain.Max(), with_masks.Max());
  EXPECT_FALSE(std::isnan(with_masks.Sum()));
  y.assign(data.size(), 0.0f);
  ASSERT_EQ(with_masks.Normalize(data.data(), y.data(), y.size()), simdmax::Status::kOk);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[499], 0.0f);
  ASSERT_EQ(with_masks.LogNormalize(data.data(), y.data(), y.size()), simdmax::Status::kOk);
  EXPECT_EQ(y[3], -kInf);
  // A merge of two empty states is empty.
  simdmax::OnlineSoftmax e1, e2;
  e1.Update(masked);
  ASSERT_EQ(e1.Merge(e2), simdmax::Status::kOk);
  EXPECT_TRUE(e1.Empty());
  EXPECT_EQ(e1.Sum(), 0.0);
}

TEST_P(OnlineSoftmax, NaNAndPositiveInfinity) {
  std::vector<float> x = MakeRow(Distribution::kUniform10, 100, 2);
  simdmax::OnlineSoftmax s;
  s.Update(x);
  x[10] = std::numeric_limits<float>::quiet_NaN();
  s.Update(x.data() + 5, 10);
  EXPECT_TRUE(std::isnan(s.Max()));
  EXPECT_TRUE(std::isnan(s.LogSumExp()));
  s.Update(x.data() + 20, 10);  // stays NaN
  EXPECT_TRUE(std::isnan(s.Sum()));
  simdmax::OnlineSoftmax other;
  other.Update(x.data() + 20, 10);
  other.Merge(s);
  EXPECT_TRUE(std::isnan(other.Max()));

  // +inf: the limit of softmax, 1/k at each of the k +inf entries.
  std::vector<float> z = MakeRow(Distribution::kUniform10, 64, 4);
  z[7] = kInf;
  z[40] = kInf;
  simdmax::OnlineSoftmax a, b;
  a.Update(z.data(), 20);
  b.Update(z.data() + 20, 44);
  a.Merge(b);
  EXPECT_EQ(a.Max(), kInf);
  EXPECT_EQ(a.Sum(), 2.0);
  EXPECT_EQ(a.LogSumExp(), INFINITY);
  std::vector<float> y(z.size());
  ASSERT_EQ(a.Normalize(z.data(), y.data(), y.size()), simdmax::Status::kOk);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_EQ(y[i], (i == 7 || i == 40) ? 0.5f : 0.0f) << i;
}

// Normalising each block with the merged state reproduces softmax / log-softmax of the whole row.
TEST_P(OnlineSoftmax, NormalizeMatchesReference) {
  uint64_t worst_softmax = 0, worst_log = 0;
  double worst_log_abs = 0;
  for (size_t n : {size_t{1}, size_t{17}, size_t{1000}, size_t{4097}, EmulatedRun() ? size_t{20000} : size_t{128000}}) {
    for (Distribution dist : kStateDistributions) {
      const std::vector<float> x = MakeRow(dist, n, 8);
      const std::vector<long double> ref = ReferenceRow(Op::kSoftmax, x.data(), n);
      const std::vector<long double> ref_log = ReferenceRow(Op::kLogSoftmax, x.data(), n);
      const simdmax_online_state s = UpdateInBlocks(x, {333, 1, 5000});
      std::vector<float> y(n), y_log(n);
      const size_t half = n / 2;
      ASSERT_EQ(simdmax_online_normalize_f32(&s, x.data(), y.data(), half), SIMDMAX_OK);
      ASSERT_EQ(simdmax_online_normalize_f32(&s, x.data() + half, y.data() + half, n - half), SIMDMAX_OK);
      ASSERT_EQ(simdmax_online_log_normalize_f32(&s, x.data(), y_log.data(), n), SIMDMAX_OK);
      UlpStats stats, stats_log;
      for (size_t i = 0; i < n; ++i) {
        stats.Add(i, y[i], ref[i]);
        // Log: outputs near 0 carry the double sum's absolute error (simdmax.h); count them by absolute error.
        const double abs_err = std::fabs(static_cast<double>(y_log[i] - ref_log[i]));
        if (std::fabs(static_cast<double>(ref_log[i])) < 1e-6) {
          worst_log_abs = std::max(worst_log_abs, abs_err);
          EXPECT_LE(abs_err, kOnlineLogNormalizeAbsTol) << DistributionName(dist) << " n=" << n << " i=" << i;
        } else {
          stats_log.Add(i, y_log[i], ref_log[i]);
        }
      }
      worst_softmax = std::max(worst_softmax, stats.max_ulp);
      worst_log = std::max(worst_log, stats_log.max_ulp);
      EXPECT_LE(stats.max_ulp, kOnlineNormalizeMaxUlp) << DistributionName(dist) << " n=" << n;
      EXPECT_LE(stats_log.max_ulp, kOnlineLogNormalizeMaxUlp) << DistributionName(dist) << " n=" << n;
    }
  }
  std::printf("[measured] %s normalize %llu ULP, log_normalize %llu ULP (abs %.3g near 0)\n", GetParam().c_str(),
              static_cast<unsigned long long>(worst_softmax), static_cast<unsigned long long>(worst_log),
              worst_log_abs);
}

TEST_P(OnlineSoftmax, ArgumentErrorsLeaveOutputsUntouched) {
  const float x[4] = {1, 2, 3, 4};
  float y[4] = {7, 7, 7, 7};
  simdmax_online_state s;
  simdmax_online_init(&s);
  EXPECT_EQ(simdmax_online_update_f32(nullptr, x, 4), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_update_f32(&s, nullptr, 4), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_update_f32(&s, nullptr, 0), SIMDMAX_OK);
  EXPECT_EQ(s.max, -kInf);
  EXPECT_EQ(simdmax_online_merge(nullptr, &s), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_merge(&s, nullptr), SIMDMAX_ERROR_NULL_POINTER);
  ASSERT_EQ(simdmax_online_update_f32(&s, x, 4), SIMDMAX_OK);
  EXPECT_EQ(simdmax_online_normalize_f32(nullptr, x, y, 4), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_normalize_f32(&s, nullptr, y, 4), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_log_normalize_f32(&s, x, nullptr, 4), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_online_normalize_f32(&s, y, y + 1, 3), SIMDMAX_ERROR_OVERLAP);
  simdmax_online_state bad{1.0f, 0.0};
  EXPECT_EQ(simdmax_online_normalize_f32(&bad, x, y, 4), SIMDMAX_ERROR_INVALID_ARGUMENT);
  bad = {-kInf, 2.0};
  EXPECT_EQ(simdmax_online_log_normalize_f32(&bad, x, y, 4), SIMDMAX_ERROR_INVALID_ARGUMENT);
  for (float v : y) EXPECT_EQ(v, 7.0f);
  EXPECT_TRUE(std::isnan(simdmax_online_log_sum_exp(nullptr)));
  simdmax_online_init(nullptr);  // no crash
  // In place works.
  float z[4] = {1, 2, 3, 4};
  ASSERT_EQ(simdmax_online_normalize_f32(&s, z, z, 4), SIMDMAX_OK);
  EXPECT_NEAR(z[0] + z[1] + z[2] + z[3], 1.0f, 1e-6f);
}

SIMDMAX_INSTANTIATE_PER_TARGET(OnlineSoftmax);

}  // namespace
}  // namespace simdmax_test
