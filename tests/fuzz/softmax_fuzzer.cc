// libFuzzer harness over the C API's row entry points (tests/entry_points.h): random shapes, strides, layouts (separate
// buffers, exactly in place, x and y in one buffer at any offset, NULL pointers, strides below the row, shapes
// that overflow), target (by index, or a bad name), thread limit and values (special ones included).
//
// Checked on every input, with __builtin_trap() on a violation (libFuzzer then saves the input):
// - no crash, no out-of-bounds access (ASan; the buffers are allocated to their exact spans);
// - the status equals the one computed here from the arguments alone, and an overlap that would let the kernel
//   write into an input row is always rejected (the library's equal-stride check is exact, the unequal-stride one
//   conservative, and both are modelled);
// - on error, nothing written at all; on success, nothing written outside the output rows (guard zones before and
//   after the output, padding between rows) and the input rows unchanged (unless in place);
// - every output row within the op's ULP bound of tests/reference.h (which implements the special-value table).
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz; run: scripts/fuzz.sh [seconds].
#include <fuzzer/FuzzedDataProvider.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <cfloat>
#include <limits>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/entry_points.h"
#include "tests/reference.h"
#include "tests/ulp.h"

namespace {

using simdmax_test::RowEntryPoint;

constexpr size_t kGuardFloats = 16;
constexpr unsigned char kGuardByte = 0xA5;  // 0xA5A5A5A5 as a float: -2.9e-16, never a softmax output pattern

#define FUZZ_CHECK(cond, ...)                                       \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "softmax_fuzzer: check failed: %s: ", #cond); \
      fprintf(stderr, __VA_ARGS__);                                 \
      fprintf(stderr, "\n");                                        \
      __builtin_trap();                                             \
    }                                                               \
  } while (0)

float FuzzValue(FuzzedDataProvider& fdp) {
  static const float kSpecials[] = {std::numeric_limits<float>::quiet_NaN(),
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(),
                                    FLT_MAX,
                                    -FLT_MAX,
                                    1.0e-40f,
                                    -1.0e-40f,
                                    FLT_MIN,
                                    88.7f,
                                    -88.7f,
                                    -87.3f,
                                    0.0f,
                                    -0.0f,
                                    1.0e4f};
  const uint8_t kind = fdp.ConsumeIntegral<uint8_t>();
  if (kind < 40) return kSpecials[kind % (sizeof(kSpecials) / sizeof(kSpecials[0]))];
  if (kind < 80) {  // any bit pattern
    const uint32_t bits = fdp.ConsumeIntegral<uint32_t>();
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
  }
  // Moderate values: what real rows look like.
  return static_cast<float>(fdp.ConsumeIntegralInRange<int32_t>(-20000, 20000)) * 0.01f;
}

// Byte ranges [begin, end) of the rows of a matrix inside one buffer.
bool RowsIntersect(uintptr_t x, size_t xs, uintptr_t y, size_t ys, size_t rows, size_t cols) {
  for (size_t i = 0; i < rows; ++i) {
    const uintptr_t xb = x + i * xs * 4, xe = xb + cols * 4;
    for (size_t j = 0; j < rows; ++j) {
      const uintptr_t yb = y + j * ys * 4, ye = yb + cols * 4;
      if (xb < ye && yb < xe) return true;
    }
  }
  return false;
}

size_t Span(size_t rows, size_t cols, size_t stride) { return rows == 0 ? 0 : (rows - 1) * stride + cols; }

