# Deferred jets: a batch transform's elementwise work, run in cache-sized chunks.
#
# Design
# ------
# dj.batch_jacobian / dj.batch_hessian seed every row with the same few seeds, and
# f is typically a chain of elementwise functions of a row's columns (a
# potential, a residual). Run eagerly, each operation is one pass over all rows
# in the AoS layout (an element is K consecutive numbers, [v, d..., H...]): at
# 10^4 rows of a 3-variable Hessian every intermediate is 800 KB, so each pass
# streams through L2/L3, and K = 10 numbers are too few for vector registers.
#
# So for sources of >= DEFERRED_MIN_ELEMENTS elements (dualjac/_policy.py; of <= DEFERRED_MAX_K
# numbers each) f receives a DeferredJet standing for the seeded source, which is not
# seeded: its views (x[:, j]) keep the source's values and each element's seed
# number. A rules-table ufunc or operator on deferred jets (and Python scalars,
# or plain arrays that broadcast to its shape) only records a node: the row, the
# operands. When a value
# is needed (the transform's read-out, or anything that is not such an
# operation), the graph below it runs as one program over chunks of elements:
# each chunk's seeds (or inputs) are written component-major ("structure of
# arrays": component s of lane l of row j at s * cs + l * chunk + j) into per-thread scratch small
# enough for L1, every node runs its row's SoA kernel (_kernels.h s1_ / s3_,
# vectorized over the chunk's elements), and only the results are written out:
# as an ordinary AoS jet, or straight into the batch Jacobian / Hessian. The
# chunks are shared between the pool's threads. The SoA kernels do each
# element's arithmetic exactly as the AoS ones, so a deferred result has the
# same bits as the eager one (tests/test_deferred.py).
#
# Row operations (reductions along row axes, broadcasting within a row,
# indexing that keeps the rows, np.stack along a row axis, x @ W) are nodes too:
# _deferred_rows.pxi. Everything else (anything across rows, reading values, a
# jet of another transform) first computes the deferred operands and takes the
# ordinary dense path, so deferring can only fall back, never be wrong.
#
# Safety: a recorded node reads its operands later than eager code would.
#   - a plain array operand is copied when the node is recorded, and the
#     transform seeds from its own copy of the source;
#   - every computed jet (results, the source once seeded) is read-only, and a
#     DeferredJet refuses writes: inside its transform a write raises NeedsDense
#     or NumPy's read-only ValueError, and the transform evaluates f again on
#     ordinary jets (as for banded jets, _banded.pxi).
#   - f may share its deferred jets between threads: building a program and
#     publishing a computed node hold one lock, and a program runs on its own
#     state (run_graph).

from libc.stdlib cimport malloc, free
import threading

cdef extern from "thread_pool.h" nogil:
    void* dj_thread_scratch(size_t nbytes)

cdef extern from "readout.h" nogil:
    void dj_read_rows_double(const double* src, const Py_ssize_t* position, Py_ssize_t width,
                             Py_ssize_t m, double* dst, Py_ssize_t dst_stride)
    void dj_read_rows_float(const float* src, const Py_ssize_t* position, Py_ssize_t width,
                            Py_ssize_t m, float* dst, Py_ssize_t dst_stride)
    void dj_prefetch_write(const void* p, Py_ssize_t nbytes)
    void dj_prefetch_read(const void* p, Py_ssize_t nbytes)

cdef extern from "row_sums.h" nogil:
    void dj_row_sums_double(const double* a, const Py_ssize_t* lanes, const double* weights,
                            Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K, Py_ssize_t cs,
                            Py_ssize_t m, double* d)
    void dj_row_sums_float(const float* a, const Py_ssize_t* lanes, const float* weights,
                           Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K, Py_ssize_t cs,
                           Py_ssize_t m, float* d)

