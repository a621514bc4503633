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

namespace simdmax {
namespace {

std::atomic<size_t> g_max_threads{0};

// The arena honouring g_max_threads; replaced (not mutated) when the limit changes, so a call that holds a
// reference keeps a valid arena while another thread changes the limit.
std::mutex g_arena_mutex;
std::shared_ptr<tbb::task_arena> g_arena;
size_t g_arena_threads = 0;

std::shared_ptr<tbb::task_arena> Arena(size_t threads) {
  std::lock_guard<std::mutex> lock(g_arena_mutex);
  if (!g_arena || g_arena_threads != threads) {
    // Clamped to the cores TBB would use: a larger arena only adds idle slots, and huge limits crashed (an arena of
    // 2^31 - 1 slots segfaults inside TBB; static_cast<int> of 2^32 gives an invalid 0). Found by
    // tests/argument_errors_test.cc (EveryValueIsAccepted).
    const size_t cores = static_cast<size_t>(std::max(1, tbb::info::default_concurrency()));
    g_arena = std::make_shared<tbb::task_arena>(threads == 0 ? tbb::task_arena::automatic
                                                             : static_cast<int>(std::min(threads, cores)));
    g_arena_threads = threads;
  }
  return g_arena;
}

}  // namespace

void SetMaxThreads(size_t n) { g_max_threads.store(n); }

void RunRows(const RowOpKernels& kernels, const RowBatch& batch, size_t rows) {
  const size_t threads = g_max_threads.load(std::memory_order_relaxed);
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
    arena->execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<size_t>(0, rows, grain),
          [&](const tbb::blocked_range<size_t>& range) { kernels.rows(batch, range.begin(), range.end()); },
          tbb::auto_partitioner());
    });
    return;
  }
  // Few long rows: split each one. Chunks are >= kMinChunkLength elements, several times a task's overhead.
  const size_t chunk = ChunkLength(cols);
  const size_t count = ChunkCount(cols);
  const bool f32_output = batch.y_type == ElementType::kF32;
  const bool recompute = !kernels.log && SoftmaxRecomputes(cols, f32_output);
  ChunkState states[kMaxChunksPerRow];
  ChunkFinish finish[kMaxChunksPerRow];
  for (size_t r = 0; r < rows; ++r) {
    const void* x = AdvanceElements(batch.x, r * batch.x_stride, batch.x_type);
    void* y = AdvanceElements(batch.y, r * batch.y_stride, batch.y_type);
    const auto length = [&](size_t c) { return std::min(chunk, cols - c * chunk); };
    // The first pass stores e only into an f32 output (recompute is set otherwise).
    float* const stored = f32_output ? static_cast<float*>(y) : nullptr;
    arena->execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, count, 1), [&](const tbb::blocked_range<size_t>& range) {
        for (size_t c = range.begin(); c < range.end(); ++c) {
          kernels.chunk_pass(AdvanceElements(x, c * chunk, batch.x_type),
                             stored == nullptr ? nullptr : stored + c * chunk, length(c), !recompute, &states[c]);
        }
      });
    });
    MergeChunks(kernels.log, recompute, states, count, finish);
    arena->execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, count, 1), [&](const tbb::blocked_range<size_t>& range) {
        for (size_t c = range.begin(); c < range.end(); ++c) {
          kernels.chunk_finish(AdvanceElements(x, c * chunk, batch.x_type), AdvanceElements(y, c * chunk, batch.y_type),
                               length(c), finish[c]);
        }
      });
    });
  }
}

void ParallelFor(size_t n, bool parallel, const std::function<void(size_t, size_t)>& body) {
  const size_t threads = g_max_threads.load(std::memory_order_relaxed);
  if (!parallel || threads == 1 || n < 2) {
    body(0, n);
    return;
  }
  const std::shared_ptr<tbb::task_arena> arena = Arena(threads);
  arena->execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, n, 1),
        [&](const tbb::blocked_range<size_t>& range) { body(range.begin(), range.end()); }, tbb::simple_partitioner());
  });
}

}  // namespace simdmax
