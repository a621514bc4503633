// Fused attention rows (FlashAttention-style) on the online softmax state: the per-target bodies behind
// simdmax_attention and simdmax_attention_f32. See kernels/attention_tile.h for the work description.
//
// A tile holds up to kAttentionMaxTileRows query rows that share one key/value head. Keys are walked in blocks of
// kAttentionKeyBlock: scores for the block (rows x keys, on the stack; the n_queries x n_keys matrix never
// exists), finished per row (soft-cap, ALiBi, mask, visibility: FinishScores), each row's online state updated as in
// online_softmax-inl.h (block max; when the max grows, the old sum is re-based in double and the output accumulator
// scaled by exp(old - new); p = exp(s - max) by TwoSum + ExpOfPair summed compensated), then acc += p * V for the
// block. Memory per tile: the 4 KiB score block.
//
// Visibility: keys outside a row's [visible_begin, visible_end) get score -inf, as do keys whose mask entry is
// -inf; ExpOfPairMasked maps them to exactly 0, and a block with no visible key leaves the row's state untouched,
// so -inf - (-inf) never occurs. A row that sees no key keeps max = -inf, sum = 0, acc = 0, and the merge writes
// zeros and lse = -inf (or the sink).
//
// Special values: a raw score (scale * q.k) that is not finite, or a finished score that is NaN or +inf, poisons
// the row (sum = NaN): x86's max ignores NaN operands, so NaN must not be left to the max reduction, and the
// soft-cap would turn an infinite score into a finite one (tanh(inf) = 1): a wrong finite output.
//
// Rows go in groups of four: the score loop loads each key vector once for four dot products, the value loop each
// value vector once for four accumulators (1.25 loads per FMA instead of 2). K and V are loaded through the typed
// load helpers (kernels/convert-inl.h), so f16/bf16 caches are widened in registers and never copied.

#if defined(SIMDMAX_KERNELS_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SIMDMAX_KERNELS_ATTENTION_INL_H_
#undef SIMDMAX_KERNELS_ATTENTION_INL_H_
#else
#define SIMDMAX_KERNELS_ATTENTION_INL_H_
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <limits>

#include "hwy/cache_control.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/attention_tile.h"
#include "kernels/convert-inl.h"
#include "kernels/element_type.h"
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

// p[0, n) = value (rounded to T); reads nothing.
template <class D, class T>
HWY_INLINE void FillRow(D d, T* p, size_t n, float value) {
  const size_t N = hn::Lanes(d);
  const hn::Vec<D> v = hn::Set(d, value);
  size_t i = 0;
  for (; i + N <= n; i += N) StoreF32(v, d, p + i);
  if (i < n) StoreF32N(v, d, p + i, n - i);
}

// Rows j0 .. j0 + nb - 1 of a kv head's keys (or values), contiguous or through the block table
// (kernels/attention_tile.h): one table entry and no division per key once the first row is found (two 64-bit
// divisions per key would cost about as much as a decode key's dot products).
template <class T>
HWY_INLINE void KvRows(const void* base, size_t row_stride, size_t block_stride, const KeyValueRows& kv, size_t j0,
                       size_t nb, const T** rows) {
  const T* p = static_cast<const T*>(base);
  if (kv.block_table == nullptr) {
    for (size_t j = 0; j < nb; ++j) rows[j] = p + (j0 + j) * row_stride;
    return;
  }
  size_t entry = j0 / kv.block_size, in_block = j0 % kv.block_size;
  const T* block = p + static_cast<size_t>(kv.block_table[entry]) * block_stride;
  for (size_t j = 0; j < nb; ++j) {
    rows[j] = block + in_block * row_stride;
    if (++in_block == kv.block_size && j + 1 < nb) {  // key j0 + j + 1 exists, so its table entry does
      in_block = 0;
      block = p + static_cast<size_t>(kv.block_table[++entry]) * block_stride;
    }
  }
}

