"""Structural rules: the same NumPy function on the buffer, component axis kept last.

Reshapes, transposes, splits and other views stay views of the jet's buffer (writes
through them reach the jet); joins, selections and padding copy.
"""

import numpy as np

from .. import _core
from .jets import (astype, is_jet, jet_from, normalize_axes, normalize_axis, on_buffer,
                   on_value_shape, on_value_shapes, refuse, reject_out, unify, value_of, view_of)
from .registry import HANDLED, implements


# ---------------------------------------------------------------- shapes and axes (views)

@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    if order != "C":
        raise NotImplementedError("dualjac: reshape supports order='C' only")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return view_of(a, on_value_shape(a, lambda v: np.reshape(v, shape),
                                       lambda: a.buf.reshape(shape + (a.ncomponents,))))


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, -1, order=order)


@implements(np.transpose)
def transpose(a, axes=None):
    if axes is None:
        return view_of(a, a.buf.transpose(tuple(reversed(range(a.ndim))) + (a.ndim,)))
    return view_of(a, on_value_shape(
        a, lambda v: np.transpose(v, axes),
        lambda: a.buf.transpose(normalize_axes(axes, a.ndim) + (a.ndim,))))


@implements(np.permute_dims) if hasattr(np, "permute_dims") else (lambda f: f)
def permute_dims(a, axes=None):
    return transpose(a, axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    return view_of(a, on_value_shape(
        a, lambda v: np.swapaxes(v, axis1, axis2),
        lambda: np.swapaxes(a.buf, normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim))))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    return view_of(a, on_value_shape(
        a, lambda v: np.moveaxis(v, source, destination),
        lambda: np.moveaxis(a.buf, normalize_axes(source, a.ndim),
                            normalize_axes(destination, a.ndim))))


@implements(np.squeeze)
def squeeze(a, axis=None):
    if axis is None:
        axis = tuple(i for i, n in enumerate(a.shape) if n == 1)
    return view_of(a, on_value_shape(a, lambda v: np.squeeze(v, axis),
                                       lambda: np.squeeze(a.buf, normalize_axes(axis, a.ndim))))


@implements(np.expand_dims)
def expand_dims(a, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return view_of(a, on_value_shape(
        a, lambda v: np.expand_dims(v, axis),
        lambda: np.expand_dims(a.buf, normalize_axes(axes, a.ndim + len(axes)))))


@implements(np.broadcast_to)
def broadcast_to(a, shape, subok=False):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return view_of(a, on_value_shape(a, lambda v: np.broadcast_to(v, shape),
                                       lambda: np.broadcast_to(a.buf, shape + (a.ncomponents,))))


@implements(np.copy)
def copy(a, order="K", subok=False):
    return on_buffer(a, a.buf.copy())


@implements(np.flip)
def flip(a, axis=None):
    return view_of(a, np.flip(a.buf, normalize_axes(axis, a.ndim)))


@implements(np.roll)
def roll(a, shift, axis=None):
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    return on_buffer(a, np.roll(a.buf, shift, normalize_axes(axis, a.ndim)))


# ---------------------------------------------------------------- joins

ATLEAST_SHAPES = {
    1: {0: lambda s: (1,)},
    2: {0: lambda s: (1, 1), 1: lambda s: (1,) + s},
    3: {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,), 2: lambda s: s + (1,)},
}


def _atleast(n):
    plain = getattr(np, f"atleast_{n}d")

    def impl(*arys):
        results = []
        for a in arys:
            if is_jet(a) and a.ndim < n:
                a = reshape(a, ATLEAST_SHAPES[n][a.ndim](a.shape))
            results.append(a if is_jet(a) else plain(a))
        return results[0] if len(results) == 1 else results
    return impl


for _n in (1, 2, 3):
    HANDLED[getattr(np, f"atleast_{_n}d")] = _atleast(_n)


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out(out, "np.concatenate")
    arrays = list(arrays)
    if axis is None:
        arrays = [ravel(x) if is_jet(x) else np.ravel(x) for x in arrays]
        axis = 0
    proto, bufs, d1, d2 = unify(arrays)
    ndim = bufs[0].ndim - 1
    if any(b.ndim - 1 != ndim for b in bufs) or ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated" if ndim == 0 else
                         "all the input arrays must have the same number of dimensions")
    joined = _core.join_buffers(bufs, normalize_axis(axis, ndim), False)
    result = proto.with_buffer(joined, d1, d2)
    return astype(result, dtype) if dtype is not None else result


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out(out, "np.stack")
    proto, bufs, d1, d2 = unify(list(arrays))
    axis = normalize_axis(axis, bufs[0].ndim)   # element ndim + 1: the result's element ndim
    result = proto.with_buffer(_core.join_buffers(bufs, axis, True), d1, d2)
    return astype(result, dtype) if dtype is not None else result


