"""Statistics: quantiles (every NumPy method), the nan-functions, histograms, unique.

Every rule is a composition of NumPy calls, so it serves each kind of jet and the sparsity
tracer alike (``registry.COMPOSITES``). Which element is selected, and with what weight, is
decided on the values (a NaN mask, a sort order, a count): plain arrays. The result is then
a fixed linear combination of selected elements, so its derivatives are those of the
selected elements, at any order.

Quantiles. Each of NumPy's methods picks, per lane, a virtual index v into the sorted
sample and interpolates between the order statistics floor(v) and floor(v) + 1 with a
weight that depends on v only (NumPy's own tables give v and the weight). So a quantile is
piecewise linear in the data; its derivative is the interpolation of the derivatives of the
two order statistics. Ties follow np.sort's rule (a stable sort: the first of equal
elements comes first).
"""

import warnings

import numpy as np
from numpy.lib import _function_base_impl as _numpy_quantiles

from .jets import is_jet, normalize_axes, refuse, reject_out, value_of, with_values
from .registry import implements, implements_composite

QUANTILE_METHODS = _numpy_quantiles._QuantileMethods


def _as_array(a):
    """Lists of numbers become arrays; jets and traced arrays stay what they are."""
    return np.asarray(a) if isinstance(a, (list, tuple, int, float)) else a


def _refuse_dual(name, **arguments):
    for argument, value in arguments.items():
        if is_jet(value):
            raise refuse(f"{name} with a dual {argument}",
                         f"is not supported: dualjac differentiates {name} with respect to "
                         f"the data only ({argument} must be a constant).")


def _lanes(a, axis):
    """a with the reduced axes moved last and merged into one: (kept shape..., n)."""
    axes = normalize_axes(axis, a.ndim)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    t = np.transpose(a, kept + axes)
    n = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
    return np.reshape(t, tuple(a.shape[i] for i in kept) + (n,)), axes


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# ---------------------------------------------------------------- quantiles

def _order_statistics(count, q, method):
    """(lower index, upper index, weight of the upper one), shapes count.shape + q.shape:
    NumPy's virtual index and weight for this method, with the indices kept inside the
    count valid elements of each lane (NumPy's _get_indexes, per lane)."""
    props = QUANTILE_METHODS[method]
    n = count.reshape(count.shape + (1,) * q.ndim)
    virtual = np.asanyarray(props["get_virtual_index"](n, q))
    virtual = np.broadcast_to(virtual, n.shape[:count.ndim] + q.shape)
    if props["fix_gamma"] is None:          # a selection (lower, higher, nearest, ...)
        lower = virtual.astype(np.intp)
        weight = np.zeros(virtual.shape)
    else:
        lower = np.floor(virtual)
        weight = np.asanyarray(props["fix_gamma"](virtual - lower, virtual), dtype=np.float64)
        lower = lower.astype(np.intp)
    last = np.maximum(n - 1, 0)
    above = (virtual >= last) | np.isnan(virtual)
    upper = np.where(above, last, lower + 1)
    lower = np.where(above, last, lower)
    below = virtual < 0
    upper = np.where(below, 0, upper)
    lower = np.where(below, 0, lower)
    return np.clip(lower, 0, None), np.clip(upper, 0, None), weight


