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
 * Aliasing: y == x with y_stride == x_stride is in place; any other overlap of the two row sets is an error
 *   (the check is conservative: it compares the spans from the first to the last element of each matrix).
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

/* ---- Online (streaming) softmax ----------------------------------------------------------------------------
 * The normaliser of a softmax over data that arrives in blocks (or is split across threads or devices), carried as
 * a running state: max = the largest input seen, sum = sum over the inputs seen of exp(x - max), in double.
 *
 * Special states (the same limits as simdmax_softmax_f32):
 * - empty: max = -INFINITY, sum = 0. After init, and after updates that only saw -inf entries (masked positions):
 *   -inf never produces NaN (no -inf - (-inf)). The identity of simdmax_online_merge.
 * - max = +INFINITY: sum counts the +inf entries seen; finite entries add nothing (they get weight 0).
 * - max = NaN (sum NaN): a NaN was seen; the state stays NaN and so does everything derived from it.
 *
 * Accuracy (tests/tolerances.h, README.md "Online softmax and attention"): max is exact. Each term of sum is within
 * 1 float ulp of exp(x - max), summed in double, and re-based in double when the max grows, so the sum agrees with
 * a single-pass sum and with the exact sum to 2e-8 relative (measured 8.6e-9) whatever the block sizes and merge
 * order; the merge is commutative bit for bit. Thread safety: a state is a plain value; concurrent calls on distinct states are fine. */
typedef struct simdmax_online_state {
  float max;
  double sum;
} simdmax_online_state;

/* Sets *state to the empty state (max = -INFINITY, sum = 0). Does nothing for NULL. */
SIMDMAX_API void simdmax_online_init(simdmax_online_state* state);

/* Folds x[0, n) into *state. n == 0 is a no-op (x may then be NULL). Any block sizes give the same max and a sum
 * within the documented tolerance of one call on the whole data. A block of only -inf leaves the state unchanged;
 * a NaN makes it NaN; +inf entries make max = +inf (see above).
 * Errors: NULL_POINTER (state NULL, or x NULL with n > 0), INVALID_SHAPE (x + n wraps the address space); the
 * state is untouched on error. */
SIMDMAX_API simdmax_status simdmax_online_update_f32(simdmax_online_state* state, const float* x, size_t n);

/* *state = the state of the union of the inputs of *state and *other. state == other is allowed (the inputs then
 * count twice). Commutative bit for bit; associative within the sum tolerance; empty is the identity (exactly).
 * Errors: NULL_POINTER (either NULL), state untouched. */
SIMDMAX_API simdmax_status simdmax_online_merge(simdmax_online_state* state, const simdmax_online_state* other);

/* log(sum of exp(x)) over the inputs seen = max + log(sum), in double. -INFINITY for an empty state, +INFINITY when
 * max = +inf, NaN for a NaN state or a NULL pointer. */
SIMDMAX_API double simdmax_online_log_sum_exp(const simdmax_online_state* state);

/* y = exp(x - max) / sum (softmax), for a block x[0, n) of the inputs a finished state has seen (entries above the
 * state's max are outside the contract).  Special states: NaN -> NaN; empty -> 0 (every entry must then be -inf);
 * max = +inf -> 1/sum at +inf entries, 0 elsewhere. -inf entries give exactly 0.
 * Aliasing: y == x is in place; any other overlap is OVERLAP. n == 0 is a no-op (x and y may be NULL).
 * Errors: NULL_POINTER (state NULL; x or y NULL with n > 0), INVALID_ARGUMENT (a state no update can produce:
 * max = -inf with sum != 0, or a non-NaN max with sum <= 0 or sum = inf), INVALID_SHAPE, OVERLAP; y untouched.
 * Accuracy: within the softmax bound plus the sum's tolerance, measured (tests/tolerances.h): see README.md. */
SIMDMAX_API simdmax_status simdmax_online_normalize_f32(const simdmax_online_state* state, const float* x, float* y,
                                                        size_t n);

/* y = x - max - log(sum) (log-softmax) for a block under a finished state, the differences carried exactly and
 * rounded once. Special states: NaN -> NaN; empty -> -inf; max = +inf -> -log(sum) at +inf entries, -inf
 * elsewhere. -inf entries give -inf. Shapes, aliasing and errors as simdmax_online_normalize_f32.
 * Accuracy: as log-softmax, except that log(sum) is taken from the double sum, so outputs near 0 (the entries at
 * the max) have an absolute error of up to ~2e-14 rather than a relative one (log-softmax counts the entries at
 * the max exactly; a running double sum cannot). */
SIMDMAX_API simdmax_status simdmax_online_log_normalize_f32(const simdmax_online_state* state, const float* x,
                                                            float* y, size_t n);

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
