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
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/attention_problem.h"
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

// ---- simdmax_attention / simdmax_attention_batch ----------------------------------------------------------------
// One test per status, in the documented order of the checks (simdmax.h): 1. NULL args, 2. INVALID_ARGUMENT from
// the scalars, 3. the no-ops, 4. NULL tensors, 5. INVALID_ARGUMENT from ALiBi slopes, sinks and block table entries,
// 6. INVALID_STRIDE, 7. INVALID_SHAPE, 8. OVERLAP. Every error leaves out and lse untouched byte for byte (they start
// as kOutSentinelByte), through simdmax_attention and through a batch of one.

// Every feature on, so that each argument the checks look at is present: 4 heads over 2 kv heads, 3 queries, 10
// keys, head_dim 8, a per-head mask, ALiBi, sinks, lse; paged over blocks of 4 keys (3 blocks used, 6 in the pool).
AttentionCase AttentionErrorCase(bool paged) {
  AttentionCase c;
  c.heads = 4;
  c.kv_heads = 2;
  c.queries = 3;
  c.keys = 10;
  c.dim = 8;
  c.causal = true;
  c.mask = MaskKind::kPerHead;
  c.alibi = true;
  c.sinks = true;
  c.block_size = paged ? 4 : 0;
  return c;
}

bool OutputsUntouched(const AttentionProblem& p) {
  for (size_t at = 0; at < p.OutSpan(); ++at) {
    if (!p.OutUntouched(at)) return false;
  }
  const auto* lse = reinterpret_cast<const unsigned char*>(p.LseValues().data());
  for (size_t b = 0; b < p.LseValues().size() * sizeof(float); ++b) {
    if (lse[b] != kOutSentinelByte) return false;
  }
  return true;
}

// A type field set to a value outside the enum through its bytes: in C++ a simdmax_dtype object may not be given
// such a value by assignment (the conversion is undefined for values outside the enum's range, and UBSan reports
// it), while a C or FFI caller can store any int there (tests/raw_dtype_calls.h).
void SetRawType(simdmax_dtype* field, int value) {
  static_assert(sizeof(simdmax_dtype) == sizeof(int), "simdmax_dtype is an int-sized enum");
  std::memcpy(field, &value, sizeof(value));
}

class AttentionArgumentErrors : public ::testing::TestWithParam<bool> {
 protected:
  // Calls simdmax_attention and a batch of one with `edit` applied to the problem's args; checks the status and
  // that out and lse are untouched.
  void Expect(simdmax_status want, const std::string& what, const std::function<void(simdmax_attention_args&)>& edit) {
    problem_.ResetOutputs();
    simdmax_attention_args a = problem_.Args();
    edit(a);
    EXPECT_EQ(simdmax_attention(&a), want) << Name() << what;
    EXPECT_TRUE(OutputsUntouched(problem_)) << Name() << what << ": output written";
    EXPECT_EQ(simdmax_attention_batch(&a, 1), want) << Name() << what << " (batch of one)";
    EXPECT_TRUE(OutputsUntouched(problem_)) << Name() << what << " (batch of one): output written";
  }
  std::string Name() const { return GetParam() ? "paged: " : "contiguous: "; }
  AttentionProblem problem_{AttentionErrorCase(GetParam())};
};

TEST_P(AttentionArgumentErrors, ValidArgsAreAccepted) {
  // The baseline every error case edits: valid, and it writes every output (so an untouched output below means the
  // call stopped before writing).
  simdmax_attention_args a = problem_.Args();
  ASSERT_EQ(simdmax_attention(&a), SIMDMAX_OK);
  EXPECT_FALSE(problem_.OutUntouched(0));
  // q, k and v may overlap each other: k and v the same tensor.
  problem_.ResetOutputs();
  a.v = a.k;
  a.v_head_stride = a.k_head_stride;
  a.v_row_stride = a.k_row_stride;
  a.v_block_stride = a.k_block_stride;
  EXPECT_EQ(simdmax_attention(&a), SIMDMAX_OK);
  // Strides that step at most once are not checked: one query row with row strides 0, a broadcast mask.
  AttentionCase c = AttentionErrorCase(GetParam());
  c.queries = 1;
  AttentionProblem one_row(c);
  simdmax_attention_args b = one_row.Args();
  b.q_row_stride = b.out_row_stride = b.mask_row_stride = 0;
  EXPECT_EQ(simdmax_attention(&b), SIMDMAX_OK);
  b.mask_head_stride = 0;
  EXPECT_EQ(simdmax_attention(&b), SIMDMAX_OK);
}

