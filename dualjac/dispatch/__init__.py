"""NumPy dispatch for dual arrays: NEP 13 ufuncs, NEP 18 functions, NEP 35 ``like=``.

Every jet (DualArray / HyperDualArray) is one buffer ``S + (K,)`` whose last
axis holds the value and the partials (see src_c/_core.pyx). That makes most of
NumPy easy and exact:

* structural functions (reshape, transpose, concatenate, indexing, ...) are the
  same function on the buffer with the component axis kept last;
* linear functions (sum, mean, cumsum, trace, ...) are the same function on the
  buffer, since they act on every component alike;
* multilinear functions (matmul, dot, einsum, tensordot, ...) go through one
  jet-aware einsum: a jet product and a jet sum where that product is small, one
  einsum on the buffer for a single jet, else the product rule (first and second order);
* elementwise functions are rows of the rules table, run by the C kernels
  (the fast path in ``_core`` catches plain calls before they reach here);
* other nonlinear functions (prod, max, norm, clip, ...) are compositions of
  the above, so their second derivatives come for free.

Anything else raises a TypeError naming the function: dualjac never returns a
silently derivative-free result.

Layout. ``registry`` holds the tables, the decorators that fill them and the
entry points _core calls; ``jets`` the helpers every rule uses. Neither imports
a rule module. A rule module imports the registry, the helpers and rule
modules of earlier layers only (its rules call theirs directly):

    layer 1  structural   reshape, transpose, joins, where, take, split, pad, ...
             compositions flipud, fliplr, rot90, rollaxis, append, tril, triu, kron, sinc,
                          round, real, imag, angle, nan_to_num: NumPy calls only, so
                          the sparsity tracer runs them too
             scimath      np.emath.sqrt, log, log2, log10, logn, power, arccos, arcsin,
                          arctanh: the real functions inside the real domain
    layer 2  elementwise  floor_divide, comparisons, clip, select, interp, polyval
             creation     zeros_like, np.zeros(n, like=x), asarray, ...
             queries      argmax, argsort, searchsorted, isclose, shape, ... (values only)
             products     einsum, matmul, dot, inner, outer, tensordot, vecdot, ...
             reductions   sum, mean, cumsum, prod, max / min, norm, var / std, diff, ...
             folds        reduce / accumulate of any other binary ufunc with a rule
                          (np.logaddexp.reduce, np.maximum.accumulate): NumPy calls only
             linalg       det, slogdet, inv, solve, cholesky, cross
             special      scipy.special ufuncs whose partials SciPy evaluates (jv, gamma, ...)
             calculus     gradient, trapezoid
             grids        linspace, logspace, geomspace, vander, meshgrid
             rearranging  insert, delete, resize, choose, partition, piecewise,
                          apply_along_axis, apply_over_axes, compress, extract, trim_zeros,
                          sliding_window_view, unstack, block, dstack, broadcast_arrays
             fourier      np.fft's shifts and real transforms (irfft, irfftn, hfft)
             signal       convolve, correlate
             moments      ptp, average, cov, corrcoef
                          (these five: NumPy calls only, as compositions)
    layer 3  arrayapi     np.linalg's array API names, tensorinv, tensorsolve
             sets         union1d, intersect1d, setdiff1d, setxor1d, unique_* (NumPy calls)
             sorting      sort, median
             decompositions  eigh, eigvalsh, eig, eigvals, svd, svdvals, qr, lstsq, pinv,
                          norm of order 2 / -2 / "nuc", cond, matrix_rank, matrix_power,
                          multi_dot (imports linalg's frame helpers, so after layer 2)
             statistics   quantile, percentile, the nan-functions, histogram, bincount,
                          unique (NumPy calls only)
             polynomials  polyfit, polyder, polyint, polyadd, polymul, polydiv, poly, roots
             floats       heaviside, copysign, float_power, ldexp, frexp, modf, divmod,
                          spacing, nextafter, i0
             writes       put, place, copyto, putmask, fill_diagonal, put_along_axis,
                          ediff1d, diagflat, unwrap

This module is the one place that lists the rule modules: importing it
registers every rule. ``install()`` then hands _core the entry points.
"""

from . import registry
from . import compositions, scimath, structural
from . import creation, elementwise, folds, linalg, products, queries, reductions, special
from . import calculus, fourier, grids, moments, rearranging, signal
from . import arrayapi, decompositions, floats, polynomials, sets, sorting, statistics, writes

# Every rule module, by layer (tests/test_dispatch_layout.py checks the imports).
LAYERS = ((compositions, scimath, structural),
          (creation, elementwise, folds, linalg, products, queries, reductions, special,
           calculus, fourier, grids, moments, rearranging, signal),
          (arrayapi, decompositions, floats, polynomials, sets, sorting, statistics, writes))


def install():
    """Register the rules-table ufuncs and set _core's NumPy hooks (at import of dualjac)."""
    registry.install()
