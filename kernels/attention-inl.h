// Fused attention rows (FlashAttention-style) on the online softmax state: the per-target bodies behind
// simdmax_attention_f32. See kernels/attention_tile.h for the work description.
//
// A tile holds up to kAttentionMaxTileRows query rows that share one key/value head. Keys are walked in blocks of
// kAttentionKeyBlock: scores for the block (rows x keys, on the stack; the n_queries x n_keys matrix never
// exists), each row's online state updated as in online_softmax-inl.h (block max; when the max grows, the old sum
// is re-based in double and the output accumulator scaled by exp(old - new); p = exp(s - max) by TwoSum +
// ExpOfPair summed in f64), then acc += p * V for the block. Memory per tile: the 4 KiB score block.
//
// Masking: keys past a row's visible end get score -inf, which ExpOfPair maps to exactly 0; a block with no
// visible key leaves the row's state untouched, so -inf - (-inf) never occurs. A row that sees no key keeps
// max = -inf, sum = 0, acc = 0, and the merge writes zeros and lse = -inf.
//
// Rows go in groups of four: the score loop loads each key vector once for four dot products, the value loop each
// value vector once for four accumulators (1.25 loads per FMA instead of 2).

#if defined(SIMDMAX_KERNELS_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ATTENTION_INL_H_
#undef SIMDMAX_KERNELS_ATTENTION_INL_H_
#else
#define SIMDMAX_KERNELS_ATTENTION_INL_H_
#endif

#include <math.h>
#include <stddef.h>

#include <limits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/attention_tile.h"
#include "kernels/exp-inl.h"
#include "kernels/load_store_n-inl.h"
#include "kernels/online_state.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_map-inl.h"
#include "kernels/softmax-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
HWY_INLINE void FillRow(D d, float* p, size_t n, float value) {
  const size_t N = hn::Lanes(d);
  const hn::Vec<D> v = hn::Set(d, value);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(v, d, p + i);
  if (i < n) StoreN(v, d, p + i, n - i);
}

// Loads head_dim elements [c, c + N) of a row: a whole vector, or the tail padded with 0 (harmless in dot
// products and in acc += p * v).
template <bool kTail, class D>
HWY_INLINE hn::Vec<D> LoadPart(D d, const float* p, size_t len) {
  if (kTail) return LoadNOr(d, p, len, 0.0f);
  (void)len;
  return hn::LoadU(d, p);
}

template <bool kTail, class D>
HWY_INLINE void StorePart(D d, hn::Vec<D> v, float* p, size_t len) {
  if (kTail) {
    StoreN(v, d, p, len);
  } else {
    (void)len;
    hn::StoreU(v, d, p);
  }
}

// Dot products of four query rows with one key row, over head_dim.
template <class D>
HWY_INLINE void Dot4(D d, const float* const* q, const float* k, size_t dim, float* out) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0;
  size_t c = 0;
  for (; c + N <= dim; c += N) {
    const V kv = hn::LoadU(d, k + c);
    a0 = hn::MulAdd(hn::LoadU(d, q[0] + c), kv, a0);
    a1 = hn::MulAdd(hn::LoadU(d, q[1] + c), kv, a1);
    a2 = hn::MulAdd(hn::LoadU(d, q[2] + c), kv, a2);
    a3 = hn::MulAdd(hn::LoadU(d, q[3] + c), kv, a3);
  }
  if (c < dim) {
    const size_t len = dim - c;
    const V kv = LoadPart<true>(d, k + c, len);
    a0 = hn::MulAdd(LoadPart<true>(d, q[0] + c, len), kv, a0);
    a1 = hn::MulAdd(LoadPart<true>(d, q[1] + c, len), kv, a1);
    a2 = hn::MulAdd(LoadPart<true>(d, q[2] + c, len), kv, a2);
    a3 = hn::MulAdd(LoadPart<true>(d, q[3] + c, len), kv, a3);
  }
  out[0] = hn::GetLane(hn::SumOfLanes(d, a0));
  out[1] = hn::GetLane(hn::SumOfLanes(d, a1));
  out[2] = hn::GetLane(hn::SumOfLanes(d, a2));
  out[3] = hn::GetLane(hn::SumOfLanes(d, a3));
}

