// Pieces shared by the libFuzzer harnesses (tests/fuzz/*_fuzzer.cc): the check macro, fuzzer-chosen values and
// rows (extreme values placed per chunk of the row engine), target and thread choice, and the determinism rerun.
//
// Every harness is one family of public entry points; each checks statuses computed from the arguments alone,
// untouched outputs on error, guard zones around outputs on success, values against the long-double references,
// and bit-identical results with 1 and 2 threads.
#ifndef SIMDMAX_TESTS_FUZZ_FUZZ_COMMON_H_
#define SIMDMAX_TESTS_FUZZ_FUZZ_COMMON_H_

#include <fuzzer/FuzzedDataProvider.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <cfloat>
#include <limits>
#include <vector>

#include "simdmax/simdmax.h"

namespace simdmax_fuzz {

#define FUZZ_CHECK(cond, ...)                                       \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "simdmax fuzzer: check failed: %s: ", #cond); \
      fprintf(stderr, __VA_ARGS__);                                 \
      fprintf(stderr, "\n");                                        \
      __builtin_trap();                                             \
    }                                                               \
  } while (0)

// The row engine's chunk (kernels/row_chunks.h kMinChunkLength): rows longer than this are split into chunks whose
// decisions (masked exp or not, Fast2Sum order) are taken per chunk. Restated here (the harness tests the public
// API only); if the engine's chunk changes, the long rows still span several chunks as long as it stays <= 16384.
constexpr size_t kChunk = 16384;

constexpr size_t kGuardFloats = 16;
constexpr unsigned char kGuardByte = 0xA5;  // 0xA5A5A5A5 as a float: -2.9e-16, never a softmax output pattern

inline uint32_t Bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  return u;
}

// A value chosen by the fuzzer: mostly the special and extreme ones that decide the kernels' paths (the overflow
// of x - max, the exp flush thresholds near -87.3/-88.7 and -103.9/-104, denormals, infinities, NaN), sometimes
// any bit pattern, otherwise moderate values.
inline float FuzzValue(FuzzedDataProvider& fdp) {
  static const float kSpecials[] = {std::numeric_limits<float>::quiet_NaN(),
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(),
                                    FLT_MAX,
                                    -FLT_MAX,
                                    1.0e38f,
                                    -1.0e38f,
                                    1.0e30f,
                                    -1.0e30f,
                                    1.0e-40f,
                                    -1.0e-40f,
                                    std::numeric_limits<float>::denorm_min(),
                                    FLT_MIN,
                                    88.7f,
                                    -88.7f,
                                    88.8f,
                                    -87.3f,
                                    -87.5f,
                                    103.9f,
                                    -103.9f,
                                    104.0f,
                                    -104.0f,
                                    -110.0f,
                                    0.0f,
                                    -0.0f,
                                    1.0e4f};
  constexpr size_t kNumSpecials = sizeof(kSpecials) / sizeof(kSpecials[0]);
  const uint8_t kind = fdp.ConsumeIntegral<uint8_t>();
  if (kind < 64) return kSpecials[kind % kNumSpecials];
  if (kind < 96) {  // any bit pattern
    const uint32_t bits = fdp.ConsumeIntegral<uint32_t>();
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
  }
  // Moderate values: what real rows look like.
  return static_cast<float>(fdp.ConsumeIntegralInRange<int32_t>(-20000, 20000)) * 0.01f;
}

// A cheap deterministic generator (the fuzzer picks its seed): long rows cannot take one input byte per element.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed * 2654435761u + 1) {}
  uint32_t Next() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;  // 24 bits
  }
  float Uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(Next()) * (1.0f / 16777216.0f); }

 private:
  uint32_t state_;
};