TEST_P(AttentionArgumentErrors, NullPointer) {
  EXPECT_EQ(simdmax_attention(nullptr), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_attention_batch(nullptr, 1), SIMDMAX_ERROR_NULL_POINTER);
  EXPECT_EQ(simdmax_attention_batch(nullptr, 0), SIMDMAX_OK);  // n == 0: a no-op, args may be NULL
  Expect(SIMDMAX_ERROR_NULL_POINTER, "q NULL", [](simdmax_attention_args& a) { a.q = nullptr; });
  Expect(SIMDMAX_ERROR_NULL_POINTER, "k NULL", [](simdmax_attention_args& a) { a.k = nullptr; });
  Expect(SIMDMAX_ERROR_NULL_POINTER, "v NULL", [](simdmax_attention_args& a) { a.v = nullptr; });
  Expect(SIMDMAX_ERROR_NULL_POINTER, "q and out NULL", [](simdmax_attention_args& a) {
    a.q = nullptr;
    a.out = nullptr;
  });
  {  // out NULL: nothing to check but lse
    problem_.ResetOutputs();
    simdmax_attention_args a = problem_.Args();
    a.out = nullptr;
    EXPECT_EQ(simdmax_attention(&a), SIMDMAX_ERROR_NULL_POINTER) << Name() << "out NULL";
    EXPECT_EQ(simdmax_attention_batch(&a, 1), SIMDMAX_ERROR_NULL_POINTER) << Name() << "out NULL (batch)";
    EXPECT_TRUE(OutputsUntouched(problem_)) << Name() << "out NULL: lse written";
  }
  // Order: NULL tensors come after the scalar checks (2) and the no-ops (3), before the slopes, sinks and table (5).
  Expect(SIMDMAX_ERROR_INVALID_ARGUMENT, "q NULL and head_dim 0", [](simdmax_attention_args& a) {
    a.q = nullptr;
    a.head_dim = 0;
  });
  Expect(SIMDMAX_OK, "q NULL with n_queries 0", [](simdmax_attention_args& a) {
    a.q = nullptr;
    a.n_queries = 0;
  });
  Expect(SIMDMAX_ERROR_NULL_POINTER, "k NULL and a NaN sink", [this](simdmax_attention_args& a) {
    a.k = nullptr;
    problem_.Sinks()[1] = std::numeric_limits<float>::quiet_NaN();
  });
  problem_.Sinks()[1] = 0.5f;
}

