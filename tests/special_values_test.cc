// The special-values table of README.md ("Special values"), enforced on every target and every row entry point:
// NaN, masked (-inf) entries, +inf, +-FLT_MAX, values near the exp overflow/underflow thresholds, subnormals, rows
// of length 1 and all-equal rows, at every position of every tail length, and inside strided / in-place batches.
// Every output is compared with tests/reference.h (which implements the same semantics) within the op's ULP bound,
// and the values the table promises exactly (0, -inf, 1, NaN) are checked exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/row_chunks.h"
#include "simdmax/simdmax.h"
#include "tests/dtype.h"
#include "tests/entry_points.h"
#include "tests/inputs.h"
#include "tests/reference.h"
#include "tests/target_fixture.h"
#include "tests/ulp.h"

namespace simdmax_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kSubnormal = 1.0e-40f;  // < FLT_MIN
constexpr float kGuard = -12345.678f;
constexpr size_t kMaxTail = 67;

std::string Describe(const float* x, size_t n) {
  std::ostringstream out;
  out << "n=" << n << " x=[";
  for (size_t i = 0; i < n && i < 12; ++i) out << (i ? " " : "") << x[i];
  if (n > 12) out << " ...";
  out << "]";
  return out.str();
}

// Checks one output row against the reference: within the bound everywhere, and exactly what the table promises
// at masked (-inf) entries, in NaN rows, and never NaN in a row without NaN. Returns false on the first failure so
// that loops over thousands of rows stop at the first broken one.
// x: the input as the library sees it (quantized to the entry's input type); ref: its reference.
bool CheckRowAgainst(const RowEntryPoint& ep, const float* x, const float* y, size_t n,
                     const std::vector<long double>& ref) {
  bool row_has_nan = false;
  for (size_t i = 0; i < n; ++i) row_has_nan |= std::isnan(x[i]);
  const bool log = (ep.op == Op::kLogSoftmax);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t ulp = ep.Ulp(y[i], ref[i]);
    if (ulp > ep.max_ulp) {
      ADD_FAILURE() << ep.name << " " << Describe(x, n) << ": at " << i << " got " << y[i] << " want "
                    << static_cast<double>(ref[i]) << " (" << ulp << " ulp)";
      return false;
    }
    if (row_has_nan != static_cast<bool>(std::isnan(y[i]))) {
      ADD_FAILURE() << ep.name << " " << Describe(x, n) << ": NaN mismatch at " << i << " got " << y[i];
      return false;
    }
    if (x[i] == -kInf && !row_has_nan && !(log ? y[i] == -kInf : y[i] == 0.0f)) {
      ADD_FAILURE() << ep.name << " " << Describe(x, n) << ": masked entry " << i << " got " << y[i];
      return false;
    }
  }
  return true;
}

bool CheckRow(const RowEntryPoint& ep, const float* x_in, const float* y, size_t n) {
  const std::vector<float> quantized = ep.Quantized(x_in, n);  // what the library sees in its input type
  return CheckRowAgainst(ep, quantized.data(), y, n, ReferenceRow(ep.op, quantized.data(), n));
}

// The exhaustive position sweeps run in full for the f32 -> f32 entry points; the 16 typed pairs share their
// kernels' special-value logic (the types only change loads and stores, which tests/convert_test.cc checks on every
// target) and sweep a subset of the lengths, every position of each, so the suite stays within CI time.
bool FullSweep(const RowEntryPoint& ep) { return ep.x_type == SIMDMAX_F32 && ep.y_type == SIMDMAX_F32; }

// Runs the entry point on one contiguous row with guard elements after it, and checks the row and the guards.
bool RunAndCheck(const RowEntryPoint& ep, const std::vector<float>& x) {
  const size_t n = x.size();
  std::vector<float> y(n + 16, kGuard);
  if (ep.Run(1, n, x.data(), n, y.data(), n) != SIMDMAX_OK) {
    ADD_FAILURE() << ep.name << " failed on " << Describe(x.data(), n);
    return false;
  }
  for (size_t i = n; i < y.size(); ++i) {
    if (y[i] != kGuard) {
      ADD_FAILURE() << ep.name << " wrote past the row " << Describe(x.data(), n);
      return false;
    }
  }
  return CheckRow(ep, x.data(), y.data(), n);
}

class SpecialValues : public PerTarget {
 protected:
  void TearDown() override {
    simdmax_set_max_threads(0);
    PerTarget::TearDown();
  }
};

