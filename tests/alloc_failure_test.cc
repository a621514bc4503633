// No C++ exception crosses the C API: allocation failures inside simdmax give SIMDMAX_ERROR_OUT_OF_MEMORY with the
// outputs untouched, any other exception SIMDMAX_ERROR_INTERNAL.
//
// Failures are injected by replacing the global operator new of this test binary (a binary of its own, so that
// no other suite runs with the replacement): through ELF symbol interposition it also serves libsimdmax's
// allocations (std::vector, std::make_shared). Each thread has a countdown: armed with k, the (k+1)-th allocation
// on that thread throws. The tests arm it on the calling thread just before one API call and walk k = 0, 1, ...
// until the call no longer allocates, so every allocation the call makes fails once.
#include <gtest/gtest.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "simdmax/simdmax.h"
#include "simdmax/simdmax.hpp"

namespace {

enum class Failure { kBadAlloc, kOtherException };

// Trivially initialised thread-locals: reading them allocates nothing.
thread_local long t_countdown = -1;  // < 0: disarmed
thread_local bool t_failed = false;
thread_local Failure t_failure = Failure::kBadAlloc;

// True when this allocation must fail (and disarms).
bool FailNow() {
  if (t_countdown < 0) return false;
  if (t_countdown-- > 0) return false;
  t_failed = true;
  return true;
}

void* Allocate(size_t size) {
  if (FailNow()) {
    // A non-bad_alloc exception from operator new breaks its contract; it stands here for "any other exception"
    // reaching the C API (none is expected in simdmax), which is what the guard must also stop.
    if (t_failure == Failure::kOtherException) throw std::runtime_error("injected");
    throw std::bad_alloc();
  }
  void* p = malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateNoThrow(size_t size) noexcept {
  if (FailNow()) return nullptr;
  return malloc(size == 0 ? 1 : size);
}

// Arms the countdown on this thread for one call; reports whether an injected failure happened.
class InjectFailure {
 public:
  InjectFailure(long allocations_before_failure, Failure failure) {
    t_failed = false;
    t_failure = failure;
    t_countdown = allocations_before_failure;
  }
  ~InjectFailure() { t_countdown = -1; }
  bool failed() const { return t_failed; }
};

}  // namespace

// The replaceable allocation functions (the aligned ones keep the default pair: simdmax uses none of them). Every
// pair malloc/free consistently, which also keeps ASan's alloc-dealloc matching happy.
void* operator new(size_t size) { return Allocate(size); }
void* operator new[](size_t size) { return Allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return AllocateNoThrow(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return AllocateNoThrow(size); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }

namespace {

constexpr float kSentinel = 777.0f;

bool SameBytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A split-K decode (n_queries <= 8, n_keys >= 2048): the call allocates its per-thread scratch. Small enough
// (< 2^20 multiply-adds) to run on the calling thread: no TBB allocation is reached by the failure walk.
struct Decode {
  simdmax_attention_desc desc = simdmax::ContiguousAttention(4, 2, 2, 4096, 16, false);
  std::vector<float> q, k, v;
  Decode() {
    q.resize(desc.n_heads * desc.n_queries * desc.head_dim);
    k.resize(desc.n_kv_heads * desc.n_keys * desc.head_dim);
    v.resize(k.size());
    uint32_t state = 12345;
    const auto next = [&] {
      state = state * 1664525u + 1013904223u;
      return static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
    };
    for (float& e : q) e = next();
    for (float& e : k) e = next();
    for (float& e : v) e = next();
  }
  size_t OutSize() const { return desc.n_heads * desc.n_queries * desc.head_dim; }
  size_t LseSize() const { return desc.n_heads * desc.n_queries; }
};

// Runs one attention call on a fresh thread (its scratch is empty, so the call must allocate) with the k-th
// allocation of that thread failing. Returns whether the injected failure happened.
bool AttentionWithFailure(const Decode& p, long k, Failure failure, std::vector<float>* out, std::vector<float>* lse,
                          simdmax_status* status) {
  bool failed = false;
  std::thread worker([&] {
    InjectFailure inject(k, failure);
    *status = simdmax_attention_f32(&p.desc, p.q.data(), p.k.data(), p.v.data(), out->data(), lse->data());
    failed = inject.failed();
  });
  worker.join();
  return failed;
}

TEST(AllocationFailure, AttentionScratchIsOutOfMemoryAndWritesNothing) {
  const Decode p;
  std::vector<float> want_out(p.OutSize()), want_lse(p.LseSize());
  ASSERT_EQ(simdmax_attention_f32(&p.desc, p.q.data(), p.k.data(), p.v.data(), want_out.data(), want_lse.data()),
            SIMDMAX_OK);
  long failures = 0;
  for (long k = 0; k < 64; ++k) {
    std::vector<float> out(p.OutSize(), kSentinel), lse(p.LseSize(), kSentinel);
    const std::vector<float> out_before = out, lse_before = lse;
    simdmax_status status = SIMDMAX_OK;
    if (!AttentionWithFailure(p, k, Failure::kBadAlloc, &out, &lse, &status)) {
      // The call made only k allocations: it must have succeeded, with the result of an undisturbed call.
      EXPECT_EQ(status, SIMDMAX_OK) << k;
      EXPECT_TRUE(SameBytes(out, want_out)) << k;
      EXPECT_TRUE(SameBytes(lse, want_lse)) << k;
      break;
    }
    ++failures;
    EXPECT_EQ(status, SIMDMAX_ERROR_OUT_OF_MEMORY) << "allocation " << k;
    EXPECT_TRUE(SameBytes(out, out_before)) << "allocation " << k << ": out written";
    EXPECT_TRUE(SameBytes(lse, lse_before)) << "allocation " << k << ": lse written";
  }
  // The split-K partials are three buffers: at least that many allocations were made to fail.
  EXPECT_GE(failures, 3);
}

TEST(AllocationFailure, OtherExceptionsAreInternalErrors) {
  const Decode p;
  std::vector<float> out(p.OutSize(), kSentinel), lse(p.LseSize(), kSentinel);
  simdmax_status status = SIMDMAX_OK;
  ASSERT_TRUE(AttentionWithFailure(p, 0, Failure::kOtherException, &out, &lse, &status));
  EXPECT_EQ(status, SIMDMAX_ERROR_INTERNAL);
  EXPECT_STREQ(simdmax_status_string(SIMDMAX_ERROR_INTERNAL), "internal error: an unexpected exception inside simdmax");
}

// A valid decode whose split-K partials exceed size_t: OUT_OF_MEMORY before anything is read or written (the
// pointers are far addresses that must never be dereferenced), not a wrapped size.
TEST(AllocationFailure, ScratchLargerThanSizeTIsOutOfMemory) {
  if (sizeof(size_t) < 8) GTEST_SKIP() << "needs a 64-bit size_t";
  // The split-K chunks are capped at 64 per query row, so the rows must be many: 2^56 heads.
  simdmax_attention_desc d = simdmax::ContiguousAttention(size_t{1} << 56, 1, 1, size_t{1} << 40, 1, false);
  // q (2^56 floats) and k, v (2^40 floats) share one far region (allowed), out lies beyond it.
  const float* qkv = reinterpret_cast<const float*>(uintptr_t{1} << 44);
  float* out = reinterpret_cast<float*>(uintptr_t{1} << 60);
  // 2^56 rows x 64 key chunks x (head_dim 1 + a max) partials: 2^63 floats, 2^65 bytes.
  EXPECT_EQ(simdmax_attention_f32(&d, qkv, qkv, qkv, out, nullptr), SIMDMAX_ERROR_OUT_OF_MEMORY);
}

// The row ops allocate only when the thread limit changes: simdmax's arena handle, then the TBB arena itself,
// before any row is written. Only simdmax's own allocation (the first) is made to fail: an injected failure inside
// TBB's one-time initialisation leaves TBB spinning forever in numa_default_concurrency (TBB 2021.8 does not
// survive it; found by an earlier version of this test), so TBB is initialised before and its allocations left
// alone.
TEST(AllocationFailure, RowOpArenaIsOutOfMemoryAndWritesNothing) {
  constexpr size_t kRows = 512, kCols = 256;  // >= 64K elements: the parallel path, which needs the arena
  std::vector<float> x(kRows * kCols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) * 0.25f - 10.0f;
  for (auto op : {simdmax_softmax_f32, simdmax_log_softmax_f32}) {
    std::vector<float> want(x.size());
    ASSERT_EQ(simdmax_set_max_threads(0), SIMDMAX_OK);
    ASSERT_EQ(op(kRows, kCols, x.data(), kCols, want.data(), kCols), SIMDMAX_OK);  // TBB initialised
    for (size_t threads : {2, 3}) {
      ASSERT_EQ(simdmax_set_max_threads(threads), SIMDMAX_OK);  // the next call must create an arena
      std::vector<float> y(x.size(), kSentinel);
      const std::vector<float> before = y;
      simdmax_status status;
      {
        InjectFailure inject(0, Failure::kBadAlloc);
        status = op(kRows, kCols, x.data(), kCols, y.data(), kCols);
        ASSERT_TRUE(inject.failed()) << "the call made no allocation: nothing was tested";
      }
      EXPECT_EQ(status, SIMDMAX_ERROR_OUT_OF_MEMORY) << threads;
      EXPECT_TRUE(SameBytes(y, before)) << threads << " threads: output written";
      // A failed call leaves no broken state: the same call succeeds once memory is back, with the same bits
      // (results do not depend on the thread count).
      EXPECT_EQ(op(kRows, kCols, x.data(), kCols, y.data(), kCols), SIMDMAX_OK);
      EXPECT_TRUE(SameBytes(y, want)) << threads;
    }
  }
  simdmax_set_max_threads(0);
}

// Softmax rows of the chunked path with a half-precision output keep exp in the thread's scratch
// (dispatch/thread_scratch.h); when it cannot be allocated they re-evaluate it: the call still succeeds, with the
// same bits.
TEST(AllocationFailure, HalfOutputScratchFailureKeepsTheBits) {
  constexpr size_t kCols = 20000;  // two chunks
  std::vector<uint16_t> x(kCols);
  for (size_t i = 0; i < kCols; ++i) x[i] = static_cast<uint16_t>(0x3F80u + (i * 37u) % 512u - 256u);  // bf16
  for (simdmax_dtype y_type : {SIMDMAX_BF16, SIMDMAX_F16}) {
    std::vector<uint16_t> want(kCols), got(kCols);
    simdmax_status status = SIMDMAX_ERROR_INTERNAL;
    bool failed = false;
    std::thread worker([&] {  // a fresh thread: its scratch is empty, so the call must allocate
      InjectFailure inject(0, Failure::kBadAlloc);
      status = simdmax_softmax(1, kCols, SIMDMAX_BF16, x.data(), kCols, y_type, got.data(), kCols);
      failed = inject.failed();
    });
    worker.join();
    ASSERT_TRUE(failed) << "the call made no allocation: nothing was tested";
    ASSERT_EQ(status, SIMDMAX_OK);
    std::thread again([&] {  // with memory
      ASSERT_EQ(simdmax_softmax(1, kCols, SIMDMAX_BF16, x.data(), kCols, y_type, want.data(), kCols), SIMDMAX_OK);
    });
    again.join();
    EXPECT_EQ(memcmp(got.data(), want.data(), kCols * sizeof(uint16_t)), 0) << y_type;
  }
}

}  // namespace
