/* simdmax: SIMD softmax kernels with run-time instruction-set dispatch.
 *
 * The C API is the library's single entry point; the C++ API (simdmax.hpp) is a thin inline layer over it.
 * No Highway or TBB type appears here: an engine in any language binds to these functions.
 *
 * Conventions shared by every function below
 * - Matrices are row-major; strides are in elements (of the matrix's own element type), not bytes.
 * - Element types (simdmax_dtype): f32, f16 (IEEE binary16) and bf16 (bfloat16), in any combination of input and
 *   output. Inputs are widened exactly to f32, everything is computed in f32 as for the _f32 functions, and outputs
 *   are rounded to nearest even (overflow to +-inf, NaN stays NaN); log-softmax's half-precision outputs break ties
 *   away from zero instead (an f32 result exactly halfway between two half values: there the exact result lies
 *   beyond it, README.md "Accuracy"). Half-precision outputs are within 1 ULP of their type of the exact result
 *   rounded to that type (README.md, "Accuracy").
 * - Every function validates its arguments before touching memory. On any error it returns a status other than
 *   SIMDMAX_OK and leaves every output byte untouched.
 * - No C++ exception ever leaves a function of this header. An allocation failure gives SIMDMAX_ERROR_OUT_OF_MEMORY
 *   (the memory simdmax allocates itself, the attention scratch and the thread arena, is allocated before any
 *   output is written, so outputs are then untouched; should TBB fail to allocate in the middle of a parallel run,
 *   the status is the same but outputs may be partly written). Any other exception (none is expected) gives
 *   SIMDMAX_ERROR_INTERNAL, outputs unspecified. Functions that return a value rather than a status never throw
 *   (they do not allocate); their documented fallback is returned should one ever fail.
 * - Accuracy is measured against a long-double reference rounded to float (see README.md, "Accuracy"):
 *   softmax and log-softmax are within 2 ULP on every target for rows of up to 4M elements; outputs whose exact
 *   value is below FLT_MIN may be flushed to zero.
 * - Results of a row never depend on the number of threads or on the other rows of the batch; they may differ
 *   between targets, and for rows near the short-row limit (a few hundred elements, set from the L1 data cache
 *   size) between CPUs with different L1 sizes (always within the bound).
 * - Thread safety: every function may be called concurrently. Target selection and the thread limit are
 *   process-wide; a call reads them once when it starts, so a change made by another thread takes effect for calls
 *   that start after it and never mixes targets within one call.
 */
#ifndef SIMDMAX_SIMDMAX_H_
#define SIMDMAX_SIMDMAX_H_

#include <stddef.h>
#include <stdint.h>

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
  SIMDMAX_ERROR_INVALID_ARGUMENT = 7,
  SIMDMAX_ERROR_OUT_OF_MEMORY = 8, /* an allocation failed (std::bad_alloc inside simdmax or TBB) */
  SIMDMAX_ERROR_INTERNAL = 9       /* any other C++ exception inside simdmax (a bug, or a failed mutex or thread) */
} simdmax_status;

/* Element types of the typed entry points. */
typedef enum simdmax_dtype {
  SIMDMAX_F32 = 0,
  SIMDMAX_F16 = 1, /* IEEE 754 binary16, stored as 16 bits */
  SIMDMAX_BF16 = 2 /* bfloat16: the top 16 bits of an IEEE binary32 */
} simdmax_dtype;

/* Bytes per element: 4, 2, 2; 0 for a value outside the enum. */
SIMDMAX_API size_t simdmax_dtype_size(simdmax_dtype type);

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

/* Row-wise softmax / log-softmax over typed rows: x holds rows x cols elements of x_type with row stride x_stride,
 * y holds elements of y_type with row stride y_stride (strides in elements of their own type). Any combination of
 * the three types; simdmax_softmax_f32 is simdmax_softmax(..., SIMDMAX_F32, x, ..., SIMDMAX_F32, y, ...) (one code
 * path). The contract is simdmax_softmax_f32's / simdmax_log_softmax_f32's (shapes, special values, threads,
 * determinism), plus:
 * - types: checked first; a value outside the enum is SIMDMAX_ERROR_INVALID_ARGUMENT (even with rows or cols 0).
 * - aliasing, in bytes: in place = the same pointer, the same type and the same stride; any other overlap of the x
 *   and y byte ranges is SIMDMAX_ERROR_OVERLAP (exact, row by row, when type and stride are the same; the spans
 *   from first to last byte otherwise).
 * - numerics: x widened exactly to f32; y rounded to nearest even from the f32 result (log-softmax into f16/bf16:
 *   to nearest, ties away from zero; see the conventions above). Special values in f16/bf16
 *   encodings behave as in f32 (NaN, +-inf; f16 subnormal inputs are ordinary values). Half-precision outputs:
 *   log-softmax values below -65504 become -inf in f16 and softmax values below half the smallest f16 subnormal
 *   (2^-25) become 0, both the correct rounding.
 * - accuracy: half-precision outputs within 1 ULP of their type (f32 outputs as the _f32 functions) against the
 *   exact result of the widened inputs rounded to the output type (README.md, "Accuracy"). */
