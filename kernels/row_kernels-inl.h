// The exported row kernels (dispatch/kernel_table.cc): batches of rows following the row plan
// (kernels/row_plan.h), and the two chunk passes that the dispatch layer runs across threads for long rows.

#if defined(SIMDMAX_KERNELS_ROW_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#undef SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#else
#define SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#endif

#include <stddef.h>

#include "hwy/highway.h"
#include "kernels/row_batch.h"
#include "kernels/row_chunks.h"
#include "kernels/row_plan.h"
#include "kernels/short_rows-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Exported entry points. Rows: a range of rows of a batch, row by row, so the result of a row never depends on
// which thread or which range it came with. Chunk passes: one chunk of one row, for rows split across threads
// by the dispatch layer (the same functions ChunkedRow calls).
template <RowOp kOp>
HWY_INLINE void RowsFollowingPlan(const RowBatch& batch, size_t row_begin, size_t row_end) {
  const hn::ScalableTag<float> d;
  if (batch.path == RowPath::kShortRows) {
    ShortRows<kOp>(d, batch, row_begin, row_end);
    return;
  }
  for (size_t r = row_begin; r < row_end; ++r) {
    ChunkedRow<kOp>(d, batch.x + r * batch.x_stride, batch.y + r * batch.y_stride, batch.cols);
  }
}

HWY_NOINLINE void SoftmaxRows(const RowBatch& batch, size_t row_begin, size_t row_end) {
  RowsFollowingPlan<RowOp::kSoftmax>(batch, row_begin, row_end);
}

HWY_NOINLINE void LogSoftmaxRows(const RowBatch& batch, size_t row_begin, size_t row_end) {
  RowsFollowingPlan<RowOp::kLogSoftmax>(batch, row_begin, row_end);
}

HWY_NOINLINE void SoftmaxChunkPass(const float* x, float* y, size_t n, bool store, ChunkState* state) {
  ChunkPass<RowOp::kSoftmax>(hn::ScalableTag<float>(), x, y, n, store, state);
}

HWY_NOINLINE void LogSoftmaxChunkPass(const float* x, float* y, size_t n, bool store, ChunkState* state) {
  ChunkPass<RowOp::kLogSoftmax>(hn::ScalableTag<float>(), x, y, n, store, state);
}

HWY_NOINLINE void SoftmaxChunkFinish(const float* x, float* y, size_t n, const ChunkFinish& finish) {
  ChunkFinishPass<RowOp::kSoftmax>(hn::ScalableTag<float>(), x, y, n, finish);
}

HWY_NOINLINE void LogSoftmaxChunkFinish(const float* x, float* y, size_t n, const ChunkFinish& finish) {
  ChunkFinishPass<RowOp::kLogSoftmax>(hn::ScalableTag<float>(), x, y, n, finish);
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