# Elements of more numbers than this are not deferred: with many seeds the AoS
# kernels vectorize over an element's components already, and a chunk holds few
# elements. Deferring still pays well at K = 51 (a batch Jacobian of 50 variables),
# breaks even near K = 200 and loses beyond (a batch Hessian of 20 variables, K = 231).
cdef Py_ssize_t DEFERRED_MAX_K = 128
# Target bytes a chunk touches (its scratch, output and source rows: chunk_row_bytes in
# _deferred_chunks.pxi): about L1.
cdef Py_ssize_t SCRATCH_TARGET = 48 * 1024
# A program of many lanes (a row product of 3 x 3 matrices: 27) would get chunks of a
# few rows at that size, and every kernel call would run over those few: it takes at
# least MIN_CHUNK rows while its scratch stays within SCRATCH_MAX (L2). 32 rows: more
# spread each kernel call's fixed cost further (the batch Hessian of the 81 products
# x_i x_j of rows of 9 gains up to about 64), fewer keep the scratch in the faster
# caches (the batch Jacobian of a row product of 3 x 3 matrices gains down to 16).
cdef Py_ssize_t MIN_CHUNK = 32
cdef Py_ssize_t SCRATCH_MAX = 2 * 1024 * 1024
# A graph that grows past this many distinct pending nodes is computed at once (its
# scratch and its gathers stay bounded). 128: the solve of a 3 x 3 matrix of jets by
# cofactors records about 90.
cdef Py_ssize_t MAX_PENDING = 128


def set_deferred_scratch(Py_ssize_t nbytes):
    """Target bytes a deferred program's chunk touches (for measuring the chunk size;
    returns the previous target)."""
    global SCRATCH_TARGET
    if nbytes < 1024:
        raise ValueError("the scratch target is at least 1024 bytes")
    previous, SCRATCH_TARGET = SCRATCH_TARGET, nbytes
    return previous


