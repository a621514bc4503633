#!/usr/bin/env bash
# Builds simdmax and runs the whole test suite with ctest: the tolerance suite on every target this CPU supports,
# the API and layout tests, and the find_package consumer example against an install tree.
#   scripts/test.sh            native Release build + tests (what the README's quick start runs)
#   scripts/test.sh --ci       everything CI runs: the above, plus the ASan+UBSan build and its tests
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1 ;;
    *) echo "test.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done

jobs=$(nproc 2>/dev/null || echo 2)
scripts/install_deps.sh

run_preset() {
  local preset=$1
  echo "== simdmax: $preset build =="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== simdmax: $preset tests =="
  ctest --preset "$preset" -j "$jobs"
}

run_preset release
if [ "$ci" -eq 1 ]; then
  run_preset asan
fi
echo "== simdmax: all tests passed =="