// Dot products of four query rows with one key row, over head_dim.
template <class D, class TKV>
HWY_INLINE void Dot4(D d, const float* const* q, const TKV* k, size_t dim, float* out) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0;
  size_t c = 0;
  for (; c + N <= dim; c += N) {
    const V kv = LoadF32(d, k + c);
    a0 = hn::MulAdd(hn::LoadU(d, q[0] + c), kv, a0);
    a1 = hn::MulAdd(hn::LoadU(d, q[1] + c), kv, a1);
    a2 = hn::MulAdd(hn::LoadU(d, q[2] + c), kv, a2);
    a3 = hn::MulAdd(hn::LoadU(d, q[3] + c), kv, a3);
  }
  if (c < dim) {  // tails padded with 0: harmless in dot products
    const size_t len = dim - c;
    const V kv = LoadF32NOr(d, k + c, len, 0.0f);
    a0 = hn::MulAdd(LoadNOr(d, q[0] + c, len, 0.0f), kv, a0);
    a1 = hn::MulAdd(LoadNOr(d, q[1] + c, len, 0.0f), kv, a1);
    a2 = hn::MulAdd(LoadNOr(d, q[2] + c, len, 0.0f), kv, a2);
    a3 = hn::MulAdd(LoadNOr(d, q[3] + c, len, 0.0f), kv, a3);
  }
  out[0] = hn::GetLane(hn::SumOfLanes(d, a0));
  out[1] = hn::GetLane(hn::SumOfLanes(d, a1));
  out[2] = hn::GetLane(hn::SumOfLanes(d, a2));
  out[3] = hn::GetLane(hn::SumOfLanes(d, a3));
}

// acc_i[c, c + len) += sum_j p_i[j] * v_j[c, c + len) for four rows; rows i >= count are computed but not stored.
template <bool kTail, class D, class TKV>
HWY_INLINE void AccumulatePV4(D d, float* const* acc, const float* const* p, size_t count, const TKV* const* v,
                              size_t keys, size_t c, size_t len) {
  using V = hn::Vec<D>;
  const auto load_acc = [&](const float* a) HWY_ATTR { return kTail ? LoadNOr(d, a + c, len, 0.0f) : hn::LoadU(d, a + c); };
  V o0 = load_acc(acc[0]), o1 = load_acc(acc[1]), o2 = load_acc(acc[2]), o3 = load_acc(acc[3]);
  for (size_t j = 0; j < keys; ++j) {
    const V vv = kTail ? LoadF32NOr(d, v[j] + c, len, 0.0f) : LoadF32(d, v[j] + c);
    o0 = hn::MulAdd(hn::Set(d, p[0][j]), vv, o0);
    o1 = hn::MulAdd(hn::Set(d, p[1][j]), vv, o1);
    o2 = hn::MulAdd(hn::Set(d, p[2][j]), vv, o2);
    o3 = hn::MulAdd(hn::Set(d, p[3][j]), vv, o3);
  }
  const auto store = [&](V o, float* a) HWY_ATTR {
    if (kTail) {
      StoreN(o, d, a + c, len);
    } else {
      hn::StoreU(o, d, a + c);
    }
  };
  store(o0, acc[0]);
  if (count > 1) store(o1, acc[1]);
  if (count > 2) store(o2, acc[2]);
  if (count > 3) store(o3, acc[3]);
}

// s = cap * tanh(s / cap), in f64: Highway's Tanh is 4 ULP in f32 (over the <= 2 ULP the contract allows) and
// 4 ULP of f64 here, so the f32 result is rounded once from a value within ~2^-50 of the exact one (<= 0.5 ULP + a
// hair). The reciprocal 1/cap is rounded in f64 (2^-53 relative: invisible after the f32 rounding).
template <class D>
HWY_INLINE void SoftCapRow(D /* d */, float* s, size_t n, float cap) {
#if HWY_HAVE_FLOAT64
  using DD = hn::ScalableTag<double>;
  const DD dd;
  const hn::Rebind<float, DD> df;  // as many float lanes as dd has doubles
  const size_t L = hn::Lanes(dd);
  const auto c = hn::Set(dd, static_cast<double>(cap));
  const auto inv_c = hn::Set(dd, 1.0 / static_cast<double>(cap));
  size_t j = 0;
  for (; j + L <= n; j += L) {
    const auto x = hn::PromoteTo(dd, hn::LoadU(df, s + j));
    hn::StoreU(hn::DemoteTo(df, hn::Mul(c, hn::Tanh(dd, hn::Mul(x, inv_c)))), df, s + j);
  }
  if (j < n) {
    const auto x = hn::PromoteTo(dd, LoadNOr(df, s + j, n - j, 0.0f));
    StoreN(hn::DemoteTo(df, hn::Mul(c, hn::Tanh(dd, hn::Mul(x, inv_c)))), df, s + j, n - j);
  }
#else
  for (size_t j = 0; j < n; ++j) s[j] = static_cast<float>(cap * ::tanh(static_cast<double>(s[j]) / cap));
#endif
}