enum class Layout : uint8_t { kSeparate, kInPlace, kSharedBuffer, kNullX, kNullY, kBadStride, kOverflow, kCount };

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  // The f32 -> f32 entry points (the _f32 functions and the typed ones with f32 types): this harness models
  // layouts in floats. TODO: typed layouts (element sizes 2 and 4 mixed in one buffer).
  static const std::vector<RowEntryPoint> entry_points = [] {
    std::vector<RowEntryPoint> f32_only;
    for (const RowEntryPoint& e : simdmax_test::RowEntryPoints()) {
      if (e.x_type == SIMDMAX_F32 && e.y_type == SIMDMAX_F32) f32_only.push_back(e);
    }
    return f32_only;
  }();
  const RowEntryPoint& ep = entry_points[fdp.ConsumeIntegralInRange<size_t>(0, entry_points.size() - 1)];

  // Target: an index into the list, or (rarely) a name that must be rejected without changing the selection.
  const uint8_t target_byte = fdp.ConsumeIntegral<uint8_t>();
  if (target_byte >= 250) {
    const char* before = simdmax_selected_target();
    FUZZ_CHECK(simdmax_select_target(target_byte == 255 ? "NOT_A_TARGET" : "AVX9") == SIMDMAX_ERROR_UNKNOWN_TARGET,
               "bad name accepted");
    FUZZ_CHECK(strcmp(before, simdmax_selected_target()) == 0, "selection changed by a failed select");
  } else {
    const char* name = simdmax_target_name(target_byte % simdmax_target_count());
    FUZZ_CHECK(simdmax_select_target(name) == SIMDMAX_OK, "select %s", name);
  }
  FUZZ_CHECK(simdmax_set_max_threads(fdp.ConsumeIntegralInRange<size_t>(0, 4)) == SIMDMAX_OK, "threads");

  // Shape: mostly small; sometimes large enough for the parallel path (rows * cols >= 128K).
  const bool big = fdp.ConsumeIntegral<uint8_t>() == 0;
  const size_t rows = fdp.ConsumeIntegralInRange<size_t>(0, big ? 48 : 9);
  const size_t cols = fdp.ConsumeIntegralInRange<size_t>(0, big ? 6000 : 150);
  const Layout layout =
      static_cast<Layout>(fdp.ConsumeIntegralInRange<uint8_t>(0, static_cast<uint8_t>(Layout::kCount) - 1));
  size_t xs = cols + fdp.ConsumeIntegralInRange<size_t>(0, 6);
  size_t ys = (layout == Layout::kInPlace) ? xs : cols + fdp.ConsumeIntegralInRange<size_t>(0, 6);
  if (fdp.ConsumeBool() && layout == Layout::kSharedBuffer) ys = xs;  // equal strides: the exact check
  if (layout == Layout::kBadStride && cols > 0) {
    if (fdp.ConsumeBool())
      xs = fdp.ConsumeIntegralInRange<size_t>(0, cols - 1);
    else
      ys = fdp.ConsumeIntegralInRange<size_t>(0, cols - 1);
  }
  const size_t y_offset = fdp.ConsumeIntegralInRange<size_t>(0, Span(rows, cols, xs) + 8);  // shared buffer

  // Buffers: x exactly its span (ASan catches any over-read); y with guard zones.
  const size_t x_span = Span(rows, cols, xs);
  const size_t y_span = (layout == Layout::kBadStride) ? Span(rows, cols, ys > cols ? ys : cols) : Span(rows, cols, ys);
  std::vector<float> x_values(x_span);
  for (auto& v : x_values)
    v = fdp.remaining_bytes() > 0 ? FuzzValue(fdp) : static_cast<float>(&v - x_values.data()) * 0.37f;

  std::vector<float> buffer;  // guards + (x and y for the shared layouts, y otherwise) + guards
  float* x = nullptr;
  float* y = nullptr;
  size_t region = 0;
  if (layout == Layout::kInPlace || layout == Layout::kSharedBuffer) {
    region = (layout == Layout::kInPlace) ? x_span : std::max(x_span, y_offset + y_span);
  } else {
    region = y_span;
  }
  buffer.resize(region + 2 * kGuardFloats);
  memset(buffer.data(), kGuardByte, buffer.size() * sizeof(float));
  std::vector<float> x_separate;
  if (layout == Layout::kInPlace || layout == Layout::kSharedBuffer) {
    x = buffer.data() + kGuardFloats;
    y = (layout == Layout::kInPlace) ? x : x + y_offset;
  } else {
    x_separate = x_values;
    x = x_separate.data();
    y = buffer.data() + kGuardFloats;
  }
  // x's rows hold the values (in a shared buffer, the padding between them keeps the guard pattern).
  if (cols > 0) {
    for (size_t r = 0; r < rows; ++r) memcpy(x + r * xs, x_values.data() + r * xs, cols * sizeof(float));
  }
  const std::vector<float> before = buffer;

  size_t call_rows = rows;
  const float* call_x = x;
  float* call_y = y;
  if (layout == Layout::kNullX) call_x = nullptr;
  if (layout == Layout::kNullY) call_y = nullptr;
  if (layout == Layout::kOverflow) call_rows = SIZE_MAX / (xs > 0 ? xs : 1) + 2;  // never dereferenced

  // The expected status, from the arguments alone.
  simdmax_status want = SIMDMAX_OK;
  if (call_rows == 0 || cols == 0) {
    want = SIMDMAX_OK;
  } else if (call_x == nullptr || call_y == nullptr) {
    want = SIMDMAX_ERROR_NULL_POINTER;
  } else if (xs < cols || ys < cols) {
    want = SIMDMAX_ERROR_INVALID_STRIDE;
  } else if (layout == Layout::kOverflow) {
    want = SIMDMAX_ERROR_INVALID_SHAPE;  // cols > 0 here, so xs > 0 and (rows - 1) * xs overflows
  } else if (layout == Layout::kSharedBuffer && !(y == x && xs == ys)) {
    const uintptr_t xb = reinterpret_cast<uintptr_t>(x), yb = reinterpret_cast<uintptr_t>(y);
    const bool rows_intersect = RowsIntersect(xb, xs, yb, ys, rows, cols);
    const bool spans_intersect = xb < yb + y_span * 4 && yb < xb + x_span * 4;
    want = (xs == ys ? rows_intersect : spans_intersect) ? SIMDMAX_ERROR_OVERLAP : SIMDMAX_OK;
    // The safety property itself, independent of how exact the check is.
    FUZZ_CHECK(!rows_intersect || want == SIMDMAX_ERROR_OVERLAP, "model");
  }

  const simdmax_status got = ep.Call(call_rows, cols, call_x, xs, call_y, ys);
  FUZZ_CHECK(got == want, "%s rows=%zu cols=%zu xs=%zu ys=%zu layout=%d: status %d, want %d", ep.name.c_str(),
             call_rows, cols, xs, ys, static_cast<int>(layout), got, want);

  // Bytes: on error or a no-op, nothing changed; on success, only the output rows.
  const bool wrote = (got == SIMDMAX_OK && call_rows > 0 && cols > 0);
  std::vector<bool> is_output(buffer.size(), false);
  if (wrote) {
    const size_t y_index = static_cast<size_t>(y - buffer.data());
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols; ++c) is_output[y_index + r * ys + c] = true;
    }
  }
  for (size_t i = 0; i < buffer.size(); ++i) {
    if (is_output[i]) continue;
    FUZZ_CHECK(memcmp(&buffer[i], &before[i], sizeof(float)) == 0,
               "%s wrote outside the output rows at %zu "
               "(rows=%zu cols=%zu xs=%zu ys=%zu layout=%d)",
               ep.name.c_str(), i, rows, cols, xs, ys, static_cast<int>(layout));
  }
  if (!x_separate.empty()) {
    FUZZ_CHECK(memcmp(x_separate.data(), x_values.data(), x_span * sizeof(float)) == 0, "input modified");
  }
  if (!wrote) return 0;

  // Values: every row within the bound of the reference (special rows included: the reference implements the
  // documented table).
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<long double> ref = simdmax_test::ReferenceRow(ep.op, &x_values[r * xs], cols);
    for (size_t c = 0; c < cols; ++c) {
      const float out = y[r * ys + c];
      const uint64_t ulp = simdmax_test::UlpDistance(out, ref[c]);
      FUZZ_CHECK(ulp <= ep.max_ulp, "%s on %s: row %zu col %zu of %zu: got %.9g want %.9Lg (%llu ulp)", ep.name.c_str(),
                 simdmax_selected_target(), r, c, cols, out, ref[c], static_cast<unsigned long long>(ulp));
    }
  }
  return 0;
}
