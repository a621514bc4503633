// The exported row kernels (dispatch/kernel_table.cc): batches of rows following the row plan
// (kernels/row_plan.h), and the two chunk passes that the dispatch layer runs across threads for long rows.

#if defined(SIMDMAX_KERNELS_ROW_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#undef SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#else
#define SIMDMAX_KERNELS_ROW_KERNELS_INL_H_
#endif

#include <stddef.h>

#include <type_traits>

#include "hwy/highway.h"
#include "kernels/row_batch.h"
#include "kernels/row_chunks.h"
#include "kernels/row_plan.h"
#include "kernels/short_rows-inl.h"
#include "kernels/short_rows_typed-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Exported entry points, one instantiation per element type (pair); dispatch/kernel_table-inl.h takes their
// addresses. Rows: a range of rows of a batch following the row plan (kernels/row_plan.h), so the result of a row
// never depends on which thread or which range it came with. Chunk passes: one chunk of one row, for rows split
// across threads by the dispatch layer (the same functions ChunkedRow calls). The first pass depends on the input
// type only. Short rows of half-precision types go through f32 blocks (kernels/short_rows_typed-inl.h).
template <RowOp kOp, class TX, class TY>
HWY_NOINLINE void TypedRows(const RowBatch& batch, size_t row_begin, size_t row_end) {
  if (batch.path == RowPath::kShortRows) {
    if constexpr (std::is_same<TX, float>::value && std::is_same<TY, float>::value) {
      ShortRowsF32<kOp>(batch, row_begin, row_end);
    } else {
      ShortRowsThroughF32<kOp, TX, TY>(batch, row_begin, row_end);
    }
    return;
  }
  const TX* x = static_cast<const TX*>(batch.x);
  TY* y = static_cast<TY*>(batch.y);
  for (size_t r = row_begin; r < row_end; ++r) {
    ChunkedRow<kOp>(x + r * batch.x_stride, y + r * batch.y_stride, batch.cols, batch.scratch, batch.chunked);
  }
}

template <RowOp kOp, class TX>
HWY_NOINLINE void TypedChunkPass(const void* x, float* y, size_t n, bool store, const ReadAhead& ahead,
                                 ChunkState* state) {
  RowChunkPass<kOp>(static_cast<const TX*>(x), y, n, store, ahead, state);
}

template <RowOp kOp, class TX, class TY>
HWY_NOINLINE void TypedChunkFinish(const void* x, const float* stored, void* y, size_t n, const ChunkFinish& finish) {
  RowChunkFinish<kOp>(static_cast<const TX*>(x), stored, static_cast<TY*>(y), n, finish);
}

// The kernels of one row op for input type TX and output type TY.
template <RowOp kOp, class TX, class TY>
constexpr RowOpKernels MakeRowOpKernels() {
  return RowOpKernels{&TypedRows<kOp, TX, TY>, &TypedChunkPass<kOp, TX>, &TypedChunkFinish<kOp, TX, TY>,
                      /*log=*/kOp == RowOp::kLogSoftmax};
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
