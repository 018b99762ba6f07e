"""In-place writers (put, place, copyto, putmask, fill_diagonal, put_along_axis) and a few
linear rearrangements (ediff1d, diagflat, unwrap), as compositions of NumPy calls.

A writer stores into its jet with an indexed assignment, which every jet kind supports
with NumPy's view semantics (a banded or deferred jet makes the transform run f again on
ordinary jets). Storing a dual value into a plain ndarray meets the store guard, a
TypeError. Arguments are first checked by NumPy's own function on a plain array of the
same shape, so the errors are NumPy's.
"""

import numpy as np

from .registry import implements_composite


def _probe(a, dtype=bool):
    return np.zeros(np.shape(a), dtype)


def _cycled(values, count):
    """values raveled and repeated to count elements (NumPy's rule for short values)."""
    flat = np.ravel(values)
    if np.size(flat) == 0:
        return flat
    return np.take(flat, np.arange(count) % np.size(flat))


def _flat_index(a, positions):
    """The index tuple of these flat (C-order) positions of a."""
    return np.unravel_index(positions, np.shape(a))


@implements_composite(np.put)
def put(a, ind, v, mode="raise"):
    np.put(_probe(a), ind, True, mode=mode)          # NumPy's bounds and mode errors
    size = np.size(a)
    ind = np.ravel(np.asarray(ind, dtype=np.intp))
    if ind.size == 0 or np.size(v) == 0:
        return None
    positions = np.clip(ind, 0, size - 1) if mode == "clip" else ind % size
    a[_flat_index(a, positions)] = _cycled(v, ind.size)
    return None


@implements_composite(np.place)
def place(arr, mask, vals):
    mask = np.not_equal(mask, 0)                      # plain bools, whatever mask is
    np.place(_probe(arr), np.ravel(mask), np.ones(np.size(vals), bool))
    count = int(np.count_nonzero(mask))
    if count:
        arr[np.reshape(mask, np.shape(arr))] = _cycled(vals, count)


@implements_composite(np.copyto)
def copyto(dst, src, casting="same_kind", where=True):
    src_dtype = getattr(src, "dtype", None)
    plain_src = np.zeros(np.shape(src), src_dtype) if src_dtype is not None else src
    np.copyto(np.zeros(np.shape(dst), dst.dtype), plain_src, casting=casting, where=where)
    if where is True:
        dst[...] = src
    else:
        dst[...] = np.where(where, src, dst)


@implements_composite(np.putmask)
def putmask(a, mask, values):
    """a.flat[n] = values[n % len(values)] wherever mask.flat[n]."""
    np.putmask(_probe(a), np.not_equal(mask, 0), np.ones(np.size(values), bool))
    if np.size(values) == 0:
        return
    spread = np.reshape(_cycled(values, np.size(a)), np.shape(a))
    a[...] = np.where(np.not_equal(mask, 0), spread, a)


@implements_composite(np.fill_diagonal)
def fill_diagonal(a, val, wrap=False):
    np.fill_diagonal(_probe(a), True, wrap)
    shape = np.shape(a)
    if len(shape) == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    positions = np.arange(np.size(a))[:end:step]
    if positions.size and np.size(val):
        a[_flat_index(a, positions)] = _cycled(val, positions.size)


@implements_composite(np.put_along_axis)
def put_along_axis(arr, indices, values, axis):
    np.put_along_axis(_probe(arr), indices, True, axis)
    indices = np.asarray(indices)
    if axis is None:
        arr[_flat_index(arr, np.ravel(indices) % np.size(arr))] = np.ravel(
            np.broadcast_to(values, indices.shape))
        return
    ndim = np.ndim(arr)
    axis = axis % ndim
    index = []
    for dim in range(ndim):
        if dim == axis:
            index.append(indices)
        else:
            shape = [1] * ndim
            shape[dim] = np.shape(arr)[dim]
            index.append(np.arange(shape[dim]).reshape(shape))
    arr[tuple(index)] = values


@implements_composite(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    np.ediff1d(_probe(ary, getattr(ary, "dtype", float)), to_end=to_end if not hasattr(
        to_end, "shape") else np.zeros(np.shape(to_end)), to_begin=to_begin if not hasattr(
        to_begin, "shape") else np.zeros(np.shape(to_begin)))
    flat = np.ravel(ary)
    parts = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        parts.insert(0, np.ravel(to_begin))
    if to_end is not None:
        parts.append(np.ravel(to_end))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@implements_composite(np.diagflat)
def diagflat(v, k=0):
    return np.diag(np.ravel(v), k)


@implements_composite(np.unwrap)
def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """NumPy's unwrap: p plus the cumulative sum of the corrections, which are multiples of
    period (a step: derivative 0), so the derivative is p's."""
    dd = np.diff(p, axis=axis)
    if discont is None:
        discont = period / 2
    high = period / 2
    ddmod = np.mod(dd + high, period) - high
    ddmod = np.where(np.equal(ddmod, -high) & np.greater(dd, 0), high, ddmod)
    correction = np.where(np.less(np.abs(dd), discont), 0.0, ddmod - dd)
    axis = axis % np.ndim(p)
    head = tuple(slice(None) if d != axis else slice(0, 1) for d in range(np.ndim(p)))
    tail = tuple(slice(None) if d != axis else slice(1, None) for d in range(np.ndim(p)))
    return np.concatenate([p[head], p[tail] + np.cumsum(correction, axis=axis)], axis=axis)
