"""More NumPy functions on jets: sort, median, select, interp, polyval, pad,
split / array_split (and hsplit / vsplit / dsplit), cumprod, diff.

Same approach as _numpy.py: orderings are decided on the values and applied to
the buffer (the derivative follows the permutation); linear and structural
functions act on the buffer; nonlinear ones are compositions of jet operations.
"""

import numpy as np

from ._numpy import (astype, concatenate, implements, is_jet, mean, moveaxis, normalize_axes,
                     normalize_axis, on_buffer, ravel, reshape, take, take_along_axis,
                     transpose, value_of, where_, UFUNC_METHODS)

_NO_VALUE = np._NoValue


def _refuse(name, why):
    return TypeError(f"dualjac: {name} {why} Apply it to x.value if you mean to "
                     "differentiate nothing through it.")


# ---------------------------------------------------------------- orderings

@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted by value; every component follows the same permutation."""
    if order is not None:
        raise _refuse("np.sort(order=...)", "sorts structured arrays, which dual arrays are not.")
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


@implements(np.select)
def select(condlist, choicelist, default=0):
    """The first true condition's choice, by np.where from the last one back.
    Conditions are read on values (a dual condition selects, it is not differentiated)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conditions = [np.asarray(value_of(c)) for c in condlist]
    for i, c in enumerate(conditions):
        if c.dtype.type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = default
    for c, choice in zip(conditions[::-1], list(choicelist)[::-1]):
        result = where_(c, choice, result)
    return result


# ---------------------------------------------------------------- piecewise / polynomials

@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise linear in x: NumPy's value plus slope * (x - x.value), the slope
    of the segment [xp[j], xp[j+1]) holding x (right derivative at knots; 0 outside
    [xp[0], xp[-1]) and at the last knot). Derivatives in xp / fp are not supported."""
    for name, arg in (("xp", xp), ("fp", fp), ("left", left), ("right", right),
                      ("period", period)):
        if is_jet(arg):
            raise _refuse(f"np.interp with a dual {name}",
                          "is not supported: dualjac differentiates np.interp with respect "
                          "to x only (xp, fp, left, right and period must be constants).")
    xv = value_of(x)
    value = np.interp(xv, xp, fp, left, right, period)
    if not is_jet(x):
        return value
    xp, fp, u = np.asarray(xp, np.float64), np.asarray(fp), np.asarray(xv, np.float64)
    if period is not None:   # NumPy's own reduction to one period, extended by one knot each side
        u, xp = u % period, xp % period
        order = np.argsort(xp)
        xp, fp = xp[order], fp[order]
        xp = np.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = np.concatenate([fp[-1:], fp, fp[:1]])
    if xp.size < 2:
        slope = np.zeros(u.shape, value.dtype)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = np.diff(fp) / np.diff(xp)
        j = np.searchsorted(xp, u, side="right") - 1
        inside = (j >= 0) & (j < xp.size - 1)
        slope = np.where(inside, slopes[np.clip(j, 0, xp.size - 2)], 0).astype(value.dtype)
    return value + slope * (x - xv)


@implements(np.polyval)
def polyval(p, x):
    """Horner's scheme on jets (dual x and / or dual coefficients)."""
    if isinstance(p, np.poly1d) or isinstance(x, np.poly1d):
        raise _refuse("np.polyval with np.poly1d", "is not supported on dual arrays.")
    if not is_jet(p):
        p = np.asarray(p)
    y = np.zeros_like(np.asanyarray(value_of(x)))   # NumPy's start: x's dtype and shape
    for i in range(p.shape[0]):
        y = y * x + p[i]
    return y


# ---------------------------------------------------------------- linear / structural

@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    """Prefix products by doubling (Hillis-Steele): log2(n) jet multiplications,
    exact with zeros (unlike exp(cumsum(log)))."""
    if out is not None:
        raise TypeError("dualjac: np.cumprod(..., out=...) is not supported for dual "
                        "arrays; assign the result instead.")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, a.ndim)
    t = moveaxis(a, axis, 0)
    step = 1
    while step < t.shape[0]:
        t = concatenate([t[:step], t[step:] * t[:-step]])
        step *= 2
    result = moveaxis(t, 0, axis)
    return astype(result, dtype) if dtype is not None else result


