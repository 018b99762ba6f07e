"""Build dualjac's extension: render the kernels from the rules table, then cythonize.

Build requirements (pyproject.toml): setuptools, Cython >= 3, NumPy >= 2.
"""
import glob
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
    # _core.pyx includes its parts (*.pxi, the rendered _kernels.pxi too) and headers
    depends=sorted(glob.glob("src_c/*.pxi") + glob.glob("src_c/*.h")),
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
