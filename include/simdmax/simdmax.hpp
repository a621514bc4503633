// C++ API of simdmax: value types and overloads over the C API (simdmax.h), which stays the single code path.
// Nothing here throws or allocates on the hot path; errors come back as simdmax::Status.
#ifndef SIMDMAX_SIMDMAX_HPP_
#define SIMDMAX_SIMDMAX_HPP_

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax {

enum class Status {
  kOk = SIMDMAX_OK,
  kNullPointer = SIMDMAX_ERROR_NULL_POINTER,
  kInvalidShape = SIMDMAX_ERROR_INVALID_SHAPE,
  kInvalidStride = SIMDMAX_ERROR_INVALID_STRIDE,
  kOverlap = SIMDMAX_ERROR_OVERLAP,
  kUnknownTarget = SIMDMAX_ERROR_UNKNOWN_TARGET,
  kUnsupportedTarget = SIMDMAX_ERROR_UNSUPPORTED_TARGET,
  kInvalidArgument = SIMDMAX_ERROR_INVALID_ARGUMENT,
  kOutOfMemory = SIMDMAX_ERROR_OUT_OF_MEMORY,
  kInternal = SIMDMAX_ERROR_INTERNAL,
};

inline const char* ToString(Status status) { return simdmax_status_string(static_cast<simdmax_status>(status)); }

// A read-only row-major matrix view; stride in elements (>= cols).
struct ConstMatrixView {
  const float* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;
};

// A writable row-major matrix view; stride in elements (>= cols).
struct MatrixView {
  float* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;
  operator ConstMatrixView() const { return ConstMatrixView{data, rows, cols, stride}; }  // NOLINT
};

// Row-wise softmax of x into y; contract, special values and accuracy as simdmax_softmax_f32. x and y must have
// the same rows and cols (kInvalidArgument otherwise); y.data == x.data with equal strides is in place.
inline Status Softmax(ConstMatrixView x, MatrixView y) {
  if (x.rows != y.rows || x.cols != y.cols) return Status::kInvalidArgument;
  return static_cast<Status>(simdmax_softmax_f32(x.rows, x.cols, x.data, x.stride, y.data, y.stride));
}

// Row-wise log-softmax; as Softmax, contract of simdmax_log_softmax_f32.
inline Status LogSoftmax(ConstMatrixView x, MatrixView y) {
  if (x.rows != y.rows || x.cols != y.cols) return Status::kInvalidArgument;
  return static_cast<Status>(simdmax_log_softmax_f32(x.rows, x.cols, x.data, x.stride, y.data, y.stride));
}

// One contiguous row of n elements (x == y is in place).
inline Status Softmax(const float* x, float* y, size_t n) {
  return static_cast<Status>(simdmax_softmax_f32(1, n, x, n, y, n));
}
inline Status LogSoftmax(const float* x, float* y, size_t n) {
  return static_cast<Status>(simdmax_log_softmax_f32(1, n, x, n, y, n));
}

// Running state of a streaming softmax (simdmax_online_*): a plain value, cheap to copy; the empty state on
// construction. Contracts, special values and accuracy as the C functions.
class OnlineSoftmax {
 public:
  OnlineSoftmax() { simdmax_online_init(&state_); }
  explicit OnlineSoftmax(const simdmax_online_state& state) : state_(state) {}

  // Folds x[0, n) into the state.
  Status Update(const float* x, size_t n) { return static_cast<Status>(simdmax_online_update_f32(&state_, x, n)); }
  Status Update(const std::vector<float>& x) { return Update(x.data(), x.size()); }
  // The state of the union of both inputs.
  Status Merge(const OnlineSoftmax& other) { return static_cast<Status>(simdmax_online_merge(&state_, &other.state_)); }
  // log(sum exp(x)) over the inputs seen; -inf when empty.
  double LogSumExp() const { return simdmax_online_log_sum_exp(&state_); }
  // softmax / log-softmax of a block of the inputs seen (y == x is in place).
  Status Normalize(const float* x, float* y, size_t n) const {
    return static_cast<Status>(simdmax_online_normalize_f32(&state_, x, y, n));
  }
  Status LogNormalize(const float* x, float* y, size_t n) const {
    return static_cast<Status>(simdmax_online_log_normalize_f32(&state_, x, y, n));
  }

  float Max() const { return state_.max; }
  double Sum() const { return state_.sum; }
  bool Empty() const { return state_.max == -std::numeric_limits<float>::infinity(); }
  const simdmax_online_state& state() const { return state_; }

 private:
  simdmax_online_state state_;
};

// Attention (simdmax_attention_f32); the descriptor is the C struct.
using AttentionDesc = simdmax_attention_desc;

// A descriptor for contiguous [head][row][head_dim] tensors q (n_heads x n_queries), k and v (n_kv_heads x n_keys)
// and out (like q), with scale = 1/sqrt(head_dim).
inline AttentionDesc ContiguousAttention(size_t n_heads, size_t n_kv_heads, size_t n_queries, size_t n_keys,
                                         size_t head_dim, bool causal) {
  AttentionDesc desc{};
  desc.n_heads = n_heads;
  desc.n_kv_heads = n_kv_heads;
  desc.n_queries = n_queries;
  desc.n_keys = n_keys;
  desc.head_dim = head_dim;
  desc.q_head_stride = desc.out_head_stride = n_queries * head_dim;
  desc.q_row_stride = desc.out_row_stride = head_dim;
  desc.k_head_stride = desc.v_head_stride = n_keys * head_dim;
  desc.k_row_stride = desc.v_row_stride = head_dim;
  desc.scale = head_dim == 0 ? 1.0f : static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  desc.causal = causal ? 1 : 0;
  return desc;
}

// out (and lse, optional: n_heads * n_queries values) for one attention step; contract of simdmax_attention_f32.
inline Status Attention(const AttentionDesc& desc, const float* q, const float* k, const float* v, float* out,
                        float* lse = nullptr) {
  return static_cast<Status>(simdmax_attention_f32(&desc, q, k, v, out, lse));
}

// Targets compiled in and supported by this CPU, best first (Highway's names).
inline std::vector<std::string> Targets() {
  std::vector<std::string> names;
  for (size_t i = 0; i < simdmax_target_count(); ++i) names.emplace_back(simdmax_target_name(i));
  return names;
}

// Process-wide selection; "" restores the best target.
inline Status SelectTarget(const std::string& name) { return static_cast<Status>(simdmax_select_target(name.c_str())); }
inline std::string SelectedTarget() { return simdmax_selected_target(); }

// Selects a target for the lifetime of the object and restores the previous selection afterwards. The selection
// is process-wide: use it from one thread at a time (tests, benchmarks).
class ScopedTarget {
 public:
  explicit ScopedTarget(const std::string& name) : previous_(SelectedTarget()), status_(SelectTarget(name)) {}
  ~ScopedTarget() { SelectTarget(previous_); }
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;
  Status status() const { return status_; }

 private:
  std::string previous_;
  Status status_;
};

// Threads used for batches; 0 = all cores. Results do not depend on it.
inline Status SetMaxThreads(size_t n) { return static_cast<Status>(simdmax_set_max_threads(n)); }

}  // namespace simdmax

#endif  // SIMDMAX_SIMDMAX_HPP_
