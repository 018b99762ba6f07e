"""reduce and accumulate of the binary ufuncs that have a derivative rule but no rule of
their own for the method: np.logaddexp.reduce, np.maximum.accumulate, np.hypot.reduce,
np.subtract.reduce, np.fmax.reduce, np.logaddexp2.accumulate, ...

The ufunc is applied along the axis, left to right, from its identity when it has one
(np.hypot.reduce([-3.0]) is hypot(0, -3) = 3) and from the first element otherwise, as
NumPy's own loop does for these ufuncs: each step is the ufunc's rule on jets, so the
values are NumPy's as far as the rule's value is NumPy's (for an operand in C order; NumPy
may visit the elements of several axes, or of a strided operand, in another order, which
only a rounding can tell).
Written with NumPy calls only, so deferred jets record every step.
"""

import math

import numpy as np

from .jets import normalize_axes, normalize_axis, reject_out
from .registry import implements_fold

_NO_VALUE = np._NoValue


def _name(ufunc, method):
    return f"np.{ufunc.__name__}.{method}"


def _check_axes(ufunc, ndim, axis):
    """NumPy's own errors for axis (out of range; several for a ufunc that is not
    reorderable, as np.subtract): its reduce of a one-element array of the same rank."""
    ufunc.reduce(np.zeros((1,) * ndim), axis=axis)


def _folded_axis_last(a, axes):
    """a with the reduced axes moved last and joined into one, in C order (the kept axes
    keep their order: a deferred jet's rows stay first)."""
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    kept = np.shape(moved)[:np.ndim(moved) - len(axes)]
    return np.reshape(moved, kept + (math.prod(np.shape(moved)[len(kept):]),))


@implements_fold("reduce")
def fold_reduce(ufunc, a, axis=0, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
                where=True):
    reject_out(out, _name(ufunc, "reduce"))
    ndim = np.ndim(a)
    _check_axes(ufunc, ndim, axis)
    axes = normalize_axes(axis, ndim)
    start = ufunc.identity if initial is _NO_VALUE or initial is None else initial
    if start is None and where is not True:
        raise ValueError(f"reduction operation '{ufunc.__name__}' does not have an identity, "
                         "so to use a where mask one has to specify 'initial'")
    steps = _folded_axis_last(a, axes)
    masks = None if where is True else _folded_axis_last(
        np.broadcast_to(np.asarray(where), np.shape(a)), axes)
    count = np.shape(steps)[-1]
    if start is None:
        if count == 0:
            raise ValueError(f"zero-size array to reduction operation {ufunc.__name__} "
                             "which has no identity")
        result, first = steps[..., 0], 1
    else:         # (a scalar of a's dtype, as NumPy casts the identity or initial=)
        result, first = np.asarray(start, dtype=a.dtype)[()], 0
        if count == 0:            # the start, connected with zero derivatives
            result = np.sum(steps, axis=-1) + result
    for i in range(first, count):
        step = ufunc(result, steps[..., i])
        result = step if masks is None else np.where(masks[..., i], step, result)
    if keepdims:
        result = np.reshape(result, tuple(1 if i in axes else n
                                          for i, n in enumerate(np.shape(a))))
    return result if dtype is None else result.astype(dtype)


@implements_fold("accumulate")
def fold_accumulate(ufunc, a, axis=0, dtype=None, out=None):
    reject_out(out, _name(ufunc, "accumulate"))
    axis = normalize_axis(axis, np.ndim(a))
    count = np.shape(a)[axis]
    step = (slice(None),) * axis
    partial = [a[step + (0,)]] if count else []
    for i in range(1, count):
        partial.append(ufunc(partial[-1], a[step + (i,)]))
    result = np.stack(partial, axis=axis) if partial else a
    return result if dtype is None else result.astype(dtype)
