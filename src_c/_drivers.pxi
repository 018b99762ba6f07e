# Kernel drivers: broadcasting operands, choosing the generated kernel for the dtype,
# layout and operand kinds, and running it serially or on the thread pool.

# ------------------------------------------------------------------ kernel drivers

ctypedef struct KernelCall:
    # One generated kernel over a range of elements: operands by element
    # stride (in items), so any contiguous range of elements can be cut out.
    # Binary kernels run over a grid (src_c/_broadcast.pxi): planes of `rows`
    # rows of `inner` elements, each operand with its own row stride (ra, rb)
    # and plane strides; a flat call is one row of all the elements.
    void* fn
    bint binary
    bint f64
    int order
    char* a
    Py_ssize_t sa
    char* b
    Py_ssize_t sb
    char* o
    Py_ssize_t K
    Py_ssize_t n1
    Py_ssize_t n2
    Py_ssize_t itemsize
    Py_ssize_t inner
    Py_ssize_t rows
    Py_ssize_t ra
    Py_ssize_t rb
    int plane_nd
    Py_ssize_t plane_shape[64]
    Py_ssize_t plane_sa[64]
    Py_ssize_t plane_sb[64]


cdef inline void flat_grid(KernelCall* c, Py_ssize_t m) noexcept:
    """The grid of a call over m elements in one run."""
    c.inner = m if m else 1
    c.rows = 1
    c.ra = c.rb = 0
    c.plane_nd = 0


@cython.cdivision(True)
cdef inline void plane_offsets(KernelCall* c, Py_ssize_t plane, Py_ssize_t* oa,
                               Py_ssize_t* ob) noexcept nogil:
    """The operands' offsets (items) of plane number `plane` (row-major over the plane axes)."""
    cdef int d
    cdef Py_ssize_t k
    oa[0] = ob[0] = 0
    for d in range(c.plane_nd - 1, -1, -1):
        k = plane % c.plane_shape[d]
        plane = plane // c.plane_shape[d]
        oa[0] += k * c.plane_sa[d]
        ob[0] += k * c.plane_sb[d]


