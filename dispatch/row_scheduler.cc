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
  const bool f32_output = batch.y_type == ElementType::kF32;
  for (size_t r = 0; r < rows; ++r) {
    const void* x = AdvanceElements(batch.x, r * batch.x_stride, batch.x_type);
    void* y = AdvanceElements(batch.y, r * batch.y_stride, batch.y_type);
    // The first pass stores e only into an f32 output (RunChunkedRow passes store = false otherwise).
    float* const stored = f32_output ? static_cast<float*>(y) : nullptr;
    RunChunkedRow(
        kernels.log, f32_output, cols, parallel_chunks,
        [&](size_t begin, size_t len, bool store, ChunkState* state) {
          kernels.chunk_pass(AdvanceElements(x, begin, batch.x_type), stored == nullptr ? nullptr : stored + begin, len,
                             store, state);
        },
        [&](size_t begin, size_t len, const ChunkFinish& finish) {
          kernels.chunk_finish(AdvanceElements(x, begin, batch.x_type), AdvanceElements(y, begin, batch.y_type), len,
                               finish);
        });
  }
}

}  // namespace simdmax
