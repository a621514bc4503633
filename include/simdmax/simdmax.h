/* simdmax: SIMD softmax kernels with run-time instruction-set dispatch.
 *
 * The C API is the library's single entry point; the C++ API (simdmax.hpp) is a thin inline layer over it.
 * No Highway or TBB type appears here: an engine in any language binds to these functions.
 *
 * Conventions shared by every function below
 * - Matrices are row-major; strides are in elements (floats), not bytes.
 * - Every function validates its arguments before touching memory. On any error it returns a status other than
 *   SIMDMAX_OK and leaves every output byte untouched.
 * - Accuracy is measured against a long-double reference rounded to float (see README.md, "Accuracy"):
 *   softmax and log-softmax are within 2 ULP on every target for rows of up to 4M elements; outputs whose exact
 *   value is below FLT_MIN may be flushed to zero.
 * - Results of a row never depend on the number of threads; they may differ between targets (within the bound).
 * - Thread safety: every function may be called concurrently. Target selection and the thread limit are
 *   process-wide; a call reads them once when it starts, so a change made by another thread takes effect for calls
 *   that start after it and never mixes targets within one call.
 */
#ifndef SIMDMAX_SIMDMAX_H_
#define SIMDMAX_SIMDMAX_H_

#include <stddef.h>

#include "simdmax/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum simdmax_status {
  SIMDMAX_OK = 0,
  SIMDMAX_ERROR_NULL_POINTER = 1,
  SIMDMAX_ERROR_INVALID_SHAPE = 2,      /* e.g. rows * stride overflows size_t */
  SIMDMAX_ERROR_INVALID_STRIDE = 3,     /* a stride smaller than cols */
  SIMDMAX_ERROR_OVERLAP = 4,            /* x and y overlap other than exactly in place */
  SIMDMAX_ERROR_UNKNOWN_TARGET = 5,     /* a target name this build does not know */
  SIMDMAX_ERROR_UNSUPPORTED_TARGET = 6, /* known, but not compiled in or not supported by this CPU */
  SIMDMAX_ERROR_INVALID_ARGUMENT = 7
} simdmax_status;

/* A static, human-readable message for a status; "unknown status" for values outside the enum. Never NULL. */
SIMDMAX_API const char* simdmax_status_string(simdmax_status status);

/* The library version, "MAJOR.MINOR.PATCH". */
SIMDMAX_API const char* simdmax_version(void);

/* Row-wise softmax: y[r][c] = exp(x[r][c] - max_r) / sum_c' exp(x[r][c'] - max_r).
 *
 * Shapes: x is rows x cols with row stride x_stride; y likewise with y_stride; both strides >= cols.
 * Aliasing: y == x with y_stride == x_stride is in place; any other overlap of the two row sets is an error.
 *   With equal strides the check is exact (x and y rows interleaved in one buffer without sharing a byte are
 *   accepted); with different strides it is conservative (the spans from the first to the last element of each
 *   matrix must not intersect).
 * rows == 0 or cols == 0: no-op, SIMDMAX_OK (pointers may then be NULL).
 * Errors: NULL_POINTER (x or y NULL with work to do), INVALID_STRIDE (a stride < cols), INVALID_SHAPE
 *   ((rows - 1) * stride + cols elements do not fit in size_t bytes or wrap the address space), OVERLAP.
 * Special values, per row: any NaN -> the whole row is NaN; -inf entries are masked positions and give exactly 0
 *   (a row of only -inf gives all zeros, never NaN); k > 0 entries equal to +inf share the mass: 1/k at each of them,
 *   0 elsewhere (the limit); finite rows never overflow, whatever their magnitude.
 * Accuracy: <= 2 ULP (README.md, "Accuracy"). Rows are processed in parallel for large batches. */
SIMDMAX_API simdmax_status simdmax_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                               size_t y_stride);

/* Row-wise log-softmax: y[r][c] = x[r][c] - max_r - log(sum_c' exp(x[r][c'] - max_r)).
 * Shapes, aliasing, errors and threading as simdmax_softmax_f32.
 * Special values, per row: any NaN -> the whole row is NaN; -inf entries give -inf (a row of only -inf gives all
 *   -inf); k > 0 entries equal to +inf give -log(k) there and -inf elsewhere (the limit).
 * Accuracy: <= 2 ULP against the rounded reference, +0 and -0 equal (README.md, "Accuracy"). */
SIMDMAX_API simdmax_status simdmax_log_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                                   size_t y_stride);

/* Targets: Highway's names ("AVX3_DL", "AVX3", "AVX2", "SSE4", "SSSE3", "SCALAR", "EMU128", "NEON", "SVE",
 * "SVE2", "SVE_256", "SVE2_128"), matched case-insensitively. The list holds the targets compiled into this
 * build AND supported by this CPU, best first. Selection is process-wide; NULL or "" restores the best.
 * The environment variable SIMDMAX_TARGET selects a target at start-up the same way (an unknown or unsupported
 * name there is reported once on stderr and ignored). */
SIMDMAX_API size_t simdmax_target_count(void);
/* NULL when index >= simdmax_target_count(). The string is static. */
SIMDMAX_API const char* simdmax_target_name(size_t index);
/* UNKNOWN_TARGET for a name no build of Highway knows on this architecture, UNSUPPORTED_TARGET for a known name
 * not in the list above. On error the selection is unchanged. */
SIMDMAX_API simdmax_status simdmax_select_target(const char* name);
/* The name of the target the next call will use. */
SIMDMAX_API const char* simdmax_selected_target(void);

/* Threads used for batches: 0 = TBB's default (all cores). Results are identical for every thread count.
 * Always SIMDMAX_OK today; the status is there so that a future limit can be reported. */
SIMDMAX_API simdmax_status simdmax_set_max_threads(size_t n);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIMDMAX_SIMDMAX_H_ */
