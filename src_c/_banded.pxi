# Banded jets: derivatives carried only along the seeds an element can depend on.
#
# Design
# ------
# dj.jacobian / dj.hessian of one array x seed every element with all n seeds, so
# an elementwise operation costs O(n) (duals) or O(n^2) (Hessians) per element
# even when, as in a stencil, a residual or Rosenbrock's function, each element
# depends on two or three neighbours. A BandedJet instead holds
#
#   local    a DualArray / Hessian HyperDualArray whose few *local* seeds are
#            relative: local seed j of the element at index e is global seed
#            base(e) + offsets[j];
#   place    base(e) as an affine map, stored as a uint8 view of a scratch array
#            (root): base(e) = address of place[e] - address of seed 0 in root.
#            Indexing, broadcasting and the other view operations NumPy does on
#            `place` therefore keep base() right with no bookkeeping of ours.
#
# Elementwise table kernels run on `local` unchanged (the same generated C, with
# n = len(offsets)). Two banded operands combine when their bases differ by a
# constant (equal strides after broadcasting): both are re-embedded into the
# union of their offsets, then the ordinary kernel runs. Anything else (a
# reduction over an axis, matmul, fancy indexing, a dense jet of the same or
# another transform) first *densifies*: the full jet, every element scattered
# into n seeds, and the ordinary dispatch takes over. So banding is a fast path
# that can only ever fall back, never be wrong.
#
# Writes. NumPy code may write into an array and expect its views to see it; a
# banded jet and its dense copies are not views of each other. So every buffer
# reachable from a banded jet is read-only: __setitem__, in-place operators,
# `out=` targets and writes into densified copies raise (NeedsDense, or NumPy's
# read-only ValueError), and the transform evaluates f again on dense jets.

class NeedsDense(BaseException):
    """Raised inside f when a banded jet would be written to. The transform
    catches it and evaluates f again on ordinary dense jets. A BaseException so
    that `except Exception` in user code cannot swallow it."""


cdef object NP_SUM = np.sum
cdef object NP_RESHAPE = np.reshape
cdef object NP_TRANSPOSE = np.transpose
cdef cnp.dtype PLACE_DTYPE = np.dtype(np.uint8)


