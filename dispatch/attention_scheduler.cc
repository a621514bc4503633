#include "dispatch/attention_scheduler.h"

#include <stdint.h>

#include <algorithm>
#include <limits>
#include <new>
#include <vector>

#include "dispatch/argument_checks.h"
#include "dispatch/thread_pool.h"
#include "kernels/element_type.h"

namespace simdmax {
namespace {

// Work (multiply-adds) below which the call stays on the calling thread: about the cost of waking a worker.
constexpr size_t kMinParallelWork = size_t{1} << 20;

// The validated type fields, read through their int bits (see DtypeBits).
ElementType TypeOf(const simdmax_dtype& type) { return static_cast<ElementType>(DtypeBits(type)); }

size_t CheckedProduct(size_t a, size_t b) {
  if (b != 0 && a > SIZE_MAX / b) throw std::bad_alloc();
  return a * b;
}
size_t CheckedSum(size_t a, size_t b) {
  if (a > SIZE_MAX - b) throw std::bad_alloc();
  return a + b;
}

// The tiling of one call: a tile is (kv head, block of query heads of its group, block of queries); its rows are
// head-major.
struct Tiling {
  size_t group = 0;           // query heads per kv head
  size_t heads_per_tile = 0;  // <= kAttentionMaxTileRows
  size_t queries_per_tile = 0;
  size_t head_blocks = 0;
  size_t query_blocks = 0;
  size_t tiles = 0;
  explicit Tiling(const simdmax_attention_args& a) {
    group = a.n_heads / a.n_kv_heads;
    heads_per_tile = std::min(group, kAttentionMaxTileRows);
    queries_per_tile = std::max<size_t>(1, kAttentionMaxTileRows / heads_per_tile);
    head_blocks = (group + heads_per_tile - 1) / heads_per_tile;
    query_blocks = (a.n_queries + queries_per_tile - 1) / queries_per_tile;
    tiles = a.n_kv_heads * head_blocks * query_blocks;
  }
  // Tile tasks: kv_groups groups of kv_heads_per_task kv heads (their tiles walk in lockstep) for every head and
  // query block, per key chunk.
  size_t kv_heads_per_task = 1;
  size_t TasksPerChunk(size_t n_kv_heads) const {
    return (n_kv_heads + kv_heads_per_task - 1) / kv_heads_per_task * head_blocks * query_blocks;
  }
};

// Keys [begin, end) visible to query i by position (causal, window); the mask hides more inside the kernel.
// Positions are signed: p_i = i + n_keys - n_queries is negative for the first queries when n_queries > n_keys.
// (The argument checks bound n_keys and n_queries by 2^62, so none of this overflows.)
void VisibleRange(const simdmax_attention_args& a, size_t i, size_t* begin, size_t* end) {
  const int64_t n_keys = static_cast<int64_t>(a.n_keys);
  const int64_t p = static_cast<int64_t>(i) + n_keys - static_cast<int64_t>(a.n_queries);
  int64_t lo = 0, hi = n_keys;
  if (a.causal) hi = std::min(hi, p + 1);
  if (a.window > 0) {
    // A window past every distance hides nothing; clamping it keeps p +- window in range.
    const int64_t w = static_cast<int64_t>(std::min<size_t>(a.window, a.n_keys + a.n_queries + 1));
    lo = std::max(lo, p - w + 1);             // p - j < window
    if (!a.causal) hi = std::min(hi, p + w);  // j - p < window
  }
  lo = std::min(std::max<int64_t>(lo, 0), n_keys);
  hi = std::max(hi, lo);
  *begin = static_cast<size_t>(lo);
  *end = static_cast<size_t>(hi);
}

// How many kv heads one tile task walks in lockstep (AttentionTileKernel). Speed only: every tile's result is the
// same alone or in a group. A paged pool keeps the rows of all kv heads of a key side by side
// ([block][row][kv head][dim]), so tiles walked one kv head at a time read one slice of every row (512 B of every
// 4 KiB for 8 f32 heads of 128) and come back for the next slice later; walked together they read the rows whole.
// Zen 4, decode 32/8 heads, head_dim 128, 32K keys, GB/s of K+V (one kv head / 8 in lockstep): bf16 paged16 9.6 ->
// 13.1 at 1 thread, 14.7 -> 23.2 at 2; f32 13.3 -> 14.1 and 19.3 -> 23.4; no change at 4K keys (in L3).
// Contiguous K/V ([kv head][key][dim]) lost 3-10%, so they keep one kv head per task. Groups shrink while there
// would be fewer than kLockstepTasksPerThread tasks per thread, which keeps the threads busy.
constexpr size_t kLockstepTasksPerThread = 4;
size_t KvHeadsPerTask(const simdmax_attention_args& a, size_t tile_tasks, size_t threads) {
  if (a.block_table == nullptr) return 1;
  const size_t by_balance = tile_tasks / (kLockstepTasksPerThread * std::max<size_t>(threads, 1));
  return std::max<size_t>(1, std::min({a.n_kv_heads, kAttentionMaxLockstepTiles, by_balance}));
}

// Per calling thread and reused by its next call while small (see kAttentionRetainedScratchBytes); each call uses
// only its own thread's buffers, so concurrent calls from different threads never share them.
struct Scratch {
  std::vector<float> floats;  // widened q, f32 accumulators, split-K partial outputs and maxima
  std::vector<double> sums;   // split-K partial sums
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// One call of the batch, planned.
struct Plan {
  const simdmax_attention_args* args = nullptr;
  float scale = 0.0f;
  Tiling tiling;
  size_t rows = 0;        // n_heads * n_queries
  size_t chunks = 1;      // split-K chunks (1: no split)
  size_t chunk_keys = 0;  // keys per chunk when split
  // Offsets into Scratch::floats (SIZE_MAX: not used) and Scratch::sums.
  size_t q32 = SIZE_MAX;  // widened q, [h][i][d]
  size_t acc = SIZE_MAX;  // split: [row][chunk][d]; unsplit half outputs: [row][d]
  size_t max = SIZE_MAX;  // split: [row][chunk]
  size_t sum = SIZE_MAX;  // split: [row][chunk]
  size_t first_tile_task = 0, first_merge_row = 0, first_widen_row = 0;
  Plan(const AttentionProblem& problem, size_t threads)
      : args(problem.args), scale(problem.scale), tiling(*problem.args) {
    const simdmax_attention_args& a = *args;
    rows = a.n_heads * a.n_queries;  // <= the q span, checked to fit in size_t
    if (a.n_queries <= kAttentionSplitMaxQueries && a.n_keys >= 2 * kAttentionKeyChunk) {
      const size_t per_chunk = (a.n_keys + kAttentionMaxChunks - 1) / kAttentionMaxChunks;
      chunk_keys =
          std::max(kAttentionKeyChunk, (per_chunk + kAttentionKeyBlock - 1) / kAttentionKeyBlock * kAttentionKeyBlock);
      chunks = (a.n_keys + chunk_keys - 1) / chunk_keys;
    }
    tiling.kv_heads_per_task = KvHeadsPerTask(a, tiling.tiles * chunks, threads);
  }
  bool Split() const { return chunks > 1; }
  // Whether its tiles' key ranges are long enough to need AttentionTile::carry.
  bool NeedsCarry() const { return (Split() ? chunk_keys : args->n_keys) > kAttentionFoldKeys; }
  size_t TasksPerChunk() const { return tiling.TasksPerChunk(args->n_kv_heads); }
  size_t TileTasks() const { return TasksPerChunk() * chunks; }
  size_t MergeRows() const { return Split() ? rows : 0; }
  size_t WidenRows() const { return q32 != SIZE_MAX ? rows : 0; }
};

std::vector<Plan>& ThreadPlans() {
  thread_local std::vector<Plan> plans;
  return plans;
}

class AttentionRun {
 public:
  AttentionRun(const KernelTable& kernels, const AttentionProblem* problems, size_t count)
      : kernels_(kernels), scratch_(ThreadScratch()), plans_(ThreadPlans()) {
    plans_.clear();
    plans_.reserve(count);
    const size_t threads = ThreadsAvailable();
    for (size_t p = 0; p < count; ++p) plans_.emplace_back(problems[p], threads);
  }

