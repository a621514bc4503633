// What each accuracy device of the softmax kernels costs: the exp-and-sum pass (the hot loop of softmax) and the
// log-softmax output pass, timed with and without each device on one in-cache row, on the best target. Built from
// the same kernel pieces as the library (kernels/*-inl.h); only the benchmark assembles the ablated variants.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/accuracy_cost_bench.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/exp-inl.h"
#include "kernels/reduce-inl.h"
#include "kernels/row_map-inl.h"
#include "kernels/two_sum-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// exp(x - max) stored and summed. kTwoSum: carry the rounding error of x - max into exp. kF64: the error-free sum
// (reduce-inl.h) rather than a plain f32 one.
template <bool kTwoSum, bool kF64>
double ExpSumVariant(const float* x, float* y, size_t n, float max) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  V acc_hi = hn::Set(d, SumSeed<true>()), acc_lo = hn::Zero(d);
  V acc_f32 = hn::Zero(d);
  const V neg_max = hn::Set(d, -max);
  MapRow(d, x, y, n, max, [&](V v, auto... tail_mask) HWY_ATTR {
    V lo = hn::Zero(d);
    const V hi = kTwoSum ? TwoSum(v, neg_max, lo) : hn::Add(v, neg_max);
    const V e = ExpOfPair(d, hi, lo);
    V e_sum = ValidLanes(e, tail_mask...);
    if (kF64) {
      AddToSum<true>(acc_hi, acc_lo, e_sum);
    } else {
      acc_f32 = hn::Add(acc_f32, e_sum);
    }
    return e;
  });
  return kF64 ? SumTotal<true>(d, acc_hi, acc_lo) : hn::GetLane(hn::SumOfLanes(d, acc_f32));
}

double ExpSumFull(const float* x, float* y, size_t n, float max) { return ExpSumVariant<true, true>(x, y, n, max); }
double ExpSumNoTwoSum(const float* x, float* y, size_t n, float max) {
  return ExpSumVariant<false, true>(x, y, n, max);
}
double ExpSumF32Sum(const float* x, float* y, size_t n, float max) { return ExpSumVariant<true, false>(x, y, n, max); }
double ExpSumPlain(const float* x, float* y, size_t n, float max) { return ExpSumVariant<false, false>(x, y, n, max); }

// Softmax's last pass: y = e * (1/sum), with 1/sum as a float pair (one rounding) or a single float (two).
template <bool kPair>
void ScaleVariant(float* y, size_t n, double inv) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const float inv_hi = static_cast<float>(inv);
  const V hi = hn::Set(d, inv_hi), lo = hn::Set(d, static_cast<float>(inv - inv_hi));
  MapRow(d, y, y, n, 0.0f,
         [&](V e, auto...) HWY_ATTR { return kPair ? hn::MulAdd(e, hi, hn::Mul(e, lo)) : hn::Mul(e, hi); });
}
void ScalePair(float* y, size_t n, double inv) { ScaleVariant<true>(y, n, inv); }
void ScaleSingle(float* y, size_t n, double inv) { ScaleVariant<false>(y, n, inv); }

// Log-softmax's output pass: (x - max) - log(sum) with x - max exact (TwoSum) or rounded.
template <bool kTwoSum>
void LogOutputVariant(const float* x, float* y, size_t n, float max, double log_sum) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const float log_hi = static_cast<float>(log_sum);
  const V neg_max = hn::Set(d, -max), v_hi = hn::Set(d, log_hi);
  const V v_lo = hn::Set(d, static_cast<float>(log_sum - log_hi));
  MapRow(d, x, y, n, 0.0f, [&](V v, auto...) HWY_ATTR {
    if (!kTwoSum) return hn::Sub(hn::Add(v, neg_max), v_hi);
    V lo;
    const V shifted = TwoSum(v, neg_max, lo);
    return hn::Add(hn::Sub(shifted, v_hi), hn::Sub(lo, v_lo));
  });
}
void LogOutputTwoSum(const float* x, float* y, size_t n, float max, double log_sum) {
  LogOutputVariant<true>(x, y, n, max, log_sum);
}
void LogOutputPlain(const float* x, float* y, size_t n, float max, double log_sum) {
  LogOutputVariant<false>(x, y, n, max, log_sum);
}

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace simdmax {

HWY_EXPORT(ExpSumFull);
HWY_EXPORT(ExpSumNoTwoSum);
HWY_EXPORT(ExpSumF32Sum);
HWY_EXPORT(ExpSumPlain);
HWY_EXPORT(ScalePair);
HWY_EXPORT(ScaleSingle);
HWY_EXPORT(LogOutputTwoSum);
HWY_EXPORT(LogOutputPlain);

namespace {

constexpr size_t kCols = 32000;  // in L1/L2: measures compute, not bandwidth

std::vector<float> Row() {
  std::vector<float> x(kCols);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
  for (float& v : x) v = dist(rng);
  return x;
}

template <class Fn>
void Run(benchmark::State& state, Fn fn) {
  const std::vector<float> x = Row();
  std::vector<float> y(kCols);
  for (auto _ : state) {
    fn(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kCols));
  state.SetLabel(hwy::TargetName(hwy::SupportedAndGeneratedTargets()[0]));
}

#define SIMDMAX_EXP_SUM_BENCH(NAME)                                                     \
  void BM_ExpSum_##NAME(benchmark::State& state) {                                      \
    Run(state, [](const float* x, float* y) {                                           \
      benchmark::DoNotOptimize(HWY_DYNAMIC_DISPATCH(ExpSum##NAME)(x, y, kCols, 10.0f)); \
    });                                                                                 \
  }                                                                                     \
  BENCHMARK(BM_ExpSum_##NAME)

SIMDMAX_EXP_SUM_BENCH(Full);      // TwoSum + f64 sum: what the library runs
SIMDMAX_EXP_SUM_BENCH(NoTwoSum);  // cost of exact x - max
SIMDMAX_EXP_SUM_BENCH(F32Sum);    // cost of the f64 sum
SIMDMAX_EXP_SUM_BENCH(Plain);     // neither

void BM_Scale_Pair(benchmark::State& state) {
  Run(state, [](const float*, float* y) { HWY_DYNAMIC_DISPATCH(ScalePair)(y, kCols, 1.0 / 3.0); });
}
BENCHMARK(BM_Scale_Pair);
void BM_Scale_Single(benchmark::State& state) {
  Run(state, [](const float*, float* y) { HWY_DYNAMIC_DISPATCH(ScaleSingle)(y, kCols, 1.0 / 3.0); });
}
BENCHMARK(BM_Scale_Single);
void BM_LogOutput_TwoSum(benchmark::State& state) {
  Run(state, [](const float* x, float* y) { HWY_DYNAMIC_DISPATCH(LogOutputTwoSum)(x, y, kCols, 10.0f, 3.5); });
}
BENCHMARK(BM_LogOutput_TwoSum);
void BM_LogOutput_Plain(benchmark::State& state) {
  Run(state, [](const float* x, float* y) { HWY_DYNAMIC_DISPATCH(LogOutputPlain)(x, y, kCols, 10.0f, 3.5); });
}
BENCHMARK(BM_LogOutput_Plain);

}  // namespace
}  // namespace simdmax

BENCHMARK_MAIN();
#endif  // HWY_ONCE
