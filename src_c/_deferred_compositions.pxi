# Row functions that are compositions of recorded operations: np.var / np.std,
# np.diff and np.cross along a row axis, np.dot / np.tensordot of a row with a
# constant matrix, np.einsum of three or more operands. Each runs the arithmetic of
# its dense rule (dualjac/dispatch) on deferred jets, with the operators and row
# operations that record it, so a result has eager's bits (products agree to
# rounding, as x @ W does: _deferred_rows.pxi). Anything else returns None: the
# dense rule then runs on the computed jets.


def _row_var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
             mean=None, correction=None):
    """reductions.var along row axes: a - sum(a) / count, squared, summed, divided by
    count - ddof (the where=True form of that rule)."""
    if (type(a) is not DeferredJet or dtype is not None or out is not None or where is not True
            or mean is not None or type(keepdims) is not bool):
        return None
    axes = row_axes(<DeferredJet>a, axis)
    if axes is None:
        return None
    ddof = ddof if correction is None else correction
    shape = (<DeferredJet>a).shape
    count = np.asarray(math_prod(tuple([shape[ax] for ax in axes])), (<DeferredJet>a).dtype)
    if count == 0:
        return None
    total = _row_sum(a, tuple(axes), keepdims=True)
    if total is None:
        return None
    centered = a - total / count
    squares = _row_sum(centered * centered, tuple(axes), keepdims=keepdims)
    return None if squares is None else squares / (count - ddof)


def _row_std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
             mean=None, correction=None):
    variance = _row_var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                        correction=correction)
    return None if variance is None else np.sqrt(variance)


def _row_diff(a, n=1, axis=-1, prepend=NO_VALUE, append=NO_VALUE):
    """np.diff along a row axis: later minus earlier, n times (NumPy's diff of the buffer)."""
    if type(a) is not DeferredJet or prepend is not NO_VALUE or append is not NO_VALUE:
        return None
    if type(n) is not int or n < 1:
        return None
    ax = row_axis(axis, len((<DeferredJet>a).shape))
    if ax is None or (<DeferredJet>a).shape[ax] <= n:
        return None
    before = (slice(None),) * ax
    for _ in range(n):
        a = a[before + (slice(1, None),)] - a[before + (slice(None, -1),)]
    return a


def _row_cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """linalg.cross of 3-vectors along the last axis: componentwise products."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if not all(type(ax) is int and ax == -1 for ax in (axisa, axisb, axisc)):
        return None
    if type(a) is not DeferredJet and type(b) is not DeferredJet:
        return None
    a = a if type(a) is DeferredJet else np.asarray(a)
    b = b if type(b) is DeferredJet else np.asarray(b)
    if not a.shape or not b.shape or a.shape[-1] != 3 or b.shape[-1] != 3:
        return None
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    z = a0 * b1 - a1 * b0
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)


def _row_dot(a, b, out=None):
    """np.dot of a row with a constant vector or matrix (a's last axis against it)."""
    if out is not None or type(a) is not DeferredJet or type(b) is not cnp.ndarray:
        return None
    if b.ndim == 2:
        return row_product(a, b)
    if b.ndim != 1:
        return None
    column = row_product(a, b[:, None])
    return None if column is None else column[..., 0]


def _row_tensordot(a, b, axes=2):
    """np.tensordot of a row with a constant matrix over a's last axis and its first."""
    if type(a) is not DeferredJet or type(b) is not cnp.ndarray or b.ndim != 2:
        return None
    ndim = len((<DeferredJet>a).shape)
    if isinstance(axes, (int, np.integer)):
        if axes != 1:
            return None
    else:
        try:
            first, second = axes
            first = first if isinstance(first, (list, tuple)) else [first]
            second = second if isinstance(second, (list, tuple)) else [second]
        except (TypeError, ValueError):
            return None
        if (len(first) != 1 or len(second) != 1 or row_axis(first[0], ndim) != ndim - 1
                or second[0] not in (0, -2)):
            return None
    return row_product(a, b)


def _row_take(a, indices, axis=None, out=None, mode="raise"):
    """np.take along a row axis: a[..., indices] on that axis (indexing records it)."""
    if type(a) is not DeferredJet or out is not None or mode != "raise" or axis is None:
        return None
    ax = row_axis(axis, len((<DeferredJet>a).shape))
    if ax is None:
        return None
    index = np.asarray(indices)
    if index.dtype.kind not in "iu":
        return None
    return a[(slice(None),) * ax + (index,)]


def _row_einsum_chain(subscripts, *operands, **kwargs):
    """np.einsum of three or more operands: contracted two at a time, left to right, each
    pair by _row_einsum (or NumPy, for two constants), keeping the letters that later
    operands or the result use."""
    if (type(subscripts) is not str or len(operands) < 3 or kwargs or "->" not in subscripts
            or "." in subscripts):
        return None
    inputs, output = subscripts.replace(" ", "").split("->")
    specs = inputs.split(",")
    if len(specs) != len(operands):
        return None
    current, spec = operands[0], specs[0]
    for k in range(1, len(operands)):
        later = "".join(specs[k + 1:]) + output
        if k == len(operands) - 1:
            kept = output
        else:      # a row's letters first (the batch letter leads), then the other's
            first, second = ((spec, specs[k]) if type(current) is DeferredJet
                             else (specs[k], spec))
            kept = "".join(dict.fromkeys(c for c in first + second if c in later))
        pair = f"{spec},{specs[k]}->{kept}"
        if type(current) is not DeferredJet and type(operands[k]) is not DeferredJet:
            current = np.einsum(pair, current, operands[k])
        else:
            current = _row_einsum(pair, current, operands[k])
            if current is None:
                return None
        spec = kept
    return current


def _row_einsum_any(subscripts, *operands, **kwargs):
    if len(operands) >= 3:
        return _row_einsum_chain(subscripts, *operands, **kwargs)
    return _row_einsum(subscripts, *operands, **kwargs)


ROW_FUNCTIONS.update({
    np.var: _row_var, np.std: _row_std, np.diff: _row_diff, np.cross: _row_cross,
    np.linalg.cross: _row_cross, np.dot: _row_dot, np.tensordot: _row_tensordot,
    np.linalg.tensordot: _row_tensordot, np.einsum: _row_einsum_any, np.take: _row_take,
})