TEST_P(AttentionArgumentErrors, InvalidArgument) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN(), kInf = std::numeric_limits<float>::infinity();
  const simdmax_status bad = SIMDMAX_ERROR_INVALID_ARGUMENT;
  // 2. From the scalars alone: also when the call would otherwise be a no-op (n_queries 0, NULL pointers).
  for (bool no_op : {false, true}) {
    const auto with = [no_op](std::function<void(simdmax_attention_args&)> edit) {
      return [no_op, edit](simdmax_attention_args& a) {
        edit(a);
        if (no_op) {
          a.n_queries = 0;
          a.q = a.k = a.v = nullptr;
          a.out = nullptr;
        }
      };
    };
    const std::string suffix = no_op ? " (n_queries 0)" : "";
    Expect(bad, "n_kv_heads 0" + suffix, with([](simdmax_attention_args& a) { a.n_kv_heads = 0; }));
    Expect(bad, "n_kv_heads 3 of 4 heads" + suffix, with([](simdmax_attention_args& a) { a.n_kv_heads = 3; }));
    Expect(bad, "n_kv_heads above n_heads" + suffix, with([](simdmax_attention_args& a) { a.n_kv_heads = 8; }));
    Expect(bad, "head_dim 0" + suffix, with([](simdmax_attention_args& a) { a.head_dim = 0; }));
    for (float x : {kNaN, kInf, -kInf}) {
      Expect(bad, "scale " + std::to_string(x) + suffix, with([x](simdmax_attention_args& a) { a.scale = x; }));
      Expect(bad, "softcap " + std::to_string(x) + suffix, with([x](simdmax_attention_args& a) { a.softcap = x; }));
    }
    Expect(bad, "softcap -1" + suffix, with([](simdmax_attention_args& a) { a.softcap = -1.0f; }));
    static const int32_t kTable[3] = {0, 1, 2};  // for the contiguous case, which has no table of its own
    Expect(bad, "block_size 0 with a table" + suffix, with([](simdmax_attention_args& a) {
             a.block_table = kTable;
             a.block_size = 0;
             a.n_blocks = 8;
           }));
  }
  // n_heads 0 is the other no-op: the scalar checks still apply.
  Expect(bad, "head_dim 0 (n_heads 0)", [](simdmax_attention_args& a) {
    a.head_dim = 0;
    a.n_heads = 0;
  });
  Expect(SIMDMAX_OK, "n_heads 0 with NULL pointers", [](simdmax_attention_args& a) {
    a.n_heads = 0;
    a.q = a.k = a.v = nullptr;
    a.out = nullptr;
    a.lse = nullptr;
  });
  // 5. From the slopes, the sinks and the block table (read only when there is work: a no-op does not).
  for (float x : {kNaN, kInf, -kInf}) {
    problem_.Slopes()[3] = x;
    Expect(bad, "ALiBi slope " + std::to_string(x), [](simdmax_attention_args&) {});
    Expect(SIMDMAX_OK, "ALiBi slope " + std::to_string(x) + " (n_queries 0)",
           [](simdmax_attention_args& a) { a.n_queries = 0; });
    problem_.Slopes()[3] = 0.25f;
    problem_.Sinks()[3] = x;
    Expect(bad, "sink " + std::to_string(x), [](simdmax_attention_args&) {});
    problem_.Sinks()[3] = 0.5f;
  }
  if (GetParam()) {
    std::vector<int32_t>& table = problem_.BlockTable();
    const int32_t n_blocks = static_cast<int32_t>(problem_.Args().n_blocks);
    for (int32_t entry :
         {-1, n_blocks, n_blocks + 1, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
      for (size_t at : {size_t{0}, table.size() - 1}) {  // the first and the last (partial) block
        const int32_t saved = table[at];
        table[at] = entry;
        Expect(bad, "block table entry " + std::to_string(entry) + " at " + std::to_string(at),
               [](simdmax_attention_args&) {});
        table[at] = saved;
      }
    }
    Expect(bad, "n_blocks 0 with a table", [](simdmax_attention_args& a) { a.n_blocks = 0; });
    Expect(bad, "n_blocks = the largest entry", [&](simdmax_attention_args& a) {
      a.n_blocks = static_cast<size_t>(*std::max_element(table.begin(), table.end()));
    });
  }
}

// A value outside the enum in each of the four type fields: INVALID_ARGUMENT (step 2), before NULL tensors and
// even when the call would be a no-op.
TEST_P(AttentionArgumentErrors, TypeOutsideTheEnum) {
  simdmax_dtype simdmax_attention_args::*fields[] = {&simdmax_attention_args::q_type, &simdmax_attention_args::kv_type,
                                                     &simdmax_attention_args::out_type,
                                                     &simdmax_attention_args::mask_type};
  const char* names[] = {"q_type", "kv_type", "out_type", "mask_type"};
  for (size_t f = 0; f < 4; ++f) {
    for (int value : {3, -1, 7, 1 << 20}) {
      const std::string what = std::string(names[f]) + " = " + std::to_string(value);
      auto field = fields[f];
      Expect(SIMDMAX_ERROR_INVALID_ARGUMENT, what, [&](simdmax_attention_args& a) { SetRawType(&(a.*field), value); });
      Expect(SIMDMAX_ERROR_INVALID_ARGUMENT, what + ", q NULL", [&](simdmax_attention_args& a) {
        SetRawType(&(a.*field), value);
        a.q = nullptr;
      });
      Expect(SIMDMAX_ERROR_INVALID_ARGUMENT, what + ", n_heads 0", [&](simdmax_attention_args& a) {
        SetRawType(&(a.*field), value);
        a.n_heads = 0;
      });
    }
  }
  // "Any of the four": the mask's type also without a mask.
  Expect(SIMDMAX_ERROR_INVALID_ARGUMENT, "mask_type 5 without a mask", [](simdmax_attention_args& a) {
    a.mask = nullptr;
    SetRawType(&a.mask_type, 5);
  });
}

