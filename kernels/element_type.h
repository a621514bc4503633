// The element types of the typed row ops (f32, IEEE binary16, bfloat16) as plain C++: storage structs the kernels
// are templated on, and the run-time tag the dispatch layer carries. No Highway types, so that the dispatch layer,
// the kernels of every target and (later) attention's typed K/V share them.
#ifndef SIMDMAX_KERNELS_ELEMENT_TYPE_H_
#define SIMDMAX_KERNELS_ELEMENT_TYPE_H_

#include <stddef.h>
#include <stdint.h>

namespace simdmax {

// Values equal to simdmax_dtype's (include/simdmax/simdmax.h), which c_api.cc checks with static_asserts.
enum class ElementType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };
inline constexpr size_t kElementTypeCount = 3;

// Storage of one half-precision element: the 16 bits as they lie in memory. Distinct types (rather than uint16_t
// for both) so that a kernel instantiated for one can never be handed the other.
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};
static_assert(sizeof(F16) == 2 && sizeof(BF16) == 2, "half-precision storage must be 16 bits");

inline constexpr size_t ElementSize(ElementType type) { return type == ElementType::kF32 ? 4 : 2; }

// p advanced by `elements` elements of `type` (p is untyped at the dispatch layer).
inline const void* AdvanceElements(const void* p, size_t elements, ElementType type) {
  return static_cast<const char*>(p) + elements * ElementSize(type);
}
inline void* AdvanceElements(void* p, size_t elements, ElementType type) {
  return static_cast<char*>(p) + elements * ElementSize(type);
}

// Calls fn(T()) with T the storage type of `type` (float, F16 or BF16): the one place that turns a run-time type
// into a template argument.
template <class Fn>
inline auto WithElementType(ElementType type, const Fn& fn) {
  switch (type) {
    case ElementType::kF16:
      return fn(F16());
    case ElementType::kBF16:
      return fn(BF16());
    default:
      return fn(float());
  }
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ELEMENT_TYPE_H_
