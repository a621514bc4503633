// Rows that hold a NaN or an infinity. Rare, so this path favours clarity over speed; the fast path is only taken
// for rows the max pass proved finite, which is what lets it skip every special-value check.
//
// Documented results (README.md, "Special values"), for softmax / log-softmax:
// - any NaN in the row: the whole row is NaN;
// - k >= 1 entries equal to +inf: 1/k / -log(k) at those entries, 0 / -inf elsewhere (the limit as they grow);
// - every entry -inf (a fully masked row): all 0 / all -inf, never NaN;
// - some -inf entries and a finite maximum: the ordinary kernel, which maps -inf to exactly 0 / -inf.

#if defined(SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#undef SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#else
#define SIMDMAX_KERNELS_SPECIAL_ROWS_INL_H_
#endif

#include <math.h>
#include <stddef.h>

#include <limits>

#include "hwy/highway.h"
#include "kernels/row_map-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

enum class RowOp { kSoftmax, kLogSoftmax };

// Counts of the non-finite entries of x[0, n). Shared by the row kernels and the online state update.
struct NonFiniteCounts {
  size_t nan = 0;
  size_t pos_inf = 0;
  size_t neg_inf = 0;
};

template <class D>
HWY_INLINE NonFiniteCounts CountNonFinite(D d, const float* x, size_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  NonFiniteCounts counts;
  VisitRow(d, x, n, 0.0f, [&](hn::Vec<D> v) HWY_ATTR {
    counts.nan += hn::CountTrue(d, hn::IsNaN(v));
    counts.pos_inf += hn::CountTrue(d, hn::Eq(v, hn::Set(d, kInf)));
    counts.neg_inf += hn::CountTrue(d, hn::Eq(v, hn::Set(d, -kInf)));
  });
  return counts;
}

// Writes the result of a row holding a non-finite value and returns true, or returns false (writing nothing) when
// the row only has -inf entries beside a finite maximum and the ordinary kernel applies.
template <RowOp kOp, class D>
HWY_INLINE bool WriteNonFiniteRow(D d, const float* x, float* y, size_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const NonFiniteCounts counts = CountNonFinite(d, x, n);
  const size_t nan_count = counts.nan, pos_inf_count = counts.pos_inf, neg_inf_count = counts.neg_inf;
  const bool log = (kOp == RowOp::kLogSoftmax);
  if (nan_count != 0) {
    const auto nan = hn::Set(d, std::numeric_limits<float>::quiet_NaN());
    MapRow(d, x, y, n, 0.0f, [&](hn::Vec<D>) HWY_ATTR { return nan; });
    return true;
  }
  if (pos_inf_count != 0) {
    const double k = static_cast<double>(pos_inf_count);
    const auto at_inf = hn::Set(d, log ? static_cast<float>(-::log(k)) : static_cast<float>(1.0 / k));
    const auto elsewhere = hn::Set(d, log ? -kInf : 0.0f);
    MapRow(d, x, y, n, 0.0f, [&](hn::Vec<D> v) HWY_ATTR {
      return hn::IfThenElse(hn::Eq(v, hn::Set(d, kInf)), at_inf, elsewhere);
    });
    return true;
  }
  if (neg_inf_count == n) {
    const auto fill = hn::Set(d, log ? -kInf : 0.0f);
    MapRow(d, x, y, n, 0.0f, [&](hn::Vec<D>) HWY_ATTR { return fill; });
    return true;
  }
  return false;
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