// s[j] += mask[j], the mask typed (widened exactly).
template <class D, class TM>
HWY_INLINE void AddMaskRow(D d, float* s, const TM* mask, size_t n) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  size_t j = 0;
  for (; j + N <= n; j += N) hn::StoreU(hn::Add(hn::LoadU(d, s + j), LoadF32(d, mask + j)), d, s + j);
  if (j < n) {
    const V sum = hn::Add(LoadNOr(d, s + j, n - j, 0.0f), LoadF32NOr(d, mask + j, n - j, 0.0f));
    StoreN(sum, d, s + j, n - j);
  }
}

// Whether any of s[0, n) satisfies bad(vector) (a mask).
template <class D, class Bad>
HWY_INLINE bool AnyLane(D d, const float* s, size_t n, const Bad& bad) {
  bool any = false;
  VisitRow(d, s, n, 0.0f, [&](hn::Vec<D> v, auto... tail) HWY_ATTR {
    any = any || !hn::AllFalse(d, ValidMask(bad(v), tail...));
  });
  return any;
}

// Turns the raw scores scale * q.k of row r for keys [j0, j0 + nb) into the final scores (soft-cap, ALiBi, mask,
// -inf outside the row's visible range). Returns false when the row is poisoned (see the file comment).
template <class D>
HWY_INLINE bool FinishScores(D d, const AttentionTile& t, size_t r, size_t j0, size_t nb, float* s) {
  using V = hn::Vec<D>;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t N = hn::Lanes(d);
  const size_t begin = t.visible_begin[r] > j0 ? t.visible_begin[r] - j0 : 0;
  size_t end = t.visible_end[r] > j0 ? t.visible_end[r] - j0 : 0;
  if (end > nb) end = nb;
  if (begin >= end) {
    FillRow(d, s, nb, -kInf);
    return true;
  }
  const size_t n = end - begin;
  float* sv = s + begin;
  if (AnyLane(d, sv, n, [&](V v) HWY_ATTR { return hn::Not(hn::IsFinite(v)); })) return false;
  if (t.softcap > 0.0f) SoftCapRow(d, sv, n, t.softcap);
  if (t.has_alibi) {
    // One FMA: slope * (j - p) + s, rounded once. Distances are exact in f32 below 2^24 keys.
    const V slope = hn::Set(d, t.alibi_slope[r]);
    const float first = static_cast<float>(static_cast<int64_t>(j0 + begin) - t.position[r]);
    size_t j = 0;
    for (; j + N <= n; j += N) {
      hn::StoreU(hn::MulAdd(slope, hn::Iota(d, first + static_cast<float>(j)), hn::LoadU(d, sv + j)), d, sv + j);
    }
    if (j < n) {
      const V biased = hn::MulAdd(slope, hn::Iota(d, first + static_cast<float>(j)), LoadNOr(d, sv + j, n - j, 0.0f));
      StoreN(biased, d, sv + j, n - j);
    }
  }
  if (t.has_mask) {
    const size_t offset = j0 + begin;
    switch (t.mask_type) {
      case ElementType::kF16:
        AddMaskRow(d, sv, static_cast<const F16*>(t.mask[r]) + offset, n);
        break;
      case ElementType::kBF16:
        AddMaskRow(d, sv, static_cast<const BF16*>(t.mask[r]) + offset, n);
        break;
      default:
        AddMaskRow(d, sv, static_cast<const float*>(t.mask[r]) + offset, n);
        break;
    }
  }
  if (t.has_mask || t.has_alibi) {
    const V inf = hn::Set(d, kInf);
    if (AnyLane(d, sv, n, [&](V v) HWY_ATTR { return hn::Or(hn::IsNaN(v), hn::Eq(v, inf)); })) return false;
  }
  if (begin > 0) FillRow(d, s, begin, -kInf);
  if (end < nb) FillRow(d, s + end, nb - end, -kInf);
  return true;
}

