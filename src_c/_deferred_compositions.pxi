# Row functions that are compositions of recorded operations: np.var / np.std,
# np.diff and np.cross along a row axis, np.dot / np.tensordot of a row with a
# constant matrix, np.einsum of three or more operands, products of two rows
# (np.einsum, @) as broadcast products summed, and the functions that only move a
# row's elements (np.transpose, np.swapaxes, np.diagonal, np.trace's diagonal, ...). Each runs the arithmetic of
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
    """np.diff along a row axis: later minus earlier, n times (NumPy's diff of the buffer);
    prepend / append joined first as constants (NumPy's: a scalar is a slice of length 1)."""
    if type(a) is not DeferredJet or type(n) is not int or n < 1:
        return None
    ax = row_axis(axis, len((<DeferredJet>a).shape))
    if ax is None:
        return None
    if prepend is not NO_VALUE or append is not NO_VALUE:
        a = diff_joined(<DeferredJet>a, ax, prepend, append)
        if a is None:
            return None
    if (<DeferredJet>a).shape[ax] <= n:
        return None
    before = (slice(None),) * ax
    for _ in range(n):
        a = a[before + (slice(1, None),)] - a[before + (slice(None, -1),)]
    return a


cdef object diff_joined(DeferredJet a, Py_ssize_t ax, object prepend, object append):
    """a with np.diff's prepend / append joined along row axis ax, or None (a jet among
    them, or values NumPy would not join)."""
    parts = [a]
    for extra, first in ((prepend, True), (append, False)):
        if extra is NO_VALUE:
            continue
        if not isinstance(extra, (int, float, np.generic, list, tuple, cnp.ndarray)):
            return None
        block = np.asarray(extra)
        if block.ndim == 0:
            block = np.broadcast_to(block, a.shape[:ax] + (1,) + a.shape[ax + 1:])
        if first:
            parts.insert(0, block)
        else:
            parts.append(block)
    return rows_joined((parts, ax), {}, False)


def _row_cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """linalg.cross of 3-vectors along the last axis: componentwise products."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if not all(type(ax) is int and ax == -1 for ax in (axisa, axisb, axisc)):
        return None
    if type(a) is not DeferredJet and type(b) is not DeferredJet:
        return None
    for operand in (a, b):      # the other a constant (a jet of another transform: dense)
        if type(operand) is not DeferredJet and type(operand) not in (cnp.ndarray, list, tuple):
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


def _row_inner(a, b):
    """np.inner of a row with a constant vector or matrix (their last axes against each
    other): np.dot with the constant's transpose."""
    if type(a) is not DeferredJet or type(b) is not cnp.ndarray or b.ndim not in (1, 2):
        return None
    return _row_dot(a, b.T)


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
    if type(indices) not in (cnp.ndarray, list, tuple, int):
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
    if len(operands) == 1:
        return _row_einsum_one(subscripts, operands[0], **kwargs)
    recorded = _row_einsum(subscripts, *operands, **kwargs)
    return recorded if recorded is not None else _row_einsum_vector(subscripts, *operands,
                                                                    **kwargs)


cdef object explicit_specs(object subscripts, tuple ndims, bint repeats=False):
    """(input specs, output) of an einsum spec ("...i->..." with each ellipsis spelled out
    in letters no spec uses, for operands of these numbers of axes), or None (a letter
    twice in one spec, an ellipsis that is not leading). An implicit spec ("...i,...i")
    has NumPy's output: the ellipsis, then the letters used once, in alphabetical order."""
    if type(subscripts) is not str:
        return None
    subscripts = subscripts.replace(" ", "")
    if "->" not in subscripts:
        letters = subscripts.replace(",", "").replace(".", "")
        subscripts += "->" + ("..." if "..." in subscripts else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    inputs, output = subscripts.split("->")
    specs = inputs.split(",")
    if len(specs) != len(ndims):
        return None
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in subscripts]
    width = 0
    for k, spec in enumerate(specs):
        if spec.startswith("..."):
            width = max(width, ndims[k] - len(spec) + 3)
    if width < 0 or width > len(spare):
        return None
    ellipsis = "".join(spare[:width])
    specs = [ellipsis[width - (ndims[k] - len(spec) + 3):] + spec[3:] if spec.startswith("...")
             else spec for k, spec in enumerate(specs)]
    output = ellipsis + output[3:] if output.startswith("...") else output
    if "." in "".join(specs) + output or len(set(output)) != len(output) or any(
            len(set(s)) != len(s) and not repeats for s in specs) \
            or [len(spec) for spec in specs] != list(ndims):
        return None
    return specs, output


