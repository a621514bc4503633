// tbb::parallel_for for the schedulers, annotated for ThreadSanitizer. In a header of its own because
// tests/tsan.supp matches this file by name: nothing here but TBB calls and the annotations (no data is processed
// in this file, so a report whose top frame is here is TBB's handoff, never a race in simdmax's work).
#ifndef SIMDMAX_DISPATCH_TBB_FORK_JOIN_H_
#define SIMDMAX_DISPATCH_TBB_FORK_JOIN_H_

#include <stddef.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#if defined(__SANITIZE_THREAD__)
#define SIMDMAX_TSAN_ANNOTATIONS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIMDMAX_TSAN_ANNOTATIONS 1
#endif
#endif
#ifndef SIMDMAX_TSAN_ANNOTATIONS
#define SIMDMAX_TSAN_ANNOTATIONS 0
#endif
#if SIMDMAX_TSAN_ANNOTATIONS
#include <sanitizer/tsan_interface.h>
#include <stdint.h>
#endif

namespace simdmax {

// ThreadSanitizer cannot see TBB's synchronisation (Debian's libtbb is not instrumented): without help, every
// output a TBB task writes and the calling thread later reads looks like a race. Each parallel run is therefore
// annotated as the fork/join it is: the caller releases `fork` before handing the work to TBB, every task acquires
// it before and releases `join` after its body, the caller acquires `join` once TBB returns. Tasks never acquire
// `join`, so two tasks of one run stay unordered for TSan and a real race between them is still reported; the two
// addresses are per run, so distinct calls are not ordered either. No code in other builds.
class ForkJoin {
 public:
#if SIMDMAX_TSAN_ANNOTATIONS
  ForkJoin() { __tsan_release(&fork_); }
  void TaskBegin() { __tsan_acquire(&fork_); }
  void TaskEnd() { __tsan_release(&join_); }
  // Called by the thread that ran tbb::parallel_for, once it returns, with that frame's address. parallel_for
  // waits on a tbb::detail::d1::wait_node in a frame below `frame`: the last task's fold_tree decrements the node's
  // counter (an atomic TSan sees, as a release on that address), reads its parent pointer and releases its
  // wait_context, and libtbb (uninstrumented) wakes this thread, an acquire TSan never sees. The next call reusing
  // that stack then looked like a race with the worker ("failed to restore the stack", no frame left to suppress).
  // Acquiring every word of the region where the node lived is what TBB's wait does, made visible: it orders this
  // thread after the workers' completion of this run only (addresses no atomic touched have no sync object and
  // cost a lookup). Then the root's own work, including its reads of the ArenaEntry, is released to the caller.
  void RootEnd(const void* frame) {
    constexpr uintptr_t kWaitNodeSearch = 16384;  // far more than TBB's frames between here and the node
    const uintptr_t top = reinterpret_cast<uintptr_t>(frame) & ~uintptr_t{3};
    for (uintptr_t a = top - kWaitNodeSearch; a < top; a += 4) __tsan_acquire(reinterpret_cast<void*>(a));
    __tsan_release(&join_);
  }
  ~ForkJoin() { __tsan_acquire(&join_); }

 private:
  char fork_ = 0;
  char join_ = 0;
#else
  void TaskBegin() {}
  void TaskEnd() {}
  void RootEnd(const void*) {}
#endif
};

// What tbb::task_arena::execute runs: the annotated parallel_for. TBB may hand it to one of its own threads, which
// then reads these references (written by the caller just before) through a synchronisation TSan cannot see; no
// annotation can run before that first read, so tests/tsan.supp matches such reads by this file.
template <typename Body, typename Partitioner>
class ArenaEntry {
 public:
  ArenaEntry(const tbb::blocked_range<size_t>& range, const Body& body, const Partitioner& partitioner,
             ForkJoin& fork_join)
      : range_(range), body_(body), partitioner_(partitioner), fork_join_(fork_join) {}
  void operator()() const {
    ForkJoin& fork_join = fork_join_;
    const Body& body = body_;
    tbb::parallel_for(
        range_,
        [&fork_join, &body](const tbb::blocked_range<size_t>& r) {
          fork_join.TaskBegin();
          body(r);
          fork_join.TaskEnd();
        },
        partitioner_);
    fork_join.RootEnd(__builtin_frame_address(0));
  }

 private:
  const tbb::blocked_range<size_t>& range_;
  const Body& body_;
  const Partitioner& partitioner_;
  ForkJoin& fork_join_;
};

// tbb::parallel_for(range, body) inside `arena`, annotated for TSan (ForkJoin).
template <typename Body, typename Partitioner>
void ParallelForIn(tbb::task_arena& arena, const tbb::blocked_range<size_t>& range, const Body& body,
                   const Partitioner& partitioner) {
  ForkJoin fork_join;
  arena.execute(ArenaEntry<Body, Partitioner>(range, body, partitioner, fork_join));
}

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_TBB_FORK_JOIN_H_