// Exported (one instantiation per kv element type): runs a tile (kernels/attention_tile.h).
template <class TKV>
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
  const KeyValueRows& kv = t.kv;

  // Pad the row lists to a multiple of four with copies of the last row (computed, never stored).
  const float* q[kRows];
  float* acc[kRows];
  bool poisoned[kRows];
  size_t walk_begin = t.key_end, walk_end = t.key_begin;
  for (size_t r = 0; r < padded_rows; ++r) {
    const size_t src = r < rows ? r : rows - 1;
    q[r] = t.q[src];
    acc[r] = t.acc[src];
  }
  for (size_t r = 0; r < rows; ++r) {
    t.max[r] = -kInf;
    t.sum[r] = 0.0;
    poisoned[r] = false;
    FillRow(d, t.acc[r], dim, 0.0f);
    const size_t begin = t.visible_begin[r] > t.key_begin ? t.visible_begin[r] : t.key_begin;
    const size_t end = t.visible_end[r] < t.key_end ? t.visible_end[r] : t.key_end;
    if (begin >= end) continue;
    if (begin < walk_begin) walk_begin = begin;
    if (end > walk_end) walk_end = end;
  }
  // Blocks stay aligned to key_begin (the chunk start), so the block boundaries do not depend on the other rows.
  if (walk_begin < walk_end) walk_begin = t.key_begin + (walk_begin - t.key_begin) / kBlock * kBlock;

  HWY_ALIGN float scores[kRows][kBlock];
  const float* p[kRows];
  for (size_t r = 0; r < kRows; ++r) p[r] = scores[r];
  // Row pointers of this block's keys and values, and of the next block's keys (prefetched during this block).
  const TKV* k_rows[kBlock];
  const TKV* v_rows[kBlock];
  const TKV* k_next_rows[kBlock];
  if (walk_begin < walk_end) {
    KvRows(kv.k, kv.k_row_stride, kv.k_block_stride, kv, walk_begin,
           walk_end - walk_begin < kBlock ? walk_end - walk_begin : kBlock, k_rows);
  }

  for (size_t j0 = walk_begin; j0 < walk_end; j0 += kBlock) {
    const size_t nb = walk_end - j0 < kBlock ? walk_end - j0 : kBlock;
    const size_t next_nb = walk_end - j0 - nb < kBlock ? walk_end - j0 - nb : kBlock;
    KvRows(kv.v, kv.v_row_stride, kv.v_block_stride, kv, j0, nb, v_rows);
    if (next_nb > 0) KvRows(kv.k, kv.k_row_stride, kv.k_block_stride, kv, j0 + nb, next_nb, k_next_rows);
    // Raw scores: s = scale * q . k.
    for (size_t r0 = 0; r0 < padded_rows; r0 += 4) {
      float dots[4];
      for (size_t j = 0; j < nb; ++j) {
        if (r0 == 0) {
          // Decode reads K and V once from memory: ask for this block's value row and the next block's key row
          // while the dot products run (hardware prefetchers alone leave single-thread bandwidth on the table, and
          // do not follow a block table at all).
          const TKV* k_next = j < next_nb ? k_next_rows[j] : v_rows[j];
          for (size_t c = 0; c < dim; c += 64 / sizeof(TKV)) {
            hwy::Prefetch(v_rows[j] + c);
            hwy::Prefetch(k_next + c);
          }
        }
        Dot4(d, q + r0, k_rows[j], dim, dots);
        for (size_t i = 0; i < 4; ++i) scores[r0 + i][j] = dots[i] * t.scale;
      }
    }
    // Online softmax per row: p = exp(s - max), with the FlashAttention rescaling of acc when max grows.
    for (size_t r = 0; r < rows; ++r) {
      float* s = scores[r];
      if (!poisoned[r] && !FinishScores(d, t, r, j0, nb, s)) poisoned[r] = true;
      if (poisoned[r]) {  // the merge writes NaN; keep the value pass harmless
        FillRow(d, s, nb, 0.0f);
        continue;
      }
      V vmax = hn::Set(d, -kInf);
      VisitRow(d, s, nb, -kInf, [&](V v, auto...) HWY_ATTR { vmax = hn::Max(vmax, v); });
      const float block_max = hn::GetLane(hn::MaxOfLanes(d, vmax));
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
        const V e = ExpOfPairMasked(d, hi, lo);  // hidden keys (-inf) give exactly 0
        AddToSum</*kSeeded=*/false>(sum_hi, sum_lo, e);
        return e;
      });
      t.sum[r] = old_sum + SumTotal</*kSeeded=*/false>(d, sum_hi, sum_lo);
      t.max[r] = new_max;
    }
    // acc += P V.
    for (size_t r0 = 0; r0 < padded_rows; r0 += 4) {
      const size_t count = rows - r0 < 4 ? rows - r0 : 4;
      size_t c = 0;
      for (; c + N <= dim; c += N) AccumulatePV4<false>(d, acc + r0, p + r0, count, v_rows, nb, c, N);
      if (c < dim) AccumulatePV4<true>(d, acc + r0, p + r0, count, v_rows, nb, c, dim - c);
    }
    for (size_t j = 0; j < next_nb; ++j) k_rows[j] = k_next_rows[j];
  }
  for (size_t r = 0; r < rows; ++r) {
    if (poisoned[r]) {
      t.max[r] = std::numeric_limits<float>::quiet_NaN();
      t.sum[r] = std::numeric_limits<double>::quiet_NaN();
    }
  }
}