TEST_P(AttentionArgumentErrors, InvalidStride) {
  const simdmax_status bad = SIMDMAX_ERROR_INVALID_STRIDE;
  // head_dim is 8: 7 is one short. Every one of these steps more than once (3 queries, 4 heads, 2 kv heads, 10
  // keys or blocks of 4 rows, 6 pool blocks).
  for (size_t simdmax_attention_args::*stride :
       {&simdmax_attention_args::q_row_stride, &simdmax_attention_args::q_head_stride,
        &simdmax_attention_args::k_row_stride, &simdmax_attention_args::k_head_stride,
        &simdmax_attention_args::v_row_stride, &simdmax_attention_args::v_head_stride,
        &simdmax_attention_args::out_row_stride, &simdmax_attention_args::out_head_stride}) {
    Expect(bad, "a q/k/v/out stride of 7", [stride](simdmax_attention_args& a) { a.*stride = 7; });
    Expect(bad, "a q/k/v/out stride of 0", [stride](simdmax_attention_args& a) { a.*stride = 0; });
  }
  if (GetParam()) {
    Expect(bad, "k_block_stride 7", [](simdmax_attention_args& a) { a.k_block_stride = 7; });
    Expect(bad, "v_block_stride 0", [](simdmax_attention_args& a) { a.v_block_stride = 0; });
  }
  Expect(bad, "mask_row_stride 9 < n_keys", [](simdmax_attention_args& a) { a.mask_row_stride = 9; });
  Expect(bad, "mask_head_stride 9 < n_keys", [](simdmax_attention_args& a) { a.mask_head_stride = 9; });
  // Order: after NULL tensors and the table entries (4, 5), before INVALID_SHAPE (7).
  Expect(SIMDMAX_ERROR_NULL_POINTER, "k NULL and a bad stride", [](simdmax_attention_args& a) {
    a.k = nullptr;
    a.q_row_stride = 1;
  });
  Expect(bad, "a bad stride and a span that overflows", [](simdmax_attention_args& a) {
    a.q_row_stride = 1;
    a.k_row_stride = SIZE_MAX / 2;
  });
}

TEST_P(AttentionArgumentErrors, InvalidShape) {
  const simdmax_status bad = SIMDMAX_ERROR_INVALID_SHAPE;
  const bool paged = GetParam();
  Expect(bad, "k_row_stride SIZE_MAX / 2", [](simdmax_attention_args& a) { a.k_row_stride = SIZE_MAX / 2; });
  Expect(bad, "v_head_stride SIZE_MAX / 4", [](simdmax_attention_args& a) { a.v_head_stride = SIZE_MAX / 4; });
  Expect(bad, "q_head_stride SIZE_MAX / 8", [](simdmax_attention_args& a) { a.q_head_stride = SIZE_MAX / 8; });
  Expect(bad, "out_row_stride SIZE_MAX / 8", [](simdmax_attention_args& a) { a.out_row_stride = SIZE_MAX / 8; });
  // Elements fit in size_t, bytes do not.
  Expect(bad, "q span * 4 bytes overflows", [](simdmax_attention_args& a) { a.q_head_stride = SIZE_MAX / 6; });
  Expect(bad, "mask_row_stride SIZE_MAX / 4", [](simdmax_attention_args& a) { a.mask_row_stride = SIZE_MAX / 4; });
  Expect(bad, "n_queries 2^62 + 1", [](simdmax_attention_args& a) { a.n_queries = (size_t{1} << 62) + 1; });
  if (!paged) {
    // The table's own span comes first when paged; n_keys past 2^62 overflows k's span here.
    Expect(bad, "n_keys 2^62 + 1", [](simdmax_attention_args& a) {
      a.n_keys = (size_t{1} << 62) + 1;
      a.mask = nullptr;  // no mask, so no mask stride to step over the keys
      a.mask_row_stride = a.mask_head_stride = 0;
    });
  }
  // Spans that fit in size_t but wrap the address space from where the tensor starts (never dereferenced).
  Expect(bad, "q wraps the address space", [](simdmax_attention_args& a) { a.q = FarPointer(UINTPTR_MAX - 63); });
  Expect(bad, "mask wraps the address space", [](simdmax_attention_args& a) { a.mask = FarPointer(UINTPTR_MAX - 63); });
  if (paged) {
    // The pool of n_blocks blocks, not only the blocks the table uses: a huge pool, a huge block stride.
    Expect(bad, "pool of SIZE_MAX / 64 blocks", [](simdmax_attention_args& a) { a.n_blocks = SIZE_MAX / 64; });
    Expect(bad, "k_block_stride SIZE_MAX / 4", [](simdmax_attention_args& a) { a.k_block_stride = SIZE_MAX / 4; });
    Expect(bad, "v_block_stride SIZE_MAX / 8", [](simdmax_attention_args& a) { a.v_block_stride = SIZE_MAX / 8; });
    Expect(bad, "the k pool wraps the address space",
           [](simdmax_attention_args& a) { a.k = FarPointer(UINTPTR_MAX - 255); });
    // The table's own span is checked before its entries are read (it would be read past the address space).
    Expect(bad, "the block table wraps the address space", [](simdmax_attention_args& a) {
      a.block_table = reinterpret_cast<const int32_t*>(FarPointer(UINTPTR_MAX - 7));
    });
  }
  // Order: after INVALID_STRIDE (6), before OVERLAP (8).
  Expect(bad, "a span that overflows and out over q", [](simdmax_attention_args& a) {
    a.k_row_stride = SIZE_MAX / 2;
    a.out = const_cast<void*>(a.q);
  });
}

