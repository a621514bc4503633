// libFuzzer harness over simdmax_attention_f32: random but valid layouts (heads, kv heads dividing them, queries,
// keys, head_dim; q, k, v and out each [head][row][dim] or [row][head][dim] with padding; causal or not; lse or
// NULL; the split-K decode path sometimes: n_queries <= 8 with n_keys >= 2048) and invalid ones (one defect per
// input: status only, every output byte untouched).
//
// Checked (with __builtin_trap() on a violation):
// - the status from the arguments alone (simdmax.h's list of errors);
// - on error, out, lse and the inputs untouched; on success, nothing written outside out's rows of head_dim floats
//   (padding between rows and heads, and guard zones, keep their bytes) and outside lse[0, n_heads * n_queries);
// - values against the long-double naive attention (tests/attention_reference.h) within the bounds of
//   tests/tolerances.h: |out - exact| <= kAttentionOutRelTol * max_j |v[j][d]| for scores within tens
//   (kAttentionOutRelTolLargeScores when |scale * q . k| may reach 1000), |lse - exact| <= kAttentionLseRelTol *
//   max(1, |exact|); a query that sees no key gets exactly 0 and -inf;
// - determinism: the same call with 1 thread and with another count (2 when the first had 1) is bit-identical.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/attention_reference.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/tolerances.h"

namespace {

using simdmax_fuzz::kGuardByte;
using simdmax_fuzz::kGuardFloats;

// Strides of a [heads][rows][dim] or [rows][heads][dim] tensor with fuzzer-chosen padding; returns its span.
size_t Layout(FuzzedDataProvider& fdp, size_t heads, size_t rows, size_t dim, size_t* head_stride, size_t* row_stride) {
  const size_t pad_inner = fdp.ConsumeIntegralInRange<size_t>(0, 3);
  const size_t pad_outer = fdp.ConsumeIntegralInRange<size_t>(0, 5);
  if (fdp.ConsumeBool()) {  // [head][row][dim]
    *row_stride = dim + pad_inner;
    *head_stride = rows * *row_stride + pad_outer;
  } else {  // [row][head][dim]
    *head_stride = dim + pad_inner;
    *row_stride = heads * *head_stride + pad_outer;
  }
  if (heads == 0 || rows == 0) return 0;
  return (heads - 1) * *head_stride + (rows - 1) * *row_stride + dim;
}

// A buffer of `span` floats between guard zones, filled from a fuzzer-seeded generator in [-amplitude, amplitude].
struct Tensor {
  std::vector<float> buffer;
  float* data() { return buffer.data() + kGuardFloats; }
  Tensor(size_t span, simdmax_fuzz::Lcg* rng, float amplitude) : buffer(span + 2 * kGuardFloats) {
    memset(buffer.data(), kGuardByte, buffer.size() * sizeof(float));
    if (rng != nullptr) {
      for (size_t i = 0; i < span; ++i) data()[i] = rng->Uniform(-amplitude, amplitude);
    }
  }
};

enum class Defect : uint8_t {
  kNone,
  kNullDesc,
  kZeroKvHeads,
  kKvHeadsNotDividing,
  kZeroHeadDim,
  kScaleNotFinite,
  kNullQ,
  kNullOut,
  kNullK,
  kSmallRowStride,
  kHugeKeyStride,
  kOutOverlapsQ,
  kLseOverlapsOut,
  kCount
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  simdmax_fuzz::SelectTarget(fdp.ConsumeIntegral<uint8_t>());
  const size_t threads = fdp.ConsumeIntegralInRange<size_t>(0, 4);
  simdmax_fuzz::SetThreads(threads);

  simdmax_attention_desc desc;
  memset(&desc, 0, sizeof(desc));
  desc.n_kv_heads = fdp.ConsumeIntegralInRange<size_t>(1, 4);
  desc.n_heads = desc.n_kv_heads * fdp.ConsumeIntegralInRange<size_t>(1, 4);
  const uint8_t shape = fdp.ConsumeIntegral<uint8_t>();
  if (shape < 240) {  // prefill and decode blocks
    desc.n_queries = fdp.ConsumeIntegralInRange<size_t>(0, shape < 200 ? 9 : 40);
    desc.n_keys = fdp.ConsumeIntegralInRange<size_t>(0, shape < 200 ? 80 : 600);
  } else {  // long decode: the split-K path (n_queries <= 8, n_keys >= 2048; chunks of 1024)
    desc.n_queries = fdp.ConsumeIntegralInRange<size_t>(1, 8);
    desc.n_keys = fdp.ConsumeIntegralInRange<size_t>(2048, 3100);
  }
  desc.head_dim = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<size_t>(1, 72) : size_t{64} << fdp.ConsumeBool();
  // Keep one input cheap (CI fuzzes each harness for a minute): the long-double reference costs heads * queries *
  // keys * head_dim; cap it near 256K by shrinking head_dim (long rows keep their keys, which the paths depend on).
  const size_t work_items = std::max<size_t>(1, desc.n_heads * desc.n_queries * desc.n_keys);
  desc.head_dim = std::max<size_t>(1, std::min(desc.head_dim, (size_t{1} << 18) / work_items));
  desc.causal = fdp.ConsumeBool();
  const float amplitude = fdp.ConsumeBool() ? 1.0f : 2.0f;
  const uint8_t scale_kind = fdp.ConsumeIntegralInRange<uint8_t>(0, 2);
  desc.scale = scale_kind == 0 ? 1.0f / sqrtf(static_cast<float>(desc.head_dim)) : scale_kind == 1 ? 0.25f : 1.0f;