@implements(np.hstack)
def hstack(tup, dtype=None, casting="same_kind"):
    arrays = [_atleast(1)(a) for a in tup]
    axis = 0 if all(np.ndim(value_of(a)) == 1 for a in arrays) else 1
    return concatenate(arrays, axis=axis, dtype=dtype)


@implements(np.vstack)
def vstack(tup, dtype=None, casting="same_kind"):
    return concatenate([_atleast(2)(a) for a in tup], axis=0, dtype=dtype)


@implements(np.column_stack)
def column_stack(tup):
    arrays = []
    for a in tup:
        if np.ndim(value_of(a)) < 2:
            a = reshape(a, (-1, 1)) if is_jet(a) else np.reshape(a, (-1, 1))
        arrays.append(a)
    return concatenate(arrays, axis=1)


# ---------------------------------------------------------------- selections

@implements(np.where)
def where_(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(value_of(condition))
    cond = np.asarray(value_of(condition)).astype(bool)
    if not is_jet(x) and not is_jet(y):
        return np.where(cond, x, y)       # only the condition was dual: values decide
    proto, (bx, by), d1, d2 = unify([x, y])
    return jet_from(proto, on_value_shapes((cond.shape, np.shape(x), np.shape(y)), np.where,
                                           lambda: np.where(cond[..., None], bx, by)), d1, d2)


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    reject_out(out, "np.take")
    if axis is None:
        a, axis = ravel(a), 0
    return on_buffer(a, np.take(a.buf, indices, axis=normalize_axis(axis, a.ndim), mode=mode))


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis):
    if axis is None:
        arr, axis = ravel(arr), 0
    idx = np.asarray(indices)
    return on_buffer(arr, on_value_shape(
        arr, lambda v: np.take_along_axis(v, idx, axis),
        lambda: np.take_along_axis(arr.buf, idx[..., None], axis=normalize_axis(axis, arr.ndim))))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = ravel(a), 0
    return on_buffer(a, on_value_shape(
        a, lambda v: np.repeat(v, repeats, axis=axis),
        lambda: np.repeat(a.buf, repeats, axis=normalize_axis(axis, a.ndim))))


@implements(np.tile)
def tile(a, reps):
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(a.ndim, len(reps))
    a = reshape(a, (1,) * (ndim - a.ndim) + a.shape)
    return on_buffer(a, on_value_shape(
        a, lambda v: np.tile(v, reps),
        lambda: np.tile(a.buf, (1,) * (ndim - len(reps)) + reps + (1,))))


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    d = on_value_shape(a, lambda v: np.diagonal(v, offset, axis1, axis2),
                       lambda: np.diagonal(a.buf, offset, normalize_axis(axis1, a.ndim),
                                           normalize_axis(axis2, a.ndim)))
    return view_of(a, np.moveaxis(d, -1, -2))  # NumPy puts the diagonal last


@implements(np.diag)
def diag(v, k=0):
    """2-D -> its k-th diagonal; 1-D -> a square matrix with v on the k-th
    diagonal (structural: the same on the buffer)."""
    if v.ndim == 2:
        return np.diagonal(v, k)
    if v.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = v.shape[0]
    m = n + abs(k)
    buf = np.zeros((m, m, v.ncomponents), v.dtype)
    i = np.arange(n)
    buf[i + max(-k, 0), i + max(k, 0)] = v.buf
    return on_buffer(v, buf)


# ---------------------------------------------------------------- splits and padding

