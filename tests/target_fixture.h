// Runs a test once per target in simdmax_target_count(), the target name in the test name. The selection is
// process-wide, so the fixture selects in SetUp and restores the best target in TearDown.
#ifndef SIMDMAX_TESTS_TARGET_FIXTURE_H_
#define SIMDMAX_TESTS_TARGET_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/inputs.h"

namespace simdmax_test {

// The targets the per-target tests run on (tests/inputs.h TestTargets: SIMDMAX_TEST_TARGETS narrows them).
inline std::vector<std::string> SupportedTargets() { return TestTargets(); }

class PerTarget : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_EQ(simdmax_select_target(GetParam().c_str()), SIMDMAX_OK) << GetParam(); }
  void TearDown() override { simdmax_select_target(nullptr); }
};

inline std::string TargetTestName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace simdmax_test

#define SIMDMAX_INSTANTIATE_PER_TARGET(Suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(Targets, Suite, ::testing::ValuesIn(simdmax_test::SupportedTargets()), \
                           simdmax_test::TargetTestName)

#endif  // SIMDMAX_TESTS_TARGET_FIXTURE_H_
