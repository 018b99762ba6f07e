"""NumPy dispatch for dual arrays: NEP 13 ufuncs, NEP 18 functions, NEP 35 ``like=``.

Every jet (DualArray / HyperDualArray) is one buffer ``S + (K,)`` whose last
axis holds the value and the partials (see src_c/_core.pyx). That makes most of
NumPy easy and exact:

* structural functions (reshape, transpose, concatenate, indexing, ...) are the
  same function on the buffer with the component axis kept last;
* linear functions (sum, mean, cumsum, trace, ...) are the same function on the
  buffer, since they act on every component alike;
* multilinear functions (matmul, dot, einsum, tensordot, ...) go through one
  jet-aware einsum that applies the product rule (first and second order);
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
    layer 2  elementwise  floor_divide, comparisons, clip, select, interp, polyval
             creation     zeros_like, np.zeros(n, like=x), asarray, ...
             queries      argmax, argsort, searchsorted, isclose, shape, ... (values only)
             products     einsum, matmul, dot, inner, outer, tensordot, vecdot, ...
             reductions   sum, mean, cumsum, prod, max / min, norm, var / std, diff, ...
             linalg       det, slogdet, inv, solve, cholesky, cross
             calculus     gradient, trapezoid
             grids        linspace, logspace, geomspace, vander, meshgrid
             rearranging  insert, delete, resize, choose, partition, piecewise,
                          apply_along_axis, apply_over_axes
             signal       convolve, correlate
             statistics   ptp, average, cov, corrcoef
                          (these five: NumPy calls only, as compositions)
    layer 3  sorting      sort, median

This module is the one place that lists the rule modules: importing it
registers every rule. ``install()`` then hands _core the entry points.
"""

from . import registry
from . import compositions, structural
from . import creation, elementwise, linalg, products, queries, reductions
from . import calculus, grids, rearranging, signal, statistics
from . import sorting

# Every rule module, by layer (tests/test_dispatch_layout.py checks the imports).
LAYERS = ((compositions, structural),
          (creation, elementwise, linalg, products, queries, reductions,
           calculus, grids, rearranging, signal, statistics),
          (sorting,))


def install():
    """Register the rules-table ufuncs and set _core's NumPy hooks (at import of dualjac)."""
    registry.install()