SIMDMAX_API simdmax_status simdmax_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x,
                                           size_t x_stride, simdmax_dtype y_type, void* y, size_t y_stride);
SIMDMAX_API simdmax_status simdmax_log_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x,
                                               size_t x_stride, simdmax_dtype y_type, void* y, size_t y_stride);

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
 * Accuracy (tests/tolerances.h, README.md "Online softmax and attention"): max is exact (a zero max is +0 whatever
 * the signs of the zero entries, so that its bits do not depend on the block sizes or merge order). Each term of
 * sum is within 1 float ulp of exp(x - max), summed in double, and re-based in double when the max grows, so the
 * sum agrees with a single-pass sum and with the exact sum to 2^-23 relative (1 ulp per term; measured 8.6e-9 on
 * random rows) whatever the block sizes and merge order; the merge is commutative bit for bit.
 * Thread safety: a state is a plain value; concurrent calls on distinct states are fine. */
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

/* simdmax_online_update_f32 over a block of x_type elements (widened exactly; the state stays f32/f64).
 * Errors as simdmax_online_update_f32, plus INVALID_ARGUMENT for a type outside the enum (checked after a NULL
 * state). */
SIMDMAX_API simdmax_status simdmax_online_update(simdmax_online_state* state, simdmax_dtype x_type, const void* x,
                                                 size_t n);

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
 * the max, |y| < 1e-6) are within 2 ULP or within 2e-14 absolute (measured 9.1e-15): log(sum) comes from the double
 * sum (count at the max + the rest), so y = -log(sum) there carries the double's ~2^-53 floor, not log-softmax's
 * log1p of the rest alone. */
SIMDMAX_API simdmax_status simdmax_online_log_normalize_f32(const simdmax_online_state* state, const float* x, float* y,
                                                            size_t n);

/* The normalisations over typed blocks: x of x_type, y of y_type (rounded to nearest even from the f32 result; the
 * log-normalise's half-precision outputs with ties away from zero, as simdmax_log_softmax).
 * Contracts of the _f32 functions; in place = the same pointer and the same type, any other byte overlap is
 * OVERLAP; INVALID_ARGUMENT for a type outside the enum (checked after a NULL state). Half-precision outputs are
 * within 1 ULP of their type beyond the _f32 functions' bounds (README.md). */
SIMDMAX_API simdmax_status simdmax_online_normalize(const simdmax_online_state* state, simdmax_dtype x_type,
                                                    const void* x, simdmax_dtype y_type, void* y, size_t n);
SIMDMAX_API simdmax_status simdmax_online_log_normalize(const simdmax_online_state* state, simdmax_dtype x_type,
                                                        const void* x, simdmax_dtype y_type, void* y, size_t n);

/* ---- Fused attention ----------------------------------------------------------------------------------------
 * Scaled dot-product attention for one decode or prefill step, on the online softmax state (FlashAttention): keys
 * are walked in blocks, the running output rescaled when the max grows; the n_queries x n_keys score matrix is never
 * formed (memory per task: a 4 KiB score block, plus, for split decode, n_heads * n_queries * head_dim floats per
 * key chunk (at most 64 chunks) for the partial outputs, kept per calling thread for reuse while at most 64 MiB,
 * released after a call that needed more). simdmax_attention_f32 is the f32, feature-less case of
 * simdmax_attention below (one code path). */
typedef struct simdmax_attention_desc {
  size_t n_heads;    /* query heads */
  size_t n_kv_heads; /* divides n_heads: grouped-query (GQA) / multi-query attention; = n_heads for MHA */
  size_t n_queries;  /* query rows per head */
  size_t n_keys;     /* key and value rows per kv head */
  size_t head_dim;
  size_t q_head_stride, q_row_stride; /* all strides in elements */
  size_t k_head_stride, k_row_stride;
  size_t v_head_stride, v_row_stride;
  size_t out_head_stride, out_row_stride;
  float scale; /* multiplies q.k, usually 1/sqrt(head_dim) */
  int causal;  /* nonzero: query i sees keys j <= i + (n_keys - n_queries) (aligned to the end) */
} simdmax_attention_desc;

