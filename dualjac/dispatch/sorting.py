"""Orderings: sort and median. The order is decided on the values and applied
to the buffer, so every component follows the same permutation.
"""

import numpy as np

from .compositions import values_of
from .jets import normalize_axes, refuse
from .registry import implements, implements_composite
from .structural import ravel, take_along_axis


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted by value; every component follows the same permutation."""
    if order is not None:
        raise refuse("np.sort(order=...)", "sorts structured arrays, which dual arrays are not.")
    if axis is None:
        a, axis = ravel(a), 0
    index = np.argsort(a.buf[..., 0], axis=axis, kind="stable")
    return take_along_axis(a, index, axis)


@implements_composite(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The mean of the middle one or two sorted elements (their derivatives);
    lanes holding a NaN give NaN, as NumPy. NumPy calls only (a composite rule), so a
    deferred jet records it."""
    if out is not None:
        raise TypeError("dualjac: np.median(..., out=...) is not supported for dual arrays; "
                        "assign the result instead.")
    shape = np.shape(a)
    axes = normalize_axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    t = np.transpose(a, tuple(kept) + axes)
    t = np.sort(np.reshape(t, tuple(shape[i] for i in kept) + (-1,)), axis=-1)
    n = np.shape(t)[-1]
    result = np.mean(np.take(t, [(n - 1) // 2, n // 2], axis=-1), axis=-1)
    if keepdims:
        result = np.reshape(result, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    reference = np.median(values_of(a), axis=axis, keepdims=keepdims)
    return np.where(np.isnan(reference), reference, result)
