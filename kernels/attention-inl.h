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
// A kernel call runs one tile or several (the kv heads of a paged pool's keys, dispatch/attention_scheduler.cc
// KvHeadsPerTask) with their blocks interleaved (TileWalk); a tile's arithmetic never depends on its neighbours.
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
#include "kernels/prefetch.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_map-inl.h"
#include "kernels/soft_cap-inl.h"
#include "kernels/softmax-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Keys per dot-product step of the score loop: four where the target has 32 vector registers (Scores4x4's 16
// accumulators + 8 operands), two where it has 16 (Dot4x2; four would spill).
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3) || HWY_ARCH_ARM_A64
constexpr size_t kDotKeys = 4;
#else
constexpr size_t kDotKeys = 2;
#endif

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

// out[0..8) = the sums of the lanes of a0, b0, a1, b1, a2, b2, a3, b3 (out holds SumOfLanes8Out(d) floats; the
// ones past 8 are overwritten with scratch), together: a tree of ConcatEven/ConcatOdd +
// Add over the eight vectors costs ~3 operations per sum instead of ~9 for one SumOfLanes each (the reductions were
// a third of prefill's time on AVX-512, measured with perf's cpu-clock samples). pair(lo, hi) keeps lo's pairwise
// sums in the lower half and hi's in the upper, so after k levels each lane group of N / 2^k lanes is one input, in
// order. Power-of-two lane counts of at least 4 (SVE may have others; SCALAR has 1): else one SumOfLanes each.
template <class D>
constexpr size_t SumOfLanes8Out(D d) {
  return hn::MaxLanes(d) > 8 ? hn::MaxLanes(d) : 8;
}
template <class D, class V = hn::Vec<D>>
HWY_INLINE void SumOfLanes8(D d, V a0, V b0, V a1, V b1, V a2, V b2, V a3, V b3, float* out) {
#if HWY_TARGET != HWY_SCALAR
  const size_t N = hn::Lanes(d);
  if (N >= 4 && (N & (N - 1)) == 0) {
    const auto pair = [&](V lo, V hi) HWY_ATTR { return hn::Add(hn::ConcatEven(d, hi, lo), hn::ConcatOdd(d, hi, lo)); };
    const V q0 = pair(pair(a0, b0), pair(a1, b1));  // quarters: a0 b0 a1 b1
    const V q1 = pair(pair(a2, b2), pair(a3, b3));  // quarters: a2 b2 a3 b3
    if (N == 4) {
      hn::StoreU(q0, d, out);
      hn::StoreU(q1, d, out + 4);
      return;
    }
    V r = pair(q0, q1);  // eighths: a0 b0 a1 b1 a2 b2 a3 b3
    for (size_t lanes_per_sum = N / 8; lanes_per_sum > 1; lanes_per_sum /= 2) r = pair(r, r);
    // A whole-vector store (lanes past 8 are scratch): the sums are read back at once, and AMD cores do not
    // forward a masked store to later loads (a StoreN here stalled every read of `out`: 15% of prefill).
    hn::StoreU(r, d, out);
    return;
  }
#endif
  out[0] = hn::GetLane(hn::SumOfLanes(d, a0));
  out[1] = hn::GetLane(hn::SumOfLanes(d, b0));
  out[2] = hn::GetLane(hn::SumOfLanes(d, a1));
  out[3] = hn::GetLane(hn::SumOfLanes(d, b1));
  out[4] = hn::GetLane(hn::SumOfLanes(d, a2));
  out[5] = hn::GetLane(hn::SumOfLanes(d, b2));
  out[6] = hn::GetLane(hn::SumOfLanes(d, a3));
  out[7] = hn::GetLane(hn::SumOfLanes(d, b3));
}

// Dot products of four query rows with two key rows, over head_dim: eight independent FMA chains (two FMA pipes
// times a 4-cycle latency need eight in flight) and 0.75 loads per FMA. Sizeless SVE vectors cannot live in
// arrays, hence the spelled-out accumulators. out[2 * i + key] for query row i.
template <class D, class TKV>
HWY_INLINE void Dot4x2(D d, const float* const* q, const TKV* k0, const TKV* k1, size_t dim, float* out) {
  // out: SumOfLanes8Out(d) floats
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  const auto step = [&](V q0, V q1, V q2, V q3, V ka, V kb) HWY_ATTR {
    a0 = hn::MulAdd(q0, ka, a0);
    b0 = hn::MulAdd(q0, kb, b0);
    a1 = hn::MulAdd(q1, ka, a1);
    b1 = hn::MulAdd(q1, kb, b1);
    a2 = hn::MulAdd(q2, ka, a2);
    b2 = hn::MulAdd(q2, kb, b2);
    a3 = hn::MulAdd(q3, ka, a3);
    b3 = hn::MulAdd(q3, kb, b3);
  };
  size_t c = 0;
  for (; c + N <= dim; c += N) {
    step(hn::LoadU(d, q[0] + c), hn::LoadU(d, q[1] + c), hn::LoadU(d, q[2] + c), hn::LoadU(d, q[3] + c),
         LoadF32(d, k0 + c), LoadF32(d, k1 + c));
  }
  if (c < dim) {  // tails padded with 0: harmless in dot products
    const size_t len = dim - c;
    step(LoadNOr(d, q[0] + c, len, 0.0f), LoadNOr(d, q[1] + c, len, 0.0f), LoadNOr(d, q[2] + c, len, 0.0f),
         LoadNOr(d, q[3] + c, len, 0.0f), LoadF32NOr(d, k0 + c, len, 0.0f), LoadF32NOr(d, k1 + c, len, 0.0f));
  }
  SumOfLanes8(d, a0, b0, a1, b1, a2, b2, a3, b3, out);
}

