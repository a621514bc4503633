// Deterministic test inputs: the distributions of the tolerance suite and the report tool.
#ifndef SIMDMAX_TESTS_INPUTS_H_
#define SIMDMAX_TESTS_INPUTS_H_

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace simdmax_test {

enum class Distribution {
  kUniform10,     // uniform in [-10, 10]
  kUniform100,    // uniform in [-100, 100]: most exps underflow, sums dominated by a few terms
  kShifted1e4,    // uniform in [-10, 10] + 1e4: x - max must not lose the low bits of x
  kNearOverflow,  // uniform in [80, 89]: exp(x) alone would overflow float
  kOneDominant,   // uniform in [-10, 10] with one element at +30: softmax ~1 there, log-softmax ~ -1e-13 there
  kAllEqual,      // every element 3.25: exactly 1/n and -log(n)
};
inline constexpr Distribution kAllDistributions[] = {Distribution::kUniform10,   Distribution::kUniform100,
                                                     Distribution::kShifted1e4,  Distribution::kNearOverflow,
                                                     Distribution::kOneDominant, Distribution::kAllEqual};
const char* DistributionName(Distribution distribution);

std::vector<float> MakeRow(Distribution distribution, size_t n, uint64_t seed);

// True when the suite runs under an emulator (qemu-user): the environment variable SIMDMAX_TEST_EMULATED when set
// and not empty ("0": false, anything else: true), otherwise whether the build defines SIMDMAX_TEST_EMULATED (the
// AArch64 cross build does). Emulated
// runs use shorter rows: SVE at 256+ bits is ~15x slower than NEON under qemu 7.2, and the long-double reference
// is software quad precision on AArch64.
bool EmulatedRun();

// The targets the per-target tests and the tolerance report run on: every target in simdmax_target_count(), or,
// when SIMDMAX_TEST_TARGETS holds a comma-separated list, those of them in it (the emulated AArch64 runs give each
// QEMU_CPU the targets it adds, so that NEON, which every Arm CPU lists, is not run six times under qemu). A listed
// target that is not supported is simply absent here: Api.ExpectedTargetsAreSupported is what fails for that.
std::vector<std::string> TestTargets();

// Row lengths of the suite: every tail 1..67, powers of two -1/0/+1 from 128 to 65536, 1000, 4097, 32000, 128000.
// Emulated: every tail 1..67, powers of two -1/0/+1 from 128 to 4096 (several full vectors even at 2048 bits), 1000,
// 4097.
std::vector<size_t> ShortLengths();
// 1M and 4M: the long rows where summation error shows. Emulated: 32000 and 128000 (still thousands of f64
// accumulations per lane).
std::vector<size_t> LongLengths();

}  // namespace simdmax_test

#endif  // SIMDMAX_TESTS_INPUTS_H_
