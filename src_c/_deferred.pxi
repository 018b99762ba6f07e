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
# or plain arrays of the same shape) only records a node: the row, the operands;
# np.stack of deferred jets records a node whose parts are results. When a value
# is needed (the transform's read-out, or anything that is not such an
# operation), the graph below it runs as one program over chunks of elements:
# each chunk's seeds (or inputs) are written component-major ("structure of
# arrays": component s of element j at s * cs + j) into per-thread scratch small
# enough for L1, every node runs its row's SoA kernel (_kernels.h s1_ / s3_,
# vectorized over the chunk's elements), and only the results are written out:
# as an ordinary AoS jet, or straight into the batch Jacobian / Hessian. The
# chunks are shared between the pool's threads. The SoA kernels do each
# element's arithmetic exactly as the AoS ones, so a deferred result has the
# same bits as the eager one (tests/test_deferred.py).
#
# Everything else (indexing a computed node, reductions, matmul, reading
# values, a jet of another transform) first computes the deferred operands and
# takes the ordinary dense path, so deferring can only fall back, never be wrong.
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

# Elements of more numbers than this are not deferred: with many seeds the AoS
# kernels vectorize over an element's components already, and a chunk holds few
# elements. Measured (ms, 2 threads): the batch Hessian of sum(sin(x) x) over
# 100 rows of 20 variables (K = 231) 1.49 deferred vs 0.99 eager; batch Jacobians
# of elementwise f over 1000 rows of 50 (K = 51) 3.7 vs 10.0, over 100 rows of 200
# (K = 201) equal.
cdef Py_ssize_t DEFERRED_MAX_K = 128
# Target bytes of a chunk's scratch (every live value of the program): about L1.
cdef Py_ssize_t SCRATCH_TARGET = 48 * 1024
# A graph that grows past this many pending nodes is computed at once (its
# scratch and its gathers stay bounded).
cdef Py_ssize_t MAX_PENDING = 64


