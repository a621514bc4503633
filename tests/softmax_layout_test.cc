// Memory layout on every target: strides with padding that must stay untouched, in place, and batches whose rows
// must be bit-identical to single-row calls whatever the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/inputs.h"
#include "tests/reference.h"
#include "tests/target_fixture.h"
#include "tests/tolerances.h"
#include "tests/ulp.h"

namespace simdmax_test {
namespace {

using OpFn = simdmax_status (*)(size_t, size_t, const float*, size_t, float*, size_t);
constexpr OpFn kOps[] = {simdmax_softmax_f32, simdmax_log_softmax_f32};
constexpr float kGuard = -12345.678f;

std::vector<float> MakeMatrix(size_t rows, size_t cols, size_t stride, uint64_t seed) {
  std::vector<float> m(rows * stride, kGuard);
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<float> row = MakeRow(Distribution::kUniform10, cols, seed + r);
    std::memcpy(&m[r * stride], row.data(), cols * sizeof(float));
  }
  return m;
}

class SoftmaxLayout : public PerTarget {
 protected:
  void TearDown() override {
    simdmax_set_max_threads(0);
    PerTarget::TearDown();
  }
};

// Strided input and output: each output row equals the contiguous single-row result bit for bit, and the padding
// between rows (and the input) is untouched.
TEST_P(SoftmaxLayout, StridedRowsMatchContiguousAndKeepPadding) {
  for (OpFn op : kOps) {
    for (size_t cols : {1, 5, 16, 33, 100}) {
      const size_t rows = 7, x_stride = cols + 3, y_stride = cols + 5;
      const std::vector<float> x = MakeMatrix(rows, cols, x_stride, 3);
      const std::vector<float> x_copy = x;
      std::vector<float> y(rows * y_stride, kGuard);
      ASSERT_EQ(op(rows, cols, x.data(), x_stride, y.data(), y_stride), SIMDMAX_OK);
      EXPECT_EQ(x, x_copy);
      for (size_t r = 0; r < rows; ++r) {
        std::vector<float> single(cols);
        ASSERT_EQ(op(1, cols, &x[r * x_stride], cols, single.data(), cols), SIMDMAX_OK);
        EXPECT_EQ(0, std::memcmp(single.data(), &y[r * y_stride], cols * sizeof(float))) << "row " << r;
        for (size_t c = cols; c < y_stride; ++c) EXPECT_EQ(y[r * y_stride + c], kGuard) << "padding " << r;
      }
    }
  }
}

// Writes stay inside the row: guard elements right after a row of every tail length stay untouched.
TEST_P(SoftmaxLayout, NoWritePastTheRow) {
  for (OpFn op : kOps) {
    for (size_t n = 1; n <= 67; ++n) {
      const std::vector<float> x = MakeRow(Distribution::kUniform10, n, 5);
      std::vector<float> y(n + 64, kGuard);
      ASSERT_EQ(op(1, n, x.data(), n, y.data(), n), SIMDMAX_OK);
      for (size_t i = n; i < y.size(); ++i) ASSERT_EQ(y[i], kGuard) << "n=" << n << " i=" << i;
    }
  }
}

// In place (y == x, equal strides) gives the same bits as out of place.
TEST_P(SoftmaxLayout, InPlaceMatchesOutOfPlace) {
  for (OpFn op : kOps) {
    for (size_t cols : {1, 15, 16, 17, 1000, 4097}) {
      const size_t rows = 3, stride = cols + 2;
      std::vector<float> x = MakeMatrix(rows, cols, stride, 9);
      std::vector<float> out(rows * stride, kGuard);
      ASSERT_EQ(op(rows, cols, x.data(), stride, out.data(), stride), SIMDMAX_OK);
      ASSERT_EQ(op(rows, cols, x.data(), stride, x.data(), stride), SIMDMAX_OK);
      for (size_t r = 0; r < rows; ++r) {
        EXPECT_EQ(0, std::memcmp(&x[r * stride], &out[r * stride], cols * sizeof(float))) << cols;
      }
    }
  }
}

// Batches large enough to be split across threads give the same bits with 1 and 2 threads.
TEST_P(SoftmaxLayout, BatchBitIdenticalAcrossThreadCounts) {
  for (OpFn op : kOps) {
    // Each shape is above the scheduler's 2 * 64K-element serial threshold; smaller ones under an emulator.
    const std::vector<std::pair<size_t, size_t>> shapes =
        EmulatedRun() ? std::vector<std::pair<size_t, size_t>>{{160, 1000}, {2048, 64}, {3, 50000}}
                      : std::vector<std::pair<size_t, size_t>>{{512, 1000}, {4096, 64}, {3, 200000}};
    for (auto [rows, cols] : shapes) {
      const std::vector<float> x = MakeMatrix(rows, cols, cols, 21);
      std::vector<float> one(rows * cols), two(rows * cols), all(rows * cols);
      simdmax_set_max_threads(1);
      ASSERT_EQ(op(rows, cols, x.data(), cols, one.data(), cols), SIMDMAX_OK);
      simdmax_set_max_threads(2);
      ASSERT_EQ(op(rows, cols, x.data(), cols, two.data(), cols), SIMDMAX_OK);
      simdmax_set_max_threads(0);
      ASSERT_EQ(op(rows, cols, x.data(), cols, all.data(), cols), SIMDMAX_OK);
      EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << rows << "x" << cols;
      EXPECT_EQ(0, std::memcmp(one.data(), all.data(), one.size() * sizeof(float))) << rows << "x" << cols;
    }
  }
}

// Rows longer than one chunk (kernels/row_chunks.h) with special values in one chunk, in place and split across
// threads: the chunk passes must decide per row (a NaN in the last chunk still makes the whole row NaN, though
// earlier chunks were already overwritten in place).
TEST_P(SoftmaxLayout, SpecialValuesAcrossChunksInPlace) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // > 2 * kMinElementsPerTask: split across threads when threads > 1 (under qemu: 3 chunks, serial).
  const size_t n = (EmulatedRun() ? 3 : 9) * 16384 + 100;
  struct Case {
    const char* what;
    size_t index;
    float value;
    bool whole_chunk;
  };
  const Case cases[] = {{"NaN in last chunk", n - 10, std::nanf(""), false},
                        {"+inf in middle chunk", 20000, kInf, false},
                        {"-inf chunk", 16384, -kInf, true},
                        {"-inf entries", 40000, -kInf, false}};
  for (size_t threads : {1, 2}) {
    simdmax_set_max_threads(threads);
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      const OpFn fn = op == Op::kSoftmax ? simdmax_softmax_f32 : simdmax_log_softmax_f32;
      for (const Case& c : cases) {
        std::vector<float> x = MakeRow(Distribution::kUniform10, n, 4);
        if (c.whole_chunk) {
          for (size_t i = c.index; i < c.index + 16384; ++i) x[i] = c.value;
        } else {
          x[c.index] = c.value;
          x[c.index + 7] = c.value;
        }
        const std::vector<long double> ref = ReferenceRow(op, x.data(), n);
        ASSERT_EQ(fn(1, n, x.data(), n, x.data(), n), SIMDMAX_OK);
        UlpStats stats;
        for (size_t i = 0; i < n; ++i) stats.Add(i, x[i], ref[i]);
        EXPECT_LE(stats.max_ulp, op == Op::kSoftmax ? kSoftmaxMaxUlp : kLogSoftmaxMaxUlp)
            << c.what << " " << OpName(op) << " threads=" << threads << " worst at " << stats.worst_index << ": "
            << stats.worst_actual << " want " << static_cast<double>(stats.worst_reference);
      }
    }
  }
}

