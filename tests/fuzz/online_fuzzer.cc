// libFuzzer harness over the online (streaming) softmax: simdmax_online_init / _update_f32 / _merge /
// _log_sum_exp / _normalize_f32 / _log_normalize_f32. log_sum_exp is checked against max + log(exact sum) within
// 2^-22 absolute (twice the sum's relative bound below, as the error of a log) plus 2^-51 relative.
//
// Per input: a row (tests/fuzz/fuzz_common.h FuzzRow: short rows most often, rows of several chunks sometimes,
// extreme values placed per chunk) split at fuzzer-chosen points into blocks (empty ones included, with x NULL);
// one state per block (update), merged in a fuzzer-chosen tree (with empty states, the identity, thrown in); then
// each block normalised (into a guarded buffer, or in place) under the merged state. One error case per input.
//
// Checked (with __builtin_trap() on a violation):
// - the merged state against one update over the whole row: max bit-identical; both sums within the bound that
//   follows from the per-term contract of simdmax.h (2^-23 + a few 2^-53 per operation, relative) of the exact sum
//   in long double, so within twice that of each other (exactly equal when max = +inf, where the sum counts the
//   +inf entries; NaN for NaN rows); merging an empty state changes nothing (bit for bit);
// - normalize against the long-double softmax within kOnlineNormalizeMaxUlp, log-normalize against the long-double
//   log-softmax within kOnlineLogNormalizeMaxUlp, or, where |exact| < 1e-6 (the entries at the max, whose log(sum)
//   comes from the double sum), within kOnlineLogNormalizeAbsTol absolute if not within the ULP bound: the contract
//   of simdmax.h, tolerances measured by tests/online_softmax_test.cc;
// - against the one-shot simdmax_softmax_f32 / simdmax_log_softmax_f32 of the same row: the bound that follows from
//   both contracts by the triangle inequality (both within their ULP bound of the same rounded reference):
//   kOnlineNormalizeMaxUlp + kSoftmaxMaxUlp ULP apart, kOnlineLogNormalizeMaxUlp + kLogSoftmaxMaxUlp for
//   log-normalize (plus kOnlineLogNormalizeAbsTol where |exact| < 1e-6); outputs below FLT_MIN may be flushed by
//   either, so values within 2 * FLT_MIN of each other there are equal;
// - statuses from the arguments alone; on error the state and every output byte untouched; on success nothing
//   written outside the block's outputs.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <cfloat>
#include <limits>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/reference.h"
#include "tests/tolerances.h"
#include "tests/ulp.h"

