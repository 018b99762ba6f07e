"""The array API's names in np.linalg (and np.matrix_transpose), and tensorinv / tensorsolve.

Each is NumPy's own definition written with the NumPy functions that already have rules:
the array API versions act on the last two axes (a stack of matrices) or the last axis (a
stack of vectors) and take their options as keywords. NumPy calls only, so every kind of
jet and the sparsity tracer run them as they are (``registry.COMPOSITES``); argument errors
are NumPy's, from NumPy's own function on a plain array of the same shape.
"""

import operator

import numpy as np

from .registry import implements_composite


def _probe(shape):
    """A plain array of this shape that takes no memory (one broadcast element)."""
    return np.broadcast_to(np.zeros((), dtype=np.float64), shape)


@implements_composite(np.linalg.diagonal)
def linalg_diagonal(x, /, *, offset=0):
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


@implements_composite(np.linalg.matmul)
def linalg_matmul(x1, x2, /):
    return np.matmul(x1, x2)


@implements_composite(np.linalg.matrix_transpose, np.matrix_transpose)
def matrix_transpose(x, /):
    np.matrix_transpose(_probe(np.shape(x)))      # NumPy's error below two dimensions
    return np.swapaxes(x, -1, -2)


@implements_composite(np.linalg.outer)
def linalg_outer(x1, x2, /):
    if np.ndim(x1) != 1 or np.ndim(x2) != 1:
        np.linalg.outer(_probe(np.shape(x1)), _probe(np.shape(x2)))   # raises NumPy's error
    return np.multiply(np.reshape(x1, (-1, 1)), np.reshape(x2, (1, -1)))


@implements_composite(np.linalg.tensordot)
def linalg_tensordot(x1, x2, /, *, axes=2):
    return np.tensordot(x1, x2, axes=axes)


@implements_composite(np.linalg.trace)
def linalg_trace(x, /, *, offset=0, dtype=None):
    return np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


@implements_composite(np.linalg.vecdot)
def linalg_vecdot(x1, x2, /, *, axis=-1):
    np.linalg.vecdot(_probe(np.shape(x1)), _probe(np.shape(x2)), axis=axis)   # NumPy's checks
    # sum(x1 * x2) over the axis: real arrays need no conjugation
    return np.sum(np.multiply(np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)), axis=-1)


@implements_composite(np.linalg.vector_norm)
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """NumPy's definition: the axes are moved last and merged into one, whose np.linalg.norm
    of order ``ord`` is taken; keepdims puts length-one axes back where they were."""
    shape = np.shape(x)
    ndim = len(shape)
    axes = tuple(range(ndim)) if axis is None else (
        np.lib.array_utils.normalize_axis_tuple(axis, ndim))
    others = [i for i in range(ndim) if i not in axes]
    moved = np.transpose(x, others + list(axes))
    merged = np.reshape(moved, tuple(shape[i] for i in others) + (-1,))
    result = np.linalg.norm(merged, ord=ord, axis=-1)
    if keepdims:
        result = np.reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return result


@implements_composite(np.linalg.matrix_norm)
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    if np.ndim(x) < 2:
        np.linalg.matrix_norm(_probe(np.shape(x)))   # raises NumPy's error
    return np.linalg.norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@implements_composite(np.linalg.tensorinv)
def tensorinv(a, ind=2):
    shape = np.shape(a)
    if operator.index(ind) <= 0:
        raise ValueError("Invalid ind argument.")
    rows = int(np.prod(shape[ind:], dtype=np.int64))
    inverse = np.linalg.inv(np.reshape(a, (rows, -1)))
    return np.reshape(inverse, shape[ind:] + shape[:ind])


@implements_composite(np.linalg.tensorsolve)
def tensorsolve(a, b, axes=None):
    ndim = np.ndim(a)
    if axes is not None:
        order = list(range(ndim))
        for k in axes:
            order.remove(k)
            order.insert(ndim, k)
        a = np.transpose(a, order)
    unknown_shape = np.shape(a)[-(ndim - np.ndim(b)):]
    count = int(np.prod(unknown_shape, dtype=np.int64))
    if np.size(a) != count ** 2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])")
    solution = np.linalg.solve(np.reshape(a, (count, count)), np.ravel(b))
    return np.reshape(solution, unknown_shape)
