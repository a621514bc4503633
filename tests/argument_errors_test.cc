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
#include "tests/dtype.h"
#include "tests/entry_points.h"
#include "tests/raw_dtype_calls.h"

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

// Element sizes of the entry point under test: offsets below are in elements of x's type (so the float cases keep
// their layout and the typed ones scale with it; pairs of different types are then checked in bytes).
size_t XSize(const RowEntryPoint& ep) { return simdmax_dtype_size(ep.x_type); }
size_t YSize(const RowEntryPoint& ep) { return simdmax_dtype_size(ep.y_type); }
unsigned char* Bytes(std::vector<float>& buffer) { return reinterpret_cast<unsigned char*>(buffer.data()); }

class ArgumentErrors : public ::testing::TestWithParam<RowEntryPoint> {
 protected:
  // Calls the entry point with y = a fresh pattern buffer (at y_offset elements of y's type) and checks status and
  // bytes.
  void ExpectError(const char* what, simdmax_status want, size_t rows, size_t cols, const void* x, size_t xs,
                   bool null_y, size_t y_offset, size_t ys) {
    std::vector<float> y = PatternBuffer();
    const std::vector<float> before = y;
    const simdmax_status got =
        GetParam().Call(rows, cols, x, xs, null_y ? nullptr : Bytes(y) + y_offset * YSize(GetParam()), ys);
    EXPECT_EQ(got, want) << GetParam().name << ": " << what;
    EXPECT_TRUE(SameBytes(y, before)) << GetParam().name << ": " << what << ": output modified";
  }
  const void* X() const { return x_.data(); }
  std::vector<float> ones_ = std::vector<float>(kBufferFloats, 1.0f);
  TypedBuffer x_ = TypedBuffer(GetParam().x_type, ones_.data(), kBufferFloats);
};

TEST_P(ArgumentErrors, NullX) {
  ExpectError("null x", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 4, false, 0, 4);
  ExpectError("null x, 1x1", SIMDMAX_ERROR_NULL_POINTER, 1, 1, nullptr, 1, false, 0, 1);
}

TEST_P(ArgumentErrors, NullY) {
  ExpectError("null y", SIMDMAX_ERROR_NULL_POINTER, 2, 4, X(), 4, true, 0, 4);
  ExpectError("null x and y", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 4, true, 0, 4);
}

