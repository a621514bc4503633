// Argument errors, one test per error per entry point: the specific status AND every output byte unchanged (the
// output is filled with a byte pattern that no kernel would write, so a partial write anywhere shows). Row entry
// points come from tests/entry_points.h, so a new one is covered by adding it there; target selection and the
// thread limit have their own tests below. The order of the checks (NULL_POINTER, INVALID_STRIDE, INVALID_SHAPE,
// OVERLAP) is part of the contract and tested too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/entry_points.h"

namespace simdmax_test {
namespace {

constexpr size_t kBufferFloats = 256;

// A buffer of distinct non-float-like bytes: any write to it changes its bytes.
std::vector<float> PatternBuffer() {
  std::vector<float> buffer(kBufferFloats);
  auto* bytes = reinterpret_cast<unsigned char*>(buffer.data());
  for (size_t i = 0; i < buffer.size() * sizeof(float); ++i) bytes[i] = static_cast<unsigned char>(i * 37 + 11);
  return buffer;
}

bool SameBytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A pointer that is never dereferenced: the checks must reject the call before touching it.
const float* FarPointer(uintptr_t address) { return reinterpret_cast<const float*>(address); }

class ArgumentErrors : public ::testing::TestWithParam<RowEntryPoint> {
 protected:
  // Calls the entry point with y = a fresh pattern buffer (or its offset) and checks status and bytes.
  void ExpectError(const char* what, simdmax_status want, size_t rows, size_t cols, const float* x, size_t xs,
                   bool null_y, size_t y_offset, size_t ys) {
    std::vector<float> y = PatternBuffer();
    const std::vector<float> before = y;
    const simdmax_status got = GetParam().fn(rows, cols, x, xs, null_y ? nullptr : y.data() + y_offset, ys);
    EXPECT_EQ(got, want) << GetParam().name << ": " << what;
    EXPECT_TRUE(SameBytes(y, before)) << GetParam().name << ": " << what << ": output modified";
  }
  std::vector<float> x_ = std::vector<float>(kBufferFloats, 1.0f);
};

TEST_P(ArgumentErrors, NullX) {
  ExpectError("null x", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 4, false, 0, 4);
  ExpectError("null x, 1x1", SIMDMAX_ERROR_NULL_POINTER, 1, 1, nullptr, 1, false, 0, 1);
}

TEST_P(ArgumentErrors, NullY) {
  ExpectError("null y", SIMDMAX_ERROR_NULL_POINTER, 2, 4, x_.data(), 4, true, 0, 4);
  ExpectError("null x and y", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 4, true, 0, 4);
}

TEST_P(ArgumentErrors, StrideSmallerThanRow) {
  ExpectError("x stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 2, 4, x_.data(), 3, false, 0, 4);
  ExpectError("y stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 2, 4, x_.data(), 4, false, 0, 3);
  ExpectError("zero strides", SIMDMAX_ERROR_INVALID_STRIDE, 1, 4, x_.data(), 0, false, 0, 0);
  // A single row still needs stride >= cols: the contract does not special-case rows == 1.
  ExpectError("1 row, y stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 1, 8, x_.data(), 8, false, 0, 7);
}

TEST_P(ArgumentErrors, ShapeOverflows) {
  ExpectError("rows * stride overflows size_t", SIMDMAX_ERROR_INVALID_SHAPE, SIZE_MAX / 2, 4, x_.data(), 4, false, 0,
              4);
  ExpectError("elements * 4 overflows size_t", SIMDMAX_ERROR_INVALID_SHAPE, 2, 4, x_.data(), SIZE_MAX / 4, false, 0, 4);
  ExpectError("y span overflows", SIMDMAX_ERROR_INVALID_SHAPE, 3, 4, x_.data(), 4, false, 0, SIZE_MAX / 2);
  ExpectError("cols alone overflows bytes", SIMDMAX_ERROR_INVALID_SHAPE, 1, SIZE_MAX / 2, x_.data(), SIZE_MAX / 2,
              false, 0, SIZE_MAX / 2);
  // The span fits in size_t but wraps the address space from where x starts.
  ExpectError("x span wraps the address space", SIMDMAX_ERROR_INVALID_SHAPE, 2, 64, FarPointer(UINTPTR_MAX - 255), 64,
              false, 0, 64);
}

TEST_P(ArgumentErrors, PartialOverlap) {
  // x and y in the same pattern buffer: the buffer itself must stay unchanged.
  struct Case {
    const char* what;
    size_t rows, cols, x_offset, xs, y_offset, ys;
  };
  const Case cases[] = {
      {"y = x + 1", 2, 8, 0, 8, 1, 8},
      {"x = y + 1", 2, 8, 1, 8, 0, 8},
      {"same start, different strides", 2, 8, 0, 8, 0, 9},
      {"y row 1 = x row 0 shifted", 3, 8, 0, 16, 12, 16},  // equal strides, rows intersect
      {"y inside x's last row", 4, 8, 0, 10, 31, 10},
      {"different strides, y in x's padding", 3, 4, 0, 8, 4, 9},  // conservative: spans intersect
      {"byte-misaligned y", 2, 8, 0, 8, 0, 8},                    // y set below to x + 2 bytes
  };
  for (const Case& c : cases) {
    std::vector<float> buffer = PatternBuffer();
    const std::vector<float> before = buffer;
    float* y = buffer.data() + c.y_offset;
    if (std::string(c.what) == "byte-misaligned y") {
      y = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(buffer.data()) + 2);
    }
    EXPECT_EQ(GetParam().fn(c.rows, c.cols, buffer.data() + c.x_offset, c.xs, y, c.ys), SIMDMAX_ERROR_OVERLAP)
        << GetParam().name << ": " << c.what;
    EXPECT_TRUE(SameBytes(buffer, before)) << GetParam().name << ": " << c.what << ": buffer modified";
  }
}

// What is not an overlap: adjacent matrices, exactly in place, and (equal strides) rows interleaved in one buffer.
TEST_P(ArgumentErrors, NonOverlappingLayoutsAreAccepted) {
  std::vector<float> buffer(64, 0.5f);
  EXPECT_EQ(GetParam().fn(2, 8, buffer.data(), 8, buffer.data() + 16, 8), SIMDMAX_OK) << "adjacent";
  EXPECT_EQ(GetParam().fn(2, 8, buffer.data() + 16, 8, buffer.data(), 8), SIMDMAX_OK) << "adjacent, y first";
  EXPECT_EQ(GetParam().fn(2, 8, buffer.data(), 8, buffer.data(), 8), SIMDMAX_OK) << "in place";
  // Interleaved: x rows at [16r, 16r + 8), y rows at [16r + 8, 16r + 16).
  std::vector<float> interleaved(64);
  for (size_t i = 0; i < interleaved.size(); ++i) interleaved[i] = (i % 16 < 8) ? static_cast<float>(i % 5) : -1.0f;
  std::vector<float> expected(8 * 4);
  for (size_t r = 0; r < 4; ++r) {
    ASSERT_EQ(GetParam().fn(1, 8, &interleaved[16 * r], 8, &expected[8 * r], 8), SIMDMAX_OK);
  }
  EXPECT_EQ(GetParam().fn(4, 8, interleaved.data(), 16, interleaved.data() + 8, 16), SIMDMAX_OK) << "interleaved";
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(0, std::memcmp(&interleaved[16 * r + 8], &expected[8 * r], 8 * sizeof(float))) << "row " << r;
  }
}

// The documented order of the checks when several arguments are wrong.
TEST_P(ArgumentErrors, CheckOrder) {
  ExpectError("null beats stride", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 1, false, 0, 1);
  ExpectError("stride beats shape", SIMDMAX_ERROR_INVALID_STRIDE, SIZE_MAX / 2, 4, x_.data(), 3, false, 0, 4);
  std::vector<float> buffer = PatternBuffer();
  const std::vector<float> before = buffer;
  EXPECT_EQ(GetParam().fn(SIZE_MAX / 2, 4, buffer.data(), 4, buffer.data() + 1, 4), SIMDMAX_ERROR_INVALID_SHAPE)
      << "shape beats overlap";
  EXPECT_TRUE(SameBytes(buffer, before));
}

// rows == 0 or cols == 0 is a no-op with SIMDMAX_OK, whatever the other arguments (NULL, bad strides).
TEST_P(ArgumentErrors, EmptyIsANoOp) {
  ExpectError("rows 0", SIMDMAX_OK, 0, 4, nullptr, 0, false, 0, 0);
  ExpectError("cols 0", SIMDMAX_OK, 4, 0, x_.data(), 0, false, 0, 0);
  EXPECT_EQ(GetParam().fn(0, 0, nullptr, 0, nullptr, 0), SIMDMAX_OK);
}

INSTANTIATE_TEST_SUITE_P(EntryPoints, ArgumentErrors, ::testing::ValuesIn(RowEntryPoints()),
                         [](const ::testing::TestParamInfo<RowEntryPoint>& info) {
                           return std::string(info.param.name);
                         });

// The C++ API goes through the same checks and adds its own (views of different shapes).
TEST(ArgumentErrorsCpp, StatusesAndUntouchedOutput) {
  std::vector<float> x(16, 1.0f);
  std::vector<float> y = PatternBuffer();
  const std::vector<float> before = y;
  EXPECT_EQ(simdmax::Softmax(simdmax::ConstMatrixView{x.data(), 2, 8, 8}, simdmax::MatrixView{y.data(), 2, 4, 8}),
            simdmax::Status::kInvalidArgument);
  EXPECT_EQ(simdmax::LogSoftmax(simdmax::ConstMatrixView{x.data(), 2, 8, 8}, simdmax::MatrixView{y.data(), 1, 8, 8}),
            simdmax::Status::kInvalidArgument);
  EXPECT_EQ(simdmax::Softmax(simdmax::ConstMatrixView{nullptr, 2, 8, 8}, simdmax::MatrixView{y.data(), 2, 8, 8}),
            simdmax::Status::kNullPointer);
  EXPECT_EQ(simdmax::LogSoftmax(simdmax::ConstMatrixView{x.data(), 2, 8, 7}, simdmax::MatrixView{y.data(), 2, 8, 8}),
            simdmax::Status::kInvalidStride);
  EXPECT_EQ(simdmax::Softmax(simdmax::ConstMatrixView{y.data(), 2, 8, 8}, simdmax::MatrixView{y.data() + 1, 2, 8, 8}),
            simdmax::Status::kOverlap);
  EXPECT_EQ(simdmax::Softmax(nullptr, y.data(), 8), simdmax::Status::kNullPointer);
  EXPECT_EQ(simdmax::LogSoftmax(x.data(), nullptr, 8), simdmax::Status::kNullPointer);
  EXPECT_TRUE(SameBytes(y, before));
}

// Target selection: each error, the selection unchanged, and a message that names the problem.
TEST(ArgumentErrorsTargets, UnknownAndUnsupportedNames) {
  ASSERT_EQ(simdmax_select_target(simdmax_target_name(simdmax_target_count() - 1)), SIMDMAX_OK);
  const std::string before = simdmax_selected_target();
  // Typos, padding, and "Unknown" (what hwy::TargetName returns for a target bit it has no name for).
  for (const char* name : {"AVX9000", "avx2 ", " AVX2", "AVX", "scalar\n", "SSE", "NEON2", "SVE3", "Unknown"}) {
    EXPECT_EQ(simdmax_select_target(name), SIMDMAX_ERROR_UNKNOWN_TARGET) << "'" << name << "'";
    EXPECT_EQ(before, simdmax_selected_target()) << name;
  }
  std::vector<std::string> listed;
  for (size_t i = 0; i < simdmax_target_count(); ++i) listed.emplace_back(simdmax_target_name(i));
  // Every name Highway 1.0.3 defines (hwy/targets.h, TargetName, all architectures): a known name that is not
  // listed here, including another architecture's ("NEON" on x86, "AVX2" on Arm), is UNSUPPORTED, never UNKNOWN.
  const char* known[] = {"AVX3_DL", "AVX3", "AVX2", "SSE4", "SSSE3",       "SVE2_128", "SVE_256", "SVE2",
                         "SVE",     "NEON", "PPC8", "WASM", "WASM_EMU256", "RVV",      "EMU128",  "SCALAR"};
  size_t unsupported = 0;
  for (const char* name : known) {
    const bool is_listed = std::find(listed.begin(), listed.end(), name) != listed.end();
    if (is_listed) continue;
    ++unsupported;
    EXPECT_EQ(simdmax_select_target(name), SIMDMAX_ERROR_UNSUPPORTED_TARGET) << name;
    // Case-insensitive like the listed names.
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(simdmax_select_target(lower.c_str()), SIMDMAX_ERROR_UNSUPPORTED_TARGET) << lower;
    EXPECT_EQ(before, simdmax_selected_target()) << name;
  }
  // At least the other architectures' names (PPC8, WASM, RVV, and x86 or Arm) are never available.
  EXPECT_GE(unsupported, 5u);
  EXPECT_NE(std::string(simdmax_status_string(SIMDMAX_ERROR_UNKNOWN_TARGET)).find("unknown target"), std::string::npos);
  simdmax_select_target(nullptr);
}

// The thread limit accepts every value today (the status is reserved for a future limit).
// Every limit, however large, must then run batches correctly (large limits are clamped, not cast blindly to int).
TEST(ArgumentErrorsThreads, EveryValueIsAccepted) {
  const size_t rows = 64, cols = 4096;  // large enough to be split across threads
  std::vector<float> x(rows * cols), want(rows * cols), got(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) * 0.25f;
  ASSERT_EQ(simdmax_set_max_threads(1), SIMDMAX_OK);
  ASSERT_EQ(simdmax_softmax_f32(rows, cols, x.data(), cols, want.data(), cols), SIMDMAX_OK);
  for (size_t n : {size_t{0}, size_t{2}, size_t{1000}, size_t{1} << 31, size_t{1} << 32, SIZE_MAX}) {
    EXPECT_EQ(simdmax_set_max_threads(n), SIMDMAX_OK) << n;
    ASSERT_EQ(simdmax_softmax_f32(rows, cols, x.data(), cols, got.data(), cols), SIMDMAX_OK) << n;
    EXPECT_TRUE(SameBytes(got, want)) << n;
  }
  simdmax_set_max_threads(0);
}

}  // namespace
}  // namespace simdmax_test