#if HWY_TARGET != HWY_SCALAR  // one lane: no halves
// rows[i][col, col + 4) = quarter i of t (16 lanes: four rows' four scores), stored from register halves.
template <class D>
HWY_INLINE void StoreQuarters(D d, hn::Vec<D> t, float* const* rows, size_t col) {
  const hn::Half<D> dh;
  const hn::Half<hn::Half<D>> dq;
  const auto lo = hn::LowerHalf(dh, t), hi = hn::UpperHalf(dh, t);
  hn::StoreU(hn::LowerHalf(dq, lo), dq, rows[0] + col);
  hn::StoreU(hn::UpperHalf(dq, lo), dq, rows[1] + col);
  hn::StoreU(hn::LowerHalf(dq, hi), dq, rows[2] + col);
  hn::StoreU(hn::UpperHalf(dq, hi), dq, rows[3] + col);
}
#endif

// Scores of four query rows with four key rows: rows[i][col + key] = scale * (q_i . k_key). Sixteen accumulators,
// each q and k vector used four times so that both stay in registers (0.5 loads per FMA; with two keys per step
// GCC folds the q loads into the FMAs and loads each twice: 1.25 loads per FMA, load-bound on AVX-512). Needs 24
// vector registers: targets with 32. The sums of lanes go through the tree of SumOfLanes8 one level deeper, and
// the four sums of a row leave as one 4-lane store per row (register halves, no store-to-load round trip).
template <class D, class TKV>
HWY_INLINE void Scores4x4(D d, const float* const* q, const TKV* const* k, size_t dim, float scale, float* const* rows,
                          size_t col) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  V c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;  // [row][key]: a b c e = rows 0..3
  const auto step = [&](V q0, V q1, V q2, V q3, V k0, V k1, V k2, V k3) HWY_ATTR {
    a0 = hn::MulAdd(q0, k0, a0);
    a1 = hn::MulAdd(q0, k1, a1);
    a2 = hn::MulAdd(q0, k2, a2);
    a3 = hn::MulAdd(q0, k3, a3);
    b0 = hn::MulAdd(q1, k0, b0);
    b1 = hn::MulAdd(q1, k1, b1);
    b2 = hn::MulAdd(q1, k2, b2);
    b3 = hn::MulAdd(q1, k3, b3);
    c0 = hn::MulAdd(q2, k0, c0);
    c1 = hn::MulAdd(q2, k1, c1);
    c2 = hn::MulAdd(q2, k2, c2);
    c3 = hn::MulAdd(q2, k3, c3);
    e0 = hn::MulAdd(q3, k0, e0);
    e1 = hn::MulAdd(q3, k1, e1);
    e2 = hn::MulAdd(q3, k2, e2);
    e3 = hn::MulAdd(q3, k3, e3);
  };
  size_t c = 0;
  for (; c + N <= dim; c += N) {
    step(hn::LoadU(d, q[0] + c), hn::LoadU(d, q[1] + c), hn::LoadU(d, q[2] + c), hn::LoadU(d, q[3] + c),
         LoadF32(d, k[0] + c), LoadF32(d, k[1] + c), LoadF32(d, k[2] + c), LoadF32(d, k[3] + c));
  }
  if (c < dim) {  // tails padded with 0: harmless in dot products
    const size_t len = dim - c;
    step(LoadNOr(d, q[0] + c, len, 0.0f), LoadNOr(d, q[1] + c, len, 0.0f), LoadNOr(d, q[2] + c, len, 0.0f),
         LoadNOr(d, q[3] + c, len, 0.0f), LoadF32NOr(d, k[0] + c, len, 0.0f), LoadF32NOr(d, k[1] + c, len, 0.0f),
         LoadF32NOr(d, k[2] + c, len, 0.0f), LoadF32NOr(d, k[3] + c, len, 0.0f));
  }
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(V) == 64) {
    // The same tree, the same additions (so the same bits) as the ConcatEven/ConcatOdd tree below, with most of its
    // shuffles inside 128-bit blocks: ConcatEven/ConcatOdd of 16 lanes are two-source cross-block permutes
    // (vpermt2ps, 30 of them per call: the reductions were ~22% of bf16 decode, perf cpu-clock samples on Zen 5).
    // Levels 1-2 sum adjacent lanes, then adjacent pairs, inside each block (two-source vshufps: [x0 x2 y0 y2] +
    // [x1 x3 y1 y3]), leaving in block b of a level-2 vector the sums of lanes 4b..4b+3 of its four inputs; levels 3-4
    // sum blocks 0+1 and 2+3, then the two halves (vshuff32x4), as the tree below does. Highway 1.0.3 exposes no
    // two-source in-block shuffle, hence the intrinsics.
    const auto in_block = [](V x, V y) HWY_ATTR {
      return V{_mm512_add_ps(_mm512_shuffle_ps(x.raw, y.raw, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(x.raw, y.raw, _MM_SHUFFLE(3, 1, 3, 1)))};
    };
    const auto across_blocks = [](V x, V y) HWY_ATTR {
      return V{_mm512_add_ps(_mm512_shuffle_f32x4(x.raw, y.raw, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(x.raw, y.raw, _MM_SHUFFLE(3, 1, 3, 1)))};
    };
    // Block b of r0: row 0's keys 0..3, each the sum of its lanes 4b..4b+3.
    const V r0 = in_block(in_block(a0, a1), in_block(a2, a3));
    const V r1 = in_block(in_block(b0, b1), in_block(b2, b3));
    const V r2 = in_block(in_block(c0, c1), in_block(c2, c3));
    const V r3 = in_block(in_block(e0, e1), in_block(e2, e3));
    const V vscale = hn::Set(d, scale);
    // Halves of the sums (lanes 0..7, 8..15) of rows 0, 1 (s0) and 2, 3 (s1), scaled before the last addition as
    // below; then one row per block.
    const V s0 = hn::Mul(across_blocks(r0, r1), vscale), s1 = hn::Mul(across_blocks(r2, r3), vscale);
    StoreQuarters(d, across_blocks(s0, s1), rows, col);
    return;
  }
#endif
#if HWY_TARGET != HWY_SCALAR
  if (N >= 4 && N <= 16 && (N & (N - 1)) == 0) {
    const V vscale = hn::Set(d, scale);
    const auto pair = [&](V lo, V hi) HWY_ATTR { return hn::Add(hn::ConcatEven(d, hi, lo), hn::ConcatOdd(d, hi, lo)); };
    const V r0 = pair(pair(a0, a1), pair(a2, a3));  // quarters: row 0, keys 0..3
    const V r1 = pair(pair(b0, b1), pair(b2, b3));
    const V r2 = pair(pair(c0, c1), pair(c2, c3));
    const V r3 = pair(pair(e0, e1), pair(e2, e3));
    if (N == 4) {
      hn::StoreU(hn::Mul(r0, vscale), d, rows[0] + col);
      hn::StoreU(hn::Mul(r1, vscale), d, rows[1] + col);
      hn::StoreU(hn::Mul(r2, vscale), d, rows[2] + col);
      hn::StoreU(hn::Mul(r3, vscale), d, rows[3] + col);
      return;
    }
    const hn::Half<D> dh;
    const V s0 = hn::Mul(pair(r0, r1), vscale), s1 = hn::Mul(pair(r2, r3), vscale);  // eighths: rows 0-1 / 2-3
    if (N == 8) {
      hn::StoreU(hn::LowerHalf(dh, s0), dh, rows[0] + col);
      hn::StoreU(hn::UpperHalf(dh, s0), dh, rows[1] + col);
      hn::StoreU(hn::LowerHalf(dh, s1), dh, rows[2] + col);
      hn::StoreU(hn::UpperHalf(dh, s1), dh, rows[3] + col);
      return;
    }
    StoreQuarters(d, pair(s0, s1), rows, col);  // sixteenths: rows 0..3 x keys 0..3
    return;
  }
#endif
  // Other lane counts (SCALAR; SVE beyond 512 bits or not a power of two): one SumOfLanes each.
  HWY_ALIGN float sums[SumOfLanes8Out(D()) * 2];
  SumOfLanes8(d, a0, a1, a2, a3, b0, b1, b2, b3, sums);
  SumOfLanes8(d, c0, c1, c2, c3, e0, e1, e2, e3, sums + 8);
  for (size_t i = 0; i < 4; ++i) {
    for (size_t key = 0; key < 4; ++key) rows[i][col + key] = sums[4 * i + key] * scale;
  }
}

// acc_i[c, c + kVectors * N) += sum_j p_i[j] * v_j[...] for four rows, over kVectors (1, 2 or 4) whole vectors of
// head_dim at once, or one partial vector of len lanes (kTail, kVectors 1). Two vectors give eight independent FMA
// chains (with one, the four chains over the keys ran at half the FMA rate); four halve the broadcasts of p and
// the loop overhead per FMA again, on targets with 32 vector registers (16 accumulators + 4 broadcasts + 1 load).
// Rows i >= count are computed but not stored.
template <size_t kVectors, bool kTail, class D, class TKV>
HWY_INLINE void AccumulatePV4(D d, float* const* acc, const float* const* p, size_t count, const TKV* const* v,
                              size_t keys, size_t c, size_t len) {
  static_assert(kVectors == 1 || kVectors == 2 || kVectors == 4, "1, 2 or 4 vectors");
  static_assert(!kTail || kVectors == 1, "a tail is one partial vector");
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const auto load_acc = [&](const float* a, size_t at)
                            HWY_ATTR { return kTail ? LoadNOr(d, a + at, len, 0.0f) : hn::LoadU(d, a + at); };
  // Accumulators [vector][row]: o u w x = vectors 0..3 (unused ones stay zero and are never stored). They start
  // from zero and the block's sum is added to acc once (how a row's output is summed: TileWalk::kFoldBlocks).
  V o0 = hn::Zero(d), o1 = o0, o2 = o0, o3 = o0, u0 = o0, u1 = o0, u2 = o0, u3 = o0;
  V w0 = o0, w1 = o0, w2 = o0, w3 = o0, x0 = o0, x1 = o0, x2 = o0, x3 = o0;
  for (size_t j = 0; j < keys; ++j) {
    const TKV* row = v[j] + c;
    const V p0 = hn::Set(d, p[0][j]), p1 = hn::Set(d, p[1][j]), p2 = hn::Set(d, p[2][j]), p3 = hn::Set(d, p[3][j]);
    const V va = kTail ? LoadF32NOr(d, row, len, 0.0f) : LoadF32(d, row);
    o0 = hn::MulAdd(p0, va, o0);
    o1 = hn::MulAdd(p1, va, o1);
    o2 = hn::MulAdd(p2, va, o2);
    o3 = hn::MulAdd(p3, va, o3);
    if (kVectors >= 2) {
      const V vb = LoadF32(d, row + N);
      u0 = hn::MulAdd(p0, vb, u0);
      u1 = hn::MulAdd(p1, vb, u1);
      u2 = hn::MulAdd(p2, vb, u2);
      u3 = hn::MulAdd(p3, vb, u3);
    }
    if (kVectors == 4) {
      const V vc = LoadF32(d, row + 2 * N);
      w0 = hn::MulAdd(p0, vc, w0);
      w1 = hn::MulAdd(p1, vc, w1);
      w2 = hn::MulAdd(p2, vc, w2);
      w3 = hn::MulAdd(p3, vc, w3);
      const V vd = LoadF32(d, row + 3 * N);
      x0 = hn::MulAdd(p0, vd, x0);
      x1 = hn::MulAdd(p1, vd, x1);
      x2 = hn::MulAdd(p2, vd, x2);
      x3 = hn::MulAdd(p3, vd, x3);
    }
  }
  const auto store4 = [&](V r0, V r1, V r2, V r3, size_t at) HWY_ATTR {
    const auto store = [&](V o, size_t i) HWY_ATTR {
      if (kTail) {
        StoreN(hn::Add(load_acc(acc[i], at), o), d, acc[i] + at, len);
      } else {
        hn::StoreU(hn::Add(load_acc(acc[i], at), o), d, acc[i] + at);
      }
    };
    store(r0, 0);
    if (count > 1) store(r1, 1);
    if (count > 2) store(r2, 2);
    if (count > 3) store(r3, 3);
  };
  store4(o0, o1, o2, o3, c);
  if (kVectors >= 2) store4(u0, u1, u2, u3, c + N);
  if (kVectors == 4) {
    store4(w0, w1, w2, w3, c + 2 * N);
    store4(x0, x1, x2, x3, c + 3 * N);
  }
}

// The running sum (hi, lo) += acc by TwoSum (the error into lo), then acc = 0; `first`: (hi, lo) = (acc, 0) instead
// (they hold nothing yet). Over n floats: whole vectors, then one partial vector.
template <class D>
HWY_INLINE void FoldIntoCarry(D d, float* acc, float* hi, float* lo, size_t n, bool first) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  for (size_t i = 0; i < n; i += N) {
    const size_t len = n - i < N ? n - i : N;
    const V a = LoadNOr(d, acc + i, len, 0.0f);
    if (first) {
      StoreN(a, d, hi + i, len);
      StoreN(hn::Zero(d), d, lo + i, len);
    } else {
      V err;
      StoreN(TwoSum(LoadNOr(d, hi + i, len, 0.0f), a, err), d, hi + i, len);
      StoreN(hn::Add(LoadNOr(d, lo + i, len, 0.0f), err), d, lo + i, len);
    }
    StoreN(hn::Zero(d), d, acc + i, len);
  }
}