TEST_P(ArgumentErrors, StrideSmallerThanRow) {
  ExpectError("x stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 2, 4, X(), 3, false, 0, 4);
  ExpectError("y stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 2, 4, X(), 4, false, 0, 3);
  ExpectError("zero strides", SIMDMAX_ERROR_INVALID_STRIDE, 1, 4, X(), 0, false, 0, 0);
  // A single row still needs stride >= cols: the contract does not special-case rows == 1.
  ExpectError("1 row, y stride < cols", SIMDMAX_ERROR_INVALID_STRIDE, 1, 8, X(), 8, false, 0, 7);
}

TEST_P(ArgumentErrors, ShapeOverflows) {
  ExpectError("rows * stride overflows size_t", SIMDMAX_ERROR_INVALID_SHAPE, SIZE_MAX / 2, 4, X(), 4, false, 0, 4);
  // Elements times the element size of x's type overflows size_t (the 2-byte types at SIZE_MAX / 2 + 1 elements).
  ExpectError("elements * size overflows size_t", SIMDMAX_ERROR_INVALID_SHAPE, 2, 4, X(), SIZE_MAX / XSize(GetParam()),
              false, 0, 4);
  ExpectError("y span overflows", SIMDMAX_ERROR_INVALID_SHAPE, 3, 4, X(), 4, false, 0, SIZE_MAX / 2);
  ExpectError("cols alone overflows bytes", SIMDMAX_ERROR_INVALID_SHAPE, 1, SIZE_MAX / 2 + 1, X(), SIZE_MAX / 2 + 1,
              false, 0, SIZE_MAX / 2 + 1);
  // The span fits in size_t but wraps the address space from where x starts.
  ExpectError("x span wraps the address space", SIMDMAX_ERROR_INVALID_SHAPE, 2, 64, FarPointer(UINTPTR_MAX - 127), 64,
              false, 0, 64);
}

TEST_P(ArgumentErrors, PartialOverlap) {
  // x and y in the same pattern buffer: the buffer itself must stay unchanged. Offsets in elements of x's type.
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
      {"byte-misaligned y", 2, 8, 0, 8, 0, 8},                    // y set below to x + 1 byte
  };
  const RowEntryPoint& ep = GetParam();
  for (const Case& c : cases) {
    std::vector<float> buffer = PatternBuffer();
    const std::vector<float> before = buffer;
    unsigned char* y = Bytes(buffer) + c.y_offset * XSize(ep);
    if (std::string(c.what) == "byte-misaligned y") y = Bytes(buffer) + 1;
    EXPECT_EQ(ep.Call(c.rows, c.cols, Bytes(buffer) + c.x_offset * XSize(ep), c.xs, y, c.ys), SIMDMAX_ERROR_OVERLAP)
        << ep.name << ": " << c.what;
    EXPECT_TRUE(SameBytes(buffer, before)) << ep.name << ": " << c.what << ": buffer modified";
  }
  // The same pointer and stride is in place only for the same type: with another type it is an overlap.
  if (!ep.InPlace()) {
    std::vector<float> buffer = PatternBuffer();
    const std::vector<float> before = buffer;
    EXPECT_EQ(ep.Call(2, 8, Bytes(buffer), 8, Bytes(buffer), 8), SIMDMAX_ERROR_OVERLAP) << ep.name << ": same pointer";
    EXPECT_TRUE(SameBytes(buffer, before)) << ep.name << ": same pointer: buffer modified";
  }
}

// What is not an overlap: adjacent matrices (in bytes, whatever the types), exactly in place (same type), and (same
// type and stride) rows interleaved in one buffer.
TEST_P(ArgumentErrors, NonOverlappingLayoutsAreAccepted) {
  const RowEntryPoint& ep = GetParam();
  const std::vector<float> values(64, 0.5f);
  TypedBuffer x_values(ep.x_type, values.data(), values.size());
  std::vector<unsigned char> buffer(64 * 4 * 2);
  std::memcpy(buffer.data(), x_values.data(), 16 * XSize(ep));  // x = 2 rows of 8 at the start
  EXPECT_EQ(ep.Call(2, 8, buffer.data(), 8, buffer.data() + 16 * XSize(ep), 8), SIMDMAX_OK) << ep.name << ": adjacent";
  std::memcpy(buffer.data() + 16 * YSize(ep), x_values.data(), 16 * XSize(ep));  // y = 2 rows of 8, then x
  EXPECT_EQ(ep.Call(2, 8, buffer.data() + 16 * YSize(ep), 8, buffer.data(), 8), SIMDMAX_OK)
      << ep.name << ": adjacent, y first";
  if (!ep.InPlace()) return;
  EXPECT_EQ(ep.Call(2, 8, x_values.data(), 8, x_values.data(), 8), SIMDMAX_OK) << ep.name << ": in place";
  // Interleaved: x rows at [16r, 16r + 8), y rows at [16r + 8, 16r + 16).
  std::vector<float> interleaved_values(64);
  for (size_t i = 0; i < interleaved_values.size(); ++i) {
    interleaved_values[i] = (i % 16 < 8) ? static_cast<float>(i % 5) : -1.0f;
  }
  TypedBuffer interleaved(ep.x_type, interleaved_values.data(), interleaved_values.size());
  const size_t size = XSize(ep);
  auto* bytes = static_cast<unsigned char*>(interleaved.data());
  std::vector<unsigned char> expected(8 * 4 * size);
  for (size_t r = 0; r < 4; ++r) {
    ASSERT_EQ(ep.Call(1, 8, bytes + 16 * r * size, 8, expected.data() + 8 * r * size, 8), SIMDMAX_OK);
  }
  EXPECT_EQ(ep.Call(4, 8, bytes, 16, bytes + 8 * size, 16), SIMDMAX_OK) << ep.name << ": interleaved";
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(0, std::memcmp(bytes + (16 * r + 8) * size, expected.data() + 8 * r * size, 8 * size)) << "row " << r;
  }
}

