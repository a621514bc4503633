// The typed C functions called with a raw int as the simdmax_dtype argument, the way a C (or FFI) caller can pass
// any value. C++ cannot: converting an int outside the enum's range of values to simdmax_dtype is undefined in
// C++ (UBSan's -fsanitize=enum reports the load), while in C an enum is just its compatible integer type. So the
// calls are made from C (raw_dtype_calls.c) and the suites that pass values outside the enum go through these.
#ifndef SIMDMAX_TESTS_RAW_DTYPE_CALLS_H_
#define SIMDMAX_TESTS_RAW_DTYPE_CALLS_H_

#include <stddef.h>

#include "simdmax/simdmax.h"

#ifdef __cplusplus
extern "C" {
#endif

size_t SimdmaxTestRawDtypeSize(int type);
// log != 0: simdmax_log_softmax, else simdmax_softmax.
simdmax_status SimdmaxTestRawRowOp(int log, size_t rows, size_t cols, int x_type, const void* x, size_t x_stride,
                                   int y_type, void* y, size_t y_stride);
simdmax_status SimdmaxTestRawOnlineUpdate(simdmax_online_state* state, int x_type, const void* x, size_t n);
// log != 0: simdmax_online_log_normalize, else simdmax_online_normalize.
simdmax_status SimdmaxTestRawOnlineNormalize(int log, const simdmax_online_state* state, int x_type, const void* x,
                                             int y_type, void* y, size_t n);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // SIMDMAX_TESTS_RAW_DTYPE_CALLS_H_