// The short-row path (kernels/short_rows-inl.h) computes up to four rows together and picks a variant per row (the
// scaled exp for softmax rows with |max| <= 1024 and log-softmax rows with |max| <= 128, x - max with or without the
// masked exp, the chunked path for NaN / +inf / fully masked rows); a group only shares code when its rows agree, and
// log-softmax carries up to four groups through their passes together (23 rows: one batch of 16 in flight); the
// shortest rows go through blocks of 8 or 16 rows transposed, one row per lane, where the rows of other kinds leave
// the block (kernels/rows_in_lanes-inl.h; 23 rows: a full block and a partial one, and the edge of its lengths at
// 64 columns). Batches
// that mix every kind in every position of a group, at lengths around the vector widths and the plan's thresholds: each
// row must be within the bound of the reference, bit-identical to the same row computed alone, with 2 threads, and in
// place.
TEST_P(SoftmaxLayout, ShortRowGroupsMixingKinds) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const auto make = [](size_t kind, size_t n, uint64_t seed) {
    std::vector<float> row = MakeRow(Distribution::kUniform10, n, seed);
    switch (kind % 11) {
      case 0:
        break;  // ordinary: the scaled exp (softmax)
      case 1:
        for (float& v : row) v += 3000.0f;  // |max| > 1024: x - max with TwoSum
        break;
      case 2:
        for (size_t i = 0; i < n; i += 3) row[i] = -kInf;  // masked entries
        break;
      case 3:
        row[n / 2] = std::nanf("");  // special: all NaN
        break;
      case 4:
        row[n - 1] = kInf;  // special: +inf
        break;
      case 5:
        for (float& v : row) v = -kInf;  // special: fully masked
        break;
      case 6:
        row[0] = 3.0e38f;  // range > 2^16: the masked exp
        row[n - 1] = -3.0e38f;
        break;
      case 7:
        for (float& v : row) v = v * 0.01f - 1020.0f;  // max near the scaled exp's limit
        break;
      case 8:
        for (float& v : row) v = v * 0.01f + 127.9f;       // max just inside log-softmax's scaled exp (<= 128)
        for (size_t i = 1; i < n; i += 4) row[i] = -kInf;  // with masked entries
        break;
      case 9:
        for (float& v : row) v = v * 0.01f + 128.2f;  // max just outside it: x - max with TwoSum
        break;
      case 10:
        for (float& v : row) v = v * 0.01f - 100.0f;  // one entry far above the rest: a tiny rest for log1p
        row[n / 3] = 0.0f;
        break;
    }
    return row;
  };
  const size_t rows = 23;  // five groups of four and a group of three
  for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
    const OpFn fn = op == Op::kSoftmax ? simdmax_softmax_f32 : simdmax_log_softmax_f32;
    const uint64_t bound = op == Op::kSoftmax ? kSoftmaxMaxUlp : kLogSoftmaxMaxUlp;
    for (size_t cols :
         {1, 2, 7, 16, 31, 32, 33, 64, 65, 100, 128, 129, 255, 256, 257, 511, 512, 513, 767, 768, 769, 1025}) {
      if (EmulatedRun() && cols > 300 && cols % 2 == 0) continue;
      const size_t stride = cols + 1;
      std::vector<float> x(rows * stride, kGuard);
      for (size_t r = 0; r < rows; ++r) {
        // Kinds rotate with a period (11) prime to the group size (4): every kind meets every other in a group.
        const std::vector<float> row = make(r * 3 + cols, cols, 100 + r);
        std::memcpy(&x[r * stride], row.data(), cols * sizeof(float));
      }
      std::vector<float> y(rows * stride, kGuard), y2(rows * stride, kGuard);
      simdmax_set_max_threads(1);
      ASSERT_EQ(fn(rows, cols, x.data(), stride, y.data(), stride), SIMDMAX_OK);
      simdmax_set_max_threads(2);
      ASSERT_EQ(fn(rows, cols, x.data(), stride, y2.data(), stride), SIMDMAX_OK);
      std::vector<float> in_place = x;
      ASSERT_EQ(fn(rows, cols, in_place.data(), stride, in_place.data(), stride), SIMDMAX_OK);
      for (size_t r = 0; r < rows; ++r) {
        const float* xr = &x[r * stride];
        std::vector<float> single(cols);
        ASSERT_EQ(fn(1, cols, xr, cols, single.data(), cols), SIMDMAX_OK);
        ASSERT_EQ(0, std::memcmp(single.data(), &y[r * stride], cols * sizeof(float))) << cols << " row " << r;
        ASSERT_EQ(0, std::memcmp(single.data(), &y2[r * stride], cols * sizeof(float))) << "2 threads " << r;
        ASSERT_EQ(0, std::memcmp(single.data(), &in_place[r * stride], cols * sizeof(float))) << "in place " << r;
        ASSERT_EQ(y[r * stride + cols], kGuard) << "padding " << r;
        const std::vector<long double> ref = ReferenceRow(op, xr, cols);
        for (size_t c = 0; c < cols; ++c) {
          ASSERT_LE(UlpDistance(single[c], ref[c]), bound)
              << OpName(op) << " cols=" << cols << " row " << r << " at " << c << ": " << single[c] << " want "
              << static_cast<double>(ref[c]);
        }
      }
    }
  }
}

SIMDMAX_INSTANTIATE_PER_TARGET(SoftmaxLayout);

}  // namespace
}  // namespace simdmax_test