// (hi, lo) *= (a_hi + a_lo): the product's rounding error (ProductError, exact on every target) and
// lo * a_hi + hi * a_lo join lo.
template <class D>
HWY_INLINE void RescaleCarry(D d, float* hi, float* lo, size_t n, float a_hi, float a_lo) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const V ah = hn::Set(d, a_hi), al = hn::Set(d, a_lo);
  for (size_t i = 0; i < n; i += N) {
    const size_t len = n - i < N ? n - i : N;
    const V h = LoadNOr(d, hi + i, len, 0.0f), l = LoadNOr(d, lo + i, len, 0.0f);
    const V product = hn::Mul(h, ah);
    StoreN(hn::MulAdd(h, al, hn::MulAdd(l, ah, ProductError(h, ah, product))), d, lo + i, len);
    StoreN(product, d, hi + i, len);
  }
}

// Whether any of s[0, n) satisfies bad(vector) (a mask).
template <class D, class Bad>
HWY_INLINE bool AnyLane(D d, const float* s, size_t n, const Bad& bad) {
  bool any = false;
  VisitRow(d, s, n, 0.0f,
           [&](hn::Vec<D> v, auto... tail) HWY_ATTR { any = any || !hn::AllFalse(d, ValidMask(bad(v), tail...)); });
  return any;
}

