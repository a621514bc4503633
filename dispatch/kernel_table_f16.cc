// Compiles the row-wise and online kernels whose input is F16 once per Highway target (dispatch/kernel_table-inl.h).
// A translation unit of its own so that the kernel tables of the three input types compile in parallel.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "dispatch/kernel_table_f16.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// (After foreach_target.h: the per-target headers are re-included once per target.)
#include "dispatch/kernel_table-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
constexpr InputTypeKernels kInputKernels = MakeInputTypeKernels<F16>();
}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace simdmax {
SIMDMAX_DEFINE_INPUT_KERNELS_GETTER(F16InputKernels)
}  // namespace simdmax
#endif  // HWY_ONCE
