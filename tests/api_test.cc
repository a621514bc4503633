// The C API's contract outside the kernels: statuses, messages, target selection, argument errors that leave the
// output untouched, and the C++ wrapper going through the same path.
#include <gtest/gtest.h>
#include <strings.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"

namespace {

using OpFn = simdmax_status (*)(size_t, size_t, const float*, size_t, float*, size_t);
constexpr OpFn kOps[] = {simdmax_softmax_f32, simdmax_log_softmax_f32};
constexpr float kSentinel = 777.0f;

TEST(Api, VersionAndStatusStrings) {
  EXPECT_STREQ(simdmax_version(), SIMDMAX_TEST_EXPECTED_VERSION);
  for (int s = SIMDMAX_OK; s <= SIMDMAX_ERROR_INTERNAL; ++s) {
    const char* message = simdmax_status_string(static_cast<simdmax_status>(s));
    ASSERT_NE(message, nullptr);
    EXPECT_GT(std::strlen(message), 1u);
    EXPECT_STRNE(message, "unknown status") << s;
  }
  EXPECT_STREQ(simdmax_status_string(static_cast<simdmax_status>(99)), "unknown status");
  EXPECT_STREQ(simdmax_status_string(SIMDMAX_ERROR_OUT_OF_MEMORY), "out of memory");
}

TEST(Api, TargetListIsBestFirstAndSelectable) {
  const size_t count = simdmax_target_count();
  ASSERT_GE(count, 1u);
  EXPECT_EQ(simdmax_target_name(count), nullptr);
  EXPECT_STREQ(simdmax_selected_target(), simdmax_target_name(0));
  for (size_t i = 0; i < count; ++i) {
    std::string lower = simdmax_target_name(i);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
    ASSERT_EQ(simdmax_select_target(lower.c_str()), SIMDMAX_OK) << lower;  // case-insensitive
    EXPECT_STREQ(simdmax_selected_target(), simdmax_target_name(i));
  }
  EXPECT_EQ(simdmax_select_target(""), SIMDMAX_OK);
  EXPECT_STREQ(simdmax_selected_target(), simdmax_target_name(0));
  ASSERT_EQ(simdmax_select_target(simdmax_target_name(count - 1)), SIMDMAX_OK);
  EXPECT_EQ(simdmax_select_target(nullptr), SIMDMAX_OK);
  EXPECT_STREQ(simdmax_selected_target(), simdmax_target_name(0));
}

// SIMDMAX_EXPECT_TARGETS="SVE2,SVE,NEON": each named target must be in the list for this CPU (the cross suite sets
// it per emulated CPU, so a target that was silently not compiled or not detected fails the run instead of
// shrinking the per-target suites). Unset: nothing is expected (native runs test whatever the CPU supports).
TEST(Api, ExpectedTargetsAreSupported) {
  std::string listed;
  for (size_t i = 0; i < simdmax_target_count(); ++i) listed += std::string(i ? "," : "") + simdmax_target_name(i);
  std::printf("simdmax targets on this CPU: %s\n", listed.c_str());
  const char* env = std::getenv("SIMDMAX_EXPECT_TARGETS");
  if (env == nullptr || env[0] == '\0') GTEST_SKIP() << "SIMDMAX_EXPECT_TARGETS not set";
  std::string expected = env;
  size_t checked = 0;
  for (size_t begin = 0; begin <= expected.size();) {
    size_t end = expected.find(',', begin);
    if (end == std::string::npos) end = expected.size();
    const std::string name = expected.substr(begin, end - begin);
    begin = end + 1;
    if (name.empty()) continue;
    bool found = false;
    for (size_t i = 0; i < simdmax_target_count(); ++i) found |= strcasecmp(name.c_str(), simdmax_target_name(i)) == 0;
    EXPECT_TRUE(found) << name << " expected but not supported; listed: " << listed;
    ++checked;
  }
  EXPECT_GT(checked, 0u) << "SIMDMAX_EXPECT_TARGETS=" << env;
}

TEST(Api, UnknownAndUnsupportedTargetsLeaveSelectionUnchanged) {
  ASSERT_EQ(simdmax_select_target(nullptr), SIMDMAX_OK);
  const std::string before = simdmax_selected_target();
  EXPECT_EQ(simdmax_select_target("AVX9000"), SIMDMAX_ERROR_UNKNOWN_TARGET);
  EXPECT_EQ(before, simdmax_selected_target());
#if defined(__x86_64__) || defined(__i386__)
  // Known to Highway, on another architecture: a missing capability, not a typo.
  EXPECT_EQ(simdmax_select_target("NEON"), SIMDMAX_ERROR_UNSUPPORTED_TARGET);
  EXPECT_EQ(simdmax_select_target("SVE2_128"), SIMDMAX_ERROR_UNSUPPORTED_TARGET);
  // EMU128 is known to Highway on x86 but not compiled with GCC < 12.3 (SCALAR is the fallback there).
  bool emu128_listed = false;
  for (size_t i = 0; i < simdmax_target_count(); ++i) emu128_listed |= std::string(simdmax_target_name(i)) == "EMU128";
  if (!emu128_listed) {
    EXPECT_EQ(simdmax_select_target("EMU128"), SIMDMAX_ERROR_UNSUPPORTED_TARGET);
  }
#else
  EXPECT_EQ(simdmax_select_target("AVX2"), SIMDMAX_ERROR_UNSUPPORTED_TARGET);  // known, on another architecture
  EXPECT_EQ(simdmax_select_target("AVX3_DL"), SIMDMAX_ERROR_UNSUPPORTED_TARGET);
#endif
  EXPECT_EQ(before, simdmax_selected_target());
}

#ifdef HWY_COMPILE_ONLY_STATIC
// The single-target build (preset static-target): Highway compiles only the baseline target and every HWY_EXPORT
// table has one entry. Exactly one target is listed and selectable, and the other names are UNSUPPORTED.
TEST(Api, SingleTargetBuildListsOnlyTheStaticTarget) {
  ASSERT_EQ(simdmax_target_count(), 1u);
  const std::string only = simdmax_target_name(0);
  EXPECT_EQ(simdmax_target_name(1), nullptr);
  EXPECT_EQ(simdmax_select_target(only.c_str()), SIMDMAX_OK);
  EXPECT_EQ(only, simdmax_selected_target());
  for (const char* name : {"AVX3_DL", "AVX2", "SSE4", "NEON", "SVE", "EMU128", "SCALAR"}) {
    if (only != name) {
      EXPECT_EQ(simdmax_select_target(name), SIMDMAX_ERROR_UNSUPPORTED_TARGET) << name;
    }
  }
  EXPECT_EQ(only, simdmax_selected_target());
}
#endif

TEST(Api, ZeroSizedIsNoOpEvenWithNull) {
  for (OpFn op : kOps) {
    EXPECT_EQ(op(0, 5, nullptr, 5, nullptr, 5), SIMDMAX_OK);
    EXPECT_EQ(op(5, 0, nullptr, 0, nullptr, 0), SIMDMAX_OK);
  }
}

// Argument errors (status and untouched output, per entry point): tests/argument_errors_test.cc.

TEST(Api, SetMaxThreads) {
  EXPECT_EQ(simdmax_set_max_threads(1), SIMDMAX_OK);
  EXPECT_EQ(simdmax_set_max_threads(3), SIMDMAX_OK);
  EXPECT_EQ(simdmax_set_max_threads(0), SIMDMAX_OK);
}

TEST(CppApi, SameResultsAsCApi) {
  const std::vector<float> x = {2.0f, 1.0f, 0.5f, -3.0f, 8.0f, 0.0f};
  std::vector<float> c_out(6), cpp_out(6);
  ASSERT_EQ(simdmax_softmax_f32(2, 3, x.data(), 3, c_out.data(), 3), SIMDMAX_OK);
  ASSERT_EQ(simdmax::Softmax(simdmax::ConstMatrixView{x.data(), 2, 3, 3}, simdmax::MatrixView{cpp_out.data(), 2, 3, 3}),
            simdmax::Status::kOk);
  EXPECT_EQ(c_out, cpp_out);
  ASSERT_EQ(simdmax_log_softmax_f32(1, 6, x.data(), 6, c_out.data(), 6), SIMDMAX_OK);
  ASSERT_EQ(simdmax::LogSoftmax(x.data(), cpp_out.data(), 6), simdmax::Status::kOk);
  EXPECT_EQ(c_out, cpp_out);
  std::vector<float> untouched(6, kSentinel);
  EXPECT_EQ(
      simdmax::Softmax(simdmax::ConstMatrixView{x.data(), 2, 3, 3}, simdmax::MatrixView{untouched.data(), 3, 2, 2}),
      simdmax::Status::kInvalidArgument);
  EXPECT_EQ(untouched, std::vector<float>(6, kSentinel));
  EXPECT_STREQ(simdmax::ToString(simdmax::Status::kOverlap), simdmax_status_string(SIMDMAX_ERROR_OVERLAP));
}

TEST(CppApi, ScopedTargetRestoresSelection) {
  ASSERT_EQ(simdmax::SelectTarget(""), simdmax::Status::kOk);
  const auto targets = simdmax::Targets();
  ASSERT_FALSE(targets.empty());
  {
    simdmax::ScopedTarget scoped(targets.back());
    EXPECT_EQ(scoped.status(), simdmax::Status::kOk);
    EXPECT_EQ(simdmax::SelectedTarget(), targets.back());
  }
  EXPECT_EQ(simdmax::SelectedTarget(), targets.front());
  simdmax::ScopedTarget bad("NOPE");
  EXPECT_EQ(bad.status(), simdmax::Status::kUnknownTarget);
}

}  // namespace
