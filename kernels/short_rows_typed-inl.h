// Short rows of f16 and bf16 (input, output or both): through an f32 block in L1, so that every type pair takes the
// short-row path (kernels/short_rows-inl.h) with one copy of its code.
//
// Why not the short-row passes typed on TX and TY: every pass, kind and group size would be compiled once per type
// pair (nine), for nine times the compile time and code of the f32 path, while converting a block of short rows that
// sits in L1 costs two streaming passes (a load and a store per element each, no dependency chain) next to the
// short-row passes' three loads, two stores and an exp per element.
//
// Numerics: a typed short row is the f32 short row of its input widened (exact, kernels/convert-inl.h), rounded once
// to the output type (nearest even; log-softmax with ties away from zero, kernels/convert-inl.h LogSoftmaxTiesAway). So
// it has the f32 path's accuracy devices and bound plus one rounding of the output type, and the same result whatever
// the grouping or the thread count (the f32 path's property, and the blocks below never change a row's arithmetic).
// tests/typed_accuracy_test.cc checks this identity bit for bit.

#if defined(SIMDMAX_KERNELS_SHORT_ROWS_TYPED_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SHORT_ROWS_TYPED_INL_H_
#undef SIMDMAX_KERNELS_SHORT_ROWS_TYPED_INL_H_
#else
#define SIMDMAX_KERNELS_SHORT_ROWS_TYPED_INL_H_
#endif

#include <stddef.h>

#include <type_traits>

#include "hwy/highway.h"
#include "kernels/row_batch.h"
#include "kernels/row_map-inl.h"
#include "kernels/row_plan.h"
#include "kernels/rows_in_lanes-inl.h"
#include "kernels/short_rows-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The f32 short-row path, out of line and compiled once per target: in dispatch/short_rows_f32.cc, which defines
// SIMDMAX_SHORT_ROWS_F32_DEFINITIONS; the kernel tables only declare it and call it. (Compiled in all three tables,
// it doubled the ASan build's time; in one of them, it made that one the build's critical path.)
void ShortSoftmaxRowsF32(const RowBatch& batch, size_t row_begin, size_t row_end);
void ShortLogSoftmaxRowsF32(const RowBatch& batch, size_t row_begin, size_t row_end);

#if defined(SIMDMAX_SHORT_ROWS_F32_DEFINITIONS)
HWY_NOINLINE void ShortSoftmaxRowsF32(const RowBatch& batch, size_t row_begin, size_t row_end) {
  ShortRowsOfBatch<RowOp::kSoftmax>(hn::ScalableTag<float>(), batch, row_begin, row_end);
}
HWY_NOINLINE void ShortLogSoftmaxRowsF32(const RowBatch& batch, size_t row_begin, size_t row_end) {
  ShortRowsOfBatch<RowOp::kLogSoftmax>(hn::ScalableTag<float>(), batch, row_begin, row_end);
}
#endif

template <RowOp kOp>
HWY_INLINE void ShortRowsF32(const RowBatch& batch, size_t row_begin, size_t row_end) {
  if constexpr (kOp == RowOp::kSoftmax) {
    ShortSoftmaxRowsF32(batch, row_begin, row_end);
  } else {
    ShortLogSoftmaxRowsF32(batch, row_begin, row_end);
  }
}

// Floats of the f32 block: 16 KiB, half of the smallest L1 data cache we plan for, so that the block, the rows it
// came from and the rows it goes to stay in L1 together. Holds at least 5 rows of kShortRowMax.
inline constexpr size_t kShortTypedBlockFloats = 4096;
static_assert(kShortTypedBlockFloats >= kShortRowMax, "a block holds at least one short row");

// y[r] = x[r] for `rows` rows of n elements, converted from TX to TY (exact widening or one nearest-even rounding;
// log-softmax's outputs (kLogOutput) with ties away from zero, LogSoftmaxTiesAwayAnyValue).
template <bool kLogOutput = false, class TX, class TY>
HWY_INLINE void ConvertRows(const TX* x, size_t x_stride, TY* y, size_t y_stride, size_t rows, size_t n) {
  const hn::ScalableTag<float> d;
  const auto copy = [d](hn::Vec<decltype(d)> v, auto...) HWY_ATTR {
    if constexpr (kLogOutput) {
      return LogSoftmaxTiesAwayAnyValue<TY>(d, v);
    } else {
      (void)d;
      return v;
    }
  };
  if (x_stride == n && y_stride == n) {  // contiguous rows: one pass, no per-row tails
    MapRow(d, x, y, rows * n, 0.0f, copy);
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    MapRow(d, x + r * x_stride, y + r * y_stride, n, 0.0f, copy);
  }
}

// Rows [row_begin, row_end) of a short-row batch with TX or TY not f32: blocks of rows are widened into f32 (when
// TX is half precision), computed by ShortRowsF32 (in place in the block when both types are), and narrowed into y
// (when TY is).
template <RowOp kOp, class TX, class TY>
HWY_INLINE void ShortRowsThroughF32(const RowBatch& batch, size_t row_begin, size_t row_end) {
  constexpr bool kWiden = !std::is_same<TX, float>::value;
  constexpr bool kNarrow = !std::is_same<TY, float>::value;
  static_assert(kWiden || kNarrow, "f32 -> f32 calls ShortRowsF32 directly");
  HWY_ALIGN float block[kShortTypedBlockFloats];
  const size_t n = batch.cols;
  const size_t block_rows = kShortTypedBlockFloats / n;  // >= 5 (n <= kShortRowMax)
  const TX* x = static_cast<const TX*>(batch.x);
  TY* y = static_cast<TY*>(batch.y);
  for (size_t r = row_begin; r < row_end; r += block_rows) {
    const size_t rows = (row_end - r < block_rows) ? row_end - r : block_rows;
    RowBatch f32 = batch;
    f32.x_type = ElementType::kF32;
    f32.y_type = ElementType::kF32;
    if constexpr (kWiden) {
      ConvertRows(x + r * batch.x_stride, batch.x_stride, block, n, rows, n);
      f32.x = block;
      f32.x_stride = n;
    } else {
      f32.x = x + r * batch.x_stride;
    }
    if constexpr (kNarrow) {
      f32.y = block;  // in place when the input is in the block too: the f32 path allows y == x
      f32.y_stride = n;
    } else {
      f32.y = y + r * batch.y_stride;
    }
    ShortRowsF32<kOp>(f32, 0, rows);
    if constexpr (kNarrow)
      ConvertRows<kOp == RowOp::kLogSoftmax>(static_cast<const float*>(block), n, y + r * batch.y_stride,
                                             batch.y_stride, rows, n);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