// The features of FinishScores on the visible scores sv[0, n) of row r (the first at key j_first), in one pass:
// each vector is loaded once, checked raw (check_raw: not finite poisons), soft-capped (vector_cap), biased
// (ALiBi, one FMA: slope * (j - p) + s rounded once; distances are exact in f32 below 2^24 keys), masked (mask:
// added, TM its type; null for none), checked again where ALiBi or the mask could make it NaN or +inf, folded into
// the max, and stored if changed. Each feature was a pass of its own, and the max and the raw check one more each:
// loads, stores and loop overhead per row and block that cost the features most of their overhead in decode, where
// a row's block is only a few vectors. The arithmetic per score is the same as pass after pass (same bits).
// Returns false when the row is poisoned (then sv holds garbage and *block_max is unset); else *block_max is the
// largest finished score (-inf when the mask hides all of them).
// kFeatures false: no feature at all (the plain call): only the raw check and the max, the flags' tests compiled out.
template <bool kFeatures, class D, class TM>
HWY_INLINE bool FinishVisibleScores(D d, const AttentionTile& t, size_t r, size_t j_first, float* sv, size_t n,
                                    const TM* mask, bool check_raw, bool vector_cap, float* block_max) {
  using V = hn::Vec<D>;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t N = hn::Lanes(d);
  check_raw = check_raw || !kFeatures;
  vector_cap = vector_cap && kFeatures;
  const bool alibi = kFeatures && t.has_alibi, masked = kFeatures && mask != nullptr;
  const bool check_final = alibi || masked, store = vector_cap || alibi || masked;
  const V inf = hn::Set(d, kInf), neg_inf = hn::Set(d, -kInf);
  const V slope = hn::Set(d, t.alibi_slope[r]);
  const float first = static_cast<float>(static_cast<int64_t>(j_first) - t.position[r]);
#if HWY_NATIVE_FMA
  const V cap = hn::Set(d, vector_cap ? t.softcap : 1.0f);
  const V inv_cap = hn::Set(d, vector_cap ? 1.0f / t.softcap : 1.0f);
#endif
  auto bad = hn::FirstN(d, 0);
  V vmax = neg_inf;
  const auto step = [&](V v, size_t j, auto... tail) HWY_ATTR {
    if (check_raw) bad = hn::Or(bad, ValidMask(hn::Not(hn::IsFinite(v)), tail...));
#if HWY_NATIVE_FMA
    // A raw score that is not finite poisons the row; the soft-cap's value for it is never used.
    if (vector_cap) v = SoftCap(d, v, cap, inv_cap);
#endif
    if (alibi) v = hn::MulAdd(slope, hn::Iota(d, first + static_cast<float>(j)), v);
    if (masked) {
      if constexpr (sizeof...(tail) == 0) {
        v = hn::Add(v, LoadF32(d, mask + j));
      } else {
        v = hn::Add(v, LoadF32NOr(d, mask + j, n - j, 0.0f));
      }
    }
    if (check_final) bad = hn::Or(bad, ValidMask(hn::Or(hn::IsNaN(v), hn::Eq(v, inf)), tail...));
    if constexpr (sizeof...(tail) == 0) {
      vmax = hn::Max(vmax, v);
    } else {
      vmax = hn::Max(vmax, hn::IfThenElse(tail..., v, neg_inf));
    }
    return v;
  };
  size_t j = 0;
  for (; j + N <= n; j += N) {
    const V v = step(hn::LoadU(d, sv + j), j);
    if (store) hn::StoreU(v, d, sv + j);
  }
  if (j < n) {
    const V v = step(LoadNOr(d, sv + j, n - j, 0.0f), j, hn::FirstN(d, n - j));
    if (store) StoreN(v, d, sv + j, n - j);
  }
  if (!hn::AllFalse(d, bad)) return false;
  float m = hn::GetLane(hn::MaxOfLanes(d, vmax));
  // Highway 1.0.3's EMU128 MaxOfLanes starts from the lowest finite value, so a block whose keys are all hidden
  // (-inf) came back as -FLT_MAX: a finite max with a zero sum, and NaN out of the merge (found by the attention
  // fuzzer). Only then is the vector looked at again.
  if (m <= std::numeric_limits<float>::lowest() && hn::AllTrue(d, hn::Eq(vmax, neg_inf))) m = -kInf;
  *block_max = m;
  return true;
}