// Every special value at every position of every tail length 1..67 (and a few longer rows), over a finite row:
// exercises the whole-vector body and the padded tail of every pass, including the special-row path.
TEST_P(SpecialValues, EverySpecialAtEveryPositionOfEveryTail) {
  const float specials[] = {kNaN, -kInf, kInf, FLT_MAX, -FLT_MAX, kSubnormal, -kSubnormal, 88.7f, -88.7f, 0.0f};
  std::vector<size_t> lengths;
  // Under qemu (EmulatedRun): tails up to 2 SVE-2048 vectors' worth are sampled rather than all 67.
  for (size_t n = 1; n <= kMaxTail; n += (EmulatedRun() && n > 17 ? 7 : 1)) lengths.push_back(n);
  for (size_t n : {127, 128, 129, 1000}) lengths.push_back(n);
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (size_t n : lengths) {
      if (!FullSweep(ep) && n > 17 && n % 16 > 1 && n % 16 != 15) continue;  // typed: tails around vector sizes
      const std::vector<float> base = MakeRow(Distribution::kUniform10, n, 11);
      // Long rows: a sample of positions, ends included; under qemu also the tails past 17 (every vector width's
      // body and tail still see a special in their first, last and several middle lanes).
      const size_t step = n > kMaxTail ? 7 : (EmulatedRun() && n > 17 ? 3 : 1);
      for (float special : specials) {
        for (size_t pos = 0; pos < n; pos += (pos + step < n || pos == n - 1) ? step : n - 1 - pos) {
          std::vector<float> x = base;
          x[pos] = special;
          ASSERT_TRUE(RunAndCheck(ep, x)) << "special " << special << " at " << pos;
          if (pos == n - 1) break;
        }
      }
    }
  }
}

// Two different special values in one row, at every pair of positions of short rows: NaN beats +inf beats the
// rest; +inf and -inf together give the +inf limit; -inf beside FLT_MAX stays masked.
TEST_P(SpecialValues, PairsOfSpecials) {
  const float specials[] = {kNaN, -kInf, kInf, FLT_MAX, -FLT_MAX};
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (size_t n = 2; n <= (FullSweep(ep) ? 19u : 9u); ++n) {
      const std::vector<float> base = MakeRow(Distribution::kUniform10, n, 12);
      for (float a : specials) {
        for (float b : specials) {
          for (size_t i = 0; i < n; ++i) {
            for (size_t j = 0; j < n; ++j) {
              if (i == j) continue;
              std::vector<float> x = base;
              x[i] = a;
              x[j] = b;
              ASSERT_TRUE(RunAndCheck(ep, x)) << a << " at " << i << ", " << b << " at " << j;
            }
          }
        }
      }
    }
  }
}

// NaN anywhere makes the whole row NaN, whatever else the row holds (Highway's Exp(NaN) is 0, so this is handled
// explicitly by the kernels).
TEST_P(SpecialValues, NaNAnywhereMakesTheRowNaN) {
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (size_t n : {1, 2, 15, 16, 17, 4097}) {
      for (float fill : {0.0f, -kInf, kInf, FLT_MAX, 1.0e4f}) {
        std::vector<float> x(n, fill);
        x[n / 2] = kNaN;
        std::vector<float> y(n);
        ASSERT_EQ(ep.Run(1, n, x.data(), n, y.data(), n), SIMDMAX_OK);
        for (size_t i = 0; i < n; ++i) ASSERT_TRUE(std::isnan(y[i])) << ep.name << " n=" << n << " fill " << fill;
      }
    }
  }
}