def _lerp(a, b, t):
    """NumPy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on (same values)."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _quantile(name, a, q, axis, out, method, keepdims, weights, skip_nan):
    reject_out(out, name)
    _refuse_dual(name, q=q, weights=weights)
    if weights is not None:
        raise refuse(f"{name}(weights=...)", "is not supported on dual arrays.")
    a = _as_array(a)
    plain = getattr(np, name.split(".")[1])
    # NumPy's own argument checks and result dtype, on a one-element sample
    probe = np.asarray(plain(np.zeros(1, a.dtype), q, method=method))
    q = np.asanyarray(q)
    if name.endswith("percentile"):
        q = np.true_divide(q, 100)
    lanes, axes = _lanes(a, axis)
    ordered = np.sort(lanes, axis=-1)                 # NaN last, as np.sort puts it
    missing = np.isnan(ordered)
    if skip_nan:
        count = np.sum(~missing, axis=-1)
    else:
        count = np.full(lanes.shape[:-1], lanes.shape[-1])
    if lanes.shape[-1] == 0:
        raise IndexError(f"{name} of an empty lane: NumPy has no order statistic to take "
                         "(index -1 is out of bounds for axis 0 with size 0)")
    lower, upper, weight = _order_statistics(count, q, method)
    flat = (slice(None),) * count.ndim + (None,)
    lo = np.take_along_axis(ordered, lower.reshape(count.shape + (-1,)), axis=-1)
    hi = np.take_along_axis(ordered, upper.reshape(count.shape + (-1,)), axis=-1)
    result = _lerp(lo, hi, weight.reshape(count.shape + (-1,)).astype(probe.dtype))
    if skip_nan:
        empty = count == 0
        if empty.any():
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
            result = np.where(empty[flat], np.nan, result)
    else:
        result = np.where(missing[..., -1][flat], np.nan, result)   # NumPy: NaN lanes give NaN
    result = np.moveaxis(np.reshape(result, count.shape + q.shape), tuple(range(count.ndim)),
                         tuple(range(q.ndim, q.ndim + count.ndim)))
    if keepdims:
        result = np.reshape(result, q.shape + _kept_shape(a.shape, axes))
    return result.astype(probe.dtype) if result.dtype != probe.dtype else result


@implements_composite(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    return _quantile("np.quantile", a, q, axis, out, method, keepdims, weights,
                     skip_nan=False)


@implements_composite(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    return _quantile("np.percentile", a, q, axis, out, method, keepdims, weights,
                     skip_nan=False)


@implements_composite(np.nanquantile)
def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=np._NoValue, *, weights=None):
    return _quantile("np.nanquantile", a, q, axis, out, method, keepdims is True, weights,
                     skip_nan=True)


@implements_composite(np.nanpercentile)
def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=np._NoValue, *, weights=None):
    return _quantile("np.nanpercentile", a, q, axis, out, method, keepdims is True, weights,
                     skip_nan=True)


@implements_composite(np.nanmedian)
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=np._NoValue):
    """The mean of the middle one or two of each lane's non-NaN elements (np.median's rule)."""
    reject_out(out, "np.nanmedian")
    a = _as_array(a)
    lanes, axes = _lanes(a, axis)
    ordered = np.sort(lanes, axis=-1)
    count = np.sum(~np.isnan(ordered), axis=-1, keepdims=True)
    if lanes.shape[-1] == 0:
        return np.nanmedian(np.zeros(a.shape, a.dtype), axis=axis, keepdims=keepdims)
    low = np.maximum(count - 1, 0) // 2
    middle = np.take_along_axis(ordered, np.concatenate([low, count // 2 - (count == 0)], -1), -1)
    result = np.mean(middle, axis=-1)
    empty = count[..., 0] == 0
    if empty.any():
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        result = np.where(empty, np.nan, result)
    if keepdims is True:
        result = np.reshape(result, _kept_shape(a.shape, axes))
    return result


# ---------------------------------------------------------------- nan-functions

def _filled(a, fill):
    """a with its NaNs replaced by a constant (derivative zero there)."""
    a = _as_array(a)
    return np.where(np.isnan(a), fill, a)


def _no_value(keepdims):
    return {} if keepdims is np._NoValue else {"keepdims": keepdims}


@implements_composite(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
           where=np._NoValue):
    reject_out(out, "np.nansum")
    extra = {k: v for k, v in (("initial", initial), ("where", where)) if v is not np._NoValue}
    return np.sum(_filled(a, 0.0), axis=axis, dtype=dtype, **_no_value(keepdims), **extra)


@implements_composite(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
            where=np._NoValue):
    reject_out(out, "np.nanprod")
    extra = {k: v for k, v in (("initial", initial), ("where", where)) if v is not np._NoValue}
    return np.prod(_filled(a, 1.0), axis=axis, dtype=dtype, **_no_value(keepdims), **extra)


@implements_composite(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    reject_out(out, "np.nancumsum")
    return np.cumsum(_filled(a, 0.0), axis=axis, dtype=dtype)


@implements_composite(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    reject_out(out, "np.nancumprod")
    return np.cumprod(_filled(a, 1.0), axis=axis, dtype=dtype)


def _count(a, axis, keepdims):
    return np.sum(~np.isnan(_as_array(a)), axis=axis, keepdims=keepdims)


def _all_nan_warning(count, what):
    if np.any(count == 0):
        warnings.warn(what, RuntimeWarning, stacklevel=4)


@implements_composite(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, *, where=np._NoValue):
    reject_out(out, "np.nanmean")
    if where is not np._NoValue:
        a = np.where(where, a, np.nan)
    keep = keepdims is True
    count = _count(a, axis, keep)
    _all_nan_warning(count, "Mean of empty slice")
    total = np.sum(_filled(a, 0.0), axis=axis, dtype=dtype, keepdims=keep)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count.astype(total.dtype)     # a float32 mean stays float32


def _extremum(name, a, axis, keepdims, initial, where, reduce, fill):
    a = _as_array(a)
    extra = {k: v for k, v in (("initial", initial), ("where", where)) if v is not np._NoValue}
    keep = keepdims is True
    result = reduce(_filled(a, fill), axis=axis, keepdims=keep, **extra)
    empty = _count(a, axis, keep) == 0
    if np.any(empty) and initial is np._NoValue:      # NumPy: NaN, and a warning
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        result = np.where(empty, np.nan, result)
    return result


@implements_composite(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
           where=np._NoValue):
    """np.max of the non-NaN elements: the first of equal maxima (np.nanargmax's)."""
    reject_out(out, "np.nanmax")
    return _extremum("np.nanmax", a, axis, keepdims, initial, where, np.max, -np.inf)


@implements_composite(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
           where=np._NoValue):
    reject_out(out, "np.nanmin")
    return _extremum("np.nanmin", a, axis, keepdims, initial, where, np.min, np.inf)


def _nan_argument(a, axis, out, keepdims, reduce, fill, name):
    reject_out(out, name)
    a = _as_array(a)
    if np.any(np.all(np.isnan(a), axis=axis)):
        raise ValueError("All-NaN slice encountered")
    return reduce(_filled(a, fill), axis=axis, keepdims=keepdims)


@implements_composite(np.nanargmax)
def nanargmax(a, axis=None, out=None, *, keepdims=np._NoValue):
    """Plain indices, NumPy's (the first of equal maxima, NaNs skipped)."""
    return _nan_argument(a, axis, out, keepdims is True, np.argmax, -np.inf, "np.nanargmax")


@implements_composite(np.nanargmin)
def nanargmin(a, axis=None, out=None, *, keepdims=np._NoValue):
    return _nan_argument(a, axis, out, keepdims is True, np.argmin, np.inf, "np.nanargmin")


@implements_composite(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=np._NoValue, *,
           where=np._NoValue, mean=np._NoValue, correction=np._NoValue):
    """Sum of squared deviations from the nanmean over (count - ddof), NaNs left out."""
    reject_out(out, "np.nanvar")
    if correction is not np._NoValue:
        ddof = correction
    if where is not np._NoValue:
        a = np.where(where, a, np.nan)
    a, keep = _as_array(a), keepdims is True
    count = _count(a, axis, True)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = (np.sum(_filled(a, 0.0), axis=axis, keepdims=True) / count.astype(a.dtype)
                  if mean is np._NoValue else mean)
        deviations = _filled(a - center, 0.0)
        total = np.sum(deviations * deviations, axis=axis, dtype=dtype, keepdims=keep)
        dof = (np.reshape(count, np.shape(total)) - ddof).astype(total.dtype)
        if np.any(dof <= 0):
            warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=3)
        return np.where(dof > 0, total / np.maximum(dof, 1), np.nan)


