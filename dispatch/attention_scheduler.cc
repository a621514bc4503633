#include "dispatch/attention_scheduler.h"

#include <stdint.h>

#include <algorithm>
#include <new>
#include <vector>

#include "dispatch/thread_pool.h"

namespace simdmax {
namespace {

// Work (multiply-adds) below which the call stays on the calling thread: about the cost of waking a worker.
constexpr size_t kMinParallelWork = size_t{1} << 20;

// The tiling: a tile is (kv head, block of query heads of its group, block of queries); its rows are head-major.
struct Tiling {
  size_t group;           // query heads per kv head
  size_t heads_per_tile;  // <= kAttentionMaxTileRows
  size_t queries_per_tile;
  size_t head_blocks;
  size_t query_blocks;
  size_t tiles;
  explicit Tiling(const simdmax_attention_desc& desc) {
    group = desc.n_heads / desc.n_kv_heads;
    heads_per_tile = std::min(group, kAttentionMaxTileRows);
    queries_per_tile = std::max<size_t>(1, kAttentionMaxTileRows / heads_per_tile);
    head_blocks = (group + heads_per_tile - 1) / heads_per_tile;
    query_blocks = (desc.n_queries + queries_per_tile - 1) / queries_per_tile;
    tiles = desc.n_kv_heads * head_blocks * query_blocks;
  }
};

// Keys [0, end) visible to query i: all of them, or with causal masking aligned to the end,
// j <= i + (n_keys - n_queries).
size_t VisibleEnd(const simdmax_attention_desc& desc, size_t i) {
  if (!desc.causal) return desc.n_keys;
  if (i + 1 + desc.n_keys <= desc.n_queries) return 0;
  return std::min(desc.n_keys, i + 1 + desc.n_keys - desc.n_queries);
}

// Split-K partials (max, sum, acc per row and chunk). Kept per calling thread and reused, growing to the largest
// decode seen, so that a steady stream of decode calls allocates nothing after the first; each call uses only its
// own thread's buffers, so concurrent calls from different threads never share them.
struct SplitKScratch {
  std::vector<float> acc;
  std::vector<float> max;
  std::vector<double> sum;
};

size_t CheckedProduct(size_t a, size_t b) {
  if (b != 0 && a > SIZE_MAX / b) throw std::bad_alloc();
  return a * b;
}

SplitKScratch& ThreadScratch() {
  thread_local SplitKScratch scratch;
  return scratch;
}

class AttentionRun {
 public:
  AttentionRun(const AttentionKernels& kernels, const simdmax_attention_desc& desc, const float* q, const float* k,
               const float* v, float* out, float* lse)
      : kernels_(kernels), desc_(desc), tiling_(desc), q_(q), k_(k), v_(v), out_(out), lse_(lse) {
    const bool split = desc.n_queries <= kAttentionSplitMaxQueries && desc.n_keys >= 2 * kAttentionKeyChunk;
    chunks_ = split ? (desc.n_keys + kAttentionKeyChunk - 1) / kAttentionKeyChunk : 1;
  }

  // Sizes the split-K partials, before anything is written. Throws std::bad_alloc when they cannot be allocated
  // (simdmax_attention_f32 reports SIMDMAX_ERROR_OUT_OF_MEMORY), including sizes past size_t or the vector's
  // max_size (a valid but enormous decode), which would otherwise wrap or throw std::length_error.
  void Allocate() {
    if (chunks_ == 1) return;
    const size_t rows = desc_.n_heads * desc_.n_queries;  // <= the q span, checked to fit in size_t
    const size_t partials = CheckedProduct(rows, chunks_);
    const size_t acc = CheckedProduct(partials, desc_.head_dim);
    if (acc > scratch_.acc.max_size() || partials > scratch_.sum.max_size()) throw std::bad_alloc();
    scratch_.acc.resize(std::max(scratch_.acc.size(), acc));
    scratch_.max.resize(std::max(scratch_.max.size(), partials));
    scratch_.sum.resize(std::max(scratch_.sum.size(), partials));
  }