// Masked rows: -inf entries give exactly 0 / -inf and the rest is the softmax of the finite entries; a fully
// masked row gives zeros / -inf, never NaN.
TEST_P(SpecialValues, MaskedEntries) {
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (size_t n = 1; n <= kMaxTail; ++n) {
      ASSERT_TRUE(RunAndCheck(ep, std::vector<float>(n, -kInf))) << "all -inf";
      // Every other entry masked, then all but the last, then all but the first.
      std::vector<float> x = MakeRow(Distribution::kUniform10, n, 13);
      for (size_t i = 0; i < n; i += 2) x[i] = -kInf;
      ASSERT_TRUE(RunAndCheck(ep, x));
      std::vector<float> last(n, -kInf), first(n, -kInf);
      last[n - 1] = 3.0f;
      first[0] = -FLT_MAX;
      ASSERT_TRUE(RunAndCheck(ep, last));
      ASSERT_TRUE(RunAndCheck(ep, first));
      // Softmax of the unmasked entries equals softmax of the row with the masked entries removed.
      if (n >= 2) {
        const std::vector<float> finite = MakeRow(Distribution::kUniform10, n, 14);
        std::vector<float> masked = finite;
        masked[n / 2] = -kInf;
        std::vector<float> compact = finite;
        compact.erase(compact.begin() + static_cast<std::ptrdiff_t>(n / 2));
        std::vector<float> y_masked(n), y_compact(n - 1);
        ASSERT_EQ(ep.Run(1, n, masked.data(), n, y_masked.data(), n), SIMDMAX_OK);
        ASSERT_EQ(ep.Run(1, n - 1, compact.data(), n - 1, y_compact.data(), n - 1), SIMDMAX_OK);
        const std::vector<long double> ref = ReferenceRow(ep.op, ep.Quantized(compact.data(), n - 1).data(), n - 1);
        for (size_t i = 0, j = 0; i < n; ++i) {
          if (i == n / 2) continue;
          ASSERT_LE(ep.Ulp(y_masked[i], ref[j++]), ep.max_ulp) << ep.name << " n=" << n << " i=" << i;
        }
      }
    }
  }
}

// k entries equal to +inf share the mass: 1/k (log: -log k) there, 0 (log: -inf) elsewhere.
TEST_P(SpecialValues, PositiveInfinitiesShareTheMass) {
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    const bool log = (ep.op == Op::kLogSoftmax);
    for (size_t n = 1; n <= kMaxTail; ++n) {
      for (size_t k = 1; k <= n; k = k * 2 + 1) {
        std::vector<float> x = MakeRow(Distribution::kUniform10, n, 15);
        for (size_t i = 0; i < k; ++i) x[(i * 7) % n] = kInf;  // k distinct positions when gcd(7, n) == 1
        size_t count = 0;
        for (float v : x) count += (v == kInf);
        std::vector<float> y(n);
        ASSERT_EQ(ep.Run(1, n, x.data(), n, y.data(), n), SIMDMAX_OK);
        ASSERT_TRUE(CheckRow(ep, x.data(), y.data(), n));
        for (size_t i = 0; i < n; ++i) {
          if (x[i] == kInf) {
            if (count == 1) {
              ASSERT_EQ(y[i], log ? 0.0f : 1.0f) << n;
            }
          } else {
            ASSERT_EQ(y[i], log ? -kInf : 0.0f) << ep.name << " n=" << n << " i=" << i;
          }
        }
      }
    }
  }
}

// Extreme finite magnitudes never overflow: +-FLT_MAX mixes (x - max overflows to -inf), values near the exp
// thresholds (+-88.7, -87.3, -103.9), subnormals, in every combination the reference can tell apart.
TEST_P(SpecialValues, ExtremeFiniteRows) {
  const std::vector<std::vector<float>> rows = {
      {FLT_MAX},
      {-FLT_MAX},
      {FLT_MAX, -FLT_MAX},
      {-FLT_MAX, FLT_MAX, 0.0f},
      {FLT_MAX, FLT_MAX},
      {FLT_MAX, FLT_MAX, -FLT_MAX, 1.0f},
      {-FLT_MAX, -FLT_MAX, -FLT_MAX},
      {-FLT_MAX, 0.0f, -FLT_MAX},
      {FLT_MAX, std::nextafter(FLT_MAX, 0.0f), 0.0f},
      {88.7f, -88.7f},
      {88.72283f, 88.72283f, 0.0f},
      {-88.7f, -88.7f, -88.7f},
      {0.0f, -87.3f, -88.7f, -103.9f, -104.0f},
      {88.7f, 0.0f, -88.7f, 87.3f},
      {kSubnormal, -kSubnormal, 0.0f},
      {kSubnormal, kSubnormal, kSubnormal},
      {FLT_MIN, kSubnormal, -FLT_MIN, std::numeric_limits<float>::denorm_min()},
      {-kInf, kSubnormal},
      {-kInf, -FLT_MAX, FLT_MAX},
  };
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (const std::vector<float>& row : rows) {
      ASSERT_TRUE(RunAndCheck(ep, row));
      // The same values spread over every tail length (repeated cyclically).
      for (size_t n = row.size(); n <= kMaxTail; ++n) {
        std::vector<float> x(n);
        for (size_t i = 0; i < n; ++i) x[i] = row[i % row.size()];
        ASSERT_TRUE(RunAndCheck(ep, x));
      }
    }
  }
}

