"""Orderings: sort and median. The order is decided on the values and applied
to the buffer, so every component follows the same permutation.
"""

import numpy as np

from .jets import normalize_axes, refuse
from .reductions import mean
from .registry import implements
from .structural import ravel, reshape, take, take_along_axis, transpose, where_


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted by value; every component follows the same permutation."""
    if order is not None:
        raise refuse("np.sort(order=...)", "sorts structured arrays, which dual arrays are not.")
    if axis is None:
        a, axis = ravel(a), 0
    index = np.argsort(a.buf[..., 0], axis=axis, kind="stable")
    return take_along_axis(a, index, axis)


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The mean of the middle one or two sorted elements (their derivatives);
    lanes holding a NaN give NaN, as NumPy."""
    if out is not None:
        raise TypeError("dualjac: np.median(..., out=...) is not supported for dual arrays; "
                        "assign the result instead.")
    axes = normalize_axes(axis, a.ndim)
    kept = [i for i in range(a.ndim) if i not in axes]
    t = transpose(a, tuple(kept) + axes)
    t = sort(reshape(t, tuple(a.shape[i] for i in kept) + (-1,)), axis=-1)
    n = t.shape[-1]
    result = mean(take(t, [(n - 1) // 2, n // 2], axis=-1), axis=-1)
    if keepdims:
        result = reshape(result, tuple(1 if i in axes else s for i, s in enumerate(a.shape)))
    reference = np.median(a.buf[..., 0], axis=axis, keepdims=keepdims)
    return where_(np.isnan(reference), reference, result)