namespace {

using simdmax_fuzz::Bits;
using simdmax_fuzz::kChunk;
using simdmax_fuzz::kGuardByte;
using simdmax_fuzz::kGuardFloats;

bool SameState(const simdmax_online_state& a, const simdmax_online_state& b) {
  return Bits(a.max) == Bits(b.max) && memcmp(&a.sum, &b.sum, sizeof(double)) == 0;
}

// |a - b| in float steps, with the flush rule: two values that may both be flushed outputs count as equal.
uint64_t Apart(float a, float b) {
  if (fabsf(a) < 2 * FLT_MIN && fabsf(b) < 2 * FLT_MIN && fabsf(a - b) <= 2 * FLT_MIN) return 0;
  return simdmax_test::UlpDistance(a, static_cast<long double>(b));
}

// One error case, chosen by the fuzzer: the expected status from the arguments alone, and nothing written.
void CheckOneError(FuzzedDataProvider& fdp, const std::vector<float>& row) {
  const size_t n = row.size();
  simdmax_online_state state;
  simdmax_online_init(&state);
  if (n > 0) FUZZ_CHECK(simdmax_online_update_f32(&state, row.data(), n) == SIMDMAX_OK, "update");
  const simdmax_online_state saved = state;
  std::vector<float> y(n + 2 * kGuardFloats);
  memset(y.data(), kGuardByte, y.size() * sizeof(float));
  const std::vector<float> y_before = y;
  float* out = y.data() + kGuardFloats;
  const bool log = fdp.ConsumeBool();
  auto normalize = [&](const simdmax_online_state* s, const float* x, float* dst, size_t count) {
    return log ? simdmax_online_log_normalize_f32(s, x, dst, count) : simdmax_online_normalize_f32(s, x, dst, count);
  };
  simdmax_status got = SIMDMAX_OK, want = SIMDMAX_OK;
  switch (fdp.ConsumeIntegralInRange<int>(0, 6)) {
    case 0:
      got = simdmax_online_update_f32(nullptr, row.data(), n);
      want = SIMDMAX_ERROR_NULL_POINTER;
      break;
    case 1:
      got = simdmax_online_update_f32(&state, nullptr, n + 1);
      want = SIMDMAX_ERROR_NULL_POINTER;
      break;
    case 2:
      got = fdp.ConsumeBool() ? simdmax_online_merge(&state, nullptr) : simdmax_online_merge(nullptr, &state);
      want = SIMDMAX_ERROR_NULL_POINTER;
      break;
    case 3: {  // a state no update can produce
      static const simdmax_online_state kBad[] = {{-std::numeric_limits<float>::infinity(), 1.0},
                                                  {0.0f, 0.0},
                                                  {0.0f, -1.0},
                                                  {0.0f, std::numeric_limits<double>::infinity()},
                                                  {1.0f, -0.5}};
      const simdmax_online_state bad = kBad[fdp.ConsumeIntegralInRange<size_t>(0, 4)];
      if (n == 0) return;
      got = normalize(&bad, row.data(), out, n);
      want = SIMDMAX_ERROR_INVALID_ARGUMENT;
      break;
    }
    case 4:
      if (n == 0) return;
      got = fdp.ConsumeBool() ? normalize(nullptr, row.data(), out, n) : normalize(&state, row.data(), nullptr, n);
      want = SIMDMAX_ERROR_NULL_POINTER;
      break;
    case 5: {  // y overlapping x other than exactly in place
      if (n < 2) return;
      std::vector<float> shared(2 * n + 2 * kGuardFloats);
      memset(shared.data(), kGuardByte, shared.size() * sizeof(float));
      float* x = shared.data() + kGuardFloats;
      memcpy(x, row.data(), n * sizeof(float));
      const std::vector<float> shared_before = shared;
      const size_t shift = fdp.ConsumeIntegralInRange<size_t>(1, n - 1);
      const size_t count = n - shift;
      if (count <= shift) return;  // [x, x + count) and [x + shift, x + n) are then disjoint: a valid call
      const bool y_after = fdp.ConsumeBool();
      float* dst = y_after ? x + shift : x;
      const float* src = y_after ? x : x + shift;
      FUZZ_CHECK(normalize(&state, src, dst, count) == SIMDMAX_ERROR_OVERLAP, "overlap accepted (n=%zu shift=%zu)", n,
                 shift);
      FUZZ_CHECK(memcmp(shared.data(), shared_before.data(), shared.size() * sizeof(float)) == 0, "overlap wrote");
      return;
    }
    default:  // x + n wrapping the address space
      got = simdmax_online_update_f32(&state, reinterpret_cast<const float*>(UINTPTR_MAX - 64), 1024);
      want = SIMDMAX_ERROR_INVALID_SHAPE;
      break;
  }
  FUZZ_CHECK(got == want, "online error case: status %d, want %d", got, want);
  FUZZ_CHECK(SameState(state, saved), "state changed by a failed call");
  FUZZ_CHECK(memcmp(y.data(), y_before.data(), y.size() * sizeof(float)) == 0, "output written by a failed call");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  simdmax_fuzz::SelectTarget(fdp.ConsumeIntegral<uint8_t>());

  // The row: short most often, a few thousand sometimes, several chunks rarely.
  const uint8_t shape = fdp.ConsumeIntegral<uint8_t>();
  size_t n = 0;
  if (shape < 180) {
    n = fdp.ConsumeIntegralInRange<size_t>(1, 600);
  } else if (shape < 235) {
    n = fdp.ConsumeIntegralInRange<size_t>(1, 6000);
  } else {
    n = kChunk * fdp.ConsumeIntegralInRange<size_t>(1, 2) + fdp.ConsumeIntegralInRange<size_t>(0, 8000);
  }
  std::vector<float> row(n);
  simdmax_fuzz::FuzzRow(fdp, row.data(), n);

  // Blocks: sorted cut points (repeats give empty blocks).
  const size_t cuts = fdp.ConsumeIntegralInRange<size_t>(0, 11);
  std::vector<size_t> bounds = {0, n};
  for (size_t i = 0; i < cuts; ++i) bounds.push_back(fdp.ConsumeIntegralInRange<size_t>(0, n));
  std::sort(bounds.begin(), bounds.end());

  std::vector<simdmax_online_state> states;
  for (size_t b = 0; b + 1 < bounds.size(); ++b) {
    simdmax_online_state s;
    simdmax_online_init(&s);
    const size_t len = bounds[b + 1] - bounds[b];
    const float* x = (len == 0 && fdp.ConsumeBool()) ? nullptr : row.data() + bounds[b];
    FUZZ_CHECK(simdmax_online_update_f32(&s, x, len) == SIMDMAX_OK, "update block %zu (%zu)", b, len);
    states.push_back(s);
  }
  // A random merge tree: merge one state into another until one is left; sometimes merge an empty state (the
  // identity, exactly).
  while (states.size() > 1) {
    const size_t i = fdp.ConsumeIntegralInRange<size_t>(0, states.size() - 1);
    size_t j = fdp.ConsumeIntegralInRange<size_t>(0, states.size() - 2);
    if (j >= i) ++j;
    FUZZ_CHECK(simdmax_online_merge(&states[i], &states[j]) == SIMDMAX_OK, "merge");
    states.erase(states.begin() + static_cast<std::ptrdiff_t>(j));
    if (fdp.ConsumeIntegral<uint8_t>() < 32) {
      simdmax_online_state empty;
      simdmax_online_init(&empty);
      const simdmax_online_state before = states[i < j ? i : i - 1];
      FUZZ_CHECK(simdmax_online_merge(&states[i < j ? i : i - 1], &empty) == SIMDMAX_OK, "merge empty");
      FUZZ_CHECK(SameState(before, states[i < j ? i : i - 1]), "merging the empty state changed the state");
    }
  }
  const simdmax_online_state merged = states[0];

  // Against one update over the whole row.
  simdmax_online_state whole;
  simdmax_online_init(&whole);
  FUZZ_CHECK(simdmax_online_update_f32(&whole, row.data(), n) == SIMDMAX_OK, "update whole");
  bool has_nan = false;
  for (float v : row) has_nan |= isnan(v);
  const char* target = simdmax_selected_target();
  if (has_nan) {
    FUZZ_CHECK(isnan(merged.max) && isnan(whole.max), "NaN row on %s: max %g / %g", target, merged.max, whole.max);
  } else {
    FUZZ_CHECK(Bits(merged.max) == Bits(whole.max), "max on %s: %.9g vs %.9g", target, merged.max, whole.max);
    if (merged.max == std::numeric_limits<float>::infinity() || merged.max == -std::numeric_limits<float>::infinity()) {
      FUZZ_CHECK(merged.sum == whole.sum, "sum at max %g on %s: %.17g vs %.17g", merged.max, target, merged.sum,
                 whole.sum);
    } else {
      // The exact sum of exp(x - max), in long double (the entries below the max by more than ~11400 add nothing
      // a long double can hold, as in the state's double).
      long double exact = 0.0L;
      for (float v : row) exact += expl(static_cast<long double>(v) - static_cast<long double>(merged.max));
      // The bound that follows from simdmax.h's per-term contract: every term within 1 float ulp (<= 2^-23
      // relative) of exp(x - max), summed and re-based in double (<= 2^-53 per operation: n additions plus a few per
      // block and merge), terms below FLT_MIN possibly flushed (the total is >= 1: the max's own term). Not the
      // documented 2e-8 (kOnlineSumRelTol), which is a measurement on long random rows that short rows dominated by
      // a few terms exceed (tests/fuzz_regressions_test.cc, DISABLED_OnlineSumOfShortRowWithinDocumentedTolerance).
      const double blocks = static_cast<double>(bounds.size() - 1);
      const double bound = ldexp(1.0, -23) + (static_cast<double>(n) + 4.0 * blocks + 8.0) * ldexp(1.0, -53) +
                           static_cast<double>(n) * FLT_MIN;
      const double rel = fabs(merged.sum - whole.sum) / whole.sum;
      const double rel_merged = static_cast<double>(fabsl(merged.sum - exact) / exact);
      const double rel_whole = static_cast<double>(fabsl(whole.sum - exact) / exact);
      const bool ok = rel_merged <= bound && rel_whole <= bound && rel <= 2 * bound;
      if (!ok) simdmax_fuzz::DumpFloats("row", row.data(), n);
      FUZZ_CHECK(ok,
                 "sum on %s (n=%zu, %zu blocks): merged %.17g, one update %.17g, exact %.17Lg (rel %.3g, %.3g and "
                 "%.3g to exact; bound %.3g)",
                 target, n, bounds.size() - 1, merged.sum, whole.sum, exact, rel, rel_merged, rel_whole, bound);
    }
  }

  // log_sum_exp = max + log(sum): within the sum's bound (absolute, as the error of a log) of the exact value.
  {
    const double lse = simdmax_online_log_sum_exp(&merged);
    bool all_neg_inf = true, has_pos_inf = false;
    for (float v : row) {
      all_neg_inf &= v == -std::numeric_limits<float>::infinity();
      has_pos_inf |= v == std::numeric_limits<float>::infinity();
    }
    if (has_nan) {
      FUZZ_CHECK(isnan(lse), "log_sum_exp of a NaN row: %g", lse);
    } else if (all_neg_inf || has_pos_inf) {
      FUZZ_CHECK(lse == (has_pos_inf ? INFINITY : -INFINITY), "log_sum_exp: %g", lse);
    } else {
      long double exact = 0.0L;
      for (float v : row) exact += expl(static_cast<long double>(v) - static_cast<long double>(merged.max));
      const long double want = static_cast<long double>(merged.max) + logl(exact);
      const double tol = ldexp(1.0, -22) + fabs(lse) * ldexp(1.0, -51);
      FUZZ_CHECK(fabsl(lse - want) <= tol, "log_sum_exp on %s: %.17g want %.17Lg", target, lse, want);
    }
    FUZZ_CHECK(isnan(simdmax_online_log_sum_exp(nullptr)), "log_sum_exp(NULL)");
  }

  // Normalise every block under the merged state, into a guarded buffer or in place.
  const bool in_place = fdp.ConsumeBool();
  std::vector<float> y_buffer(n + 2 * kGuardFloats);
  memset(y_buffer.data(), kGuardByte, y_buffer.size() * sizeof(float));
  float* y = y_buffer.data() + kGuardFloats;
  std::vector<float> y_log_buffer = y_buffer;
  float* y_log = y_log_buffer.data() + kGuardFloats;
  if (in_place) {
    memcpy(y, row.data(), n * sizeof(float));
    memcpy(y_log, row.data(), n * sizeof(float));
  }
  for (size_t b = 0; b + 1 < bounds.size(); ++b) {
    const size_t begin = bounds[b], len = bounds[b + 1] - begin;
    FUZZ_CHECK(
        simdmax_online_normalize_f32(&merged, in_place ? y + begin : row.data() + begin, y + begin, len) == SIMDMAX_OK,
        "normalize");
    FUZZ_CHECK(simdmax_online_log_normalize_f32(&merged, in_place ? y_log + begin : row.data() + begin, y_log + begin,
                                                len) == SIMDMAX_OK,
               "log-normalize");
  }
  for (size_t g = 0; g < kGuardFloats; ++g) {
    FUZZ_CHECK(y_buffer[g] == y_log_buffer[g] && Bits(y_buffer[g]) == 0xA5A5A5A5u &&
                   Bits(y_buffer[kGuardFloats + n + g]) == 0xA5A5A5A5u &&
                   Bits(y_log_buffer[kGuardFloats + n + g]) == 0xA5A5A5A5u && Bits(y_log_buffer[g]) == 0xA5A5A5A5u,
               "normalize wrote outside its block");
  }

  // Against the long-double references and the one-shot row ops.
  std::vector<float> one_shot(n), one_shot_log(n);
  FUZZ_CHECK(simdmax_softmax_f32(1, n, row.data(), n, one_shot.data(), n) == SIMDMAX_OK, "softmax");
  FUZZ_CHECK(simdmax_log_softmax_f32(1, n, row.data(), n, one_shot_log.data(), n) == SIMDMAX_OK, "log_softmax");
  const std::vector<long double> ref = simdmax_test::ReferenceRow(simdmax_test::Op::kSoftmax, row.data(), n);
  const std::vector<long double> ref_log = simdmax_test::ReferenceRow(simdmax_test::Op::kLogSoftmax, row.data(), n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t ulp = simdmax_test::UlpDistance(y[i], ref[i]);
    FUZZ_CHECK(ulp <= simdmax_test::kOnlineNormalizeMaxUlp, "normalize on %s: %zu of %zu: %.9g want %.9Lg (%llu ulp)",
               target, i, n, y[i], ref[i], static_cast<unsigned long long>(ulp));
    const uint64_t apart = Apart(y[i], one_shot[i]);
    FUZZ_CHECK(apart <= simdmax_test::kOnlineNormalizeMaxUlp + simdmax_test::kSoftmaxMaxUlp,
               "normalize vs softmax on %s: %zu of %zu: %.9g vs %.9g", target, i, n, y[i], one_shot[i]);
    // Log-normalize: within the ULP bound, or, near 0 (|exact| < 1e-6: the entries at the max, whose output is
    // -log(sum) with log(sum) from the double sum), within the absolute tolerance instead; the same for the
    // distance to the one-shot op (one-shot's own bound added).
    const bool near_zero = fabsl(ref_log[i]) < 1e-6L;
    const uint64_t ulp_log = simdmax_test::UlpDistance(y_log[i], ref_log[i]);
    const long double err_log = fabsl(static_cast<long double>(y_log[i]) - ref_log[i]);
    if (!(ulp_log <= simdmax_test::kOnlineLogNormalizeMaxUlp ||
          (near_zero && err_log <= simdmax_test::kOnlineLogNormalizeAbsTol))) {
      simdmax_fuzz::DumpFloats("row", row.data(), n);
    }
    FUZZ_CHECK(ulp_log <= simdmax_test::kOnlineLogNormalizeMaxUlp ||
                   (near_zero && err_log <= simdmax_test::kOnlineLogNormalizeAbsTol),
               "log-normalize on %s: %zu of %zu: %.9g want %.12Lg (%llu ulp, abs %.3Lg)", target, i, n, y_log[i],
               ref_log[i], static_cast<unsigned long long>(ulp_log), err_log);
    const uint64_t apart_log = Apart(y_log[i], one_shot_log[i]);
    const long double one_shot_err = fabsl(static_cast<long double>(one_shot_log[i]) - ref_log[i]);
    FUZZ_CHECK(apart_log <= simdmax_test::kOnlineLogNormalizeMaxUlp + simdmax_test::kLogSoftmaxMaxUlp ||
                   (near_zero && fabsl(static_cast<long double>(y_log[i]) - one_shot_log[i]) <=
                                     simdmax_test::kOnlineLogNormalizeAbsTol + one_shot_err),
               "log-normalize vs log_softmax on %s: %zu of %zu: %.9g vs %.9g", target, i, n, y_log[i], one_shot_log[i]);
  }

  CheckOneError(fdp, row);
  return 0;
}
