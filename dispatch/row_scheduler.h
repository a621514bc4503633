// Runs a row kernel over a batch, in parallel with oneTBB when the batch is large enough to pay for it.
#ifndef SIMDMAX_DISPATCH_ROW_SCHEDULER_H_
#define SIMDMAX_DISPATCH_ROW_SCHEDULER_H_

#include <stddef.h>

#include "kernels/row_batch.h"

namespace simdmax {

// Work (elements) below which a task is not worth a thread: ~15-30 us of single-thread softmax, several times
// the cost of waking a TBB worker, so a 1x1000 or 128x128 call stays on the calling thread.
inline constexpr size_t kMinElementsPerTask = 64 * 1024;

// Runs one row-wise op over [0, rows) of a batch:
// - serial on the calling thread when rows * cols < kMinElementsPerTask or the thread limit is 1 (a 1x1000 or
//   128x128 call never wakes a worker);
// - rows in parallel (tbb::parallel_for over row ranges) when there are enough rows to feed every thread;
// - otherwise (few long rows) each row split into its fixed chunks (kernels/row_chunks.h): the chunk passes run in
//   parallel, the states are merged in chunk order on the calling thread, the finishes run in parallel.
// Every path computes each row with the same chunks and the same merge order, so results are bit-identical for
// every thread count. No heap allocation per call: chunk states live on the stack (kMaxChunksPerRow of them,
// ~20 KiB); the TBB arena is created once per thread-limit setting; softmax rows of the chunked path with a
// half-precision output use each thread's scratch (dispatch/thread_scratch.h: allocated on a thread's first such
// call, up to 1 MiB, kept), and give the same bits without it.
void RunRows(const RowOpKernels& kernels, const RowBatch& batch, size_t rows);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_ROW_SCHEDULER_H_
