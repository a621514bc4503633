// The plain description of the work the dispatch layer hands to the attention kernels (kernels/attention-inl.h).
// No Highway types: shared by every target's code and by dispatch/attention_scheduler.cc. Arguments arrive
// validated.
#ifndef SIMDMAX_KERNELS_ATTENTION_TILE_H_
#define SIMDMAX_KERNELS_ATTENTION_TILE_H_

#include <stddef.h>

namespace simdmax {

// Query rows processed together against one key/value head: each key and value row is loaded once per tile and
// used for every row in it (the query heads of a GQA group and/or consecutive queries).
inline constexpr size_t kAttentionMaxTileRows = 16;
// Keys scored per step: the score block is kAttentionMaxTileRows x kAttentionKeyBlock floats (4 KiB) on the stack.
inline constexpr size_t kAttentionKeyBlock = 64;

struct AttentionTile {
  size_t rows;      // 1..kAttentionMaxTileRows
  size_t head_dim;  // >= 1
  float scale;
  const float* k;  // row 0 of the key head; key j at k + j * k_row_stride
  size_t k_row_stride;
  const float* v;  // likewise
  size_t v_row_stride;
  size_t key_begin, key_end;  // the keys this tile walks
  const float* q[kAttentionMaxTileRows];
  // Row r sees keys [key_begin, min(key_end, visible_end[r])) (causal masking; n_keys when not causal).
  size_t visible_end[kAttentionMaxTileRows];
  // Output of the tile kernel, per row: acc = sum_j exp(s_j - max) v_j over the visible keys (unnormalised, head_dim
  // floats, overwritten), and the row's online state (max = -inf, sum = 0, acc = 0 when it sees no key).
  float* acc[kAttentionMaxTileRows];
  float max[kAttentionMaxTileRows];
  double sum[kAttentionMaxTileRows];
};

using AttentionTileKernel = void (*)(AttentionTile& tile);

// Combines `parts` partial results of one query row over disjoint key ranges, in index order:
// out = sum_c acc_c * exp(max_c - M) / S, S = sum_c sum_c' exp(max_c - M), *lse = M + log(S); a row whose parts are
// all empty gets out = 0 and *lse = -inf. Part c's acc is at acc + c * acc_stride. With parts == 1, acc may equal
// out (in place).
using AttentionMergeKernel = void (*)(const float* acc, size_t acc_stride, const float* max, const double* sum,
                                      size_t parts, size_t head_dim, float* out, float* lse);

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ATTENTION_TILE_H_
