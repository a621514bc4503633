// The tolerance suite for the typed entry points (simdmax_softmax / simdmax_log_softmax and the typed online
// normalisations): every (input, output) type pair on every target, against the long-double reference of the
// inputs as the library sees them (rounded to the input type, widened exactly), rounded to the output type; bounds
// in ULPs of the output type (tests/tolerances.h). Prints the fraction of half-precision outputs that are
// correctly rounded ("[measured]").
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/dtype.h"
#include "tests/entry_points.h"
#include "tests/inputs.h"
#include "tests/reference.h"
#include "tests/target_fixture.h"
#include "tests/tolerances.h"

namespace simdmax_test {
namespace {

// Tails, a few vector multiples, and rows of several chunks (kernels/row_chunks.h: 16K elements per chunk).
std::vector<size_t> TypedLengths() {
  std::vector<size_t> lengths;
  for (size_t n : ShortLengths()) {
    if (n <= 67 || n == 127 || n == 1000 || n == 4097 || n == 32000 || n == 128000) lengths.push_back(n);
  }
  return lengths;
}

struct Case {
  std::vector<float> x;  // quantized to the input type
  std::vector<long double> ref;
};
const Case& GetCase(Op op, simdmax_dtype x_type, Distribution dist, size_t n) {
  static std::map<std::tuple<int, int, int, size_t>, Case> cache;
  const auto key = std::make_tuple(static_cast<int>(op), static_cast<int>(x_type), static_cast<int>(dist), n);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Case c;
  c.x = MakeRow(dist, n, /*seed=*/7);
  for (float& v : c.x) v = Quantize(x_type, v);
  c.ref = ReferenceRow(op, c.x.data(), n);
  return cache.emplace(key, std::move(c)).first->second;
}

class TypedAccuracy : public PerTarget {};

TEST_P(TypedAccuracy, EveryTypePairWithinTheBound) {
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (ep.typed_fn == nullptr) continue;
    size_t half_outputs = 0, correctly_rounded = 0;
    for (Distribution dist : kAllDistributions) {
      for (size_t n : TypedLengths()) {
        const Case& c = GetCase(ep.op, ep.x_type, dist, n);
        std::vector<float> y(n);
        ASSERT_EQ(ep.Run(1, n, c.x.data(), n, y.data(), n), SIMDMAX_OK);
        for (size_t i = 0; i < n; ++i) {
          const uint64_t ulp = ep.Ulp(y[i], c.ref[i]);
          ASSERT_LE(ulp, ep.max_ulp) << ep.name << " " << DistributionName(dist) << " n=" << n << " at " << i
                                     << ": got " << y[i] << " want " << static_cast<double>(c.ref[i]);
          // (bf16 below FLT_MIN: the f32 allowance, tests/dtype.h; not counted as a rounding.)
          if (ep.y_type != SIMDMAX_F32 && !(ep.y_type == SIMDMAX_BF16 && std::fabs(c.ref[i]) < FLT_MIN)) {
            ++half_outputs;
            correctly_rounded += CorrectlyRounded(ep.y_type, y[i], c.ref[i]);
          }
        }
      }
    }
    if (half_outputs != 0) {
      printf("[measured] %s %s: %.5f%% of %zu outputs correctly rounded\n", GetParam().c_str(), ep.name.c_str(),
             100.0 * static_cast<double>(correctly_rounded) / static_cast<double>(half_outputs), half_outputs);
    }
  }
}

// A typed row is the f32 row of its input widened, rounded once to the output type: bit for bit. Short rows (up to
// 768): the identity the typed short rows are built on (kernels/short_rows_typed-inl.h), on batches (blocks of rows,
// groups of every size, tails of every length). Chunked rows (kernels/softmax-inl.h): softmax's finish for a
// half-precision output reloads the first pass's exp from the thread's scratch, or re-evaluates it (rows beyond the
// scratch, or when it cannot be allocated: tests/alloc_failure_test.cc), which must give the same bits,
// in both forms of that exp (the scaled one, |max| <= 1024, and x - max as a pair beyond: the 1e4-shifted rows),
// with -inf entries (the masked variants) and with chunks that are entirely -inf.
void ExpectRowsAreTheF32ResultRoundedOnce(const RowEntryPoint& ep, const std::vector<float>& x, size_t rows, size_t n,
                                          const char* what) {
  const RowFn f32_fn = (ep.op == Op::kSoftmax) ? simdmax_softmax_f32 : simdmax_log_softmax_f32;
  const std::vector<float> widened = ep.Quantized(x.data(), x.size());
  std::vector<float> want(x.size()), got(x.size());
  ASSERT_EQ(f32_fn(rows, n, widened.data(), n, want.data(), n), SIMDMAX_OK);
  ASSERT_EQ(ep.Run(rows, n, x.data(), n, got.data(), n), SIMDMAX_OK);
  for (size_t i = 0; i < x.size(); ++i) {
    // Log-softmax rounds ties away from zero (kernels/convert-inl.h LogSoftmaxTiesAway).
    const float expected =
        ep.op == Op::kLogSoftmax ? QuantizeTiesAway(ep.y_type, want[i]) : Quantize(ep.y_type, want[i]);
    ASSERT_EQ(memcmp(&got[i], &expected, sizeof(float)), 0)
        << ep.name << " " << what << " n=" << n << " rows=" << rows << " row " << i / n << " at " << i % n << ": got "
        << got[i] << ", the f32 result rounded is " << expected;
  }
}

bool IsHalfPrecisionPair(const RowEntryPoint& ep) {
  return ep.typed_fn != nullptr && !(ep.x_type == SIMDMAX_F32 && ep.y_type == SIMDMAX_F32);
}

TEST_P(TypedAccuracy, HalfPrecisionShortRowIsTheF32ResultRoundedOnce) {
  const std::vector<size_t> lengths = {1, 2, 7, 16, 31, 64, 100, 255, 256, 257, 511, 767, 768};
  const std::vector<size_t> batches = {1, 3, 6, 17, 37};
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (!IsHalfPrecisionPair(ep)) continue;
    for (size_t n : lengths) {
      for (size_t rows : batches) {
        if (n * rows > 40000) continue;
        std::vector<float> x;
        for (size_t r = 0; r < rows; ++r) {
          const std::vector<float> row = MakeRow(kAllDistributions[r % 6], n, /*seed=*/r + 11);
          x.insert(x.end(), row.begin(), row.end());
        }
        ExpectRowsAreTheF32ResultRoundedOnce(ep, x, rows, n, "short rows");
      }
    }
  }
}