// Fills x[0, n) as a row the fuzzer shapes:
// - short rows (n <= 64) take one input byte (or more) per element while input lasts;
// - otherwise a base (a constant, a ramp, or uniform noise of a chosen scale, from a fuzzer-seeded generator), then
//   for every chunk of kChunk elements a few fuzzer-chosen values (FuzzValue) at its first, last or a chosen
//   position: the max in one chunk and a narrow or extreme range in another is what per-chunk decisions get wrong.
inline void FuzzRow(FuzzedDataProvider& fdp, float* x, size_t n) {
  if (n == 0) return;
  if (n <= 64 && fdp.ConsumeBool()) {
    for (size_t i = 0; i < n; ++i) x[i] = fdp.remaining_bytes() > 0 ? FuzzValue(fdp) : static_cast<float>(i) * 0.37f;
    return;
  }
  const uint8_t base = fdp.ConsumeIntegralInRange<uint8_t>(0, 3);
  if (base == 0) {  // constant (e.g. a -FLT_MAX masking fill)
    const float c = FuzzValue(fdp);
    for (size_t i = 0; i < n; ++i) x[i] = c;
  } else if (base == 1) {  // ramp
    const float start = static_cast<float>(fdp.ConsumeIntegralInRange<int32_t>(-1000, 1000));
    const float step = static_cast<float>(fdp.ConsumeIntegralInRange<int32_t>(-1000, 1000)) * 1e-3f;
    for (size_t i = 0; i < n; ++i) x[i] = start + step * static_cast<float>(i);
  } else {  // noise of scale 10^k
    static const float kScales[] = {1.0f, 10.0f, 100.0f, 1.0e4f, 1.0e30f, 3.0e38f};
    const float scale = kScales[fdp.ConsumeIntegralInRange<size_t>(0, 5)];
    Lcg rng(fdp.ConsumeIntegral<uint32_t>());
    for (size_t i = 0; i < n; ++i) x[i] = rng.Uniform(-scale, scale);
  }
  for (size_t chunk = 0; chunk * kChunk < n; ++chunk) {
    const size_t begin = chunk * kChunk, len = std::min(kChunk, n - begin);
    const size_t placements = fdp.ConsumeIntegralInRange<size_t>(0, 3);
    for (size_t p = 0; p < placements; ++p) {
      const uint8_t where = fdp.ConsumeIntegralInRange<uint8_t>(0, 2);
      const size_t offset = where == 0 ? 0 : where == 1 ? len - 1 : fdp.ConsumeIntegralInRange<size_t>(0, len - 1);
      x[begin + offset] = FuzzValue(fdp);
    }
  }
}

// With SIMDMAX_FUZZ_DUMP set, prints x[0, n) as C hex-float literals on stderr: how a finding's input becomes the
// data of its regression test (tests/fuzz_regressions_test.cc). Harnesses call it just before a failing check.
inline void DumpFloats(const char* name, const float* x, size_t n) {
  if (getenv("SIMDMAX_FUZZ_DUMP") == nullptr) return;
  fprintf(stderr, "%s[%zu] = {", name, n);
  for (size_t i = 0; i < n; ++i) fprintf(stderr, "%s%af", i == 0 ? "" : ", ", static_cast<double>(x[i]));
  fprintf(stderr, "};\n");
}

// Selects the target with the given index byte (modulo the list). The selection is process-wide; callers read
// simdmax_selected_target() for messages.
inline void SelectTarget(uint8_t index) {
  const char* name = simdmax_target_name(index % simdmax_target_count());
  FUZZ_CHECK(simdmax_select_target(name) == SIMDMAX_OK, "select %s", name);
}

// The determinism contract: `call` (which writes its outputs into the buffers it is given) run with 1 and with 2
// threads gives bit-identical bytes. The fuzz build is single-process and cheap to keep: the two runs happen only
// for calls that succeeded, and the caller decides how often.
inline void SetThreads(size_t n) { FUZZ_CHECK(simdmax_set_max_threads(n) == SIMDMAX_OK, "threads %zu", n); }

inline size_t Span(size_t rows, size_t cols, size_t stride) { return rows == 0 ? 0 : (rows - 1) * stride + cols; }

}  // namespace simdmax_fuzz

#endif  // SIMDMAX_TESTS_FUZZ_FUZZ_COMMON_H_
