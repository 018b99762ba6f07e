# Deferred jets: comparisons and np.where. A comparison of deferred jets gives plain
# booleans eagerly (dual arrays compare values), so recording one needs a stand-in for a
# boolean array: a DeferredMask. It holds a COMPARE node of the program (its lanes carry
# 1 or 0 in component 0; no derivative parts) and computes its plain boolean array, from
# the operands' values as eager code does, the moment anything but np.where reads it.
# np.where(mask, x, y) with a deferred x or y is a WHERE node: each element of the
# result, its value and every derivative part, is x's or y's, per row and lane, so the
# bits are eager's (np.where(cond[..., None], bx, by) on the buffers, constants with
# zero derivatives).

cdef enum:
    COMPARE = -6             # variant: the comparison (C_*); a, b as a binary node
    WHERE = -7               # a = (condition, x, y); table = their lane maps

cdef enum:
    C_LESS = 0
    C_LESS_EQUAL = 1
    C_GREATER = 2
    C_GREATER_EQUAL = 3
    C_EQUAL = 4
    C_NOT_EQUAL = 5
    C_AND = 6                # of masks (& | ^ ~ and np.logical_*)
    C_OR = 7
    C_XOR = 8
    C_NOT = 9

cdef tuple COMPARISON_UFUNCS = (np.less, np.less_equal, np.greater, np.greater_equal,
                                np.equal, np.not_equal)
cdef dict COMPARISON_INDEX = {u: k for k, u in enumerate(COMPARISON_UFUNCS)}
cdef dict LOGICAL_INDEX = {np.logical_and: C_AND, np.bitwise_and: C_AND, np.logical_or: C_OR,
                           np.bitwise_or: C_OR, np.logical_xor: C_XOR, np.bitwise_xor: C_XOR,
                           np.logical_not: C_NOT, np.invert: C_NOT}
cdef object NO_OPERAND = object()     # (a unary mask operation's second operand)


cdef object deferred_compare(int op, object x, object y):
    """x (op) y as a DeferredMask, or None when it cannot be recorded (then the caller
    compares values, computing the operands)."""
    cdef DeferredJet a, b, node
    if type(x) is DeferredJet and type(y) is DeferredJet:
        a, b = <DeferredJet>x, <DeferredJet>y
        if a.sweep is not b.sweep or a.level.order != b.level.order:
            return None
        shape = row_broadcast(a, b.shape)
        if shape is None:
            return None
        node = compare_node(a, op, a, b, shape)
        node.amap = lane_map(a.shape, shape)
        node.bmap = lane_map(b.shape, shape)
    elif type(x) is DeferredJet or type(y) is DeferredJet:
        a = <DeferredJet>(x if type(x) is DeferredJet else y)
        c = deferred_constant(a, y if type(x) is DeferredJet else x)
        if c is None:
            return None
        node = compare_node(a, op, a, c, None) if type(x) is DeferredJet else \
            compare_node(a, op, c, a, None)
    else:
        return None
    # The operands as the eager comparison reads them (a plain array copied: the mask
    # is computed later)
    keep_x = np.array(x, copy=True) if isinstance(x, (np.ndarray, np.generic)) else x
    keep_y = np.array(y, copy=True) if isinstance(y, (np.ndarray, np.generic)) else y
    return DeferredMask(node, COMPARISON_UFUNCS[op], keep_x, keep_y)