// Turns the raw scores scale * q.k of row r for keys [j0, j0 + nb) into the final scores (soft-cap, ALiBi, mask,
// -inf outside the row's visible range) and sets *block_max to their max (-inf when none is visible). Returns false
// when the row is poisoned (see the file comment).
template <class D>
HWY_INLINE bool FinishScores(D d, const AttentionTile& t, size_t r, size_t j0, size_t nb, float* s, float* block_max) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t begin = t.visible_begin[r] > j0 ? t.visible_begin[r] - j0 : 0;
  size_t end = t.visible_end[r] > j0 ? t.visible_end[r] - j0 : 0;
  if (end > nb) end = nb;
  if (begin >= end) {
    FillRow(d, s, nb, -kInf);
    *block_max = -kInf;
    return true;
  }
  const size_t n = end - begin;
  float* sv = s + begin;
  bool check_raw = true, vector_cap = false;
  if (t.softcap > 0.0f) {
    vector_cap = SoftCapHasVectorPath(t.softcap);
    if (!vector_cap) {  // caps outside the vector path's range, targets without FMA: passes of their own first
      if (AnyLane(d, sv, n, [&](hn::Vec<D> v) HWY_ATTR { return hn::Not(hn::IsFinite(v)); })) return false;
      SoftCapRow(d, sv, n, t.softcap);
      check_raw = false;
    }
  }
  const size_t offset = j0 + begin;
  bool ok;
  if (!t.has_mask && !t.has_alibi && !vector_cap && check_raw) {
    ok = FinishVisibleScores<false>(d, t, r, offset, sv, n, static_cast<const float*>(nullptr), true, false, block_max);
  } else if (!t.has_mask) {
    ok = FinishVisibleScores<true>(d, t, r, offset, sv, n, static_cast<const float*>(nullptr), check_raw, vector_cap,
                                   block_max);
  } else if (t.mask_type == ElementType::kF16) {
    ok = FinishVisibleScores<true>(d, t, r, offset, sv, n, static_cast<const F16*>(t.mask[r]) + offset, check_raw,
                                   vector_cap, block_max);
  } else if (t.mask_type == ElementType::kBF16) {
    ok = FinishVisibleScores<true>(d, t, r, offset, sv, n, static_cast<const BF16*>(t.mask[r]) + offset, check_raw,
                                   vector_cap, block_max);
  } else {
    ok = FinishVisibleScores<true>(d, t, r, offset, sv, n, static_cast<const float*>(t.mask[r]) + offset, check_raw,
                                   vector_cap, block_max);
  }
  if (!ok) return false;
  if (begin > 0) FillRow(d, s, begin, -kInf);
  if (end < nb) FillRow(d, s + end, nb - end, -kInf);
  return true;
}

// factor[r] = exp(factor[r]) for r < count, in whole f64 vectors (entries up to the next multiple of the lane count,
// at most kAttentionMaxTileRows, must hold arguments too): arguments <= 0, -inf excluded. Highway's Exp, <= 1 ulp
// of a double as libm's: the result feeds a float pair (2^-48) and the f64 sum's rescaling, as RescaleSum's libm
// exp did.
static_assert((kAttentionMaxTileRows & (kAttentionMaxTileRows - 1)) == 0, "a whole number of f64 vectors");
HWY_INLINE void RescaleFactors(double* factor, size_t count) {
#if HWY_TARGET == HWY_SCALAR
  for (size_t r = 0; r < count; ++r) factor[r] = ::exp(factor[r]);
#else
  const hn::CappedTag<double, kAttentionMaxTileRows> dd;
  for (size_t r = 0; r < count; r += hn::Lanes(dd)) {  // Lanes divides kAttentionMaxTileRows (powers of two)
    hn::StoreU(hn::Exp(dd, hn::LoadU(dd, factor + r)), dd, factor + r);
  }
#endif
}