  // Sizes the scratch and the task ranges, before anything is written. Throws std::bad_alloc when the scratch
  // cannot be allocated (the C API reports SIMDMAX_ERROR_OUT_OF_MEMORY), including sizes past size_t or the
  // vector's max_size (a valid but enormous call), which would otherwise wrap or throw std::length_error.
  void Allocate() {
    size_t floats = 0, sums = 0;
    for (Plan& plan : plans_) {
      const simdmax_attention_args& a = *plan.args;
      // Every plan gets its place in every index range (an empty range for a phase it has no part in), so the
      // starts stay sorted for ForEach's search.
      plan.first_tile_task = tile_tasks_;
      plan.first_merge_row = merge_rows_;
      plan.first_widen_row = widen_rows_;
      tile_tasks_ = CheckedSum(tile_tasks_, plan.TileTasks());
      merge_rows_ += plan.MergeRows();
      const size_t row_floats = CheckedProduct(plan.rows, a.head_dim);
      if (TypeOf(a.q_type) != ElementType::kF32) {
        plan.q32 = floats;
        floats = CheckedSum(floats, row_floats);
        widen_rows_ += plan.rows;
      }
      if (plan.Split()) {
        const size_t partials = CheckedProduct(plan.rows, plan.chunks);
        plan.acc = floats;
        floats = CheckedSum(floats, CheckedProduct(partials, a.head_dim));
        plan.max = floats;
        floats = CheckedSum(floats, partials);
        plan.sum = sums;
        sums = CheckedSum(sums, partials);
      } else if (TypeOf(a.out_type) != ElementType::kF32) {
        plan.acc = floats;
        floats = CheckedSum(floats, row_floats);
      }
      if (plan.NeedsCarry()) {
        carry_per_slot_ = std::max(
            carry_per_slot_, CheckedProduct(plan.tiling.kv_heads_per_task * kAttentionMaxTileRows * 2, a.head_dim));
      }
      // Multiply-adds, saturating (only compared with kMinParallelWork).
      const size_t keys = std::max<size_t>(a.n_keys, 1);
      const size_t work = row_floats > SIZE_MAX / keys ? SIZE_MAX : row_floats * keys;
      work_ = work > SIZE_MAX - work_ ? SIZE_MAX : work_ + work;
    }
    // The tiles' carries live only while a task runs: one task's worth per thread slot, not one per output row.
    carry_ = floats;
    floats = CheckedSum(floats, CheckedProduct(carry_per_slot_, loop_.Slots()));
    if (floats > scratch_.floats.max_size() || sums > scratch_.sums.max_size()) throw std::bad_alloc();
    if (floats > scratch_.floats.size()) scratch_.floats.resize(floats);
    if (sums > scratch_.sums.size()) scratch_.sums.resize(sums);
  }

