#include "dispatch/thread_pool.h"

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "dispatch/tbb_fork_join.h"

namespace simdmax {
namespace {

std::atomic<size_t> g_max_threads{0};

// The arena honouring g_max_threads; replaced (not mutated) when the limit changes, so a call that holds a
// reference keeps a valid arena while another thread changes the limit.
std::mutex g_arena_mutex;
std::shared_ptr<tbb::task_arena> g_arena;
size_t g_arena_threads = 0;

}  // namespace

void SetMaxThreads(size_t n) { g_max_threads.store(n); }

size_t MaxThreads() { return g_max_threads.load(std::memory_order_relaxed); }

size_t ThreadsAvailable() {
  const size_t cores = static_cast<size_t>(std::max(1, tbb::info::default_concurrency()));
  const size_t limit = MaxThreads();
  return limit == 0 ? cores : std::min(limit, cores);
}

std::shared_ptr<tbb::task_arena> Arena(size_t threads) {
  std::lock_guard<std::mutex> lock(g_arena_mutex);
  if (!g_arena || g_arena_threads != threads) {
    // Clamped to the cores TBB would use: a larger arena only adds idle slots, and huge limits crashed (an arena of
    // 2^31 - 1 slots segfaults inside TBB; static_cast<int> of 2^32 gives an invalid 0). Found by
    // tests/argument_errors_test.cc (EveryValueIsAccepted).
    const size_t cores = static_cast<size_t>(std::max(1, tbb::info::default_concurrency()));
    auto arena = std::make_shared<tbb::task_arena>(threads == 0 ? tbb::task_arena::automatic
                                                                : static_cast<int>(std::min(threads, cores)));
    // Initialised here, before any row is written, rather than lazily by the first execute(): if TBB cannot
    // allocate the arena the call fails (std::bad_alloc -> SIMDMAX_ERROR_OUT_OF_MEMORY in the C API) with its
    // outputs untouched, and the previous arena and limit stay as they were.
    arena->initialize();
    g_arena = std::move(arena);
    g_arena_threads = threads;
  }
  return g_arena;
}

SlotParallelFor::SlotParallelFor() {
  const size_t threads = g_max_threads.load(std::memory_order_relaxed);
  if (threads == 1) return;
  arena_ = Arena(threads);
  slots_ = static_cast<size_t>(std::max(1, arena_->max_concurrency()));
}

void SlotParallelFor::Run(size_t n, bool parallel, const std::function<void(size_t, size_t, size_t)>& body) const {
  if (!parallel || arena_ == nullptr || n < 2) {
    body(0, n, 0);
    return;
  }
  ParallelForIn(
      *arena_, tbb::blocked_range<size_t>(0, n, 1),
      [&](const tbb::blocked_range<size_t>& range) {
        // A thread inside the arena has a slot index below its max_concurrency (TBB's contract); anything else
        // would hand two threads the same scratch.
        const int slot = tbb::this_task_arena::current_thread_index();
        if (slot < 0 || static_cast<size_t>(slot) >= slots_) std::abort();
        body(range.begin(), range.end(), static_cast<size_t>(slot));
      },
      tbb::simple_partitioner());
}

}  // namespace simdmax
