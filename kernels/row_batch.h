// The plain description of a batch of rows that the dispatch layer hands to the row kernels. No Highway types:
// it is shared by every target's code and by the dispatch layer. Arguments arrive already validated.
#ifndef SIMDMAX_KERNELS_ROW_BATCH_H_
#define SIMDMAX_KERNELS_ROW_BATCH_H_

#include <stddef.h>

#include "kernels/element_type.h"
#include "kernels/row_chunks.h"
#include "kernels/row_plan.h"

namespace simdmax {

// x and y are untyped here: each row kernel is instantiated for one (x_type, y_type) pair and casts them.
struct RowBatch {
  size_t cols;  // >= 1
  const void* x;
  size_t x_stride;  // elements of x_type, >= cols
  void* y;          // may equal x (in place, then y_type == x_type and y_stride == x_stride)
  size_t y_stride;  // elements of y_type, >= cols
  ElementType x_type;
  ElementType y_type;
  RowPath path;             // the plan for rows of this length (kernels/row_plan.h)
  size_t short_groups = 1;  // kShortRows: ShortGroupsInFlight (kernels/row_plan.h), 1..kMaxShortGroupsInFlight
  ChunkedPlan chunked;      // kChunked: PlanChunkedRows (kernels/row_plan.h); speed only, the same bits either way
  // kChunked with chunked.reload: f32 space of at least cols floats for the calling thread's rows, or null. Softmax
  // with a half-precision output keeps e = exp(x - offset) there between its passes, as an f32 output keeps it in y;
  // without it the finish re-evaluates e (the same bits, one exp more per element).
  float* scratch = nullptr;
};

// A row kernel processes rows [row_begin, row_end) of the batch; every row is independent of the others, so the
// result does not depend on how the rows are split between threads.
using RowKernel = void (*)(const RowBatch& batch, size_t row_begin, size_t row_end);

// The two passes over one chunk of a row (kernels/row_chunks.h), for rows split across threads.
// store: softmax stores exp(x - chunk max) in `stored`, f32: the output itself when it is f32, else scratch (false:
// the plan re-evaluates e, or a half-precision output without scratch; stored is then unused and may be null);
// ignored by log-softmax. The pass depends on the input type only. The finish reads e from `stored` when the pass
// stored it (ChunkFinish::reload), and re-evaluates it from x otherwise. x and y point at elements of the kernel's
// types. ahead: what the pass prefetches (kernels/row_chunks.h NextChunkAhead).
using ChunkPassKernel = void (*)(const void* x, float* stored, size_t n, bool store, const ReadAhead& ahead,
                                 ChunkState* state);
using ChunkFinishKernel = void (*)(const void* x, const float* stored, void* y, size_t n, const ChunkFinish& finish);

// Everything the dispatch layer needs for one row-wise op, one (input, output) type pair, on one target.
struct RowOpKernels {
  RowKernel rows;
  ChunkPassKernel chunk_pass;
  ChunkFinishKernel chunk_finish;
  bool log;  // log-softmax (for MergeChunks)
};

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ROW_BATCH_H_
