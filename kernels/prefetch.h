// Software prefetch into L2, shared by the kernels that read ahead of themselves: attention's decode (the next block
// of keys and values) and the chunked row passes (the next chunk of a row that is out of cache). Plain C++ (no
// per-target code): a prefetch is the same instruction on every x86 target.
#ifndef SIMDMAX_KERNELS_PREFETCH_H_
#define SIMDMAX_KERNELS_PREFETCH_H_

#include <stddef.h>
#include <stdint.h>

#include "hwy/base.h"
#include "hwy/cache_control.h"  // x86 prefetch intrinsics

namespace simdmax {

// Asks for the cache line holding p in L2 (not L1). Why L2: decode prefetches a whole block of keys and values ahead
// (kAttentionKeyBlock rows of K and of V, 32-64 KiB at head_dim 128), which into L1 (hwy::Prefetch, T0) evicted
// the rows in use from a 32 KiB L1, and in a paged pool, whose rows of one kv head lie 2-4 KiB apart (every kv
// head of a key side by side), mapped to a handful of L1 sets and evicted each other before they were read.
// Measured on Zen 4 (32 KiB L1, 1 MiB L2), decode 32/8 heads, head_dim 128, 1 thread, GB/s of K+V (T0 -> T1):
// f32 contiguous 32K keys 12.4 -> 17.2, paged16 7.5 -> 13.9, at 4K keys paged16 11.1 -> 21.9; bf16 contiguous 32K
// 10.0 -> 14.5, paged16 5.9 -> 10.3. (Without any prefetch: 7-8 and 4.7-5.) A chunk of a row (64 KiB of f32) is
// larger than L1 for the same reason.
template <class T>
HWY_INLINE void PrefetchToL2(const T* p) {
#if HWY_ARCH_X86 && !defined(HWY_DISABLE_CACHE_CONTROL)
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1);
#elif HWY_COMPILER_GCC  // includes clang; AArch64: PRFM PLDL2KEEP
  __builtin_prefetch(p, /*write=*/0, /*locality=*/2);
#else
  (void)p;
#endif
}

// A row loop's read-ahead (MapRow / VisitRow, kernels/row_map-inl.h): at each vector it reads at address p, the loop
// asks for the line `distance` bytes further, as long as that lies before `end` (end 0: nothing). Why: the exp pass
// over one chunk of a long row is compute-bound while the memory sits idle, and the next chunk's max pass waits on
// memory while the FP units sit idle; with the distance a chunk's length, the exp pass pulls the next chunk into L2
// and the two overlap (kernels/row_plan.h ChunkedPlan::prefetch). Speed only: what a pass computes does not change.
// Loops that fetch nothing take NoReadAhead (below), not a ReadAhead with end 0: a run-time test per vector cost
// 4-9% on short chunked rows.
struct ReadAhead {
  uintptr_t end = 0;
  size_t distance = 0;
  HWY_INLINE void At(const void* p) const {
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(p) + distance;
    if (ahead < end) PrefetchToL2(reinterpret_cast<const char*>(ahead));
  }
};

// The default of the row loops: nothing to fetch, nothing compiled.
struct NoReadAhead {
  HWY_INLINE void At(const void*) const {}
};

// fn(ahead) where it asks for something, else fn(NoReadAhead()): two instantiations of fn, so that the loops of
// rows that fetch nothing carry no test per vector.
template <class Fn>
HWY_INLINE auto WithReadAhead(const ReadAhead& ahead, const Fn& fn) {
  return ahead.end != 0 ? fn(ahead) : fn(NoReadAhead());
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_PREFETCH_H_
