#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/*_fuzzer.cc; clang, ASan + UBSan) and fuzzes each family of the C API
# for a bounded time, starting from its seed corpus in tests/fuzz/corpus* (read only: new inputs go to
# build/fuzz/corpus_<name>/):
#   softmax   row ops (tests/entry_points.h)       tests/fuzz/corpus
#   online    simdmax_online_*                     tests/fuzz/corpus_online
#   attention simdmax_attention_f32, simdmax_attention, simdmax_attention_batch   tests/fuzz/corpus_attention
#   scripts/fuzz.sh [seconds per harness]     default: $SIMDMAX_FUZZ_SECONDS, else 60 (CI: 60 each, 3 minutes)
#   SIMDMAX_FUZZERS="online attention" scripts/fuzz.sh 30     only those harnesses
# A crash leaves its input in build/fuzz/artifacts/<name>-*; rerun it with build/fuzz/tests/fuzz/simdmax_<name>_fuzzer
# FILE, then add it to the harness's corpus and as a GoogleTest regression test. The attention harness steers around
# findings still pending a fix (SIMDMAX_FUZZ_PENDING=1 turns them back on; see Pending() in attention_fuzzer.cc) and
# with SIMDMAX_FUZZ_HISTORY=DIR writes the inputs that ran before a failure (failures that depend on earlier calls).
# The mutation seed is fixed (SIMDMAX_FUZZ_SEED, default 1) so that a CI run explores a prefix of what a longer run
# with the same seed explored before a commit (a gate, reproducible); SIMDMAX_FUZZ_SEED=0 lets libFuzzer pick one
# (exploration: run that for hours when changing a contract, and keep what it finds as seeds and regression tests).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${SIMDMAX_FUZZ_SECONDS:-60}}
fuzzers=${SIMDMAX_FUZZERS:-softmax online attention}
seed=${SIMDMAX_FUZZ_SEED:-1}
scripts/install_deps.sh --fuzz
echo "== simdmax: fuzz build =="
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)"
mkdir -p build/fuzz/artifacts build/fuzz/logs
status=0
failed=""
for name in $fuzzers; do
  seeds=tests/fuzz/corpus
  [ "$name" = softmax ] || seeds=tests/fuzz/corpus_$name
  mkdir -p "build/fuzz/corpus_$name"
  echo "== simdmax: fuzzing $name for ${seconds} s (seed $seed) =="
  # detect_leaks=0: TBB's worker threads and the process-wide arena live until exit, which LeakSanitizer's
  # per-input check would report; the ASan test preset runs with leak detection on.
  if ! ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build/fuzz/tests/fuzz/simdmax_${name}_fuzzer" -max_total_time="$seconds" -seed="$seed" -timeout=30 -rss_limit_mb=4096 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$name-" \
    "build/fuzz/corpus_$name" "$seeds" 2>&1 | tee "build/fuzz/logs/$name.log"; then
    echo "== simdmax: fuzzer $name FAILED (input in build/fuzz/artifacts/$name-*) =="
    status=1
    failed="$failed $name"
  fi
done
# A failure is repeated after the last harness, so that it is in the tail of a CI log (the later harnesses' output
# would otherwise bury it): the harness's check message or sanitizer report, and the input as hex.
for name in $failed; do  # (on stderr: the stream libFuzzer writes to)
  exec 1>&2
  echo "== simdmax: fuzzer $name FAILED: what it printed about the failure =="
  grep -E -A12 "simdmax fuzzer: check failed|ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|SUMMARY" \
    "build/fuzz/logs/$name.log" | grep -v -E "^(#[0-9]|\s+NEW_FUNC)" | head -60 || true
  for artifact in build/fuzz/artifacts/"$name"-*; do
    [ -f "$artifact" ] || continue
    echo "== simdmax: $artifact ($(wc -c <"$artifact") bytes) =="
    od -A d -t x1 "$artifact" | head -40
  done
done
exit $status