@implements_composite(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=np._NoValue, *,
           where=np._NoValue, mean=np._NoValue, correction=np._NoValue):
    reject_out(out, "np.nanstd")
    return np.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, where=where, mean=mean,
                          correction=correction))


# ---------------------------------------------------------------- counting

@implements_composite(np.bincount)
def bincount(x, /, weights=None, minlength=0):
    """Sums of dual weights per bin: weights times a plain 0/1 matrix (bin of each x)."""
    if is_jet(x):
        raise TypeError("dualjac: np.bincount counts integers, and a dual x is a float "
                        "array (NumPy refuses it too); pass integer bins, and dual weights.")
    counts = np.bincount(x, minlength=minlength)          # NumPy's own checks and length
    if weights is None:
        return counts
    x = np.asarray(x)
    members = np.equal(x[:, None], np.arange(counts.size)).astype(weights.dtype)
    return np.matmul(weights, members)


def _bin_edges(a, edges, bins, range):
    """The bin edges: constants, or (bins a count or a rule name, no range) a's min and
    max and the equal spacing between them, as np.histogram places them."""
    if not is_jet(a) or range is not None or np.ndim(bins) == 1:
        return edges
    a0 = value_of(a)
    if a0.size == 0:
        return edges
    low, high = np.min(a), np.max(a)
    low0, high0 = value_of(low), value_of(high)
    if high0 > low0:
        fraction = (edges - low0) / (high0 - low0)
        return with_values(low + (high - low) * fraction, edges)
    return with_values(low + (edges - low0), edges)      # NumPy's +-0.5 around one value