  const size_t q_span =
      Layout(fdp, desc.n_heads, desc.n_queries, desc.head_dim, &desc.q_head_stride, &desc.q_row_stride);
  const size_t k_span =
      Layout(fdp, desc.n_kv_heads, desc.n_keys, desc.head_dim, &desc.k_head_stride, &desc.k_row_stride);
  const size_t v_span =
      Layout(fdp, desc.n_kv_heads, desc.n_keys, desc.head_dim, &desc.v_head_stride, &desc.v_row_stride);
  const size_t out_span =
      Layout(fdp, desc.n_heads, desc.n_queries, desc.head_dim, &desc.out_head_stride, &desc.out_row_stride);
  const bool with_lse = fdp.ConsumeBool();
  const Defect defect =
      fdp.ConsumeIntegral<uint8_t>() < 200
          ? Defect::kNone
          : static_cast<Defect>(fdp.ConsumeIntegralInRange<uint8_t>(1, static_cast<uint8_t>(Defect::kCount) - 1));

  simdmax_fuzz::Lcg rng(fdp.ConsumeIntegral<uint32_t>());
  Tensor q(q_span, &rng, amplitude), k(k_span, &rng, amplitude), v(v_span, &rng, amplitude);
  Tensor out(out_span, nullptr, 0.0f);
  const size_t lse_count = desc.n_heads * desc.n_queries;
  Tensor lse(lse_count, nullptr, 0.0f);

  // The call's arguments, with the defect (if any) applied, and the status it must give.
  simdmax_attention_desc call = desc;
  const simdmax_attention_desc* call_desc = &call;
  const float* call_q = q.data();
  const float* call_k = k.data();
  const float* call_v = v.data();
  float* call_out = out.data();
  float* call_lse = with_lse ? lse.data() : nullptr;
  simdmax_status want = SIMDMAX_OK;
  const bool work = desc.n_heads > 0 && desc.n_queries > 0;
  switch (defect) {
    case Defect::kNone:
      break;
    case Defect::kNullDesc:
      call_desc = nullptr;
      want = SIMDMAX_ERROR_NULL_POINTER;
      break;
    case Defect::kZeroKvHeads:
      call.n_kv_heads = 0;
      want = SIMDMAX_ERROR_INVALID_ARGUMENT;
      break;
    case Defect::kKvHeadsNotDividing:
      call.n_kv_heads = call.n_heads + 1;
      want = SIMDMAX_ERROR_INVALID_ARGUMENT;
      break;
    case Defect::kZeroHeadDim:
      call.head_dim = 0;
      want = SIMDMAX_ERROR_INVALID_ARGUMENT;
      break;
    case Defect::kScaleNotFinite:
      call.scale = fdp.ConsumeBool() ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
      want = SIMDMAX_ERROR_INVALID_ARGUMENT;
      break;
    case Defect::kNullQ:
      call_q = nullptr;
      want = work ? SIMDMAX_ERROR_NULL_POINTER : SIMDMAX_OK;
      break;
    case Defect::kNullOut:
      call_out = nullptr;
      want = work ? SIMDMAX_ERROR_NULL_POINTER : SIMDMAX_OK;
      break;
    case Defect::kNullK:
      if (fdp.ConsumeBool())
        call_k = nullptr;
      else
        call_v = nullptr;
      want = (work && desc.n_keys > 0) ? SIMDMAX_ERROR_NULL_POINTER : SIMDMAX_OK;
      break;
    case Defect::kSmallRowStride:
      if (desc.n_queries > 1 && desc.head_dim > 1) {
        call.q_row_stride = desc.head_dim - 1;
        want = SIMDMAX_ERROR_INVALID_STRIDE;
      }
      if (!work) want = SIMDMAX_OK;
      break;
    case Defect::kHugeKeyStride:
      if (desc.n_keys > 1) {
        call.k_row_stride = SIZE_MAX / 4;
        want = SIMDMAX_ERROR_INVALID_SHAPE;
      }
      if (!work) want = SIMDMAX_OK;
      break;
    case Defect::kOutOverlapsQ:
      call_out = const_cast<float*>(q.data());  // nothing may be written: the call must fail first
      want = work ? SIMDMAX_ERROR_OVERLAP : SIMDMAX_OK;
      break;
    case Defect::kLseOverlapsOut:
      call_lse = out.data();
      want = work ? SIMDMAX_ERROR_OVERLAP : SIMDMAX_OK;
      break;
    case Defect::kCount:
      break;
  }
  if (want == SIMDMAX_OK && defect != Defect::kNone) return 0;  // the defect did not apply to this shape

