#include "dispatch/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <atomic>
#include <vector>

#include "hwy/targets.h"

namespace simdmax {
namespace {

// Every target name Highway 1.0.3 can build for on this architecture, compiled in or not, so that a name that
// exists but is unavailable here is UNSUPPORTED rather than UNKNOWN.
#if HWY_ARCH_X86
constexpr int64_t kKnownTargets[] = {HWY_AVX3_DL, HWY_AVX3, HWY_AVX2, HWY_SSE4, HWY_SSSE3, HWY_SCALAR, HWY_EMU128};
#elif HWY_ARCH_ARM
constexpr int64_t kKnownTargets[] = {HWY_SVE2_128, HWY_SVE_256, HWY_SVE2, HWY_SVE, HWY_NEON, HWY_SCALAR, HWY_EMU128};
#else
constexpr int64_t kKnownTargets[] = {HWY_SCALAR, HWY_EMU128};
#endif

struct TargetList {
  std::vector<int64_t> targets;  // best first
  TargetList() {
    // SupportedAndGeneratedTargets: SupportedTargets() alone also lists targets that were never compiled.
    targets = hwy::SupportedAndGeneratedTargets();
    // Highway lists lowest bit first, and lower bits are the better targets.
  }
};

const TargetList& List() {
  static const TargetList list;
  return list;
}

// Index into List() of the selected target; the best (0) by default.
std::atomic<size_t> g_selected{0};

simdmax_status FindTarget(const char* name, size_t* index) {
  const TargetList& list = List();
  for (size_t i = 0; i < list.targets.size(); ++i) {
    if (strcasecmp(name, hwy::TargetName(list.targets[i])) == 0) {
      *index = i;
      return SIMDMAX_OK;
    }
  }
  for (int64_t known : kKnownTargets) {
    if (strcasecmp(name, hwy::TargetName(known)) == 0) return SIMDMAX_ERROR_UNSUPPORTED_TARGET;
  }
  return SIMDMAX_ERROR_UNKNOWN_TARGET;
}

void ApplyEnvironmentOnce() {
  static const bool applied = [] {
    const char* name = getenv("SIMDMAX_TARGET");
    if (name != nullptr && name[0] != '\0') {
      size_t index = 0;
      const simdmax_status status = FindTarget(name, &index);
      if (status == SIMDMAX_OK) {
        g_selected.store(index);
      } else {
        fprintf(stderr, "simdmax: ignoring SIMDMAX_TARGET=%s: %s\n", name, simdmax_status_string(status));
      }
    }
    return true;
  }();
  (void)applied;
}

}  // namespace

size_t TargetCount() { return List().targets.size(); }

int64_t TargetAt(size_t index) { return List().targets[index]; }

const char* TargetNameAt(size_t index) {
  if (index >= TargetCount()) return nullptr;
  return hwy::TargetName(List().targets[index]);
}

simdmax_status SelectTarget(const char* name) {
  ApplyEnvironmentOnce();  // so that a later first call cannot override an explicit selection
  if (name == nullptr || name[0] == '\0') {
    g_selected.store(0);
    return SIMDMAX_OK;
  }
  size_t index = 0;
  const simdmax_status status = FindTarget(name, &index);
  if (status == SIMDMAX_OK) g_selected.store(index);
  return status;
}

int64_t SelectedTarget() {
  ApplyEnvironmentOnce();
  return List().targets[g_selected.load(std::memory_order_relaxed)];
}

const char* SelectedTargetName() { return hwy::TargetName(SelectedTarget()); }

}  // namespace simdmax