// One tile's walk over its keys, a block of kAttentionKeyBlock keys at a time: Begin, then Block for every block
// start from walk_begin() in steps of the block, then End. A class rather than one loop so that several tiles can
// walk in lockstep (AttentionTilesRun); a tile's arithmetic is the same whatever walks beside it. Its members are
// scalars and pointers (SVE vectors are sizeless); ~6 KiB, most of it the score block.
template <class TKV>
class TileWalk {
 public:
  using D = hn::ScalableTag<float>;
  static constexpr size_t kRows = kAttentionMaxTileRows;
  static constexpr size_t kBlock = kAttentionKeyBlock;
  // How a row's output is summed: each block's products from zero (AccumulatePV4, at most kBlock of them), the
  // block sums added to acc in f32, and every kFoldBlocks blocks acc joins a compensated running sum (hi, lo) =
  // t.carry (FoldIntoCarry: TwoSum) and starts again from zero; the end adds the three. The output's rounding error
  // is then that of one block's sum plus kFoldBlocks - 1 additions, however many keys the row has. One f32 running
  // sum over every key let it grow with the number of keys wherever roundings do not average out: keys repeating the
  // same (score, value) pair round the same way every time (attention fuzzer, 2026-12-06: 2904 keys over a 2-row
  // paged pool gave 1.57e-6 x max|v| against kAttentionOutRelTol = 3e-6 x 0.38; 20000 keys of one pool row in one
  // walk 2.9e-4 x max|v|). Rows that see at most kFoldBlocks blocks (most prefill tiles) never touch the carry; a
  // TwoSum into it at every block cost prefill 3-12%.
  static constexpr size_t kFoldBlocks = kAttentionFoldKeys / kAttentionKeyBlock;

  HWY_INLINE void Begin(AttentionTile& t) {
    const D d;
    t_ = &t;
    const size_t rows = t.rows;
    padded_rows_ = (rows + 3) & ~size_t{3};  // <= kRows, a multiple of 4
    // Pad the row lists to a multiple of four with copies of the last row (computed, never stored).
    for (size_t r = 0; r < padded_rows_; ++r) {
      const size_t src = r < rows ? r : rows - 1;
      q_[r] = t.q[src];
      acc_[r] = t.acc[src];
    }
    walk_begin_ = t.key_end;
    walk_end_ = t.key_begin;
    for (size_t r = 0; r < rows; ++r) {
      t.max[r] = -std::numeric_limits<float>::infinity();
      t.sum[r] = 0.0;
      poisoned_[r] = false;
      FillRow(d, t.acc[r], t.head_dim, 0.0f);
      carried_[r] = false;
      const size_t begin = t.visible_begin[r] > t.key_begin ? t.visible_begin[r] : t.key_begin;
      const size_t end = t.visible_end[r] < t.key_end ? t.visible_end[r] : t.key_end;
      if (begin >= end) continue;
      if (begin < walk_begin_) walk_begin_ = begin;
      if (end > walk_end_) walk_end_ = end;
    }
    if (walk_begin_ >= walk_end_) {
      walk_begin_ = walk_end_ = t.key_begin;
      return;
    }
    // Blocks stay aligned to key_begin (the chunk start), so the block boundaries do not depend on the other rows.
    walk_begin_ = t.key_begin + (walk_begin_ - t.key_begin) / kBlock * kBlock;
    const KeyValueRows& kv = t.kv;
    KvRows(kv.k, kv.k_row_stride, kv.k_block_stride, kv, walk_begin_,
           walk_end_ - walk_begin_ < kBlock ? walk_end_ - walk_begin_ : kBlock, k_rows_);
  }

  size_t walk_begin() const { return walk_begin_; }
  size_t walk_end() const { return walk_end_; }

