// Rows are processed in fixed-size chunks: each chunk yields a partial state (its own max and the sum of
// exp(x - chunk max)), the states are merged in chunk order, and a second pass finishes each chunk. The chunking
// depends only on the row length, never on the thread count, so a row split across threads and the same row done
// by one thread give bit-identical results. Plain C++ (no Highway): shared by the per-target kernels and by the
// dispatch layer, which runs the chunks of a long row in parallel.
//
// Why per-chunk maxima: a chunk's max pass and exp pass run back to back while the chunk is in L2, so a row that
// does not fit in cache is read from memory once for both (the merge rescales each chunk by exp(max_c - max)).
#ifndef SIMDMAX_KERNELS_ROW_CHUNKS_H_
#define SIMDMAX_KERNELS_ROW_CHUNKS_H_

#include <math.h>
#include <stddef.h>

#include <limits>

#include "kernels/prefetch.h"
#include "kernels/sum_order.h"

namespace simdmax {

// At most this many chunks per row, so that callers can keep chunk states on the stack.
inline constexpr size_t kMaxChunksPerRow = 256;
// 16K floats = 64 KiB in + 64 KiB out: in L2 on every CPU we target.
inline constexpr size_t kMinChunkLength = 16384;

// Chunk length for a row of n elements: kMinChunkLength, or longer (a multiple of 64) when the row would
// otherwise need more than kMaxChunksPerRow chunks.
inline size_t ChunkLength(size_t n) {
  if (n <= kMinChunkLength * kMaxChunksPerRow) return kMinChunkLength;
  const size_t per_chunk = (n + kMaxChunksPerRow - 1) / kMaxChunksPerRow;
  return (per_chunk + 63) / 64 * 64;
}
inline size_t ChunkCount(size_t n) { return (n + ChunkLength(n) - 1) / ChunkLength(n); }

// How a chunked row keeps what its finish needs, chosen by the row plan (kernels/row_plan.h) from the row's size
// against the caches. Every choice gives the same bits (the softmax finish re-evaluates e with the first pass's own
// functor, kernels/softmax-inl.h RescaleRecomputed), so the plan may depend on the machine.
struct ChunkedPlan {
  // Softmax: the first pass stores e = exp(x - offset) in f32 (the output itself, or scratch for a half-precision
  // one) and the finish rescales it: one exp per element, x read once, y written twice. false: the first pass only
  // sums and the finish re-evaluates e from x: two exps per element, x read twice, y written once.
  bool reload = true;
  // The finishes that do not read y (softmax without reload, log-softmax) write an f32 y with non-temporal stores:
  // no read-for-ownership of lines that are not in cache, and no eviction of the input the finish still reads.
  // Half-precision outputs are stored as usual.
  bool stream = false;
  // Each pass over a chunk prefetches the next chunk of the row into L2 (kernels/prefetch.h ReadAhead): for rows
  // beyond L2, whose first pass would otherwise wait on memory for every chunk while the FP units idle, and whose
  // compute-bound exp pass leaves the memory idle.
  bool prefetch = false;
};

// The read-ahead of a pass over one chunk of a row of row_bytes bytes, in chunks of chunk_bytes: the same offset in
// the next chunk, none past the row or where the plan says no. (Chunks spread over threads mostly run in order on
// each thread: TBB splits the chunk range into contiguous pieces.)
inline ReadAhead NextChunkAhead(const ChunkedPlan& plan, const void* row, size_t row_bytes, size_t chunk_bytes) {
  ReadAhead ahead;
  if (plan.prefetch) {
    ahead.end = reinterpret_cast<uintptr_t>(row) + row_bytes;
    ahead.distance = chunk_bytes;
  }
  return ahead;
}

// What the first pass over a chunk found. Trivial types (no member initialisers) so that arrays of them on the
// stack cost nothing to declare; every field is written before it is read.
struct ChunkState {
  float max;       // -inf: every entry -inf (empty for the sum)
  float min;       // of the chunk's entries, when it is not empty
  size_t at_max;   // entries equal to max (counted by log-softmax only; softmax adds them to rest)
  double rest;     // sum of the other entries' terms (below)
  size_t nan;      // NaN entries (then the chunk was not written)
  size_t pos_inf;  // +inf entries (likewise)
  bool neg_inf;    // the chunk holds -inf entries (masked positions)
  // What the first pass summed (and softmax stored) per entry: exp(x - max) (the x - max form), or, when `scaled`,
  // the scaled exp exp(x) * 2^shift (kernels/exp-inl.h; softmax chunks with |max| <= 1024, log-softmax chunks with
  // |max| <= 128, where the max's own term is ~2^1 resp. ~2^32).
  bool scaled;
  float shift;  // s, an integer (scaled only)
};

inline ChunkState EmptyChunkState() {
  ChunkState state{};
  state.max = -std::numeric_limits<float>::infinity();
  return state;
}

// How the second pass finishes one chunk.
struct ChunkFinish {
  enum Kind { kNormal, kFill, kInfSplit } kind;
  // kNormal, softmax: y = e * (scale_hi + scale_lo), e stored by the first pass (reload) or re-evaluated from x.
  // Log-softmax: y = (x - max) - (log_hi + log_lo).
  float scale_hi, scale_lo;
  float max, log_hi, log_lo;
  bool reload;     // softmax: the first pass stored e (RunChunkedRow sets it, from ChunkedPlan and the space for e)
  bool stream;     // ChunkedPlan::stream
  bool masked;     // the finish needs the masked exp / -inf handling for x - max (row max, not the chunk's)
  SumOrder order;  // for x - max (unmasked)
  // kFill: y = fill. kInfSplit: y = (x == +inf) ? at_inf : fill.
  float fill, at_inf;
  // kNormal softmax: the chunk's own bounds (ChunkState), from which a half-precision output's
  // finish re-derives the first pass's e = exp(x - offset) (the form and the variant it chose).
  float chunk_max, chunk_min;
  bool chunk_neg_inf;
  // kNormal softmax: the chunk's terms came from the scaled exp (ChunkState::scaled), whose sum carries each term's
  // rounding error: the finish adds that error back to the terms at the chunk's max (MulByPairPlus).
  bool chunk_scaled;
};

// fdlibm's split of ln 2 (kLn2Hi has 32 significant bits), for m ln2 carried exactly in f64: the chunk weights below
// and the short rows' log(sum) (kernels/short_rows-inl.h LogOfScaledSums).
inline constexpr double kLn2HiF64 = 6.93147180369123816490e-01;
inline constexpr double kLn2LoF64 = 1.90821492927058770002e-10;

// What turns a chunk's terms into exp(x - max) for the row max: exp(max_c - max) for the x - max form (exactly 1
// for a chunk that holds the row max); exp(-s ln2 - max) for scaled terms, formed as 2^-(s + m) exp(m ln2 - max)
// with m = round(max log2 e): m ln2 is carried as m ln2_hi + m ln2_lo (ln2_hi has 32 significant bits, so m ln2_hi
// and its difference with max are exact), so the factor is good to ~2^-52 (one libm exp), as short rows' log(sum)
// (kernels/short_rows-inl.h LogOfScaledSums). That keeps log-softmax's float-pair budget for log(sum) (2^-48
// relative) where a tiny output cancels against it.
inline double ChunkWeight(const ChunkState& state, float max) {
  const double row_max = static_cast<double>(max);
  if (!state.scaled) return ::exp(static_cast<double>(state.max) - row_max);
  // A row max far beyond any scaled chunk's (|max_c| <= 1024): the factor is below 2^-1400, 0 in f64; this form
  // keeps m ln2_hi exact (|m| < 2^12) and the exponent an int.
  if (!(fabs(row_max) <= 2048.0)) return ::exp(-static_cast<double>(state.shift) * 0.69314718055994530942 - row_max);
  const double m = ::nearbyint(row_max * 1.44269504088896340736);
  const double t = (m * kLn2HiF64 - row_max) + m * kLn2LoF64;
  return ::ldexp(::exp(t), -static_cast<int>(static_cast<double>(state.shift) + m));
}

// Merges the chunk states of a row in chunk order and returns the finish of every chunk in `finish`.
// log: log-softmax (else softmax). Pure scalar arithmetic in double; deterministic.
inline void MergeChunks(bool log, const ChunkState* states, size_t count, ChunkFinish* finish) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  size_t nan = 0, pos_inf = 0;
  float max = -kInf;
  for (size_t c = 0; c < count; ++c) {
    nan += states[c].nan;
    pos_inf += states[c].pos_inf;
    if (states[c].nan == 0 && states[c].pos_inf == 0 && states[c].max > max) max = states[c].max;
  }
  if (nan != 0 || pos_inf != 0 || max == -kInf) {
    // NaN anywhere: all NaN. +inf: the limit, 1/k (log: -log k) at the +inf entries. All -inf: 0 (log: -inf).
    ChunkFinish f{};
    f.fill = nan != 0 ? std::numeric_limits<float>::quiet_NaN() : (log ? -kInf : 0.0f);
    // 0.0 - log(k), not -log(k): k == 1 must give +0, like a finite row of length 1, not -0.
    f.at_inf = log ? static_cast<float>(0.0 - ::log(static_cast<double>(pos_inf)))
                   : static_cast<float>(1.0 / static_cast<double>(pos_inf));
    for (size_t c = 0; c < count; ++c) {
      finish[c] = f;
      finish[c].kind = (nan == 0 && states[c].pos_inf != 0) ? ChunkFinish::kInfSplit : ChunkFinish::kFill;
    }
    return;
  }
  // Sum of exp(x - max) = at_max + rest, each chunk rescaled by exp(max_c - max) (exactly 1 for the chunks that
  // hold the max). In f64: the rescaling and the additions cost ~1e-16 relative each.
  // Each chunk's weight is computed once (a libm exp, and ldexp for scaled chunks: ~40 ns, a tenth of a 1024-element
  // row's time) and used for the sum and for softmax's scale.
  size_t at_max = 0;
  double rest = 0.0;
  float min = max;
  double weight[kMaxChunksPerRow];
  for (size_t c = 0; c < count; ++c) {
    if (states[c].max == -kInf) continue;
    if (states[c].min < min) min = states[c].min;
    // Exactly 1 (exp(0)) for an unscaled chunk at the row max.
    weight[c] = states[c].max == max && !states[c].scaled ? 1.0 : ChunkWeight(states[c], max);
    if (states[c].max == max) {
      // Its entries at the max are the row's: counted exactly (log-softmax; softmax counts none).
      at_max += states[c].at_max;
      rest += states[c].scaled ? weight[c] * states[c].rest : states[c].rest;
    } else {
      // The entries at the chunk's own max each contribute exp(max_c - max) (in the x - max form their term was
      // exactly 1, so the chunk weight; scaled, it was exp(max_c) 2^s, not 1).
      const double at_max_terms = states[c].at_max == 0
                                      ? 0.0
                                      : static_cast<double>(states[c].at_max) *
                                            ::exp(static_cast<double>(states[c].max) - static_cast<double>(max));
      rest += weight[c] * states[c].rest + at_max_terms;
    }
  }
  // log(sum) = log1p(sum - 1): exact entries at the max are counted (log-softmax), so sum - 1 keeps full relative
  // precision (log-softmax near the max is -log1p(rest), which a plain sum 1 + rest would round away).
  // Softmax needs only 1/sum, log-softmax only log(sum).
  const double log_sum = log ? ::log1p(static_cast<double>(at_max) - 1.0 + rest) : 0.0;
  const double inv_sum = log ? 0.0 : 1.0 / (static_cast<double>(at_max) + rest);
  for (size_t c = 0; c < count; ++c) {
    ChunkFinish& f = finish[c];
    f = ChunkFinish{};
    f.max = max;
    f.log_hi = static_cast<float>(log_sum);
    f.log_lo = static_cast<float>(log_sum - f.log_hi);
    // Re-derived against the row max: the chunk pass chose its variant for x - (chunk max), but the finish
    // computes x - (row max), which for a chunk far below the row max (e.g. -FLT_MAX entries beside a FLT_MAX one)
    // overflows where x - chunk max did not.
    f.masked = states[c].neg_inf || states[c].max == -kInf || ShiftNeedsMasking(max, states[c].min);
    f.order = ShiftOrder(max, min);
    if (!log) {
      // The chunk summed (and maybe stored) exp(x - offset); scale it by exp(offset - max) / sum, as a float pair so
      // that the product is rounded once. An all -inf chunk is 0.
      if (states[c].max == -kInf) {
        f.kind = ChunkFinish::kFill;
        f.fill = 0.0f;
        continue;
      }
      const double scale = weight[c] * inv_sum;
      f.scale_hi = static_cast<float>(scale);
      f.scale_lo = static_cast<float>(scale - f.scale_hi);
      f.chunk_max = states[c].max;
      f.chunk_min = states[c].min;
      f.chunk_neg_inf = states[c].neg_inf;
      f.chunk_scaled = states[c].scaled;
    }
  }
}