/* out[h][i] = sum_j softmax_j(scale * q[h][i] . k[h / (n_heads / n_kv_heads)][j]) * v[...][j].
 *    lse may be NULL; otherwise it receives n_heads * n_queries log-sum-exp values (row-major by head), so partial
 *    results over disjoint key ranges can be merged by the caller.
 *
 * Shapes: element (h, i, d) of q is q[h * q_head_stride + i * q_row_stride + d], d < head_dim; likewise k and v
 *   with kv head h / (n_heads / n_kv_heads) and key j, and out with (h, i). Any layout ([head][row][dim],
 *   [row][head][dim], a packed QKV buffer) is expressed by the strides. lse[h * n_queries + i] = the natural log of
 *   sum_j exp(scale * q . k_j) over the visible keys.
 * Masking: with causal, query i sees keys j <= i + (n_keys - n_queries); when n_keys < n_queries the first queries
 *   see none. A query that sees no key (fully masked, or n_keys == 0) gets out = 0 and lse = -INFINITY, never NaN.
 * No-ops: n_heads == 0 or n_queries == 0 returns SIMDMAX_OK without touching memory (pointers may be NULL);
 *   n_keys == 0 writes zeros and -inf (k and v may be NULL).
 * Aliasing: out and lse must not intersect q, k, v or each other (checked on the spans from first to last
 *   element); q, k and v may overlap each other. Rows of out must not overlap each other (not checked beyond the
 *   strides).
 * Errors (nothing is written on error): NULL_POINTER (desc; q or out; k or v with n_keys > 0),
 *   INVALID_ARGUMENT (n_kv_heads == 0, n_heads not a multiple of n_kv_heads, head_dim == 0, scale not finite),
 *   INVALID_STRIDE (a row stride < head_dim where there is more than one row, a head stride < head_dim where there
 *   is more than one head), INVALID_SHAPE (a span overflows size_t bytes or the address space), OVERLAP,
 *   OUT_OF_MEMORY (the split-decode scratch above cannot be allocated).
 * Special values: q, k and v are expected finite; a NaN or inf in them gives unspecified (typically NaN) rows.
 * Accuracy (README.md, "Online softmax and attention"), against a long-double evaluation of the naive formula on
 *   every target: |out - exact| <= 3e-6 * max_j |v[j][d]| per element (max over the visible keys; measured worst
 *   1.7e-6) for scores within tens; scores are f32 dot products, so scores of magnitude S carry an absolute
 *   rounding of ~S * 2^-23 that becomes the relative error of the weights: <= 2.5e-4 (measured 1.45e-4) with
 *   scores up to ~1000. |lse - exact| <= 3e-6 * max(1, |exact|) (measured 1.5e-6).
 * Threads: tasks over (kv head, query block); with n_queries <= 8 and n_keys >= 2048 the keys are also split into
 *   chunks of 1024 (more past 64K keys: at most 64 chunks) whose partial (max, sum, output) are merged in a fixed
 *   order. The result is bit-identical for
 *   every thread count (simdmax_set_max_threads); it may differ between targets within the bound. */
SIMDMAX_API simdmax_status simdmax_attention_f32(const simdmax_attention_desc* desc, const float* q, const float* k,
                                                 const float* v, float* out, float* lse);

/* ---- Attention as engines call it --------------------------------------------------------------------------
 * One general entry point: typed (f32/f16/bf16) q, k/v and out, paged K/V through a block table, an additive mask,
 * causal and sliding-window visibility, a logit soft-cap, ALiBi biases and per-head attention sinks, and a batch
 * form for decode batches of sequences with their own lengths. simdmax_attention_f32 is a wrapper over the same
 * code path. Always start from simdmax_attention_args_init (new fields get their defaults). */
