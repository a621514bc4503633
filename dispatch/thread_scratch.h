// Per-thread f32 scratch for the row kernels: the dispatch layer's memory, handed to kernels (which never allocate)
// through RowBatch::scratch.
#ifndef SIMDMAX_DISPATCH_THREAD_SCRATCH_H_
#define SIMDMAX_DISPATCH_THREAD_SCRATCH_H_

#include <stddef.h>

namespace simdmax {

// The most floats a thread keeps: 1 MiB (a 256K-element row). Longer requests get null.
inline constexpr size_t kMaxThreadScratchFloats = size_t{1} << 18;

// At least `floats` floats (uninitialised) owned by the calling thread and valid until its next
// call on that thread, or null when floats > kMaxThreadScratchFloats or the allocation fails. Grows on demand and
// is kept for the thread's lifetime, so calls after the first on a thread do not allocate.
// Callers must not depend on getting memory: the kernels give the same bits without it (only slower).
float* ThreadScratch(size_t floats);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_THREAD_SCRATCH_H_
