"""Build _layout_kernels in place:  python research/layout/build.py
(cds into this folder; all build products stay in research/layout/)."""
import os, sys
from setuptools import Extension, setup
from Cython.Build import cythonize
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)
if len(sys.argv) == 1:
    sys.argv += ["build_ext", "--inplace", "--build-temp", os.path.join(here, "build")]
ext = Extension("_layout_kernels", ["_layout_kernels.pyx"],
                include_dirs=[np.get_include()],
                extra_compile_args=["-O3"],   # no -march=native: portable, like a wheel
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
setup(name="layout_bench", ext_modules=cythonize([ext], language_level=3, quiet=True),
      script_args=sys.argv[1:])
