// The per-target kernel tables: the only place that knows how targets map to compiled code.
#ifndef SIMDMAX_DISPATCH_KERNEL_TABLE_H_
#define SIMDMAX_DISPATCH_KERNEL_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "kernels/row_batch.h"

namespace simdmax {

// The kernels compiled for one Highway target.
struct KernelTable {
  RowOpKernels softmax;
  RowOpKernels log_softmax;
};

// The table for a Highway target bit (HWY_AVX2, ...) that is compiled in and supported by this CPU.
const KernelTable& KernelsFor(int64_t target);

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_KERNEL_TABLE_H_