typedef struct simdmax_attention_args {
  /* Tensors. Element (h, i, d) of q is q[h * q_head_stride + i * q_row_stride + d] (d < head_dim); out likewise;
     k and v are read at kv head kvh = h / (n_heads / n_kv_heads) and key j, see block_table. lse is optional:
     n_heads * n_queries floats, lse[h * n_queries + i]. */
  const void* q;
  const void* k;
  const void* v;
  void* out;
  float* lse;
  simdmax_dtype q_type, kv_type, out_type; /* F32, F16 or BF16 each; k and v share kv_type */
  size_t n_heads, n_kv_heads, n_queries, n_keys, head_dim;
  size_t q_head_stride, q_row_stride, k_head_stride, k_row_stride, v_head_stride, v_row_stride;
  size_t out_head_stride, out_row_stride; /* all strides in elements of the tensor's own type */
  /* Paged K/V (optional). NULL: key j of kv head kvh is k[kvh * k_head_stride + j * k_row_stride + d].
     Otherwise key j lives in pool block b = block_table[j / block_size] (0 <= b < n_blocks, checked), row
     j % block_size: k[b * k_block_stride + (j % block_size) * k_row_stride + kvh * k_head_stride + d]; v likewise. */
  const int32_t* block_table;
  size_t block_size, n_blocks, k_block_stride, v_block_stride;
  /* Scores: s = scale * (q . k); then, if softcap > 0, s = softcap * tanh(s / softcap); then, if alibi_slopes,
     s += alibi_slopes[h] * (j - p_i); then, if mask, s += mask(h, i, j). scale == 0 means 1 / sqrt(head_dim). */
  float scale;
  float softcap;
  const float* alibi_slopes; /* NULL or n_heads values */
  const void* mask; /* NULL or additive; element (h, i, j) = mask[h * mask_head_stride + i * mask_row_stride + j] */
  simdmax_dtype mask_type; /* F32, F16 or BF16 */
  size_t mask_head_stride; /* 0 broadcasts one mask to every head */
  size_t mask_row_stride;
  /* Visibility. Query i sits at position p_i = i + n_keys - n_queries (queries are the last positions).
     causal: key j is visible only if j <= p_i. window > 0: only if p_i - j < window, and (when not causal) also
     j - p_i < window. A mask entry of -inf hides a key. */
  int causal;
  size_t window;
  /* Sinks (optional): n_heads logits, each an extra score for every query of head h with a zero value vector: it
     joins the softmax denominator (and lse) only. Not scaled, capped, biased or masked. */
  const float* sinks;
} simdmax_attention_args;

/* Zeroes *args and sets the defaults: every type F32, scale 0 (= 1/sqrt(head_dim)), no paging, mask, window,
   softcap, ALiBi or sinks. Does nothing for NULL. */
SIMDMAX_API void simdmax_attention_args_init(simdmax_attention_args* args);

/* out[h][i] = sum over visible j of softmax_j(s_ij) * v_j (with the sink in the denominator when given).
 *
 * Contract (README.md, "Attention for engines"):
 * - Visible keys of query i: j in [0, n_keys), j <= p_i if causal, p_i - j < window and (not causal) j - p_i <
 *   window if window > 0, and mask(h, i, j) != -inf. A query with no visible key (n_keys == 0, a window or mask
 *   hiding everything, causal with p_i < 0) gets out = 0 and lse = -inf; with a sink, out = 0 and lse = sinks[h].
 *   Never NaN for finite inputs.
 * - lse[h * n_queries + i] = log(sum over visible j of exp(s_ij) + exp(sinks[h])) (natural log).
 * - Special values: a NaN or +inf mask entry, a NaN or +-inf raw score scale * (q . k) at any key the query sees
 *   by position (causal and window; masked by -inf or not: a NaN or inf in q, or in such a key row, or a dot product
 *   that overflows), or a score that becomes NaN or +inf after the bias gives NaN in every element of that query's
 *   output and its lse (never a finite wrong value). Value rows must be finite: a NaN or inf in the value row of
 *   any key may give NaN or +-inf in the output of any query of its kv head, whether or not that query sees the key
 *   (its weight 0 times inf is NaN). Mask entries of -inf hide keys (finite or -inf is the mask's domain).
 * - Numerics: inputs widened exactly to f32; scores, the online softmax and the weighted sum in f32 with the
 *   normaliser in f64, as simdmax_attention_f32; the soft-cap softcap * tanh(s / softcap) is within 0.8 ULP of f32
 *   of its exact value (an f32 evaluation carrying its roundings as low parts; in double on targets without FMA
 *   and for caps outside [2^-60, 2^60]); the ALiBi bias is one fused multiply-add in f32. Outputs are rounded to
 *   nearest even to out_type.
 * - Accuracy against a long-double evaluation of the formula above from the widened inputs, every target:
 *   |out - exact| <= 3e-6 * max|v_j| (max over the visible keys) for scores within tens (f32 outputs), plus one ULP
 *   of the output type for f16/bf16 outputs; scores of magnitude S carry an absolute f32 rounding of ~S * 2^-23
 *   (see simdmax_attention_f32), which reaches lse as an absolute error of the same size; for scores within tens
 *   |lse - exact| <= 3e-6 * max(1, |exact|).
 * - Threads and determinism: tiles over (kv head, query block), and for decode (n_queries <= 8, n_keys >= 2048)
 *   fixed key chunks (1024 keys, more for very long contexts: at most 64 chunks) merged in a fixed order; results
 *   are bit-identical for every thread count and, in a batch, for every batch composition.
 * - Scratch (allocated before anything is written): the split-K partials (<= 64 per query row), f32 copies of q
 *   when q_type is not F32, and f32 accumulators when out_type is not F32; kept per calling thread for reuse while
 *   under 64 MiB, released at the end of the call above that.
 * Errors (nothing is written on error), checked in this order:
 *   1. NULL_POINTER: args is NULL.
 *   2. INVALID_ARGUMENT: a type outside the enum (any of the four), n_kv_heads == 0 or not dividing n_heads,
 *      head_dim == 0, scale or softcap not finite, softcap < 0, block_size == 0 with a block table.
 *   3. No-op: n_heads == 0 or n_queries == 0 returns SIMDMAX_OK here (the pointers may then be NULL).
 *   4. NULL_POINTER: q or out; k or v with n_keys > 0 (a NULL block_table is no paging, not an error).
 *   5. INVALID_ARGUMENT: a non-finite ALiBi slope or sink; a block table entry outside [0, n_blocks) (the table's
 *      own span is checked first: INVALID_SHAPE if it overflows).
 *   6. INVALID_STRIDE: a stride smaller than the row it steps over, where it steps more than once: q/out/k/v row
 *      and head strides < head_dim; paged block strides < head_dim with n_blocks > 1; mask_row_stride < n_keys with
 *      n_queries > 1; a nonzero mask_head_stride < n_keys with n_heads > 1.
 *   7. INVALID_SHAPE: a span (the paged pool of n_blocks blocks included) overflows size_t bytes or the address
 *      space, or n_keys or n_queries exceeds 2^62.
 *   8. OVERLAP: out or lse intersects q, k, v (the whole pool when paged), mask, alibi_slopes, sinks, block_table
 *      or each other, on byte spans from first to last element (q, k and v may overlap each other).
 *   9. OUT_OF_MEMORY: the scratch above cannot be allocated. */
