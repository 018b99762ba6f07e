"""When the dense transforms use structure, and which.

``dj.jacobian``, ``dj.gradient`` and ``dj.hessian`` of one float array try, in this order:

1. banded jets (``src_c/_banded.pxi``, from the compiled entries): no preparation at all, for
   code whose elements depend on neighbouring elements through slices and elementwise math;
   they give up when f writes into them or when they would turn into a dense jet of more than
   ``DENSIFY_LIMIT`` bytes (the thresholds: dualjac/_policy.py);
2. structure found by tracing (``dualjac/sparse.py``): the pattern and a coloring, then one
   sweep with a seed per color (Jacobians), or per color of f's terms when f is a sum of
   local terms (gradients and Hessians); taken when the colors are at most ``PAYS`` of the
   seeds it saves;
3. dense seeds (in chunks for large sources).

Each step returns the same numbers; they differ only in cost. SciPy is needed for step 2
(the coloring works on scipy.sparse patterns); without it, step 2 is skipped.
"""

import threading
import weakref

import numpy as np

from ._policy import DENSIFY_LIMIT, PAYS, STRUCTURED_MIN, STRUCTURED_MIN_HESSIAN  # noqa: F401

NOT_WORTH = "no structure worth a colored sweep"
_cache = threading.local()


def _plain_float_array(x, least=STRUCTURED_MIN):
    return (type(x) is np.ndarray and x.dtype.char in "fd" and x.dtype.isnative
            and x.size >= least)


def _sparse_module():
    try:
        from . import sparse
    except ImportError:          # SciPy is optional
        return None
    return sparse


def _prepared(f, kind, x, make):
    """The prepared object for (f, kind, x's shape and dtype), made once per thread and kept
    while f lives. Keeping it is safe: every call of a prepared object checks its result
    against a probe seed and traces f again when f's structure changed. The object does not
    hold f (f is passed at each call), so that the cache does not keep f alive."""
    table = getattr(_cache, "table", None)
    if table is None:
        table = _cache.table = weakref.WeakKeyDictionary()
    try:
        entries = table.setdefault(f, {})
    except TypeError:            # f cannot be weakly referenced: prepare at every call
        return make()
    key = (kind, x.shape, x.dtype.str)
    if key not in entries:
        entries[key] = make()
    return entries[key]


def known(f, kind, x):
    """What an earlier call prepared for (f, kind, x), if it found structure worth using:
    the transforms then skip the banded attempt, which failed for this f before."""
    entries = (getattr(_cache, "table", {}).get(f)
               if _plain_float_array(x, min(STRUCTURED_MIN, STRUCTURED_MIN_HESSIAN)) else None)
    prepared = entries.get((kind, x.shape, x.dtype.str)) if entries else None
    return None if prepared is NOT_WORTH else prepared


def _run(prepared, f, call, x):
    """call(prepared, x) with prepared.f = f for the call; None if f turned out to change
    between calls in ways its trace cannot follow (the dense way then answers)."""
    prepared.f = f
    try:
        return call(prepared, x)
    except RuntimeError:
        return None
    finally:
        prepared.f = None


def _made(prepared):
    if prepared is not NOT_WORTH:
        prepared.f = None
    return prepared


def value_and_jacobian(f, x):
    """(f(x), dense Jacobian) from a colored sweep, or None where that does not pay."""
    sparse = _plain_float_array(x) and _sparse_module()
    if not sparse:
        return None
    prepared = _prepared(f, "jacobian", x, lambda: _made(_jacobian_plan(sparse, f, x)))
    if prepared is NOT_WORTH:
        return None
    if isinstance(prepared, sparse.SparseGradient):
        return _run(prepared, f, lambda p, z: p(z), x)
    found = _run(prepared, f, lambda p, z: p.value_and_jacobian(z), x)
    return None if found is None else (found[0], found[1].astype(x.dtype, copy=False))


def _jacobian_plan(sparse, f, x):
    try:
        pattern = sparse.JacobianPattern(f, x)
        if pattern.out_shape == ():
            # A scalar depends on every source; a sum of local terms still has structure.
            gradient = sparse.SparseGradient(f, x)
            return gradient if gradient.separable else NOT_WORTH
        if pattern.rows.size == 0:
            return NOT_WORTH     # unconnected or zero derivative: the dense way knows which
        prepared = sparse.SparseJacobian(f, x, format="dense", _pattern=pattern)
    except Exception:            # f on dual arrays (the dense way) raises what it raises
        return NOT_WORTH
    return prepared if prepared.ncolors <= PAYS * x.size else NOT_WORTH


def hessian(f, x):
    """The dense Hessian of a scalar f that ends in a sum of local terms, from one colored
    sweep, or None."""
    sparse = _plain_float_array(x, STRUCTURED_MIN_HESSIAN) and _sparse_module()
    if not sparse:
        return None
    prepared = _prepared(f, "hessian", x, lambda: _made(_hessian_plan(sparse, f, x)))
    if prepared is NOT_WORTH:
        return None
    H = _run(prepared, f, lambda p, z: p(z), x)
    return None if H is None else H.astype(x.dtype, copy=False)


def _hessian_plan(sparse, f, x):
    try:
        prepared = sparse.SparseHessian(f, x, format="dense")
    except Exception:
        return NOT_WORTH
    if prepared.plan is None or prepared.ncolors > PAYS * x.size:
        return NOT_WORTH
    return prepared
