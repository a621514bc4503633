// The per-target kernel tables: the only place that knows how targets map to compiled code.
#ifndef SIMDMAX_DISPATCH_KERNEL_TABLE_H_
#define SIMDMAX_DISPATCH_KERNEL_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "kernels/attention_tile.h"
#include "kernels/row_batch.h"

namespace simdmax {

// Online softmax (kernels/online_softmax-inl.h): fold a block into (max, sum); normalise a block under a state.
using OnlineUpdateKernel = void (*)(float* state_max, double* state_sum, const float* x, size_t n);
using OnlineNormalizeKernel = void (*)(float max, double sum, const float* x, float* y, size_t n, bool log);

}  // namespace simdmax

namespace simdmax {

// The kernels compiled for one Highway target.
struct KernelTable {
  RowOpKernels softmax;
  RowOpKernels log_softmax;
  OnlineUpdateKernel online_update;
  OnlineNormalizeKernel online_normalize;
  AttentionTileKernel attention_tile;
  AttentionMergeKernel attention_merge;
};

// The table for a Highway target bit (HWY_AVX2, ...) that is compiled in and supported by this CPU.
const KernelTable& KernelsFor(int64_t target);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_KERNEL_TABLE_H_