  // The block of keys [j0, min(j0 + kBlock, walk_end)): scores, online softmax, acc += P V.
  HWY_INLINE void Block(size_t j0) {
    using V = hn::Vec<D>;
    const D d;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const size_t N = hn::Lanes(d);
    AttentionTile& t = *t_;
    const size_t rows = t.rows, dim = t.head_dim;
    const KeyValueRows& kv = t.kv;
    const size_t nb = walk_end_ - j0 < kBlock ? walk_end_ - j0 : kBlock;
    const size_t next_nb = walk_end_ - j0 - nb < kBlock ? walk_end_ - j0 - nb : kBlock;
    KvRows(kv.v, kv.v_row_stride, kv.v_block_stride, kv, j0, nb, v_rows_);
    if (next_nb > 0) KvRows(kv.k, kv.k_row_stride, kv.k_block_stride, kv, j0 + nb, next_nb, k_next_rows_);
    // Raw scores: s = scale * q . k.
    for (size_t r0 = 0; r0 < padded_rows_; r0 += 4) {
      HWY_ALIGN float dots[SumOfLanes8Out(D())];
      HWY_ALIGN float tail_rows[4][4];
      float* const tail[4] = {tail_rows[0], tail_rows[1], tail_rows[2], tail_rows[3]};
      float* const out_rows[4] = {scores_[r0], scores_[r0 + 1], scores_[r0 + 2], scores_[r0 + 3]};
      for (size_t j = 0; j < nb; j += kDotKeys) {
        if (r0 == 0) {
          // Decode reads K and V once from memory: ask for this block's value rows and the next block's key rows
          // while the dot products run (hardware prefetchers alone leave single-thread bandwidth on the table, and
          // do not follow a block table at all).
          for (size_t jj = j; jj < j + kDotKeys && jj < nb; ++jj) {
            const TKV* k_next = jj < next_nb ? k_next_rows_[jj] : v_rows_[jj];
            for (size_t c = 0; c < dim; c += 64 / sizeof(TKV)) {
              PrefetchToL2(v_rows_[jj] + c);
              PrefetchToL2(k_next + c);
            }
          }
        }
        // Keys past the block's last are replaced by the last one (computed, not stored).
        const size_t keys = nb - j < kDotKeys ? nb - j : kDotKeys;
        const TKV* k[kDotKeys];
        for (size_t jj = 0; jj < kDotKeys; ++jj) k[jj] = k_rows_[j + (jj < keys ? jj : keys - 1)];
        if (kDotKeys == 4) {
          if (keys == 4) {
            Scores4x4(d, q_ + r0, k, dim, t.scale, out_rows, j);
          } else {
            Scores4x4(d, q_ + r0, k, dim, t.scale, tail, 0);
            for (size_t i = 0; i < 4; ++i) {
              for (size_t jj = 0; jj < keys; ++jj) scores_[r0 + i][j + jj] = tail_rows[i][jj];
            }
          }
        } else {
          Dot4x2(d, q_ + r0, k[0], k[kDotKeys - 1], dim, dots);
          for (size_t i = 0; i < 4; ++i) {
            for (size_t jj = 0; jj < keys; ++jj) scores_[r0 + i][j + jj] = dots[kDotKeys * i + jj] * t.scale;
          }
        }
      }
    }
    // Every kFoldBlocks blocks from the tile's first key, the rows' block sums join their carry, before this
    // block's (so a tile of at most kAttentionFoldKeys keys never folds).
    const size_t block_index = (j0 - t.key_begin) / kBlock;
    if (block_index != 0 && block_index % kFoldBlocks == 0) {
      for (size_t r = 0; r < rows; ++r) {
        if (!poisoned_[r]) Fold(r);
      }
    }
    // Online softmax per row: p = exp(s - max), with the FlashAttention rescaling of acc when max grows. Every
    // row's scores and new max first, then the rescaling factors exp(old - new) of all rows in one f64 vector exp
    // (RescaleFactors), then each row's update: one libm exp per row and block, where the max grows at every block
    // (ALiBi's rising scores), was ~3% of ALiBi decode.
    bool update[kRows];   // the row's state takes this block (not poisoned, something visible)
    bool rescale[kRows];  // ... and its max grows over a nonzero sum: acc and sum times exp(old - new)
    float new_max[kRows];
    double factor[kRows];  // old - new, then exp(old - new); 0 where not rescaled (benign for the exp)
    for (size_t r = 0; r < kRows; ++r) factor[r] = 0.0;
    bool any_rescale = false;
    for (size_t r = 0; r < rows; ++r) {
      float* s = scores_[r];
      float block_max = -kInf;
      if (!poisoned_[r] && !FinishScores(d, t, r, j0, nb, s, &block_max)) poisoned_[r] = true;
      update[r] = !poisoned_[r] && block_max != -kInf;
      if (!update[r]) {  // poisoned (the merge writes NaN) or nothing visible (state unchanged): p = 0
        FillRow(d, s, nb, 0.0f);
        rescale[r] = false;
        continue;
      }
      new_max[r] = block_max > t.max[r] ? block_max : t.max[r];
      rescale[r] = new_max[r] != t.max[r] && t.sum[r] != 0.0;
      if (rescale[r]) factor[r] = static_cast<double>(t.max[r]) - new_max[r];
      any_rescale |= rescale[r];
    }
    if (any_rescale) RescaleFactors(factor, rows);
    for (size_t r = 0; r < rows; ++r) {
      if (!update[r]) continue;
      float* s = scores_[r];
      double old_sum = t.sum[r];
      if (rescale[r]) {
        // acc times exp(old - new), the factor a float pair: a row whose max grows at every block (rising scores,
        // ALiBi) is rescaled once per block, and a once-rounded f32 factor, the same at every block for evenly
        // rising scores, would add up to half an ULP of error each time. acc's product is rounded once
        // (MulByPair; up to kFoldBlocks such roundings before a fold). The carry keeps the max it was summed at
        // (carry_max_) and is rescaled, compensated, only when acc joins it or at the end (RebaseCarry): once per
        // kFoldBlocks blocks instead of at every growth (ALiBi decode: ~4% of the call).
        float alpha_hi, alpha_lo;
        FloatPair(factor[r], &alpha_hi, &alpha_lo);
        const V a_hi = hn::Set(d, alpha_hi), a_lo = hn::Set(d, alpha_lo);
        MapRow(d, t.acc[r], t.acc[r], dim, 0.0f, [&](V a, auto...) HWY_ATTR { return MulByPair(a, a_hi, a_lo); });
        old_sum = t.sum[r] * factor[r];
      }
      V sum_hi = hn::Zero(d), sum_lo = hn::Zero(d);  // compensated: scores below the max may all be tiny
      const V neg_max = hn::Set(d, -new_max[r]);
      MapRow(d, s, s, nb, -kInf, [&](V v, auto...) HWY_ATTR {
        V lo;
        const V hi = TwoSum(v, neg_max, lo);
        const V e = ExpOfPairMasked(d, hi, lo);  // hidden keys (-inf) give exactly 0
        AddToSum</*kSeeded=*/false>(sum_hi, sum_lo, e);
        return e;
      });
      t.sum[r] = old_sum + SumTotal</*kSeeded=*/false>(d, sum_hi, sum_lo);
      t.max[r] = new_max[r];
    }
    // acc += P V.
    const float* p[kRows];
    for (size_t r = 0; r < padded_rows_; ++r) p[r] = scores_[r];
    for (size_t r0 = 0; r0 < padded_rows_; r0 += 4) {
      const size_t count = rows - r0 < 4 ? rows - r0 : 4;
      size_t c = 0;
      if (kDotKeys == 4) {  // 32 registers: four vectors per pass
        for (; c + 4 * N <= dim; c += 4 * N) AccumulatePV4<4, false>(d, acc_ + r0, p + r0, count, v_rows_, nb, c, N);
      }
      for (; c + 2 * N <= dim; c += 2 * N) AccumulatePV4<2, false>(d, acc_ + r0, p + r0, count, v_rows_, nb, c, N);
      if (c + N <= dim) {
        AccumulatePV4<1, false>(d, acc_ + r0, p + r0, count, v_rows_, nb, c, N);
        c += N;
      }
      if (c < dim) AccumulatePV4<1, true>(d, acc_ + r0, p + r0, count, v_rows_, nb, c, dim - c);
    }
    for (size_t j = 0; j < next_nb; ++j) k_rows_[j] = k_next_rows_[j];
  }