// acc_i[c, c + len) += sum_j p_i[j] * v_j[c, c + len) for four rows; rows i >= count are computed but not stored.
template <bool kTail, class D>
HWY_INLINE void AccumulatePV4(D d, float* const* acc, const float* const* p, size_t count, const float* v,
                              size_t v_stride, size_t keys, size_t c, size_t len) {
  using V = hn::Vec<D>;
  V o0 = LoadPart<kTail>(d, acc[0] + c, len), o1 = LoadPart<kTail>(d, acc[1] + c, len);
  V o2 = LoadPart<kTail>(d, acc[2] + c, len), o3 = LoadPart<kTail>(d, acc[3] + c, len);
  for (size_t j = 0; j < keys; ++j) {
    const V vv = LoadPart<kTail>(d, v + j * v_stride + c, len);
    o0 = hn::MulAdd(hn::Set(d, p[0][j]), vv, o0);
    o1 = hn::MulAdd(hn::Set(d, p[1][j]), vv, o1);
    o2 = hn::MulAdd(hn::Set(d, p[2][j]), vv, o2);
    o3 = hn::MulAdd(hn::Set(d, p[3][j]), vv, o3);
  }
  StorePart<kTail>(d, o0, acc[0] + c, len);
  if (count > 1) StorePart<kTail>(d, o1, acc[1] + c, len);
  if (count > 2) StorePart<kTail>(d, o2, acc[2] + c, len);
  if (count > 3) StorePart<kTail>(d, o3, acc[3] + c, len);
}

// Exported: runs a tile (kernels/attention_tile.h).
HWY_NOINLINE void AttentionTileRun(AttentionTile& t) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  constexpr size_t kRows = kAttentionMaxTileRows;
  constexpr size_t kBlock = kAttentionKeyBlock;
  const size_t N = hn::Lanes(d);
  const size_t rows = t.rows, dim = t.head_dim;
  const size_t padded_rows = (rows + 3) & ~size_t{3};  // <= kRows, a multiple of 4

  // Pad the row lists to a multiple of four with copies of the last row (computed, never stored).
  const float* q[kRows];
  float* acc[kRows];
  size_t walk_end = t.key_begin;
  for (size_t r = 0; r < padded_rows; ++r) {
    const size_t src = r < rows ? r : rows - 1;
    q[r] = t.q[src];
    acc[r] = t.acc[src];
  }
  for (size_t r = 0; r < rows; ++r) {
    t.max[r] = -kInf;
    t.sum[r] = 0.0;
    FillRow(d, t.acc[r], dim, 0.0f);
    const size_t end = t.visible_end[r] < t.key_end ? t.visible_end[r] : t.key_end;
    if (end > walk_end) walk_end = end;
  }

  HWY_ALIGN float scores[kRows][kBlock];
  const float* p[kRows];
  for (size_t r = 0; r < kRows; ++r) p[r] = scores[r];

  for (size_t j0 = t.key_begin; j0 < walk_end; j0 += kBlock) {
    const size_t nb = walk_end - j0 < kBlock ? walk_end - j0 : kBlock;
    // Scores: s = scale * q . k.
    for (size_t r0 = 0; r0 < padded_rows; r0 += 4) {
      float dots[4];
      for (size_t j = 0; j < nb; ++j) {
        if (r0 == 0) {
          // Decode reads K and V once from memory: ask for this block's value row and the next block's key row
          // while the dot products run (hardware prefetchers alone leave single-thread bandwidth on the table).
          const float* v_row = t.v + (j0 + j) * t.v_row_stride;
          const bool next = j0 + j + kBlock < walk_end;
          const float* k_next = next ? t.k + (j0 + j + kBlock) * t.k_row_stride : v_row;
          for (size_t c = 0; c < dim; c += 64 / sizeof(float)) {
            hwy::Prefetch(v_row + c);
            hwy::Prefetch(k_next + c);
          }
        }
        Dot4(d, q + r0, t.k + (j0 + j) * t.k_row_stride, dim, dots);
        for (size_t i = 0; i < 4; ++i) scores[r0 + i][j] = dots[i] * t.scale;
      }
    }
    // Online softmax per row: p = exp(s - max), with the FlashAttention rescaling of acc when max grows.
    for (size_t r = 0; r < rows; ++r) {
      float* s = scores[r];
      const size_t end = t.visible_end[r] < t.key_end ? t.visible_end[r] : t.key_end;
      const size_t valid = end > j0 ? (end - j0 < nb ? end - j0 : nb) : 0;
      for (size_t j = valid; j < nb; ++j) s[j] = -kInf;  // causal mask (corner blocks only)
      V vmax = hn::Set(d, -kInf);
      VisitRow(d, s, valid, -kInf, [&](V v, auto...) HWY_ATTR { vmax = hn::Max(vmax, v); });
      const float block_max = valid == 0 ? -kInf : hn::GetLane(hn::MaxOfLanes(d, vmax));
      if (block_max == -kInf) {  // nothing visible: the state is unchanged and p = 0
        FillRow(d, s, nb, 0.0f);
        continue;
      }
      const float new_max = block_max > t.max[r] ? block_max : t.max[r];
      if (new_max != t.max[r] && t.sum[r] != 0.0) {
        const V alpha = hn::Set(d, static_cast<float>(::exp(static_cast<double>(t.max[r]) - new_max)));
        MapRow(d, t.acc[r], t.acc[r], dim, 0.0f, [&](V a, auto...) HWY_ATTR { return hn::Mul(a, alpha); });
      }
      const double old_sum = RescaleSum(t.max[r], t.sum[r], new_max);
      V sum_hi = hn::Zero(d), sum_lo = hn::Zero(d);  // compensated: scores below the max may all be tiny
      const V neg_max = hn::Set(d, -new_max);
      MapRow(d, s, s, nb, -kInf, [&](V v, auto...) HWY_ATTR {
        V lo;
        const V hi = TwoSum(v, neg_max, lo);
        const V e = ExpOfPairMasked(d, hi, lo);  // masked keys (-inf) give exactly 0
        AddToSum</*kSeeded=*/false>(sum_hi, sum_lo, e);
        return e;
      });
      t.sum[r] = old_sum + SumTotal</*kSeeded=*/false>(d, sum_hi, sum_lo);
      t.max[r] = new_max;
    }
    // acc += P V.
    const float* v = t.v + j0 * t.v_row_stride;
    for (size_t r0 = 0; r0 < padded_rows; r0 += 4) {
      const size_t count = rows - r0 < 4 ? rows - r0 : 4;
      size_t c = 0;
      for (; c + N <= dim; c += N) AccumulatePV4<false>(d, acc + r0, p + r0, count, v, t.v_row_stride, nb, c, N);
      if (c < dim) AccumulatePV4<true>(d, acc + r0, p + r0, count, v, t.v_row_stride, nb, c, dim - c);
    }
  }
}

