"""Helpers shared by the dispatch rules: what a jet is, its values, its buffer.

Every jet (DualArray / HyperDualArray) is one buffer ``S + (K,)`` whose last
axis holds the value and the partials (see src_c/_core.pyx). A rule works on
``a.buf`` with the component axis kept last and wraps its result at ``a``'s
level: ``on_buffer`` for a new buffer, ``view_of`` for a view that writes must
reach. This module imports no other module of the package.
"""

import numpy as np

from .. import _core
from .._core import _Jet


def is_jet(x):
    return isinstance(x, _Jet)


def is_stand_in(x):
    """A stand-in for a jet (a deferred jet or its transpose) running a rule itself."""
    return isinstance(x, _core.STAND_IN_JETS)


def is_differentiable(x):
    """A jet, or a stand-in for one."""
    return isinstance(x, _Jet) or is_stand_in(x)


def computed(x):
    """x, or the computed jet of a stand-in (for a rule that reads buffers)."""
    return x._dense() if is_stand_in(x) else x


def value_of(x):
    if isinstance(x, _Jet):
        return x.buf[..., 0]
    if isinstance(x, _core._JetProtocol):
        # a deferred jet's, without its derivatives; the sparsity tracer's, which marks
        # its trace as depending on x's values (the rule may branch on them)
        return x._values("its values")
    return x


def is_scipy_sparse(x):
    """A scipy.sparse matrix or array (without importing SciPy)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocsr")


# ---------------------------------------------------------------- axes

def normalize_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def normalize_axes(axis, ndim):
    """axis=None/int/tuple -> tuple of non-negative element axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(normalize_axis(a, ndim) for a in axis)
    return (normalize_axis(axis, ndim),)


# ---------------------------------------------------------------- buffers

def jet_from(proto, buf, deps1, deps2):
    return proto.with_buffer(np.ascontiguousarray(buf), deps1, deps2)


def on_buffer(a, buf):
    """a's level and connectivity over a new buffer (a structural or linear result)."""
    return a.with_buffer(np.ascontiguousarray(buf))


def view_of(a, buf):
    """a's level over buf, a view of a's buffer where NumPy returns a view (reshape,
    transpose, ...): kept a view, never made contiguous, so that writes through it
    reach a (and a's connectivity is shared, see _core's Connectivity)."""
    return a.with_buffer(buf)


def unify(items):
    return _core.unify(list(items))


def with_values(result, values):
    """result's derivatives under NumPy's own values (exactly what NumPy returns). A
    deferred jet records it (the same bits), else runs it on its computed jet."""
    if hasattr(type(result), "with_values"):  # (the class's: a deferred jet's getattr computes)
        return result.with_values(values)     # the sparsity tracer's: its pattern as it is
    if is_stand_in(result):
        values = np.asarray(values)
        if values.dtype.kind == "f" and values.dtype != result.dtype:
            values = values.astype(result.dtype)   # as eager's store into the buffer rounds
        recorded = _core.deferred_with_values(result, values)
        if recorded is not None:
            return recorded
        result = computed(result)
    buf = result.buf.copy()
    buf[..., 0] = values
    return result.with_buffer(buf)


def astype(x, dtype):
    dtype = np.dtype(dtype)
    if is_stand_in(x):
        return x.astype(dtype)      # (a deferred jet: itself at its own dtype, else computed)
    if not is_jet(x):
        return np.asarray(x).astype(dtype)
    if dtype.char in "fd":
        return on_buffer(x, x.buf.astype(dtype.newbyteorder("=")))
    if dtype.kind in "biu":
        # Integer casts are not differentiable paths (as in TF): plain values.
        return x.buf[..., 0].astype(dtype)
    raise TypeError(f"dualjac: cannot cast a dual array to {dtype}; dual arrays hold "
                    "float32 or float64.")


# ---------------------------------------------------------------- errors in the user's terms

def on_value_shape(a, numpy_call, buffer_call):
    """buffer_call(): NumPy on a's buffer (a's axes and the component axis). When
    NumPy rejects the user's shape or axes there, numpy_call's error for a plain
    array of a's shape is raised instead: a message must be about the user's
    array, never show the component axis (size n * K, an extra axis)."""
    return on_value_shapes((a.shape,), numpy_call, buffer_call)


def on_value_shapes(shapes, numpy_call, buffer_call):
    """on_value_shape for a NumPy call on several arrays, of these shapes."""
    try:
        return buffer_call()
    except (ValueError, TypeError, IndexError):
        value_error = error_of(numpy_call, shapes)
        if value_error is None:
            raise
        raise value_error from None


def error_of(numpy_call, shapes):
    """The exception numpy_call raises on plain arrays of these shapes (None if
    none): read-only broadcasts of one byte, so that they take no memory."""
    try:
        numpy_call(*[np.broadcast_to(np.zeros((), np.int8), shape) for shape in shapes])
    except Exception as error:           # NumPy's own error, whatever its type
        return error
    return None


def reject_out(out, name):
    if out is not None:
        raise TypeError(f"dualjac: {name}(..., out=...) is not supported for dual "
                        "arrays; assign the result instead.")


def refuse(name, why):
    """The TypeError for arguments that have no derivative rule (np.pad's mode,
    np.sort's order, ...); ``why`` completes the sentence."""
    return TypeError(f"dualjac: {name} {why} Apply it to x.value if you mean to "
                     "differentiate nothing through it.")