def set_deferred_scratch(Py_ssize_t nbytes):
    """Target bytes of a deferred program's scratch per chunk (for measuring the
    chunk size; returns the previous target)."""
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
    cdef int row               # rules-table row of a pending node; -1 an input; STACKED
    cdef int variant           # -1 unary; binary 0 (jet, jet), 1 (jet, c), 2 (c, jet)
    cdef object a, b           # operands: DeferredJets, or a constant ndarray;
                               # STACKED: a = the parts (a tuple), b = inner size
    cdef object sweep          # the transform's run (writes: in_own_sweep)
    # An input not computed yet: the source (make_dense seeds it) or a view of
    # one (parent[key]). seed_values / seed_map are its values and each element's
    # seed number (plain arrays of its shape). When its values are evenly spaced
    # and the seed is the same for every element (x[:, j]: seed_index, period 0)
    # or runs through all seeds row after row (x, x[a:b]: seed of element e is
    # e % seed_period), the program writes the seeds straight into its scratch.
    cdef object make_dense
    cdef DeferredJet parent
    cdef object key
    cdef cnp.ndarray seed_values
    cdef cnp.ndarray seed_map
    cdef Py_ssize_t seed_index
    cdef Py_ssize_t seed_period
    cdef Py_ssize_t seed_stride
    cdef Py_ssize_t pending    # pending nodes below this one (itself included)
    cdef Py_ssize_t mark       # the program build that last numbered it (run_graph)
    cdef Py_ssize_t number     # its value number in that program
    cdef uint64_t deps1, deps2

    __array_priority__ = 1001.0

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
    def value(self):
        return computed(self).value

    def compute(self):
        """The ordinary jet this one stands for (read-only: pending nodes may read it)."""
        return computed(self)

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
        return computed(self).buf[..., 0]

    cpdef object _dense(self):
        # (its graph holds the transform's closures)
        return computed(self)

    cpdef object _update(self, int op, object other, str spelling):
        raise deferred_write_error(self, "an in-place operator")

    # -- writes: never into memory a pending node may read
    def __setitem__(self, key, value):
        raise deferred_write_error(self, "item assignment")

    def sort(self, axis=-1, kind=None, order=None):
        # In place, as ndarray.sort (and DualArray.sort): never on a computed copy.
        raise deferred_write_error(self, "sort() (in place)")

    # -- indexing: the source's views stay inputs; anything else is computed first
    def __getitem__(self, key):
        if self.row == -1:
            return seed_view(self, key)
        return computed(self)[key]

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
        return getattr(ufunc, method)(*dense_tree(inputs), **dense_tree(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func is NP_STACK and type(args) is tuple and type(kwargs) is dict:
            stacked = deferred_stack(args, kwargs)
            if stacked is not None:
                return stacked
        # The dense jet's handler, with that jet as NEP 35's `like` (np.zeros(n, like=x)).
        return computed(self).__array_function__(func, types, dense_tree(args),
                                                 dense_tree(kwargs))


# As for _Jet: no sequence item slot, so storing a deferred jet into a plain
# array reaches the __array__ guard's TypeError.
if (<PyTypeObject*>DeferredJet).tp_as_sequence != NULL:
    (<PyTypeObject*>DeferredJet).tp_as_sequence.sq_item = NULL


# ------------------------------------------------------------------ recording

cdef DeferredJet seed_input(object array, _Jet level, object make_dense, object sweep):
    """The seeded source as an input that is not seeded yet: level is a jet of
    the transform (its first row, seeded), make_dense() seeds the whole source."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = level
    d.make_dense = make_dense
    d.sweep = sweep
    d.row = -1
    d.variant = -1
    d.deps1 = jdeps1(level)
    d.deps2 = jdeps2(level)
    set_seed_views(d, array, seed_map_of((<object>array).shape))
    return d


cdef dict SEED_MAPS = {}


cdef cnp.ndarray seed_map_of(tuple shape):
    """Each element's seed number for a batch source of this shape (the row's flat
    index, repeated down the batch axis: a read-only broadcast view), kept for reuse."""
    cdef object found = SEED_MAPS.get(shape)
    if found is None:
        if len(SEED_MAPS) >= 32:
            SEED_MAPS.clear()
        row_shape = shape[1:]
        seeds = np.arange(math_prod(row_shape), dtype=np.intp).reshape(row_shape)
        found = SEED_MAPS[shape] = np.broadcast_to(seeds, shape)
    return <cnp.ndarray>found


cdef DeferredJet seed_view(DeferredJet parent, object key):
    """parent[key] for a source not seeded yet: the same index on its values and seeds."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = parent.level
    d.parent = parent
    d.key = key
    d.sweep = parent.sweep
    d.row = -1
    d.variant = -1
    d.deps1 = parent.deps1
    d.deps2 = parent.deps2
    # (an integer index gives NumPy scalars: 0-d arrays then)
    set_seed_views(d, np.asarray(parent.seed_values[key]), np.asarray(parent.seed_map[key]))
    return d


cdef void set_seed_views(DeferredJet d, cnp.ndarray values, cnp.ndarray seed_map) except *:
    d.seed_values = values
    d.seed_map = seed_map
    d.shape = (<object>values).shape
    d.count = values.size
    d.seed_index = -1
    d.seed_period = 0
    cdef Py_ssize_t stride = flat_stride(values)
    cdef int k
    if stride < 0 or values.descr.type_num != cnp.PyArray_TYPE(d.level.buf) or values.size == 0:
        return
    d.seed_stride = stride
    d.seed_index = (<cnp.npy_intp*>cnp.PyArray_DATA(seed_map))[0]
    for k in range(seed_map.ndim):
        if seed_map.shape[k] > 1 and seed_map.strides[k] != 0:
            break                         # the seed varies along the view
    else:
        return                            # one seed for every element
    if d.seed_index == 0 and runs_through_seeds(seed_map, d.level.n1):
        d.seed_period = d.level.n1
    else:
        d.seed_index = -1


cdef bint runs_through_seeds(cnp.ndarray seed_map, Py_ssize_t n):
    """Is seed_map (rows, row shape) whole rows of the source's seed map, so that
    its element e has seed e % n (the source itself, a slice of rows)?"""
    cdef int k
    cdef Py_ssize_t step = cnp.PyArray_ITEMSIZE(seed_map), size = 1
    if seed_map.ndim < 2 or seed_map.strides[0] != 0:
        return False
    for k in range(seed_map.ndim - 1, 0, -1):     # the row part: C-contiguous seeds
        if seed_map.shape[k] > 1 and seed_map.strides[k] != step:
            return False
        step *= seed_map.shape[k]
        size *= seed_map.shape[k]
    return size == n


cdef Py_ssize_t flat_stride(cnp.ndarray a):
    """The distance in items between consecutive elements of a (C order) when it is
    the same everywhere; -1 otherwise."""
    cdef int d, last = -1
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(a), step = 0
    for d in range(a.ndim - 1, -1, -1):
        if a.shape[d] == 1:
            continue
        if last < 0:
            step = a.strides[d]
        elif a.strides[d] != a.strides[last] * a.shape[last]:
            return -1
        last = d
    if step % itemsize:
        return -1
    return step // itemsize


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


cdef DeferredJet pending_node(DeferredJet proto, int row, int variant, object a, object b):
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = proto.level
    d.shape = proto.shape
    d.count = proto.count
    d.row = row
    d.variant = variant
    d.a = a
    d.b = b
    d.sweep = proto.sweep
    d.pending = 1
    d.deps1 = proto.deps1
    d.deps2 = proto.deps2
    if row == STACKED:
        for part in a:
            d.pending += (<DeferredJet>part).pending
    else:
        if type(a) is DeferredJet:
            d.pending += (<DeferredJet>a).pending
        if type(b) is DeferredJet:
            d.pending += (<DeferredJet>b).pending
    if d.pending > MAX_PENDING and row != STACKED:
        computed(d)
    return d


cdef object deferred_unary(int row, DeferredJet a):
    return pending_node(a, row, -1, operand(a), None)


cdef inline DeferredJet operand(DeferredJet d):
    """d as an operand of a new node: a pending stack is computed first (a program's
    steps are elementwise; a stack is only ever a program's result)."""
    if d.row == STACKED and d.dense is None:
        computed(d)
    return d


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


cdef object deferred_binary(int row, object x, object y):
    """A pending node for x (op) y, or None when it cannot be deferred (then the
    caller computes the operands and takes the dense path)."""
    cdef DeferredJet a, b
    cdef int special
    if type(x) is DeferredJet and type(y) is DeferredJet:
        a = operand(<DeferredJet>x)
        b = operand(<DeferredJet>y)
        if a.sweep is not b.sweep or a.shape != b.shape or a.level.order != b.level.order:
            return None
        node = pending_node(a, row, 0, a, b)
        (<DeferredJet>node).deps1 |= b.deps1
        (<DeferredJet>node).deps2 |= b.deps2
        return node
    if type(x) is DeferredJet:
        a = operand(<DeferredJet>x)
        if row == I_POW and (type(y) is float or type(y) is int):
            special = power_as_unary(<double>y)     # as binary_jc: x**2 is square
            if special >= 0:
                return deferred_unary(special, a)
        c = deferred_constant(a, y)
        return None if c is None else pending_node(a, row, 1, a, c)
    if type(y) is DeferredJet:
        a = operand(<DeferredJet>y)
        c = deferred_constant(a, x)
        return None if c is None else pending_node(a, row, 2, c, a)
    return None


cdef object deferred_constant(DeferredJet a, object c):
    """c as a deferred node reads it: a 0-d array (a scalar, stride 0) or a
    C-contiguous copy of a's shape (stride 1) of a's dtype; None if it is
    neither (another dtype, broadcasting, a jet, a foreign type)."""
    cdef cnp.dtype dtype = a.level.buf.dtype
    cdef cnp.ndarray arr
    if type(c) is float or type(c) is int or type(c) is bool:
        arr = cnp.PyArray_EMPTY(0, NULL, dtype.type_num, 0)
        arr[()] = c          # Python scalars are 'weak' (NEP 50): the jet's dtype
        return arr
    if type(c) is not cnp.ndarray and not isinstance(c, np.generic):
        return None
    arr = np.asarray(c)
    if arr.dtype != dtype:
        return None
    if arr.size == 1 and arr.ndim <= len(a.shape):
        return np.array(arr.reshape(()), copy=True)
    if (<object>arr).shape == a.shape:
        return np.array(arr, order="C", copy=True)
    return None


# The row of a node that is np.stack of pending parts: computed by one program
# whose results are the parts, each written to its places in the stacked array.
cdef enum:
    STACKED = -2


cdef object deferred_stack(tuple args, dict kwargs):
    """np.stack(parts, axis) of deferred jets of one sweep, shape and level (the
    outputs of a vector function, np.stack([u, v, w], axis=-1)) as a pending
    node; None for anything else (the dense np.stack takes it)."""
    cdef object axis_obj = 0
    if len(args) == 2 and not kwargs:
        axis_obj = args[1]
    elif len(args) != 1 or (kwargs and list(kwargs) != ["axis"]):
        return None
    elif kwargs:
        axis_obj = kwargs["axis"]
    seq = args[0]
    if type(axis_obj) is not int or (type(seq) is not list and type(seq) is not tuple) or not seq:
        return None
    cdef DeferredJet first, part
    for item in seq:
        if type(item) is not DeferredJet:
            return None
    seq = [operand(<DeferredJet>item) for item in seq]   # pending stacks computed first
    first = <DeferredJet>seq[0]
    for item in seq:
        part = <DeferredJet>item
        if part.sweep is not first.sweep or part.shape != first.shape or part.level is not first.level \
                and (part.level.order != first.level.order or part.level.tag1 != first.level.tag1
                     or part.level.tag2 != first.level.tag2):
            return None
    cdef Py_ssize_t nd = len(first.shape) + 1, ax = <Py_ssize_t>axis_obj
    if ax < -nd or ax >= nd:
        return None                          # NumPy's np.stack raises its own error
    if ax < 0:
        ax += nd
    cdef DeferredJet d = pending_node(first, STACKED, -1, tuple(seq), math_prod(first.shape[ax:]))
    d.shape = first.shape[:ax] + (len(seq),) + first.shape[ax:]
    d.count = first.count * len(seq)
    for item in seq:
        d.deps1 |= (<DeferredJet>item).deps1
        d.deps2 |= (<DeferredJet>item).deps2
    return d


cdef object deferred_write_error(DeferredJet d, str what):
    """NeedsDense inside d's own transform (which then runs f on dense jets);
    outside it a TypeError that says what to do."""
    for root in ACTIVE_ROOTS:
        if root is d.sweep:
            return NeedsDense(what + " into a deferred jet")
    return TypeError(f"dualjac: {what} into a DeferredJet outside the transform that "
                     "made it; write into d.compute().copy() instead.")