// The chunk driver: the one sequence every chunked row follows, whoever runs it. for_each_chunk(count, body) must
// call body(c) once for every chunk c in [0, count), in any order and on any threads (the kernels pass a serial
// loop, dispatch/row_scheduler.cc a TBB parallel_for); pass(begin, n, store, &state) and finish(begin, n, finish)
// run the two chunk kernels on the chunk starting at element `begin` (the caller turns that into pointers of its
// element types). The chunking and the merge order live only here, so a row gives the same bits whichever executor
// ran its chunks, and whatever the plan (ChunkedPlan). can_store: whether there is f32 space for e (an f32 y, or
// scratch for a half-precision one); without it softmax re-evaluates e whatever the plan.
template <class ForEachChunk, class Pass, class Finish>
inline void RunChunkedRow(bool log, const ChunkedPlan& plan, bool can_store, size_t n,
                          const ForEachChunk& for_each_chunk, const Pass& pass, const Finish& finish) {
  const size_t chunk = ChunkLength(n);
  const size_t count = ChunkCount(n);
  const bool store = !log && plan.reload && can_store;
  const auto length = [&](size_t c) { return n - c * chunk < chunk ? n - c * chunk : chunk; };
  ChunkState states[kMaxChunksPerRow];
  ChunkFinish finishes[kMaxChunksPerRow];
  for_each_chunk(count, [&](size_t c) { pass(c * chunk, length(c), store, &states[c]); });
  MergeChunks(log, states, count, finishes);
  for (size_t c = 0; c < count; ++c) {
    finishes[c].reload = store;
    finishes[c].stream = plan.stream && !store;  // a reload finish reads y: its lines are in cache already
  }
  for_each_chunk(count, [&](size_t c) { finish(c * chunk, length(c), finishes[c]); });
}

}  // namespace simdmax

#endif  // SIMDMAX_KERNELS_ROW_CHUNKS_H_
