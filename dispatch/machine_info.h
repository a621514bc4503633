// What the dispatch layer reads about the machine once, at first use: data cache sizes for the row plan
// (kernels/row_plan.h).
#ifndef SIMDMAX_DISPATCH_MACHINE_INFO_H_
#define SIMDMAX_DISPATCH_MACHINE_INFO_H_

#include "kernels/row_plan.h"

namespace simdmax {

// L1d and L2 sizes of the CPU the process started on: sysconf(_SC_LEVEL1_DCACHE_SIZE / _SC_LEVEL2_CACHE_SIZE) where
// glibc knows them, else /sys/devices/system/cpu/cpu0/cache/index*/ (level + type + size), else 0 (unknown: the
// plan then uses documented fallbacks). The environment variables SIMDMAX_L1D_BYTES / SIMDMAX_L2_BYTES override
// them (to re-measure a crossover, or on a machine that reports nothing).
const CacheSizes& MachineCaches();

}  // namespace simdmax

#endif  // SIMDMAX_DISPATCH_MACHINE_INFO_H_
