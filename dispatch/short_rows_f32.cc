// Compiles the f32 short-row path (kernels/short_rows-inl.h: ShortSoftmaxRowsF32, ShortLogSoftmaxRowsF32) once per
// Highway target, out of line; the three kernel tables (dispatch/kernel_table*.cc) declare it and call it
// (kernels/short_rows_typed-inl.h). A translation unit of its own: its group sizes, row kinds and variants are most
// of the kernels' code, and inside dispatch/kernel_table.cc they made that file the build's critical path (under
// ASan + UBSan, over 20 minutes of one core while the other one idled).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "dispatch/short_rows_f32.cc"
#define SIMDMAX_SHORT_ROWS_F32_DEFINITIONS 1
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// (After foreach_target.h: the per-target headers are re-included once per target.)
#include "hwy/highway.h"
#include "kernels/short_rows_typed-inl.h"