// Rows of length 1: exactly 1 (log: exactly 0) for any finite or infinite value, 0 / -inf for -inf, NaN for NaN.
TEST_P(SpecialValues, LengthOne) {
  const float values[] = {0.0f, -0.0f, 1.0f, -1.0f, 88.7f, -88.7f, 1.0e4f, FLT_MAX, -FLT_MAX, kSubnormal, kInf};
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    const bool log = (ep.op == Op::kLogSoftmax);
    for (float v : values) {
      // -FLT_MAX is -inf in f16 and bf16 (the correct rounding of the input): a masked row, tested below.
      if (Quantize(ep.x_type, v) == -kInf) continue;
      float y = kGuard;
      ASSERT_EQ(ep.Run(1, 1, &v, 1, &y, 1), SIMDMAX_OK);
      EXPECT_EQ(y, log ? 0.0f : 1.0f) << ep.name << " x=" << v;
      EXPECT_FALSE(std::signbit(y)) << ep.name << " x=" << v << ": -0";
    }
    const float neg_inf = -kInf, nan = kNaN;
    float y = kGuard;
    ASSERT_EQ(ep.Run(1, 1, &neg_inf, 1, &y, 1), SIMDMAX_OK);
    EXPECT_EQ(y, log ? -kInf : 0.0f) << ep.name;
    ASSERT_EQ(ep.Run(1, 1, &nan, 1, &y, 1), SIMDMAX_OK);
    EXPECT_TRUE(std::isnan(y)) << ep.name;
  }
}

// All-equal rows: 1/n (log: -log n) within the bound, whatever the common value (subnormal, huge, negative).
TEST_P(SpecialValues, AllEqualRows) {
  const float values[] = {0.0f, -5.5f, 1.0e4f, FLT_MAX, -FLT_MAX, kSubnormal, 88.7f, -88.7f};
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (float v : values) {
      for (size_t n = 1; n <= kMaxTail + 30; ++n) ASSERT_TRUE(RunAndCheck(ep, std::vector<float>(n, v))) << v;
      // 65537: several chunks (under qemu only for the values at the ends of the range, the rest as 4097).
      for (size_t n : {size_t{1000}, size_t{4097}, size_t{65537}}) {
        if (n == 65537 && EmulatedRun() && v != FLT_MAX && v != -FLT_MAX) continue;
        ASSERT_TRUE(RunAndCheck(ep, std::vector<float>(n, v))) << v;
      }
    }
  }
}

// Special rows inside batches: strided input and output (padding untouched), in place, and batches large enough
// to be split across threads; every row equals its single-row result bit for bit and the reference.
TEST_P(SpecialValues, StridedAndInPlaceBatches) {
  const float specials[] = {kNaN, -kInf, kInf, FLT_MAX, -FLT_MAX, kSubnormal};
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{13, 5}, {9, 33}, {300, 600}}) {
      const size_t x_stride = cols + 3, y_stride = cols + 2;
      std::vector<float> x(rows * x_stride, kGuard);
      for (size_t r = 0; r < rows; ++r) {
        std::vector<float> row = MakeRow(Distribution::kUniform10, cols, 100 + r);
        switch (r % 5) {
          case 0:
            break;  // finite
          case 1:
            row[r % cols] = specials[r % 6];
            break;  // one special
          case 2:
            for (auto& v : row) v = -kInf;
            break;  // fully masked
          case 3:
            row[0] = kInf;
            row[cols - 1] = specials[(r / 5) % 6];
            break;  // +inf and another
          case 4:
            for (size_t c = 0; c < cols; c += 2) row[c] = -kInf;
            break;  // half masked
        }
        std::memcpy(&x[r * x_stride], row.data(), cols * sizeof(float));
      }
      const std::vector<float> x_copy = x;
      for (size_t threads : {1, 0}) {
        simdmax_set_max_threads(threads);
        std::vector<float> y(rows * y_stride, kGuard);
        ASSERT_EQ(ep.Run(rows, cols, x.data(), x_stride, y.data(), y_stride), SIMDMAX_OK);
        ASSERT_EQ(0, std::memcmp(x.data(), x_copy.data(), x.size() * sizeof(float))) << "input modified";
        std::vector<float> in_place = x;
        if (ep.InPlace()) {
          ASSERT_EQ(ep.Run(rows, cols, in_place.data(), x_stride, in_place.data(), x_stride), SIMDMAX_OK);
        }
        for (size_t r = 0; r < rows; ++r) {
          std::vector<float> single(cols);
          ASSERT_EQ(ep.Run(1, cols, &x[r * x_stride], cols, single.data(), cols), SIMDMAX_OK);
          ASSERT_EQ(0, std::memcmp(single.data(), &y[r * y_stride], cols * sizeof(float))) << ep.name << " row " << r;
          if (ep.InPlace()) {
            ASSERT_EQ(0, std::memcmp(single.data(), &in_place[r * x_stride], cols * sizeof(float))) << "in place " << r;
          }
          for (size_t c = cols; c < y_stride; ++c) ASSERT_EQ(y[r * y_stride + c], kGuard) << "y padding " << r;
          for (size_t c = cols; c < x_stride; ++c) ASSERT_EQ(in_place[r * x_stride + c], kGuard) << "padding " << r;
          // The reference once per row (it is the slow part, above all under qemu): both thread counts compare
          // bit for bit with this single-row result.
          if (threads == 1) {
            ASSERT_TRUE(CheckRow(ep, &x[r * x_stride], single.data(), cols)) << "row " << r;
          }
        }
      }
    }
  }
}

