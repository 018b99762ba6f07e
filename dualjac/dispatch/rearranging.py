"""Rearranging jets: np.insert, np.delete, np.resize, np.choose, np.partition, np.piecewise,
np.apply_along_axis, np.apply_over_axes; np.compress, np.extract, np.trim_zeros,
np.lib.stride_tricks.sliding_window_view, np.unstack, np.block, np.dstack,
np.broadcast_arrays.

Where an element of the result comes from is decided by NumPy's own function, run on plain
arrays of labels (the source's flat indices, and negative labels for inserted values): the
result is then one gather from the operands, so the shapes, the index rules and the errors
are NumPy's, every jet kind runs the same NumPy calls, and the sparsity tracer gets the exact
pattern. The functions that call the user's function run it on jets.
"""

import collections.abc

import numpy as np

from .compositions import as_dtype, values_of
from .jets import is_jet, view_of
from .registry import implements_composite


def _labels(shape, first=0, step=1):
    return first + step * np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)


def _gather(sources, labels):
    """The elements of the raveled sources at the positions of a label array."""
    flat = np.concatenate([np.ravel(s) for s in sources]) if len(sources) > 1 else np.ravel(sources[0])
    return np.take(flat, labels)


@implements_composite(np.insert)
def insert(arr, obj, values, axis=None):
    dtype = np.result_type(arr)
    if dtype.kind != "f":
        raise TypeError(f"dualjac: np.insert into an array of {dtype} would cast the inserted "
                        "dual values to it and drop their derivatives; insert into "
                        "arr.astype(float) instead.")
    ndim = 1 if axis is None else np.ndim(arr)
    vshape = np.shape(values)
    vshape = (1,) * (ndim - len(vshape)) + vshape       # NumPy's ndmin=arr.ndim
    inserted = _labels(vshape, first=-1, step=-1)       # value k has label -1 - k
    where = np.insert(_labels(np.shape(arr)), obj, inserted, axis=axis)
    size = np.size(arr)
    positions = np.where(where >= 0, where, size - 1 - where)
    return _gather([as_dtype(arr, dtype), as_dtype(values, dtype)], positions)


@implements_composite(np.delete)
def delete(arr, obj, axis=None):
    return _gather([arr], np.delete(_labels(np.shape(arr)), obj, axis=axis))


@implements_composite(np.resize)
def resize(a, new_shape):
    positions = np.resize(_labels(np.shape(a)), new_shape)
    if np.size(a) == 0 or positions.size == 0:      # NumPy's zeros
        return np.zeros_like(np.ravel(a), shape=positions.shape)
    return _gather([a], positions)


@implements_composite(np.choose)
def choose(a, choices, out=None, mode="raise"):
    if not isinstance(a, np.ndarray) and hasattr(a, "value"):
        raise TypeError("dualjac: np.choose takes integer choice indices, not a dual array; "
                        "pass plain indices (e.g. computed from x.value).")
    choices = list(choices)
    picked = np.choose(a, [np.full(np.shape(c), k) for k, c in enumerate(choices)], mode=mode)
    dtype = np.result_type(*choices)
    stacked = np.stack([np.broadcast_to(as_dtype(c, dtype), picked.shape) for c in choices])
    result = np.take_along_axis(stacked, picked[None], axis=0)[0]
    if out is None:
        return result
    out[...] = result
    return out


