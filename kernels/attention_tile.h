// The plain description of the work the dispatch layer hands to the attention kernels (kernels/attention-inl.h).
// No Highway types: shared by every target's code and by dispatch/attention_scheduler.cc. Arguments arrive
// validated; positions, visible ranges and pointers are resolved by the scheduler, so a kernel only walks keys.
#ifndef SIMDMAX_KERNELS_ATTENTION_TILE_H_
#define SIMDMAX_KERNELS_ATTENTION_TILE_H_

#include <stddef.h>
#include <stdint.h>

#include "kernels/element_type.h"

namespace simdmax {

// Query rows processed together against one key/value head: each key and value row is loaded once per tile and
// used for every row in it (the query heads of a GQA group and/or consecutive queries).
inline constexpr size_t kAttentionMaxTileRows = 16;
// Keys scored per step: the score block is kAttentionMaxTileRows x kAttentionKeyBlock floats (4 KiB) on the stack.
// A multiple of every vector length in floats (up to 2048-bit SVE), so score rows are whole vectors.
inline constexpr size_t kAttentionKeyBlock = 64;
// A tile row's output sums blocks of keys in f32 for this many keys, then folds them into a compensated sum
// (kernels/attention-inl.h, TileWalk::kFoldBlocks): tiles whose key range is no longer need no carry scratch.
inline constexpr size_t kAttentionFoldKeys = 8 * kAttentionKeyBlock;

// Where the key and value rows of one kv head are: contiguous (block_table == nullptr: row j at base + j *
// row_stride) or paged (row j at base + block_table[j / block_size] * block_stride + (j % block_size) *
// row_stride). Offsets in elements of the kv type; base already includes the kv head's offset.
struct KeyValueRows {
  const void* k;
  const void* v;
  size_t k_row_stride, v_row_stride;
  const int32_t* block_table;  // nullptr: contiguous
  size_t block_size;
  size_t k_block_stride, v_block_stride;
};

struct AttentionTile {
  size_t rows;                // 1..kAttentionMaxTileRows
  size_t head_dim;            // >= 1
  float scale;                // resolved (never 0 for "default")
  float softcap;              // > 0: s = softcap * tanh(s / softcap); 0: none
  KeyValueRows kv;            // rows typed by the kernel's kv element type
  size_t key_begin, key_end;  // the keys this tile walks (a split-K chunk, or all of them)
  // Additive mask rows (typed by mask_type; element j at mask[r] + j), or has_mask false.
  bool has_mask;
  ElementType mask_type;
  const void* mask[kAttentionMaxTileRows];
  // ALiBi: s += alibi_slope[r] * (j - position[r]) when has_alibi.
  bool has_alibi;
  float alibi_slope[kAttentionMaxTileRows];
  int64_t position[kAttentionMaxTileRows];  // p_i = i + n_keys - n_queries (may be negative)
  const float* q[kAttentionMaxTileRows];    // f32 query rows (the scheduler widens typed q first)
  // Row r sees keys [visible_begin[r], visible_end[r]) (causal and window), intersected with the tile's range; a
  // mask entry of -inf hides a key too.
  size_t visible_begin[kAttentionMaxTileRows];
  size_t visible_end[kAttentionMaxTileRows];
  // Output of the tile kernel, per row: acc = sum_j exp(s_j - max) v_j over the visible keys (unnormalised, head_dim
  // floats, overwritten), and the row's online state: max = -inf, sum = 0, acc = 0 when it sees no key; sum = NaN
  // (max NaN) when a visible score was NaN or +inf, or a raw score q.k * scale was not finite (simdmax.h, special
  // values).
  float* acc[kAttentionMaxTileRows];
  // Scratch of 2 * head_dim floats per row (overwritten; read only by rows that see more than
  // kAttentionFoldKeys keys of the tile's range): the compensated running sum (hi, lo) that acc is folded into
  // (kernels/attention-inl.h, TileWalk::kFoldBlocks).
  float* carry[kAttentionMaxTileRows];
  float max[kAttentionMaxTileRows];
  double sum[kAttentionMaxTileRows];
};

// Runs `count` tiles (1..kAttentionMaxLockstepTiles) with their key blocks interleaved: each tile's result is the
// one it gets alone, bit for bit (the scheduler groups the kv heads of one key range so that a paged pool's rows of
// those keys, which hold every kv head side by side, are read together).
inline constexpr size_t kAttentionMaxLockstepTiles = 8;
using AttentionTileKernel = void (*)(AttentionTile* tiles, size_t count);

// The most partial results one merge takes (the scheduler's split-K chunks per row are capped below it).
inline constexpr size_t kAttentionMaxMergeParts = 64;

// Combines `parts` (1..kAttentionMaxMergeParts) partial results of one query row over disjoint key ranges, in index
// order, with an optional sink
// logit (-inf: none): M = max(max_c, sink), S = sum_c sum_c exp(max_c - M) + exp(sink - M),
// out = sum_c acc_c * exp(max_c - M) / S, *lse = M + log(S). A row whose parts are all empty gets out = 0 and *lse
// = sink (-inf without a sink); any NaN part sum gives out = NaN and *lse = NaN. Part c's acc is at acc + c *
// acc_stride; out is head_dim elements of the kernel's output type (rounded to nearest even). With parts == 1 and
// an f32 output, acc may equal out (in place).
using AttentionMergeKernel = void (*)(const float* acc, size_t acc_stride, const float* max, const double* sum,
                                      size_t parts, size_t head_dim, float sink, void* out, float* lse);

// Widens n elements of the kernel's input type to f32 (exact): typed q rows for the tiles.
using WidenRowKernel = void (*)(const void* x, float* y, size_t n);

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ATTENTION_TILE_H_