SIMDMAX_INSTANTIATE_PER_TARGET(SpecialValues);

// For the tests below that loop over the targets themselves (so that the long-double reference of a long row is
// computed once, not once per target): selects a target for a scope, and restores the defaults after.
class TargetSelection {
 public:
  explicit TargetSelection(const std::string& name) { EXPECT_EQ(simdmax_select_target(name.c_str()), SIMDMAX_OK); }
  ~TargetSelection() { simdmax_select_target(nullptr); }
};
class ThreadLimitReset {
 public:
  ~ThreadLimitReset() { simdmax_set_max_threads(0); }
};

// Issue 12's NaN bug: rows of several chunks (kernels/row_chunks.h) with extreme magnitudes placed per chunk. Every
// per-chunk decision (masked exp or not, Fast2Sum order) must hold for x - (row max), which the finish computes,
// not only for x - (chunk max): a chunk of -FLT_MAX entries is narrow on its own but overflows against a FLT_MAX
// elsewhere. Layouts: a background value filling the row with the maximum in the first, a middle or the last chunk;
// a normal block in one chunk with the rest extreme; each chunk filled with a different extreme. Each row runs with
// 1 and 2 threads (a single row this long is split across threads by chunks: bit-identical results required), in
// place and strided, and is checked against the reference within the op's bound, with no NaN.
TEST(LongRowExtremes, ExtremeMagnitudesPerChunk) {
  ThreadLimitReset reset;
  const size_t chunk = simdmax::kMinChunkLength;
  // 4 chunks and a tail: >= 64K elements, so two threads split the row (dispatch/row_scheduler.cc).
  const size_t n = 4 * chunk + 77;
  // Maxima and fills from the ends of the float range down to the exp thresholds (20 pairs).
  const float highs[] = {FLT_MAX, 1.0e30f, 88.7f, 0.0f};
  const float lows[] = {-FLT_MAX, -1.0e38f, -kInf, -104.0f, -1.0e4f};
  std::vector<std::vector<float>> rows;
  const bool emulated = EmulatedRun();
  bool sanitized = false;
#ifdef SIMDMAX_TEST_UNDER_SANITIZER
  sanitized = true;
#endif
  for (float high : highs) {
    for (float low : lows) {
      // Under qemu: the pairs at the ends of the range only (SVE at 2048 bits is slow there).
      if (emulated && !(high == FLT_MAX || low == -FLT_MAX)) continue;
      for (size_t at : {size_t{0}, 2 * chunk + 5, n - 1}) {
        if ((emulated || sanitized) && at != 2 * chunk + 5) continue;
        std::vector<float> x(n, low);
        x[at] = high;
        rows.push_back(std::move(x));
      }
    }
  }
  const std::vector<float> normal = MakeRow(Distribution::kUniform10, n, 21);
  for (float fill : {FLT_MAX, -FLT_MAX, 1.0e30f, -1.0e38f, -kInf}) {
    for (size_t block : {size_t{0}, size_t{2}, size_t{4}}) {  // the normal values in the first, a middle, the tail
      std::vector<float> x(n, fill);
      for (size_t i = block * chunk; i < std::min(n, (block + 1) * chunk); ++i) x[i] = normal[i];
      rows.push_back(std::move(x));
    }
  }
  {  // every chunk a different extreme (and the tail normal)
    std::vector<float> x = normal;
    const float per_chunk[] = {-FLT_MAX, 1.0e30f, -kInf, FLT_MAX};
    for (size_t i = 0; i < 4 * chunk; ++i) x[i] = per_chunk[i / chunk];
    rows.push_back(std::move(x));
  }
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (!FullSweep(ep)) continue;  // f32 -> f32: the typed pairs share these kernels' chunk decisions
    for (const std::vector<float>& x : rows) {
      const std::vector<long double> ref = ReferenceRow(ep.op, x.data(), n);  // once for every target
      for (const std::string& target : SupportedTargets()) {
        TargetSelection selection(target);
        const std::string what = target + " " + std::string(ep.name) + " x[0]=" + std::to_string(x[0]) +
                                 " x[n-1]=" + std::to_string(x[n - 1]) + " x[" + std::to_string(2 * chunk + 5) +
                                 "]=" + std::to_string(x[2 * chunk + 5]);
        simdmax_set_max_threads(1);
        std::vector<float> y(n + 16, kGuard);
        ASSERT_EQ(ep.Run(1, n, x.data(), n, y.data(), n), SIMDMAX_OK);
        for (size_t i = n; i < y.size(); ++i) ASSERT_EQ(y[i], kGuard) << what << ": wrote past the row";
        ASSERT_TRUE(CheckRowAgainst(ep, x.data(), y.data(), n, ref)) << what;
        // Two threads, strided (two rows, the second one checked) and in place: the same bits.
        simdmax_set_max_threads(2);
        const size_t stride = n + 5;
        std::vector<float> batch(2 * stride, kGuard), y2(2 * stride, kGuard);
        std::copy(x.begin(), x.end(), batch.begin());
        std::copy(x.begin(), x.end(), batch.begin() + static_cast<std::ptrdiff_t>(stride));
        ASSERT_EQ(ep.Run(2, n, batch.data(), stride, y2.data(), stride), SIMDMAX_OK);
        ASSERT_EQ(0, std::memcmp(y.data(), y2.data() + stride, n * sizeof(float))) << what << ": strided, 2 threads";
        std::vector<float> in_place = x;
        ASSERT_EQ(ep.Run(1, n, in_place.data(), n, in_place.data(), n), SIMDMAX_OK);
        ASSERT_EQ(0, std::memcmp(y.data(), in_place.data(), n * sizeof(float))) << what << ": in place, 2 threads";
      }
    }
  }
}

