"""Build dualjac's extension: render the kernels from the rules table, then cythonize.

Build requirements (pyproject.toml): setuptools, Cython >= 3, NumPy >= 2.
"""
import os
import runpy

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
generate = runpy.run_path(os.path.join(HERE, "src_c", "generate.py"))
generate["write_all"]()

extension = Extension(
    "dualjac._core",
    sources=["src_c/_core.pyx"],
    depends=["src_c/_kernels.pxi", "src_c/_kernels.h", "src_c/block_cache.h",
             "src_c/_tags.pxi", "src_c/_banded.pxi", "src_c/_deferred.pxi",
             "src_c/_assembly.pxi", "src_c/_protocol.pxi",
             "src_c/special.h", "src_c/thread_pool.h", "src_c/blocks.h",
             "src_c/vecmath.h", "src_c/readout.h", "src_c/array_cache.h",
             "src_c/singular.h"],
    include_dirs=[numpy.get_include(), os.path.join(HERE, "src_c")],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    # -fno-math-errno lets the compiler share libm calls inside a kernel
    # (the value and its derivative often need the same sin/exp);
    # -ffp-contract=off keeps a*b + c two roundings in every ISA variant of
    # src_c/blocks.h, so results do not depend on the CPU.
    extra_compile_args=["-O3", "-fno-math-errno", "-ffp-contract=off"],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={"language_level": 3},
        include_path=[os.path.join(HERE, "src_c")],
    ),
)