@implements(np.histogram)
def histogram(a, bins=10, range=None, density=None, weights=None):
    """NumPy's counts (plain) and edges; dual weights give dual sums per bin, and edges
    placed at a's min and max move with them (so does the density)."""
    _refuse_dual("np.histogram", bins=bins, range=range)
    a0, w0 = np.asarray(value_of(a)), None if weights is None else value_of(weights)
    counts, edges0 = np.histogram(a0, bins, range, density=None, weights=w0)
    edges = _bin_edges(a, edges0, bins, range)
    if is_jet(weights):
        bin_of = np.searchsorted(edges0, a0.ravel(), side="right") - 1
        bin_of[a0.ravel() == edges0[-1]] = edges0.size - 2          # the last bin is closed
        inside = (bin_of >= 0) & (bin_of < edges0.size - 1)
        members = np.equal(bin_of[:, None], np.arange(edges0.size - 1)) & inside[:, None]
        counts = with_values(np.matmul(np.ravel(weights), members.astype(weights.dtype)), counts)
    if density:
        with np.errstate(invalid="ignore", divide="ignore"):
            counts = counts / np.diff(edges) / np.sum(counts)
    return counts, edges


@implements(np.histogram_bin_edges)
def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """NumPy's edges; those placed at a's min and max move with them."""
    _refuse_dual("np.histogram_bin_edges", bins=bins, range=range)
    edges = np.histogram_bin_edges(np.asarray(value_of(a)), bins, range, value_of(weights))
    return _bin_edges(a, edges, bins, range)


def _columns(sample):
    """np.histogramdd's sample: an (N, D) array, a 1-D array (D = 1) or D arrays of N."""
    if hasattr(sample, "shape") and np.ndim(sample) == 2:
        return [sample[:, i] for i in range(sample.shape[1])]
    if hasattr(sample, "shape"):
        return [sample]
    return list(sample)


@implements(np.histogramdd)
def histogramdd(sample, bins=10, range=None, density=None, weights=None):
    """np.histogram's rule in D dimensions: counts plain, dual weights give dual sums per
    bin (NumPy's bin of each point), edges at a column's min and max move with them."""
    _refuse_dual("np.histogramdd", bins=bins, range=range)
    columns = _columns(sample)
    values = np.stack([np.asarray(value_of(c)) for c in columns], axis=-1)
    w0 = None if weights is None else value_of(weights)
    counts, edges0 = np.histogramdd(values, bins, range, density=None, weights=w0)
    edges = [_bin_edges(c, e, bins if np.ndim(bins) == 0 else bins[i],
                        None if range is None else range[i])
             for i, (c, e) in enumerate(zip(columns, edges0))]
    if is_jet(weights):
        counts = with_values(_weighted_counts(values, edges0, weights), counts)
    if density:              # NumPy's division by the bin widths and the total
        total = np.sum(counts)
        for i, e in enumerate(edges):
            counts = counts / np.reshape(np.diff(e), [-1 if j == i else 1 for j in np.arange(len(edges))])
        counts = counts / total
        final = np.histogramdd(values, bins, range, density=True, weights=w0)[0]
        counts = with_values(counts, final) if is_jet(counts) else final
    return counts, edges


def _weighted_counts(values, edges0, weights):
    """Sums of the weights' buffers per bin, each point in the bin NumPy puts it in."""
    nbin = np.array([e.size + 1 for e in edges0])        # with the outlier bins at both ends
    index = []
    for i, e in enumerate(edges0):
        found = np.searchsorted(e, values[:, i], side="right")
        found[values[:, i] == e[-1]] -= 1                  # the last bin is closed
        index.append(found)
    flat = np.ravel_multi_index(index, nbin)
    buf = np.zeros((int(np.prod(nbin)), weights.ncomponents), weights.dtype)
    np.add.at(buf, flat, np.reshape(weights.buf, (-1, weights.ncomponents)))
    inner = (slice(1, -1),) * len(edges0)
    return weights.with_buffer(np.ascontiguousarray(buf.reshape(tuple(nbin) + (-1,))[inner]))


@implements(np.histogram2d)
def histogram2d(x, y, bins=10, range=None, density=None, weights=None):
    try:
        count = len(bins)
    except TypeError:
        count = 1
    if count not in (1, 2):      # NumPy: one array of edges shared by both axes
        bins = [bins, bins]
    counts, edges = histogramdd([x, y], bins, range, density, weights)
    return counts, edges[0], edges[1]


@implements(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None,
           *, equal_nan=True, sorted=True):
    """NumPy's unique values, each with the derivatives of its first occurrence (the
    element return_index names); indices, inverse and counts are plain."""
    found = np.unique(value_of(ar), True, return_inverse, return_counts, axis,
                      equal_nan=equal_nan, sorted=sorted)
    first = found[1]
    values = np.take(ar, first, axis=axis)
    kept = [values] + ([first] if return_index else []) + list(found[2:])
    return values if len(kept) == 1 else tuple(kept)
