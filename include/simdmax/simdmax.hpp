// C++ API of simdmax: value types and overloads over the C API (simdmax.h), which stays the single code path.
// Nothing here throws or allocates on the hot path; errors come back as simdmax::Status.
#ifndef SIMDMAX_SIMDMAX_HPP_
#define SIMDMAX_SIMDMAX_HPP_

#include <cmath>
#include <cstddef>
#include <cstdint>
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

// Half-precision element storage: the 16 bits as they lie in memory (IEEE binary16 / bfloat16), so that typed
// views and overloads know the element type at compile time. No arithmetic: the library widens and rounds.
struct f16 {
  uint16_t bits;
};
struct bf16 {
  uint16_t bits;
};
static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "half-precision storage is 16 bits");

// The simdmax_dtype of an element type: float, f16 or bf16.
template <class T>
struct DtypeOf;
template <>
struct DtypeOf<float> {
  static constexpr simdmax_dtype value = SIMDMAX_F32;
};
template <>
struct DtypeOf<f16> {
  static constexpr simdmax_dtype value = SIMDMAX_F16;
};
template <>
struct DtypeOf<bf16> {
  static constexpr simdmax_dtype value = SIMDMAX_BF16;
};
template <class T>
inline constexpr simdmax_dtype kDtype = DtypeOf<T>::value;

// A read-only row-major matrix view of elements T (float, f16, bf16); stride in elements (>= cols).
template <class T>
struct BasicConstMatrixView {
  const T* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;
};

// A writable row-major matrix view of elements T; stride in elements (>= cols).
template <class T>
struct BasicMatrixView {
  T* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;
  operator BasicConstMatrixView<T>() const { return BasicConstMatrixView<T>{data, rows, cols, stride}; }  // NOLINT
};

using ConstMatrixView = BasicConstMatrixView<float>;
using MatrixView = BasicMatrixView<float>;

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

