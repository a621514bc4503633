#!/usr/bin/env bash
# Builds Release and runs the benchmark suite (bench/): simdmax on every target this CPU supports, memcpy of the
# same bytes, and the peers whose Debian packages are present (oneDNN, XNNPACK, PyTorch), with 1 and 2 threads.
# Writes bench/results/<timestamp>.json and latest.json, prints a Markdown summary (also bench/results/latest.md)
# and draws bench/results/latest.png.
#   scripts/bench.sh            full run: all shapes, 3 interleaved repetitions of >= 0.2 s each, medians reported
#   scripts/bench.sh --quick    a few minutes: shapes up to 4M elements, 1 repetition of >= 0.05 s
# Both also run the typed suite (simdmax_bench --simdmax_typed: f16/bf16 pairs against oneDNN/PyTorch on half
# tensors and memcpy of the same bytes), summarised in its own section of latest.md, and simdmax_attention_bench
# (bench/attention_bench.cc: decode, paged decode, decode batch, prefill and feature costs of simdmax_attention
# against streaming the same K/V bytes), summarised in "Attention for engines"; --quick runs only its engine
# benchmarks (BM_Engine*, BM_StreamKV), once each.
#   scripts/bench.sh --no-attention   leave simdmax_attention_bench out
#   scripts/bench.sh --with-torch   also install libtorch-dev (large: ~150 packages, ~470 MB) and benchmark it
# Extra arguments after -- go to simdmax_bench (e.g. -- --benchmark_filter=softmax/simdmax).
set -euo pipefail
cd "$(dirname "$0")/.."

cmdline=""
[ $# -gt 0 ] && cmdline=$(printf " %s" "$@")
quick=0
attention=1
deps=(--bench-peers)
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --with-torch) deps+=(--torch) ;;
    --no-attention) attention=0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

# Peers are optional: if some cannot be installed (not root), build with what is there.
scripts/install_deps.sh "${deps[@]}" || echo "simdmax: continuing with the peers that are installed" >&2

echo "== simdmax: release build =="
cmake --preset release >/dev/null
targets=(simdmax_bench simdmax_accuracy_cost_bench)
[ "$attention" -eq 1 ] && targets+=(simdmax_attention_bench)
cmake --build --preset release -j2 --target "${targets[@]}"

bench=build/release/bench/simdmax_bench
results=bench/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "$quick" -eq 1 ]; then
  # Drops 8x1048576 and 16x4194304 (the two largest shapes).
  args=(--simdmax_max_elements=4194304 --benchmark_min_time=0.05 --benchmark_repetitions=1)
else
  # Random interleaving spreads each benchmark's repetitions over the run, so that a change in the machine's load
  # (it is shared) biases no implementation more than another.
  args=(--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true)
fi

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "simdmax: warning: load average $load before the run; other processes compete for the cores" >&2
fi

echo "== simdmax: benchmarks ($([ "$quick" -eq 1 ] && echo quick || echo full)) =="
json_files=("$results/$stamp.json")
"$bench" "${args[@]}" --benchmark_out="$results/$stamp.json" --benchmark_out_format=json "${extra[@]}"

# ATen 1.13 uses AVX-512 only when started with ATEN_CPU_CAPABILITY=avx512: run its benchmarks a second time so.
# (The list is captured first: with pipefail, grep -q closing the pipe early would fail the test.)
tests=$("$bench" --benchmark_list_tests)
if grep -q '/torch:' <<<"$tests" && grep -qw avx512f /proc/cpuinfo; then
  echo "== simdmax: PyTorch benchmarks with ATEN_CPU_CAPABILITY=avx512 =="
  ATEN_CPU_CAPABILITY=avx512 "$bench" "${args[@]}" --benchmark_filter='/torch:' \
    --benchmark_out="$results/$stamp-torch-avx512.json" --benchmark_out_format=json "${extra[@]}"
  json_files+=("$results/$stamp-torch-avx512.json")
fi

# The typed suite (f16/bf16 pairs, issue 10): fewer shapes and implementations, shorter minimum time.
echo "== simdmax: typed benchmarks (f16, bf16) =="
if [ "$quick" -eq 1 ]; then
  typed_args=(--simdmax_max_elements=4194304 --benchmark_min_time=0.05 --benchmark_repetitions=1)
else
  typed_args=(--benchmark_min_time=0.1 --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true)
fi
"$bench" --simdmax_typed "${typed_args[@]}" --benchmark_out="$results/$stamp-typed.json" --benchmark_out_format=json \
  "${extra[@]}"
json_files+=("$results/$stamp-typed.json")
if grep -q '/torch:' <<<"$tests" && grep -qw avx512f /proc/cpuinfo; then
  echo "== simdmax: typed PyTorch benchmarks with ATEN_CPU_CAPABILITY=avx512 =="
  ATEN_CPU_CAPABILITY=avx512 "$bench" --simdmax_typed "${typed_args[@]}" --benchmark_filter='/torch:' \
    --benchmark_out="$results/$stamp-typed-torch-avx512.json" --benchmark_out_format=json "${extra[@]}"
  json_files+=("$results/$stamp-typed-torch-avx512.json")
fi

# Attention as engines call it (simdmax_attention, simdmax_attention_batch) and the first attention API; extra
# arguments after -- are simdmax_bench's and do not go here. K/V up to 1 GiB (the f32 decode batch) are kept
# between benchmarks up to SIMDMAX_BENCH_CACHE_MIB (default 2048).
if [ "$attention" -eq 1 ]; then
  echo "== simdmax: attention benchmarks (simdmax_attention_bench) =="
  if [ "$quick" -eq 1 ]; then
    attention_args=(--benchmark_filter='^BM_(Engine|StreamKV)' --benchmark_min_time=0.05 --benchmark_repetitions=1)
  else
    attention_args=(--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true)
  fi
  build/release/bench/simdmax_attention_bench "${attention_args[@]}" \
    --benchmark_out="$results/$stamp-attention.json" --benchmark_out_format=json
  json_files+=("$results/$stamp-attention.json")
fi

python=python3
command -v python3 >/dev/null || python=/usr/bin/python3
echo
"$python" bench/summarize.py "${json_files[@]}" --command "scripts/bench.sh${cmdline}" --merged-out "$results/$stamp.json" --md-out "$results/latest.md"
rm -f "$results/$stamp-torch-avx512.json" "$results/$stamp-typed.json" "$results/$stamp-typed-torch-avx512.json" \
  "$results/$stamp-attention.json"
cp "$results/$stamp.json" "$results/latest.json"

# The chart needs Debian's matplotlib, which a pyenv python3 on PATH may not have.
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 bench/plot.py "$results/latest.json" -o "$results/latest.png"
  echo "simdmax: chart written to $results/latest.png"
else
  echo "simdmax: no chart (python3-matplotlib is not installed)" >&2
fi
# The cost of each accuracy device (kernels/ passes with and without it, one in-cache row, best target).
echo
echo "== simdmax: cost of the accuracy devices =="
build/release/bench/simdmax_accuracy_cost_bench --benchmark_min_time=$([ "$quick" -eq 1 ] && echo 0.05 || echo 0.3) \
  --benchmark_repetitions=$([ "$quick" -eq 1 ] && echo 1 || echo 3) --benchmark_report_aggregates_only=true \
  | tee "$results/accuracy_cost.txt"
echo "simdmax: results in $results/$stamp.json (also latest.json), summary in $results/latest.md"