@cython.cdivision(True)
cdef void kernel_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi) of a KernelCall (a dj_range_fn for the thread pool): the
    partial rows at either end, and the whole rows between them in one call."""
    cdef KernelCall* c = <KernelCall*>ctx
    cdef Py_ssize_t z = c.itemsize, p = lo, i, rest, oa, ob, count, rows
    if c.rows == 1 and c.plane_nd == 0:      # a flat run (most calls): no grid arithmetic
        if c.f64:
            call_kernel(c, <double*>(c.a + lo * c.sa * z),
                        <double*>(c.b + lo * c.sb * z if c.binary else NULL),
                        <double*>(c.o + lo * c.K * z), hi - lo, 1)
        else:
            call_kernel(c, <float*>(c.a + lo * c.sa * z),
                        <float*>(c.b + lo * c.sb * z if c.binary else NULL),
                        <float*>(c.o + lo * c.K * z), hi - lo, 1)
        return
    while p < hi:
        i = p % c.inner
        rest = p // c.inner
        plane_offsets(c, rest // c.rows, &oa, &ob)
        oa += (rest % c.rows) * c.ra + i * c.sa
        ob += (rest % c.rows) * c.rb + i * c.sb
        if i == 0 and hi - p >= c.inner:
            count = c.inner
            rows = min(c.rows - rest % c.rows, (hi - p) // c.inner)
        else:
            count = min(c.inner - i, hi - p)
            rows = 1
        if c.f64:
            call_kernel(c, <double*>(c.a + oa * z), <double*>(c.b + ob * z if c.binary else NULL),
                        <double*>(c.o + p * c.K * z), count, rows)
        else:
            call_kernel(c, <float*>(c.a + oa * z), <float*>(c.b + ob * z if c.binary else NULL),
                        <float*>(c.o + p * c.K * z), count, rows)
        p += count * rows


cdef inline void call_kernel(KernelCall* c, real* a, real* b, real* o, Py_ssize_t m,
                             Py_ssize_t rows) noexcept nogil:
    """c.fn on `rows` rows of m elements, cast to its kind's signature for this dtype."""
    if not c.binary:
        if c.order == 1:
            (<void (*)(const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
                a, c.sa, o, m, c.K)
        else:
            (<void (*)(const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
                a, c.sa, o, m, c.n1, c.n2)
    elif c.order == 1:
        (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t,
                   Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
            a, c.sa, b, c.sb, o, m, c.K, rows, c.ra, c.rb)
    else:
        (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t,
                   Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
            a, c.sa, b, c.sb, o, m, c.n1, c.n2, rows, c.ra, c.rb)


cdef void run_kernel(KernelCall* call, Py_ssize_t m) noexcept:
    """Run a kernel over m elements: without the GIL when large, and split
    between threads when each part is worth one."""
    run_ranges(kernel_range, call, m, m * call.K)


def set_num_threads(int n):
    """Threads a large kernel may use (1 = serial)."""
    dj_set_threads(n)


def get_num_threads():
    return dj_get_threads()


cdef object unary_op(int idx, _Jet a):
    cdef cnp.ndarray src = a.buf
    cdef Py_ssize_t K = src.shape[src.ndim - 1]
    cdef Py_ssize_t sa
    src = readable(src, &sa)
    cdef cnp.ndarray out = new_buffer(src.ndim, src.shape, cnp.PyArray_TYPE(src))
    cdef KernelCall call
    call.binary = 0
    call.order = a.order
    call.f64 = cnp.PyArray_TYPE(src) == cnp.NPY_DOUBLE
    if call.f64:
        call.fn = <void*>(U1_f64[idx] if a.order == 1 else
                          U2_f64[idx] if a.order == 2 else U3_f64[idx])
    else:
        call.fn = <void*>(U1_f32[idx] if a.order == 1 else
                          U2_f32[idx] if a.order == 2 else U3_f32[idx])
    call.a = <char*>cnp.PyArray_DATA(src)
    call.sa = sa
    call.b = NULL
    call.sb = 0
    call.o = <char*>cnp.PyArray_DATA(out)
    call.K = K
    call.n1 = a.n1
    call.n2 = a.n2
    call.itemsize = cnp.PyArray_ITEMSIZE(src)
    flat_grid(&call, out.size // K if K else 0)
    run_kernel(&call, out.size // K if K else 0)
    return new_like(a, out)


cdef Py_ssize_t element_stride(cnp.ndarray buf):
    """The distance, in items, between consecutive elements of a jet buffer whose
    elements are equally spaced and whose components are contiguous (a C-contiguous
    buffer: K; a column view x[:, 0]: a multiple of K); -1 otherwise."""
    cdef int nd = buf.ndim, d, last = -1
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(buf), K = buf.shape[nd - 1]
    if buf.size == 0:
        return K     # NumPy gives empty arrays zero strides; 0 would mean "broadcast"
    if buf.strides[nd - 1] != itemsize and K > 1:
        return -1
    cdef Py_ssize_t step = 0, expected
    for d in range(nd - 2, -1, -1):      # innermost element axis first
        if buf.shape[d] == 1:
            continue
        if last < 0:
            step = buf.strides[d]
            last = d
        else:
            expected = buf.strides[last] * buf.shape[last]
            if buf.strides[d] != expected:
                return -1
            last = d
    if last < 0:
        return K
    if step == 0 or step % itemsize:
        return -1     # (0: a broadcast view, many elements in one place; a stride of
                      # 0 tells the kernels "one operand for all", so it is copied)
    return step // itemsize


cdef object constant_matmul_jet(object a, object b):
    """W @ x for a plain 2-D W and a contiguous 1-D or 2-D jet x of W's dtype (a
    layer of a model): one matmul on the buffer, the components riding along.
    None for anything else (the dispatch layer's general matmul takes it)."""
    if type(a) is not cnp.ndarray or not isinstance(b, _Jet):
        return None
    cdef cnp.ndarray W = <cnp.ndarray>a
    cdef _Jet x = <_Jet>b
    cdef cnp.ndarray buf = x.buf
    if (W.ndim != 2 or W.descr.type_num != buf.descr.type_num
            or not cnp.PyArray_IS_C_CONTIGUOUS(buf) or buf.ndim not in (2, 3)):
        return None
    if buf.shape[0] != W.shape[1]:
        return None                  # let NumPy's matmul raise its own shape error
    if buf.ndim == 2:
        return new_like(x, np.matmul(W, buf))
    cdef Py_ssize_t p = buf.shape[1], K = buf.shape[2]
    out = np.matmul(W, buf.reshape(buf.shape[0], p * K))
    return new_like(x, out.reshape(W.shape[0], p, K))


cdef object binary_op(int idx, object x, object y):
    """x (op) y where at least one is a jet; NotImplemented for foreign types."""
    if isinstance(x, _Jet):
        if isinstance(y, _Jet):
            return binary_jj(idx, <_Jet>x, <_Jet>y)
        return binary_jc(idx, <_Jet>x, y, False)
    if isinstance(y, _Jet):
        return binary_jc(idx, <_Jet>y, x, True)
    raise TypeError("dualjac: a binary kernel needs a dual array operand")


cdef object binary_jj(int idx, _Jet a, _Jet b):
    cdef _Jet level
    if not same_level(a, b):
        level = join_level(a, b)
        a = lift_to(a, level)
        b = lift_to(b, level)
    cdef cnp.ndarray abuf = a.buf, bbuf = b.buf
    if cnp.PyArray_TYPE(abuf) != cnp.PyArray_TYPE(bbuf):
        dtype = np.promote_types(abuf.dtype, bbuf.dtype)
        abuf = abuf.astype(dtype)
        bbuf = bbuf.astype(dtype)
    cdef Py_ssize_t K = abuf.shape[abuf.ndim - 1], sa, sb
    if not same_shape(abuf, bbuf):
        if abuf.size == K and abuf.ndim <= bbuf.ndim:
            abuf = contiguous(abuf)
            sa = 0
            bbuf = readable(bbuf, &sb)
        elif bbuf.size == K and bbuf.ndim <= abuf.ndim:
            bbuf = contiguous(bbuf)
            sb = 0
            abuf = readable(abuf, &sa)
        else:
            return joined(new_like(a, broadcast_binary(idx, 0, a, abuf, bbuf, K)), a, b)
    elif not (equally_spaced(abuf) and equally_spaced(bbuf)):
        # (x[::2, ::3], a transpose: the grid reads them in place, where a flat run needs a copy)
        return joined(new_like(a, broadcast_binary(idx, 0, a, abuf, bbuf, K)), a, b)
    else:
        abuf = readable(abuf, &sa)
        bbuf = readable(bbuf, &sb)
    cdef cnp.ndarray out = empty_result(abuf if sa else bbuf)
    run_binary(idx, 0, a, abuf, sa, bbuf, sb, out)
    return joined(new_like(a, out), a, b)


cdef inline _Jet joined(_Jet r, _Jet a, _Jet b):
    """r, a result of a and b, with the seeds either depends on."""
    set_deps(r, jdeps1(a) | jdeps1(b), jdeps2(a) | jdeps2(b))
    return r


cdef object binary_jc(int idx, _Jet a, object c, bint swapped):
    """a (op) c, or c (op) a when swapped, for a plain constant c."""
    if idx == I_POW and not swapped and (type(c) is float or type(c) is int):
        special = power_as_unary(<double>c)
        if special >= 0:
            return unary_op(special, a)
    cdef cnp.ndarray abuf = a.buf, cval
    cdef Py_ssize_t K = abuf.shape[abuf.ndim - 1], sa = K, sc = 1
    cdef cnp.ndarray out
    cdef ScalarOperand scalar
    if (type(c) is float or type(c) is int or type(c) is bool) and \
            scalar_operand(c, cnp.PyArray_TYPE(abuf), &scalar):
        # The constant as the jet's dtype in a C variable (stride 0): what the
        # 0-d array below would hold, without making one.
        abuf = readable(abuf, &sa)
        out = empty_result(abuf)
        if swapped:
            run_binary_data(idx, 2, a, <char*>&scalar, 0, <char*>cnp.PyArray_DATA(abuf), sa, out)
        else:
            run_binary_data(idx, 1, a, <char*>cnp.PyArray_DATA(abuf), sa, <char*>&scalar, 0, out)
        return new_like(a, out)
    if type(c) is float or type(c) is int or type(c) is bool:
        # Python scalars are 'weak' (NEP 50): the result keeps the jet's dtype.
        cval = cnp.PyArray_EMPTY(0, NULL, cnp.PyArray_TYPE(abuf), 0)
        cval[()] = c
        sc = 0
    else:
        if not isinstance(c, (np.ndarray, np.generic, list, tuple)):
            if hasattr(c, "__array_ufunc__") or hasattr(c, "__array_function__"):
                return NotImplemented
        cval = np.asarray(c)
        if cval.descr.type_num != abuf.descr.type_num:   # same dtype: nothing to promote
            check_constant(cval)
            dtype = np.result_type(abuf.dtype, cval)
            check_float_dtype(dtype)
            if dtype != abuf.dtype:
                abuf = abuf.astype(dtype)
            if cval.dtype != dtype:
                cval = cval.astype(dtype)
        elif not cnp.PyArray_ISNOTSWAPPED(cval):
            cval = cval.astype(cval.dtype.newbyteorder("="))
        if not same_element_shape(abuf, cval):
            if cval.size == 1 and cval.ndim <= abuf.ndim - 1:
                sc = 0
            elif abuf.size == K and abuf.ndim - 1 <= cval.ndim:
                sa = 0
                sc = 1
            else:
                return constant_over_grid(idx, a, abuf, cval, K, swapped)
        elif not (equally_spaced(abuf) and cnp.PyArray_IS_C_CONTIGUOUS(cval)):
            return constant_over_grid(idx, a, abuf, cval, K, swapped)   # in place, not copied
    if sa:
        abuf = readable(abuf, &sa)
    else:
        abuf = contiguous(abuf)
    cval = contiguous(cval)
    if sa:
        out = empty_result(abuf)
    else:
        out = new_buffer(cval.ndim + 1, shape_with(cval, K), cnp.PyArray_TYPE(abuf))
    if swapped:
        run_binary(idx, 2, a, cval, sc, abuf, sa, out)
    else:
        run_binary(idx, 1, a, abuf, sa, cval, sc, out)
    return new_like(a, out)


cdef object constant_over_grid(int idx, _Jet a, cnp.ndarray abuf, cnp.ndarray cval,
                               Py_ssize_t K, bint swapped):
    """a (op) c, or c (op) a when swapped, read in place over src_c/_broadcast.pxi's grid."""
    if swapped:
        return new_like(a, broadcast_binary(idx, 2, a, cval, abuf, K))
    return new_like(a, broadcast_binary(idx, 1, a, abuf, cval, K))


cdef inline bint same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int d
    if a.ndim != b.ndim:
        return False
    for d in range(a.ndim):
        if a.shape[d] != b.shape[d]:
            return False
    return True


cdef inline bint same_element_shape(cnp.ndarray jet_buf, cnp.ndarray c):
    """Is c's shape the element shape of a jet buffer (its shape less the last axis)?"""
    cdef int d
    if c.ndim != jet_buf.ndim - 1:
        return False
    for d in range(c.ndim):
        if c.shape[d] != jet_buf.shape[d]:
            return False
    return True


cdef inline int power_as_unary(double exponent):
    """x ** 2, x ** 0.5, x ** -1 as their own rows (NumPy takes the same fast
    paths, so the values agree): one kernel call instead of three pow() per
    element for the value and two derivatives. -1 when there is none."""
    if exponent == 2.0:
        return I_SQUARE
    if exponent == 0.5:
        return I_SQRT
    if exponent == -1.0:
        return I_RECIPROCAL
    return -1


cdef inline bint equally_spaced(cnp.ndarray buf):
    """Can a flat run of a kernel read buf in place (readable() keeps it)?"""
    return cnp.PyArray_IS_C_CONTIGUOUS(buf) or element_stride(buf) >= 0


cdef inline cnp.ndarray contiguous(cnp.ndarray a):
    return a if cnp.PyArray_IS_C_CONTIGUOUS(a) else np.ascontiguousarray(a)


cdef inline cnp.ndarray empty_result(cnp.ndarray like):
    """A C-contiguous array of like's shape and dtype."""
    return new_buffer(like.ndim, like.shape, cnp.PyArray_TYPE(like))


cdef inline cnp.ndarray readable(cnp.ndarray buf, Py_ssize_t* stride):
    """buf as a kernel can read it, with its element stride in *stride: itself
    when its elements are equally spaced, else a contiguous copy."""
    if cnp.PyArray_IS_C_CONTIGUOUS(buf):            # element_stride's answer for these
        stride[0] = buf.shape[buf.ndim - 1]
        return buf
    stride[0] = element_stride(buf)
    if stride[0] >= 0:
        return buf
    buf = np.ascontiguousarray(buf)
    stride[0] = buf.shape[buf.ndim - 1]
    return buf


ctypedef union ScalarOperand:
    double f64
    float f32


cdef extern from "Python.h":
    double PyFloat_AS_DOUBLE(object) noexcept
    long long PyLong_AsLongLongAndOverflow(object, int*) noexcept


cdef inline bint scalar_operand(object c, int typenum, ScalarOperand* out) noexcept:
    """A Python float / int / bool as a float64 or float32 constant, when the
    conversion is exact or rounds once, as NumPy's assignment to a 0-d array of
    that dtype does; False (nothing raised) for any other case (an int beyond
    2**53, or 2**24 for float32, a float that overflows float32), which then
    takes the 0-d array path and NumPy's own conversion, warnings and errors."""
    cdef double v
    cdef long long i
    cdef int overflow = 0
    if type(c) is float:
        v = PyFloat_AS_DOUBLE(c)
    elif type(c) is bool:
        v = 1.0 if c is True else 0.0
    else:
        i = PyLong_AsLongLongAndOverflow(c, &overflow)   # no error for an exact int
        if overflow:
            return False
        if typenum == cnp.NPY_DOUBLE:
            if i > 9007199254740992 or i < -9007199254740992:
                return False
        elif i > 16777216 or i < -16777216:
            return False
        v = <double>i
    if typenum == cnp.NPY_DOUBLE:
        out.f64 = v
        return True
    if typenum != cnp.NPY_FLOAT:
        return False
    out.f32 = <float>v
    if isinf(out.f32) and not isinf(v):
        return False
    return True


cdef void run_binary(int idx, int variant, _Jet level, cnp.ndarray x, Py_ssize_t sx,
                     cnp.ndarray y, Py_ssize_t sy, cnp.ndarray out) except *:
    """Call the kernel of row idx; variant 0 jj, 1 jc, 2 cj."""
    run_binary_data(idx, variant, level, <char*>cnp.PyArray_DATA(x), sx,
                    <char*>cnp.PyArray_DATA(y), sy, out)


cdef void run_binary_data(int idx, int variant, _Jet level, char* x, Py_ssize_t sx,
                          char* y, Py_ssize_t sy, cnp.ndarray out) except *:
    """run_binary on the operands' data (a jet buffer's, or a C constant's)."""
    cdef KernelCall call
    prepare_binary(&call, idx, variant, level, out)
    call.a = x
    call.sa = sx
    call.b = y
    call.sb = sy
    cdef Py_ssize_t m = out.size // call.K if call.K else 0
    flat_grid(&call, m)
    run_kernel(&call, m)


cdef void prepare_binary(KernelCall* call, int idx, int variant, _Jet level,
                         cnp.ndarray out) noexcept:
    """The kernel of row idx (variant 0 jj, 1 jc, 2 cj) at level's order and out's
    dtype, writing out; the operands and the grid are the caller's to set."""
    cdef int order = level.order
    call.binary = 1
    call.order = order
    call.f64 = cnp.PyArray_TYPE(out) == cnp.NPY_DOUBLE
    if call.f64:
        call.fn = <void*>(B1_f64[variant][idx] if order == 1 else
                          B2_f64[variant][idx] if order == 2 else B3_f64[variant][idx])
    else:
        call.fn = <void*>(B1_f32[variant][idx] if order == 1 else
                          B2_f32[variant][idx] if order == 2 else B3_f32[variant][idx])
    call.o = <char*>cnp.PyArray_DATA(out)
    call.K = out.shape[out.ndim - 1]
    call.n1 = level.n1
    call.n2 = level.n2
    call.itemsize = cnp.PyArray_ITEMSIZE(out)


def apply_unary(ufunc_name, _Jet a):
    """Run the rules-table kernel of a unary function by name (for the dispatch layer)."""
    return unary_op(GENERATED_UNARY.index(ufunc_name), a)


def apply_binary(ufunc_name, x, y):
    """Run the rules-table kernel of a binary function by name (for the dispatch layer)."""
    return binary_op(GENERATED_BINARY.index(ufunc_name), x, y)


cdef extern from "numpy/arrayobject.h":
    object PyArray_NewFromDescr(PyTypeObject_* subtype, cnp.dtype descr, int nd,
                                cnp.npy_intp* dims, cnp.npy_intp* strides, void* data,
                                int flags, PyObject* obj)


cdef extern from "Python.h":
    Py_ssize_t PyLong_AsSsize_t_noexc "PyLong_AsSsize_t"(object) noexcept
    PyObject* PyErr_Occurred() noexcept
    void PyErr_Clear() noexcept


cdef inline Py_ssize_t small_int(object i) noexcept:
    """A Python int as a Py_ssize_t, or PY_SSIZE_T_MIN when it does not fit
    (an index out of any range: the callers then leave it to NumPy)."""
    cdef Py_ssize_t k = PyLong_AsSsize_t_noexc(i)
    if k == -1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return <Py_ssize_t>LLONG_MIN
    return k


cdef object basic_view(cnp.ndarray buf, object key):
    """buf[key + (slice(None),)] for the common keys of small-array code (x[i],
    x[a:b], x[..., i], x[i, j], x[:, i]: Python ints and slices, at most one
    Ellipsis, one per element axis at most), as the same view NumPy's indexing
    makes, without building the extended key and parsing it. None for any other
    key, and for an index out of range: NumPy's indexing then handles it (and
    raises its own error)."""
    cdef tuple items
    cdef Py_ssize_t nkey, i, k, axis = 0, n_index = 0, start, stop, step, length
    cdef int nd = buf.ndim - 1, out_nd = 0, d
    cdef bint seen_ellipsis = False
    cdef char* data = <char*>cnp.PyArray_DATA(buf)
    cdef cnp.npy_intp dims[64]
    cdef cnp.npy_intp strides[64]
    cdef object item
    if type(key) is tuple:
        items = <tuple>key
    elif type(key) is int or type(key) is slice:
        items = (key,)
    else:
        return None
    nkey = len(items)
    for i in range(nkey):
        item = items[i]
        if item is Ellipsis:
            if seen_ellipsis:
                return None
            seen_ellipsis = True
        elif type(item) is int or type(item) is slice:
            n_index += 1
        else:
            return None
    if n_index > nd:
        return None
    for i in range(nkey):
        item = items[i]
        if item is Ellipsis:
            for k in range(nd - n_index):            # the axes the Ellipsis stands for
                dims[out_nd] = buf.shape[axis]
                strides[out_nd] = buf.strides[axis]
                out_nd += 1
                axis += 1
        elif type(item) is int:
            k = small_int(item)
            if k < 0:
                k += buf.shape[axis]
            if k < 0 or k >= buf.shape[axis]:
                return None
            data += k * buf.strides[axis]
            axis += 1
        else:
            if PySlice_Unpack(item, &start, &stop, &step) < 0:
                return None   # not reached for a slice object; NumPy reports it
            length = PySlice_AdjustIndices(buf.shape[axis], &start, &stop, step)
            if length:
                data += start * buf.strides[axis]
            dims[out_nd] = length
            strides[out_nd] = buf.strides[axis] * step
            out_nd += 1
            axis += 1
    for d in range(axis, nd + 1):                   # the rest, and the component axis
        dims[out_nd] = buf.shape[d]
        strides[out_nd] = buf.strides[d]
        out_nd += 1
    cdef cnp.dtype descr = buf.descr
    Py_INCREF(descr)                                 # PyArray_NewFromDescr steals it
    cdef cnp.ndarray view = PyArray_NewFromDescr(
        <PyTypeObject_*>cnp.ndarray, descr, out_nd, dims, strides, data,
        cnp.PyArray_FLAGS(buf) & ~cnp.NPY_ARRAY_OWNDATA, NULL)
    cnp.set_array_base(view, buf)
    return view


cdef object value_shape_error(object error, tuple shape, object key, object value_shape=None):
    """The error NumPy raises for x[key] (or x[key] = a value of value_shape) on a
    plain array x of a jet's shape: error, raised on the jet's buffer, counts or
    shows its component axis. error itself when NumPy takes the plain version."""
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape, (0,) * len(shape))
    try:
        if value_shape is None:
            probe[key]
        else:
            probe[key] = np.broadcast_to(np.zeros((), np.int8), value_shape)
    except Exception as value_error:
        return value_error
    return error


cdef object component_key(object key):
    """An index into the element axes, extended to keep the component axis whole."""
    if isinstance(key, _Jet):
        raise loss_error("indexing with a dual array")
    if type(key) is tuple:
        for k in <tuple>key:
            if isinstance(k, _Jet):
                raise loss_error("indexing with a dual array")
        return key + (slice(None),)
    return (key, slice(None))