// The documented order of the checks when several arguments are wrong.
TEST_P(ArgumentErrors, CheckOrder) {
  ExpectError("null beats stride", SIMDMAX_ERROR_NULL_POINTER, 2, 4, nullptr, 1, false, 0, 1);
  ExpectError("stride beats shape", SIMDMAX_ERROR_INVALID_STRIDE, SIZE_MAX / 2, 4, X(), 3, false, 0, 4);
  std::vector<float> buffer = PatternBuffer();
  const std::vector<float> before = buffer;
  EXPECT_EQ(GetParam().Call(SIZE_MAX / 2, 4, Bytes(buffer), 4, Bytes(buffer) + XSize(GetParam()), 4),
            SIMDMAX_ERROR_INVALID_SHAPE)
      << "shape beats overlap";
  EXPECT_TRUE(SameBytes(buffer, before));
}

// rows == 0 or cols == 0 is a no-op with SIMDMAX_OK, whatever the other arguments (NULL, bad strides).
TEST_P(ArgumentErrors, EmptyIsANoOp) {
  ExpectError("rows 0", SIMDMAX_OK, 0, 4, nullptr, 0, false, 0, 0);
  ExpectError("cols 0", SIMDMAX_OK, 4, 0, X(), 0, false, 0, 0);
  EXPECT_EQ(GetParam().Call(0, 0, nullptr, 0, nullptr, 0), SIMDMAX_OK);
}

// A type outside the enum: INVALID_ARGUMENT before anything else (even for an empty matrix), output untouched.
TEST_P(ArgumentErrors, TypeOutsideTheEnum) {
  const RowEntryPoint& ep = GetParam();
  if (ep.typed_fn == nullptr) return;  // the _f32 functions have no type argument
  const int log = ep.op == Op::kLogSoftmax;
  // Values outside the enum reach the library from C (tests/raw_dtype_calls.h): in C++ they are not simdmax_dtypes.
  for (int bad : {3, -1, 7, 1 << 20}) {
    for (bool bad_x : {true, false}) {
      std::vector<float> y = PatternBuffer();
      const std::vector<float> before = y;
      const int x_type = bad_x ? bad : static_cast<int>(ep.x_type), y_type = bad_x ? static_cast<int>(ep.y_type) : bad;
      EXPECT_EQ(SimdmaxTestRawRowOp(log, 2, 4, x_type, X(), 4, y_type, Bytes(y), 4), SIMDMAX_ERROR_INVALID_ARGUMENT)
          << ep.name << " type " << bad;
      EXPECT_EQ(SimdmaxTestRawRowOp(log, 0, 4, x_type, nullptr, 4, y_type, nullptr, 4), SIMDMAX_ERROR_INVALID_ARGUMENT)
          << ep.name << " type " << bad << ", empty";
      EXPECT_EQ(SimdmaxTestRawRowOp(log, 2, 4, x_type, nullptr, 1, y_type, Bytes(y), 4), SIMDMAX_ERROR_INVALID_ARGUMENT)
          << ep.name << " type " << bad << " beats null";
      EXPECT_TRUE(SameBytes(y, before)) << ep.name << " type " << bad;
    }
    // The raw path itself is sound: the entry's own types go through it like the typed function.
    std::vector<float> y = PatternBuffer();
    EXPECT_EQ(
        SimdmaxTestRawRowOp(log, 2, 4, static_cast<int>(ep.x_type), X(), 4, static_cast<int>(ep.y_type), Bytes(y), 4),
        SIMDMAX_OK)
        << ep.name;
  }
}

INSTANTIATE_TEST_SUITE_P(EntryPoints, ArgumentErrors, ::testing::ValuesIn(RowEntryPoints()),
                         [](const ::testing::TestParamInfo<RowEntryPoint>& info) { return info.param.name; });

