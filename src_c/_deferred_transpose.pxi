# Deferred jets, transposed: x.T of rows (a DeferredJet of shape (b, n)) as code that
# treats the components of a batch as its rows writes it (`a, b, c = x.T`,
# `(W @ x.T).T`, `np.stack([...]).T`). The transpose puts the rows' axis last, where a
# deferred program cannot keep it, so a DeferredTranspose stands for d.T and answers what
# keeps each row's numbers apart in terms of d: an element function of d, W @ d.T as
# (d @ W.T).T, a reduction over its first axis as one over d's rows, indexing its first
# axis as indexing d's second. Anything else runs on the computed jet, transposed, as
# eager code would (dense_tree).

def transposed(DeferredJet d):
    """d.T: a DeferredTranspose for rows of one axis (d of shape (b, n)), else the
    computed jet's transpose."""
    if len(d.shape) == 2:
        return DeferredTranspose(d)
    return computed(d).T


cdef object row_key(object key):
    """t[k, :] as t[k] (a transpose of rows of one axis: k picks numbers of each row)."""
    if type(key) is tuple and len(key) == 2 and type(key[1]) is slice and key[1] == slice(None):
        return key[0]
    return key


cdef object rows_of(object v, int target_ndim):
    """What v written into a part of a transpose with target_ndim axes is for the rows
    (t[k] = v is rows[:, k] = v broadcast to t[k]'s shape, transposed): a transpose's rows,
    the transpose of anything of two axes or more, a vector as a column of a part of two
    axes (it broadcasts along t's last axis, the rows'), else v itself."""
    if type(v) is DeferredTranspose:
        return v.rows
    if not isinstance(v, _JetProtocol):
        v = np.asarray(v)
    if v.ndim >= 2:
        return v.T
    return v[:, None] if v.ndim == 1 and target_ndim == 2 else v


cdef object rows_first(object v, Py_ssize_t rows):
    """An operand of an element function of DeferredTransposes of `rows` rows (their
    second axis), as the operand of the same function on their rows-first jets;
    NO_OPERAND when it is something else (a constant of more than two axes, a jet)."""
    if type(v) is DeferredTranspose:
        return v.rows if v.shape[1] == rows else NO_OPERAND
    if type(v) is float or type(v) is int or type(v) is bool:
        return v
    if type(v) is not cnp.ndarray and not isinstance(v, np.generic):
        return NO_OPERAND
    c = np.asarray(v)
    if c.ndim > 2:
        return NO_OPERAND
    return c.reshape((1,) * (2 - c.ndim) + c.shape).T


cdef bint keeps_rows(tuple inputs, Py_ssize_t rows):
    """Are the operands DeferredTransposes, arrays and Python scalars that broadcast to
    two axes, the second one the rows' (b)?"""
    shapes = []
    for v in inputs:
        if type(v) is DeferredTranspose or type(v) is cnp.ndarray or isinstance(v, np.generic):
            shapes.append(v.shape)
        elif not (type(v) is float or type(v) is int or type(v) is bool):
            return False
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return len(shape) == 2 and shape[1] == rows


cdef object columns_last(object result):
    """A result of two axes computed on rows-first jets, transposed back (as the
    operation on the transposes gives it); one of the rows alone ((b,)) as it is."""
    if type(result) is DeferredJet:
        return DeferredTranspose(result) if len((<DeferredJet>result).shape) == 2 else result
    result = dense_tree(result)
    return result.T if getattr(result, "ndim", 0) == 2 else result


# Functions along an axis whose axis=0 of a transpose is axis=1 of its rows-first jet.
TRANSPOSED_REDUCTIONS = (np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin,
                         np.linalg.norm, np.cumsum, np.sort)


