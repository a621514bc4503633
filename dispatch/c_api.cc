// The C API: argument checks, then target and scheduling, then kernels. No SIMD code here.
#include <math.h>
#include <stdint.h>

#include <new>
#include <vector>

#include "dispatch/argument_checks.h"
#include "dispatch/attention_scheduler.h"
#include "dispatch/kernel_table.h"
#include "dispatch/machine_info.h"
#include "dispatch/row_scheduler.h"
#include "dispatch/targets.h"
#include "dispatch/thread_pool.h"
#include "kernels/online_state.h"
#include "simdmax/simdmax.h"

namespace simdmax {
namespace {

// No C++ exception may cross the C API (a C caller cannot catch it; through a C frame it is undefined behaviour,
// typically std::terminate). Every extern "C" function below runs its body through one of these guards:
// - std::bad_alloc (split-K scratch, the TBB arena, anything TBB or the standard library allocates) ->
//   SIMDMAX_ERROR_OUT_OF_MEMORY;
// - anything else (std::system_error from a mutex or thread, an exception from TBB) -> SIMDMAX_ERROR_INTERNAL:
//   not an argument problem, and nothing the caller could fix by retrying with other arguments.
// Allocations are made before anything is written (RunAttention sizes its scratch first, the row scheduler creates
// and initialises its arena first), so that an OUT_OF_MEMORY call leaves its outputs untouched.
simdmax_status StatusOfCurrentException() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return SIMDMAX_ERROR_OUT_OF_MEMORY;
  } catch (...) {
    return SIMDMAX_ERROR_INTERNAL;
  }
}

template <typename Body>
simdmax_status GuardStatus(Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return StatusOfCurrentException();
  }
}

