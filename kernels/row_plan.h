// The row plan: which path a batch of rows takes, decided once per call from what the code can observe (the row
// length and the data cache sizes read at start-up, dispatch/machine_info.h), never from constants tuned on one
// CPU. Plain C++, shared by the dispatch layer (which makes the plan) and the kernels (which follow it).
//
// The plan only affects speed: a short row computed by the short-row path (kernels/short_rows-inl.h) and the same
// row computed as a one-chunk row by the chunked path give the same bits (same operations in the same order), and
// the chunking itself depends on the row length only (kernels/row_chunks.h). So results never depend on the cache
// sizes, the thread count or the grouping of rows.
#ifndef SIMDMAX_KERNELS_ROW_PLAN_H_
#define SIMDMAX_KERNELS_ROW_PLAN_H_

#include <stddef.h>

#include "kernels/row_chunks.h"

namespace simdmax {

enum class RowPath {
  kShortRows,  // several rows at once, each read and written in L1 (kernels/short_rows-inl.h)
  kChunked,    // one row at a time in fixed chunks: max+exp per chunk while it is in L2, merge, finish
};

// What the plan needs to know about the machine: data cache sizes in bytes (0 = unknown).
struct CacheSizes {
  size_t l1d = 0;
  size_t l2 = 0;
};

// Rows the short-row path interleaves (kernels/short_rows-inl.h).
inline constexpr size_t kShortRowGroup = 4;

// The longest row of the short-row path: a group of kShortRowGroup rows, input and output, in half of L1 (the other
// half for whatever else is live), so that the passes after the first re-read L1. 32 KiB L1 -> 512 elements, 48 KiB
// -> 768. Unknown L1: 32 KiB, the smallest L1d of the CPUs Highway targets here. Never beyond one chunk.
inline size_t ShortRowMax(const CacheSizes& caches) {
  const size_t l1d = caches.l1d != 0 ? caches.l1d : 32 * 1024;
  const size_t n = l1d / 2 / (kShortRowGroup * 2 * sizeof(float));
  return n < 256 ? 256 : (n > kMinChunkLength ? kMinChunkLength : n);
}

inline RowPath PlanRowPath(size_t cols, const CacheSizes& caches) {
  return cols <= ShortRowMax(caches) ? RowPath::kShortRows : RowPath::kChunked;
}

// Groups of short rows carried through their passes together (a software pipeline: all groups' max passes, then
// all sum passes, then the scalar step of every row at once, then all output passes), so that one group's
// dependent tail (reductions, log of the sums) overlaps the other groups' streaming work instead of stalling it.
// As many groups as fit where ShortRowMax puts one group of the longest rows (half of L1), at most
// kMaxShortGroupsInFlight: 1 for the longest rows, 4 for rows of a quarter of that or less.
inline constexpr size_t kMaxShortGroupsInFlight = 4;

inline size_t ShortGroupsInFlight(size_t cols, const CacheSizes& caches) {
  const size_t groups = ShortRowMax(caches) / (cols != 0 ? cols : 1);
  return groups < 1 ? 1 : (groups > kMaxShortGroupsInFlight ? kMaxShortGroupsInFlight : groups);
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ROW_PLAN_H_
