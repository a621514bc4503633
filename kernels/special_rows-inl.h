// Chunks that hold a NaN or an infinity. Rare, so this path favours clarity over speed; the fast path is only taken
// for chunks the max pass proved finite, which is what lets it skip every special-value check.
//
// Documented results (README.md, "Special values"), for softmax / log-softmax, decided per row by MergeChunks
// (kernels/row_chunks.h) from the counts below:
// - any NaN in the row: the whole row is NaN;
// - k >= 1 entries equal to +inf: 1/k / -log(k) at those entries, 0 / -inf elsewhere (the limit as they grow);
// - every entry -inf (a fully masked row): all 0 / all -inf, never NaN;
// - some -inf entries and a finite maximum: the ordinary kernel with the masked exp, which maps -inf to exactly
//   0 / -inf.

#if defined(SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#undef SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#else
#define SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#endif

#include <stddef.h>

#include <limits>

#include "hwy/highway.h"
#include "kernels/row_chunks.h"
#include "kernels/row_map-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

struct NonFiniteCounts {
  size_t nan = 0, pos_inf = 0, neg_inf = 0;
};

template <class D, class T>
HWY_INLINE NonFiniteCounts CountNonFinite(D d, const T* x, size_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  NonFiniteCounts counts;
  // Padding 0 is finite: it is never counted.
  VisitRow(d, x, n, 0.0f, [&](hn::Vec<D> v, auto...) HWY_ATTR {
    counts.nan += hn::CountTrue(d, hn::IsNaN(v));
    counts.pos_inf += hn::CountTrue(d, hn::Eq(v, hn::Set(d, kInf)));
    counts.neg_inf += hn::CountTrue(d, hn::Eq(v, hn::Set(d, -kInf)));
  });
  return counts;
}

// The kFill and kInfSplit finishes of a chunk (kernels/row_chunks.h). kInfSplit reads x, which is intact: a chunk
// holding +inf is never written by the first pass.
template <class D, class TX, class TY>
HWY_INLINE void FinishSpecialChunk(D d, const TX* x, TY* y, size_t n, const ChunkFinish& finish) {
  const auto fill = hn::Set(d, finish.fill);
  if (finish.kind == ChunkFinish::kFill) {
    MapRow(d, x, y, n, 0.0f, [&](hn::Vec<D>, auto...) HWY_ATTR { return fill; });
    return;
  }
  const auto at_inf = hn::Set(d, finish.at_inf);
  const auto inf = hn::Set(d, std::numeric_limits<float>::infinity());
  MapRow(d, x, y, n, 0.0f,
         [&](hn::Vec<D> v, auto...) HWY_ATTR { return hn::IfThenElse(hn::Eq(v, inf), at_inf, fill); });
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
