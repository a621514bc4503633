// The row plan: which path a batch of rows takes and how the short-row path pipelines its groups, decided once per
// call from what the code can observe (the row length, and the data cache sizes read at start-up,
// dispatch/machine_info.h). Plain C++, shared by the dispatch layer (which makes the plan) and the kernels (which
// follow it).
//
// The path depends on the row length alone (the short-row path and the chunked path do not round alike), and so
// does the chunking (kernels/row_chunks.h); the cache sizes only set how many groups of short rows are in flight
// and how chunked rows keep and store their results (ChunkedPlan), which change speed, not bits. So results never
// depend on the cache sizes, the thread count or the grouping of rows.
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

// The longest row of the short-row path. A constant, not derived from L1: the two paths round differently (the
// short rows' scaled exp for log-softmax, summed in f64), and a row's result must not depend on the machine it runs
// on beyond its SIMD target. 768: a group of kShortRowGroup rows, input and output, fills half of a 48 KiB L1 (Zen
// 4/5, recent Intel cores) or 3/4 of a 32 KiB one, so the passes after the first re-read L1.
inline constexpr size_t kShortRowMax = 768;
static_assert(kShortRowMax <= kMinChunkLength, "a short row is never more than one chunk");

inline RowPath PlanRowPath(size_t cols) { return cols <= kShortRowMax ? RowPath::kShortRows : RowPath::kChunked; }

// Short rows of at most this many columns are computed transposed, a block of rows with one row per lane
// (kernels/rows_in_lanes-inl.h), on targets with 8 or 16 float lanes: 4 vectors on AVX-512, 8 on AVX2. Paired A/B
// against the row-major path (Zen 5, 1 thread, whole library, time), softmax / log-softmax: AVX3_DL 16384x32
// -20% / -10%, 4096x64 -8% / -1%; AVX2 16384x32 -10% / -4%, and at 5-8 vectors (AVX2 probe builds) 4096x40
// -9% / -1%, 8192x48 -8% / -1%, 4096x64 -3% / -1%. Not beyond: AVX-512 softmax at 8 vectors (2048x128) +3%,
// 128x128 +4%; log-softmax at 5-8 vectors (AVX3 probe builds) +4..+18%; AVX2 softmax at 16 vectors +4%.
// On an Intel Xeon with AVX-512 FP16/AMX (family 6, 2.6 GHz VM, 2026-12-08), whose 512-bit shuffles issue on one
// port, the row-major path against rows in lanes (whole library, 1 thread, time): softmax AVX3_DL 16384x32 +7%,
// 8192x48 -11%, 4096x64 -13%; AVX2 16384x32 +19%, 48-64 columns +-2%. Log-softmax in lanes writes its output row
// by row since then (no transpose back): against the row-major path there 16384x16 -32%, 16384x32 -5%, 48-64
// columns -2%; AVX2 -21%, -7%, -3..-6%. So the limit stays 64 for both ops: lowering softmax's to 32 would give
// Intel 11-13% at 48-64 columns and take 9-23% from Zen 5.
inline constexpr size_t kRowsInLanesMaxColumns = 64;

// Groups of short rows carried through their passes together (a software pipeline: all groups' max passes, then
// all sum passes, then the scalar step of every row at once, then all output passes), so that one group's
// dependent tail (reductions, log of the sums) overlaps the other groups' streaming work instead of stalling it.
// As many groups as keep their input and output in half of L1 (32 KiB if unknown, the smallest L1d of the CPUs
// Highway targets here), 1 to kMaxShortGroupsInFlight. Speed only: a row's arithmetic never depends on its group.
inline constexpr size_t kMaxShortGroupsInFlight = 4;

inline size_t ShortGroupsInFlight(size_t cols, const CacheSizes& caches) {
  const size_t l1d = caches.l1d != 0 ? caches.l1d : 32 * 1024;
  const size_t group_bytes = kShortRowGroup * 2 * sizeof(float) * (cols != 0 ? cols : 1);
  const size_t groups = l1d / 2 / group_bytes;
  return groups < 1 ? 1 : (groups > kMaxShortGroupsInFlight ? kMaxShortGroupsInFlight : groups);
}

