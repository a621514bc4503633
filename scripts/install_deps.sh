#!/usr/bin/env bash
# Installs the Debian packages simdmax needs. Runs apt-get when root; otherwise prints the exact command.
#   scripts/install_deps.sh [--python] [--python-torch] [--bench-peers] [--torch] [--cross] [--fuzz]
#     (no flag)       build + tests: cmake, g++, libhwy-dev, libtbb-dev, libgtest-dev, libbenchmark-dev
#     --python        the Python package (python/) and its suite: Debian's python3 with NumPy, setuptools, wheel,
#                     pip, pybind11 and DLPack headers, pytest and hypothesis
#     --python-torch  also python3-torch (1.13), for the suite's PyTorch/DLPack/bfloat16 tests: ~200 packages,
#                     which is why only CI and --python-torch install it (without it those tests are skipped)
#     --bench-peers   also oneDNN, XNNPACK (+pthreadpool) and matplotlib for the benchmark comparison
#     --torch         also PyTorch (libtorch-dev) as a benchmark peer: opt-in, since on Debian 12 it pulls in about
#                     150 packages (OpenCV, Qt5, GDAL, ...) and ~470 MB
#     --cross         also the AArch64 cross toolchain, qemu-user and arm64 multiarch libraries
#     --fuzz          also clang (libFuzzer)
set -euo pipefail

want=(cmake g++ make pkg-config libhwy-dev libtbb-dev libgtest-dev libbenchmark-dev)
cross_arm64=()
for arg in "$@"; do
  case "$arg" in
    --bench-peers) want+=(libdnnl-dev libxnnpack-dev libpthreadpool-dev python3-matplotlib) ;;
    --python)
      want+=(python3 python3-dev python3-numpy python3-setuptools python3-wheel python3-pip pybind11-dev
        libdlpack-dev python3-pytest python3-hypothesis)
      ;;
    --python-torch) want+=(python3-torch) ;;
    --torch) want+=(libtorch-dev) ;;
    --cross)
      want+=(g++-aarch64-linux-gnu qemu-user)
      cross_arm64=(libhwy-dev:arm64 libtbb-dev:arm64 libgtest-dev:arm64)
      ;;
    --fuzz) want+=(clang libclang-rt-dev) ;;
    *) echo "install_deps.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${want[@]}" "${cross_arm64[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then missing+=("$pkg"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "simdmax: missing packages. Run as root:" >&2
  [ ${#cross_arm64[@]} -gt 0 ] && echo "  dpkg --add-architecture arm64" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#cross_arm64[@]} -gt 0 ] && ! dpkg --print-foreign-architectures | grep -q arm64; then
  dpkg --add-architecture arm64
fi
echo "simdmax: installing ${missing[*]}"
# Another apt-get may hold the lock (shared machines, CI images): wait for it, then retry a few times.
apt_get() {
  local try
  for try in 1 2 3 4 5; do
    apt-get -o DPkg::Lock::Timeout=300 "$@" && return 0
    echo "simdmax: apt-get $1 failed (try $try), retrying in 20 s" >&2
    sleep 20
  done
  return 1
}
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