// Exported (one instantiation per output element type): merges partial results of one row
// (kernels/attention_tile.h, AttentionMergeKernel).
template <class TO>
HWY_NOINLINE void AttentionMerge(const float* acc, size_t acc_stride, const float* max, const double* sum,
                                 size_t parts, size_t head_dim, float sink, void* out_untyped, float* lse) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  TO* out = static_cast<TO*>(out_untyped);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (size_t c = 0; c < parts; ++c) {
    if (isnan(sum[c])) {
      FillRow(d, out, head_dim, std::numeric_limits<float>::quiet_NaN());
      *lse = std::numeric_limits<float>::quiet_NaN();
      return;
    }
  }
  float m = sink;  // -inf without a sink
  for (size_t c = 0; c < parts; ++c) m = max[c] > m ? max[c] : m;
  if (m == -kInf) {
    FillRow(d, out, head_dim, 0.0f);
    *lse = m;
    return;
  }
  double total = 0.0;
  for (size_t c = 0; c < parts; ++c) total += RescaleSum(max[c], sum[c], m);
  // The sink is a state (max = sink, sum = 1) with a zero value vector: it only adds to the denominator.
  if (sink != -kInf) total += RescaleSum(sink, 1.0, m);
  *lse = static_cast<float>(static_cast<double>(m) + ::log(total));
  if (parts == 1) {  // out = acc / total, with softmax's once-rounded reciprocal pair; acc may be out
    float inv_hi, inv_lo;
    FloatPair(RescaleSum(max[0], 1.0, m) / total, &inv_hi, &inv_lo);
    const V hi = hn::Set(d, inv_hi), lo = hn::Set(d, inv_lo);
    MapRow(d, acc, out, head_dim, 0.0f, [&](V a, auto...) HWY_ATTR { return MulByPair(a, hi, lo); });
    return;
  }
  // Several parts: the weighted sum in f32 (head_dim floats on the stack per vector step), stored once.
  const size_t N = hn::Lanes(d);
  for (size_t i = 0; i < head_dim; i += N) {
    const size_t len = head_dim - i < N ? head_dim - i : N;
    V o = hn::Zero(d);
    for (size_t c = 0; c < parts; ++c) {
      if (sum[c] == 0.0) continue;  // empty part (its acc is 0, its max -inf)
      const double weight = RescaleSum(max[c], 1.0, m) / total;
      if (weight == 0.0) continue;
      const float* part = acc + c * acc_stride + i;
      const V a = len == N ? hn::LoadU(d, part) : LoadNOr(d, part, len, 0.0f);
      o = hn::MulAdd(a, hn::Set(d, static_cast<float>(weight)), o);
    }
    if (len == N) {
      StoreF32(o, d, out + i);
    } else {
      StoreF32N(o, d, out + i, len);
    }
  }
}

// Exported (one per input type): exact widening of a typed row to f32.
template <class TX>
HWY_NOINLINE void WidenRow(const void* x, float* y, size_t n) {
  using D = hn::ScalableTag<float>;
  const D d;
  MapRow(d, static_cast<const TX*>(x), y, n, 0.0f, [](hn::Vec<D> v, auto...) HWY_ATTR { return v; });
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
