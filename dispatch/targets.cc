#include "dispatch/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <atomic>

#include "hwy/targets.h"

namespace simdmax {
namespace {

// Every target name Highway 1.0.3 defines, on any architecture (hwy::TargetName only names the current
// architecture's targets and returns "Unknown" for the others, so the list is spelt out here). A name in this list
// that is not available here is UNSUPPORTED (known, missing capability: "NEON" on x86, "AVX2" on Arm); any other
// name is UNKNOWN (a typo), so that a program trying targets from a list can tell the two apart.
// x86; Arm; POWER, WebAssembly, RISC-V; portable.
constexpr const char* kHighwayTargetNames[] = {"AVX3_DL",     "AVX3", "AVX2",   "SSE4",  "SSSE3", "SVE2_128",
                                               "SVE_256",     "SVE2", "SVE",    "NEON",  "PPC8",  "WASM",
                                               "WASM_EMU256", "RVV",  "EMU128", "SCALAR"};

struct TargetList {
  // Best first: Highway's lower bits are the better targets. A fixed array rather than
  // hwy::SupportedAndGeneratedTargets()'s vector, so that enumerating and selecting targets never allocates (and
  // so never throws). HWY_TARGETS is this translation unit's: the targets kernel_table.cc compiles.
  int64_t targets[64];
  size_t count = 0;
  TargetList() {
    for (int64_t bits = hwy::SupportedTargets() & HWY_TARGETS; bits != 0; bits &= bits - 1) {
      targets[count++] = bits & -bits;
    }
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
  for (size_t i = 0; i < list.count; ++i) {
    if (strcasecmp(name, hwy::TargetName(list.targets[i])) == 0) {
      *index = i;
      return SIMDMAX_OK;
    }
  }
  for (const char* known : kHighwayTargetNames) {
    if (strcasecmp(name, known) == 0) return SIMDMAX_ERROR_UNSUPPORTED_TARGET;
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

size_t TargetCount() { return List().count; }

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