cdef object deferred_logical(int op, object ufunc, object x, object y):
    """A logical operation of masks (and plain booleans) as a DeferredMask, or None
    (then it runs on their computed boolean arrays)."""
    cdef DeferredJet node, first = None, other
    if op == C_NOT:
        if type(x) is not DeferredMask or x.array is not None or y is not NO_OPERAND:
            return None
        node = <DeferredJet>x.node
        return DeferredMask(pending_node(node, COMPARE, C_NOT, node, node), ufunc, x, y)
    for v in (x, y):
        if type(v) is DeferredMask and v.array is None:
            other = <DeferredJet>v.node
            if first is None:
                first = other
            elif other.sweep is not first.sweep or other.level.order != first.level.order:
                return None
    if first is None:
        return None
    parts = []
    for v in (x, y):
        if type(v) is DeferredMask and v.array is None:
            parts.append(v.node)
            continue
        plain = v.array if type(v) is DeferredMask else v
        if not (type(plain) is bool or isinstance(plain, np.bool_)
                or type(plain) is cnp.ndarray and plain.dtype == np.bool_):
            return None          # (a mask with numbers is a number array, eagerly)
        c = deferred_constant(first, np.asarray(plain).astype(first.level.buf.dtype))
        if c is None:
            return None
        parts.append(c)
    if type(parts[0]) is DeferredJet and type(parts[1]) is DeferredJet:
        shape = row_broadcast(<DeferredJet>parts[0], (<DeferredJet>parts[1]).shape)
        if shape is None or pending_count(<DeferredJet>parts[0]) \
                + pending_count(<DeferredJet>parts[1]) >= MAX_PENDING:
            return None          # (masks are never computed early: compare_node)
        node = pending_node(first, COMPARE, op, parts[0], parts[1], shape)
        node.amap = lane_map((<DeferredJet>parts[0]).shape, shape)
        node.bmap = lane_map((<DeferredJet>parts[1]).shape, shape)
    else:
        if pending_count(first) >= MAX_PENDING:
            return None
        node = pending_node(first, COMPARE, op, parts[0], parts[1])
    # (plain operands as they are now: the mask is computed later)
    kept = [v if type(v) is DeferredMask and v.array is None else
            np.array(v.array if type(v) is DeferredMask else v, copy=True) for v in (x, y)]
    return DeferredMask(node, ufunc, kept[0], kept[1])


cdef object mask_operand(object v):
    """A mask operation's operand as eager code reads it (a mask: its boolean array)."""
    return v.compute() if type(v) is DeferredMask else plain_value(v)


cdef DeferredJet compare_node(DeferredJet proto, int op, object a, object b, tuple shape):
    """A COMPARE node. It is never computed on its own (its lanes are no jet), so
    instead of growing past MAX_PENDING its operands are computed first."""
    cdef Py_ssize_t below = 1
    for operand in (a, b):
        if type(operand) is DeferredJet:
            below += pending_count(<DeferredJet>operand)
    if below > MAX_PENDING:
        for operand in (a, b):
            if type(operand) is DeferredJet:
                computed(<DeferredJet>operand)
    return pending_node(proto, COMPARE, op, a, b, shape)


