// The plain description of a batch of rows that the dispatch layer hands to the row kernels. No Highway types:
// it is shared by every target's code and by the dispatch layer. Arguments arrive already validated.
#ifndef SIMDMAX_KERNELS_ROW_BATCH_H_
#define SIMDMAX_KERNELS_ROW_BATCH_H_

#include <stddef.h>

#include "kernels/row_chunks.h"
#include "kernels/row_plan.h"

namespace simdmax {

struct RowBatch {
  size_t cols;  // >= 1
  const float* x;
  size_t x_stride;  // elements, >= cols
  float* y;         // may equal x (in place, then y_stride == x_stride)
  size_t y_stride;  // elements, >= cols
  RowPath path;     // the plan for rows of this length (kernels/row_plan.h)
};

// A row kernel processes rows [row_begin, row_end) of the batch; every row is independent of the others, so the
// result does not depend on how the rows are split between threads.
using RowKernel = void (*)(const RowBatch& batch, size_t row_begin, size_t row_end);

// The two passes over one chunk of a row (kernels/row_chunks.h), for rows split across threads.
// store: softmax stores exp(x - chunk max) in y (false: SoftmaxRecomputes); ignored by log-softmax.
using ChunkPassKernel = void (*)(const float* x, float* y, size_t n, bool store, ChunkState* state);
using ChunkFinishKernel = void (*)(const float* x, float* y, size_t n, const ChunkFinish& finish);

// Everything the dispatch layer needs for one row-wise op on one target.
struct RowOpKernels {
  RowKernel rows;
  ChunkPassKernel chunk_pass;
  ChunkFinishKernel chunk_finish;
  bool log;  // log-softmax (for MergeChunks)
};

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ROW_BATCH_H_
