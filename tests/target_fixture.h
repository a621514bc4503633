// Runs a test once per target in simdmax_target_count(), the target name in the test name. The selection is
// process-wide, so the fixture selects in SetUp and restores the best target in TearDown.
#ifndef SIMDMAX_TESTS_TARGET_FIXTURE_H_
#define SIMDMAX_TESTS_TARGET_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_test {

// The targets the per-target tests run on: every target in simdmax_target_count(), or, when SIMDMAX_TEST_TARGETS
// holds a comma-separated list, those of them in it (the emulated AArch64 runs give each QEMU_CPU the targets it
// adds, so that NEON, which every Arm CPU lists, is not run six times under qemu). A listed target that is not
// supported is simply absent here: Api.ExpectedTargetsAreSupported is what fails for that.
inline std::vector<std::string> SupportedTargets() {
  const char* only = std::getenv("SIMDMAX_TEST_TARGETS");
  const std::string filter = only == nullptr ? "" : "," + std::string(only) + ",";
  std::vector<std::string> names;
  for (size_t i = 0; i < simdmax_target_count(); ++i) {
    const std::string name = simdmax_target_name(i);
    if (filter.empty() || filter.find("," + name + ",") != std::string::npos) names.push_back(name);
  }
  return names;
}

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