SIMDMAX_API simdmax_status simdmax_attention(const simdmax_attention_args* args);

/* n independent calls (e.g. the sequences of a decode batch, each with its own lengths, block table and
   pointers), scheduled together: all are validated before anything is written; their outputs and lse must not
   overlap each other (OVERLAP). Each call's result is bit-identical to calling simdmax_attention on it alone.
   n == 0 is a no-op (args may then be NULL). Errors: the first failing call's status, in index order, except that
   OVERLAP across calls (a call's out or lse against another call's tensors) is found after every call passed its
   own checks. */
SIMDMAX_API simdmax_status simdmax_attention_batch(const simdmax_attention_args* args, size_t n);

/* Targets: Highway's names ("AVX3_DL", "AVX3", "AVX2", "SSE4", "SSSE3", "SCALAR", "EMU128", "NEON", "SVE",
 * "SVE2", "SVE_256", "SVE2_128"), matched case-insensitively. The list holds the targets compiled into this
 * build AND supported by this CPU, best first. Selection is process-wide; NULL or "" restores the best.
 * The environment variable SIMDMAX_TARGET selects a target at start-up the same way (an unknown or unsupported
 * name there is reported once on stderr and ignored). */
SIMDMAX_API size_t simdmax_target_count(void);
/* NULL when index >= simdmax_target_count(). The string is static. (Fallbacks, see above: count 0, name NULL.) */
SIMDMAX_API const char* simdmax_target_name(size_t index);
/* UNKNOWN_TARGET for a name Highway does not define on any architecture (a typo: "AVX9000", "avx2 ");
 * UNSUPPORTED_TARGET for a name Highway defines (the names above, and "PPC8", "WASM", "WASM_EMU256", "RVV") that is
 * not in the list above: not compiled in, not supported by this CPU, or another architecture's ("NEON" on x86,
 * "AVX2" on Arm). A program that tries names from a list can so tell a typo from a missing capability.
 * On error the selection is unchanged. */
SIMDMAX_API simdmax_status simdmax_select_target(const char* name);
/* The name of the target the next call will use (static; "" is the fallback, see above). */
SIMDMAX_API const char* simdmax_selected_target(void);

/* Threads used for batches: 0 = TBB's default (all cores). Results are identical for every thread count.
 * Always SIMDMAX_OK today; the status is there so that a future limit can be reported. */
SIMDMAX_API simdmax_status simdmax_set_max_threads(size_t n);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIMDMAX_SIMDMAX_H_ */
