// C on purpose: see raw_dtype_calls.h. The int -> enum conversions here are plain C conversions between an enum
// and its compatible integer type, defined for every int value.
#include "tests/raw_dtype_calls.h"

size_t SimdmaxTestRawDtypeSize(int type) { return simdmax_dtype_size((simdmax_dtype)type); }

simdmax_status SimdmaxTestRawRowOp(int log, size_t rows, size_t cols, int x_type, const void* x, size_t x_stride,
                                   int y_type, void* y, size_t y_stride) {
  return (log ? simdmax_log_softmax : simdmax_softmax)(rows, cols, (simdmax_dtype)x_type, x, x_stride,
                                                       (simdmax_dtype)y_type, y, y_stride);
}

simdmax_status SimdmaxTestRawOnlineUpdate(simdmax_online_state* state, int x_type, const void* x, size_t n) {
  return simdmax_online_update(state, (simdmax_dtype)x_type, x, n);
}

simdmax_status SimdmaxTestRawOnlineNormalize(int log, const simdmax_online_state* state, int x_type, const void* x,
                                             int y_type, void* y, size_t n) {
  return (log ? simdmax_online_log_normalize : simdmax_online_normalize)(state, (simdmax_dtype)x_type, x,
                                                                         (simdmax_dtype)y_type, y, n);
}
