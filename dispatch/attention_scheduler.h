// Schedules simdmax_attention, simdmax_attention_batch and simdmax_attention_f32: tiles of query rows over (kv head,
// query block) tasks of every call in a batch, and for decode (few queries, many keys) fixed-size key chunks whose
// partial states are merged in a fixed order. Arguments arrive validated.
#ifndef SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_
#define SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_

#include <stddef.h>

#include "dispatch/kernel_table.h"
#include "simdmax/simdmax.h"

namespace simdmax {

// Keys per split-K chunk: at least this many, more for contexts past kAttentionMaxChunks * kAttentionKeyChunk keys
// so that the partials stay bounded. Derived from n_keys alone (never from the thread count or the batch), so the
// chunking, and with it every bit of the result, is the same for every thread count and batch composition.
inline constexpr size_t kAttentionKeyChunk = 1024;
inline constexpr size_t kAttentionMaxChunks = 64;
static_assert(kAttentionMaxChunks <= kAttentionMaxMergeParts, "the merge kernel takes at most this many parts");
// Split the keys only when there are at most this many queries per head (decode, speculative decode) and at least
// two chunks of keys: with more queries the (head, query block) tasks already fill the threads.
inline constexpr size_t kAttentionSplitMaxQueries = 8;
// Scratch kept per calling thread for the next call while it stays at or under this size; released after a call
// that needed more.
inline constexpr size_t kAttentionRetainedScratchBytes = size_t{64} << 20;

// One validated call with work to do (n_heads, n_queries, head_dim >= 1) and its resolved scale (0 in the
// arguments means 1/sqrt(head_dim) for simdmax_attention; simdmax_attention_f32 passes its scale as is).
struct AttentionProblem {
  const simdmax_attention_args* args;
  float scale;
};

// Computes out (and lse when not NULL) of every problem. Throws std::bad_alloc, having written nothing, when the
// scratch (split-K partials, widened q, f32 accumulators for half outputs) cannot be allocated; std::bad_alloc or
// another exception from TBB may also come from the parallel run itself (the C API turns them into statuses).
void RunAttention(const KernelTable& kernels, const AttentionProblem* problems, size_t count);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_
