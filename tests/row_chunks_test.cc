// The row chunking and the merge of chunk states (kernels/row_chunks.h): chunk boundaries and merge order must not
// change results beyond the sum's rounding, and special-value precedence must be decided per row.
#include "kernels/row_chunks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace simdmax {
namespace {

TEST(RowChunks, ChunkLengthIsBoundedAndCoversTheRow) {
  for (size_t n : {size_t{1}, kMinChunkLength, kMinChunkLength + 1, kMinChunkLength * kMaxChunksPerRow,
                   kMinChunkLength * kMaxChunksPerRow + 1, size_t{1} << 30}) {
    const size_t chunk = ChunkLength(n);
    const size_t count = ChunkCount(n);
    EXPECT_GE(chunk, kMinChunkLength) << n;
    EXPECT_LE(count, kMaxChunksPerRow) << n;
    EXPECT_GE(chunk * count, n) << n;
    EXPECT_LT(chunk * (count - 1), n) << n;
  }
}

ChunkState State(float max, double rest, size_t at_max = 0) {
  ChunkState s = EmptyChunkState();
  s.max = max;
  s.scaled = false;  // the x - max form: exp(x - max) was summed
  s.min = max - 1.0f;
  s.rest = rest;
  s.at_max = at_max;
  return s;
}

// Softmax: chunk sums are rescaled by exp(max_c - max) into the row sum: scale_c = exp(max_c - max) / sum.
TEST(RowChunks, SoftmaxMergeRescalesByChunkMax) {
  const ChunkState states[] = {State(1.0f, 2.0), State(3.0f, 1.5), EmptyChunkState()};
  ChunkFinish finish[3];
  MergeChunks(/*log=*/false, states, 3, finish);
  const double sum = 2.0 * std::exp(-2.0) + 1.5;
  EXPECT_NEAR(finish[0].scale_hi + static_cast<double>(finish[0].scale_lo), std::exp(-2.0) / sum, 1e-15);
  EXPECT_NEAR(finish[1].scale_hi + static_cast<double>(finish[1].scale_lo), 1.0 / sum, 1e-15);
  for (int c = 0; c < 2; ++c) {
    EXPECT_EQ(finish[c].kind, ChunkFinish::kNormal);
    // What a half-precision output's finish re-derives the first pass's exp from.
    EXPECT_EQ(finish[c].chunk_max, states[c].max);
    EXPECT_EQ(finish[c].chunk_min, states[c].min);
  }
  // An all -inf chunk is filled with 0 (it stored nothing).
  EXPECT_EQ(finish[2].kind, ChunkFinish::kFill);
  EXPECT_EQ(finish[2].fill, 0.0f);
}

// Log-softmax: entries at the row max are counted exactly; log(sum) = log1p(at_max - 1 + rest) keeps a tiny rest.
TEST(RowChunks, LogSoftmaxMergeKeepsTinyRest) {
  const ChunkState states[] = {State(5.0f, 1e-30, /*at_max=*/1), State(-80.0f, 0.0, /*at_max=*/1)};
  ChunkFinish finish[2];
  MergeChunks(/*log=*/true, states, 2, finish);
  const double want = std::log1p(1e-30 + std::exp(-85.0));
  EXPECT_NEAR(finish[0].log_hi + static_cast<double>(finish[0].log_lo), want, want * 1e-12);
  EXPECT_EQ(finish[0].max, 5.0f);
}

// Scaled chunks (the first pass summed exp(x) 2^s): the merge turns their terms into exp(x - max) with
// 2^-s exp(-max), and weighs the entries at a chunk's own max by exp(max_c - max) (their term was exp(max_c) 2^s,
// not 1). Expected values from the definitions, in long double.
TEST(RowChunks, LogSoftmaxMergeOfScaledChunks) {
  ChunkState below = State(1.0f, /*rest=*/3.0e9, /*at_max=*/2);  // max 1 < the row max 3
  below.scaled = true;
  below.shift = 31.0f;
  ChunkState top = State(3.0f, /*rest=*/5.0e8, /*at_max=*/1);  // holds the row max
  top.scaled = true;
  top.shift = 28.0f;
  const ChunkState states[] = {below, top};
  ChunkFinish finish[2];
  MergeChunks(/*log=*/true, states, 2, finish);
  const long double sum = 1.0L + 2.0L * std::exp(-2.0L) + 3.0e9L * std::ldexp(std::exp(-3.0L), -31) +
                          5.0e8L * std::ldexp(std::exp(-3.0L), -28);
  const double want = static_cast<double>(std::log(sum));
  EXPECT_NEAR(finish[0].log_hi + static_cast<double>(finish[0].log_lo), want, 1e-15);
  EXPECT_EQ(finish[1].max, 3.0f);
}

TEST(RowChunks, SpecialValuePrecedence) {
  ChunkState nan_chunk = EmptyChunkState();
  nan_chunk.nan = 1;
  ChunkState inf_chunk = EmptyChunkState();
  inf_chunk.pos_inf = 2;
  ChunkFinish finish[3];
  {
    const ChunkState states[] = {State(1.0f, 1.0), inf_chunk, nan_chunk};
    MergeChunks(false, states, 3, finish);
    for (const auto& f : finish) {
      EXPECT_EQ(f.kind, ChunkFinish::kFill);
      EXPECT_TRUE(std::isnan(f.fill));
    }
  }
  {
    const ChunkState states[] = {State(1.0f, 1.0), inf_chunk};
    MergeChunks(true, states, 2, finish);
    EXPECT_EQ(finish[0].kind, ChunkFinish::kFill);
    EXPECT_EQ(finish[0].fill, -std::numeric_limits<float>::infinity());
    EXPECT_EQ(finish[1].kind, ChunkFinish::kInfSplit);
    EXPECT_FLOAT_EQ(finish[1].at_inf, -std::log(2.0f));
  }
  {
    const ChunkState states[] = {EmptyChunkState(), EmptyChunkState()};
    MergeChunks(false, states, 2, finish);
    EXPECT_EQ(finish[0].kind, ChunkFinish::kFill);
    EXPECT_EQ(finish[0].fill, 0.0f);
  }
}

}  // namespace
}  // namespace simdmax