def _row_einsum_one(subscripts, a, out=None, optimize=False, dtype=None):
    """np.einsum of one row: the diagonal of a letter it repeats ("bii->bi", as
    np.diagonal), a sum over the letters the result drops ("bi->b", "...ij->...j",
    "bii->b"), then its axes moved into the result's order ("bij->bji")."""
    if type(a) is not DeferredJet or out is not None or dtype is not None:
        return None
    parsed = explicit_specs(subscripts, (len((<DeferredJet>a).shape),), True)
    if parsed is None:
        return None
    (spec,), output = parsed
    for c in dict.fromkeys(spec):
        if spec.count(c) == 1:
            continue
        i, j = spec.index(c), spec.rindex(c)
        if spec.count(c) != 2 or i == 0 or type(a) is not DeferredJet:
            return None
        a = ROW_FUNCTIONS[np.diagonal](a, 0, i, j)          # the diagonal's axis goes last
        spec = spec[:i] + spec[i + 1:j] + spec[j + 1:] + c
    if type(a) is not DeferredJet:
        return None
    if not output or spec[:1] != output[:1] or any(c not in spec for c in output) \
            or len(spec) != len((<DeferredJet>a).shape):
        return None
    summed = tuple(k for k, c in enumerate(spec) if c not in output)
    result = _row_sum(a, summed) if summed else a
    kept = [c for c in spec if c in output]
    if result is None or kept == list(output):
        return result
    return ROW_FUNCTIONS[np.transpose](result, [kept.index(c) for c in output])


def _row_einsum_vector(subscripts, a, b, out=None, optimize=False, dtype=None):
    """np.einsum of a row with a constant vector over its last axis ("bi,i->b",
    "i,...i->..."): np.dot with it."""
    if out is not None or dtype is not None:
        return None
    row, vector = (a, b) if type(a) is DeferredJet else (b, a)
    if type(row) is not DeferredJet or type(vector) is not cnp.ndarray or vector.ndim != 1:
        return None
    ndim = <object>len((<DeferredJet>row).shape)
    ndims = (ndim, 1) if row is a else (1, ndim)
    parsed = explicit_specs(subscripts, ndims)
    if parsed is None:
        return None
    specs, output = parsed
    spec, letter = (specs[0], specs[1]) if row is a else (specs[1], specs[0])
    if len(spec) < 2 or spec[-1] != letter or output != spec[:-1]:
        return None
    return _row_dot(row, vector)


# ------------------------------------------------------------------ ufunc methods, splits

def _reduce_method(handler, bint has_dtype):
    """np.<ufunc>.reduce(x, axis, ...) as the reduction it is (np.add.reduce: np.sum),
    as the dense path's ufunc methods compute it (dispatch/reductions.py)."""
    def method(a, axis=0, dtype=None, out=None, keepdims=False, initial=NO_VALUE,
               where=NO_VALUE):
        if type(a) is not DeferredJet or not own_dtype(<DeferredJet>a, dtype):
            return None
        if has_dtype:
            return handler(a, axis, None, out, keepdims, initial, where)
        return handler(a, axis, out, keepdims, initial, where)
    return method


ROW_UFUNC_METHODS = {
    (np.add, "reduce"): _reduce_method(_row_sum, True),
    (np.multiply, "reduce"): _reduce_method(_row_prod, True),
    (np.maximum, "reduce"): _reduce_method(_row_max, False),
    (np.minimum, "reduce"): _reduce_method(_row_min, False),
    (np.add, "accumulate"):
        lambda a, axis=0, dtype=None, out=None: _row_cumsum(a, axis, dtype, out),
}


