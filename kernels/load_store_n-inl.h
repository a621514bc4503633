// Tails without scalar remainder loops and without touching memory past the row: LoadN/StoreN in the style of
// later Highway releases (1.0.3 has neither). Where the target has a true masked load/store (AVX2, AVX-512, SVE
// predicates) the tail is one masked instruction; elsewhere (SSE4, SSSE3, NEON, SCALAR, whose MaskedLoad reads the
// whole vector) it goes through a small stack buffer, which is still branch-free vector code.

#if defined(SIMDMAX_KERNELS_LOAD_STORE_N_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_LOAD_STORE_N_INL_H_
#undef SIMDMAX_KERNELS_LOAD_STORE_N_INL_H_
#else
#define SIMDMAX_KERNELS_LOAD_STORE_N_INL_H_
#endif

#include <string.h>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#undef SIMDMAX_NATIVE_MASKED_MEMORY
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || \
    (HWY_TARGET & (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128))
#define SIMDMAX_NATIVE_MASKED_MEMORY 1
#else
#define SIMDMAX_NATIVE_MASKED_MEMORY 0
#endif

// AVX2 has masked loads/stores for 32- and 64-bit lanes only: Highway 1.0.3 emulates 8/16-bit MaskedLoad with a
// full-vector load (reads past the row) and BlendedStore with load-blend-store (rewrites bytes past the row, a
// race with a thread writing the next row). 16-bit tails (f16/bf16) therefore take the buffer path there.
template <typename T>
constexpr bool NativeMaskedMemory() {
  return SIMDMAX_NATIVE_MASKED_MEMORY && (sizeof(T) >= 4 || HWY_TARGET != HWY_AVX2);
}

// Returns the first `n` (< Lanes(d)) elements of p; the other lanes hold `pad`. Reads only p[0, n).
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> LoadNOr(D d, const T* p, size_t n, T pad) {
  if (NativeMaskedMemory<T>()) {
    const auto mask = hn::FirstN(d, n);
    return hn::IfThenElse(mask, hn::MaskedLoad(mask, d, p), hn::Set(d, pad));
  }
  HWY_ALIGN T buffer[hn::MaxLanes(d)];
  hn::Store(hn::Set(d, pad), d, buffer);
  memcpy(buffer, p, n * sizeof(T));
  return hn::Load(d, buffer);
}

// Stores the first `n` (< Lanes(d)) lanes of v to p[0, n); writes nothing else.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE void StoreN(hn::Vec<D> v, D d, T* p, size_t n) {
  if (NativeMaskedMemory<T>()) {
    hn::BlendedStore(v, hn::FirstN(d, n), d, p);
    return;
  }
  HWY_ALIGN T buffer[hn::MaxLanes(d)];
  hn::Store(v, d, buffer);
  memcpy(p, buffer, n * sizeof(T));
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