// How chunked rows keep what their finish needs (kernels/row_chunks.h ChunkedPlan). Both choices give the same bits,
// so they may follow the machine. Measured on AMD EPYC Zen 5 (AVX3_DL, 2 vCPUs, L2 1 MiB, L3 32 MiB; the VM
// reports 508 MiB to sysconf, so the L3 size is not used), Gelem/s, reload / re-evaluate (one binary, 2 runs each):
//   softmax 1x128000: 1 thread 4.08 / 2.83, 2 threads 5.13 / 3.87; 8x1M: 2.56 / 2.12, 4.21 / 3.95;
//   16x4M: 2.30 / 1.78, 3.99 / 3.47 (bench); 2x32M (256 MiB rows): 1.56 / 1.57, 2.96 / 3.04.
// So softmax always reloads: re-evaluating e costs an exp per element and saves traffic only far out of cache,
// where it gained 0-4% here. (The 2x-exp form that was taken from 4M elements until 2026-12 lost 25% at 16x4M
// here.)
// Non-temporal stores (finishes that do not read y: log-softmax, softmax without space for e), log-softmax:
//   1x128000: 3.04 / 2.49 (normal / streamed, 1 thread); 8x1M: 1.93 / 1.84, 2 threads 3.52 / 3.61;
//   16x4M: 1.42 / 1.48, 2.84 / 2.88; 2x32M: 1.37 / 1.49, 2.65 / 2.86.
// They pay once a row's output is far beyond L2 (its lines are not in cache when the finish stores them) and cost
// up to 20% while it is near. On an Intel Xeon VM (AVX-512, L2 2 MiB, 2026-12-08; paired A/B, log-softmax, time,
// streamed against normal stores, by output bytes per row): 128 KiB +22%, 512 KiB +18%, 1 MiB +4%, 2 MiB +10%
// (noisy), 4 MiB -26% (4x1M) / -23% (8x1M), 16 MiB -15% at 1 thread and -14% at 2 threads. Zen 5 had 4 MiB (4 x its
// L2) at -5% / +3% (1 / 2 threads) and 16 MiB at +4% / +1%. So streamed from 8 x L2 of output per row (16 MiB on
// Intel's 2 MiB L2, 8 MiB on Zen 5's 1 MiB, between the two Zen 5 points; 2 MiB L2 assumed if unknown): the Intel
// part's gain at 16 MiB without Zen 5's 4 MiB loss. (From 2 x L2 Intel gains at 4 MiB too, but Zen 5 would stream
// from 2 MiB.)
inline constexpr size_t kStreamFromL2Multiple = 8;
// Prefetching the next chunk during the exp pass (ChunkedPlan::prefetch) pays once a row's input is beyond L2: its
// chunks then come from L3 or memory, and the max pass over each waited on them while the FP units idled. Paired
// A/B, Zen 5 (AVX3, 1 thread, time): log-softmax 8x1M -31%, 16x4M -33%; softmax -17% / -15%; 2 threads -23% / -26%
// and -10% / -7%; bf16 -> bf16 16x4M -15% (log) / -11%. Rows in L3 (1x500000, 2 MiB) neither gain nor lose, so
// the limit is L2, not L3 (which these VMs misreport). Prefetching in the max pass and the finish as well was
// slower everywhere (+4..+20%): the max pass then ran at the memory's pace fetching the next chunk too; the finish
// alone on top of the exp pass gained nothing (-2..+8%): it is a stream, which the hardware prefetchers follow.
// Two rows in flight (the exp pass also fetching what the previous row's finish reads next) lost 3-11%: log-softmax
// 16x4M then moves ~28 GB/s, 80% of memcpy's rate on that shape, near one core's memory limit.

inline ChunkedPlan PlanChunkedRows(size_t cols, size_t x_size, size_t y_size, const CacheSizes& caches) {
  ChunkedPlan plan;
  plan.reload = true;
  const size_t l2 = caches.l2 != 0 ? caches.l2 : 2 * 1024 * 1024;
  plan.stream = cols >= kStreamFromL2Multiple * l2 / (y_size != 0 ? y_size : 1);
  plan.prefetch = cols * x_size > l2;
  return plan;
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ROW_PLAN_H_