def _row_split(ary, indices_or_sections, axis=0, *, bint even=True):
    """np.split / np.array_split along a row axis: slices of the row (views, exact)."""
    if type(ary) is not DeferredJet:
        return None
    cdef DeferredJet a = <DeferredJet>ary
    ax = row_axis(axis, len(a.shape)) if a.shape else None
    if ax is None:
        return None
    try:
        pieces = (np.split if even else np.array_split)(np.arange(a.shape[ax]),
                                                         indices_or_sections)
    except (ValueError, TypeError):
        return None                  # (NumPy's error, eagerly)
    lead = (slice(None),) * ax
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    return [ary[lead + (slice(int(lo), int(hi)),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def _row_array_split(ary, indices_or_sections, axis=0):
    return _row_split(ary, indices_or_sections, axis, even=False)


def _row_hsplit(ary, indices_or_sections):
    if type(ary) is not DeferredJet or len((<DeferredJet>ary).shape) < 2:
        return None          # (rows of one number split along the rows' axis)
    return _row_split(ary, indices_or_sections, 1)


# ------------------------------------------------------------------ picks per row

cdef enum:
    PICK = -8                # a = (operand,); table = (rows, lanes): the operand's lane
                             # that each row's result lane takes


def _row_take_along_axis(arr, indices, axis=-1):
    """np.take_along_axis of rows with plain integer indices along a row axis: a PICK
    node, each row's lanes taken from its own places (exact copies, as eagerly)."""
    if type(arr) is not DeferredJet or type(indices) is not cnp.ndarray:
        return None
    cdef DeferredJet a = <DeferredJet>arr
    ax = row_axis(axis, len(a.shape)) if axis is not None and a.shape else None
    if ax is None or indices.dtype.kind not in "iu" or indices.ndim != len(a.shape) \
            or indices.shape[0] != a.rows:
        return None
    try:
        lanes = np.take_along_axis(np.broadcast_to(lane_numbers(a)[None], a.shape), indices, ax)
    except (IndexError, ValueError):
        return None              # (NumPy's error, eagerly)
    return pick_node(a, lanes)


def _row_sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """np.sort along a row axis: the values' stable argsort (as the dense rule sorts),
    then a PICK node."""
    if type(a) is not DeferredJet or order is not None or axis is None:
        return None
    ax = row_axis(axis, len((<DeferredJet>a).shape)) if (<DeferredJet>a).shape else None
    if ax is None:
        return None
    order_of = np.argsort((<DeferredJet>a)._values("np.sort"), axis=ax, kind="stable")
    return _row_take_along_axis(a, order_of, ax)


cdef object pick_node(DeferredJet a, object lanes):
    """The PICK node whose row e, lane l is a's lane lanes[e, ...][l] of row e."""
    cdef DeferredJet d = pending_node(a, PICK, -1, (a,), None, tuple(lanes.shape))
    d.table = np.ascontiguousarray(lanes.reshape(a.rows, -1), dtype=np.intp)
    return bounded(d)


cdef void set_pick_step(Program* P, Step* st, DeferredJet node, list slot_of,
                        list keep) except *:
    st.kind = STEP_PICK
    st.a = (<DeferredJet>node.a[0]).number
    st.slot_a = slot_of[st.a]
    st.table = intp_data(node.table, keep)
    st.fn = <void*>pick_step[double] if P.f64 else <void*>pick_step[float]


cdef void pick_step(Program* P, Step* st, real* scratch, real* out, Py_ssize_t start,
                    Py_ssize_t m) noexcept nogil:
    """PICK: every component of result lane l of row e from the operand's lane
    table[e, l] of that row."""
    cdef Py_ssize_t l, e, s, cs = P.cs, L = st.lanes
    cdef const real* a = scratch + st.slot_a * P.K * cs
    cdef const Py_ssize_t* row
    cdef const real* src
    cdef real* o
    for e in range(m):
        row = st.table + (start + e) * L
        for l in range(L):
            src = a + row[l] * P.chunk + e
            o = out + l * P.chunk + e
            for s in range(P.K):
                o[s * cs] = src[s * cs]


# ------------------------------------------------------------------ values replaced

cdef enum:
    SET_VALUE = -9           # a the operand, b a constant: b's values, a's derivatives


def deferred_with_values(a, values):
    """a's derivatives under other values (dualjac/dispatch/jets.py's with_values: the
    rules of floor_divide, remainder, fmod, copysign, ...) as a pending SET_VALUE node of
    a deferred jet or transpose; None for anything else, or values it cannot take as a
    constant (the caller then computes a)."""
    if type(a) is DeferredTranspose:
        rows = deferred_with_values(a.rows, np.asarray(values).T)
        return None if rows is None else rows.T
    if type(a) is not DeferredJet:
        return None
    c = deferred_constant(<DeferredJet>a, values)
    return None if c is None else bounded(pending_node(<DeferredJet>a, SET_VALUE, 1, a, c))


def deferred_constant_like(proto, values):
    """A jet of values with zero derivative parts, as eager code makes of a constant (the
    sign of np.linalg.slogdet), for a rule run by the deferred jet proto: an input of its
    program; None when proto is no deferred jet or values do not have its rows (the
    caller then computes proto)."""
    if type(proto) is not DeferredJet:
        return None
    return constant_input(<DeferredJet>proto, np.asarray(values))


cdef void set_value_step(Program* P, Step* st, DeferredJet node, list slot_of, list constants,
                         int kind) except *:
    st.kind = STEP_BINARY
    if P.f64:
        st.fn = <void*>(set_value_hessian[double] if kind else set_value_dual[double])
    else:
        st.fn = <void*>(set_value_hessian[float] if kind else set_value_dual[float])
    st.a = (<DeferredJet>node.a).number
    st.slot_a = slot_of[st.a]
    st.b = operand_number(node.b, constants)


cdef void set_value_dual(const real* a, Py_ssize_t sa, const real* b, Py_ssize_t sb, real* o,
                         Py_ssize_t cs, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """SET_VALUE of dual elements (a rules-table binary kernel's signature, b the constant)."""
    copy_under_values(a, b, sb, o, cs, m, 1 + n)


cdef void set_value_hessian(const real* a, Py_ssize_t sa, const real* b, Py_ssize_t sb, real* o,
                            Py_ssize_t cs, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    copy_under_values(a, b, sb, o, cs, m, 1 + n + n * (n + 1) // 2)


cdef inline void copy_under_values(const real* a, const real* b, Py_ssize_t sb, real* o,
                                   Py_ssize_t cs, Py_ssize_t m, Py_ssize_t K) noexcept nogil:
    """Component 0 from b (stride sb), components 1 .. K-1 copied from a, as the eager
    rule copies the buffer and sets its values."""
    cdef Py_ssize_t j, s
    for j in range(m):
        o[j] = b[j * sb]
    for s in range(1, K):           # (a loop: a chunk's runs are too short for memcpy's call)
        for j in range(m):
            o[s * cs + j] = a[s * cs + j]


def _row_astype(x, dtype, /, *, copy=True, device=None):
    """np.astype / .astype to the jet's own dtype: a copy (a new array, which f may write
    into), or with copy=False the jet itself, as NumPy."""
    if type(x) is not DeferredJet or device is not None or np.dtype(dtype) != (<DeferredJet>x).dtype:
        return None
    return fresh_copy(<DeferredJet>x) if copy and (<DeferredJet>x).dense is None else x


def _row_shape(a):
    return (<DeferredJet>a).shape if type(a) is DeferredJet else None


def _row_ndim(a):
    return len((<DeferredJet>a).shape) if type(a) is DeferredJet else None


def _row_size(a, axis=None):
    if type(a) is not DeferredJet:
        return None
    return (<DeferredJet>a).count if axis is None else None


def _row_atleast_2d(*arys):
    """np.atleast_2d of rows that already have two axes or more: themselves."""
    if not arys or not all(type(a) is DeferredJet and len((<DeferredJet>a).shape) >= 2
                           for a in arys):
        return None
    return arys[0] if len(arys) == 1 else tuple(arys)


# ------------------------------------------------------------------ products of two rows

# Products of two rows with at most this many products per row are recorded (the
# broadcast product is a node of that many lanes); larger ones run on computed jets.
MAX_ROW_PRODUCT_LANES = 512


def row_einsum_of_jets(str s0, str s1, str output, DeferredJet x, DeferredJet y):
    """np.einsum(s0 + "," + s1 + "->" + output, x, y) of two rows: each operand's axes
    put in the order of the result's letters then the summed ones (new axes where it
    lacks a letter), their product, summed over the letters the result drops. Eager
    einsum adds the same products in another order: they agree to rounding."""
    if not output or s0[:1] != output[:1] or s1[:1] != output[:1]:
        return None
    if any(c not in s0 + s1 for c in output):
        return None
    letters = output + "".join(dict.fromkeys(c for c in s0 + s1 if c not in output))
    sizes = {}
    for spec, operand in ((s0, x), (s1, y)):
        for c, n in zip(spec, operand.shape):
            if sizes.setdefault(c, n) != n:
                return None
    if math_prod(tuple([sizes[c] for c in letters[1:]])) > MAX_ROW_PRODUCT_LANES:
        return None
    x = spread_to_letters(x, s0, letters)
    y = spread_to_letters(y, s1, letters)
    if x is None or y is None:
        return None
    product = x * y
    summed = tuple(range(len(output), len(letters)))
    return _row_sum(product, summed) if summed else product


cdef object spread_to_letters(DeferredJet a, str spec, str letters):
    """a (axes named by spec, the first the rows) with its axes in the order they have
    in letters, and an axis of 1 for each letter it lacks."""
    order = sorted(range(1, len(spec)), key=lambda k: letters.index(spec[k]))
    moved = row_lanes_moved(a, np.transpose, ((0,) + tuple(order),), {})
    if moved is None:
        return None
    shape = (a.rows,) + tuple(moved.shape[1 + [spec[k] for k in order].index(c)]
                              if c in spec else 1 for c in letters[1:])
    return moved.reshape(shape)


def rows_matmul(x1, x2):
    """x1 @ x2 of two rows of matrices ((b, n, m) @ (b, m, p)); None for other shapes
    ((b, n, m) @ (b, m) multiplies across rows)."""
    if (type(x1) is not DeferredJet or type(x2) is not DeferredJet
            or len((<DeferredJet>x1).shape) != 3 or len((<DeferredJet>x2).shape) != 3):
        return None
    return row_einsum_of_jets("bij", "bjk", "bik", x1, x2)


# ------------------------------------------------------------------ moving elements

# Rows of the probe a data-movement function is run on (see row_lanes_moved).
PROBE_ROWS = 3


cdef object row_lanes_moved(DeferredJet a, object function, tuple args, dict kwargs):
    """function(a, *args, **kwargs) for a function that only moves elements (np.transpose,
    np.diagonal, ...), as a pick of a's lanes: the function runs on a probe of
    PROBE_ROWS rows whose elements are their own numbers, and is recorded when row r
    of the result holds elements of row r only, in the same places for every row;
    None otherwise (it mixes rows or is not a movement of elements)."""
    if not a.shape or a.rows < 2:      # (one row: np.squeeze would take the rows' axis)
        return None
    row_size = a.lanes
    try:
        key = ("moved", function, a.shape, args, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:
        key = None
    plan = ROW_PLANS.get(key) if key is not None else None
    if plan is None:
        plan = moved_plan(function, a.shape[1:], row_size, args, kwargs)
        if key is not None:
            stored_plan(key, plan)
    if plan is NOT_A_ROW_OPERATION:
        return None
    lanes, row_shape = plan
    return picked(a, pick_table(a.shape, lanes, (a.rows,) + row_shape), (a.rows,) + row_shape)


cdef object moved_plan(object function, tuple row_shape, Py_ssize_t row_size, tuple args,
                       dict kwargs):
    probe = np.arange(PROBE_ROWS * row_size, dtype=np.intp).reshape((PROBE_ROWS,) + row_shape)
    try:
        out = function(probe, *args, **kwargs)
    except (TypeError, ValueError, IndexError, np.exceptions.AxisError):
        return NOT_A_ROW_OPERATION
    if type(out) is not cnp.ndarray or out.dtype != np.intp or out.ndim == 0 \
            or out.shape[0] != PROBE_ROWS:
        return NOT_A_ROW_OPERATION
    first = np.array(out[0], copy=True)
    offsets = (np.arange(PROBE_ROWS, dtype=np.intp) * row_size).reshape((-1,) + (1,) * first.ndim)
    if first.size and (first.min() < 0 or first.max() >= row_size) \
            or not np.array_equal(out, first[None] + offsets):
        return NOT_A_ROW_OPERATION
    first.flags.writeable = False
    return first, tuple(out.shape[1:])


def _moving(function):
    """The ROW_FUNCTIONS handler of a function that only moves elements."""
    def handler(a, *args, **kwargs):
        if type(a) is not DeferredJet:
            return None
        return row_lanes_moved(<DeferredJet>a, function, args, kwargs)
    return handler


def _row_broadcast_to(array, shape, subok=False):
    """np.broadcast_to within rows (the rows' count kept first): a pick of lanes, read-only
    as NumPy's view is (a write into it is refused as the dense jets refuse it)."""
    if type(array) is not DeferredJet:
        return None
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    if len(shape) != len((<DeferredJet>array).shape) or shape[0] != (<DeferredJet>array).rows:
        return None
    return row_lanes_moved(<DeferredJet>array, broadcast_rows, (shape[1:],), {})


def broadcast_rows(rows, row_shape):
    return np.broadcast_to(rows, rows.shape[:1] + row_shape)


def _row_pad(array, pad_width, mode="constant", **kwargs):
    """np.pad of rows along row axes: a constant pad (np.pad's default) joins constant
    blocks before and after (zero derivative parts, as eagerly); the modes that copy
    elements (edge, wrap, reflect, symmetric) are moves of lanes."""
    if type(array) is not DeferredJet or not (<DeferredJet>array).shape:
        return None
    cdef DeferredJet a = <DeferredJet>array
    try:
        pairs = np.broadcast_to(np.asarray(pad_width), (len(a.shape), 2))
    except (TypeError, ValueError):
        return None
    if pairs.dtype.kind not in "iu" or pairs[0].any() or (pairs < 0).any():
        return None                   # (padding the rows' axis reads across rows)
    if mode in ("edge", "wrap", "reflect", "symmetric") and not kwargs:
        return row_lanes_moved(a, np.pad, (pad_width, mode), {})
    if mode != "constant" or set(kwargs) - {"constant_values"}:
        return None
    fill = kwargs.get("constant_values", 0)
    if np.ndim(fill) != 0:
        return None
    result = a
    for k in range(1, len(a.shape)):
        before, after = int(pairs[k, 0]), int(pairs[k, 1])
        if not before and not after:
            continue
        shape = (<DeferredJet>result).shape
        block = lambda width: np.full(shape[:k] + (width,) + shape[k + 1:], fill, a.dtype)
        parts = ([block(before)] if before else []) + [result] + ([block(after)] if after else [])
        result = rows_joined((parts, k), {}, False)
        if result is None:
            return None
    return result


def _row_trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """reductions.trace: the diagonal (moved lanes), summed along its last axis."""
    if type(a) is not DeferredJet or dtype is not None or out is not None:
        return None
    diagonal = row_lanes_moved(<DeferredJet>a, np.diagonal, (offset, axis1, axis2), {})
    if diagonal is None or not (<DeferredJet>diagonal).shape[-1:] or len((<DeferredJet>diagonal).shape) < 2:
        return None
    return _row_sum(diagonal, -1)


# (np.transpose, np.swapaxes, np.moveaxis and np.matrix_transpose: _deferred_transpose.pxi,
# which also gives a DeferredTranspose where they transpose rows of one axis)
# ------------------------------------------------------------------ norms

def _row_norm(x, ord=None, axis=None, keepdims=False):
    """reductions.norm's vector and matrix norms along row axes, on deferred jets."""
    if type(x) is not DeferredJet or type(keepdims) is not bool:
        return None
    if type(axis) is tuple and len(axis) == 1:
        axis = axis[0]
    if row_axes(<DeferredJet>x, axis) is None:
        return None
    if type(axis) is tuple:
        return matrix_norm(x, ord, axis, keepdims) if len(axis) == 2 else None
    if ord is None or ord == 2:
        return deferred_unary(I_SQRT, _row_sum(deferred_binary(I_MUL, x, x), axis,
                                              keepdims=keepdims))
    if isinstance(ord, str) or not isinstance(ord, (int, float)) or ord == 0:
        return None
    magnitude = deferred_unary(I_ABS, x)
    if ord == 1:
        return _row_sum(magnitude, axis, keepdims=keepdims)
    if ord == np.inf:
        return _row_max(magnitude, axis, keepdims=keepdims)
    if ord == -np.inf:
        return _row_min(magnitude, axis, keepdims=keepdims)
    powered = deferred_binary(I_POW, magnitude, ord)
    total = None if powered is None else _row_sum(powered, axis, keepdims=keepdims)
    return None if total is None else deferred_binary(I_POW, total, 1.0 / ord)


cdef object matrix_norm(x, ord, tuple axes, bint keepdims):
    """reductions.norm's matrix norms: Frobenius, and the largest / smallest column (1)
    or row (inf) sum of |x|; those of singular values are left to the computed jets."""
    if ord is None or ord == "fro":
        result = deferred_unary(I_SQRT, _row_sum(deferred_binary(I_MUL, x, x), axes,
                                                 keepdims=True))
    elif not isinstance(ord, str) and ord in (1, -1, np.inf, -np.inf):
        summed, picked = axes if abs(ord) == 1 else axes[::-1]
        sums = _row_sum(deferred_unary(I_ABS, x), summed, keepdims=True)
        result = (_row_max if ord > 0 else _row_min)(sums, picked, keepdims=True)
    else:
        return None
    return result if result is None or keepdims else np.squeeze(result, axes)


ROW_FUNCTIONS.update({
    np.linalg.norm: _row_norm, np.broadcast_to: _row_broadcast_to,
    np.lib.stride_tricks.sliding_window_view: _moving(np.lib.stride_tricks.sliding_window_view),
    np.diagonal: _moving(np.diagonal), np.flip: _moving(np.flip),
    np.squeeze: _moving(np.squeeze), np.roll: _moving(np.roll),
    np.rot90: _moving(np.rot90), np.repeat: _moving(np.repeat), np.tile: _moving(np.tile),
    np.trace: _row_trace, np.pad: _row_pad,
})


ROW_FUNCTIONS.update({
    np.var: _row_var, np.std: _row_std, np.diff: _row_diff, np.cross: _row_cross,
    np.linalg.cross: _row_cross, np.dot: _row_dot, np.inner: _row_inner,
    np.tensordot: _row_tensordot,
    np.linalg.tensordot: _row_tensordot, np.einsum: _row_einsum_any, np.take: _row_take,
    np.split: _row_split, np.array_split: _row_array_split, np.hsplit: _row_hsplit,
    np.atleast_2d: _row_atleast_2d,
    np.take_along_axis: _row_take_along_axis, np.sort: _row_sort, np.astype: _row_astype,
    # what the dense path's rules ask of their arguments, answered without computing
    np.shape: _row_shape, np.ndim: _row_ndim, np.size: _row_size,
})