  void Run() {
    const bool parallel = work_ >= kMinParallelWork;
    if (widen_rows_ > 0) {
      ForEach(widen_rows_, &Plan::first_widen_row, &Plan::WidenRows, parallel,
              [&](const Plan& plan, size_t row, size_t) { WidenQueryRow(plan, row); });
    }
    // Tile tasks are chunk-major: the tasks (kv heads, KvHeadsPerTask) of one split-K chunk are neighbours, so one
    // thread walks a chunk's keys for every kv head before the next chunk. In a paged pool ([block][row][kv head][dim])
    // every key of a kv head sits on its own page (4 KiB apart for 8 f32 heads of 128), and a chunk's pages (2 x 1024)
    // stay in the TLB for all kv heads, where kv-head-major order walked every page of the sequence once per kv head
    // (decode at 32K keys: paged 1.2-1.5x faster, contiguous unchanged). Any order gives the same bits.
    ForEach(tile_tasks_, &Plan::first_tile_task, &Plan::TileTasks, parallel,
            [&](const Plan& plan, size_t task, size_t slot) { RunTiles(plan, task, slot); });
    if (merge_rows_ > 0) {
      ForEach(merge_rows_, &Plan::first_merge_row, &Plan::MergeRows, parallel,
              [&](const Plan& plan, size_t row, size_t) { MergeRow(plan, row); });
    }
  }

  ~AttentionRun() {
    const size_t bytes = scratch_.floats.capacity() * sizeof(float) + scratch_.sums.capacity() * sizeof(double);
    if (bytes > kAttentionRetainedScratchBytes) {
      std::vector<float>().swap(scratch_.floats);
      std::vector<double>().swap(scratch_.sums);
    }
  }

 private:
  // Calls fn(plan, local index, thread slot) for every index of `total` = the concatenation of each plan's range
  // (first, count), in parallel over the indices. Each index's result is independent of the others and of how the
  // indices are grouped into tasks, so the result does not depend on the thread count.
  template <class Fn>
  void ForEach(size_t total, size_t Plan::*first, size_t (Plan::*count)() const, bool parallel, const Fn& fn) {
    loop_.Run(total, parallel, [&](size_t begin, size_t end, size_t slot) {
      // The plan holding index `begin`: the last one starting at or before it (plans with no index are skipped).
      size_t p =
          static_cast<size_t>(std::upper_bound(plans_.begin(), plans_.end(), begin,
                                               [&](size_t index, const Plan& plan) { return index < plan.*first; }) -
                              plans_.begin()) -
          1;
      for (size_t index = begin; index < end; ++index) {
        while (index >= plans_[p].*first + (plans_[p].*count)()) ++p;
        fn(plans_[p], index - plans_[p].*first, slot);
      }
    });
  }

