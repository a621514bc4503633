// Schedules simdmax_attention_f32: tiles of query rows over (kv head, query block) tasks, and for decode (few
// queries, many keys) fixed-size key chunks whose partial states are merged in a fixed order. Arguments arrive
// validated.
#ifndef SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_
#define SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_

#include <stddef.h>

#include "kernels/attention_tile.h"
#include "simdmax/simdmax.h"

namespace simdmax {

// Keys per split-K chunk. Fixed (never derived from the thread count), so the chunking, and with it every bit of
// the result, is the same for every thread count.
inline constexpr size_t kAttentionKeyChunk = 1024;
// Split the keys only when there are at most this many queries per head (decode, speculative decode) and at least
// two chunks of keys: with more queries the (head, query block) tasks already fill the threads.
inline constexpr size_t kAttentionSplitMaxQueries = 8;

struct AttentionKernels {
  AttentionTileKernel tile;
  AttentionMergeKernel merge;
};

// Computes out (and lse when not NULL) for a validated, non-empty problem (n_heads, n_queries, head_dim >= 1).
// Throws std::bad_alloc, having written nothing, when the split-K partials (n_heads * n_queries * head_dim floats
// per 1024 keys) cannot be allocated; std::bad_alloc or another exception from TBB may also come from the
// parallel run itself (the C API turns them into statuses).
void RunAttention(const AttentionKernels& kernels, const simdmax_attention_desc& desc, const float* q, const float* k,
                  const float* v, float* out, float* lse);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ATTENTION_SCHEDULER_H_
