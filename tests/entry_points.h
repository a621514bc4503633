// The public row-wise entry points, as one table that the robustness suites (special values, argument errors,
// concurrency, determinism, the fuzzer) iterate over. A new entry point with the row-wise contract
// (rows, cols, x, x_stride, y, y_stride; same special values, same errors) is covered by every one of those suites
// by adding one line to RowEntryPoints() (and, if its result differs from softmax/log-softmax, an Op in
// tests/reference.h). Entry points with other signatures (attention) get their own table next to this one.
//
// Element types: the table holds the _f32 functions and simdmax_softmax / simdmax_log_softmax for every (input,
// output) type pair; the suites do not list types themselves. They write float test data and call Run(), which
// stores x in the entry's input type (rounded to nearest even: suites compare with the reference of Quantized(x),
// the values the library really sees), calls the typed function, and widens what it wrote back into the float y;
// y elements it did not write keep their float value, so "untouched" checks (guards, padding) hold for every type.
// Call() passes typed pointers as they are (argument errors: byte layouts, overlap across element sizes).
#ifndef SIMDMAX_TESTS_ENTRY_POINTS_H_
#define SIMDMAX_TESTS_ENTRY_POINTS_H_

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/dtype.h"
#include "tests/reference.h"
#include "tests/tolerances.h"

namespace simdmax_test {

using RowFn = simdmax_status (*)(size_t rows, size_t cols, const float* x, size_t x_stride, float* y, size_t y_stride);
using TypedRowFn = simdmax_status (*)(size_t rows, size_t cols, simdmax_dtype x_type, const void* x, size_t x_stride,
                                      simdmax_dtype y_type, void* y, size_t y_stride);

struct RowEntryPoint {
  std::string name;  // the C function's name and, for the typed ones, the types: "simdmax_softmax_bf16_f16"
  Op op;             // which reference it must match
  simdmax_dtype x_type, y_type;
  RowFn f32_fn;         // the _f32 function, or null: typed_fn with x_type, y_type
  TypedRowFn typed_fn;  // simdmax_softmax / simdmax_log_softmax
  uint64_t max_ulp;     // its accuracy bound, in ULPs of y_type (tests/tolerances.h)

  // The call with typed pointers, as the C API takes them.
  simdmax_status Call(size_t rows, size_t cols, const void* x, size_t x_stride, void* y, size_t y_stride) const;
  // The call on float data (see the file comment). In place (x == y, same stride) with different types is passed
  // to the library as the same typed buffer, which must refuse it (OVERLAP).
  simdmax_status Run(size_t rows, size_t cols, const float* x, size_t x_stride, float* y, size_t y_stride) const;
  // Whether in-place calls are in this entry's contract (the same type in and out).
  bool InPlace() const { return x_type == y_type; }
  // x as the library sees it: each element rounded to x_type.
  std::vector<float> Quantized(const float* x, size_t n) const;
  // ULP distance in y_type (tests/dtype.h).
  uint64_t Ulp(float actual, long double reference) const { return UlpDistanceIn(y_type, actual, reference); }
};

// Whether the suites test the typed pair (x_type, y_type): every pair natively; under emulation (EmulatedRun, the
// AArch64 suites under qemu, once per emulated CPU) only f16 -> bf16 and bf16 -> f16, which between them convert
// each half type in and out on every target (f32 -> f32 is the _f32 functions' path), so that the emulated suites
// fit CI's time (all nine pairs made each emulated CPU's run ~4x longer).
bool TypedPairTested(simdmax_dtype x_type, simdmax_dtype y_type);

// The _f32 functions, then the typed functions for every tested type pair (TypedPairTested) and both ops.
const std::vector<RowEntryPoint>& RowEntryPoints();

// The bound of an op for an output type: f32 as before; f16/bf16 outputs 1 ULP of their type.
uint64_t MaxUlpFor(Op op, simdmax_dtype y_type);

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ENTRY_POINTS_H_