@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    """Slices of the jet, views as NumPy's pieces are (a write through one reaches ary):
    the index ranges NumPy cuts arange(n) into, each one a slice."""
    axis = normalize_axis(axis, ary.ndim)
    pieces = np.array_split(np.arange(ary.shape[axis]), indices_or_sections)
    before = (slice(None),) * axis
    return [ary[before + (slice(p[0], p[-1] + 1) if len(p) else slice(0, 0),)]
            for p in pieces]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    np.split(np.arange(ary.shape[normalize_axis(axis, ary.ndim)]),
             indices_or_sections)   # NumPy's own check of an equal division
    return array_split(ary, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    if ary.ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    if ary.ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# Modes that only copy elements or combine them linearly (odd reflection is
# 2 * edge - x, mean averages) act on the buffer exactly.
PAD_ON_BUFFER = {"edge", "wrap", "reflect", "symmetric", "mean"}
# Modes whose pad holds a statistic of the edge's stat_length elements: NumPy's reduction
# on the jet (its rule: the derivatives of the selected or averaged elements).
PAD_STATISTICS = {"maximum": np.max, "minimum": np.min, "median": np.median}


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """constant (and empty, whose values NumPy leaves undefined: zeros here): NumPy pads the
    values, derivatives are padded with zeros; copying and linear modes pad the whole
    buffer; linear_ramp ramps the derivatives from zero at the (constant) end values;
    maximum, minimum and median are the statistics of the jet's edge elements. A callable
    mode raises a TypeError."""
    known = {"constant", "empty", "linear_ramp"} | PAD_ON_BUFFER | set(PAD_STATISTICS)
    if mode not in known:
        shown = "<callable>" if callable(mode) else repr(mode)
        raise refuse(f"np.pad(mode={shown})",
                      "has no derivative rule for dual arrays (supported modes: "
                      f"{', '.join(repr(m) for m in sorted(known))}).")
    if any(is_jet(v) for v in kwargs.values()):
        raise refuse(f"np.pad with dual {', '.join(k for k, v in kwargs.items() if is_jet(v))}",
                      "is not supported: pad arguments must be constants.")
    if mode == "constant" and not kwargs and not isinstance(pad_width, dict):
        padded = _zero_padded(array, pad_width)     # the common case, without np.pad's cost
        if padded is not None:
            return padded
    value = np.pad(array.buf[..., 0], pad_width, mode, **kwargs)   # NumPy checks arguments
    pairs = _pad_pairs(pad_width, array.ndim)
    if mode in PAD_STATISTICS:
        return _statistic_padded(array, pairs, PAD_STATISTICS[mode], kwargs.get("stat_length"))
    widths = [tuple(p) for p in pairs] + [(0, 0)]   # the component axis is not padded
    if mode in ("constant", "empty", "linear_ramp"):
        buf = np.pad(array.buf, widths, *(("linear_ramp",) if mode == "linear_ramp" else ()))
        if mode != "empty":           # empty: the zeros np.pad's constant mode gave
            buf[..., 0] = value
    else:
        buf = np.pad(array.buf, widths, mode, **kwargs)
    return on_buffer(array, buf)


def _pad_pairs(pad_width, ndim):
    """(before, after) per axis, from any of np.pad's spellings (checked by NumPy already)."""
    if isinstance(pad_width, dict):   # NumPy >= 2.3: {axis: width or (before, after)}
        pairs = [(0, 0)] * ndim
        for ax, w in pad_width.items():
            pairs[ax] = (w, w) if np.ndim(w) == 0 else tuple(w)
        return pairs
    return np.broadcast_to(np.asarray(pad_width), (ndim, 2)).tolist()


def _statistic_padded(array, pairs, statistic, stat_length):
    """NumPy's algorithm: axis after axis (earlier axes already padded, so corners are
    statistics of pads), each side gets the statistic of the stat_length elements next to it."""
    lengths = (np.broadcast_to(np.asarray(stat_length, dtype=object), (array.ndim, 2)).tolist()
               if stat_length is not None else [(None, None)] * array.ndim)
    result = array
    for axis, ((before, after), (left, right)) in enumerate(zip(pairs, lengths)):
        if before == 0 and after == 0:
            continue
        n = result.shape[axis]
        left = n if left is None else min(left, n)
        right = n if right is None else min(right, n)
        parts = [result]
        if before:
            edge = take(result, np.arange(left), axis=axis)
            parts.insert(0, _repeated(statistic(edge, axis=axis, keepdims=True), before, axis))
        if after:
            edge = take(result, np.arange(n - right, n), axis=axis)
            parts.append(_repeated(statistic(edge, axis=axis, keepdims=True), after, axis))
        result = concatenate(parts, axis=axis)
    return result


def _repeated(stat, width, axis):
    return repeat(stat, width, axis=axis)


def _zero_padded(array, pad_width):
    """np.pad(array, pad_width) with zeros (values and derivatives): the buffer copied into
    the middle of a zero buffer. None for widths NumPy must check or interpret itself."""
    try:
        pairs = np.broadcast_to(np.asarray(pad_width), (array.ndim, 2))
    except ValueError:
        return None
    if pairs.dtype.kind not in "iu" or np.any(pairs < 0):
        return None
    pairs = pairs.tolist()
    buf = array.buf
    shape = tuple(n + a + b for n, (a, b) in zip(buf.shape, pairs)) + buf.shape[-1:]
    out = np.zeros(shape, buf.dtype)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(buf.shape, pairs))] = buf
    return on_buffer(array, out)
