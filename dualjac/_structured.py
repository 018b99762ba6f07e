"""When the dense transforms use structure, and which.

``dj.jacobian``, ``dj.gradient`` and ``dj.hessian`` of one float array try, in this order:

1. banded jets (``src_c/_banded.pxi``, from the compiled entries): no preparation at all, for
   code whose elements depend on neighbouring elements through slices and elementwise math;
   they give up when f writes into them or when they would turn into a dense jet of more than
   ``DENSIFY_LIMIT`` bytes;
2. structure found by tracing (``dualjac/sparse.py``): the pattern and a coloring, then one
   sweep with a seed per color (Jacobians), or per color of f's terms when f is a sum of
   local terms (gradients and Hessians); taken when the colors are at most ``PAYS`` of the
   seeds it saves;
3. dense seeds (in chunks for large sources).

Each step returns the same numbers; they differ only in cost. SciPy is needed for step 2
(the coloring works on scipy.sparse patterns); without it, step 2 is skipped.
"""

import numpy as np

from . import _core

STRUCTURED_MIN = 129            # sources this large (in elements) look for structure:
STRUCTURED_MIN_HESSIAN = 48     # (a dense Hessian sweep costs n^3, a Jacobian's n^2)
DENSIFY_LIMIT = 512 << 10       # bytes of a dense jet a banded sweep may still turn into
PAYS = 0.5                      # colors / seeds below which a colored sweep is taken

_core.set_densify_limit(DENSIFY_LIMIT)


def _plain_float_array(x, least=STRUCTURED_MIN):
    return (type(x) is np.ndarray and x.dtype.char in "fd" and x.dtype.isnative
            and x.size >= least)


def _sparse_module():
    try:
        from . import sparse
    except ImportError:          # SciPy is optional
        return None
    return sparse


def value_and_jacobian(f, x):
    """(f(x), dense Jacobian) from a colored sweep, or None where that does not pay."""
    sparse = _plain_float_array(x) and _sparse_module()
    if not sparse:
        return None
    try:
        prepared = sparse.SparseJacobian(f, x, format="dense")
    except Exception:            # f on dual arrays (the dense way) raises what it raises
        return None
    if prepared.sparsity.nnz == 0:
        return None              # unconnected or zero derivative: the dense way knows which
    if prepared.ncolors > PAYS * x.size:
        # A scalar depends on every source; a sum of local terms still has structure.
        return _separable_gradient(sparse, f, x) if prepared.out_shape == () else None
    value, J = prepared.value_and_jacobian(x)
    return value, J.astype(x.dtype, copy=False)


def _separable_gradient(sparse, f, x):
    try:
        result = sparse.separable_gradient(f, x)
    except Exception:
        return None
    return result


def hessian(f, x):
    """The dense Hessian of a scalar f that ends in a sum of local terms, from one colored
    sweep, or None."""
    sparse = _plain_float_array(x, STRUCTURED_MIN_HESSIAN) and _sparse_module()
    if not sparse:
        return None
    try:
        prepared = sparse.SparseHessian(f, x, format="dense")
    except Exception:
        return None
    if prepared.plan is None or prepared.ncolors > PAYS * x.size:
        return None
    return prepared(x).astype(x.dtype, copy=False)
