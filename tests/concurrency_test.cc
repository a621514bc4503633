// Concurrency and determinism: every row entry point (tests/entry_points.h) called from many std::threads at once
// and from inside TBB tasks of the caller's own tbb::task_arena, compared bit for bit with single-threaded runs;
// one thread switching the target (or the thread limit) continuously while others compute, where each call must
// use one target throughout (its result equals one of the per-target results); results bit-identical across
// thread counts 1..4 and repeated runs on every target.
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <array>
#include <atomic>
#include <cfloat>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"
#include "tests/attention_problem.h"
#include "tests/entry_points.h"
#include "tests/inputs.h"
#include "tests/target_fixture.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace simdmax_test {
namespace {

#ifdef SIMDMAX_TEST_UNDER_SANITIZER
constexpr int kNativeIterations = 3;  // ASan/UBSan run ~10x slower; the interleavings still happen
#else
constexpr int kNativeIterations = 20;
#endif
// Under qemu (EmulatedRun) every instruction is translated: a few iterations still interleave the threads.
const int kIterations = EmulatedRun() ? 2 : kNativeIterations;
constexpr int kThreads = 8;

// A batch: shape and input. Shapes cover the serial path (small), the TBB path (large) and special rows.
struct Batch {
  size_t rows, cols;
  std::vector<float> x;
};

std::vector<Batch> MakeBatches() {
  std::vector<Batch> batches;
  for (auto [rows, cols] : {std::pair<size_t, size_t>{1, 1000}, {7, 33}, {96, 4096}, {2048, 67}}) {
    Batch b{rows, cols, std::vector<float>(rows * cols)};
    for (size_t r = 0; r < rows; ++r) {
      const std::vector<float> row = MakeRow(kAllDistributions[r % 6], cols, 40 + r);
      std::memcpy(&b.x[r * cols], row.data(), cols * sizeof(float));
    }
    // A few special rows: masked entries, a NaN, +inf, FLT_MAX.
    b.x[0] = -std::numeric_limits<float>::infinity();
    if (rows > 2) b.x[cols + cols / 2] = std::numeric_limits<float>::quiet_NaN();
    if (rows > 3) b.x[2 * cols] = std::numeric_limits<float>::infinity();
    if (rows > 4) b.x[3 * cols + 1] = FLT_MAX;
    batches.push_back(std::move(b));
  }
  return batches;
}

using Results = std::vector<std::vector<std::vector<float>>>;  // [entry point][batch] -> output

Results Compute(const std::vector<Batch>& batches) {
  Results results;
  for (const RowEntryPoint& ep : RowEntryPoints()) {
    results.emplace_back();
    for (const Batch& b : batches) {
      std::vector<float> y(b.x.size());
      EXPECT_EQ(ep.Run(b.rows, b.cols, b.x.data(), b.cols, y.data(), b.cols), SIMDMAX_OK);
      results.back().push_back(std::move(y));
    }
  }
  return results;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs every entry point on every batch and counts results that differ from `want`.
int RunAllAndCount(const std::vector<Batch>& batches, const Results& want) {
  int mismatches = 0;
  for (size_t e = 0; e < RowEntryPoints().size(); ++e) {
    for (size_t b = 0; b < batches.size(); ++b) {
      const Batch& batch = batches[b];
      std::vector<float> y(batch.x.size());
      if (RowEntryPoints()[e].Run(batch.rows, batch.cols, batch.x.data(), batch.cols, y.data(), batch.cols) !=
              SIMDMAX_OK ||
          !SameBits(y, want[e][b])) {
        ++mismatches;
      }
    }
  }
  return mismatches;
}

class Concurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    simdmax_select_target(nullptr);
    simdmax_set_max_threads(1);
    batches_ = MakeBatches();
    single_ = Compute(batches_);  // the single-threaded results everything is compared with
    simdmax_set_max_threads(0);
  }
  void TearDown() override {
    simdmax_select_target(nullptr);
    simdmax_set_max_threads(0);
  }
  std::vector<Batch> batches_;
  Results single_;
};