class DeferredMask:
    """The boolean array of a comparison of deferred jets, not computed yet: np.where
    with it records a node of the deferred program; anything else reads its plain
    boolean array (computed once, from the operands' values, as without deferring)."""

    __slots__ = ("node", "ufunc", "x", "y", "array", "shape")
    __array_priority__ = 1002.0

    def __init__(self, node, ufunc, x, y):
        self.node, self.ufunc, self.x, self.y, self.array = node, ufunc, x, y, None
        self.shape = (<DeferredJet>node).shape
        for operand in (x, y):      # (its values are read from them: see _deferred_writes.pxi)
            if type(operand) is DeferredJet:
                (<DeferredJet>operand).holders += 1

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: (<DeferredJet>self.node).count)
    dtype = property(lambda self: np.dtype(bool))

    def compute(self):
        """The plain boolean array (as the comparison gives it without deferring)."""
        if self.array is None:
            if self.y is NO_OPERAND:
                self.array = self.ufunc(mask_operand(self.x))
            else:
                self.array = self.ufunc(mask_operand(self.x), mask_operand(self.y))
            self.release()
        return self.array

    def release(self):
        """It no longer holds its operands (their values were read, or it is freed)."""
        for operand in (getattr(self, "x", None), getattr(self, "y", None)):
            if type(operand) is DeferredJet:
                (<DeferredJet>operand).holders -= 1
        self.x = self.y = None

    def __del__(self):
        self.release()

    def __repr__(self):
        state = "pending" if self.array is None else "computed"
        return f"DeferredMask(shape={self.shape}, {state})"

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.compute(), dtype=dtype, copy=True)
        return np.asarray(self.compute(), dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        cdef PyObject* idx = PyDict_GetItem(LOGICAL_INDEX, ufunc)
        if idx != NULL and method == "__call__" and not kwargs and len(inputs) == ufunc.nin:
            recorded = deferred_logical(<int><object>idx, ufunc, inputs[0],
                                        inputs[1] if ufunc.nin == 2 else NO_OPERAND)
            if recorded is not None:
                return recorded
        return getattr(ufunc, method)(*dense_tree(inputs), **dense_tree(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where:
            recorded = _row_where(*args, **kwargs)
            if recorded is not None:
                return recorded
        elif DeferredJet in types or DeferredTranspose in types:
            return NotImplemented     # the deferred jet's own handler (np.select: recorded)
        return func(*dense_tree(args), **dense_tree(kwargs))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.compute(), name)

    def __bool__(self):
        return bool(self.compute())

    def __len__(self):
        return len(self.compute())

    def __iter__(self):
        return iter(self.compute())

    def __getitem__(self, key):
        return self.compute()[dense_tree(key)]

    def __setitem__(self, key, value):
        self.compute()[dense_tree(key)] = dense_tree(value)

    __hash__ = None


def _mask_operator(name):
    # The plain boolean array with the other operand as it is: a deferred jet then takes
    # the array as a constant (recorded: `np.log(x) * (x > 1)`).
    def operator_(self, *args):
        return getattr(self.compute(), name)(*args)
    operator_.__name__ = name
    return operator_


def _mask_logical(ufunc, bint reflected):
    def operator_(self, *args):
        other = args[0] if args else NO_OPERAND
        x, y = (other, self) if reflected else (self, other)
        recorded = deferred_logical(<int>LOGICAL_INDEX[ufunc], ufunc, x, y)
        if recorded is not None:
            return recorded
        return ufunc(*dense_tree((x,) if other is NO_OPERAND else (x, y)))
    return operator_


# & | ^ ~ of masks are recorded (NumPy's operators on bool arrays are these ufuncs)
for _name, _ufunc in (("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(DeferredMask, f"__{_name}__", _mask_logical(_ufunc, False))
    setattr(DeferredMask, f"__r{_name}__", _mask_logical(_ufunc, True))
DeferredMask.__invert__ = _mask_logical(np.invert, False)

for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__radd__",
              "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__neg__", "__pos__", "__abs__", "__matmul__", "__rmatmul__"):
    setattr(DeferredMask, _name, _mask_operator(_name))


def _row_where(condition, x=None, y=None):
    """np.where(condition, x, y) with a deferred x or y as a WHERE node."""
    if x is None or y is None:
        return None
    return deferred_where(condition, x, y)


cdef object deferred_where(object condition, object x, object y):
    cdef DeferredJet proto, jet
    if type(x) is DeferredJet:
        proto = <DeferredJet>x
    elif type(y) is DeferredJet:
        proto = <DeferredJet>y
    else:
        return None
    if type(condition) is DeferredMask and condition.array is None:
        cond = condition.node
    elif type(condition) is DeferredMask:
        cond = condition.array
    elif type(condition) is DeferredJet:       # its values as booleans, as eagerly
        mask = deferred_compare(C_NOT_EQUAL, condition, 0.0)
        if mask is None:
            return None
        cond = mask.node
    elif isinstance(condition, _JetProtocol):
        return None
    else:
        cond = condition
    operands = (cond, x, y)
    try:
        target = tuple(np.broadcast_shapes(*[v.shape if type(v) is DeferredJet else np.shape(v)
                                             for v in operands]))
    except (ValueError, TypeError):
        return None
    cdef cnp.dtype dtype = proto.level.buf.dtype
    parts, maps = [], []
    for k, v in enumerate(operands):
        if type(v) is DeferredJet:
            jet = <DeferredJet>v
            if (jet.sweep is not proto.sweep or jet.level.order != proto.level.order
                    or len(jet.shape) != len(target) or target and jet.shape[0] != target[0]):
                return None
            parts.append(jet)
            maps.append(lane_map(jet.shape, target))
            continue
        if k == 0:                   # a plain condition: as eager's astype(bool)
            if not isinstance(v, (bool, np.bool_, np.ndarray)):
                return None
            v = np.asarray(v)
            if v.dtype.kind not in "biuf":
                return None
            v = v.astype(bool).astype(dtype)
        c = constant_lanes(dtype, target, v)
        if c is None:
            return None
        parts.append(c)
        maps.append(None)
    cdef DeferredJet d = pending_node(proto, WHERE, -1, tuple(parts), None, target)
    d.table = tuple(maps)
    # The result depends on x's and y's seeds, not the condition's (as eagerly)
    d.deps1, d.deps2 = proto.deps1, proto.deps2
    for v in (x, y):
        if type(v) is DeferredJet:
            d.deps1 |= (<DeferredJet>v).deps1
            d.deps2 |= (<DeferredJet>v).deps2
    return bounded(d)


def _row_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """np.clip as elementwise.clip computes it: np.maximum with the lower bound, then
    np.minimum with the upper one (rules-table rows)."""
    if type(a) is not DeferredJet or out is not None or kwargs:
        return None
    lo = min if a_min is None else a_min
    hi = max if a_max is None else a_max
    if lo is None and hi is None:
        return None
    if lo is not None:
        a = deferred_binary(<int>BINARY_INDEX[np.maximum], a, lo)
    if hi is not None and a is not None:
        a = deferred_binary(<int>BINARY_INDEX[np.minimum], a, hi)
    return a


# ------------------------------------------------------------------ running them

cdef inline const real* operand_lane(Program* P, real* scratch, Py_ssize_t number,
                                     Py_ssize_t slot, const Py_ssize_t* lanes, Py_ssize_t l,
                                     Py_ssize_t start, Py_ssize_t* step) noexcept nogil:
    """Lane l of a step's operand (through its lane map): a slot's lane (step 1) or a
    constant's (step: its row step)."""
    if slot >= 0:
        step[0] = 1
        return scratch + slot * P.K * P.cs + (lanes[l] if lanes != NULL else l) * P.chunk
    step[0] = P.constants[-1 - number].row_step
    return constant_lane(P, number, l, start, <real*>NULL)


cdef void compare_step(Program* P, Step* st, real* scratch, real* out, Py_ssize_t start,
                       Py_ssize_t m) noexcept nogil:
    """COMPARE: 1 or 0 in component 0 of each lane."""
    cdef Py_ssize_t l, e, sa, sb
    cdef const real* a
    cdef const real* b
    cdef real* o
    for l in range(st.lanes):
        a = operand_lane(P, scratch, st.a, st.slot_a, st.amap, l, start, &sa)
        b = operand_lane(P, scratch, st.b, st.slot_b, st.bmap, l, start, &sb)
        o = out + l * P.chunk
        if sa == 1 and sb <= 1 and compare_run(st.op, o, a, b, sb, m):
            continue
        if st.op == C_LESS:
            for e in range(m):
                o[e] = 1 if a[e * sa] < b[e * sb] else 0
        elif st.op == C_LESS_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e * sa] <= b[e * sb] else 0
        elif st.op == C_GREATER:
            for e in range(m):
                o[e] = 1 if a[e * sa] > b[e * sb] else 0
        elif st.op == C_GREATER_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e * sa] >= b[e * sb] else 0
        elif st.op == C_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e * sa] == b[e * sb] else 0
        elif st.op == C_NOT_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e * sa] != b[e * sb] else 0
        elif st.op == C_AND:
            for e in range(m):
                o[e] = 1 if a[e * sa] != 0 and b[e * sb] != 0 else 0
        elif st.op == C_OR:
            for e in range(m):
                o[e] = 1 if a[e * sa] != 0 or b[e * sb] != 0 else 0
        elif st.op == C_XOR:
            for e in range(m):
                o[e] = 1 if (a[e * sa] != 0) != (b[e * sb] != 0) else 0
        else:
            for e in range(m):
                o[e] = 1 if a[e * sa] == 0 else 0