def _accumulate_prod(a, axis=0, dtype=None, out=None):
    return cumprod(a, axis=axis, dtype=dtype, out=out)


UFUNC_METHODS[(np.multiply, "accumulate")] = _accumulate_prod


def _cumulative(accumulate, initial, x, axis, dtype, out, include_initial):
    """The array API's cumulative_sum / cumulative_prod: np.cumsum / np.cumprod
    along axis (required above one dimension), optionally after the identity."""
    if out is not None:
        raise TypeError("dualjac: out= is not supported for dual arrays; assign the "
                        "result instead.")
    if axis is None:
        if x.ndim != 1:
            raise ValueError("For arrays which have more than one dimension ``axis`` "
                             "argument is required.")
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    result = accumulate(x, axis=axis, dtype=dtype)
    if not include_initial:
        return result
    shape = list(result.shape)
    shape[axis] = 1
    first = np.full(shape, initial, dtype=value_of(result).dtype)
    return concatenate([first, result], axis=axis)


if hasattr(np, "cumulative_sum"):        # NumPy >= 2.1
    @implements(np.cumulative_sum)
    def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        return _cumulative(np.cumsum, 0, x, axis, dtype, out, include_initial)

    @implements(np.cumulative_prod)
    def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        return _cumulative(cumprod, 1, x, axis, dtype, out, include_initial)


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    """Linear: np.diff of the buffer (after joining prepend / append)."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    ndim = np.ndim(value_of(a))
    if ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, ndim)
    parts = []
    for extra in (prepend, a, append):
        if extra is _NO_VALUE:
            continue
        if np.ndim(value_of(extra)) == 0:   # scalars: one slice along the axis
            shape = list(np.shape(value_of(a)))
            shape[axis] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    joined = concatenate(parts, axis=axis) if len(parts) > 1 else a
    return on_buffer(joined, np.diff(joined.buf, n, axis=axis))


# Modes that only copy elements or combine them linearly (odd reflection is
# 2 * edge - x, mean averages) act on the buffer exactly.
PAD_ON_BUFFER = {"edge", "wrap", "reflect", "symmetric", "mean"}


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """constant: NumPy pads the values, derivatives are padded with zeros; copying
    and linear modes pad the whole buffer. Others (maximum, minimum, median,
    linear_ramp, empty, callables) raise a TypeError naming the mode."""
    if mode != "constant" and mode not in PAD_ON_BUFFER:
        raise _refuse(f"np.pad(mode={mode!r})",
                      "has no derivative rule for dual arrays (supported modes: 'constant', "
                      f"{', '.join(repr(m) for m in sorted(PAD_ON_BUFFER))}).")
    if any(is_jet(v) for v in kwargs.values()):
        raise _refuse(f"np.pad with dual {', '.join(k for k, v in kwargs.items() if is_jet(v))}",
                      "is not supported: pad arguments must be constants.")
    if mode == "constant" and not kwargs and not isinstance(pad_width, dict):
        padded = _zero_padded(array, pad_width)     # the common case, without np.pad's cost
        if padded is not None:
            return padded
    value = np.pad(array.buf[..., 0], pad_width, mode, **kwargs)   # NumPy checks arguments
    if isinstance(pad_width, dict):   # NumPy >= 2.3: {axis: width or (before, after)}
        pairs = [(0, 0)] * array.ndim
        for ax, w in pad_width.items():
            pairs[ax] = (w, w) if np.ndim(w) == 0 else tuple(w)
    else:
        pairs = np.broadcast_to(np.asarray(pad_width), (array.ndim, 2)).tolist()
    widths = [tuple(p) for p in pairs] + [(0, 0)]   # the component axis is not padded
    if mode == "constant":
        buf = np.pad(array.buf, widths)
        buf[..., 0] = value
    else:
        buf = np.pad(array.buf, widths, mode, **kwargs)
    return on_buffer(array, buf)


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


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    """The index sets NumPy would cut arange(n) into, taken from the jet."""
    axis = normalize_axis(axis, ary.ndim)
    pieces = np.array_split(np.arange(ary.shape[axis]), indices_or_sections)
    return [take(ary, p, axis=axis) for p in pieces]


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