@implements_composite(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's arrangement: argpartition's order is partition's (the same selection)."""
    if order is not None:
        raise TypeError("dualjac: np.partition(..., order=...) sorts structured arrays; "
                        "dual arrays have no fields. Partition without order.")
    if axis is None:
        a, axis = np.ravel(a), -1
    return np.take_along_axis(a, np.argpartition(a, kth, axis=axis, kind=kind), axis=axis)


@implements_composite(np.piecewise)
def piecewise(x, condlist, funclist, *args, **kw):
    """NumPy's own loop; y is a fresh array, so the masked writes are ordinary."""
    n2 = len(funclist)
    # NumPy's test for a single condition, with any array kind counted as an array (a
    # comparison of a deferred jet is a DeferredMask, not an ndarray)
    if np.isscalar(condlist) or (
            not isinstance(condlist[0], (list, np.ndarray)) and not hasattr(condlist[0], "shape")
            and np.ndim(x) != 0):
        condlist = [condlist]
    condlist = np.asarray([values_of(c) for c in condlist], dtype=bool)
    n = len(condlist)
    if n == n2 - 1:          # the "otherwise" condition
        condelse = ~np.any(condlist, axis=0, keepdims=True)
        condlist = np.concatenate([condlist, condelse], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(
            f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = np.zeros_like(x)
    for cond, func in zip(condlist, funclist):
        if not isinstance(func, collections.abc.Callable):
            y[cond] = func
        else:
            vals = x[cond]
            if vals.size > 0:
                y[cond] = func(vals, *args, **kw)
    return y


@implements_composite(np.apply_along_axis)
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    nd = arr.ndim
    axis = np.lib.array_utils.normalize_axis_index(axis, nd)
    inarr = np.moveaxis(arr, axis, -1)
    rows = list(np.ndindex(inarr.shape[:-1]))
    if not rows:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [func1d(inarr[index + (Ellipsis,)], *args, **kwargs) for index in rows]
    res_shape = np.shape(results[0])
    buff = np.reshape(np.stack(results), inarr.shape[:-1] + res_shape)
    # the result's axes go where the iteration axis was
    res_ndim = len(res_shape)
    dims = list(range(buff.ndim))
    permute = dims[:axis] + dims[buff.ndim - res_ndim:] + dims[axis:buff.ndim - res_ndim]
    return np.transpose(buff, permute)


@implements_composite(np.apply_over_axes)
def apply_over_axes(func, a, axes):
    val, N = a, np.ndim(a)
    if np.ndim(axes) == 0:
        axes = (axes,)
    for axis in axes:
        if axis < 0:
            axis = N + axis
        res = func(val, axis)
        if np.ndim(res) != np.ndim(val):
            res = np.expand_dims(res, axis)
            if np.ndim(res) != np.ndim(val):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


# ---------------------------------------------------------------- selections and views

def _flat_labels(a):
    return _labels(np.shape(a))


@implements_composite(np.compress)
def compress(condition, a, axis=None, out=None):
    if out is not None:
        raise TypeError("dualjac: np.compress(..., out=...) is not supported for dual arrays; "
                        "assign the result instead.")
    labels = np.compress(values_of(condition), _flat_labels(a), axis)   # NumPy's checks
    return _gather([a], labels)


@implements_composite(np.extract)
def extract(condition, arr):
    return _gather([arr], np.extract(values_of(condition), _flat_labels(arr)))


@implements_composite(np.trim_zeros)
def trim_zeros(filt, trim="fb", axis=None):
    """NumPy's slice of the values (its own algorithm: the bounding box of the nonzeros),
    taken from the jet: a view, as NumPy's."""
    values = np.asarray(values_of(filt))
    np.trim_zeros(values, trim, axis)                   # NumPy's checks of trim and axis
    ndim = values.ndim
    axes = range(ndim) if axis is None else np.lib.array_utils.normalize_axis_tuple(axis, ndim)
    if not axes:
        return filt
    nonzero = np.argwhere(values)
    if nonzero.size == 0:
        start = stop = [0] * ndim
    else:
        start = nonzero.min(axis=0) if "f" in trim.lower() else [None] * ndim
        stop = nonzero.max(axis=0) + 1 if "b" in trim.lower() else [None] * ndim
    return filt[tuple(slice(start[ax], stop[ax]) if ax in axes else slice(None)
                      for ax in range(ndim))]


@implements_composite(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    """NumPy's windows are a read-only view: of a jet's buffer too (the component axis
    moved last), so that a write into x shows in windows taken before it; other kinds take
    a read-only gather (the same numbers; writing into it raises NumPy's ValueError).
    writeable=True, windows that alias each other's elements, is refused."""
    if writeable:
        raise TypeError("dualjac: np.lib.stride_tricks.sliding_window_view(..., writeable=True) "
                        "is not supported for dual arrays (its windows would alias x); use "
                        "the read-only windows and build new arrays from them.")
    if is_jet(x):
        ndim = x.ndim
        axes = tuple(range(ndim)) if axis is None else np.lib.array_utils.normalize_axis_tuple(
            axis, ndim)       # (the value's axes: the buffer has one more)
        buffer_windows = np.lib.stride_tricks.sliding_window_view(x.buf, window_shape, axes)
        return view_of(x, np.moveaxis(buffer_windows, ndim, -1))
    labels = np.lib.stride_tricks.sliding_window_view(_flat_labels(x), window_shape, axis)
    windows = _gather([x], labels)
    if hasattr(windows, "buf"):         # a jet: read-only, as NumPy's view
        windows.buf.flags.writeable = False
    return windows


# ---------------------------------------------------------------- splitting and joining

@implements_composite(np.unstack)
def unstack(x, /, *, axis=0):
    np.unstack(np.broadcast_to(np.zeros((), np.int8), np.shape(x)), axis=axis)   # NumPy's checks
    moved = np.moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(np.shape(moved)[0]))


@implements_composite(np.dstack)
def dstack(tup):
    return np.concatenate([np.atleast_3d(a) for a in tup], axis=2)


@implements_composite(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(a if np.shape(a) == shape else np.broadcast_to(a, shape) for a in args)


def _nesting_depth(arrays):
    depth = 0
    while isinstance(arrays, list):
        if not arrays:
            break
        arrays, depth = arrays[0], depth + 1
    return depth


def _map_leaves(arrays, leaf):
    if isinstance(arrays, list):
        return [_map_leaves(a, leaf) for a in arrays]
    return leaf(arrays)


@implements_composite(np.block)
def block(arrays):
    """np.block's concatenations, innermost lists along the last axis: NumPy's own np.block
    on the values checks the nesting and the shapes first."""
    values = np.block(_map_leaves(arrays, lambda a: np.asarray(values_of(a))))
    depth = _nesting_depth(arrays)

    def join(item, level):
        if not isinstance(item, list):
            shape = np.shape(item)
            return np.reshape(item, (1,) * (values.ndim - len(shape)) + shape)
        return np.concatenate([join(a, level + 1) for a in item], axis=level - depth)

    return join(arrays, 0) if depth else np.reshape(arrays, values.shape)