// For the entry points that return a value rather than a status: `fallback` (documented in simdmax.h) if the body
// throws. None of them allocates today; the guard keeps that true of later changes.
template <typename T, typename Body>
T GuardValue(T fallback, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

static_assert(static_cast<int>(ElementType::kF32) == SIMDMAX_F32 &&
                  static_cast<int>(ElementType::kF16) == SIMDMAX_F16 &&
                  static_cast<int>(ElementType::kBF16) == SIMDMAX_BF16,
              "ElementType mirrors simdmax_dtype");

enum class RowOpKind { kSoftmax, kLogSoftmax };

// The one path of every row-wise entry point (the _f32 functions included): types, then shapes, then kernels.
simdmax_status RunRowOp(RowOpKind op, size_t rows, size_t cols, int x_dtype, const void* x, size_t x_stride,
                        int y_dtype, void* y, size_t y_stride) {
  ElementType x_type, y_type;
  if (!ToElementType(x_dtype, &x_type) || !ToElementType(y_dtype, &y_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  if (rows == 0 || cols == 0) return SIMDMAX_OK;
  const simdmax_status status = CheckRowsArgs(rows, cols, x, x_stride, x_type, y, y_stride, y_type);
  if (status != SIMDMAX_OK) return status;
  const KernelTable& kernels = KernelsFor(SelectedTarget());
  const RowBatch batch{cols,
                       x,
                       x_stride,
                       y,
                       y_stride,
                       x_type,
                       y_type,
                       PlanRowPath(cols),
                       ShortGroupsInFlight(cols, MachineCaches()),
                       PlanChunkedRows(cols, ElementSize(x_type), ElementSize(y_type), MachineCaches())};
  RunRows(kernels.RowOp(op == RowOpKind::kLogSoftmax, x_type, y_type), batch, rows);
  return SIMDMAX_OK;
}

simdmax_status RunOnlineUpdate(simdmax_online_state* state, int x_dtype, const void* x, size_t n) {
  if (state == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  ElementType x_type;
  if (!ToElementType(x_dtype, &x_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  if (n == 0) return SIMDMAX_OK;
  if (x == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  const size_t size = ElementSize(x_type);
  if (n > SIZE_MAX / size || reinterpret_cast<uintptr_t>(x) > UINTPTR_MAX - n * size) {
    return SIMDMAX_ERROR_INVALID_SHAPE;
  }
  // Into locals, then stored: the state is written once, after the whole block.
  float max = state->max;
  double sum = state->sum;
  KernelsFor(SelectedTarget()).by_input[static_cast<int>(x_type)]->online_update(&max, &sum, x, n);
  state->max = max;
  state->sum = sum;
  return SIMDMAX_OK;
}

simdmax_status RunOnlineNormalize(const simdmax_online_state* state, int x_dtype, const void* x, int y_dtype, void* y,
                                  size_t n, bool log) {
  if (state == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
  ElementType x_type, y_type;
  if (!ToElementType(x_dtype, &x_type) || !ToElementType(y_dtype, &y_type)) return SIMDMAX_ERROR_INVALID_ARGUMENT;
  const simdmax_status state_status = CheckOnlineState(state->max, state->sum);
  if (state_status != SIMDMAX_OK) return state_status;
  if (n == 0) return SIMDMAX_OK;
  const simdmax_status status = CheckRowsArgs(1, n, x, n, x_type, y, n, y_type);
  if (status != SIMDMAX_OK) return status;
  KernelsFor(SelectedTarget())
      .by_input[static_cast<int>(x_type)]
      ->online_normalize[static_cast<int>(y_type)](state->max, state->sum, x, y, n, log);
  return SIMDMAX_OK;
}

// The one path of every attention entry point: each call checked (all before anything is written), the batch's
// cross-call overlaps, then one scheduled run over the calls with work. literal_scale: the scale is used as given
// (simdmax_attention_f32); otherwise 0 means 1/sqrt(head_dim).
simdmax_status RunAttentionCalls(const simdmax_attention_args* args, size_t n, bool literal_scale = false) {
  // Reused per calling thread (calls never nest on one thread): a decode step allocates nothing here after the
  // first call.
  thread_local std::vector<AttentionProblem> problems;
  problems.clear();
  for (size_t c = 0; c < n; ++c) {
    bool no_op = false;
    const simdmax_status status = CheckAttentionCall(args[c], &no_op);
    if (status != SIMDMAX_OK) return status;
    if (no_op) continue;
    float scale = args[c].scale;
    if (scale == 0.0f && !literal_scale) {
      scale = static_cast<float>(1.0 / sqrt(static_cast<double>(args[c].head_dim)));
    }
    problems.push_back({&args[c], scale});  // std::bad_alloc -> OUT_OF_MEMORY, nothing written
  }
  if (n > 1) {
    const simdmax_status status = CheckAttentionBatchOverlaps(args, n);
    if (status != SIMDMAX_OK) return status;
  }
  if (problems.empty()) return SIMDMAX_OK;
  // Throws std::bad_alloc (-> OUT_OF_MEMORY) before writing anything when the scratch cannot be had.
  RunAttention(KernelsFor(SelectedTarget()), problems.data(), problems.size());
  return SIMDMAX_OK;
}

// simdmax_attention_f32's descriptor and pointers as the general call (f32 everywhere, no paging, mask, window,
// soft-cap, ALiBi or sinks).
simdmax_attention_args ArgsOfDesc(const simdmax_attention_desc& desc, const float* q, const float* k, const float* v,
                                  float* out, float* lse) {
  simdmax_attention_args args;
  simdmax_attention_args_init(&args);
  args.q = q;
  args.k = k;
  args.v = v;
  args.out = out;
  args.lse = lse;
  args.n_heads = desc.n_heads;
  args.n_kv_heads = desc.n_kv_heads;
  args.n_queries = desc.n_queries;
  args.n_keys = desc.n_keys;
  args.head_dim = desc.head_dim;
  args.q_head_stride = desc.q_head_stride;
  args.q_row_stride = desc.q_row_stride;
  args.k_head_stride = desc.k_head_stride;
  args.k_row_stride = desc.k_row_stride;
  args.v_head_stride = desc.v_head_stride;
  args.v_row_stride = desc.v_row_stride;
  args.out_head_stride = desc.out_head_stride;
  args.out_row_stride = desc.out_row_stride;
  args.scale = desc.scale;
  args.causal = desc.causal;
  return args;
}

}  // namespace
}  // namespace simdmax

extern "C" {

// simdmax_status_string, simdmax_version and simdmax_dtype_size only return constants: nothing in them can throw.
const char* simdmax_status_string(simdmax_status status) {
  // On the integer: a value outside the enum (a caller's bad cast) is then defined behaviour (UBSan's -fsanitize=enum
  // flagged the switch on the enum itself; found by the softmax fuzzer).
  switch (static_cast<int>(status)) {
    case SIMDMAX_OK:
      return "ok";
    case SIMDMAX_ERROR_NULL_POINTER:
      return "a required pointer is NULL";
    case SIMDMAX_ERROR_INVALID_SHAPE:
      return "invalid shape: the matrix span overflows size_t or the address space";
    case SIMDMAX_ERROR_INVALID_STRIDE:
      return "invalid stride: a row stride is smaller than the row length";
    case SIMDMAX_ERROR_OVERLAP:
      return "input and output overlap without being exactly in place (same pointer, type and stride)";
    case SIMDMAX_ERROR_UNKNOWN_TARGET:
      return "unknown target name";
    case SIMDMAX_ERROR_UNSUPPORTED_TARGET:
      return "target not compiled into this build or not supported by this CPU";
    case SIMDMAX_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
    case SIMDMAX_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case SIMDMAX_ERROR_INTERNAL:
      return "internal error: an unexpected exception inside simdmax";
    default:
      return "unknown status";
  }
}

const char* simdmax_version(void) { return SIMDMAX_VERSION_STRING; }

size_t simdmax_dtype_size(simdmax_dtype type) {
  simdmax::ElementType element_type;
  return simdmax::ToElementType(simdmax::DtypeBits(type), &element_type) ? simdmax::ElementSize(element_type) : 0;
}

simdmax_status simdmax_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x, size_t x_stride,
                               simdmax_dtype y_type, void* y, size_t y_stride) {
  return simdmax::GuardStatus([&] {
    return simdmax::RunRowOp(simdmax::RowOpKind::kSoftmax, rows, cols, simdmax::DtypeBits(x_type), x, x_stride,
                             simdmax::DtypeBits(y_type), y, y_stride);
  });
}

simdmax_status simdmax_log_softmax(size_t rows, size_t cols, simdmax_dtype x_type, const void* x, size_t x_stride,
                                   simdmax_dtype y_type, void* y, size_t y_stride) {
  return simdmax::GuardStatus([&] {
    return simdmax::RunRowOp(simdmax::RowOpKind::kLogSoftmax, rows, cols, simdmax::DtypeBits(x_type), x, x_stride,
                             simdmax::DtypeBits(y_type), y, y_stride);
  });
}

simdmax_status simdmax_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                   size_t y_stride) {
  return simdmax_softmax(rows, cols, SIMDMAX_F32, x, x_stride, SIMDMAX_F32, y, y_stride);
}

simdmax_status simdmax_log_softmax_f32(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                       size_t y_stride) {
  return simdmax_log_softmax(rows, cols, SIMDMAX_F32, x, x_stride, SIMDMAX_F32, y, y_stride);
}

size_t simdmax_target_count(void) {
  return simdmax::GuardValue<size_t>(0, [] { return simdmax::TargetCount(); });
}

const char* simdmax_target_name(size_t index) {
  return simdmax::GuardValue<const char*>(nullptr, [&] { return simdmax::TargetNameAt(index); });
}

simdmax_status simdmax_select_target(const char* name) {
  return simdmax::GuardStatus([&] { return simdmax::SelectTarget(name); });
}

const char* simdmax_selected_target(void) {
  return simdmax::GuardValue<const char*>("", [] { return simdmax::SelectedTargetName(); });
}

void simdmax_online_init(simdmax_online_state* state) {
  // Two stores: nothing can throw.
  if (state == nullptr) return;
  state->max = -INFINITY;
  state->sum = 0.0;
}

simdmax_status simdmax_online_update(simdmax_online_state* state, simdmax_dtype x_type, const void* x, size_t n) {
  return simdmax::GuardStatus([&] { return simdmax::RunOnlineUpdate(state, simdmax::DtypeBits(x_type), x, n); });
}

simdmax_status simdmax_online_update_f32(simdmax_online_state* state, const float* x, size_t n) {
  return simdmax_online_update(state, SIMDMAX_F32, x, n);
}

simdmax_status simdmax_online_merge(simdmax_online_state* state, const simdmax_online_state* other) {
  return simdmax::GuardStatus([&] {
    if (state == nullptr || other == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
    float max = state->max;
    double sum = state->sum;
    simdmax::MergeState(&max, &sum, other->max, other->sum);
    state->max = max;
    state->sum = sum;
    return SIMDMAX_OK;
  });
}

double simdmax_online_log_sum_exp(const simdmax_online_state* state) {
  // Arithmetic on two fields: nothing can throw.
  if (state == nullptr) return NAN;
  if (isnan(state->max) || isnan(state->sum)) return NAN;
  if (state->max == -INFINITY || state->sum <= 0.0) return -INFINITY;
  if (state->max == INFINITY) return INFINITY;
  return static_cast<double>(state->max) + log(state->sum);
}

simdmax_status simdmax_online_normalize(const simdmax_online_state* state, simdmax_dtype x_type, const void* x,
                                        simdmax_dtype y_type, void* y, size_t n) {
  return simdmax::GuardStatus([&] {
    return simdmax::RunOnlineNormalize(state, simdmax::DtypeBits(x_type), x, simdmax::DtypeBits(y_type), y, n,
                                       /*log=*/false);
  });
}

simdmax_status simdmax_online_log_normalize(const simdmax_online_state* state, simdmax_dtype x_type, const void* x,
                                            simdmax_dtype y_type, void* y, size_t n) {
  return simdmax::GuardStatus([&] {
    return simdmax::RunOnlineNormalize(state, simdmax::DtypeBits(x_type), x, simdmax::DtypeBits(y_type), y, n,
                                       /*log=*/true);
  });
}

simdmax_status simdmax_online_normalize_f32(const simdmax_online_state* state, const float* x, float* y, size_t n) {
  return simdmax_online_normalize(state, SIMDMAX_F32, x, SIMDMAX_F32, y, n);
}

simdmax_status simdmax_online_log_normalize_f32(const simdmax_online_state* state, const float* x, float* y, size_t n) {
  return simdmax_online_log_normalize(state, SIMDMAX_F32, x, SIMDMAX_F32, y, n);
}

void simdmax_attention_args_init(simdmax_attention_args* args) {
  // Plain stores: nothing can throw.
  if (args == nullptr) return;
  *args = simdmax_attention_args{};
  args->q_type = args->kv_type = args->out_type = args->mask_type = SIMDMAX_F32;
}

simdmax_status simdmax_attention(const simdmax_attention_args* args) {
  return simdmax::GuardStatus([&] {
    if (args == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
    return simdmax::RunAttentionCalls(args, 1);
  });
}

simdmax_status simdmax_attention_batch(const simdmax_attention_args* args, size_t n) {
  return simdmax::GuardStatus([&] {
    if (n == 0) return SIMDMAX_OK;
    if (args == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
    return simdmax::RunAttentionCalls(args, n);
  });
}

simdmax_status simdmax_attention_f32(const simdmax_attention_desc* desc, const float* q, const float* k, const float* v,
                                     float* out, float* lse) {
  return simdmax::GuardStatus([&] {
    if (desc == nullptr) return SIMDMAX_ERROR_NULL_POINTER;
    const simdmax_attention_args args = simdmax::ArgsOfDesc(*desc, q, k, v, out, lse);
    // The descriptor's scale multiplies q.k as given (0 included: it predates "0 = default").
    return simdmax::RunAttentionCalls(&args, 1, /*literal_scale=*/true);
  });
}

simdmax_status simdmax_set_max_threads(size_t n) {
  return simdmax::GuardStatus([&] {
    simdmax::SetMaxThreads(n);
    return SIMDMAX_OK;
  });
}

}  // extern "C"
