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
#include "dispatch/thread_scratch.h"

namespace simdmax {
namespace {

// Softmax rows of the chunked path with a half-precision output keep e in f32 scratch between their passes (the
// kernels re-evaluate it without, kernels/softmax-inl.h); every other row needs none.
bool WantsScratch(const RowOpKernels& kernels, const RowBatch& batch) {
  return !kernels.log && batch.path == RowPath::kChunked && batch.y_type != ElementType::kF32 && batch.chunked.reload;
}

// Rows [begin, end) on the calling thread, with that thread's scratch when the rows want it.
void RowsOnThisThread(const RowOpKernels& kernels, const RowBatch& batch, size_t begin, size_t end) {
  if (!WantsScratch(kernels, batch)) {
    kernels.rows(batch, begin, end);
    return;
  }
  RowBatch with_scratch = batch;
  with_scratch.scratch = ThreadScratch(batch.cols);
  kernels.rows(with_scratch, begin, end);
}

}  // namespace

void RunRows(const RowOpKernels& kernels, const RowBatch& batch, size_t rows) {
  const size_t threads = MaxThreads();
  const size_t cols = batch.cols;
  if (threads == 1 || rows * cols < kMinElementsPerTask) {
    RowsOnThisThread(kernels, batch, 0, rows);
    return;
  }
  const std::shared_ptr<tbb::task_arena> arena = Arena(threads);
  const size_t concurrency = static_cast<size_t>(arena->max_concurrency());
  if (concurrency <= 1) {
    RowsOnThisThread(kernels, batch, 0, rows);
    return;
  }
  if (rows >= 2 * concurrency || ChunkCount(cols) < 2) {
    const size_t grain = std::max<size_t>(1, kMinElementsPerTask / cols);
    ParallelForIn(
        *arena, tbb::blocked_range<size_t>(0, rows, grain),
        [&](const tbb::blocked_range<size_t>& range) { RowsOnThisThread(kernels, batch, range.begin(), range.end()); },
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
  const size_t x_size = ElementSize(batch.x_type);
  // The calling thread's scratch, shared by the row's chunks (each uses its own range of it).
  float* const scratch = WantsScratch(kernels, batch) ? ThreadScratch(cols) : nullptr;
  for (size_t r = 0; r < rows; ++r) {
    const void* x = AdvanceElements(batch.x, r * batch.x_stride, batch.x_type);
    void* y = AdvanceElements(batch.y, r * batch.y_stride, batch.y_type);
    // e is stored into an f32 output, or into the scratch (null: the finish re-evaluates it).
    float* const stored = f32_output ? static_cast<float*>(y) : scratch;
    RunChunkedRow(
        kernels.log, batch.chunked, /*can_store=*/stored != nullptr, cols, parallel_chunks,
        [&](size_t begin, size_t len, bool store, ChunkState* state) {
          kernels.chunk_pass(AdvanceElements(x, begin, batch.x_type), stored == nullptr ? nullptr : stored + begin, len,
                             store, NextChunkAhead(batch.chunked, x, cols * x_size, len * x_size), state);
        },
        [&](size_t begin, size_t len, const ChunkFinish& finish) {
          kernels.chunk_finish(AdvanceElements(x, begin, batch.x_type), stored == nullptr ? nullptr : stored + begin,
                               AdvanceElements(y, begin, batch.y_type), len, finish);
        });
  }
}

}  // namespace simdmax
