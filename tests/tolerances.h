// The accuracy contract, in ULP against the long-double reference rounded to float (tests/ulp.h). These are the
// bounds the README's accuracy table documents and every test enforces on every target.
#ifndef SIMDMAX_TESTS_TOLERANCES_H_
#define SIMDMAX_TESTS_TOLERANCES_H_

#include <stdint.h>

namespace simdmax_test {

inline constexpr uint64_t kSoftmaxMaxUlp = 2;
inline constexpr uint64_t kLogSoftmaxMaxUlp = 1;
// f16 and bf16 outputs (simdmax_softmax / simdmax_log_softmax / the typed online normalisations, any input type):
// ULP of the output type against the reference rounded to it (tests/dtype.h UlpDistanceIn).
inline constexpr uint64_t kHalfOutputMaxUlp = 1;

// Online softmax (simdmax_online_*), measured by tests/online_softmax_test.cc on every target (printed as
// "[measured]"): relative error of the running sum against one call and against the exact sum, for any block sizes
// and merge orders; ULP of normalise / log-normalise against the long-double softmax / log-softmax; log-normalise
// outputs with |reference| < 1e-6 (the entries at the max) in absolute error.
// The sum's bound follows from the per-term contract: each term within 1 ulp (<= 2^-23 relative), so the sum within
// 2^-23 relative plus the summation's ~1e-15. Random long rows measure ~8.6e-9 (the term errors average out); the
// online fuzzer found 2.1e-8 on a 146-element row dominated by two terms (tests/fuzz_regressions_test.cc), above
// the 2e-8 documented before, which was a measurement rather than a bound.
inline constexpr double kOnlineSumRelTol = 1.2e-7;
inline constexpr uint64_t kOnlineNormalizeMaxUlp = 2;     // measured 2
inline constexpr uint64_t kOnlineLogNormalizeMaxUlp = 2;  // measured 1
// Near-zero log-normalize outputs (|exact| < 1e-6), checked absolutely where the ULP bound does not hold: y = -log(sum)
// next to the max, with sum = count + rest in double, so y carries the double floor (~2^-53 for sum's rounding, as
// much for log's) plus rest's own error (rest * 2^-23 from the per-term contract, ~4e-16 where |y| < 3e-9, below
// which 2 f32 ulp of y are under that floor): ~1e-15, with a margin here. Measured 9.1e-15 over every near-zero
// entry of random rows (tests/online_softmax_test.cc, where the ULP bound holds as well). The online fuzzer's two
// findings above this (3.8e-14 on corpus_online/regression_log_normalize_near_zero_34190, then 3-6 ULP at -1.2e-4 on
// regression_online_rest_in_low_part_23984) were one bug, not the bound: the update summed the max's exact 1 with
// the small terms, which left rest to the compensated sum's plain-f32 low part; it now counts the entries at the
// max exactly (kernels/online_softmax-inl.h), and both seeds pass at this tolerance again.
inline constexpr double kOnlineLogNormalizeAbsTol = 2e-14;

// Attention (simdmax_attention_f32), measured by tests/attention_test.cc on every target ("[measured]" lines):
// |out - exact| / max over the visible keys of |v[j][d]|, per output element, and |lse - exact| / max(1, |exact|),
// against the long-double naive formula (tests/attention_reference.h).
// Ordinary data (scores within tens): measured worst 1.25e-6 (SCALAR, shapes x data), 9.6e-7 for keys repeating
// the same (score, value) pairs thousands of times (a row's output sums at most 64 products in plain f32 before
// they join a compensated sum, so the error does not grow with the number of keys: kernels/attention-inl.h,
// TileWalk::kFoldBlocks; identical products, whose roundings do not average out, give the worst of it). Before
// 2026-12-06 one f32 running sum gave 1.7e-6 for decode over 20000 keys and 2.9e-4 for 20000 identical keys.
inline constexpr double kAttentionOutRelTol = 3e-6;
// Scores in the hundreds to thousands (q, k in [-8, 8] with scale 1; scores growing to 1000): the f32 dot products
// round each score by ~ulp(1000) = 6e-5, which becomes the relative error of its weight. Measured worst 1.45e-4
// (SCALAR, whose single-lane dot product is one sequential chain), 5.4e-5 on the SIMD targets.
inline constexpr double kAttentionOutRelTolLargeScores = 2.5e-4;
// Measured worst 1.5e-6 (all data).
inline constexpr double kAttentionLseRelTol = 3e-6;
// simdmax_attention / simdmax_attention_batch (typed, paged, masked, windowed, soft-capped, ALiBi, sinks), measured
// by tests/attention_engine_test.cc on every target against the long-double general formula from the widened
// inputs: the same kAttentionOutRelTol (f32 outputs) and kAttentionLseRelTol, for scores within tens; f16/bf16
// outputs within kAttentionOutRelTol * max|v_j| plus this many ULP of the output type at the exact value (the f32
// result within the f32 bound, then rounded once to nearest: at most half an ULP of the type at the rounded value,
// which is at most one ULP at the exact value across a binade edge).
// Measured on x86 (AVX3_DL..SCALAR): f32 out 1.07e-6 x max|v| (SCALAR, soft-cap 5..50 over raw scores up to ~10,
// ALiBi; 6.9e-7 on the SIMD targets; every other feature <= 1.6e-7; 2026-12-06), lse 1.9e-7, f16/bf16 outputs
// 0.499 of their bound (the rounding to the type; the f32 error is far below it).
inline constexpr double kAttentionHalfOutputUlp = 1;

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_TOLERANCES_H_