// Strided half-precision short rows: each row equals the contiguous result bit for bit, and the padding of y stays
// untouched. The typed short rows convert whole blocks in one pass when both strides equal the row length and row
// by row otherwise (kernels/short_rows_typed-inl.h ConvertRows): the other tests here are contiguous.
TEST_P(TypedAccuracy, HalfPrecisionStridedShortRowsMatchContiguous) {
  constexpr float kGuard = -12345.0f;  // representable in f16 and bf16
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (!IsHalfPrecisionPair(ep)) continue;
    for (size_t n : {1, 5, 64, 100, 768}) {
      const size_t rows = 11, x_stride = n + 3, y_stride = n + 5;
      std::vector<float> x(rows * x_stride, 0.5f), contiguous_x(rows * n);
      for (size_t r = 0; r < rows; ++r) {
        const std::vector<float> row = MakeRow(kAllDistributions[r % 6], n, /*seed=*/r + 29);
        std::memcpy(&x[r * x_stride], row.data(), n * sizeof(float));
        std::memcpy(&contiguous_x[r * n], row.data(), n * sizeof(float));
      }
      std::vector<float> y(rows * y_stride, kGuard), want(rows * n);
      ASSERT_EQ(ep.Run(rows, n, x.data(), x_stride, y.data(), y_stride), SIMDMAX_OK);
      ASSERT_EQ(ep.Run(rows, n, contiguous_x.data(), n, want.data(), n), SIMDMAX_OK);
      for (size_t r = 0; r < rows; ++r) {
        ASSERT_EQ(std::memcmp(&y[r * y_stride], &want[r * n], n * sizeof(float)), 0)
            << ep.name << " n=" << n << " row " << r;
        for (size_t c = n; c < y_stride && r * y_stride + c < y.size(); ++c) {
          ASSERT_EQ(y[r * y_stride + c], kGuard) << ep.name << " n=" << n << " padding of row " << r;
        }
      }
    }
  }
}

TEST_P(TypedAccuracy, HalfPrecisionChunkedRowIsTheF32ResultRoundedOnce) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // Under qemu: the shortest chunked row and a row of two chunks.
  std::vector<size_t> lengths =
      EmulatedRun() ? std::vector<size_t>{769, 16385} : std::vector<size_t>{769, 1000, 4097, 16384, 16385};
  // Three chunks; and a row longer than a thread's scratch (dispatch/thread_scratch.h: 256K floats), whose
  // finish re-evaluates exp (both exp forms).
  if (!EmulatedRun()) lengths.push_back(40000);
