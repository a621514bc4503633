// Attention problems for simdmax_attention / simdmax_attention_batch: a case (shape, types, layout and features)
// becomes owned, deterministic tensors and the simdmax_attention_args that point into them. Shared by
// tests/attention_engine_test.cc, tests/argument_errors_test.cc and tests/concurrency_test.cc.
#ifndef SIMDMAX_TESTS_ATTENTION_PROBLEM_H_
#define SIMDMAX_TESTS_ATTENTION_PROBLEM_H_

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/dtype.h"

namespace simdmax_test {

enum class MaskKind { kNone, kBroadcast, kPerHead };

struct AttentionCase {
  size_t heads = 1, kv_heads = 1, queries = 1, keys = 1, dim = 8;
  simdmax_dtype q_type = SIMDMAX_F32, kv_type = SIMDMAX_F32, out_type = SIMDMAX_F32;
  bool causal = false;
  size_t window = 0;
  float scale = 0.0f;        // passed as is: 0 is the library's default 1/sqrt(dim)
  float q_amplitude = 1.0f;  // q uniform in [-q_amplitude, q_amplitude]; k and v in [-1, 1]
  float softcap = 0.0f;
  bool alibi = false;  // slopes 2^(-8 (h + 1) / heads), the ALiBi paper's
  bool sinks = false;  // uniform in [-1, 3]
  MaskKind mask = MaskKind::kNone;
  simdmax_dtype mask_type = SIMDMAX_F32;
  double mask_hidden = 0.25;  // probability of a -inf mask entry; the others uniform in [-2, 2]
  size_t block_size = 0;      // > 0: paged K/V, shuffled block table over a pool with spare blocks
  bool strided = false;       // interleaved, padded layouts ([row][head][dim]; paged: [block][row][head][dim])
  bool lse = true;            // false: lse NULL
  uint64_t seed = 1;
  // Every field, so that it can key a cache of references.
  std::string Name() const;
};

// Bytes every output element and lse float start as (0x7B7B7B7B: 1.3e36 as f32, 60768 as f16, 1.3e36 as bf16):
// no result of these problems, so an element left unwritten (padding) or written shows.
inline constexpr unsigned char kOutSentinelByte = 0x7B;

class AttentionProblem {
 public:
  explicit AttentionProblem(const AttentionCase& c);
  // Args over this object's buffers (from simdmax_attention_args_init); valid until the object is destroyed.
  // Buffers move with the object, so call it again after a move.
  simdmax_attention_args Args();

  // Output element (h, i, d) widened, lse row (NaN when lse is NULL).
  float Out(size_t h, size_t i, size_t d) const;
  float Lse(size_t h, size_t i) const { return lse_.empty() ? 0.0f : lse_[h * c_.queries + i]; }
  // Whether out element at `index` (of out_type, within the out span) still holds the sentinel bytes.
  bool OutUntouched(size_t index) const;
  size_t OutIndex(size_t h, size_t i, size_t d) const { return h * out_head_stride_ + i * out_row_stride_ + d; }
  size_t OutSpan() const { return out_span_; }
  // Back to the sentinel.
  void ResetOutputs();
  // Bytes of out and lse, for bit-for-bit comparisons.
  const std::vector<unsigned char>& OutBytes() const { return out_; }
  const std::vector<float>& LseValues() const { return lse_; }

  // Input edits (inputs rounded to their types again): q element (h, i, d), mask element (h, i, j).
  void SetQ(size_t h, size_t i, size_t d, float value);
  void SetMask(size_t h, size_t i, size_t j, float value);
  // Every mask entry (h, i, j) (h = 0 only for a broadcast mask) set to value(h, i, j), rounded to the mask type.
  void SetMaskValues(const std::function<float(size_t h, size_t i, size_t j)>& value);

  const AttentionCase& Case() const { return c_; }
  std::vector<float>& Sinks() { return sinks_; }
  const std::vector<float>& Sinks() const { return sinks_; }
  std::vector<float>& Slopes() { return slopes_; }
  std::vector<int32_t>& BlockTable() { return block_table_; }

 private:
  AttentionCase c_;
  size_t q_head_stride_ = 0, q_row_stride_ = 0, out_head_stride_ = 0, out_row_stride_ = 0;
  size_t k_head_stride_ = 0, k_row_stride_ = 0, v_head_stride_ = 0, v_row_stride_ = 0;
  size_t k_block_stride_ = 0, v_block_stride_ = 0, n_blocks_ = 0;
  size_t mask_head_stride_ = 0, mask_row_stride_ = 0;
  size_t out_span_ = 0;
  std::vector<float> q_values_, mask_values_;
  std::optional<TypedBuffer> q_, k_, v_, mask_;
  std::vector<int32_t> block_table_;
  std::vector<float> slopes_, sinks_;
  std::vector<unsigned char> out_;
  std::vector<float> lse_;
};

// The elements of a tensor: sum over its dimensions of (count - 1) * stride, plus the last row; 0 when a count is 0.
size_t TensorSpan(std::initializer_list<std::pair<size_t, size_t>> counts_and_strides, size_t row);

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_ATTENTION_PROBLEM_H_
