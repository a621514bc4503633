#include "dispatch/row_scheduler.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

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
    g_arena = std::make_shared<tbb::task_arena>(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads));
    g_arena_threads = threads;
  }
  return g_arena;
}

}  // namespace

void SetMaxThreads(size_t n) { g_max_threads.store(n); }

void RunRows(RowKernel kernel, const RowBatch& batch, size_t rows) {
  const size_t threads = g_max_threads.load(std::memory_order_relaxed);
  const size_t cols = batch.cols;
  if (threads == 1 || rows < 2 || rows * cols < 2 * kMinElementsPerTask) {
    kernel(batch, 0, rows);
    return;
  }
  const size_t grain = std::max<size_t>(1, kMinElementsPerTask / cols);
  const std::shared_ptr<tbb::task_arena> arena = Arena(threads);
  arena->execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, rows, grain),
        [&](const tbb::blocked_range<size_t>& range) { kernel(batch, range.begin(), range.end()); },
        tbb::auto_partitioner());
  });
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
        [&](const tbb::blocked_range<size_t>& range) { body(range.begin(), range.end()); },
        tbb::simple_partitioner());
  });
}

}  // namespace simdmax