#ifndef SIMDMAX_TEST_UNDER_SANITIZER
  if (!EmulatedRun()) lengths.push_back(300000);
#endif
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (!IsHalfPrecisionPair(ep)) continue;
    for (size_t n : lengths) {
      for (Distribution dist : kAllDistributions) {
        if (n > 100000 && dist != Distribution::kUniform10 && dist != Distribution::kShifted1e4) continue;
        const size_t rows = n > 100000 ? 1 : 2;
        std::vector<float> x = MakeRow(dist, n, /*seed=*/n);
        if (rows == 2) {
          const std::vector<float> second = MakeRow(dist, n, /*seed=*/n + 1);
          x.insert(x.end(), second.begin(), second.end());
        }
        ExpectRowsAreTheF32ResultRoundedOnce(ep, x, rows, n, DistributionName(dist));
        for (size_t i = 0; i < rows * n; i += 7) x[i] = -kInf;  // masked entries in every chunk
        ExpectRowsAreTheF32ResultRoundedOnce(ep, x, rows, n, "with -inf entries");
        if (rows == 2 && n > 16384) {  // the first chunk (16384 elements) of the second row entirely -inf
          for (size_t i = n; i < n + 16384; ++i) x[i] = -kInf;
          ExpectRowsAreTheF32ResultRoundedOnce(ep, x, 2, n, "with an all -inf chunk");
        }
      }
    }
  }
}

// What rounding to a half-precision output means at the ends of its range (the correct rounding, not a flush):
// log-softmax values below -65504 (more precisely, at or below -65520) are -inf in f16 but finite in bf16; softmax
// values below 2^-25 are 0 in f16; bf16 keeps f32's range.
TEST_P(TypedAccuracy, HalfPrecisionRangeEnds) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (simdmax_dtype x_type : kAllDtypes) {
    const std::vector<float> values = {0.0f, -70000.0f, -60000.0f, -20.0f};
    const TypedBuffer x(x_type, values.data(), values.size());
    uint16_t y[4];
    ASSERT_EQ(simdmax_log_softmax(1, 4, x_type, x.data(), 4, SIMDMAX_F16, y, 4), SIMDMAX_OK);
    if (x_type != SIMDMAX_F16) {  // -70000 is -inf already as an f16 input
      EXPECT_EQ(F16BitsValue(y[1]), -kInf) << DtypeName(x_type);
    }
    EXPECT_EQ(F16BitsValue(y[2]), static_cast<long double>(Quantize(SIMDMAX_F16, Quantize(x_type, -60000.0f))))
        << DtypeName(x_type);
    ASSERT_EQ(simdmax_log_softmax(1, 4, x_type, x.data(), 4, SIMDMAX_BF16, y, 4), SIMDMAX_OK);
    if (x_type != SIMDMAX_F16) {
      EXPECT_EQ(BF16BitsValue(y[1]), static_cast<long double>(Quantize(SIMDMAX_BF16, Quantize(x_type, -70000.0f))));
    }
    // Softmax of [0, -17.4, -17.3, -30]: exp(-17.4) = 2.79e-8 < 2^-25 = 2.98e-8 rounds to 0 in f16, exp(-17.3) =
    // 3.07e-8 > 2^-25 rounds to the smallest subnormal 2^-24; bf16 keeps them all.
    const std::vector<float> small = {0.0f, -17.4f, -17.3f, -30.0f};
    const TypedBuffer xs(x_type, small.data(), small.size());
    ASSERT_EQ(simdmax_softmax(1, 4, x_type, xs.data(), 4, SIMDMAX_F16, y, 4), SIMDMAX_OK);
    EXPECT_EQ(y[1], 0u) << DtypeName(x_type);
    if (x_type == SIMDMAX_F32) {
      EXPECT_EQ(y[2], 1u);  // (bf16/f16 inputs move -17.3 a little)
    }
    EXPECT_EQ(y[3], 0u);
    ASSERT_EQ(simdmax_softmax(1, 4, x_type, xs.data(), 4, SIMDMAX_BF16, y, 4), SIMDMAX_OK);
    EXPECT_GT(BF16BitsValue(y[3]), 0.0L);
  }
}