// Exported: merges partial results of one row (kernels/attention_tile.h, AttentionMergeKernel).
HWY_NOINLINE void AttentionMerge(const float* acc, size_t acc_stride, const float* max, const double* sum, size_t parts,
                                 size_t head_dim, float* out, float* lse) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  float m = -std::numeric_limits<float>::infinity();
  for (size_t c = 0; c < parts; ++c) m = max[c] > m ? max[c] : m;
  if (m == -std::numeric_limits<float>::infinity()) {
    FillRow(d, out, head_dim, 0.0f);
    *lse = m;
    return;
  }
  double total = 0.0;
  for (size_t c = 0; c < parts; ++c) total += RescaleSum(max[c], sum[c], m);
  *lse = static_cast<float>(static_cast<double>(m) + ::log(total));
  if (parts == 1) {  // out = acc / sum, with softmax's once-rounded reciprocal pair; acc may be out
    float inv_hi, inv_lo;
    FloatPair(1.0 / total, &inv_hi, &inv_lo);
    const V hi = hn::Set(d, inv_hi), lo = hn::Set(d, inv_lo);
    MapRow(d, acc, out, head_dim, 0.0f, [&](V a, auto...) HWY_ATTR { return MulByPair(a, hi, lo); });
    return;
  }
  bool first = true;
  for (size_t c = 0; c < parts; ++c) {
    const double weight = RescaleSum(max[c], 1.0, m) / total;
    if (weight == 0.0 || sum[c] == 0.0) continue;
    const V w = hn::Set(d, static_cast<float>(weight));
    const float* part = acc + c * acc_stride;
    if (first) {
      MapRow(d, part, out, head_dim, 0.0f, [&](V a, auto...) HWY_ATTR { return hn::Mul(a, w); });
      first = false;
    } else {
      const size_t N = hn::Lanes(d);
      size_t i = 0;
      for (; i + N <= head_dim; i += N) {
        hn::StoreU(hn::MulAdd(hn::LoadU(d, part + i), w, hn::LoadU(d, out + i)), d, out + i);
      }
      if (i < head_dim) {
        const size_t len = head_dim - i;
        StoreN(hn::MulAdd(LoadNOr(d, part + i, len, 0.0f), w, LoadNOr(d, out + i, len, 0.0f)), d, out + i, len);
      }
    }
  }
  if (first) FillRow(d, out, head_dim, 0.0f);  // every weight underflowed (cannot happen: the max part has 1)
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
