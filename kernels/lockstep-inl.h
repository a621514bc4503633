// Several independent vectors carried through one computation in lockstep: each operation is applied to every
// vector of a group before the next operation starts, so the K dependency chains are interleaved in program order.
//
// Why: the scaled exp and its compensated sum are a chain of ~15 dependent operations (~45 cycles). Written one
// vector after another (one row of a short-row group after the other), each chain's operations enter the FP
// scheduler together and wait there on one another; the scheduler then holds only two or three chains and the FP
// pipes idle. In lockstep, K independent operations are ready at every step. Measured on Zen 5 (the sum passes of
// kernels/short_rows-inl.h, 4 rows in lockstep; simdmax_ab_compare, paired, whole library against the commit
// before): softmax AVX3_DL -1..-6.5% and AVX2 -2..-8% on rows of 48..512 columns, log-softmax AVX3_DL -1..-8% and
// AVX2 -7..-10%. The operations and their order within each chain are unchanged, so every result keeps its bits.
//
// The math is written once (kernels/exp-inl.h, kernels/reduce-inl.h), generic over its vector type V: a plain
// vector (one chain; every caller outside the short rows) or VecGroup<V, K>. An operation on groups takes plain
// vectors too and uses them in every slot (loop-invariant constants such as the row-independent coefficients).
// Sizeless vectors (SVE, RVV) cannot be array members: there a group has one slot (kMaxLockstep).

#if defined(SIMDMAX_KERNELS_LOCKSTEP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_LOCKSTEP_INL_H_
#undef SIMDMAX_KERNELS_LOCKSTEP_INL_H_
#else
#define SIMDMAX_KERNELS_LOCKSTEP_INL_H_
#endif

#include <stddef.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// For the lambdas of lockstep code: always inlined, as HWY_INLINE functions are (GCC may otherwise call a lambda that
// is used twice, e.g. by a loop and its tail, out of line: +20% for the short softmax rows).
#ifndef SIMDMAX_INLINE_LAMBDA
#define SIMDMAX_INLINE_LAMBDA HWY_ATTR __attribute__((always_inline))
#endif

// The most chains a target may carry in one group.
#if HWY_HAVE_SCALABLE
inline constexpr size_t kMaxLockstep = 1;
#else
inline constexpr size_t kMaxLockstep = 4;
#endif

template <class T, size_t K>
struct VecGroup {
  static_assert(K >= 2 && K <= kMaxLockstep, "one chain is a plain vector");
  // User-provided, for the target attribute: the implicit constructor is compiled without it, and then cannot inline
  // the vectors' (always_inline) constructors on NEON.
  HWY_ATTR VecGroup() {}
  T v[K];
};

// K chains of T: T itself for one chain.
template <class T, size_t K>
using Lockstep = std::conditional_t<K == 1, T, VecGroup<T, K>>;

template <class T>
struct LockstepSlots : std::integral_constant<size_t, 1> {};
template <class T, size_t K>
struct LockstepSlots<VecGroup<T, K>> : std::integral_constant<size_t, K> {};

// Slot k of a group; a plain vector is the same in every slot.
template <size_t k, class T>
HWY_INLINE T& Slot(T& x) {
  return x;
}
template <size_t k, class T>
HWY_INLINE const T& Slot(const T& x) {
  return x;
}
template <size_t k, class T, size_t K>
HWY_INLINE T& Slot(VecGroup<T, K>& g) {
  return g.v[k];
}
template <size_t k, class T, size_t K>
HWY_INLINE const T& Slot(const VecGroup<T, K>& g) {
  return g.v[k];
}

// f(k) for k = 0 .. K-1, k a compile-time constant.
template <class F, size_t... kIndex>
HWY_INLINE void ForSlotsOf(const F& f, std::index_sequence<kIndex...>) {
  (f(std::integral_constant<size_t, kIndex>()), ...);
}
template <size_t K, class F>
HWY_INLINE void ForSlots(const F& f) {
  ForSlotsOf(f, std::make_index_sequence<K>());
}

template <class... A>
inline constexpr size_t kLockstepSlotsOf = std::max({size_t{1}, LockstepSlots<std::decay_t<A>>::value...});

// f applied slot by slot: f(args...) when none is a group, else the group of f(slot k of each arg).
template <class F, class... A>
HWY_INLINE auto InLockstep(const F& f, const A&... a) {
  constexpr size_t K = kLockstepSlotsOf<A...>;
  if constexpr (K == 1) {
    return f(a...);
  } else {
    VecGroup<decltype(f(Slot<0>(a)...)), K> out;
    ForSlots<K>([&](auto k) SIMDMAX_INLINE_LAMBDA { out.v[k] = f(Slot<decltype(k)::value>(a)...); });
    return out;
  }
}

// The Highway operations the grouped math uses (namespace ls: "lockstep"), each over groups or plain vectors.
namespace ls {
template <class A, class B>
HWY_INLINE auto Add(const A& a, const B& b) {
  return InLockstep([](auto x, auto y) SIMDMAX_INLINE_LAMBDA { return hn::Add(x, y); }, a, b);
}
template <class A, class B>
HWY_INLINE auto Sub(const A& a, const B& b) {
  return InLockstep([](auto x, auto y) SIMDMAX_INLINE_LAMBDA { return hn::Sub(x, y); }, a, b);
}
template <class A, class B>
HWY_INLINE auto Mul(const A& a, const B& b) {
  return InLockstep([](auto x, auto y) SIMDMAX_INLINE_LAMBDA { return hn::Mul(x, y); }, a, b);
}
template <class A, class B>
HWY_INLINE auto Max(const A& a, const B& b) {
  return InLockstep([](auto x, auto y) SIMDMAX_INLINE_LAMBDA { return hn::Max(x, y); }, a, b);
}
template <class A, class B>
HWY_INLINE auto Eq(const A& a, const B& b) {
  return InLockstep([](auto x, auto y) SIMDMAX_INLINE_LAMBDA { return hn::Eq(x, y); }, a, b);
}
template <class A, class B, class C>
HWY_INLINE auto MulAdd(const A& a, const B& b, const C& c) {
  return InLockstep([](auto x, auto y, auto z) SIMDMAX_INLINE_LAMBDA { return hn::MulAdd(x, y, z); }, a, b, c);
}
template <class A, class B, class C>
HWY_INLINE auto NegMulAdd(const A& a, const B& b, const C& c) {
  return InLockstep([](auto x, auto y, auto z) SIMDMAX_INLINE_LAMBDA { return hn::NegMulAdd(x, y, z); }, a, b, c);
}
template <class M, class B, class C>
HWY_INLINE auto IfThenElse(const M& m, const B& b, const C& c) {
  return InLockstep([](auto x, auto y, auto z) SIMDMAX_INLINE_LAMBDA { return hn::IfThenElse(x, y, z); }, m, b, c);
}
}  // namespace ls

// acc += x: slot by slot where acc is a group like x; where acc is one vector, x's slots one after another (the
// order of a loop over their vectors, so that a sum's rounding does not depend on the lockstep).
template <class A, class X>
HWY_INLINE void AddSlotsTo(A& acc, const X& x) {
  if constexpr (LockstepSlots<A>::value == LockstepSlots<X>::value) {
    acc = ls::Add(acc, x);
  } else {
    ForSlots<LockstepSlots<X>::value>([&](auto k) SIMDMAX_INLINE_LAMBDA { acc = hn::Add(acc, Slot<k>(x)); });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
