#!/usr/bin/env bash
# Builds the libFuzzer harness (tests/fuzz/softmax_fuzzer.cc; clang, ASan + UBSan) and fuzzes the C API for a
# bounded time, starting from the seed corpus in tests/fuzz/corpus (read only: new inputs go to build/fuzz/corpus).
#   scripts/fuzz.sh [seconds]     default 60
# A crash leaves its input in build/fuzz/artifacts/; rerun it with build/fuzz/tests/fuzz/simdmax_softmax_fuzzer FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/install_deps.sh --fuzz
echo "== simdmax: fuzz build =="
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)"
mkdir -p build/fuzz/corpus build/fuzz/artifacts
echo "== simdmax: fuzzing for ${seconds} s =="
# detect_leaks=0: TBB's worker threads and the process-wide arena live until exit, which LeakSanitizer's
# per-input check would report; the ASan test preset runs with leak detection on.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build/fuzz/tests/fuzz/simdmax_softmax_fuzzer -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ \
  build/fuzz/corpus tests/fuzz/corpus