class DeferredTranspose(_JetProtocol):
    """d.T for a deferred jet d of shape (b, n), not computed: element functions, W @ it,
    reductions over its first axis and indexing its first axis stay recorded on d;
    anything else reads the computed jet's transpose. It speaks the jet protocol
    (src_c/_protocol.pxi): its operators are NumPy's ufuncs, which __array_ufunc__
    records."""

    __array_priority__ = 1002.0

    def __init__(self, rows):
        self.rows = rows
        self.shape = ((<DeferredJet>rows).shape[1], (<DeferredJet>rows).shape[0])

    ndim = property(lambda self: 2)
    size = property(lambda self: (<DeferredJet>self.rows).count)
    dtype = property(lambda self: (<DeferredJet>self.rows).dtype)
    degree = property(lambda self: (<DeferredJet>self.rows).degree)
    tag1 = property(lambda self: (<DeferredJet>self.rows).tag1)
    T = property(lambda self: self.rows)
    value = property(lambda self: self.compute().value)

    # -- what the jet protocol asks of a kind
    def _binary(self, op, a, b):
        return BINARY_OPERATORS[op](a, b)

    def _unary(self, op):
        return UNARY_OPERATORS[op](self)

    def _values(self, use):
        return (<DeferredJet>self.rows)._values(use).T

    def _dense(self):
        return self.compute()

    def _update(self, op, other, spelling):
        # t op= v is rows op= v.T (_deferred_writes.pxi); t, which reads rows, shows it
        write_update(<DeferredJet>self.rows, op, rows_of(other, 2), spelling)
        return self

    mT = property(lambda self: self.rows)

    def transpose(self, *axes):
        return np.transpose(self, axes[0] if len(axes) == 1 else axes or None)

    def swapaxes(self, axis1, axis2):
        return np.swapaxes(self, axis1, axis2)

    def compute(self):
        """The ordinary jet this one stands for (the computed rows, transposed)."""
        return computed(<DeferredJet>self.rows).T

    def __repr__(self):
        return f"DeferredTranspose(shape={self.shape}, dtype={self.dtype}, of {self.rows!r})"

    def __getitem__(self, key):
        key = row_key(key)
        if type(key) is int or isinstance(key, np.integer):
            return self.rows[:, key]
        if type(key) is slice:
            return DeferredTranspose(self.rows[:, key])
        return self.compute()[dense_tree(key)]

    def __setitem__(self, key, value):
        # t[k] = v is rows[:, k] = v.T (_deferred_writes.pxi); t, which reads rows, shows it
        key = row_key(key)
        if type(key) is int or isinstance(key, np.integer) or type(key) is slice:
            write_item(<DeferredJet>self.rows, (slice(None), key),
                       rows_of(value, 2 if type(key) is slice else 1))
        else:
            raise deferred_write_error(<DeferredJet>self.rows, "item assignment")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.compute(), name)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs and ufunc.nout == 1:
            if ufunc is np.matmul:
                recorded = transposed_matmul(inputs[0], inputs[1])
                if recorded is not None:
                    return recorded
            elif keeps_rows(inputs, self.shape[1]):
                operands = [rows_first(v, self.shape[1]) for v in inputs]
                if not any(v is NO_OPERAND for v in operands):
                    return columns_last(ufunc(*operands))
            rule = composite_rule(ufunc)
            if rule is not None:
                return rule(*inputs)
        return getattr(ufunc, method)(*dense_tree(inputs), **dense_tree(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func in AXIS_MOVES and args and args[0] is self and transposes(func, args[1:], kwargs):
            return self.rows
        if func in TRANSPOSED_REDUCTIONS and args and args[0] is self and (
                len(args) == 1 or len(args) == 2 and func is not np.linalg.norm
                and "axis" not in kwargs):
            axis = kwargs.get("axis") if len(args) == 1 else args[1]
            if (type(axis) is int or isinstance(axis, np.integer)) and axis in (0, -2):
                return columns_last(func(self.rows, **{**kwargs, "axis": 1}))
        rule = composite_rule(func)      # NumPy calls, each as above
        if rule is not None:
            return rule(*args, **kwargs)
        return func(*dense_tree(args), **dense_tree(kwargs))

    def sum(self, axis=None, **kwargs):
        return np.sum(self, axis=axis, **kwargs)

    def mean(self, axis=None, **kwargs):
        return np.mean(self, axis=axis, **kwargs)

    def prod(self, axis=None, **kwargs):
        return np.prod(self, axis=axis, **kwargs)

    def max(self, axis=None, **kwargs):
        return np.max(self, axis=axis, **kwargs)

    def min(self, axis=None, **kwargs):
        return np.min(self, axis=axis, **kwargs)

    def cumsum(self, axis=None, **kwargs):
        return np.cumsum(self, axis=axis, **kwargs)


# The jet kinds that stand for an ordinary jet (dense_tree computes them).
STAND_IN_JETS = (BandedJet, DeferredJet, DeferredTranspose)


cdef object transposed_matmul(object a, object b):
    """W @ d.T as (d @ W.T).T (a constant matrix or vector W); None for anything else."""
    if type(b) is not DeferredTranspose or type(a) is DeferredTranspose:
        return None
    if type(a) is not cnp.ndarray or a.ndim not in (1, 2):
        return None
    product = b.rows @ (a.T if a.ndim == 2 else a)
    return columns_last(product) if a.ndim == 2 else product


cdef object TRANSPOSE_PROBE = np.arange(6).reshape(2, 3)
AXIS_MOVES = (np.transpose, np.swapaxes, np.moveaxis, np.matrix_transpose,
              np.linalg.matrix_transpose)


cdef dict TRANSPOSES = {}     # (function, args, kwargs) -> whether it transposes


cdef bint transposes(object function, tuple args, dict kwargs):
    """Does function(a, *args, **kwargs) transpose an array a of two axes? (Asked of a
    probe once per function and arguments.)"""
    try:
        key = (function, args, tuple(sorted(kwargs.items())))
        found = TRANSPOSES.get(key)
    except TypeError:            # (unhashable arguments: asked every time)
        key = found = None
    if found is not None:
        return found
    try:
        moved = function(TRANSPOSE_PROBE, *args, **kwargs)
        answer = moved.shape == (3, 2) and np.array_equal(moved, TRANSPOSE_PROBE.T)
    except (TypeError, ValueError, IndexError):
        answer = False           # (NumPy's error, eagerly)
    if key is not None and len(TRANSPOSES) < 256:
        TRANSPOSES[key] = answer
    return answer


def _transposing(function, moving):
    """The ROW_FUNCTIONS handler of a function that moves axes (AXIS_MOVES): a
    DeferredTranspose when it transposes rows of one axis; else the handler of moves
    within rows."""
    def handler(a, *args, **kwargs):
        if type(a) is DeferredJet and len((<DeferredJet>a).shape) == 2 and \
                transposes(function, args, kwargs):
            return DeferredTranspose(a)
        return moving(a, *args, **kwargs)
    return handler


cdef object stacked_columns(object parts):
    """Rows of one number (b,) stacked along axis 0: the transpose of their stack along
    axis 1; None for anything else."""
    if type(parts) not in (list, tuple) or not parts or not all(
            type(p) is DeferredJet and len((<DeferredJet>p).shape) == 1 for p in parts):
        return None
    joined = rows_joined((list(parts), 1), {}, True)
    return None if joined is None else DeferredTranspose(joined)


def _row_vstack(tup, *, dtype=None, casting="same_kind"):
    return stacked_columns(tup) if dtype is None else None


def _row_stack_or_columns(*args, **kwargs):
    """np.stack along a row axis, or of rows of one number along axis 0 (transposed)."""
    recorded = _row_stack(*args, **kwargs)
    if recorded is not None or set(kwargs) - {"axis"} or len(args) > 2:
        return recorded
    axis = args[1] if len(args) == 2 else kwargs.get("axis", 0)
    return stacked_columns(args[0]) if args and axis in (0, -2) else None


ROW_FUNCTIONS.update({np.vstack: _row_vstack, np.stack: _row_stack_or_columns})
for _function in AXIS_MOVES:
    ROW_FUNCTIONS[_function] = _transposing(_function, _moving(_function))