INSTANTIATE_TEST_SUITE_P(Layouts, AttentionArgumentErrors, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Paged" : "Contiguous");
                         });

// OVERLAP: every tensor of one or two calls copied into one byte arena, so that out and lse can be placed over
// each of them and the whole arena checked unchanged afterwards (the inputs included).
class AttentionArena {
 public:
  // Tensors of the given problems' args, copied into the arena with gaps between them; Args(s) points there.
  // Gaps before, between and after the tensors: wider than any out or lse here, so that an output placed over the
  // start or end of a tensor stays inside the arena, and one placed in a gap touches nothing.
  static constexpr size_t kGap = 1024;
  explicit AttentionArena(std::vector<AttentionProblem*> problems) : size_(kGap) {
    for (AttentionProblem* p : problems) {
      simdmax_attention_args a = p->Args();
      const size_t q_size = simdmax_dtype_size(a.q_type), kv_size = simdmax_dtype_size(a.kv_type);
      Sequence s;
      s.args = a;
      const size_t mask_heads = a.mask_head_stride == 0 ? 1 : a.n_heads;
      const size_t kv_span_k =
          a.block_table
              ? TensorSpan(
                    {{a.n_blocks, a.k_block_stride}, {a.block_size, a.k_row_stride}, {a.n_kv_heads, a.k_head_stride}},
                    a.head_dim)
              : TensorSpan({{a.n_kv_heads, a.k_head_stride}, {a.n_keys, a.k_row_stride}}, a.head_dim);
      const size_t kv_span_v =
          a.block_table
              ? TensorSpan(
                    {{a.n_blocks, a.v_block_stride}, {a.block_size, a.v_row_stride}, {a.n_kv_heads, a.v_head_stride}},
                    a.head_dim)
              : TensorSpan({{a.n_kv_heads, a.v_head_stride}, {a.n_keys, a.v_row_stride}}, a.head_dim);
      s.tensors = {
          {"q", a.q, TensorSpan({{a.n_heads, a.q_head_stride}, {a.n_queries, a.q_row_stride}}, a.head_dim) * q_size},
          {"k", a.k, kv_span_k * kv_size},
          {"v", a.v, kv_span_v * kv_size},
          {"mask", a.mask,
           a.mask ? TensorSpan({{mask_heads, a.mask_head_stride}, {a.n_queries, a.mask_row_stride}}, a.n_keys) *
                        simdmax_dtype_size(a.mask_type)
                  : 0},
          {"alibi_slopes", a.alibi_slopes, a.alibi_slopes ? a.n_heads * sizeof(float) : 0},
          {"sinks", a.sinks, a.sinks ? a.n_heads * sizeof(float) : 0},
          {"block_table", a.block_table,
           a.block_table ? (a.n_keys + a.block_size - 1) / a.block_size * sizeof(int32_t) : 0},
          {"out", a.out,
           TensorSpan({{a.n_heads, a.out_head_stride}, {a.n_queries, a.out_row_stride}}, a.head_dim) *
               simdmax_dtype_size(a.out_type)},
          {"lse", a.lse, a.lse ? a.n_heads * a.n_queries * sizeof(float) : 0},
      };
      for (Tensor& t : s.tensors) {
        t.offset = size_;
        size_ += (t.bytes + kGap + 63) / 64 * 64;  // 64-byte aligned, with a gap
      }
      sequences_.push_back(s);
    }
    bytes_.assign(size_, 0);
    for (Sequence& s : sequences_) {
      for (Tensor& t : s.tensors) {
        if (t.bytes != 0) std::memcpy(&bytes_[t.offset], t.source, t.bytes);
      }
      SetPointers(s.args, s);
    }
    // Outputs start as the sentinel.
    for (Sequence& s : sequences_) {
      for (const char* name : {"out", "lse"})
        std::memset(&bytes_[Find(s, name).offset], kOutSentinelByte, Find(s, name).bytes);
    }
    before_ = bytes_;
  }
  simdmax_attention_args& Args(size_t s) { return sequences_[s].args; }
  // The address `delta` bytes past the start of tensor `name` of sequence s (negative: before it); `end`: past its
  // last byte instead.
  unsigned char* At(size_t s, const char* name, ptrdiff_t delta, bool from_end = false) {
    const Tensor& t = Find(sequences_[s], name);
    return &bytes_[t.offset + (from_end ? t.bytes : 0)] + delta;
  }
  size_t Bytes(size_t s, const char* name) { return Find(sequences_[s], name).bytes; }
  bool Unchanged() const { return bytes_ == before_; }
  size_t Offset(size_t s, const char* name) { return Find(sequences_[s], name).offset; }
  std::vector<std::string> InputNames() const {
    return {"q", "k", "v", "mask", "alibi_slopes", "sinks", "block_table"};
  }