  static void* OutRow(const simdmax_attention_args& a, size_t h, size_t i) {
    return AdvanceElements(a.out, h * a.out_head_stride + i * a.out_row_stride, TypeOf(a.out_type));
  }
  static float SinkOf(const simdmax_attention_args& a, size_t h) {
    return a.sinks != nullptr ? a.sinks[h] : -std::numeric_limits<float>::infinity();
  }

  void WidenQueryRow(const Plan& plan, size_t row) {
    const simdmax_attention_args& a = *plan.args;
    const size_t h = row / a.n_queries, i = row % a.n_queries;
    const void* q = AdvanceElements(a.q, h * a.q_head_stride + i * a.q_row_stride, TypeOf(a.q_type));
    kernels_.ForType(TypeOf(a.q_type)).widen_row(q, &scratch_.floats[plan.q32 + row * a.head_dim], a.head_dim);
  }

  // Tile task `task` of a plan: its kv heads' tiles for one head block, query block and key chunk, run by one
  // kernel call, then each row's state stored (split) or merged into the output.
  void RunTiles(const Plan& plan, size_t task, size_t slot) {
    const simdmax_attention_args& a = *plan.args;
    const Tiling& tiling = plan.tiling;
    const size_t chunk = task / plan.TasksPerChunk();
    const size_t in_chunk = task % plan.TasksPerChunk();
    const size_t blocks = tiling.head_blocks * tiling.query_blocks;
    const size_t kv_begin = in_chunk / blocks * tiling.kv_heads_per_task;
    const size_t kv_end = std::min(kv_begin + tiling.kv_heads_per_task, a.n_kv_heads);
    AttentionTile tiles[kAttentionMaxLockstepTiles];
    size_t row_ids[kAttentionMaxLockstepTiles][kAttentionMaxTileRows];
    for (size_t kv_head = kv_begin; kv_head < kv_end; ++kv_head) {
      float* carry = plan.NeedsCarry() ? &scratch_.floats[carry_ + slot * carry_per_slot_ +
                                                          (kv_head - kv_begin) * kAttentionMaxTileRows * 2 * a.head_dim]
                                       : nullptr;
      FillTile(plan, kv_head, in_chunk % blocks, chunk, carry, &tiles[kv_head - kv_begin], row_ids[kv_head - kv_begin]);
    }
    kernels_.ForType(TypeOf(a.kv_type)).attention_tile(tiles, kv_end - kv_begin);
    const AttentionMergeKernel merge = kernels_.ForType(TypeOf(a.out_type)).attention_merge;
    for (size_t g = 0; g < kv_end - kv_begin; ++g) {
      const AttentionTile& tile = tiles[g];
      for (size_t r = 0; r < tile.rows; ++r) {
        const size_t row = row_ids[g][r];
        const size_t h = row / a.n_queries, i = row % a.n_queries;
        if (plan.Split()) {
          scratch_.floats[plan.max + row * plan.chunks + chunk] = tile.max[r];
          scratch_.sums[plan.sum + row * plan.chunks + chunk] = tile.sum[r];
        } else {
          float lse_dummy;
          merge(tile.acc[r], 0, &tile.max[r], &tile.sum[r], 1, a.head_dim, SinkOf(a, h), OutRow(a, h, i),
                a.lse != nullptr ? &a.lse[row] : &lse_dummy);
        }
      }
    }
  }

