// libFuzzer harness over the C API's row entry points (tests/entry_points.h): random shapes (short rows 1..600 most
// often, batches of many short rows, wide rows, and rows of several chunks of the row engine), strides, layouts
// (separate buffers, exactly in place, x and y in one buffer at any offset, NULL pointers, strides below the row,
// shapes that overflow), target (by index, or a bad name), thread limit and values (tests/fuzz/fuzz_common.h
// FuzzRow: extreme values placed per chunk).
//
// Checked on every input, with __builtin_trap() on a violation (libFuzzer then saves the input):
// - no crash, no out-of-bounds access (ASan; the buffers are allocated to their exact spans);
// - the status equals the one computed here from the arguments alone, and an overlap that would let the kernel
//   write into an input row is always rejected (the library's equal-stride check is exact, the unequal-stride one
//   conservative, and both are modelled);
// - on error, nothing written at all; on success, nothing written outside the output rows (guard zones before and
//   after the output, padding between rows) and the input rows unchanged (unless in place);
// - every output row within the op's ULP bound of tests/reference.h (which implements the special-value table),
//   and the NaN rules stated on their own: no NaN output for a row without NaN; a row with a NaN is all NaN;
// - determinism: the same call with 1 thread and with another thread count (2 when the first run had 1), the second
//   time as two calls split at a row chosen by the input, writes bit-identical outputs.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz; run: scripts/fuzz.sh [seconds].
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <cfloat>
#include <limits>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/entry_points.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/reference.h"
#include "tests/ulp.h"

namespace {

using simdmax_test::RowEntryPoint;

using simdmax_fuzz::FuzzRow;
using simdmax_fuzz::kChunk;
using simdmax_fuzz::kGuardByte;
using simdmax_fuzz::kGuardFloats;
using simdmax_fuzz::Span;

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

enum class Layout : uint8_t { kSeparate, kInPlace, kSharedBuffer, kNullX, kNullY, kBadStride, kOverflow, kCount };

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  // Every row entry point, every type pair (tests/entry_points.h). The half-precision pairs run through their
  // float-data wrapper (RowEntryPoint::Run), which copies x and y into typed buffers of their own: the layouts that
  // depend on byte addresses (a shared buffer, the overflow) are f32 -> f32 only, and in place needs one type.
  const auto& entry_points = simdmax_test::RowEntryPoints();
  const RowEntryPoint& ep = entry_points[fdp.ConsumeIntegralInRange<size_t>(0, entry_points.size() - 1)];
  const bool typed = !(ep.x_type == SIMDMAX_F32 && ep.y_type == SIMDMAX_F32);

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
  // The status strings: never NULL. Only the enum's values: a value outside it (which a C caller may pass, and which
  // simdmax.h maps to "unknown status") is undefined behaviour in dispatch/c_api.cc's C++ switch, which clang's
  // -fsanitize=enum reports (found here with 12; reported; tests/api_test.cc checks 99 under GCC).
  FUZZ_CHECK(simdmax_status_string(static_cast<simdmax_status>(fdp.ConsumeIntegralInRange<int>(0, 7))) != nullptr,
             "status string");
  const size_t threads = fdp.ConsumeIntegralInRange<size_t>(0, 4);
  simdmax_fuzz::SetThreads(threads);

  // Shape: short rows most often; batches of many short rows; wide rows (the parallel path starts at 64K
  // elements); rows of 1 to 3 chunks of the row engine, +- a few elements (rare: each costs a long-double row).
  const uint8_t shape = fdp.ConsumeIntegral<uint8_t>();
  size_t rows = 0, cols = 0;
  if (shape < 150) {
    rows = fdp.ConsumeIntegralInRange<size_t>(0, 9);
    cols = fdp.ConsumeIntegralInRange<size_t>(0, 600);
  } else if (shape < 200) {
    rows = fdp.ConsumeIntegralInRange<size_t>(0, 1200);
    cols = fdp.ConsumeIntegralInRange<size_t>(1, 120);
  } else if (shape < 235) {
    rows = fdp.ConsumeIntegralInRange<size_t>(0, 48);
    cols = fdp.ConsumeIntegralInRange<size_t>(0, 6000);
  } else {
    rows = fdp.ConsumeIntegralInRange<size_t>(1, 2);
    // 1 to 3 chunks, from 8 elements short of the boundary to half a chunk past it.
    cols = kChunk * fdp.ConsumeIntegralInRange<size_t>(1, 3) + fdp.ConsumeIntegralInRange<size_t>(0, 8200) - 8;
  }
  Layout layout = static_cast<Layout>(fdp.ConsumeIntegralInRange<uint8_t>(0, static_cast<uint8_t>(Layout::kCount) - 1));
  if (typed && (layout == Layout::kSharedBuffer || layout == Layout::kOverflow ||
                (layout == Layout::kInPlace && !ep.InPlace()))) {
    layout = Layout::kSeparate;
  }
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
  for (size_t i = 0; i < x_span; ++i) x_values[i] = static_cast<float>(i) * 0.37f;  // padding between rows
  for (size_t r = 0; r < rows && cols > 0; ++r) FuzzRow(fdp, &x_values[r * xs], cols);

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
  // (rows - 1) * xs * 4 bytes overflow size_t (and the count itself cannot wrap: SIZE_MAX / xs + 2 does for xs = 1).
  if (layout == Layout::kOverflow) call_rows = SIZE_MAX / (4 * (xs > 0 ? xs : 1)) + 2;  // never dereferenced

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