  const std::vector<float> q_before = q.buffer, k_before = k.buffer, v_before = v.buffer, out_before = out.buffer,
                           lse_before = lse.buffer;
  const simdmax_status got = simdmax_attention_f32(call_desc, call_q, call_k, call_v, call_out, call_lse);
  const char* target = simdmax_selected_target();
  FUZZ_CHECK(got == want, "attention on %s: status %d, want %d (defect %d, heads %zu/%zu, q %zu, keys %zu, dim %zu)",
             target, got, want, static_cast<int>(defect), desc.n_heads, desc.n_kv_heads, desc.n_queries, desc.n_keys,
             desc.head_dim);
  FUZZ_CHECK(q.buffer == q_before && k.buffer == k_before && v.buffer == v_before, "attention modified an input");
  if (got != SIMDMAX_OK || !work) {
    FUZZ_CHECK(memcmp(out.buffer.data(), out_before.data(), out.buffer.size() * sizeof(float)) == 0 &&
                   memcmp(lse.buffer.data(), lse_before.data(), lse.buffer.size() * sizeof(float)) == 0,
               "attention wrote on error or no-op (status %d)", got);
    return 0;
  }

  // Bytes outside out's rows and lse's entries unchanged.
  std::vector<bool> is_out(out.buffer.size(), false);
  for (size_t h = 0; h < desc.n_heads; ++h) {
    for (size_t i = 0; i < desc.n_queries; ++i) {
      const size_t base = kGuardFloats + h * desc.out_head_stride + i * desc.out_row_stride;
      for (size_t d = 0; d < desc.head_dim; ++d) is_out[base + d] = true;
    }
  }
  for (size_t i = 0; i < out.buffer.size(); ++i) {
    FUZZ_CHECK(is_out[i] || memcmp(&out.buffer[i], &out_before[i], sizeof(float)) == 0,
               "attention wrote outside out's rows at %zu", i);
  }
  for (size_t i = 0; i < lse.buffer.size(); ++i) {
    const bool inside = with_lse && i >= kGuardFloats && i < kGuardFloats + lse_count;
    FUZZ_CHECK(inside || memcmp(&lse.buffer[i], &lse_before[i], sizeof(float)) == 0,
               "attention wrote outside lse at %zu", i);
  }

  // Values against the long-double naive formula.
  const float max_score = desc.scale * static_cast<float>(desc.head_dim) * amplitude * amplitude;
  const double out_tol =
      max_score <= 40.0f ? simdmax_test::kAttentionOutRelTol : simdmax_test::kAttentionOutRelTolLargeScores;
  const simdmax_test::AttentionReference ref = simdmax_test::ReferenceAttention(desc, q.data(), k.data(), v.data());
  for (size_t h = 0; h < desc.n_heads; ++h) {
    for (size_t i = 0; i < desc.n_queries; ++i) {
      const size_t row = h * desc.n_queries + i;
      const float* o = out.data() + h * desc.out_head_stride + i * desc.out_row_stride;
      for (size_t d = 0; d < desc.head_dim; ++d) {
        const long double exact = ref.out[row * desc.head_dim + d];
        const long double err = fabsl(static_cast<long double>(o[d]) - exact);
        FUZZ_CHECK(err <= out_tol * ref.v_scale[row * desc.head_dim + d],
                   "attention out on %s: head %zu query %zu dim %zu: %.9g want %.9Lg (keys %zu, dim %zu, causal %d)",
                   target, h, i, d, o[d], exact, desc.n_keys, desc.head_dim, desc.causal);
      }
      if (with_lse) {
        const long double exact = ref.lse[row];
        const float got_lse = lse.data()[row];
        if (isinf(exact)) {
          FUZZ_CHECK(got_lse == -std::numeric_limits<float>::infinity(), "lse of a query without keys: %g", got_lse);
        } else {
          FUZZ_CHECK(fabsl(got_lse - exact) <= simdmax_test::kAttentionLseRelTol * fmaxl(1.0L, fabsl(exact)),
                     "attention lse on %s: head %zu query %zu: %.9g want %.9Lg", target, h, i, got_lse, exact);
        }
      }
    }
  }

  // Determinism: the same call into fresh buffers with another thread count.
  Tensor out2(out_span, nullptr, 0.0f), lse2(lse_count, nullptr, 0.0f);
  simdmax_fuzz::SetThreads(threads == 1 ? 2 : 1);
  FUZZ_CHECK(simdmax_attention_f32(&desc, q.data(), k.data(), v.data(), out2.data(),
                                   with_lse ? lse2.data() : nullptr) == SIMDMAX_OK,
             "rerun");
  FUZZ_CHECK(memcmp(out.buffer.data(), out2.buffer.data(), out.buffer.size() * sizeof(float)) == 0 &&
                 memcmp(lse.buffer.data(), lse2.buffer.data(), lse.buffer.size() * sizeof(float)) == 0,
             "attention on %s differs between %zu and %zu threads (heads %zu, q %zu, keys %zu)", target, threads,
             threads == 1 ? size_t{2} : size_t{1}, desc.n_heads, desc.n_queries, desc.n_keys);
  return 0;
}
