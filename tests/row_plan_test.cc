// The row plan (kernels/row_plan.h) sends a row to the short-row path or to the chunked path by its length and the
// L1 size read at start-up, so the same call takes different paths on different machines. Both paths must give the
// same bits, or a result would depend on the cache sizes of the machine it ran on. Rows of 257..1024 elements are
// short with a 64 KiB L1 and chunked with the 256-element floor of a tiny one; SIMDMAX_L1D_BYTES sets the L1 size
// (read once per process), so two child processes of this binary compute the same batches, one per path, and this
// test compares their bits. (Softmax into f16/bf16 takes the short path up to a fixed 1024 elements on every
// machine, kernels/row_plan.h kShortRowScratchMax: for it the test checks that the L1 size changes nothing.)
//
// Not run under qemu-user (EmulatedRun): re-executing the test binary there would start it on the host.
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"
#include "tests/entry_points.h"
#include "tests/inputs.h"

extern char** environ;

namespace simdmax_test {
namespace {

constexpr const char* kOutputEnv = "SIMDMAX_TEST_ROW_PLAN_OUTPUT";

// Every tested target, entry point (f32 and typed pairs) and length, batches of 8 rows mixing the row kinds: the
// outputs concatenated.
std::vector<float> ComputeAll() {
  std::vector<float> all;
  simdmax_set_max_threads(1);
  for (const std::string& target : TestTargets()) {
    EXPECT_EQ(simdmax_select_target(target.c_str()), SIMDMAX_OK);
    for (const RowEntryPoint& ep : RowEntryPoints()) {
      for (size_t cols : {257, 300, 383, 512, 513, 700, 768, 1000, 1024}) {
        const size_t rows = 8;
        std::vector<float> x(rows * cols), y(rows * cols);
        for (size_t r = 0; r < rows; ++r) {
          const std::vector<float> row = MakeRowOfKind((r * 3 + cols) % kRowKinds, cols, 500 + r);
          std::copy(row.begin(), row.end(), x.begin() + static_cast<std::ptrdiff_t>(r * cols));
        }
        EXPECT_EQ(ep.Run(rows, cols, x.data(), cols, y.data(), cols), SIMDMAX_OK) << ep.name;
        all.insert(all.end(), y.begin(), y.end());
      }
    }
  }
  simdmax_select_target(nullptr);
  simdmax_set_max_threads(0);
  return all;
}

// Runs this binary's RowPlanChild test with SIMDMAX_L1D_BYTES = l1d_bytes; returns what it wrote.
std::vector<char> RunChild(const char* l1d_bytes, const std::string& output) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "SIMDMAX_L1D_BYTES=", 18) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back(std::string("SIMDMAX_L1D_BYTES=") + l1d_bytes);
  env_strings.push_back(std::string(kOutputEnv) + "=" + output);
  std::vector<char*> env;
  for (std::string& s : env_strings) env.push_back(&s[0]);
  env.push_back(nullptr);
  std::string exe = "/proc/self/exe", filter = "--gtest_filter=RowPlanChild.*",
              disabled = "--gtest_also_run_disabled_tests";
  char* argv[] = {&exe[0], &filter[0], &disabled[0], nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, env.data()), 0);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child with SIMDMAX_L1D_BYTES=" << l1d_bytes;
  std::ifstream in(output, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(output.c_str());
  return bytes;
}

// The child: computes everything and writes it to the file named by kOutputEnv (only when run by the test below).
TEST(RowPlanChild, DISABLED_WriteOutputs) {
  const char* output = std::getenv(kOutputEnv);
  if (output == nullptr) GTEST_SKIP() << "run by RowPlan.SameBitsWhateverTheCacheSizes";
  const std::vector<float> all = ComputeAll();
  std::ofstream out(output, std::ios::binary);
  out.write(reinterpret_cast<const char*>(all.data()), static_cast<std::streamsize>(all.size() * sizeof(float)));
  ASSERT_TRUE(out.good());
}

TEST(RowPlan, SameBitsWhateverTheCacheSizes) {
  if (EmulatedRun()) GTEST_SKIP() << "needs to re-execute the test binary (not under qemu-user)";
  const std::string base = ::testing::TempDir() + "simdmax_row_plan_" + std::to_string(getpid());
  // 64 KiB: rows up to 1024 elements are short (kernels/row_plan.h ShortRowMax). 1 byte: the 256-element floor, so
  // every length above is chunked.
  const std::vector<char> short_path = RunChild("65536", base + "_short");
  const std::vector<char> chunked_path = RunChild("1", base + "_chunked");
  const std::vector<float> here = ComputeAll();
  ASSERT_EQ(short_path.size(), here.size() * sizeof(float));
  ASSERT_EQ(chunked_path.size(), short_path.size());
  size_t differing = 0, first = 0;
  for (size_t i = 0; i < short_path.size(); i += sizeof(float)) {
    if (std::memcmp(&short_path[i], &chunked_path[i], sizeof(float)) != 0) {
      if (differing++ == 0) first = i / sizeof(float);
    }
  }
  EXPECT_EQ(differing, 0u) << "short-row and chunked paths differ in " << differing << " outputs, first at output "
                           << first;
  // And this process (whatever this machine's L1) gives the same bits as both.
  EXPECT_EQ(0, std::memcmp(here.data(), short_path.data(), short_path.size()));
}

}  // namespace
}  // namespace simdmax_test