// Special values in f16/bf16 encodings through every typed pair: NaN (quiet and signalling patterns), +-inf, f16
// subnormal inputs, against the reference's semantics (the special-values suite covers them at every position).
TEST_P(TypedAccuracy, HalfPrecisionSpecialEncodings) {
  const uint16_t f16_inputs[][4] = {
      {0x7E00, 0x3C00, 0x0000, 0xBC00},  // quiet NaN
      {0x7C01, 0x3C00, 0x0000, 0xBC00},  // signalling NaN pattern
      {0x7C00, 0x3C00, 0x7C00, 0xBC00},  // two +inf
      {0xFC00, 0x3C00, 0xFC00, 0xBC00},  // -inf masked
      {0x0001, 0x03FF, 0x8001, 0x0000},  // subnormals: all but equal
      {0xFC00, 0xFC00, 0xFC00, 0xFC00},  // fully masked
  };
  const uint16_t bf16_inputs[][4] = {
      {0x7FC0, 0x3F80, 0x0000, 0xBF80}, {0x7F81, 0x3F80, 0x0000, 0xBF80}, {0x7F80, 0x3F80, 0x7F80, 0xBF80},
      {0xFF80, 0x3F80, 0xFF80, 0xBF80}, {0x0001, 0x007F, 0x8001, 0x0000}, {0xFF80, 0xFF80, 0xFF80, 0xFF80},
  };
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    if (ep.typed_fn == nullptr || ep.x_type == SIMDMAX_F32) continue;
    for (size_t r = 0; r < 6; ++r) {
      const uint16_t* bits = ep.x_type == SIMDMAX_F16 ? f16_inputs[r] : bf16_inputs[r];
      float x[4];
      for (int i = 0; i < 4; ++i) x[i] = BitsValue(ep.x_type, bits[i]);
      const std::vector<long double> ref = ReferenceRow(ep.op, x, 4);
      unsigned char y[16];
      ASSERT_EQ(ep.Call(1, 4, bits, 4, y, 4), SIMDMAX_OK);
      for (int i = 0; i < 4; ++i) {
        uint32_t out_bits = 0;
        std::memcpy(&out_bits, y + i * simdmax_dtype_size(ep.y_type), simdmax_dtype_size(ep.y_type));
        const float out = BitsValue(ep.y_type, out_bits);
        EXPECT_LE(ep.Ulp(out, ref[i]), ep.max_ulp) << ep.name << " row " << r << " at " << i << ": " << out;
      }
    }
  }
}

// The typed online state and normalisations: an update over typed x gives the state of the f32 update over the
// widened values, bit for bit (the same kernel after an exact widening); normalising into each output type is
// within the online bounds of tests/tolerances.h for f32 outputs and 1 ULP for half outputs.
TEST_P(TypedAccuracy, OnlineEntryPoints) {
  for (simdmax_dtype x_type : kAllDtypes) {
    for (size_t n : {size_t{1}, size_t{17}, size_t{1000}, size_t{5000}}) {
      std::vector<float> values = MakeRow(Distribution::kUniform10, n, 3);
      for (float& v : values) v = Quantize(x_type, v);
      const TypedBuffer x(x_type, values.data(), n);
      simdmax_online_state typed, f32;
      simdmax_online_init(&typed);
      simdmax_online_init(&f32);
      ASSERT_EQ(simdmax_online_update(&typed, x_type, x.data(), n), SIMDMAX_OK);
      ASSERT_EQ(simdmax_online_update_f32(&f32, values.data(), n), SIMDMAX_OK);
      EXPECT_EQ(typed.max, f32.max);
      EXPECT_EQ(typed.sum, f32.sum) << DtypeName(x_type) << " n=" << n;
      for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
        const std::vector<long double> ref = ReferenceRow(op, values.data(), n);
        for (simdmax_dtype y_type : kAllDtypes) {
          std::vector<unsigned char> y(n * 4);
          const auto fn = op == Op::kSoftmax ? simdmax_online_normalize : simdmax_online_log_normalize;
          ASSERT_EQ(fn(&typed, x_type, x.data(), y_type, y.data(), n), SIMDMAX_OK);
          const uint64_t bound = y_type != SIMDMAX_F32 ? kHalfOutputMaxUlp
                                 : op == Op::kSoftmax  ? kOnlineNormalizeMaxUlp
                                                       : kOnlineLogNormalizeMaxUlp;
          for (size_t i = 0; i < n; ++i) {
            uint32_t bits = 0;
            std::memcpy(&bits, &y[i * simdmax_dtype_size(y_type)], simdmax_dtype_size(y_type));
            const float out = BitsValue(y_type, bits);
            // Log-normalise's outputs near 0 (the max) carry an absolute error (tests/tolerances.h).
            if (op == Op::kLogSoftmax && y_type == SIMDMAX_F32 && std::fabs(static_cast<double>(ref[i])) < 1e-6) {
              EXPECT_NEAR(out, static_cast<double>(ref[i]), kOnlineLogNormalizeAbsTol);
              continue;
            }
            ASSERT_LE(UlpDistanceIn(y_type, out, ref[i]), bound)
                << OpName(op) << " " << DtypeName(x_type) << " -> " << DtypeName(y_type) << " n=" << n << " at " << i
                << ": got " << out << " want " << static_cast<double>(ref[i]);
          }
        }
      }
    }
  }
}