  void Run() {
    const size_t rows = desc_.n_heads * desc_.n_queries;
    const size_t work = rows * std::max<size_t>(desc_.n_keys, 1) * desc_.head_dim;
    const bool parallel = work >= kMinParallelWork;
    if (chunks_ == 1) {
      ParallelFor(tiling_.tiles, parallel, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) RunTile(t, 0);
      });
      return;
    }
    // Split-K: partial (max, sum, acc) per row and chunk, then a merge per row in chunk order.
    ParallelFor(tiling_.tiles * chunks_, parallel, [&](size_t begin, size_t end) {
      for (size_t task = begin; task < end; ++task) RunTile(task / chunks_, task % chunks_);
    });
    ParallelFor(rows, parallel, [&](size_t begin, size_t end) {
      for (size_t row = begin; row < end; ++row) {
        const size_t h = row / desc_.n_queries, i = row % desc_.n_queries;
        float lse_dummy;
        kernels_.merge(&scratch_.acc[row * chunks_ * desc_.head_dim], desc_.head_dim, &scratch_.max[row * chunks_],
                       &scratch_.sum[row * chunks_], chunks_, desc_.head_dim, OutRow(h, i),
                       lse_ != nullptr ? &lse_[row] : &lse_dummy);
      }
    });
  }

 private:
  float* OutRow(size_t h, size_t i) const { return out_ + h * desc_.out_head_stride + i * desc_.out_row_stride; }

  void RunTile(size_t tile_index, size_t chunk) {
    const size_t query_block = tile_index % tiling_.query_blocks;
    const size_t head_block = (tile_index / tiling_.query_blocks) % tiling_.head_blocks;
    const size_t kv_head = tile_index / (tiling_.query_blocks * tiling_.head_blocks);
    const size_t h_begin = kv_head * tiling_.group + head_block * tiling_.heads_per_tile;
    const size_t h_end = std::min(h_begin + tiling_.heads_per_tile, (kv_head + 1) * tiling_.group);
    const size_t i_begin = query_block * tiling_.queries_per_tile;
    const size_t i_end = std::min(i_begin + tiling_.queries_per_tile, desc_.n_queries);

    AttentionTile tile;
    tile.head_dim = desc_.head_dim;
    tile.scale = desc_.scale;
    tile.k = k_ == nullptr ? nullptr : k_ + kv_head * desc_.k_head_stride;
    tile.k_row_stride = desc_.k_row_stride;
    tile.v = v_ == nullptr ? nullptr : v_ + kv_head * desc_.v_head_stride;
    tile.v_row_stride = desc_.v_row_stride;
    tile.key_begin = chunk * kAttentionKeyChunk;
    tile.key_end = chunks_ == 1 ? desc_.n_keys : std::min(desc_.n_keys, tile.key_begin + kAttentionKeyChunk);
    size_t r = 0;
    size_t row_ids[kAttentionMaxTileRows];
    for (size_t h = h_begin; h < h_end; ++h) {
      for (size_t i = i_begin; i < i_end; ++i, ++r) {
        const size_t row = h * desc_.n_queries + i;
        row_ids[r] = row;
        tile.q[r] = q_ + h * desc_.q_head_stride + i * desc_.q_row_stride;
        tile.visible_end[r] = VisibleEnd(desc_, i);
        // Without split the output row is the accumulator, normalised in place below.
        tile.acc[r] = chunks_ == 1 ? OutRow(h, i) : &scratch_.acc[(row * chunks_ + chunk) * desc_.head_dim];
      }
    }
    tile.rows = r;
    kernels_.tile(tile);
    for (r = 0; r < tile.rows; ++r) {
      const size_t row = row_ids[r];
      if (chunks_ == 1) {
        float lse_dummy;
        kernels_.merge(tile.acc[r], 0, &tile.max[r], &tile.sum[r], 1, desc_.head_dim, tile.acc[r],
                       lse_ != nullptr ? &lse_[row] : &lse_dummy);
      } else {
        scratch_.max[row * chunks_ + chunk] = tile.max[r];
        scratch_.sum[row * chunks_ + chunk] = tile.sum[r];
      }
    }
  }

  const AttentionKernels& kernels_;
  const simdmax_attention_desc& desc_;
  const Tiling tiling_;
  const float* q_;
  const float* k_;
  const float* v_;
  float* out_;
  float* lse_;
  size_t chunks_;
  SplitKScratch& scratch_ = ThreadScratch();
};

}  // namespace

void RunAttention(const AttentionKernels& kernels, const simdmax_attention_desc& desc, const float* q, const float* k,
                  const float* v, float* out, float* lse) {
  AttentionRun run(kernels, desc, q, k, v, out, lse);
  run.Allocate();
  run.Run();
}

}  // namespace simdmax