  // The tile of kv head `kv_head`, head and query block `block` (head-block-major) and key chunk `chunk`; row_ids
  // receives the output row (h * n_queries + i) of each tile row; carry: kAttentionMaxTileRows * 2 * head_dim floats
  // (null when the plan needs none).
  void FillTile(const Plan& plan, size_t kv_head, size_t block, size_t chunk, float* carry, AttentionTile* out,
                size_t* row_ids) {
    const simdmax_attention_args& a = *plan.args;
    const Tiling& tiling = plan.tiling;
    const ElementType kv_type = TypeOf(a.kv_type);
    const size_t query_block = block % tiling.query_blocks;
    const size_t head_block = block / tiling.query_blocks;
    const size_t h_begin = kv_head * tiling.group + head_block * tiling.heads_per_tile;
    const size_t h_end = std::min(h_begin + tiling.heads_per_tile, (kv_head + 1) * tiling.group);
    const size_t i_begin = query_block * tiling.queries_per_tile;
    const size_t i_end = std::min(i_begin + tiling.queries_per_tile, a.n_queries);
    const size_t dim = a.head_dim;

    AttentionTile& tile = *out;
    tile.head_dim = dim;
    tile.scale = plan.scale;
    tile.softcap = a.softcap;
    const bool has_keys = a.n_keys != 0;  // k and v may be NULL otherwise
    tile.kv.k = has_keys ? AdvanceElements(a.k, kv_head * a.k_head_stride, kv_type) : nullptr;
    tile.kv.v = has_keys ? AdvanceElements(a.v, kv_head * a.v_head_stride, kv_type) : nullptr;
    tile.kv.k_row_stride = a.k_row_stride;
    tile.kv.v_row_stride = a.v_row_stride;
    tile.kv.block_table = a.block_table;
    tile.kv.block_size = a.block_size;
    tile.kv.k_block_stride = a.k_block_stride;
    tile.kv.v_block_stride = a.v_block_stride;
    tile.key_begin = chunk * plan.chunk_keys;
    tile.key_end = plan.Split() ? std::min(a.n_keys, tile.key_begin + plan.chunk_keys) : a.n_keys;
    tile.has_mask = a.mask != nullptr;
    tile.mask_type = TypeOf(a.mask_type);
    tile.has_alibi = a.alibi_slopes != nullptr;
    size_t r = 0;
    for (size_t h = h_begin; h < h_end; ++h) {
      for (size_t i = i_begin; i < i_end; ++i, ++r) {
        const size_t row = h * a.n_queries + i;
        row_ids[r] = row;
        tile.q[r] = plan.q32 != SIZE_MAX ? &scratch_.floats[plan.q32 + row * dim]
                                         : static_cast<const float*>(a.q) + h * a.q_head_stride + i * a.q_row_stride;
        VisibleRange(a, i, &tile.visible_begin[r], &tile.visible_end[r]);
        tile.position[r] = static_cast<int64_t>(i) + static_cast<int64_t>(a.n_keys) - static_cast<int64_t>(a.n_queries);
        tile.alibi_slope[r] = tile.has_alibi ? a.alibi_slopes[h] : 0.0f;
        tile.mask[r] = tile.has_mask
                           ? AdvanceElements(a.mask, h * a.mask_head_stride + i * a.mask_row_stride, tile.mask_type)
                           : nullptr;
        tile.carry[r] = carry != nullptr ? carry + r * 2 * dim : nullptr;
        if (plan.Split()) {
          tile.acc[r] = &scratch_.floats[plan.acc + (row * plan.chunks + chunk) * dim];
        } else if (plan.acc != SIZE_MAX) {
          tile.acc[r] = &scratch_.floats[plan.acc + row * dim];
        } else {  // f32 output: the output row is the accumulator, normalised in place below
          tile.acc[r] = static_cast<float*>(OutRow(a, h, i));
        }
      }
    }
    tile.rows = r;
  }

  void MergeRow(const Plan& plan, size_t row) {
    const simdmax_attention_args& a = *plan.args;
    const size_t h = row / a.n_queries, i = row % a.n_queries;
    float lse_dummy;
    kernels_.ForType(TypeOf(a.out_type))
        .attention_merge(&scratch_.floats[plan.acc + row * plan.chunks * a.head_dim], a.head_dim,
                         &scratch_.floats[plan.max + row * plan.chunks], &scratch_.sums[plan.sum + row * plan.chunks],
                         plan.chunks, a.head_dim, SinkOf(a, h), OutRow(a, h, i),
                         a.lse != nullptr ? &a.lse[row] : &lse_dummy);
  }

  const KernelTable& kernels_;
  const SlotParallelFor loop_;
  Scratch& scratch_;
  std::vector<Plan>& plans_;  // per calling thread, reused (no allocation per decode after the first)
  size_t tile_tasks_ = 0, merge_rows_ = 0, widen_rows_ = 0;
  size_t work_ = 0;
  size_t carry_ = 0, carry_per_slot_ = 0;  // the carries: Scratch::floats offset, floats per thread slot
};

}  // namespace

void RunAttention(const KernelTable& kernels, const AttentionProblem* problems, size_t count) {
  AttentionRun run(kernels, problems, count);
  run.Allocate();
  run.Run();
}

}  // namespace simdmax
