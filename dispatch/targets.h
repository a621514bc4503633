// Target enumeration and the process-wide selection behind simdmax_target_* / simdmax_select_target.
#ifndef SIMDMAX_DISPATCH_TARGETS_H_
#define SIMDMAX_DISPATCH_TARGETS_H_

#include <stddef.h>
#include <stdint.h>

#include "simdmax/simdmax.h"

namespace simdmax {

// Targets compiled into this build and supported by this CPU, best first.
size_t TargetCount();
int64_t TargetAt(size_t index);
const char* TargetNameAt(size_t index);  // nullptr past the end

// Selection by name (case-insensitive, nullptr or "" = best). On error the selection is unchanged.
simdmax_status SelectTarget(const char* name);

// The target a call starting now uses. Read once per call: a concurrent SelectTarget never mixes targets within a
// call. The first call also applies SIMDMAX_TARGET from the environment.
int64_t SelectedTarget();
const char* SelectedTargetName();

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_TARGETS_H_