cdef class BandedJet(_JetProtocol):
    """A jet whose elements carry derivatives along a few seeds at fixed offsets
    from a per-element base seed (see the design comment of src_c/_banded.pxi).
    dj.jacobian and dj.hessian hand f one of these for sources of >=
    get_banded_threshold() elements; it behaves as the dense jet it stands for."""
    cdef readonly _Jet local
    cdef readonly cnp.ndarray place     # uint8, shape S + (1,), a view of root
    cdef readonly cnp.ndarray root
    cdef readonly Py_ssize_t zero       # root's byte holding seed 0
    cdef readonly Py_ssize_t n          # global seeds
    cdef readonly tuple offsets         # sorted, len == local.n1

    __array_priority__ = 1001.0

    # -- what it stands for
    @property
    def shape(self):
        return (<object>self.place).shape[:-1]

    @property
    def ndim(self):
        return self.place.ndim - 1

    @property
    def size(self):
        return self.place.size

    @property
    def dtype(self):
        return self.local.buf.dtype

    @property
    def value(self):
        return self.local.value

    @property
    def degree(self):
        return self.local.degree

    def densify(self):
        """The ordinary jet this one stands for (read-only: it is not a copy NumPy
        would have made)."""
        return densified(self)

    def __repr__(self):
        return (f"BandedJet(value={np.array2string(self.local.buf[..., 0], separator=', ')}, "
                f"n={self.n}, offsets={self.offsets}, dtype={self.dtype})")

    # -- what the jet protocol (src_c/_protocol.pxi) asks of a kind
    cpdef object _binary(self, int op, object a, object b):
        return banded_binary(op, a, b)

    cpdef object _unary(self, int op):
        return banded_like(self, unary_op(op, self.local), self.offsets)

    cpdef object _values(self, str use):
        return self.local.buf[..., 0]

    cpdef object _dense(self):
        # Pickled as the dense jet it stands for: a band only means something next to
        # the other jets of its sweep.
        return densified(self)

    cpdef object _update(self, int op, object other, str spelling):
        raise write_error(self, "an in-place operator")

    # -- writes: see "Writes" in the design comment
    def __setitem__(self, key, value):
        raise write_error(self, "item assignment")

    def sort(self, axis=-1, kind=None, order=None):
        # In place, as ndarray.sort (and DualArray.sort): never on a densified copy.
        raise write_error(self, "sort() (in place)")

    # -- indexing: basic keys keep the band; any other densifies
    def __getitem__(self, key):
        cdef object view = basic_view(self.local.buf, key)
        cdef object place
        if view is not None:
            place = basic_view(self.place, key)
            if place is not None:
                return banded_view(self, new_like(self.local, <cnp.ndarray>view), place)
        return densified(self)[key]

    # -- views: the same view of place and of local (component axis kept)
    def reshape(self, *shape, order="C"):
        if order != "C":
            return densified(self).reshape(*shape, order=order)
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return banded_reshape(self, tuple(shape))

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and axes[0] is not None and not isinstance(axes[0], int):
            axes = tuple(axes[0])
        nd = self.place.ndim - 1
        axes = tuple(range(nd))[::-1] if not axes or axes == (None,) else tuple(
            a + nd if a < 0 else a for a in axes)
        if sorted(axes) != list(range(nd)):
            return densified(self).transpose(*axes)     # NumPy's error
        return banded_view(self, new_like(self.local, self.local.buf.transpose(axes + (nd,))),
                           self.place.transpose(axes + (nd,)))

    @property
    def T(self):
        return self.transpose()

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **given):
        if axis is None and dtype is None and out is None and not keepdims and not given:
            return sum_banded(self)
        return densified(self).sum(axis=axis, dtype=dtype, out=out, keepdims=keepdims, **given)

    def __getattr__(self, name):
        # Methods and attributes of the dense jet (reshape, T, mean, ...) on a
        # densified copy; the names above answer without densifying.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(densified(self), name)

    # -- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        cdef PyObject* idx
        if method == "__call__" and not kwargs:
            if len(inputs) == 1 and isinstance(inputs[0], BandedJet):
                idx = PyDict_GetItem(UNARY_INDEX, ufunc)
                if idx != NULL:
                    return banded_like(<BandedJet>inputs[0],
                                       unary_op(<int><object>idx, (<BandedJet>inputs[0]).local),
                                       (<BandedJet>inputs[0]).offsets)
            elif len(inputs) == 2 and ufunc is not NP_MATMUL:
                idx = PyDict_GetItem(BINARY_INDEX, ufunc)
                if idx != NULL:
                    return banded_binary(<int><object>idx, inputs[0], inputs[1])
            elif len(inputs) == 2:               # W @ x, a model's layer: dense from here on
                result = constant_matmul_jet(inputs[0], densify_operand(inputs[1]))
                if result is not None:
                    return result
        return getattr(ufunc, method)(*dense_tree(inputs), **dense_tree(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func is NP_SUM and len(args) == 1 and not kwargs and isinstance(args[0], BandedJet):
            return sum_banded(<BandedJet>args[0])
        if func is NP_RESHAPE and len(args) == 2 and not kwargs and type(args[0]) is BandedJet:
            return (<BandedJet>args[0]).reshape(args[1])
        if func is NP_TRANSPOSE and len(args) == 1 and not kwargs and type(args[0]) is BandedJet:
            return (<BandedJet>args[0]).transpose()
        if func is NP_CONCATENATE and type(args) is tuple and type(kwargs) is dict:
            joined = banded_concatenate(args, kwargs)
            if joined is not None:
                return joined
        # The dense jet's handler, with that jet as NEP 35's `like` (np.zeros(n, like=x)).
        return densified(self).__array_function__(func, types, dense_tree(args),
                                                  dense_tree(kwargs))


# As for _Jet (see there): no sequence item slot, so storing a banded jet into a
# plain array reaches the __array__ / __float__ guards' TypeError.
if (<PyTypeObject*>BandedJet).tp_as_sequence != NULL:
    (<PyTypeObject*>BandedJet).tp_as_sequence.sq_item = NULL


# ------------------------------------------------------------------ construction

cdef inline BandedJet banded_like(BandedJet proto, object local, tuple offsets):
    """A result of proto's shape and place over a new local jet."""
    if local is NotImplemented:
        return local
    return banded_with(proto, <_Jet>local, proto.place, offsets)


cdef BandedJet banded_with(BandedJet proto, _Jet local, cnp.ndarray place, tuple offsets):
    cdef BandedJet b = BandedJet.__new__(BandedJet)
    cnp.PyArray_CLEARFLAGS(local.buf, cnp.NPY_ARRAY_WRITEABLE)
    b.local = local
    b.place = place
    b.root = proto.root
    b.zero = proto.zero
    b.n = proto.n
    b.offsets = offsets
    return b


cdef BandedJet banded_view(BandedJet proto, _Jet local, object place):
    return banded_with(proto, local, <cnp.ndarray>place, proto.offsets)


def seed_banded(cnp.ndarray value, long long tag1, long long tag2):
    """A banded source: every element's one local seed is its own flat index
    (offset 0). tag2 == 0: a dual (jacobian); else a Hessian jet (hessian)."""
    cdef cnp.ndarray v = cnp.PyArray_GETCONTIGUOUS(value)
    cdef Py_ssize_t m = v.size, d, step = 1
    cdef _Jet local
    if tag2 == 0:
        local = dual_over(seed_buffer(v, 2, 0, 0, 1, 1), tag1, 1)
    else:
        local = symmetric_over(seed_buffer(v, 3, 0, 0, 1, 1), 1, tag1, tag2, 1)
    cdef BandedJet b = BandedJet.__new__(BandedJet)
    # root: m bytes for the seeds with a margin of m + 1 on each side, room for
    # the bases of shifted joins (np.concatenate([x[:1], x[:-1]]) has base -1).
    cdef cnp.npy_intp root_size = 3 * m + 2
    b.root = cnp.PyArray_EMPTY(1, &root_size, cnp.NPY_UINT8, 0)
    b.zero = m + 1
    b.n = m
    b.offsets = (0,)
    cdef cnp.npy_intp dims[65]
    cdef cnp.npy_intp strides[65]
    for d in range(v.ndim, -1, -1):
        dims[d] = 1 if d == v.ndim else v.shape[d]
        strides[d] = step
        if d < v.ndim:
            step *= v.shape[d]
    b.place = place_view(b, b.zero, v.ndim + 1, dims, strides)
    cnp.PyArray_CLEARFLAGS(local.buf, cnp.NPY_ARRAY_WRITEABLE)
    b.local = local
    return b


cdef cnp.ndarray place_view(BandedJet b, Py_ssize_t at, int nd, cnp.npy_intp* dims,
                            cnp.npy_intp* strides):
    """A read-only uint8 view of b.root starting at byte `at`."""
    Py_INCREF(PLACE_DTYPE)                                 # PyArray_NewFromDescr steals it
    cdef cnp.ndarray view = PyArray_NewFromDescr(
        <PyTypeObject_*>cnp.ndarray, PLACE_DTYPE, nd, dims, strides,
        <char*>cnp.PyArray_DATA(b.root) + at, 0, NULL)
    cnp.set_array_base(view, b.root)
    return view


cdef inline Py_ssize_t base_of(BandedJet b):
    """base() of the first element."""
    return <char*>cnp.PyArray_DATA(b.place) - <char*>cnp.PyArray_DATA(b.root) - b.zero


# ------------------------------------------------------------------ arithmetic

cdef object densify_operand(object x):
    return dense_tree(x)


cdef object banded_binary(int idx, object x, object y):
    """x (op) y where at least one is a BandedJet."""
    cdef BandedJet a
    if isinstance(x, BandedJet) and isinstance(y, BandedJet):
        return banded_pair(idx, <BandedJet>x, <BandedJet>y)
    if isinstance(x, BandedJet):
        a = <BandedJet>x
        if isinstance(y, _Jet):
            return binary_op(idx, densified(a), y)
        return banded_broadcast(a, binary_jc(idx, a.local, y, False))
    a = <BandedJet>y
    if isinstance(x, _Jet):
        return binary_op(idx, x, densified(a))
    return banded_broadcast(a, binary_jc(idx, a.local, x, True))


cdef object banded_broadcast(BandedJet a, object local):
    """A result of a's band over `local`, whose element shape may be a's broadcast."""
    if local is NotImplemented:
        return local
    cdef cnp.ndarray lbuf = (<_Jet>local).buf
    if same_elements(lbuf, a.place):
        return banded_with(a, <_Jet>local, a.place, a.offsets)
    return banded_with(a, <_Jet>local, broadcast_place(a.place, (<object>lbuf).shape[:-1]),
                       a.offsets)


cdef inline bint same_elements(cnp.ndarray a, cnp.ndarray b):
    """Do two buffers with a trailing axis (components, place) have one element shape?"""
    cdef int d
    if a.ndim != b.ndim:
        return False
    for d in range(a.ndim - 1):
        if a.shape[d] != b.shape[d]:
            return False
    return True


cdef cnp.ndarray broadcast_place(cnp.ndarray place, tuple shape):
    return <cnp.ndarray>np.broadcast_to(place, shape + (1,))


cdef object banded_pair(int idx, BandedJet a, BandedJet b):
    """Two banded operands: on their union of offsets when their bases differ by
    a constant, else on dense jets."""
    cdef _Jet la = a.local, lb = b.local
    if (a.root is not b.root or la.order != lb.order or la.tag1 != lb.tag1
            or la.tag2 != lb.tag2):
        return binary_op(idx, densified(a), densified(b))
    cdef cnp.ndarray pa = a.place, pb = b.place
    if not same_shape(pa, pb):
        shape = np.broadcast_shapes((<object>pa).shape[:-1], (<object>pb).shape[:-1])
        pa = broadcast_place(pa, shape)
        pb = broadcast_place(pb, shape)
    if not same_steps(pa, pb) or pa.size == 0:
        return binary_op(idx, densified(a), densified(b))
    cdef Py_ssize_t shift = <char*>cnp.PyArray_DATA(pb) - <char*>cnp.PyArray_DATA(pa)
    cdef tuple union = union_offsets(a.offsets, b.offsets, shift)
    if len(union) >= a.n:
        return binary_op(idx, densified(a), densified(b))
    r = binary_jj(idx, embedded(la, a.offsets, 0, union), embedded(lb, b.offsets, shift, union))
    return banded_with(a, <_Jet>r, pa, union)


cdef bint same_steps(cnp.ndarray pa, cnp.ndarray pb):
    """Do two places of one shape step alike along every axis that has a step?"""
    cdef int d
    for d in range(pa.ndim - 1):
        if pa.shape[d] > 1 and pa.strides[d] != pb.strides[d]:
            return False
    return True


cdef tuple union_offsets(tuple a, tuple b, Py_ssize_t shift):
    """sorted(set(a) | {o + shift for o in b}) for sorted a and b."""
    cdef Py_ssize_t i = 0, j = 0, na = len(a), nb = len(b), x, y
    if shift == 0 and a == b:
        return a
    cdef list out = []
    while i < na or j < nb:
        x = <Py_ssize_t>a[i] if i < na else PY_SSIZE_T_MAX
        y = <Py_ssize_t>b[j] + shift if j < nb else PY_SSIZE_T_MAX
        if x <= y:
            out.append(x)
            i += 1
            if x == y:
                j += 1
        else:
            out.append(y)
            j += 1
    return tuple(out)


cdef inline Py_ssize_t sym_position(Py_ssize_t n, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    """Component of H_pq (p <= q) in a Hessian jet of n seeds (upper triangle, row by row)."""
    return 1 + n + p * n - ((p * (p + 1)) >> 1) + q


cdef _Jet embedded(_Jet local, tuple offsets, Py_ssize_t shift, tuple union):
    """local (seeds at offsets + shift) re-laid out on the seeds `union`, zeros
    in the seeds it lacks."""
    cdef Py_ssize_t nl = len(offsets), nu = len(union), i, j, k
    if nl == nu and shift == 0 and offsets == union:
        return local
    cdef Py_ssize_t slot[256]
    if nl > 256:
        raise ValueError("internal: too many local seeds")
    k = 0
    for i in range(nl):                       # union is sorted and holds every offset
        while <Py_ssize_t>union[k] != <Py_ssize_t>offsets[i] + shift:
            k += 1
        slot[i] = k
    cdef Py_ssize_t Ks = local.buf.shape[local.buf.ndim - 1]
    cdef Py_ssize_t Ku = components(local.order, nu)
    cdef Py_ssize_t small[1024]
    cdef cnp.ndarray target = None
    cdef Py_ssize_t* P = small     # where each of local's components goes
    if Ks > 1024:
        target = np.empty(Ks, np.intp)
        P = <Py_ssize_t*>cnp.PyArray_DATA(target)
    P[0] = 0
    for i in range(nl):
        P[1 + i] = 1 + slot[i]
    if local.order == 3:
        for i in range(nl):
            for j in range(i, nl):
                P[sym_position(nl, i, j)] = sym_position(nu, slot[i], slot[j])
    cdef Py_ssize_t ss
    cdef cnp.ndarray src = readable(local.buf, &ss)
    cdef cnp.ndarray out = cnp.PyArray_ZEROS(src.ndim, shape_with_last(src, Ku),
                                             cnp.PyArray_TYPE(src), 0)
    cdef Py_ssize_t m = out.size // Ku
    if cnp.PyArray_ITEMSIZE(src) == 8:
        scatter_components(<const double*>cnp.PyArray_DATA(src), ss, Ks,
                           <double*>cnp.PyArray_DATA(out), Ku, P, m)
    else:
        scatter_components(<const float*>cnp.PyArray_DATA(src), ss, Ks,
                           <float*>cnp.PyArray_DATA(out), Ku, P, m)
    return new_level_like(local, out, nu)


cdef inline Py_ssize_t components(int order, Py_ssize_t n) noexcept:
    """Numbers per element of a dual (order 1) or Hessian jet (order 3) of n seeds."""
    return 1 + n if order == 1 else 1 + n + n * (n + 1) // 2


cdef cnp.npy_intp* shape_with_last(cnp.ndarray a, Py_ssize_t K):
    """a.shape with the last axis replaced by K (a static buffer; GIL held)."""
    cdef int d
    for d in range(a.ndim - 1):
        _shape_buf[d] = a.shape[d]
    _shape_buf[a.ndim - 1] = K
    return _shape_buf


cdef void scatter_components(const real* src, Py_ssize_t ss, Py_ssize_t Ks, real* out,
                             Py_ssize_t Ko, const Py_ssize_t* P, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t e, k
    for e in range(m):
        for k in range(Ks):
            out[e * Ko + P[k]] = src[e * ss + k]


cdef object banded_reshape(BandedJet b, tuple shape):
    """b.reshape(shape): banded while NumPy can reshape the place as a view of
    root (it copies when the place's strides do not allow one: then dense)."""
    cdef object place
    try:
        place = b.place.reshape(shape + (1,))
    except ValueError:
        return densified(b).reshape(shape)               # NumPy's error, as for any jet
    if cnp.PyArray_BASE(<cnp.ndarray>place) != <PyObject*>b.root:
        return densified(b).reshape(shape)
    cdef cnp.ndarray local = b.local.buf
    return banded_view(b, new_like(b.local, local.reshape(
        (<object>place).shape[:-1] + (local.shape[local.ndim - 1],))), place)


# ------------------------------------------------------------------ joins

cdef object banded_concatenate(tuple args, dict kwargs):
    """np.concatenate(seq, axis) of banded jets of one sweep, level and dtype whose
    bases step alike: banded, on the union of the parts' offsets shifted to one
    base for the whole result. None for anything else (the caller densifies; the
    dense join reports bad shapes). A part whose derivatives are all zero (the
    x[:1] * 0.0 that pads a stencil) brings no offsets."""
    cdef object axis_obj = 0
    cdef Py_ssize_t nargs = len(args)
    if nargs == 2 and not kwargs:
        axis_obj = args[1]
    elif nargs == 1 and len(kwargs) == 1 and "axis" in kwargs:
        axis_obj = kwargs["axis"]
    elif nargs != 1 or kwargs:
        return None
    seq = args[0]
    if type(axis_obj) is not int or (type(seq) is not list and type(seq) is not tuple):
        return None
    cdef list parts = list(seq)
    cdef Py_ssize_t count = len(parts), i, q = 0, longest = -1, position = 0, shift
    if count == 0 or count > 1024:
        return None
    for item in parts:
        if type(item) is not BandedJet:
            return None
    cdef BandedJet first = <BandedJet>parts[0], b
    cdef _Jet proto = first.local
    cdef int nd = first.place.ndim - 1, d
    cdef Py_ssize_t ax = small_int(axis_obj)
    if ax < 0:
        ax += nd
    if nd == 0 or ax < 0 or ax >= nd:
        return None
    # every part alike apart from its extent along the axis
    cdef Py_ssize_t steps[64]
    cdef Py_ssize_t axis_step = 0, total = 0
    cdef bint axis_step_known = False
    for d in range(nd):
        steps[d] = first.place.strides[d] if first.place.shape[d] > 1 else 0
    for i in range(count):
        b = <BandedJet>parts[i]
        if (b.root is not first.root or b.place.ndim != nd + 1 or b.local.order != proto.order
                or b.local.tag1 != proto.tag1 or b.local.tag2 != proto.tag2
                or b.local.buf.descr.type_num != proto.buf.descr.type_num):
            return None
        for d in range(nd):
            if d != ax and b.place.shape[d] != first.place.shape[d]:
                return None
            if d != ax and b.place.shape[d] > 1 and b.place.strides[d] != steps[d]:
                return None
        if b.place.shape[ax] > 1:
            if axis_step_known and b.place.strides[ax] != axis_step:
                return None
            axis_step = b.place.strides[ax]
            axis_step_known = True
        if b.place.shape[ax] > longest:
            longest = b.place.shape[ax]
            q = i
        total += b.place.shape[ax]
    if not axis_step_known and count > 1:      # parts of one element each: step by the first two
        axis_step = base_of(<BandedJet>parts[1]) - base_of(first)
    steps[ax] = axis_step
    # one base for the result: the longest part's, extended along the axis
    cdef Py_ssize_t position_q = 0
    for i in range(q):
        position_q += (<BandedJet>parts[i]).place.shape[ax]
    cdef Py_ssize_t c = base_of(<BandedJet>parts[q]) - axis_step * position_q
    cdef list shifts = []
    cdef list carries = []                     # does the part bring its offsets?
    cdef tuple union = ()
    cdef bint first_union = True
    for i in range(count):
        b = <BandedJet>parts[i]
        shift = base_of(b) - axis_step * position - c
        position += b.place.shape[ax]
        shifts.append(shift)
        carries.append(i == q or not derivatives_are_zero(b.local))
        if carries[i]:
            union = shifted(b.offsets, shift) if first_union else union_offsets(union, b.offsets, shift)
            first_union = False
    if len(union) >= first.n:
        return None
    cdef cnp.npy_intp dims[65]
    cdef cnp.npy_intp strides[65]
    for d in range(nd):
        dims[d] = total if d == ax else first.place.shape[d]
        strides[d] = steps[d]
    dims[nd] = 1
    strides[nd] = 1
    if not place_fits(first, c, nd, dims, strides):
        return None
    cdef list bufs = []
    cdef uint64_t deps1 = 0, deps2 = 0
    for i in range(count):
        b = <BandedJet>parts[i]
        if carries[i]:
            bufs.append(embedded(b.local, b.offsets, <Py_ssize_t>shifts[i], union).buf)
        else:
            bufs.append(values_embedded(b.local, len(union)))
        deps1 |= jdeps1(b.local)
        deps2 |= jdeps2(b.local)
    cdef _Jet local = new_level_like(proto, join_c(bufs, <int>ax, False), len(union))
    set_deps(local, deps1, deps2)
    return banded_with(first, local, place_view(first, first.zero + c, nd + 1, dims, strides),
                       union)


cdef tuple shifted(tuple offsets, Py_ssize_t shift):
    return tuple([<Py_ssize_t>o + shift for o in offsets])


cdef bint place_fits(BandedJet b, Py_ssize_t c, int nd, cnp.npy_intp* dims, cnp.npy_intp* strides):
    """Does a place of base c, dims and strides lie inside b's root?"""
    cdef Py_ssize_t lo = c, hi = c
    cdef int d
    for d in range(nd):
        if dims[d] == 0:
            return False
        if strides[d] < 0:
            lo += strides[d] * (dims[d] - 1)
        else:
            hi += strides[d] * (dims[d] - 1)
    return lo >= -b.zero and hi < b.root.shape[0] - b.zero


cdef _Jet new_level_like(_Jet proto, cnp.ndarray buf, Py_ssize_t nl):
    """A local jet of proto's level over buf, of nl local seeds."""
    if proto.order == 1:
        return dual_over(buf, proto.tag1, jdeps1(proto))
    return symmetric_over(buf, nl, proto.tag1, proto.tag2, jdeps1(proto))


cdef bint derivatives_are_zero(_Jet local):
    """Are all of local's derivative components exactly zero?"""
    cdef cnp.ndarray buf = contiguous(local.buf)
    cdef Py_ssize_t K = buf.shape[buf.ndim - 1], m = buf.size // K if K else 0, e, k
    cdef const double* d
    cdef const float* f
    if cnp.PyArray_ITEMSIZE(buf) == 8:
        d = <const double*>cnp.PyArray_DATA(buf)
        for e in range(m):
            for k in range(1, K):
                if d[e * K + k] != 0:
                    return False
    else:
        f = <const float*>cnp.PyArray_DATA(buf)
        for e in range(m):
            for k in range(1, K):
                if f[e * K + k] != 0:
                    return False
    return True


cdef cnp.ndarray values_embedded(_Jet local, Py_ssize_t nu):
    """local's values with zero derivatives along nu local seeds (a new buffer)."""
    cdef cnp.ndarray src = contiguous(local.buf)
    cdef Py_ssize_t Ks = src.shape[src.ndim - 1]
    cdef Py_ssize_t Ku = components(local.order, nu)
    cdef cnp.ndarray out = cnp.PyArray_ZEROS(src.ndim, shape_with_last(src, Ku),
                                             cnp.PyArray_TYPE(src), 0)
    cdef Py_ssize_t zero_slot = 0
    cdef Py_ssize_t m = out.size // Ku
    if cnp.PyArray_ITEMSIZE(src) == 8:
        scatter_components(<const double*>cnp.PyArray_DATA(src), Ks, 1,
                           <double*>cnp.PyArray_DATA(out), Ku, &zero_slot, m)
    else:
        scatter_components(<const float*>cnp.PyArray_DATA(src), Ks, 1,
                           <float*>cnp.PyArray_DATA(out), Ku, &zero_slot, m)
    return out