cdef inline bint compare_run(int op, real* o, const real* a, const real* b, Py_ssize_t sb,
                             Py_ssize_t m) noexcept nogil:
    """The ordering comparisons of a run of stride 1 with one of stride 1 or a number
    (stride 0): loops the compiler vectorizes; False for anything else."""
    cdef Py_ssize_t e
    cdef real bv = b[0]
    if sb == 0:
        if op == C_LESS:
            for e in range(m):
                o[e] = 1 if a[e] < bv else 0
        elif op == C_LESS_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e] <= bv else 0
        elif op == C_GREATER:
            for e in range(m):
                o[e] = 1 if a[e] > bv else 0
        elif op == C_GREATER_EQUAL:
            for e in range(m):
                o[e] = 1 if a[e] >= bv else 0
        else:
            return False
        return True
    if op == C_LESS:
        for e in range(m):
            o[e] = 1 if a[e] < b[e] else 0
    elif op == C_LESS_EQUAL:
        for e in range(m):
            o[e] = 1 if a[e] <= b[e] else 0
    elif op == C_GREATER:
        for e in range(m):
            o[e] = 1 if a[e] > b[e] else 0
    elif op == C_GREATER_EQUAL:
        for e in range(m):
            o[e] = 1 if a[e] >= b[e] else 0
    else:
        return False
    return True


