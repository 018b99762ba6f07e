"""Reductions and scans: sums, products, extrema, norms, moments.

Linear ones (sum, mean, cumsum, trace, diff) are the same NumPy function on the
buffer, since it acts on every component alike. Nonlinear ones are compositions
of jet operations (pairwise products, a selected element, sqrt of a sum of
squares), so their second derivatives come for free.
"""

import math

import numpy as np

from .. import _core, _separable
from .jets import (astype, normalize_axes, normalize_axis, on_buffer, reject_out, value_of,
                   with_values)
from .registry import implements, implements_ufunc_method, no_rule_error
from .structural import (concatenate, diagonal, moveaxis, ravel, reshape, squeeze,
                         take_along_axis, transpose, where_)

_NO_VALUE = np._NoValue


# ---------------------------------------------------------------- linear

def _over_every_element(a, axis, keepdims, initial, where, dtype):
    """Whether np.sum / np.mean reduce every element axis in the plain way, which
    _core.sum_elements does in one pass (NumPy reduces a (rows, K) buffer row by row)."""
    return (axis is None or normalize_axes(axis, a.ndim) == tuple(range(a.ndim))) and (
        not keepdims and initial is None and where is True and dtype is None)


def _one_axis(a, axis, initial, where, dtype):
    """The element axis np.sum / np.mean reduce when it is one axis in the plain way
    (_core.sum_along_axis adds its slices in NumPy's order, without NumPy's loop of
    K numbers per step over a (rows, n, K) buffer); None otherwise."""
    if initial is not None or where is not True or dtype is not None or axis is None:
        return None
    axes = normalize_axes(axis, a.ndim)
    return axes[0] if len(axes) == 1 else None


def _other_dtype(a, dtype):
    """dtype=, None when it is a's own (np.sum(x, dtype=x.dtype) is np.sum(x): one path,
    the same bits, deferred or not)."""
    return None if dtype is not None and np.dtype(dtype) == a.dtype else dtype