// Log-softmax rows whose x - max lands exactly halfway between two values of the half-precision output type, with
// log(sum) far below an f32 ulp of it: the f32 result is the midpoint itself and the exact value lies just below it
// (kernels/convert-inl.h LogSoftmaxTiesAway). One entry max = 2^-7 (f16 output) or 2^-4 (bf16) and the others
// integers in [-31, -26] (exact in every type): x - max = -(k + 2^-7) is an f16 midpoint in [16, 32) (its grid there
// is 2^-6), -(k + 2^-4) a bf16 one (grid 2^-3), and exp(x - max) <= e^-26 keeps log(sum) below 1.1e-7 for up to
// 20000 entries, under half the f32 ulp there (9.5e-7). Expectation: every output equal to the long-double reference
// rounded to the output type (the correctly rounded value, not just within 1 ULP), on the short-row and chunked
// paths (rows of up to 20000), in batches, and through the online log-normalise.
// Rounded to even, half of these outputs were off by one (before 2026-12-07).
TEST_P(TypedAccuracy, LogSoftmaxHalfMidpointsRoundTowardTheExactValue) {
  for (simdmax_dtype y_type : {SIMDMAX_F16, SIMDMAX_BF16}) {
    const float max = y_type == SIMDMAX_F16 ? 0x1p-7f : 0x1p-4f;
    for (simdmax_dtype x_type : kAllDtypes) {
      for (size_t n : {size_t{5}, size_t{64}, size_t{357}, size_t{768}, size_t{1000}, size_t{20000}}) {
        const size_t rows = 3;
        std::vector<float> values(rows * n);
        for (size_t i = 0; i < values.size(); ++i) {
          values[i] = i % n == 7 % n ? max : -static_cast<float>(26 + (i * 5 + i / 7) % 6);
        }
        const TypedBuffer x(x_type, values.data(), values.size());
        std::vector<unsigned char> y(values.size() * 2);
        ASSERT_EQ(simdmax_log_softmax(rows, n, x_type, x.data(), n, y_type, y.data(), n), SIMDMAX_OK);
        // The online state of the first row, normalised into the output type.
        simdmax_online_state state;
        simdmax_online_init(&state);
        ASSERT_EQ(simdmax_online_update(&state, x_type, x.data(), n), SIMDMAX_OK);
        std::vector<unsigned char> y_online(n * 2);
        ASSERT_EQ(simdmax_online_log_normalize(&state, x_type, x.data(), y_type, y_online.data(), n), SIMDMAX_OK);
        size_t midpoints = 0;
        for (size_t r = 0; r < rows; ++r) {
          const std::vector<long double> ref = ReferenceRow(Op::kLogSoftmax, values.data() + r * n, n);
          for (size_t i = 0; i < n; ++i) {
            uint16_t bits;
            std::memcpy(&bits, &y[(r * n + i) * 2], 2);
            const float out = BitsValue(y_type, bits);
            const float f32 = static_cast<float>(ref[i]);
            midpoints += QuantizeTiesAway(y_type, f32) != Quantize(y_type, f32);
            ASSERT_TRUE(CorrectlyRounded(y_type, out, ref[i]))
                << DtypeName(x_type) << " -> " << DtypeName(y_type) << " n=" << n << " row " << r << " at " << i
                << ": got " << out << " want " << static_cast<double>(ref[i]);
            if (r == 0) {
              std::memcpy(&bits, &y_online[i * 2], 2);
              const float online = BitsValue(y_type, bits);
              ASSERT_TRUE(CorrectlyRounded(y_type, online, ref[i]))
                  << "online " << DtypeName(x_type) << " -> " << DtypeName(y_type) << " n=" << n << " at " << i
                  << ": got " << online << " want " << static_cast<double>(ref[i]);
            }
          }
        }
        // The rows test what they are meant to: most outputs are (in f32) on a midpoint.
        EXPECT_GT(midpoints, rows * (n - 1) / 2) << DtypeName(x_type) << " -> " << DtypeName(y_type) << " n=" << n;
      }
    }
  }
}

SIMDMAX_INSTANTIATE_PER_TARGET(TypedAccuracy);

}  // namespace
}  // namespace simdmax_test
