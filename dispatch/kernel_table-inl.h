// Per target: the constant table of every row-wise and online kernel for one input type (InputTypeKernels,
// dispatch/kernel_table.h). Included by the three kernel table translation units after hwy/foreach_target.h; each
// defines `constexpr InputTypeKernels kInputKernels = MakeInputTypeKernels<T>();` in its target namespace.
// Only addresses of kernel instantiations: no SIMD code of its own.

#if defined(SIMDMAX_DISPATCH_KERNEL_TABLE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_DISPATCH_KERNEL_TABLE_INL_H_
#undef SIMDMAX_DISPATCH_KERNEL_TABLE_INL_H_
#else
#define SIMDMAX_DISPATCH_KERNEL_TABLE_INL_H_
#endif

#include "dispatch/kernel_table.h"
#include "hwy/highway.h"
#include "kernels/attention-inl.h"
#include "kernels/element_type.h"
#include "kernels/online_softmax-inl.h"
#include "kernels/row_kernels-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {

// The kernels typed on TX (input type; attention: see InputTypeKernels); arrays in ElementType order (kF32, kF16,
// kBF16).
template <class TX>
constexpr InputTypeKernels MakeInputTypeKernels() {
  return InputTypeKernels{
      {MakeRowOpKernels<RowOp::kSoftmax, TX, float>(), MakeRowOpKernels<RowOp::kSoftmax, TX, F16>(),
       MakeRowOpKernels<RowOp::kSoftmax, TX, BF16>()},
      {MakeRowOpKernels<RowOp::kLogSoftmax, TX, float>(), MakeRowOpKernels<RowOp::kLogSoftmax, TX, F16>(),
       MakeRowOpKernels<RowOp::kLogSoftmax, TX, BF16>()},
      &TypedOnlineUpdate<TX>,
      {&TypedOnlineNormalize<TX, float>, &TypedOnlineNormalize<TX, F16>, &TypedOnlineNormalize<TX, BF16>},
      &AttentionTilesRun<TX>,
      &AttentionMerge<TX>,
      &WidenRow<TX>,
  };
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