TEST(ArgumentErrorsTypes, DtypeSize) {
  EXPECT_EQ(simdmax_dtype_size(SIMDMAX_F32), 4u);
  EXPECT_EQ(simdmax_dtype_size(SIMDMAX_F16), 2u);
  EXPECT_EQ(simdmax_dtype_size(SIMDMAX_BF16), 2u);
  for (int bad : {3, -1, 255, 1 << 30}) EXPECT_EQ(SimdmaxTestRawDtypeSize(bad), 0u) << bad;
  EXPECT_EQ(SimdmaxTestRawDtypeSize(SIMDMAX_BF16), 2u);
}

// The typed online functions: every error of the _f32 ones plus a type outside the enum and overlap across element
// sizes; the state and the output untouched.
TEST(ArgumentErrorsTypes, OnlineEntryPoints) {
  const int bad = 5;  // passed from C (tests/raw_dtype_calls.h)
  std::vector<float> values(64, 0.25f);
  simdmax_online_state state;
  simdmax_online_init(&state);
  ASSERT_EQ(simdmax_online_update_f32(&state, values.data(), 64), SIMDMAX_OK);
  const simdmax_online_state state_before = state;
  const auto same_state = [&] { return std::memcmp(&state, &state_before, sizeof(state)) == 0; };
  for (simdmax_dtype x_type : kAllDtypes) {
    TypedBuffer x(x_type, values.data(), values.size());
    EXPECT_EQ(simdmax_online_update(nullptr, x_type, x.data(), 4), SIMDMAX_ERROR_NULL_POINTER);
    EXPECT_EQ(SimdmaxTestRawOnlineUpdate(&state, bad, x.data(), 4), SIMDMAX_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(SimdmaxTestRawOnlineUpdate(&state, bad, nullptr, 0), SIMDMAX_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(simdmax_online_update(&state, x_type, nullptr, 4), SIMDMAX_ERROR_NULL_POINTER);
    EXPECT_EQ(simdmax_online_update(&state, x_type, FarPointer(UINTPTR_MAX - 7), 64), SIMDMAX_ERROR_INVALID_SHAPE);
    EXPECT_EQ(simdmax_online_update(&state, x_type, nullptr, 0), SIMDMAX_OK);
    EXPECT_TRUE(same_state()) << DtypeName(x_type);
    for (simdmax_dtype y_type : kAllDtypes) {
      for (auto fn : {simdmax_online_normalize, simdmax_online_log_normalize}) {
        const int log = fn == simdmax_online_log_normalize;
        std::vector<float> y = PatternBuffer();
        const std::vector<float> before = y;
        EXPECT_EQ(fn(nullptr, x_type, x.data(), y_type, Bytes(y), 8), SIMDMAX_ERROR_NULL_POINTER);
        EXPECT_EQ(SimdmaxTestRawOnlineNormalize(log, &state, bad, x.data(), y_type, Bytes(y), 8),
                  SIMDMAX_ERROR_INVALID_ARGUMENT);
        EXPECT_EQ(SimdmaxTestRawOnlineNormalize(log, &state, x_type, x.data(), bad, Bytes(y), 8),
                  SIMDMAX_ERROR_INVALID_ARGUMENT);
        EXPECT_EQ(fn(&state, x_type, nullptr, y_type, Bytes(y), 8), SIMDMAX_ERROR_NULL_POINTER);
        EXPECT_TRUE(SameBytes(y, before));
        // Overlap in bytes: y one element of x's type after x; the same pointer with another type.
        std::vector<float> shared = PatternBuffer();
        const std::vector<float> shared_before = shared;
        EXPECT_EQ(fn(&state, x_type, Bytes(shared), y_type, Bytes(shared) + simdmax_dtype_size(x_type), 8),
                  SIMDMAX_ERROR_OVERLAP);
        if (x_type != y_type) {
          EXPECT_EQ(fn(&state, x_type, Bytes(shared), y_type, Bytes(shared), 8), SIMDMAX_ERROR_OVERLAP);
        }
        EXPECT_TRUE(SameBytes(shared, shared_before)) << DtypeName(x_type) << " -> " << DtypeName(y_type);
      }
    }
  }
}

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
