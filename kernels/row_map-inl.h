// The one loop every pass over a row uses: whole vectors, then one padded tail vector (LoadNOr/StoreN), so no op
// writes its own remainder loop and no pass reads or writes past the row. Rows are of any element type
// (kernels/element_type.h): the loop widens what it loads to f32 and narrows what it stores (kernels/convert-inl.h),
// so f sees f32 vectors whatever the types, and the only rounding to a half-precision output is the store's.

#if defined(SIMDMAX_KERNELS_ROW_MAP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ROW_MAP_INL_H_
#undef SIMDMAX_KERNELS_ROW_MAP_INL_H_
#else
#define SIMDMAX_KERNELS_ROW_MAP_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include "hwy/highway.h"
#include "kernels/convert-inl.h"
#include "kernels/lockstep-inl.h"
#include "kernels/prefetch.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// y[i] = f(x[i]) for i in [0, n), vector by vector. Tail lanes past n are loaded as `pad` (choose a value for
// which f is cheap and harmless) and never stored; for the tail vector f also receives the mask of valid lanes
// (f(v, mask)), so that a reduction inside f can drop the padded lanes: declare f as
// `[&](V v, auto... tail_mask)`. x == y is allowed (then TX == TY): each vector is loaded before it is stored and
// no vector is read after a later one was written. TX, TY: float, F16 or BF16.
//
// kLockstep > 1 (capped at kMaxLockstep, kernels/lockstep-inl.h): f first receives groups of kLockstep consecutive
// vectors (VecGroup) and returns a group, while whole groups fit (f32 outputs), then single vectors as above; f must
// take both (`[&](auto v, auto... tail_mask)`) and, to keep its results those of one vector at a time, treat a
// group's slots in order wherever they meet (sums).
// ahead: what to prefetch while reading x (kernels/prefetch.h; by default nothing, at no cost).
template <size_t kLockstep = 1, class D, class TX, class TY, class Func, class Ahead = NoReadAhead>
HWY_INLINE void MapRow(D d, const TX* x, TY* y, size_t n, float pad, const Func& f, const Ahead& ahead = Ahead()) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  constexpr size_t K = kLockstep < kMaxLockstep ? kLockstep : kMaxLockstep;
  if constexpr (K > 1 && std::is_same<TY, float>::value) {
    for (; i + K * N <= n; i += K * N) {
      VecGroup<hn::Vec<D>, K> v;  // all loaded before any is stored: x == y stays valid
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
        ahead.At(x + i + k * N);
        Slot<k>(v) = LoadF32(d, x + i + k * N);
      });
      const VecGroup<hn::Vec<D>, K> out = f(v);
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { StoreF32(Slot<k>(out), d, y + i + k * N); });
    }
  }
  if constexpr (!std::is_same<TY, float>::value) {
    // Half-precision outputs are narrowed two vectors at a time (StoreF32Pair: cheaper per vector, same bits);
    // f sees the vectors in the same order, and both are loaded before either is stored (in place stays valid).
    for (; i + 2 * N <= n; i += 2 * N) {
      ahead.At(x + i);
      ahead.At(x + i + N);
      const hn::Vec<D> v0 = f(LoadF32(d, x + i));
      const hn::Vec<D> v1 = f(LoadF32(d, x + i + N));
      StoreF32Pair(v0, v1, d, y + i);
    }
  }
  for (; i + N <= n; i += N) {
    ahead.At(x + i);
    StoreF32(f(LoadF32(d, x + i)), d, y + i);
  }
  if (i < n) {
    StoreF32N(f(LoadF32NOr(d, x + i, n - i, pad), hn::FirstN(d, n - i)), d, y + i, n - i);
  }
}

// MapRow with non-temporal stores for an f32 y (`stream`; other output types store as usual): for outputs far out
// of cache that nothing re-reads soon, so that a store does not first read its line from memory
// (read-for-ownership) nor evict the input still being read. hn::Stream needs aligned addresses: the lanes before
// y's first vector-aligned address are stored as a partial vector, the rest streamed, the tail stored as a partial
// vector. The same f, in the same order, on the same vectors as MapRow (same bits). The caller issues
// hwy::FlushStream() before y is handed on. x == y is not allowed with stream (the finishes that stream read x only).
template <class D, class TX, class TY, class Func>
HWY_INLINE void MapRowTo(D d, const TX* x, TY* y, size_t n, float pad, bool stream, const Func& f) {
  if constexpr (std::is_same<TY, float>::value) {
    if (stream) {
      const size_t N = hn::Lanes(d);
      const size_t align = N * sizeof(float);
      const size_t misaligned = reinterpret_cast<uintptr_t>(y) % align;
      size_t i = misaligned == 0 ? 0 : (align - misaligned) / sizeof(float);  // y is float-aligned
      if (i > n) i = n;
      if (i != 0) MapRow(d, x, y, i, pad, f);
      for (; i + N <= n; i += N) hn::Stream(f(LoadF32(d, x + i)), d, y + i);
      if (i < n) MapRow(d, x + i, y + i, n - i, pad, f);
      return;
    }
  }
  (void)stream;
  MapRow(d, x, y, n, pad, f);
}

// f(x vector) for every vector of x[0, n); tail lanes past n hold `pad`, and for the tail f also receives the mask
// of valid lanes, as in MapRow (and groups of kLockstep vectors first, and the read-ahead, as there).
template <size_t kLockstep = 1, class D, class T, class Func, class Ahead = NoReadAhead>
HWY_INLINE void VisitRow(D d, const T* x, size_t n, float pad, const Func& f, const Ahead& ahead = Ahead()) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  constexpr size_t K = kLockstep < kMaxLockstep ? kLockstep : kMaxLockstep;
  if constexpr (K > 1) {
    for (; i + K * N <= n; i += K * N) {
      VecGroup<hn::Vec<D>, K> v;
      ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA {
        ahead.At(x + i + k * N);
        Slot<k>(v) = LoadF32(d, x + i + k * N);
      });
      f(v);
    }
  }
  for (; i + N <= n; i += N) {
    ahead.At(x + i);
    f(LoadF32(d, x + i));
  }
  if (i < n) {
    f(LoadF32NOr(d, x + i, n - i, pad), hn::FirstN(d, n - i));
  }
}

// For functors given to MapRow/VisitRow: ValidLanes(v, tail_mask...) zeroes the padded lanes of the tail vector
// (and is v itself for whole vectors); ValidMask(m, tail_mask...) likewise for a mask.
template <class V>
HWY_INLINE V ValidLanes(V v) {
  return v;
}
template <class V, class M>
HWY_INLINE V ValidLanes(V v, M tail_mask) {
  return hn::IfThenElseZero(tail_mask, v);
}
template <class M>
HWY_INLINE M ValidMask(M m) {
  return m;
}
template <class M>
HWY_INLINE M ValidMask(M m, M tail_mask) {
  return hn::And(m, tail_mask);
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