@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.sum")
    dtype = _other_dtype(a, dtype)
    if _separable.ACTIVE[0] and initial is None and where is True and dtype is None:
        partial = _separable.full_sum(a, a.ndim, axis, keepdims)
        if partial is not None:
            return partial
    if _over_every_element(a, axis, keepdims, initial, where, dtype):
        return _core.sum_elements(a)
    one_axis = _one_axis(a, axis, initial, where, dtype)
    if one_axis is not None:
        result = _core.sum_along_axis(a, one_axis, keepdims)
        if result is not None:
            return result
    axes = normalize_axes(axis, a.ndim)
    mask = where if where is True else np.asarray(where)[..., None]
    result = on_buffer(a, np.sum(a.buf, axis=axes, keepdims=keepdims, where=mask))
    if initial is not None:
        result = result + initial
    return astype(result, dtype) if dtype is not None else result


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    reject_out(out, "np.mean")
    dtype = _other_dtype(a, dtype)
    if _separable.ACTIVE[0] and where is True and dtype is None:
        partial = _separable.full_sum(a, a.ndim, axis, keepdims, 1.0 / max(a.size, 1))
        if partial is not None:
            return partial
    if a.size and _over_every_element(a, axis, keepdims, None, where, dtype):
        return _core.sum_elements(a) / a.size
    one_axis = _one_axis(a, axis, None, where, dtype)
    if one_axis is not None and a.shape[one_axis]:
        result = _core.sum_along_axis(a, one_axis, keepdims)
        if result is not None:
            # np.mean's own division of its sum (numpy/_core/_methods.py), on the buffer
            np.true_divide(result.buf, np.intp(a.shape[one_axis]), out=result.buf,
                           casting="unsafe")
            return result
    if where is not True:
        result = sum_(a, axis=axis, keepdims=keepdims, where=where) / _core.mean_counts(
            where, a.shape, axis, keepdims, a.dtype)
    else:
        axes = normalize_axes(axis, a.ndim)
        result = on_buffer(a, np.mean(a.buf, axis=axes, keepdims=keepdims))
    return astype(result, dtype) if dtype is not None else result


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    reject_out(out, "np.cumsum")
    if axis is None:
        a, axis = ravel(a), 0
    result = on_buffer(a, np.cumsum(a.buf, axis=normalize_axis(axis, a.ndim)))
    return astype(result, dtype) if dtype is not None else result


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    reject_out(out, "np.trace")
    return sum_(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


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


# ---------------------------------------------------------------- products

@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Pairwise products along the axis: exact at any order, and right at zeros
    (unlike exp(sum(log)))."""
    reject_out(out, "np.prod")
    # NumPy's own value (its order of products): a pairwise product can differ in
    # the last bit, which an ill-conditioned f (sin of a large product) magnifies.
    start = {} if initial is None else {"initial": initial}
    values = np.prod(a.buf[..., 0], axis=axis, keepdims=keepdims, where=where, **start)
    if where is not True:
        a = where_(where, a, 1.0)
    axes = normalize_axes(axis, a.ndim)
    kept = [i for i in range(a.ndim) if i not in axes]
    t = transpose(a, tuple(axes) + tuple(kept))
    # (the reduced size spelled out: -1 is ambiguous when a kept axis is empty)
    t = reshape(t, (math.prod(a.shape[i] for i in axes),) + tuple(a.shape[i] for i in kept))
    if t.shape[0] == 0:           # the empty product is 1 (zero derivative, still connected)
        one = np.zeros((1,) + t.shape[1:] + (t.ncomponents,), t.dtype)
        one[..., 0] = 1
        t = on_buffer(t, one)
    while t.shape[0] > 1:
        half = t.shape[0] // 2
        head = t[:half] * t[half:2 * half]
        t = concatenate([head, t[2 * half:]]) if t.shape[0] % 2 else head
    result = t[0]
    if keepdims:
        result = reshape(result, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
    if initial is not None:
        result = result * initial
    result = with_values(result, values)
    return astype(result, dtype) if dtype is not None else result


@implements(np.cumprod, stand_ins=True)
def cumprod(a, axis=None, dtype=None, out=None):
    """Prefix products by doubling (Hillis-Steele): log2(n) jet multiplications,
    exact with zeros (unlike exp(cumsum(log))). Slices and joins along the axis itself,
    so that a deferred jet records them along a row axis."""
    if out is not None:
        raise TypeError("dualjac: np.cumprod(..., out=...) is not supported for dual "
                        "arrays; assign the result instead.")
    if axis is None:
        a, axis = np.ravel(a), 0
    axis = normalize_axis(axis, np.ndim(a))

    def part(start, stop):
        return (slice(None),) * axis + (slice(start, stop),)
    t, step = a, 1
    while step < np.shape(a)[axis]:
        t = np.concatenate([t[part(None, step)], t[part(step, None)] * t[part(None, -step)]],
                           axis=axis)
        step *= 2
    return t if dtype is None else astype(t, dtype)


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
    first = np.full(shape, initial, dtype=result.dtype)
    return np.concatenate([first, result], axis=axis)


if hasattr(np, "cumulative_sum"):        # NumPy >= 2.1
    @implements(np.cumulative_sum, stand_ins=True)      # (NumPy calls only)
    def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        return _cumulative(np.cumsum, 0, x, axis, dtype, out, include_initial)

    @implements(np.cumulative_prod, stand_ins=True)
    def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        return _cumulative(np.cumprod, 1, x, axis, dtype, out, include_initial)


# ---------------------------------------------------------------- extrema

def _select(a, axis, keepdims, arg_function):
    """The derivative of max/min is the selected element's: the first one of
    ties (np.argmax's choice)."""
    axes = normalize_axes(axis, a.ndim)
    kept = [i for i in range(a.ndim) if i not in axes]
    t = transpose(a, tuple(kept) + tuple(axes))
    t = reshape(t, tuple(a.shape[i] for i in kept) + (math.prod(a.shape[i] for i in axes),))
    if t.shape[-1] == 0:
        raise ValueError("zero-size array to reduction operation which has no identity")
    index = arg_function(t.buf[..., 0], axis=-1)[..., None]
    result = take_along_axis(t, index, axis=-1)[..., 0]
    if keepdims:
        result = reshape(result, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
    return result


def _extremum(a, axis, keepdims, initial, where, arg_function, pick, fill):
    """max/min with NumPy's where= (masked elements never win) and initial=
    (which wins ties against the data, as np.maximum's first argument would not:
    the data's derivative is kept on ties, TF's maximum rule)."""
    if where is not True:
        a = where_(where, a, fill)
    result = _select(a, axis, keepdims, arg_function)
    if initial is not None:
        result = pick(result, initial)
    return result


@implements(np.max, np.amax)
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.max")
    return _extremum(a, axis, keepdims, initial, where, np.argmax, np.maximum, -np.inf)


@implements(np.min, np.amin)
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.min")
    return _extremum(a, axis, keepdims, initial, where, np.argmin, np.minimum, np.inf)


# ---------------------------------------------------------------- norms and moments

def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms as compositions (so second order comes free).
    The spectral and nuclear norms need singular values: decompositions.py's np.linalg.norm
    handles those orders and hands the others to this one.
    At x = 0 the 2-norm has no derivative: the tangents of sum(x*x) are exact
    zeros there, so sqrt's infinite slope meets structural zeros and the
    gradient is 0 (the smallest subgradient, like |x| at 0) with an infinite
    Hessian diagonal; JAX and TF give NaN (inf * 0)."""
    if axis is None:
        if ord is None:
            return np.sqrt(sum_(x * x, axis=None, keepdims=keepdims))
        if x.ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(x.ndim))
    axes = normalize_axes(axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return np.sqrt(sum_(x * x, axis=axis, keepdims=keepdims))
    if ord == 1:
        return sum_(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max_(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min_(np.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str) or ord == 0:
        raise no_rule_error(f"np.linalg.norm(ord={ord!r}) of a vector")
    return sum_(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    rows, cols = axes
    if ord in (None, "fro"):
        result = np.sqrt(sum_(x * x, axis=axes, keepdims=True))
    elif ord in (1, -1, np.inf, -np.inf):
        # 1: largest column sum of |x|; inf: largest row sum; negative: smallest.
        summed_axis, picked_axis = (rows, cols) if abs(ord) == 1 else (cols, rows)
        pick = max_ if ord > 0 else min_
        result = pick(sum_(np.abs(x), axis=summed_axis, keepdims=True), axis=picked_axis,
                      keepdims=True)
    else:
        raise no_rule_error(f"np.linalg.norm(ord={ord!r}) of a matrix (needs singular values)")
    return result if keepdims else squeeze(result, axes)


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
        correction=None):
    reject_out(out, "np.var")
    if mean is not None:
        raise NotImplementedError("dualjac: np.var(..., mean=) on dual arrays")
    ddof = ddof if correction is None else correction
    mask = np.broadcast_to(np.asarray(where, dtype=bool), a.shape)
    axes = normalize_axes(axis, a.ndim)
    # a Python-float count keeps float32 float32 (NEP 50), as NumPy's var does
    count = np.sum(mask, axis=axes, keepdims=True).astype(a.dtype)
    # where=True sums as np.sum does (deferred jets record the same: src_c/_deferred_compositions.pxi)
    masked = {} if where is True else {"where": mask}
    centered = a - sum_(a, axis=axes, keepdims=True, **masked) / count
    squares = sum_(centered * centered, axis=axes, keepdims=keepdims, **masked)
    count = count if keepdims else np.squeeze(count, axes)
    result = squares / (count - ddof) if count.ndim else squares / float(count - ddof)
    return astype(result, dtype) if dtype is not None else result


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
        correction=None):
    """sqrt(var). Where the variance is exactly 0 with exactly-zero tangents (a
    length-1 axis: std is identically 0 there) the derivative is 0: sqrt's
    infinite slope times a structural zero (src_c/include/singular.h); TF gives 0 off
    its diagonal and NaN on it, JAX NaN."""
    return np.sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                       where=where, mean=mean, correction=correction))


# ---------------------------------------------------------------- ufunc methods

@implements_ufunc_method(np.add, "reduce")
def _reduce_sum(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return sum_(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)


@implements_ufunc_method(np.multiply, "reduce")
def _reduce_prod(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return prod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)


@implements_ufunc_method(np.maximum, "reduce")
def _reduce_max(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    result = max_(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return astype(result, dtype) if dtype is not None else result


@implements_ufunc_method(np.minimum, "reduce")
def _reduce_min(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    result = min_(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return astype(result, dtype) if dtype is not None else result


@implements_ufunc_method(np.add, "accumulate")
def _accumulate_sum(a, axis=0, dtype=None, out=None):
    return cumsum(a, axis=axis, dtype=dtype, out=out)


@implements_ufunc_method(np.multiply, "accumulate", stand_ins=True)
def _accumulate_prod(a, axis=0, dtype=None, out=None):
    return cumprod(a, axis=axis, dtype=dtype, out=out)