// Many plain threads at once, each running every op on every batch (the large ones go parallel inside).
TEST_F(Concurrency, ManyStdThreads) {
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) mismatches += RunAllAndCount(batches_, single_);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Under ThreadSanitizer: TBB's handoff of the test's own tasks is invisible to it (libtbb is not instrumented,
// tests/tsan.supp), so the inputs this thread wrote would look racy to the tasks that read them, and the test
// thread's later writes (freeing the inputs) racy to the tasks' reads. The test thread releases the fork token
// before handing tasks to TBB and every task acquires it first; every task releases the join token when done and
// the test thread acquires it after the join: the same fork/join annotation as simdmax's own scheduler
// (dispatch/tbb_fork_join.h). Tasks never acquire what other tasks release, so they stay unordered among themselves.
#if defined(__SANITIZE_THREAD__)
char g_tsan_fork_token;
char g_tsan_join_token;
#endif
void ForkToTbb() {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(&g_tsan_fork_token);
#endif
}
void TaskStart() {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(&g_tsan_fork_token);
#endif
}
void TaskEnd() {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(&g_tsan_join_token);
#endif
}
void JoinFromTbb() {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(&g_tsan_join_token);
#endif
}

// From inside TBB tasks of the caller's own arena: simdmax's parallel_for runs nested in the caller's tasks
// (simdmax enters its own arena), with no deadlock and the same bits.
TEST_F(Concurrency, InsideCallerTaskArena) {
  std::atomic<int> mismatches{0};
  for (int arena_threads : {2, 4}) {
    tbb::task_arena arena(arena_threads);
    ForkToTbb();
    arena.execute([&] {
      tbb::parallel_for(0, kThreads * kIterations / 4, [&](int) {
        TaskStart();
        mismatches += RunAllAndCount(batches_, single_);
        TaskEnd();
      });
    });
    JoinFromTbb();
    ForkToTbb();
    arena.execute([&] {
      tbb::task_group group;
      for (int t = 0; t < kThreads; ++t) {
        group.run([&] {
          TaskStart();
          mismatches += RunAllAndCount(batches_, single_);
          TaskEnd();
        });
      }
      group.wait();
    });
    JoinFromTbb();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

// One thread changes the thread limit continuously while others compute: results never change.
TEST_F(Concurrency, ThreadLimitChangingWhileComputing) {
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0};
  std::thread changer([&] {
    for (size_t n = 0; !stop.load(); n = (n + 1) % 5) simdmax_set_max_threads(n);
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) mismatches += RunAllAndCount(batches_, single_);
    });
  }
  for (auto& worker : workers) worker.join();
  stop = true;
  changer.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// One thread switches the target continuously while others compute: each call reads the selection once, so its
// whole result (every row of the batch) equals the result of one target.
TEST_F(Concurrency, TargetSwitchingWhileComputing) {
  const std::vector<std::string> targets = SupportedTargets();
  std::vector<Results> per_target;
  simdmax_set_max_threads(1);
  for (const std::string& target : targets) {
    ASSERT_EQ(simdmax_select_target(target.c_str()), SIMDMAX_OK);
    per_target.push_back(Compute(batches_));
  }
  simdmax_select_target(nullptr);
  simdmax_set_max_threads(0);
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0};
  std::atomic<long> switches{0};
  std::thread switcher([&] {
    for (size_t i = 0; !stop.load(); i = (i + 1) % targets.size()) {
      simdmax_select_target(targets[i].c_str());
      ++switches;
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        for (size_t e = 0; e < RowEntryPoints().size(); ++e) {
          for (size_t b = 0; b < batches_.size(); ++b) {
            const Batch& batch = batches_[b];
            std::vector<float> y(batch.x.size());
            RowEntryPoints()[e].Run(batch.rows, batch.cols, batch.x.data(), batch.cols, y.data(), batch.cols);
            bool matches_one = false;
            for (const Results& r : per_target) matches_one |= SameBits(y, r[e][b]);
            if (!matches_one) ++mismatches;
          }
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  stop = true;
  switcher.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(switches.load(), 0);
}

// Determinism on every target: bit-identical for thread counts 1..4 and 0 (all cores), and across repeated runs.
class Determinism : public PerTarget {
 protected:
  void TearDown() override {
    simdmax_set_max_threads(0);
    PerTarget::TearDown();
  }
};

TEST_P(Determinism, BitIdenticalAcrossThreadCountsAndRuns) {
  const std::vector<Batch> batches = MakeBatches();
  simdmax_set_max_threads(1);
  const Results want = Compute(batches);
  // Under qemu (EmulatedRun) one odd thread count, once: the scheduling is the same code on every target, and the
  // native suite runs them all.
  const std::vector<size_t> thread_counts = EmulatedRun() ? std::vector<size_t>{3} : std::vector<size_t>{1, 2, 3, 4, 0};
  for (size_t threads : thread_counts) {
    simdmax_set_max_threads(threads);
    for (int run = 0; run < (EmulatedRun() ? 1 : 2); ++run) {
      EXPECT_EQ(RunAllAndCount(batches, want), 0) << threads << " threads";
    }
  }
}

SIMDMAX_INSTANTIATE_PER_TARGET(Determinism);

}  // namespace
}  // namespace simdmax_test

namespace simdmax_test {
namespace {

// Online softmax and attention from many threads at once (decode with split-K, whose partials live in per-calling-
// thread scratch, and a causal prefill), plain threads and inside a caller arena: every result equals the
// single-threaded one bit for bit.
TEST(ConcurrencyOnlineAttention, ManyThreadsSameBits) {
  struct Case {
    simdmax_attention_desc desc;
    std::vector<float> q, k, v, out, lse;
  };
  std::vector<Case> cases;
  for (auto shape : {std::array<size_t, 5>{8, 2, 1, 4100, 64}, std::array<size_t, 5>{4, 2, 33, 70, 16}}) {
    Case c;
    c.desc = simdmax::ContiguousAttention(shape[0], shape[1], shape[2], shape[3], shape[4], /*causal=*/1);
    c.q = MakeRow(Distribution::kUniform10, shape[0] * shape[2] * shape[4], 1);
    c.k = MakeRow(Distribution::kUniform10, shape[1] * shape[3] * shape[4], 2);
    c.v = MakeRow(Distribution::kUniform10, shape[1] * shape[3] * shape[4], 3);
    c.out.resize(shape[0] * shape[2] * shape[4]);
    c.lse.resize(shape[0] * shape[2]);
    simdmax_set_max_threads(1);
    ASSERT_EQ(simdmax_attention_f32(&c.desc, c.q.data(), c.k.data(), c.v.data(), c.out.data(), c.lse.data()),
              SIMDMAX_OK);
    cases.push_back(std::move(c));
  }
  const std::vector<float> row = MakeRow(Distribution::kUniform100, 20000, 4);
  simdmax_online_state single_state;
  simdmax_online_init(&single_state);
  ASSERT_EQ(simdmax_online_update_f32(&single_state, row.data(), row.size()), SIMDMAX_OK);
  simdmax_set_max_threads(0);

  std::atomic<int> mismatches{0};
  const auto work = [&] {
    for (const Case& c : cases) {
      std::vector<float> out(c.out.size()), lse(c.lse.size());
      if (simdmax_attention_f32(&c.desc, c.q.data(), c.k.data(), c.v.data(), out.data(), lse.data()) != SIMDMAX_OK ||
          std::memcmp(out.data(), c.out.data(), out.size() * sizeof(float)) != 0 ||
          std::memcmp(lse.data(), c.lse.data(), lse.size() * sizeof(float)) != 0) {
        ++mismatches;
      }
    }
    simdmax_online_state s;
    simdmax_online_init(&s);
    simdmax_online_update_f32(&s, row.data(), row.size());
    if (s.max != single_state.max || s.sum != single_state.sum) ++mismatches;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations / 4 + 1; ++i) work();
    });
  }
  for (auto& thread : threads) thread.join();
  tbb::task_arena arena(2);
  ForkToTbb();
  arena.execute([&] {
    tbb::parallel_for(0, 4, [&](int) {
      TaskStart();
      work();
      TaskEnd();
    });
  });
  JoinFromTbb();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace simdmax_test

namespace simdmax_test {
namespace {

// simdmax_attention_batch from several threads at once, each thread with a batch of its own (split decode over a
// paged f16 pool with sinks and ALiBi, causal prefill with a per-head mask, a soft-capped bf16 decode, n_keys 0,
// head_dim 1, typed outputs): the split-K partials and the widened q live in per-calling-thread scratch that a
// concurrent call must never share. Every result equals the serial (one thread, one call at a time) run bit for
// bit; plain threads and inside a caller's TBB arena.
std::vector<std::vector<AttentionCase>> AttentionBatches() {
  const auto shape = [](size_t heads, size_t kv_heads, size_t queries, size_t keys, size_t dim) {
    AttentionCase c;
    c.heads = heads;
    c.kv_heads = kv_heads;
    c.queries = queries;
    c.keys = keys;
    c.dim = dim;
    return c;
  };
  std::vector<std::vector<AttentionCase>> batches(3);
  AttentionCase c = shape(8, 2, 1, 2100, 32);
  c.block_size = 16;
  c.kv_type = SIMDMAX_F16;
  c.sinks = c.alibi = true;
  batches[0].push_back(c);
  c = shape(4, 2, 33, 70, 16);
  c.causal = true;
  c.mask = MaskKind::kPerHead;
  c.mask_type = SIMDMAX_BF16;
  c.out_type = SIMDMAX_F16;
  batches[0].push_back(c);
  c = shape(4, 1, 4, 3000, 24);
  c.q_type = c.kv_type = SIMDMAX_BF16;
  c.softcap = 20.0f;
  c.window = 1500;
  batches[1].push_back(c);
  batches[1].push_back(shape(2, 1, 3, 0, 8));
  c = shape(2, 2, 7, 65, 1);
  c.causal = true;
  batches[1].push_back(c);
  c = shape(8, 8, 2, 2049, 64);
  c.q_type = SIMDMAX_F16;
  c.out_type = SIMDMAX_BF16;
  c.block_size = 256;
  batches[2].push_back(c);
  c = shape(4, 2, 100, 100, 16);
  c.window = 17;
  batches[2].push_back(c);
  for (size_t b = 0; b < batches.size(); ++b) {
    for (size_t s = 0; s < batches[b].size(); ++s) batches[b][s].seed = 10 * b + s;
  }
  return batches;
}

simdmax_status RunAttentionBatch(std::vector<AttentionProblem>& problems) {
  std::vector<simdmax_attention_args> args;
  for (AttentionProblem& p : problems) {
    p.ResetOutputs();
    args.push_back(p.Args());
  }
  return simdmax_attention_batch(args.data(), args.size());
}

TEST(ConcurrencyAttentionBatch, ManyThreadsSameBits) {
  const std::vector<std::vector<AttentionCase>> cases = AttentionBatches();
  std::vector<std::vector<std::vector<unsigned char>>> want_out(cases.size());
  std::vector<std::vector<std::vector<float>>> want_lse(cases.size());
  simdmax_set_max_threads(1);
  for (size_t b = 0; b < cases.size(); ++b) {
    std::vector<AttentionProblem> problems(cases[b].begin(), cases[b].end());
    ASSERT_EQ(RunAttentionBatch(problems), SIMDMAX_OK);
    for (const AttentionProblem& p : problems) {
      want_out[b].push_back(p.OutBytes());
      want_lse[b].push_back(p.LseValues());
    }
  }
  simdmax_set_max_threads(0);
  std::atomic<int> mismatches{0};
  // One call of batch b on problems of the caller's own (inputs built the same way, outputs its own).
  const auto work = [&](size_t b) {
    std::vector<AttentionProblem> problems(cases[b].begin(), cases[b].end());
    for (int i = 0; i < kIterations / 4 + 1; ++i) {
      if (RunAttentionBatch(problems) != SIMDMAX_OK) {
        ++mismatches;
        continue;
      }
      for (size_t s = 0; s < problems.size(); ++s) {
        if (problems[s].OutBytes() != want_out[b][s] || problems[s].LseValues().size() != want_lse[b][s].size() ||
            std::memcmp(problems[s].LseValues().data(), want_lse[b][s].data(), want_lse[b][s].size() * sizeof(float)) !=
                0) {
          ++mismatches;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 6; ++t) threads.emplace_back([&, t] { work(t % cases.size()); });
  for (auto& thread : threads) thread.join();
  tbb::task_arena arena(2);
  ForkToTbb();
  arena.execute([&] {
    tbb::parallel_for(0, 3, [&](int b) {
      TaskStart();
      work(static_cast<size_t>(b));
      TaskEnd();
    });
  });
  JoinFromTbb();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace simdmax_test
