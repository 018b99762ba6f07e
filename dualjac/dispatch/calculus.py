"""Finite-difference calculus on jets: np.gradient and np.trapezoid.

NumPy's formulas in NumPy's order (so the values are NumPy's), with spacings that may be
jets too (dual coordinates). np.gradient writes its edges into a fresh array; here the
interior and the edges are joined instead, so banded and deferred jets and the sparsity
tracer run the rule as it is. Arguments are checked by NumPy's own function on plain arrays
of the same shapes, so the errors are NumPy's.
"""

import numpy as np

from .compositions import values_of
from .registry import implements_composite


def _spacing_probe(spacing):
    """A plain stand-in of a spacing argument, for NumPy's argument checks: scalars stay
    scalars, coordinate arrays become increasing ones of the same shape."""
    if np.ndim(spacing) == 0:
        return 1.0
    return np.arange(np.size(spacing), dtype=float).reshape(np.shape(spacing))


def _spacings(f, varargs, axes):
    """Per axis: a scalar step, or the differences of its coordinates (NumPy reduces
    constant differences to a scalar)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return list(varargs) * len(axes)
    dx = []
    for distances in varargs:
        if np.ndim(distances) == 0:
            dx.append(distances)
            continue
        if np.issubdtype(np.asarray(values_of(distances)).dtype, np.integer):
            distances = np.asarray(distances, dtype=np.float64)
        diffx = np.diff(distances)
        # NumPy takes equal plain differences as one step; equal dual ones stay apart,
        # each carrying the derivatives of its own coordinates.
        plain = isinstance(diffx, np.ndarray)
        dx.append(diffx[0] if plain and np.all(diffx == diffx[0]) else diffx)
    return dx


def _along(axis, ndim):
    def part(start, stop=None):
        index = [slice(None)] * ndim
        index[axis] = slice(start, stop)
        return tuple(index)
    return part


def _interior(f, part, ax_dx, axis):
    if np.ndim(ax_dx) == 0:
        return (f[part(2, None)] - f[part(None, -2)]) / (2. * ax_dx)
    dx1, dx2 = ax_dx[0:-1], ax_dx[1:]
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    shape = [1] * f.ndim
    shape[axis] = -1
    a, b, c = (np.reshape(w, shape) for w in (a, b, c))
    return a * f[part(None, -2)] + b * f[part(1, -1)] + c * f[part(2, None)]


def _edges(f, part, ax_dx, edge_order):
    uniform = np.ndim(ax_dx) == 0
    first, second, third = part(0, 1), part(1, 2), part(2, 3)
    last, before, third_last = part(-1, None), part(-2, -1), part(-3, -2)
    if edge_order == 1:
        dx_0 = ax_dx if uniform else ax_dx[0]
        dx_n = ax_dx if uniform else ax_dx[-1]
        return (f[second] - f[first]) / dx_0, (f[last] - f[before]) / dx_n
    if uniform:
        a, b, c = -1.5 / ax_dx, 2. / ax_dx, -0.5 / ax_dx
    else:
        dx1, dx2 = ax_dx[0], ax_dx[1]
        a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = - dx1 / (dx2 * (dx1 + dx2))
    start = a * f[first] + b * f[second] + c * f[third]
    if uniform:
        a, b, c = 0.5 / ax_dx, -2. / ax_dx, 1.5 / ax_dx
    else:
        dx1, dx2 = ax_dx[-2], ax_dx[-1]
        a = (dx2) / (dx1 * (dx1 + dx2))
        b = - (dx2 + dx1) / (dx1 * dx2)
        c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return start, a * f[third_last] + b * f[before] + c * f[last]


@implements_composite(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    shape = np.shape(f)
    np.gradient(np.zeros(shape), *[_spacing_probe(s) for s in varargs], axis=axis,
                edge_order=edge_order)                  # NumPy's argument errors
    ndim = len(shape)
    axes = tuple(range(ndim)) if axis is None else tuple(
        int(a) % ndim for a in np.atleast_1d(axis))
    if isinstance(f, np.ndarray) or not hasattr(f, "value"):
        f = np.asarray(f)
        f = f if f.dtype.kind == "f" else f.astype(np.float64)   # NumPy's float64
    outvals = []
    for ax, ax_dx in zip(axes, _spacings(f, varargs, axes)):
        part = _along(ax, f.ndim)
        start, end = _edges(f, part, ax_dx, edge_order)
        outvals.append(np.concatenate([start, _interior(f, part, ax_dx, ax), end], axis=ax))
    return outvals[0] if len(axes) == 1 else tuple(outvals)


@implements_composite(np.trapezoid)
def trapezoid(y, x=None, dx=1.0, axis=-1):
    np.trapezoid(np.zeros(np.shape(y)), None if x is None else np.zeros(np.shape(x)),
                 axis=axis)                             # NumPy's argument errors
    if x is None:
        d = dx
    elif np.ndim(x) == 1:
        d = np.diff(x)
        shape = [1] * np.ndim(y)
        shape[axis] = d.shape[0]
        d = np.reshape(d, shape)
    else:
        d = np.diff(x, axis=axis)
    part = _along(axis, np.ndim(y))
    return np.sum(d * (y[part(1, None)] + y[part(None, -1)]) / 2.0, axis=axis)