cdef void where_step(Program* P, Step* st, real* scratch, real* out, Py_ssize_t start,
                     Py_ssize_t m) noexcept nogil:
    """WHERE: every component of each element from x or y by the condition (a constant
    operand's derivative parts are zeros)."""
    cdef Py_ssize_t l, e, s, sc, sx, sy, cs = P.cs
    cdef const real* c
    cdef const real* x
    cdef const real* y
    cdef const real* xs
    cdef const real* ys
    cdef real* o
    cdef real zero = 0
    for l in range(st.lanes):
        c = operand_lane(P, scratch, st.a, st.slot_a, st.amap, l, start, &sc)
        x = operand_lane(P, scratch, st.b, st.slot_b, st.bmap, l, start, &sx)
        y = operand_lane(P, scratch, st.c, st.slot_c, st.cmap, l, start, &sy)
        o = out + l * P.chunk
        for s in range(P.K):
            xs = x + s * cs if st.slot_b >= 0 else (x if s == 0 else <const real*>&zero)
            ys = y + s * cs if st.slot_c >= 0 else (y if s == 0 else <const real*>&zero)
            if st.slot_b < 0 and s > 0:
                sx = 0
            if st.slot_c < 0 and s > 0:
                sy = 0
            select_run(o + s * cs, c, sc, xs, sx, ys, sy, m)


cdef inline void select_run(real* o, const real* c, Py_ssize_t sc, const real* x, Py_ssize_t sx,
                            const real* y, Py_ssize_t sy, Py_ssize_t m) noexcept nogil:
    """o[e] = x[e * sx] where c[e * sc] != 0, else y[e * sy]: both read, then one kept (no
    branch to mispredict on a condition that varies from element to element, and runs of
    stride 1, the usual case, vectorize as a blend)."""
    cdef Py_ssize_t e
    cdef real xv, yv
    if sc == 1 and sx <= 1 and sy <= 1:
        # (each stride pattern its own loop, so that the compiler makes a blend of each;
        # a constant branch, the usual one-number operand, has stride 0)
        if sx == 1 and sy == 1:
            for e in range(m):
                xv = x[e]
                yv = y[e]
                o[e] = xv if c[e] != 0 else yv
        elif sx == 0 and sy == 1:
            xv = x[0]
            for e in range(m):
                yv = y[e]
                o[e] = xv if c[e] != 0 else yv
        elif sx == 1:
            yv = y[0]
            for e in range(m):
                xv = x[e]
                o[e] = xv if c[e] != 0 else yv
        else:
            xv, yv = x[0], y[0]
            for e in range(m):
                o[e] = xv if c[e] != 0 else yv
        return
    for e in range(m):
        xv = x[e * sx]
        yv = y[e * sy]
        o[e] = xv if c[e * sc] != 0 else yv


cdef void set_compare_or_where_step(Step* st, DeferredJet node, list slot_of, list constants,
                                    list keep) except *:
    """P.steps entry of a COMPARE or WHERE node (operands: value numbers or constants)."""
    cdef tuple operands = (node.a, node.b) if node.row == COMPARE else node.a
    cdef tuple maps = (node.amap, node.bmap) if node.row == COMPARE else node.table
    st.kind = STEP_COMPARE if node.row == COMPARE else STEP_WHERE
    st.op = node.variant
    st.a = operand_number(operands[0], constants)
    st.slot_a = slot_of[st.a] if st.a >= 0 else -1
    st.b = operand_number(operands[1], constants)
    st.slot_b = slot_of[st.b] if st.b >= 0 else -1
    st.amap = intp_data(maps[0], keep)
    st.bmap = intp_data(maps[1], keep)
    if node.row == WHERE:
        st.c = operand_number(operands[2], constants)
        st.slot_c = slot_of[st.c] if st.c >= 0 else -1
        st.cmap = intp_data(maps[2], keep)