// Typed row-wise softmax / log-softmax (simdmax_softmax / simdmax_log_softmax): any of float, f16, bf16 in and out,
// e.g. Softmax(BasicConstMatrixView<bf16>{...}, BasicMatrixView<float>{...}). x and y must have the same rows and
// cols (kInvalidArgument otherwise); in place = the same data, type and stride.
template <class TX, class TY>
inline Status Softmax(BasicConstMatrixView<TX> x, BasicMatrixView<TY> y) {
  if (x.rows != y.rows || x.cols != y.cols) return Status::kInvalidArgument;
  return static_cast<Status>(
      simdmax_softmax(x.rows, x.cols, kDtype<TX>, x.data, x.stride, kDtype<TY>, y.data, y.stride));
}
template <class TX, class TY>
inline Status LogSoftmax(BasicConstMatrixView<TX> x, BasicMatrixView<TY> y) {
  if (x.rows != y.rows || x.cols != y.cols) return Status::kInvalidArgument;
  return static_cast<Status>(
      simdmax_log_softmax(x.rows, x.cols, kDtype<TX>, x.data, x.stride, kDtype<TY>, y.data, y.stride));
}
// In place on a writable view (and x given as a writable view).
template <class TX, class TY>
inline Status Softmax(BasicMatrixView<TX> x, BasicMatrixView<TY> y) {
  return Softmax(BasicConstMatrixView<TX>(x), y);
}
template <class TX, class TY>
inline Status LogSoftmax(BasicMatrixView<TX> x, BasicMatrixView<TY> y) {
  return LogSoftmax(BasicConstMatrixView<TX>(x), y);
}
// One contiguous typed row of n elements.
template <class TX, class TY>
inline Status Softmax(const TX* x, TY* y, size_t n) {
  return static_cast<Status>(simdmax_softmax(1, n, kDtype<TX>, x, n, kDtype<TY>, y, n));
}
template <class TX, class TY>
inline Status LogSoftmax(const TX* x, TY* y, size_t n) {
  return static_cast<Status>(simdmax_log_softmax(1, n, kDtype<TX>, x, n, kDtype<TY>, y, n));
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
  // Folds a typed block (f16, bf16) into the state.
  template <class T>
  Status Update(const T* x, size_t n) {
    return static_cast<Status>(simdmax_online_update(&state_, kDtype<T>, x, n));
  }
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
  // Typed blocks: any of float, f16, bf16 in and out.
  template <class TX, class TY>
  Status Normalize(const TX* x, TY* y, size_t n) const {
    return static_cast<Status>(simdmax_online_normalize(&state_, kDtype<TX>, x, kDtype<TY>, y, n));
  }
  template <class TX, class TY>
  Status LogNormalize(const TX* x, TY* y, size_t n) const {
    return static_cast<Status>(simdmax_online_log_normalize(&state_, kDtype<TX>, x, kDtype<TY>, y, n));
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

// Builder over simdmax_attention_args (contract of simdmax_attention): start from a layout, add features, Run().
// Element types come from the pointer types (float, f16, bf16). args() exposes the C struct for layouts the
// builder does not spell (e.g. a packed QKV buffer) and for simdmax_attention_batch.
//
//   simdmax::AttentionCall call;
//   call.Dense(q, k_cache, v_cache, out, /*heads=*/32, /*kv_heads=*/8, /*queries=*/1, n_keys, /*head_dim=*/128)
//       .Causal().Window(4096).SoftCap(50.0f).Sinks(sinks);
//   simdmax::Status s = call.Run();
class AttentionCall {
 public:
  AttentionCall() { simdmax_attention_args_init(&args_); }

  // Contiguous [head][row][head_dim] tensors: q and out n_heads x n_queries, k and v n_kv_heads x n_keys.
  template <class TQ, class TKV, class TO>
  AttentionCall& Dense(const TQ* q, const TKV* k, const TKV* v, TO* out, size_t n_heads, size_t n_kv_heads,
                       size_t n_queries, size_t n_keys, size_t head_dim) {
    Shape(q, k, v, out, n_heads, n_kv_heads, n_queries, n_keys, head_dim);
    args_.k_head_stride = args_.v_head_stride = n_keys * head_dim;
    args_.k_row_stride = args_.v_row_stride = head_dim;
    args_.block_table = nullptr;
    return *this;
  }
  // q and out as Dense; k and v in a paged pool of n_blocks blocks laid out [block][row][kv head][head_dim]
  // (block_size rows per block, as vLLM's CPU cache), key j in block block_table[j / block_size].
  template <class TQ, class TKV, class TO>
  AttentionCall& Paged(const TQ* q, const TKV* k_pool, const TKV* v_pool, TO* out, size_t n_heads, size_t n_kv_heads,
                       size_t n_queries, size_t n_keys, size_t head_dim, const int32_t* block_table, size_t block_size,
                       size_t n_blocks) {
    Shape(q, k_pool, v_pool, out, n_heads, n_kv_heads, n_queries, n_keys, head_dim);
    args_.k_head_stride = args_.v_head_stride = head_dim;
    args_.k_row_stride = args_.v_row_stride = n_kv_heads * head_dim;
    args_.k_block_stride = args_.v_block_stride = block_size * n_kv_heads * head_dim;
    args_.block_table = block_table;
    args_.block_size = block_size;
    args_.n_blocks = n_blocks;
    return *this;
  }
  AttentionCall& Lse(float* lse) {
    args_.lse = lse;
    return *this;
  }
  AttentionCall& Scale(float scale) {
    args_.scale = scale;
    return *this;
  }  // 0: 1/sqrt(head_dim)
  AttentionCall& Causal(bool causal = true) {
    args_.causal = causal ? 1 : 0;
    return *this;
  }
  AttentionCall& Window(size_t window) {
    args_.window = window;
    return *this;
  }
  AttentionCall& SoftCap(float softcap) {
    args_.softcap = softcap;
    return *this;
  }
  AttentionCall& Alibi(const float* slopes) {
    args_.alibi_slopes = slopes;
    return *this;
  }
  AttentionCall& Sinks(const float* sinks) {
    args_.sinks = sinks;
    return *this;
  }
  // Additive mask, element (h, i, j) at mask[h * head_stride + i * row_stride + j]; head_stride 0 broadcasts.
  template <class TM>
  AttentionCall& Mask(const TM* mask, size_t row_stride, size_t head_stride = 0) {
    args_.mask = mask;
    args_.mask_type = kDtype<TM>;
    args_.mask_row_stride = row_stride;
    args_.mask_head_stride = head_stride;
    return *this;
  }

  Status Run() const { return static_cast<Status>(simdmax_attention(&args_)); }
  const simdmax_attention_args& args() const { return args_; }
  simdmax_attention_args& args() { return args_; }

 private:
  template <class TQ, class TKV, class TO>
  void Shape(const TQ* q, const TKV* k, const TKV* v, TO* out, size_t n_heads, size_t n_kv_heads, size_t n_queries,
             size_t n_keys, size_t head_dim) {
    args_.q = q;
    args_.k = k;
    args_.v = v;
    args_.out = out;
    args_.q_type = kDtype<TQ>;
    args_.kv_type = kDtype<TKV>;
    args_.out_type = kDtype<TO>;
    args_.n_heads = n_heads;
    args_.n_kv_heads = n_kv_heads;
    args_.n_queries = n_queries;
    args_.n_keys = n_keys;
    args_.head_dim = head_dim;
    args_.q_head_stride = args_.out_head_stride = n_queries * head_dim;
    args_.q_row_stride = args_.out_row_stride = head_dim;
  }

  simdmax_attention_args args_;
};

// Several calls scheduled together (simdmax_attention_batch): e.g. the sequences of a decode batch.
inline Status AttentionBatch(const std::vector<AttentionCall>& calls) {
  std::vector<simdmax_attention_args> args;  // the C API takes an array of the structs
  args.reserve(calls.size());
  for (const AttentionCall& call : calls) args.push_back(call.args());
  return static_cast<Status>(simdmax_attention_batch(args.data(), args.size()));
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