  // Row r's carry, summed at the max carry_max_[r], times exp(carry_max - max) for the row's current max (one
  // float-pair factor, the product compensated: RescaleCarry), so that acc can join it.
  HWY_INLINE void RebaseCarry(size_t r) {
    AttentionTile& t = *t_;
    if (!carried_[r] || carry_max_[r] == t.max[r]) return;
    float alpha_hi, alpha_lo;
    FloatPair(::exp(static_cast<double>(carry_max_[r]) - t.max[r]), &alpha_hi, &alpha_lo);
    RescaleCarry(D(), t.carry[r], t.carry[r] + t.head_dim, t.head_dim, alpha_hi, alpha_lo);
    carry_max_[r] = t.max[r];
  }

  // Row r's block sums in acc join its carry.
  HWY_INLINE void Fold(size_t r) {
    const size_t dim = t_->head_dim;
    RebaseCarry(r);
    FoldIntoCarry(D(), t_->acc[r], t_->carry[r], t_->carry[r] + dim, dim, !carried_[r]);
    carried_[r] = true;
    carry_max_[r] = t_->max[r];
  }

  HWY_INLINE void End() {
    AttentionTile& t = *t_;
    for (size_t r = 0; r < t.rows; ++r) {
      if (poisoned_[r]) {
        t.max[r] = std::numeric_limits<float>::quiet_NaN();
        t.sum[r] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      if (!carried_[r]) continue;
      RebaseCarry(r);
      // acc = hi + acc + lo, rounded once: (hi + acc) by TwoSum, its error and lo added to the low part.
      const D d;
      const size_t N = hn::Lanes(d), dim = t.head_dim;
      float* hi = t.carry[r];
      for (size_t c = 0; c < dim; c += N) {
        const size_t len = dim - c < N ? dim - c : N;
        hn::Vec<D> err;
        const hn::Vec<D> sum = TwoSum(LoadNOr(d, hi + c, len, 0.0f), LoadNOr(d, t.acc[r] + c, len, 0.0f), err);
        StoreN(hn::Add(sum, hn::Add(LoadNOr(d, hi + dim + c, len, 0.0f), err)), d, t.acc[r] + c, len);
      }
    }
  }

 private:
  AttentionTile* t_;
  size_t padded_rows_, walk_begin_, walk_end_;
  const float* q_[kRows];
  float* acc_[kRows];
  bool carried_[kRows];     // the carry holds a value (a fold happened)
  float carry_max_[kRows];  // ... summed at this max (RebaseCarry)
  bool poisoned_[kRows];
  HWY_ALIGN float scores_[kRows][kBlock];
  // Row pointers of this block's keys and values, and of the next block's keys (prefetched during this block).
  const TKV* k_rows_[kBlock];
  const TKV* v_rows_[kBlock];
  const TKV* k_next_rows_[kBlock];
};

// Exported (one instantiation per kv element type): runs `count` tiles (kernels/attention_tile.h), their blocks
// interleaved (block b of every tile, then block b + 1 of every tile, ...), so that tiles of different kv heads
// over the same keys read a paged pool's rows of those keys together.
template <class TKV>
HWY_NOINLINE void AttentionTilesRun(AttentionTile* tiles, size_t count) {
  TileWalk<TKV> walks[kAttentionMaxLockstepTiles];
  size_t next[kAttentionMaxLockstepTiles];
  size_t active = 0;
  for (size_t i = 0; i < count; ++i) {
    walks[i].Begin(tiles[i]);
    next[i] = walks[i].walk_begin();
    if (next[i] < walks[i].walk_end()) ++active;
  }
  while (active != 0) {
    for (size_t i = 0; i < count; ++i) {
      if (next[i] >= walks[i].walk_end()) continue;
      walks[i].Block(next[i]);
      next[i] += kAttentionKeyBlock;
      if (next[i] >= walks[i].walk_end()) --active;
    }
  }
  for (size_t i = 0; i < count; ++i) walks[i].End();
}

// Exported (one instantiation per output element type): merges partial results of one row
// (kernels/attention_tile.h, AttentionMergeKernel).
template <class TO>
HWY_NOINLINE void AttentionMerge(const float* acc, size_t acc_stride, const float* max, const double* sum, size_t parts,
                                 size_t head_dim, float sink, void* out_untyped, float* lse) {
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
  // Several parts (split decode): sum_c acc_c * weight_c compensated, each weight a float pair (its exp in double,
  // computed once per part), the sum (o + o_lo) rounded once at the store. Parts over keys of the same values would
  // otherwise round the same way every time, as the blocks of a tile did (TileWalk::kFoldBlocks).
  float w_hi[kAttentionMaxMergeParts], w_lo[kAttentionMaxMergeParts];
  const float* used[kAttentionMaxMergeParts];
  size_t n_used = 0;
  for (size_t c = 0; c < parts; ++c) {
    if (sum[c] == 0.0) continue;  // empty part (its acc is 0, its max -inf)
    const double weight = RescaleSum(max[c], 1.0, m) / total;
    if (weight == 0.0) continue;
    FloatPair(weight, &w_hi[n_used], &w_lo[n_used]);
    used[n_used++] = acc + c * acc_stride;
  }
  const size_t N = hn::Lanes(d);
  for (size_t i = 0; i < head_dim; i += N) {
    const size_t len = head_dim - i < N ? head_dim - i : N;
    V o = hn::Zero(d), o_lo = hn::Zero(d);
    for (size_t k = 0; k < n_used; ++k) {
      const V wh = hn::Set(d, w_hi[k]);
      const V a = len == N ? hn::LoadU(d, used[k] + i) : LoadNOr(d, used[k] + i, len, 0.0f);
      const V product = hn::Mul(a, wh);
      V err;
      o = TwoSum(o, product, err);
      // The product's rounding error, exact on every target (ProductError).
      o_lo = hn::Add(o_lo, hn::Add(err, hn::MulAdd(a, hn::Set(d, w_lo[k]), ProductError(a, wh, product))));
    }
    o = hn::Add(o, o_lo);
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
