// The per-target kernel tables: the only place that knows how targets map to compiled code.
#ifndef SIMDMAX_DISPATCH_KERNEL_TABLE_H_
#define SIMDMAX_DISPATCH_KERNEL_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "kernels/attention_tile.h"
#include "kernels/element_type.h"
#include "kernels/row_batch.h"

namespace simdmax {

// Online softmax (kernels/online_softmax-inl.h): fold a block of the kernel's input type into (max, sum); normalise
// a block under a state into the kernel's output type.
using OnlineUpdateKernel = void (*)(float* state_max, double* state_sum, const void* x, size_t n);
using OnlineNormalizeKernel = void (*)(float max, double sum, const void* x, void* y, size_t n, bool log);

// Every row-wise and online kernel whose input is one element type, for one target; arrays indexed by the output
// type (ElementType). One such table per input type, each compiled in its own translation unit
// (dispatch/kernel_table.cc: f32, kernel_table_f16.cc, kernel_table_bf16.cc), so that the three compile in
// parallel; built by dispatch/kernel_table-inl.h.
// Attention's typed kernels live here too, by the one element type each is typed on: the tile kernel reads K and V
// of this type, the merge writes outputs of this type, and WidenRow widens q rows of this type.
struct InputTypeKernels {
  RowOpKernels softmax[kElementTypeCount];
  RowOpKernels log_softmax[kElementTypeCount];
  OnlineUpdateKernel online_update;
  OnlineNormalizeKernel online_normalize[kElementTypeCount];
  AttentionTileKernel attention_tile;    // K/V of this type
  AttentionMergeKernel attention_merge;  // outputs of this type
  WidenRowKernel widen_row;              // this type -> f32
};

// The kernels compiled for one Highway target.
struct KernelTable {
  const InputTypeKernels* by_input[kElementTypeCount];  // indexed by the input type

  const InputTypeKernels& ForType(ElementType type) const { return *by_input[static_cast<int>(type)]; }

  const RowOpKernels& RowOp(bool log, ElementType x_type, ElementType y_type) const {
    const InputTypeKernels& k = *by_input[static_cast<int>(x_type)];
    return log ? k.log_softmax[static_cast<int>(y_type)] : k.softmax[static_cast<int>(y_type)];
  }
};

// The table for a Highway target bit (HWY_AVX2, ...) that is compiled in and supported by this CPU.
const KernelTable& KernelsFor(int64_t target);

// The InputTypeKernels of one input type for a dispatch slot (Highway's index of a target in its HWY_EXPORT
// tables), defined by the translation unit that compiles them; null for a slot with no compiled target.
const InputTypeKernels* F32InputKernels(size_t slot);
const InputTypeKernels* F16InputKernels(size_t slot);
const InputTypeKernels* BF16InputKernels(size_t slot);

}  // namespace simdmax

// In the HWY_ONCE part of a kernel table translation unit: defines `const InputTypeKernels* GETTER(size_t slot)`
// from the per-target constant tables `kInputKernels` (see dispatch/kernel_table-inl.h), laid out like an
// HWY_EXPORT table (slot 0, Highway's dispatcher entry, gets the static target's). The tables are constants: taking
// their addresses runs no target code, so no slot of an unsupported target is ever executed.
#define SIMDMAX_DEFINE_INPUT_KERNELS_GETTER(GETTER)                                 \
  const InputTypeKernels* GETTER(size_t slot) {                                     \
    static const InputTypeKernels* const kTables[HWY_MAX_DYNAMIC_TARGETS + 2] = {   \
        &HWY_STATIC_DISPATCH(kInputKernels), HWY_CHOOSE_TARGET_LIST(kInputKernels), \
        HWY_CHOOSE_FALLBACK(kInputKernels)};                                        \
    return slot < HWY_MAX_DYNAMIC_TARGETS + 2 ? kTables[slot] : nullptr;            \
  }

#endif  // SIMDMAX_DISPATCH_KERNEL_TABLE_H_
