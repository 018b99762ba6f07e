"""Build dualjac's extension: render the kernels from the rules table, then cythonize.

Build requirements (pyproject.toml): setuptools, Cython >= 3, NumPy >= 2.

The extension dualjac._core is several C translation units: _core.c (Cython's
translation of src_c/_core.pyx), blocks.c (the vectorized value passes) and the
kernel units src_c/kernels/generate.py renders (_kernels_<dtype>_<part>.c). setuptools
compiles one extension's sources one after another; ParallelBuildExt compiles
them on a pool of threads, one per CPU, slowest first, then links as usual.
"""
import glob
import os
import runpy
from concurrent.futures import ThreadPoolExecutor

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.modified import newer_group
except ImportError:     # setuptools < 69
    from distutils.dep_util import newer_group

HERE = os.path.dirname(os.path.abspath(__file__))
generate = runpy.run_path(os.path.join(HERE, "src_c", "kernels", "generate.py"))
generate["write_all"]()
KERNEL_UNITS = [f"src_c/kernels/{name}" for name in generate["unit_names"]()]
HEADERS = sorted(glob.glob("src_c/include/*.h") + glob.glob("src_c/kernels/*.h"))   # _kernels.h too


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not Linux
        return os.cpu_count() or 1


class ParallelBuildExt(build_ext):
    """build_ext that compiles an extension's C sources concurrently, the
    largest first (the slowest to compile: _core.c), on `build_ext -j N` threads
    or one per CPU; objects are linked in the usual order.

    A source whose object file is newer than it and than every header (src_c/include,
    src_c/kernels) is not compiled again (`build_ext --force` does): setuptools would
    recompile all of them when any one changed, and `pip install` in a fresh
    build environment re-translates _core.pyx (NumPy's .pxd files there are
    new, and Cython lists them among the extension's dependencies), while the
    kernel units have not changed."""

    def build_extension(self, ext):
        compile_one_by_one = self.compiler.compile
        workers = self.parallel if isinstance(self.parallel, int) else available_cpus()

        def compile_if_changed(source, output_dir=None, **kwargs):
            obj, = self.compiler.object_filenames([source], output_dir=output_dir)
            if not self.force and os.path.exists(obj) and not newer_group([source, *HEADERS], obj):
                return [obj]
            return compile_one_by_one([source], output_dir=output_dir, **kwargs)

        def compile_concurrently(sources, **kwargs):
            largest_first = sorted(sources, key=os.path.getsize, reverse=True)
            with ThreadPoolExecutor(max(1, workers)) as pool:
                objects = dict(zip(largest_first, pool.map(
                    lambda source: compile_if_changed(source, **kwargs), largest_first)))
            return [obj for source in sources for obj in objects[source]]

        self.compiler.compile = compile_concurrently
        try:
            super().build_extension(ext)
        finally:
            del self.compiler.compile


extension = Extension(
    "dualjac._core",
    sources=["src_c/_core.pyx", *KERNEL_UNITS, "src_c/kernels/blocks.c"],
    depends=[*HEADERS, *glob.glob("src_c/*.pxi"), *glob.glob("src_c/kernels/*.pxi")],
    include_dirs=[numpy.get_include(), os.path.join(HERE, "src_c", "include"),
                  os.path.join(HERE, "src_c", "kernels")],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    # -fno-math-errno lets the compiler share libm calls inside a kernel
    # (the value and its derivative often need the same sin/exp);
    # -ffp-contract=off keeps a*b + c two roundings in every ISA variant of
    # the kernels and src_c/kernels/blocks.c, so results do not depend on the CPU.
    # -g0: Python's own CFLAGS ask for debug information, a fifth of the
    # compile time of the kernels, and nothing reads it in a wheel.
    extra_compile_args=["-O3", "-g0", "-fno-math-errno", "-ffp-contract=off"],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={"language_level": 3},
        include_path=[os.path.join(HERE, "src_c"), os.path.join(HERE, "src_c", "kernels")],
    ),
    cmdclass={"build_ext": ParallelBuildExt},
)
