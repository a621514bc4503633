# Cross-compiling simdmax for AArch64 (Debian: g++-aarch64-linux-gnu + arm64 multiarch libraries, installed by
# scripts/install_deps.sh --cross) and running its tests under qemu-user. Used by the `aarch64` preset.
#
# The emulator is plain `qemu-aarch64`, without `-L /usr/aarch64-linux-gnu`: with -L, TBB's parallel_for was seen
# to hang here. The arm64 multiarch libraries live under /usr/lib/aarch64-linux-gnu and the loader is
# /lib/ld-linux-aarch64.so.1 on the host, so no sysroot prefix is needed (QEMU_LD_PREFIX=/ would be equivalent).
# Tests choose the emulated CPU with QEMU_CPU in their ENVIRONMENT (tests/CMakeLists.txt).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

find_program(SIMDMAX_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${SIMDMAX_QEMU_AARCH64})
