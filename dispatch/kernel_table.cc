// Compiles kernels/ once per Highway target and exports the dispatch tables.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "dispatch/kernel_table.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/attention-inl.h"
#include "kernels/online_softmax-inl.h"
#include "kernels/row_kernels-inl.h"

#if HWY_ONCE
#include "dispatch/kernel_table.h"

namespace simdmax {

HWY_EXPORT(SoftmaxRows);
HWY_EXPORT(LogSoftmaxRows);
HWY_EXPORT(SoftmaxChunkPass);
HWY_EXPORT(LogSoftmaxChunkPass);
HWY_EXPORT(SoftmaxChunkFinish);
HWY_EXPORT(LogSoftmaxChunkFinish);
HWY_EXPORT(OnlineUpdate);
HWY_EXPORT(OnlineNormalize);
HWY_EXPORT(AttentionTileRun);
HWY_EXPORT(AttentionMerge);

namespace {

// Entries of every HWY_EXPORT table: HWY_MAX_DYNAMIC_TARGETS + 2 with dynamic dispatch, but 1 when only one target
// is compiled (-DHWY_COMPILE_ONLY_STATIC, or an architecture without dispatch), where the table holds just the
// static target.
constexpr size_t kSlots = sizeof(HWY_DISPATCH_TABLE(SoftmaxRows)) / sizeof(HWY_DISPATCH_TABLE(SoftmaxRows)[0]);

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
  table.softmax = {HWY_DISPATCH_TABLE(SoftmaxRows)[slot], HWY_DISPATCH_TABLE(SoftmaxChunkPass)[slot],
                   HWY_DISPATCH_TABLE(SoftmaxChunkFinish)[slot], /*log=*/false};
  table.log_softmax = {HWY_DISPATCH_TABLE(LogSoftmaxRows)[slot], HWY_DISPATCH_TABLE(LogSoftmaxChunkPass)[slot],
                       HWY_DISPATCH_TABLE(LogSoftmaxChunkFinish)[slot], /*log=*/true};
  table.online_update = HWY_DISPATCH_TABLE(OnlineUpdate)[slot];
  table.online_normalize = HWY_DISPATCH_TABLE(OnlineNormalize)[slot];
  table.attention_tile = HWY_DISPATCH_TABLE(AttentionTileRun)[slot];
  table.attention_merge = HWY_DISPATCH_TABLE(AttentionMerge)[slot];
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
