// The process-wide thread service of the dispatch layer: the thread limit (simdmax_set_max_threads) and the oneTBB
// arena that honours it, shared by the row scheduler and the attention scheduler.
#ifndef SIMDMAX_DISPATCH_THREAD_POOL_H_
#define SIMDMAX_DISPATCH_THREAD_POOL_H_

#include <stddef.h>
#include <tbb/task_arena.h>

#include <functional>
#include <memory>

namespace simdmax {

// 0 = TBB's default (all cores).
void SetMaxThreads(size_t n);
size_t MaxThreads();

// The threads a parallel loop may run on: the limit, clamped to the cores TBB uses (all of them for 0). For sizing
// work into tasks (speed only: results never depend on it).
size_t ThreadsAvailable();

// The arena for a thread limit (MaxThreads()), created once per setting and initialised before it is returned (a
// failure throws std::bad_alloc before any output is written). A caller keeps the shared_ptr for its whole call, so
// a concurrent change of the limit never destroys an arena in use.
std::shared_ptr<tbb::task_arena> Arena(size_t threads);

// Calls body(begin, end, slot) over disjoint ranges covering [0, n), in the arena of the thread limit (so
// simdmax_set_max_threads applies), one index per task at most; serially on the calling thread when `parallel` is
// false, the thread limit is 1 or n < 2. For coarse tasks (attention tiles) whose results must not depend on how
// they are grouped: callers make each index's result independent of the others. `slot` (< Slots()) is held by no
// other thread running the same loop at the same time (0 on the serial path), for per-thread scratch. The arena is
// the thread limit's when the object is made, so a scratch sized by Slots() stays right for Run even if the limit
// changes in between.
class SlotParallelFor {
 public:
  SlotParallelFor();
  size_t Slots() const { return slots_; }
  void Run(size_t n, bool parallel, const std::function<void(size_t, size_t, size_t)>& body) const;

 private:
  std::shared_ptr<tbb::task_arena> arena_;  // null when the thread limit is 1
  size_t slots_ = 1;
};

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_THREAD_POOL_H_
