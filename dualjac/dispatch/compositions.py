"""Rules written with NumPy's own functions only (flip, transpose, concatenate, where, ...).

Such a rule serves every array that speaks NumPy's protocols alike: each kind of jet, and the
sparsity tracer's PatternArray, which runs the same composition and so gets the exact pattern
(``registry.COMPOSITES``). Arguments are checked by running NumPy's own function on a small
plain array of the same number of dimensions, so the errors are NumPy's.
"""

import numpy as np

from .registry import implements_composite


def _probe(ndim):
    """A plain array whose axis d has length d + 2, so that an axis permutation shows in its
    shape; a broadcast view of one element, so it costs no memory at any ndim."""
    return np.broadcast_to(np.empty((), dtype=bool), tuple(range(2, 2 + ndim)))


@implements_composite(np.flipud)
def flipud(m):
    np.flipud(_probe(m.ndim))
    return np.flip(m, 0)


@implements_composite(np.fliplr)
def fliplr(m):
    np.fliplr(_probe(m.ndim))
    return np.flip(m, 1)


@implements_composite(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    np.rot90(_probe(m.ndim), k, axes)
    first, second = (axis % m.ndim for axis in axes)
    swapped = list(range(m.ndim))
    swapped[first], swapped[second] = second, first
    turns = k % 4
    if turns == 0:
        return m[...]
    if turns == 2:
        return np.flip(np.flip(m, first), second)
    if turns == 1:
        return np.transpose(np.flip(m, second), swapped)
    return np.flip(np.transpose(m, swapped), second)


@implements_composite(np.rollaxis)
def rollaxis(a, axis, start=0):
    order = [length - 2 for length in np.rollaxis(_probe(a.ndim), axis, start).shape]
    return np.transpose(a, order)


@implements_composite(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return np.concatenate((np.ravel(arr), np.ravel(values)))
    return np.concatenate((arr, values), axis=axis)


@implements_composite(np.tril)
def tril(m, k=0):
    below = np.tri(*np.shape(m)[-2:], k=k, dtype=bool)
    return np.where(below, m, 0.0)


@implements_composite(np.triu)
def triu(m, k=0):
    below = np.tri(*np.shape(m)[-2:], k=k - 1, dtype=bool)
    return np.where(below, 0.0, m)
