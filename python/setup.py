"""Builds the simdmax Python package: the C library (CMake, from the repository above this folder, or an existing
build named by SIMDMAX_BUILD_DIR) and the pybind11 extension simdmax._core over its C API.

The shared library is copied into the package next to the extension, which finds it through an $ORIGIN rpath, so
the installed package needs nothing from the build tree. Dependencies are Debian packages: pybind11-dev,
libdlpack-dev (headers), libhwy-dev and libtbb-dev (scripts/install_deps.sh --python installs them).
"""
import glob
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _version():
    for line in open(os.path.join(ROOT, "CMakeLists.txt")):
        if line.startswith("project(simdmax VERSION "):
            return line.split()[2]
    raise RuntimeError("no version in CMakeLists.txt")


class BuildWithLibrary(build_ext):
    def run(self):
        build_dir = os.environ.get("SIMDMAX_BUILD_DIR")
        if build_dir:
            build_dir = os.path.abspath(build_dir)
        else:
            build_dir = os.path.join(os.path.abspath(self.build_temp), "simdmax")
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DSIMDMAX_BUILD_TESTS=OFF", "-DSIMDMAX_BUILD_BENCHMARKS=OFF",
                                   "-DBUILD_SHARED_LIBS=ON"])
            subprocess.check_call(["cmake", "--build", build_dir, "--target", "simdmax", "-j",
                                   str(os.cpu_count() or 2)])
        libs = sorted(glob.glob(os.path.join(build_dir, "libsimdmax.so.*")))
        if not libs:
            raise RuntimeError(f"no libsimdmax.so.* in {build_dir}")
        for ext in self.extensions:
            ext.library_dirs.append(build_dir)
        super().run()
        # The extension links libsimdmax.so.<major> (its SONAME); ship that file beside it.
        soname = min(libs, key=len)
        dest = os.path.dirname(self.get_ext_fullpath("simdmax._core"))
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(os.path.realpath(soname), os.path.join(dest, os.path.basename(soname)))


setup(
    name="simdmax",
    version=_version(),
    description="SIMD softmax, log-softmax, online softmax and attention kernels (Python binding of the C API)",
    packages=["simdmax"],
    ext_modules=[Extension(
        "simdmax._core", ["src/core.cc"],
        include_dirs=[os.path.join(ROOT, "include")],
        libraries=["simdmax"],
        extra_compile_args=["-std=c++17", "-O2", "-fvisibility=hidden"],
        extra_link_args=["-Wl,-rpath,$ORIGIN"],
        language="c++")],
    cmdclass={"build_ext": BuildWithLibrary},
    python_requires=">=3.9",
    install_requires=["numpy"],
)