cdef class DeferredJet(_JetProtocol):
    """A jet of a batch transform whose value is not computed yet: elementwise
    operations on it are recorded and run later, in chunks (see the design
    comment of src_c/_deferred.pxi). dj.batch_jacobian and dj.batch_hessian hand
    f one of these for sources of >= dj.set_deferred_threshold() elements; it
    behaves as the dense jet it stands for."""
    cdef _Jet level            # a jet of the transform: order, seeds, tags, dtype
    cdef _Jet dense            # the computed jet (an input: from the start)
    cdef readonly tuple shape
    cdef Py_ssize_t count      # elements
    cdef int row               # rules-table row of a pending node; -1 an input; or a
                               # row operation (LANES, REDUCE, MATMUL: _deferred_rows.pxi)
    cdef int variant           # -1 unary; binary 0 (jet, jet), 1 (jet, c), 2 (c, jet);
                               # REDUCE: what it computes
    cdef object a, b           # operands: DeferredJets, or a constant (lane-major, see
                               # deferred_constant); LANES: a = the parts, b = the table
    cdef object amap, bmap     # a binary node's operand lane of each of its lanes (an
                               # intp array; None: the same lane)
    cdef object table          # a row operation's lane table (_deferred_rows.pxi)
    cdef Py_ssize_t rows       # shape[0] (1 for a 0-d jet): the program's elements
    cdef Py_ssize_t lanes      # numbers of a row (the product of shape[1:])
    cdef object sweep          # the transform's run (writes: in_own_sweep)
    # An input not computed yet: the source (make_dense seeds it) or a view of
    # one (parent[key]). seed_values / seed_map are its values and each element's
    # seed number (plain arrays of its shape).
    cdef object make_dense
    cdef DeferredJet parent
    cdef object key
    cdef cnp.ndarray seed_values
    cdef cnp.ndarray seed_map
    # When every lane has one seed down the rows (x, x[:, j], x[a:b]), the program
    # writes the seeds straight into its scratch: lane l's values are at
    # lane_offsets[l] + row * row_stride (items) of seed_values, its seed lane_seeds[l].
    cdef object lane_offsets
    cdef object lane_seeds
    cdef Py_ssize_t row_stride
    cdef Py_ssize_t pending    # pending nodes below this one (itself included)
    cdef Py_ssize_t mark       # the program build that last numbered it (run_graph)
    cdef Py_ssize_t number     # its value number in that program
    cdef object known_values   # a pending node's values once read (pending_values)
    cdef uint64_t deps1, deps2
    # Writes (_deferred_writes.pxi): a new array of f's own, the pending nodes' references
    # to it, and the comparison results (DeferredMask) that hold it.
    cdef bint fresh
    cdef Py_ssize_t consumers
    cdef Py_ssize_t holders
    cdef dict views            # an input's views by index (kept_seed_view); a pending
                               # node's (weak references: _deferred_writes.pxi)
    cdef object __weakref__

    __array_priority__ = 1001.0

    def __dealloc__(self):
        if self.dense is None:
            count_reads(self, -1)      # its operands lose a reader (_deferred_writes.pxi)

    # -- what it stands for
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return self.count

    @property
    def dtype(self):
        return self.level.buf.dtype

    @property
    def degree(self):
        """The derivative order it carries, as its transform's jets (1 or 2)."""
        return self.level.degree

    @property
    def tag1(self):
        return self.level.tag1

    @property
    def value(self):
        self.holders += 1      # (a view in eager code: a later write must not be recorded)
        if self.dense is None:
            return self._values("value")     # (read-only; no derivatives computed)
        return computed(self).value

    def compute(self):
        """The ordinary jet this one stands for (read-only: pending nodes may read it)."""
        self.holders += 1
        return computed(self)

    @property
    def T(self):
        return transposed(self)

    @property
    def mT(self):
        return np.matrix_transpose(self)

    def transpose(self, *axes):
        return np.transpose(self, axes[0] if len(axes) == 1 else axes or None)

    def __repr__(self):
        state = "pending" if self.dense is None else "computed"
        return f"DeferredJet(shape={self.shape}, dtype={self.dtype}, {state})"

    # -- what the jet protocol (src_c/_protocol.pxi) asks of a kind: arithmetic is
    # recorded when it can be, else done on the computed jets; the guards raise
    # without computing the graph first
    cpdef object _binary(self, int op, object a, object b):
        return deferred_or_dense(op, a, b)

    cpdef object _unary(self, int op):
        return deferred_unary(op, self)

    cpdef object _values(self, str use):
        if self.row == -1 and self.dense is None:
            # an input not seeded yet: the source's values as they are (read-only), without
            # seeding it for a comparison or a branch (`if np.any(x > 0):`)
            values = self.seed_values.view()
            values.flags.writeable = False
            return values
        if self.dense is None:
            return pending_values(self)
        return computed(self).buf[..., 0]

    cpdef object _dense(self):
        # (its graph holds the transform's closures)
        return computed(self)

    cpdef object _update(self, int op, object other, str spelling):
        return write_update(self, op, other, spelling)

    # -- comparisons: a DeferredMask when recorded (_deferred_where.pxi), else on values
    def __lt__(self, other):
        return compared(C_LESS, self, other)

    def __le__(self, other):
        return compared(C_LESS_EQUAL, self, other)

    def __gt__(self, other):
        return compared(C_GREATER, self, other)

    def __ge__(self, other):
        return compared(C_GREATER_EQUAL, self, other)

    def __eq__(self, other):
        return compared(C_EQUAL, self, other)

    def __ne__(self, other):
        return compared(C_NOT_EQUAL, self, other)

    __hash__ = None

    # -- writes: recorded into a new array of f's own, else never into memory a
    # pending node may read (_deferred_writes.pxi)
    def __setitem__(self, key, value):
        write_item(self, key, value)

    def copy(self, order="C"):
        return np.copy(self, order=order)

    def sort(self, axis=-1, kind=None, order=None):
        # In place, as ndarray.sort (and DualArray.sort): never on a computed copy.
        raise deferred_write_error(self, "sort() (in place)")

    # -- indexing: the source's views stay inputs; anything else is computed first
    def __getitem__(self, key):
        if type(key) is tuple or type(key) is DeferredMask:
            key = dense_tree(key)
        if self.row == -1 and self.dense is None:
            return kept_seed_view(self, key)
        picked = deferred_index(self, key)
        return computed(self)[key] if picked is None else picked

    def __getattr__(self, name):
        # Methods and attributes of the dense jet (reshape, T, sum, ...) on the
        # computed jet; the names above answer without computing.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(computed(self), name)

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        cdef PyObject* idx
        cdef object result
        if method == "__call__" and kwargs.keys() == {"out"} and ufunc.nout == 1:
            return ufunc_into(ufunc, inputs, kwargs["out"])    # (_deferred_writes.pxi)
        if method == "__call__" and not kwargs:
            if len(inputs) == 1 and type(inputs[0]) is DeferredJet:
                idx = PyDict_GetItem(UNARY_INDEX, ufunc)
                if idx != NULL:
                    return deferred_unary(<int><object>idx, <DeferredJet>inputs[0])
            elif len(inputs) == 2:
                idx = PyDict_GetItem(BINARY_INDEX, ufunc)
                if idx != NULL:
                    result = deferred_binary(<int><object>idx, inputs[0], inputs[1])
                    if result is not None:
                        return result
                elif ufunc is np.matmul:
                    result = row_product(inputs[0], inputs[1])
                    if result is not None:
                        return result
                else:
                    idx = PyDict_GetItem(COMPARISON_INDEX, ufunc)
                    if idx != NULL:
                        result = deferred_compare(<int><object>idx, inputs[0], inputs[1])
                        if result is not None:
                            return result
        elif method != "__call__" and len(inputs) == 1 and inputs[0] is self:
            recorder = ROW_UFUNC_METHODS.get((ufunc, method))     # np.add.reduce(x, axis=1)
            if recorder is not None:
                result = recorder(self, **kwargs)
                if result is not None:
                    return result
            else:
                rule = composite_rule((ufunc, method))    # np.logaddexp.reduce: a fold
                if rule is not None:
                    return rule(self, **kwargs)
        if method == "__call__" and not kwargs:
            rule = composite_rule(ufunc)        # np.heaviside: NumPy calls, each recorded
            if rule is not None:
                return rule(*inputs)
        return getattr(ufunc, method)(*dense_tree(inputs), **dense_tree(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        cdef object handler = ROW_FUNCTIONS.get(func)
        if handler is not None and type(args) is tuple and type(kwargs) is dict:
            recorded = handler(*args, **kwargs)
            if recorded is not None:
                return recorded
        creator = LIKE_CREATION.get(func)     # np.zeros(shape, like=d): d is not an argument
        if creator is not None and type(args) is tuple and type(kwargs) is dict:
            recorded = creator(self, *args, **kwargs)
            if recorded is not None:
                return recorded
        rule = composite_rule(func)     # np.average, np.ptp: NumPy calls, each recorded
        if rule is not None:
            return rule(*args, **kwargs)
        # The dense jet's handler, with that jet as NEP 35's `like` (np.zeros(n, like=x)).
        return computed(self).__array_function__(func, types, dense_tree(args),
                                                 dense_tree(kwargs))


# As for _Jet: no sequence item slot, so storing a deferred jet into a plain
# array reaches the __array__ guard's TypeError.
if (<PyTypeObject*>DeferredJet).tp_as_sequence != NULL:
    (<PyTypeObject*>DeferredJet).tp_as_sequence.sq_item = NULL


# ------------------------------------------------------------------ recording

cdef void set_shape(DeferredJet d, tuple shape) except *:
    d.shape = shape
    d.rows = shape[0] if shape else 1
    d.lanes = math_prod(shape[1:])
    d.count = d.rows * d.lanes


cdef object math_prod(tuple shape):
    cdef Py_ssize_t p = 1
    for v in shape:
        p *= v
    return p


cdef _Jet input_jet(DeferredJet d):
    """The jet an input stands for, seeding (a part of) the source if it must."""
    cdef _Jet dense
    if d.dense is None:
        with GRAPH_LOCK:             # seeded once, whichever thread asks first
            if d.dense is None:
                dense = d.make_dense() if d.parent is None else computed(d.parent)[d.key]
                cnp.PyArray_CLEARFLAGS(dense.buf, cnp.NPY_ARRAY_WRITEABLE)
                d.dense = dense
    return d.dense


cdef DeferredJet pending_node(DeferredJet proto, int row, int variant, object a, object b,
                              tuple shape=None):
    """A pending node of proto's sweep and level (of proto's shape unless given)."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = proto.level
    if shape is None:
        d.shape, d.rows, d.lanes, d.count = proto.shape, proto.rows, proto.lanes, proto.count
    else:
        set_shape(d, shape)
    d.row = row
    d.variant = variant
    d.a = a
    d.b = b
    d.sweep = proto.sweep
    d.pending = 1
    d.deps1 = proto.deps1
    d.deps2 = proto.deps2
    d.fresh = row != LANES        # (a LANES node may be a view: an index, a reshape)
    for operand in (a if row == LANES or row == WHERE or row == PICK else (a, b)):
        if type(operand) is DeferredJet:
            (<DeferredJet>operand).consumers += 1
            d.pending += (<DeferredJet>operand).pending
            d.deps1 |= (<DeferredJet>operand).deps1
            d.deps2 |= (<DeferredJet>operand).deps2
    return d


cdef DeferredJet bounded(DeferredJet d):
    """d, computed at once when its graph has grown past MAX_PENDING nodes."""
    if pending_count(d) > MAX_PENDING:
        computed(d)
    return d


cdef Py_ssize_t pending_count(DeferredJet d) except -1:
    """The pending nodes of d's graph. d.pending adds its operands' counts, so a node two
    operands share counts twice (the cofactors of a 3 x 3 solve share every entry, and
    the sum would cross MAX_PENDING with 40 distinct nodes); past MAX_PENDING the graph
    is counted node by node, and d keeps that count."""
    if d.pending > MAX_PENDING:
        d.pending = graph_size(d)
    return d.pending


cdef object deferred_unary(int row, DeferredJet a):
    return bounded(pending_node(a, row, -1, a, None))


cdef object deferred_or_dense(int row, object x, object y):
    """x (op) y for an operator: recorded if it can be, else on computed jets."""
    cdef object result = deferred_binary(row, x, y)
    if result is not None:
        return result
    x = dense_tree(x)
    y = dense_tree(y)
    if not isinstance(x, _Jet) and not isinstance(y, _Jet):
        return NotImplemented
    return binary_op(row, x, y)


cdef object compared(int op, DeferredJet x, object other):
    """x (op) other: recorded as a DeferredMask, else NumPy's comparison of values."""
    recorded = deferred_compare(op, x, other)
    if recorded is not None:
        return recorded
    return COMPARISON_UFUNCS[op](x._values("comparison"), plain_value(dense_tree(other)))


cdef object deferred_binary(int row, object x, object y):
    """A pending node for x (op) y, or None when it cannot be deferred (then the
    caller computes the operands and takes the dense path). Operands broadcast
    within a row ((b, 3) with (b, 1)); the rows themselves never do."""
    cdef DeferredJet a, b, d
    cdef int special
    # A mask in arithmetic is its plain boolean array, a constant (as eagerly)
    if type(x) is DeferredMask:
        x = x.compute()
    if type(y) is DeferredMask:
        y = y.compute()
    if type(x) is DeferredJet and type(y) is DeferredJet:
        a, b = <DeferredJet>x, <DeferredJet>y
        if a.sweep is not b.sweep or a.level.order != b.level.order:
            return None
        shape = row_broadcast(a, b.shape)
        if shape is None:
            return None
        d = pending_node(a, row, 0, a, b, shape)
        d.amap = lane_map(a.shape, shape)
        d.bmap = lane_map(b.shape, shape)
        return bounded(d)
    if type(x) is DeferredJet:
        a = <DeferredJet>x
        if row == I_POW and (type(y) is float or type(y) is int):
            special = power_as_unary(<double>y)     # as binary_jc: x**2 is square
            if special >= 0:
                return deferred_unary(special, a)
        c = deferred_constant(a, y)
        if c is not None:
            return bounded(pending_node(a, row, 1, a, c))
        return widened_by_constant(row, 1, a, y)
    if type(y) is DeferredJet:
        a = <DeferredJet>y
        c = deferred_constant(a, x)
        if c is not None:
            return bounded(pending_node(a, row, 2, c, a))
        return widened_by_constant(row, 2, a, x)
    return None


cdef object widened_by_constant(int row, int variant, DeferredJet a, object c):
    """a (op) c (variant 1) or c (op) a (variant 2) when the constant widens a's rows
    (a (b, 1) with a (b, 3) array, a column with a row vector): a node of the wider shape
    that reads each of a's lanes as many times (a lane map); None when the constant
    changes the rows or cannot be taken as one."""
    if type(c) is not cnp.ndarray and not isinstance(c, (list, tuple)):
        return None
    try:
        shape = tuple(np.broadcast_shapes(a.shape, np.shape(c)))
    except ValueError:
        return None
    if len(shape) != len(a.shape) or not a.shape or shape[0] != a.shape[0]:
        return None
    lanes = constant_lanes(a.level.buf.dtype, shape, c)
    if lanes is None:
        return None
    cdef DeferredJet d = pending_node(a, row, variant, a if variant == 1 else lanes,
                                      lanes if variant == 1 else a, shape)
    if variant == 1:
        d.amap = lane_map(a.shape, shape)
    else:
        d.bmap = lane_map(a.shape, shape)
    return bounded(d)


cdef object row_broadcast(DeferredJet a, tuple other):
    """The shape of a and a jet of shape `other` broadcast together, when both keep
    their rows (the same number of axes, the same first one); None otherwise."""
    if other == a.shape:             # (the usual case: no NumPy call)
        return other
    if len(other) != len(a.shape) or (a.shape and other[0] != a.shape[0]):
        return None
    try:
        return tuple(np.broadcast_shapes(a.shape, other))
    except ValueError:
        return None


cdef dict LANE_MAPS = {}


cdef object lane_map(tuple shape, tuple target):
    """Which lane of a jet of `shape` each lane of its broadcast to `target` reads
    (None: the same one). Kept per pair of row shapes (read-only): a broadcasting
    operation records one for each call of f, and making it costs more than the rest
    of the recording."""
    if shape == target:
        return None
    key = (shape[1:], target[1:])
    cdef object found = LANE_MAPS.get(key)
    if found is None:
        if len(LANE_MAPS) >= 64:
            LANE_MAPS.clear()
        lanes = np.arange(math_prod(shape[1:]), dtype=np.intp).reshape(shape[1:])
        found = np.ascontiguousarray(np.broadcast_to(lanes, target[1:]).reshape(-1))
        found.flags.writeable = False
        LANE_MAPS[key] = found
    return found


cdef object deferred_constant(DeferredJet a, object c):
    return constant_lanes(a.level.buf.dtype, a.shape, c)


cdef object constant_lanes(cnp.dtype dtype, tuple shape, object c):
    """c as a deferred node of this dtype and shape reads it: a 0-d array (a scalar),
    or, when it has the dtype and broadcasts to the shape, a copy of its lanes,
    lane-major: an array (lanes, rows), rows 1 when it is the same for every row;
    None otherwise (a dtype that would promote the jet's, a shape that would change
    the node's, a jet, a foreign type)."""
    cdef cnp.ndarray arr
    if type(c) is float or type(c) is int or type(c) is bool:
        arr = cnp.PyArray_EMPTY(0, NULL, dtype.type_num, 0)
        arr[()] = c          # Python scalars are 'weak' (NEP 50): the jet's dtype
        return arr
    if type(c) is list or type(c) is tuple:
        arr = numbers_of(c)
        if arr is None:
            return None
    elif type(c) is cnp.ndarray or isinstance(c, np.generic):
        arr = np.asarray(c)
    else:
        return None
    if arr.dtype != dtype:
        # Bools, integers or a narrower float that leave the jet's dtype as it is
        # (NEP 50: x * np.arange(3), x * [1, 2, 3] with a float64 x): cast, as the
        # dense path casts them (_drivers.pxi's binary_jc). One that promotes the jet
        # (a float64 array with a float32 x) is left to the dense path.
        if arr.dtype.kind not in "biuf" or np.result_type(dtype, arr) != dtype:
            return None
        arr = arr.astype(dtype)
    if arr.size == 1 and arr.ndim <= len(shape):
        return np.array(arr.reshape(()), copy=True)
    if arr.ndim > len(shape):
        return None
    cdef tuple arr_shape = (<object>arr).shape
    try:
        if tuple(np.broadcast_shapes(arr_shape, shape)) != shape:
            return None
    except ValueError:
        return None
    full = arr.reshape((1,) * (len(shape) - arr.ndim) + arr_shape)
    rows = full.shape[0]
    lanes = np.broadcast_to(full, (rows,) + shape[1:]).reshape(rows, -1)
    return np.array(lanes.T, order="C", copy=True)


cdef object numbers_of(object seq):
    """A list or tuple of plain numbers as NumPy makes it an array; None when it holds
    anything else (a jet among them: the dense path says what is wrong)."""
    for item in seq:
        if not (type(item) is float or type(item) is int or type(item) is bool
                or isinstance(item, (np.generic, list, tuple))):
            return None
    try:
        arr = np.asarray(seq)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "biuf" else None


cdef object composite_rule(object func):
    """The dispatch layer's rule for func when it is written with NumPy calls only
    (dualjac/dispatch/registry.py), which stand-in jets run on themselves; else None."""
    hook = _Hooks.composite_rule
    return None if hook is None else hook(func)


cdef object deferred_write_error(DeferredJet d, str what):
    """NeedsDense inside d's own transform (which then runs f on dense jets);
    outside it a TypeError that says what to do."""
    for root in ACTIVE_ROOTS:
        if root is d.sweep:
            return NeedsDense(what + " into a deferred jet")
    return TypeError(f"dualjac: {what} into a DeferredJet outside the transform that "
                     "made it; write into d.compute().copy() instead.")


# ------------------------------------------------------------------ the source's copy

def own_copy(array):
    """A batch transform's own C-contiguous copy of its source (see run_deferred):
    a large float source is copied by the pool's threads, a range of it each; one
    the pool would not split, by NumPy (a libc memcpy, faster at those sizes than the
    loop of copy_blocks)."""
    cdef cnp.ndarray src = np.asarray(array)
    if not cnp.PyArray_IS_C_CONTIGUOUS(src) or src.dtype.kind != "f" or src.size <= NOGIL_THRESHOLD:
        return cnp.PyArray_NewCopy(src, cnp.NPY_CORDER)
    cdef cnp.ndarray out = np.empty_like(src)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(src), whole = src.size // COPY_PIECE
    cdef Py_ssize_t done = whole * COPY_PIECE
    copy_blocks(<char*>cnp.PyArray_DATA(out), COPY_PIECE, <char*>cnp.PyArray_DATA(src),
                COPY_PIECE, whole, COPY_PIECE, itemsize)
    memcpy(<char*>cnp.PyArray_DATA(out) + done * itemsize,
           <char*>cnp.PyArray_DATA(src) + done * itemsize, (src.size - done) * itemsize)
    return out


# own_copy's pieces (items): each one loop the compiler turns into wide moves.
cdef Py_ssize_t COPY_PIECE = 4096


# ------------------------------------------------------------------ the sweep

def deferrable(Py_ssize_t K):
    """Can deferred programs carry elements of K numbers (value and derivatives)? (Whether
    a batch transform defers is the transforms' choice: dualjac/_policy.py.)"""
    return K <= DEFERRED_MAX_K


def run_deferred(f, cnp.ndarray array, _Jet level, make_dense):
    """f on a DeferredJet standing for the seeded source (array's values, which
    nothing else may write to: the transform's own copy; level a jet of the
    transform; make_dense() seeds the whole source), or NEEDS_DENSE when
    f writes into memory a deferred jet reads (f must then run on ordinary jets).
    The output may hold pending jets: deferred_derivatives() reads the result
    straight out of one, dense_target() computes them."""
    sweep = object()
    ACTIVE_ROOTS.append(sweep)
    if array.size * level.buf.shape[level.buf.ndim - 1] > NOGIL_THRESHOLD:
        dj_pool_prewake()      # the program will run on the pool once f is recorded
    try:
        return f(seed_input(array, level, make_dense, sweep))
    except NeedsDense:
        return NEEDS_DENSE
    except ValueError as error:
        if "read-only" in str(error):
            return NEEDS_DENSE
        raise
    finally:
        forget_root(sweep)
