#include "tests/inputs.h"

#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>

#include "simdmax/simdmax.h"

namespace simdmax_test {

const char* DistributionName(Distribution distribution) {
  switch (distribution) {
    case Distribution::kUniform10:
      return "uniform10";
    case Distribution::kUniform100:
      return "uniform100";
    case Distribution::kShifted1e4:
      return "shifted1e4";
    case Distribution::kNearOverflow:
      return "near_overflow";
    case Distribution::kOneDominant:
      return "one_dominant";
    case Distribution::kAllEqual:
      return "all_equal";
  }
  return "?";
}

std::vector<float> MakeRow(Distribution distribution, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(distribution) * 1000003ull + n);
  std::vector<float> row(n);
  auto uniform = [&](float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (auto& v : row) v = dist(rng);
  };
  switch (distribution) {
    case Distribution::kUniform10:
      uniform(-10.0f, 10.0f);
      break;
    case Distribution::kUniform100:
      uniform(-100.0f, 100.0f);
      break;
    case Distribution::kShifted1e4:
      uniform(-10.0f, 10.0f);
      for (auto& v : row) v += 1e4f;
      break;
    case Distribution::kNearOverflow:
      uniform(80.0f, 89.0f);
      break;
    case Distribution::kOneDominant:
      uniform(-10.0f, 10.0f);
      row[rng() % n] = 30.0f;
      break;
    case Distribution::kAllEqual:
      for (auto& v : row) v = 3.25f;
      break;
  }
  return row;
}

std::vector<std::string> TestTargets() {
  const char* only = std::getenv("SIMDMAX_TEST_TARGETS");
  const std::string filter = only == nullptr ? "" : "," + std::string(only) + ",";
  std::vector<std::string> names;
  for (size_t i = 0; i < simdmax_target_count(); ++i) {
    const std::string name = simdmax_target_name(i);
    if (filter.empty() || filter.find("," + name + ",") != std::string::npos) names.push_back(name);
  }
  return names;
}

bool EmulatedRun() {
  // The environment wins (SIMDMAX_TEST_EMULATED=0 gives a cross build the native lengths), then the build.
  const char* value = getenv("SIMDMAX_TEST_EMULATED");
  if (value != nullptr && value[0] != '\0') return strcmp(value, "0") != 0;
#ifdef SIMDMAX_TEST_EMULATED
  return true;
#else
  return false;
#endif
}

std::vector<size_t> ShortLengths() {
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 67; ++n) lengths.push_back(n);
  const size_t max_power = EmulatedRun() ? 4096 : 65536;
  for (size_t p = 128; p <= max_power; p *= 2) {
    lengths.push_back(p - 1);
    lengths.push_back(p);
    lengths.push_back(p + 1);
  }
  if (EmulatedRun()) {
    for (size_t n : {1000, 4097}) lengths.push_back(n);
    return lengths;
  }
  for (size_t n : {1000, 4097, 32000, 128000}) lengths.push_back(n);
  return lengths;
}

std::vector<size_t> LongLengths() {
  if (EmulatedRun()) return {32000, 128000};
  return {size_t{1} << 20, size_t{4} << 20};
}

}  // namespace simdmax_test