// The same on rows long enough for the streamed finish (ChunkedPlan::stream: 16 x L2 of output per row; 4M + 3
// elements reach it with a <= 1 MiB L2, and on any machine in the SoftmaxLayout.SmallL2 ctest), with an f32 output
// misaligned by one float so that the streamed finish's partial head and tail are exercised (half outputs go
// through the suite's own buffers and store normally). Natively only: 4M elements per call. Every op, f32 inputs,
// every output type; nothing written outside the row.
TEST(LongRowExtremes, ExtremeMagnitudesInStreamedRows) {
  if (EmulatedRun()) GTEST_SKIP() << "4M-element rows are too slow under qemu";
#ifdef SIMDMAX_TEST_UNDER_SANITIZER
  GTEST_SKIP() << "4M-element rows are too slow under the sanitizers";
#endif
  const size_t n = (size_t{1} << 22) + 3;
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (ep.x_type != SIMDMAX_F32) continue;
    for (auto [high, low] : {std::pair<float, float>{FLT_MAX, -FLT_MAX}, {1.0e30f, -1.0e38f}}) {
      std::vector<float> x(n, low);
      x[n / 2] = high;
      const std::vector<long double> ref = ReferenceRow(ep.op, x.data(), n);
      for (const std::string& target : SupportedTargets()) {
        TargetSelection selection(target);
        std::vector<float> buffer(n + 2, kGuard);  // y = buffer + 1: misaligned for every vector width
        ASSERT_EQ(ep.Run(1, n, x.data(), n, buffer.data() + 1, n), SIMDMAX_OK);
        ASSERT_EQ(buffer[0], kGuard) << target << " " << ep.name << ": wrote before the row";
        ASSERT_EQ(buffer[n + 1], kGuard) << target << " " << ep.name << ": wrote past the row";
        ASSERT_TRUE(CheckRowAgainst(ep, x.data(), buffer.data() + 1, n, ref))
            << target << " " << ep.name << " " << high << " in " << low;
      }
    }
  }
}

}  // namespace
}  // namespace simdmax_test