 private:
  struct Tensor {
    const char* name;
    const void* source;
    size_t bytes;
    size_t offset = 0;
  };
  struct Sequence {
    simdmax_attention_args args;
    std::vector<Tensor> tensors;
  };
  static const Tensor& Find(const Sequence& s, const std::string& name) {
    for (const Tensor& t : s.tensors) {
      if (name == t.name) return t;
    }
    std::abort();
  }
  void SetPointers(simdmax_attention_args& a, const Sequence& s) {
    const auto at = [&](const char* name) -> unsigned char* {
      const Tensor& t = Find(s, name);
      return t.source == nullptr ? nullptr : &bytes_[t.offset];
    };
    a.q = at("q");
    a.k = at("k");
    a.v = at("v");
    a.mask = at("mask");
    a.alibi_slopes = reinterpret_cast<const float*>(at("alibi_slopes"));
    a.sinks = reinterpret_cast<const float*>(at("sinks"));
    a.block_table = reinterpret_cast<const int32_t*>(at("block_table"));
    a.out = at("out");
    a.lse = reinterpret_cast<float*>(at("lse"));
  }
  std::vector<Sequence> sequences_;
  size_t size_;
  std::vector<unsigned char> bytes_, before_;
};

TEST(AttentionArgumentErrorsOverlap, OutAndLseOverEveryTensor) {
  for (bool paged : {false, true}) {
    for (simdmax_dtype out_type : kAllDtypes) {
      AttentionCase c = AttentionErrorCase(paged);
      c.out_type = out_type;
      c.mask_type = SIMDMAX_F16;
      AttentionProblem problem(c);
      const std::string what = std::string(paged ? "paged" : "contiguous") + " out " + DtypeName(out_type) + ": ";
      {  // the arena's own layout is valid
        AttentionArena arena({&problem});
        ASSERT_EQ(simdmax_attention(&arena.Args(0)), SIMDMAX_OK) << what;
      }
      const ptrdiff_t out_bytes = static_cast<ptrdiff_t>(simdmax_dtype_size(out_type));
      for (const std::string& input : AttentionArena({&problem}).InputNames()) {
        if (AttentionArena({&problem}).Bytes(0, input.c_str()) == 0) continue;  // absent (no block table)
        for (bool lse : {false, true}) {
          const ptrdiff_t element = lse ? 4 : out_bytes;
          const ptrdiff_t span = lse ? 4 * 12 : static_cast<ptrdiff_t>(AttentionArena({&problem}).Bytes(0, "out"));
          // Over the input's last element; over its first element from before it; exactly on it.
          const ptrdiff_t deltas[] = {-element, element - span, 0};
          for (size_t d = 0; d < 3; ++d) {
            AttentionArena arena({&problem});
            unsigned char* place = arena.At(0, input.c_str(), deltas[d], /*from_end=*/d == 0);
            if (lse) {
              arena.Args(0).lse = reinterpret_cast<float*>(place);
            } else {
              arena.Args(0).out = place;
            }
            const std::string name = what + (lse ? "lse" : "out") + " over " + input + " #" + std::to_string(d);
            EXPECT_EQ(simdmax_attention(&arena.Args(0)), SIMDMAX_ERROR_OVERLAP) << name;
            EXPECT_EQ(simdmax_attention_batch(&arena.Args(0), 1), SIMDMAX_ERROR_OVERLAP) << name << " (batch)";
            EXPECT_TRUE(arena.Unchanged()) << name << ": bytes changed";
          }
        }
      }
      // The whole pool counts when paged: out and lse over a pool block the table does not use.
      if (paged) {
        std::vector<bool> used(problem.Args().n_blocks, false);
        for (int32_t b : problem.BlockTable()) used[static_cast<size_t>(b)] = true;
        const size_t spare = static_cast<size_t>(std::find(used.begin(), used.end(), false) - used.begin());
        ASSERT_LT(spare, used.size());
        for (const char* tensor : {"k", "v"}) {
          for (bool lse : {false, true}) {
            AttentionArena arena({&problem});
            const size_t block_stride = tensor[0] == 'k' ? arena.Args(0).k_block_stride : arena.Args(0).v_block_stride;
            unsigned char* place = arena.At(0, tensor, static_cast<ptrdiff_t>(spare * block_stride * sizeof(float)));
            if (lse) {
              arena.Args(0).lse = reinterpret_cast<float*>(place);
            } else {
              arena.Args(0).out = place;
            }
            EXPECT_EQ(simdmax_attention(&arena.Args(0)), SIMDMAX_ERROR_OVERLAP)
                << what << (lse ? "lse" : "out") << " over an unused block of the " << tensor << " pool";
            EXPECT_TRUE(arena.Unchanged()) << what << "unused pool block";
          }
        }
      }
      // out and lse over each other:
      for (ptrdiff_t delta : {ptrdiff_t{0}, ptrdiff_t{-4}}) {
        AttentionArena arena({&problem});
        arena.Args(0).lse = reinterpret_cast<float*>(arena.At(0, "out", delta, /*from_end=*/true));
        EXPECT_EQ(simdmax_attention(&arena.Args(0)), delta == 0 ? SIMDMAX_OK : SIMDMAX_ERROR_OVERLAP)
            << what << "lse " << (delta == 0 ? "right after" : "over the end of") << " out";
        if (delta != 0) {
          EXPECT_TRUE(arena.Unchanged()) << what << "lse over out";
        }
      }
      // Adjacent is not overlapping: out right after q ends.
      AttentionArena arena({&problem});
      arena.Args(0).out = arena.At(0, "q", 0, /*from_end=*/true);
      EXPECT_EQ(simdmax_attention(&arena.Args(0)), SIMDMAX_OK) << what << "out right after q";
    }
  }
}

