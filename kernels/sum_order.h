// Which operand of x - max has the larger magnitude, when a chunk's bounds prove it for every element: it lets
// the exact difference use Fast2Sum (3 operations) instead of TwoSum (6). Plain C++, shared with row_chunks.h.
#ifndef SIMDMAX_KERNELS_SUM_ORDER_H_
#define SIMDMAX_KERNELS_SUM_ORDER_H_

namespace simdmax {

// For a + b: kFirstLarger: |a| >= |b| in every lane; kSecondLarger: |b| >= |a|; kAny: unknown.
enum class SumOrder { kAny, kFirstLarger, kSecondLarger };

// The order for x + (-max) over elements x in [min, max] (finite).
inline SumOrder ShiftOrder(float max, float min) {
  if (max <= 0.0f) return SumOrder::kFirstLarger;   // x <= max <= 0: |x| >= |max|
  if (min >= -max) return SumOrder::kSecondLarger;  // -max <= x <= max: |x| <= |max|
  return SumOrder::kAny;
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_SUM_ORDER_H_
