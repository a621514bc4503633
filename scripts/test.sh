#!/usr/bin/env bash
# Builds simdmax and runs the whole test suite with ctest: the tolerance suite on every target this CPU supports,
# the API and layout tests, and the find_package consumer example against an install tree.
#   scripts/test.sh            native Release build + tests (what the README's quick start runs), then the Python
#                              package (python/) installed into build/python/site and its pytest suite
#   scripts/test.sh --cross    also the AArch64 cross build (preset aarch64), its suite run under qemu-user once per
#                              emulated CPU (NEON, SVE 128..2048 bits, SVE2); installs the cross set (--cross of
#                              scripts/install_deps.sh: needs root or prints the command)
#   scripts/test.sh --ci       everything CI runs: the above, plus the ASan+UBSan build and its tests, a bounded
#                              libFuzzer run of each harness (scripts/fuzz.sh, SIMDMAX_FUZZ_SECONDS each, default 60),
#                              the single-target build (preset static-target) and its tests, and the ThreadSanitizer
#                              build (preset tsan) with its concurrency and allocation-failure tests; --ci also
#                              installs python3-torch so that the Python suite's PyTorch tests run
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0
cross=0
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1; cross=1 ;;
    --cross) cross=1 ;;
    *) echo "test.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done

jobs=$(nproc 2>/dev/null || echo 2)
scripts/install_deps.sh --python
if [ "$ci" -eq 1 ]; then scripts/install_deps.sh --python-torch; fi
if [ "$cross" -eq 1 ]; then scripts/install_deps.sh --cross; fi

# A failure is reported on stderr as well as stdout: a CI log that keeps only the tail of one stream must still
# show what failed.
fail() {  # fail MESSAGE: prints it on both streams
  echo "== simdmax: $1 =="
  echo "== simdmax: $1 ==" >&2
}

current_step=setup
trap 'rc=$?; if [ "$rc" -ne 0 ]; then fail "step $current_step FAILED (exit $rc)"; fi' EXIT

step() {  # step NAME COMMAND...: runs a step and prints its time (CI logs show where the time goes)
  local name=$1 start
  shift
  current_step=$name
  start=$(date +%s)
  "$@"
  echo "== simdmax: $name took $(( $(date +%s) - start )) s =="
}

run_preset() {
  local preset=$1
  echo "== simdmax: $preset build =="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== simdmax: $preset tests =="
  if ! ctest --preset "$preset" -j "$jobs"; then
    # The failed tests again, their whole output on stderr (a rerun that passes shows a flaky test: still a failure).
    fail "$preset: tests FAILED; rerunning them with their output on stderr"
    ctest --preset "$preset" --rerun-failed --output-on-failure 1>&2 || true
    return 1
  fi
}

# The Python package over the release library: pip builds the extension offline (no index, no build isolation:
# Debian's setuptools, wheel and pybind11) into a private site directory, and pytest runs from outside the source
# tree so that `import simdmax` is the installed package. Debian's interpreter explicitly: its dist-packages hold
# NumPy and the rest (a pyenv or other python3 first on PATH would not see them); SIMDMAX_PYTHON overrides.
python_suite() {
  local py=${SIMDMAX_PYTHON:-/usr/bin/python3} site=$PWD/build/python/site tests=$PWD/python/tests
  rm -rf "$site" python/build
  mkdir -p "$site"
  SIMDMAX_BUILD_DIR=$PWD/build/release "$py" -m pip install --no-build-isolation --no-deps --no-index \
    --disable-pip-version-check -q --target "$site" ./python
  if ! "$py" -c "import torch" 2>/dev/null; then
    echo "simdmax: python3-torch not installed: the Python suite's PyTorch tests are skipped" \
      "(scripts/install_deps.sh --python-torch)"
  fi
  (cd build/python && PYTHONPATH=$site "$py" -m pytest -q -p no:cacheprovider -rs "$tests")
}

step release run_preset release
step python python_suite
if [ "$ci" -eq 1 ]; then
  step asan run_preset asan
  step fuzz scripts/fuzz.sh "${SIMDMAX_FUZZ_SECONDS:-60}"
  step static-target run_preset static-target
  step tsan run_preset tsan
fi
if [ "$cross" -eq 1 ]; then step "aarch64 (qemu) build + tests" run_preset aarch64; fi
echo "== simdmax: all tests passed =="
