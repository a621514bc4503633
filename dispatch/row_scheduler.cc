#include "dispatch/row_scheduler.h"

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include "dispatch/tbb_fork_join.h"
#include "dispatch/thread_pool.h"

namespace simdmax {

void RunRows(const RowOpKernels& kernels, const RowBatch& batch, size_t rows) {
  const size_t threads = MaxThreads();
  const size_t cols = batch.cols;
  if (threads == 1 || rows * cols < kMinElementsPerTask) {
    kernels.rows(batch, 0, rows);
    return;
  }
  const std::shared_ptr<tbb::task_arena> arena = Arena(threads);
  const size_t concurrency = static_cast<size_t>(arena->max_concurrency());
  if (concurrency <= 1) {
    kernels.rows(batch, 0, rows);
    return;
  }
  if (rows >= 2 * concurrency || ChunkCount(cols) < 2) {
    const size_t grain = std::max<size_t>(1, kMinElementsPerTask / cols);
    ParallelForIn(
        *arena, tbb::blocked_range<size_t>(0, rows, grain),
        [&](const tbb::blocked_range<size_t>& range) { kernels.rows(batch, range.begin(), range.end()); },
        tbb::auto_partitioner());
    return;
  }
  // Few long rows: split each one into its chunks (>= kMinChunkLength elements, several times a task's overhead),
  // run by the same chunk driver as a serial row, with a TBB loop over the chunks.
  const auto parallel_chunks = [&](size_t count, const auto& body) {
    ParallelForIn(
        *arena, tbb::blocked_range<size_t>(0, count, 1),
        [&](const tbb::blocked_range<size_t>& range) {
          for (size_t c = range.begin(); c < range.end(); ++c) body(c);
        },
        tbb::auto_partitioner());
  };
  for (size_t r = 0; r < rows; ++r) {
    RunChunkedRow(kernels.log, batch.x + r * batch.x_stride, batch.y + r * batch.y_stride, cols, parallel_chunks,
                  kernels.chunk_pass, kernels.chunk_finish);
  }
}

}  // namespace simdmax
