// Compiles kernels/ once per Highway target and exports the dispatch tables: the row-wise, online and attention
// kernels typed on f32 here; those with f16 and bf16 inputs in kernel_table_f16.cc and kernel_table_bf16.cc
// (separate translation units, so that the build compiles them in parallel).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "dispatch/kernel_table.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// (After foreach_target.h: the per-target headers are re-included once per target.)
#include "dispatch/kernel_table-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
constexpr InputTypeKernels kInputKernels = MakeInputTypeKernels<float>();

// The target this code was compiled for: an exported function whose HWY_EXPORT table gives the slot count.
int64_t CompiledTarget() { return HWY_TARGET; }
}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "dispatch/kernel_table.h"

namespace simdmax {

SIMDMAX_DEFINE_INPUT_KERNELS_GETTER(F32InputKernels)

HWY_EXPORT(CompiledTarget);

namespace {

// Entries of every HWY_EXPORT table: HWY_MAX_DYNAMIC_TARGETS + 2 with dynamic dispatch, but 1 when only one target
// is compiled (-DHWY_COMPILE_ONLY_STATIC, or an architecture without dispatch), where the table holds just the
// static target.
constexpr size_t kSlots = sizeof(HWY_DISPATCH_TABLE(CompiledTarget)) / sizeof(HWY_DISPATCH_TABLE(CompiledTarget)[0]);

// Highway's own mapping from a target bit to its slot in the HWY_EXPORT tables (the slot HWY_DYNAMIC_DISPATCH
// would use if that target were the best one). Computed in this translation unit because it depends on the
// HWY_TARGETS it was compiled with. Selecting by slot rather than through hwy::SetSupportedTargetsForTest keeps
// the selection ours (atomic, process-wide) instead of mutating Highway's global state. A single-entry table has
// no slot mapping: ChosenTarget would index it as if it were full (the fallback slot), out of bounds.
size_t DispatchSlot(int64_t target) {
  if (kSlots == 1) return 0;
  hwy::ChosenTarget chosen;
  chosen.Update(target);
  return chosen.GetIndex();
}

KernelTable MakeTable(size_t slot) {
  KernelTable table;
  table.by_input[static_cast<int>(ElementType::kF32)] = F32InputKernels(slot);
  table.by_input[static_cast<int>(ElementType::kF16)] = F16InputKernels(slot);
  table.by_input[static_cast<int>(ElementType::kBF16)] = BF16InputKernels(slot);
  return table;
}

}  // namespace

const KernelTable& KernelsFor(int64_t target) {
  // One table per slot, built once (thread-safe static initialisation).
  static const auto* const tables = [] {
    auto* built = new KernelTable[kSlots];
    for (size_t slot = 0; slot < kSlots; ++slot) built[slot] = MakeTable(slot);
    return built;
  }();
  return tables[DispatchSlot(target)];
}

}  // namespace simdmax
#endif  // HWY_ONCE