// Across the sequences of a batch: a call's out or lse against another call's tensors and outputs; found after
// every call passed its own checks.
TEST(AttentionArgumentErrorsOverlap, AcrossBatchSequences) {
  AttentionProblem first(AttentionErrorCase(false)), second(AttentionErrorCase(true));
  const std::vector<AttentionProblem*> both = {&first, &second};
  for (size_t writer : {0, 1}) {
    const size_t other = 1 - writer;
    for (const std::string target : {"q", "k", "v", "mask", "alibi_slopes", "sinks", "block_table", "out", "lse"}) {
      if (target == "block_table" && other == 0) continue;  // the first sequence is not paged
      for (bool lse : {false, true}) {
        AttentionArena arena(both);
        unsigned char* place = arena.At(other, target.c_str(), 0);
        if (lse) {
          arena.Args(writer).lse = reinterpret_cast<float*>(place);
        } else {
          arena.Args(writer).out = place;
        }
        const std::string what = "sequence " + std::to_string(writer) + (lse ? " lse" : " out") + " over sequence " +
                                 std::to_string(other) + "'s " + target;
        simdmax_attention_args batch[2] = {arena.Args(0), arena.Args(1)};
        EXPECT_EQ(simdmax_attention_batch(batch, 2), SIMDMAX_ERROR_OVERLAP) << what;
        EXPECT_TRUE(arena.Unchanged()) << what << ": bytes changed";
        // Each call alone is valid (the other sequence's memory is none of its own tensors): only the batch sees
        // the overlap.
        EXPECT_EQ(simdmax_attention(&arena.Args(writer)), SIMDMAX_OK) << what << ", alone";
      }
    }
  }
  // The same out for two sequences.
  {
    AttentionArena arena(both);
    arena.Args(1).out = arena.At(0, "out", 0);
    simdmax_attention_args batch[2] = {arena.Args(0), arena.Args(1)};
    EXPECT_EQ(simdmax_attention_batch(batch, 2), SIMDMAX_ERROR_OVERLAP) << "one out for two sequences";
    EXPECT_TRUE(arena.Unchanged());
  }
  // Cross-call overlap is found after each call's own checks: sequence 0's out over sequence 1's q, and sequence
  // 1 invalid on its own (INVALID_ARGUMENT wins, although sequence 1 comes later).
  {
    AttentionArena arena(both);
    arena.Args(0).out = arena.At(1, "q", 0);
    arena.Args(1).head_dim = 0;
    simdmax_attention_args batch[2] = {arena.Args(0), arena.Args(1)};
    EXPECT_EQ(simdmax_attention_batch(batch, 2), SIMDMAX_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(arena.Unchanged());
  }
  // Sequences whose outputs are disjoint and whose inputs are shared are fine: both read sequence 0's q.
  {
    AttentionArena arena({&first, &first});
    arena.Args(1).q = arena.Args(0).q;
    simdmax_attention_args batch[2] = {arena.Args(0), arena.Args(1)};
    EXPECT_EQ(simdmax_attention_batch(batch, 2), SIMDMAX_OK);
  }
}

// The batch's own errors: the first failing call's status in index order; nothing written for any sequence, the
// valid ones before it included.
TEST(AttentionArgumentErrorsBatch, FirstFailingCallAndNothingWritten) {
  std::vector<AttentionProblem> problems;
  for (size_t s = 0; s < 3; ++s) problems.emplace_back(AttentionErrorCase(s == 1));
  const auto run = [&](const std::function<void(std::vector<simdmax_attention_args>&)>& edit) {
    std::vector<simdmax_attention_args> args;
    for (AttentionProblem& p : problems) {
      p.ResetOutputs();
      args.push_back(p.Args());
    }
    edit(args);
    const simdmax_status status = simdmax_attention_batch(args.data(), args.size());
    for (size_t s = 0; s < problems.size(); ++s) {
      EXPECT_TRUE(OutputsUntouched(problems[s])) << "sequence " << s << " written";
    }
    return status;
  };
  EXPECT_EQ(run([](auto& a) { a[1].head_dim = 0; }), SIMDMAX_ERROR_INVALID_ARGUMENT) << "sequence 1 invalid";
  EXPECT_EQ(run([](auto& a) { a[1].q = nullptr; }), SIMDMAX_ERROR_NULL_POINTER) << "sequence 1 q NULL";
  EXPECT_EQ(run([](auto& a) { a[2].k_row_stride = 1; }), SIMDMAX_ERROR_INVALID_STRIDE) << "sequence 2 stride";
  // Index order, not check order: sequence 1's INVALID_STRIDE before sequence 2's NULL_POINTER.
  EXPECT_EQ(run([](auto& a) {
              a[1].q_row_stride = 1;
              a[2].q = nullptr;
            }),
            SIMDMAX_ERROR_INVALID_STRIDE);
}

TEST(AttentionArgumentErrorsInit, DefaultsAndNull) {
  simdmax_attention_args args;
  std::memset(&args, 0xAB, sizeof(args));  // whatever was there before
  simdmax_attention_args_init(&args);
  EXPECT_EQ(args.q, nullptr);
  EXPECT_EQ(args.k, nullptr);
  EXPECT_EQ(args.v, nullptr);
  EXPECT_EQ(args.out, nullptr);
  EXPECT_EQ(args.lse, nullptr);
  EXPECT_EQ(args.q_type, SIMDMAX_F32);
  EXPECT_EQ(args.kv_type, SIMDMAX_F32);
  EXPECT_EQ(args.out_type, SIMDMAX_F32);
  EXPECT_EQ(args.mask_type, SIMDMAX_F32);
  for (size_t value :
       {args.n_heads,        args.n_kv_heads,      args.n_queries,        args.n_keys,          args.head_dim,
        args.q_head_stride,  args.q_row_stride,    args.k_head_stride,    args.k_row_stride,    args.v_head_stride,
        args.v_row_stride,   args.out_head_stride, args.out_row_stride,   args.block_size,      args.n_blocks,
        args.k_block_stride, args.v_block_stride,  args.mask_head_stride, args.mask_row_stride, args.window}) {
    EXPECT_EQ(value, 0u);
  }
  EXPECT_EQ(args.block_table, nullptr);
  EXPECT_EQ(args.scale, 0.0f);
  EXPECT_FALSE(std::signbit(args.scale));
  EXPECT_EQ(args.softcap, 0.0f);
  EXPECT_EQ(args.alibi_slopes, nullptr);
  EXPECT_EQ(args.mask, nullptr);
  EXPECT_EQ(args.causal, 0);
  EXPECT_EQ(args.sinks, nullptr);
  simdmax_attention_args_init(nullptr);  // does nothing, no crash
}

}  // namespace
}  // namespace simdmax_test