  const simdmax_status got = ep.Run(call_rows, cols, call_x, xs, call_y, ys);
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
  // documented table), and the NaN rules on their own.
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<float> quantized = ep.Quantized(&x_values[r * xs], cols);  // what the library saw
    const float* xr = quantized.data();
    const float* yr = y + r * ys;
    bool has_nan = false;
    for (size_t c = 0; c < cols; ++c) has_nan |= isnan(xr[c]);
    for (size_t c = 0; c < cols; ++c) {
      FUZZ_CHECK(has_nan == static_cast<bool>(isnan(yr[c])), "%s on %s: NaN rule, row %zu col %zu of %zu: got %.9g",
                 ep.name.c_str(), simdmax_selected_target(), r, c, cols, yr[c]);
    }
    const std::vector<long double> ref = simdmax_test::ReferenceRow(ep.op, xr, cols);
    for (size_t c = 0; c < cols; ++c) {
      const uint64_t ulp = ep.Ulp(yr[c], ref[c]);
      if (ulp > ep.max_ulp) {  // the row as the library saw it, to reproduce the failure outside the harness
        fprintf(stderr, "simdmax fuzzer: row %zu (%zu of %zu rows) as hex floats:", r, cols, rows);
        for (size_t k = 0; k < cols; ++k) fprintf(stderr, " %a", static_cast<double>(xr[k]));
        fprintf(stderr, "\n");
      }
      FUZZ_CHECK(ulp <= ep.max_ulp, "%s on %s: row %zu col %zu of %zu: got %.9g want %.9Lg (%llu ulp)", ep.name.c_str(),
                 simdmax_selected_target(), r, c, cols, yr[c], ref[c], static_cast<unsigned long long>(ulp));
    }
  }

  // Determinism: the same call again, from the same bytes, with 1 thread (or 2 if the first run had 1), as two calls
  // split at row `split`: rows then start their groups of the short-row path (and their threads' ranges) at other
  // rows, which must not change any row's result. (The threads' ranges alone vary with timing only: TBB's
  // auto_partitioner.)
  const size_t split = fdp.ConsumeIntegralInRange<size_t>(0, rows);
  std::vector<float> again = before;
  std::vector<float> x_again = x_values;
  const float* again_x = x_separate.empty() ? again.data() + (x - buffer.data()) : x_again.data();
  float* again_y = again.data() + (y - buffer.data());
  simdmax_fuzz::SetThreads(threads == 1 ? 2 : 1);
  if (split > 0) FUZZ_CHECK(ep.Run(split, cols, again_x, xs, again_y, ys) == SIMDMAX_OK, "rerun");
  if (split < rows) {
    FUZZ_CHECK(ep.Run(rows - split, cols, again_x + split * xs, xs, again_y + split * ys, ys) == SIMDMAX_OK, "rerun");
  }
  for (size_t r = 0; r < rows; ++r) {
    FUZZ_CHECK(memcmp(y + r * ys, again_y + r * ys, cols * sizeof(float)) == 0,
               "%s on %s: row %zu of %zu (cols %zu) differs between %zu threads in one call and %zu threads in calls "
               "split at row %zu",
               ep.name.c_str(), simdmax_selected_target(), r, rows, cols, threads, threads == 1 ? size_t{2} : size_t{1},
               split);
  }
  return 0;
}
