# The transforms' common case in C (dj.jacobian / dj.hessian of one small or banded
# source), and the joins (np.stack / np.concatenate) by block copies.

# ------------------------------------------------------------------ the transforms' common case

# The compiled ways of dj.jacobian / dj.hessian for one source. Which way, and from what
# size, is the transforms' choice (dualjac/_policy.py): these run the way they are asked to.

NO_FAST_PATH = object()   # the answer when x is not a source these take (before calling f)


cdef inline bint native_float_array(object x):
    cdef int typenum
    if type(x) is not cnp.ndarray:
        return False
    typenum = (<cnp.ndarray>x).descr.type_num
    return ((typenum == cnp.NPY_DOUBLE or typenum == cnp.NPY_FLOAT)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x))


cdef int jet_shape_then(cnp.ndarray ybuf, cnp.ndarray src, int src_nd) except -1:
    """_shape_buf = ybuf's element shape + src's first src_nd dims; returns the ndim."""
    cdef int d, ny = ybuf.ndim - 1
    if ny + src_nd + 1 > 64:
        raise ValueError(f"dualjac: the derivative of a {ny}-d result with respect to a "
                         f"{src_nd}-d source has {ny + src_nd} dimensions, more than "
                         "NumPy's 64 with its seed axis; reshape the source or the result "
                         "(e.g. x.reshape(-1)) before differentiating")
    for d in range(ny):
        _shape_buf[d] = ybuf.shape[d]
    for d in range(src_nd):
        _shape_buf[ny + d] = src.shape[d]
    return ny + src_nd


@cython.final
cdef class Unfinished:
    """What the compiled ways of dj.jacobian / dj.hessian return when f's output is not their common case
    (unconnected, plain, another transform's levels): the output, with the transform's
    tags still live, for the transforms (dualjac/api.py, _second_order.py) to read. The
    core never calls back up into them. ``with unfinished:`` releases the tags on leaving."""
    cdef readonly object output
    cdef readonly tuple tags

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()
        return False

    cpdef release(self):
        for tag in self.tags:
            release(tag)
        self.tags = ()

    def __dealloc__(self):
        # (a caller that dropped it unread: the tags must not stay live)
        if self.tags:
            for tag in self.tags:
                release(tag)


cdef Unfinished unfinished(object output, tuple tags):
    cdef Unfinished u = Unfinished.__new__(Unfinished)
    u.output = output
    u.tags = tags
    return u


cdef object in_source_dtype(object result, object x):
    """A plain derivative in its source's dtype (TF's rule: the gradient of a cast
    is cast back), also when f computed or returned another dtype. Only for
    connected results: TF's unconnected zeros have the target's dtype."""
    if (type(result) is cnp.ndarray and type(x) is cnp.ndarray
            and (<cnp.ndarray>result).descr.type_num != (<cnp.ndarray>x).descr.type_num):
        return result.astype(x.dtype)
    return result


cpdef object jacobian_banded(f, x, bint block_cache):
    """dj.jacobian(f, x) from banded seeds (src_c/_banded.pxi) for a native float32 / float64
    ndarray, with the block cache installed when asked: the Jacobian, an Unfinished output,
    NEEDS_DENSE when f must run on dense jets, or NO_FAST_PATH for another x."""
    if not native_float_array(x):
        return NO_FAST_PATH
    return banded_jacobian_sweep(f, <cnp.ndarray>x, block_cache)


cpdef object jacobian_dense(f, x):
    """dj.jacobian(f, x) with all seeds in one sweep, in C: a native float32 / float64
    ndarray, or (nested in another transform) a DualArray. Reads the common result (a jet at this tag, connected) straight
    into the Jacobian; anything else comes back Unfinished, for the general reading.
    NO_FAST_PATH, before calling f, for another x."""
    cdef cnp.ndarray a, ybuf
    cdef Py_ssize_t m
    cdef long long tag
    cdef _Jet y, src
    cdef bint handed
    if native_float_array(x):
        a = <cnp.ndarray>x
        m = a.size
        tag = hold_new_tag(TRANSFORM_JACOBIAN)
        handed = False
        try:
            out = f(seeded(a, m, tag, 1, 0, 0, -1, 0))
            if type(out) is DualArray:
                y = <_Jet>out
                if y.tag1 == tag and jdeps1(y):
                    ybuf = contiguous(y.buf)
                    return in_source_dtype(tangent_shaped(y, ybuf, jet_shape_then(ybuf, a, a.ndim)), a)
            handed = True
            return unfinished(out, (tag,))
        finally:
            if not handed:
                release(tag)
    if type(x) is DualArray:
        src = <_Jet>x
        ybuf = src.buf
        tag = hold_new_tag(TRANSFORM_JACOBIAN)
        handed = False
        try:
            check_source_jet(src, tag)
            out = f(inner_seeded(<DualArray>src, tag, 1))
            if type(out) is HyperDualArray:
                y = <_Jet>out
                if y.tag2 == tag and y.tag1 == src.tag1 and jdeps2(y):
                    ybuf = contiguous(y.buf)
                    return inner_derivative_shaped(<HyperDualArray>y, ybuf,
                                                   jet_shape_then(ybuf, src.buf, src.buf.ndim - 1))
            handed = True
            return unfinished(out, (tag,))
        finally:
            if not handed:
                release(tag)
    return NO_FAST_PATH


cpdef object hessian_banded(f, x, bint block_cache):
    """dj.hessian(f, x) from banded seeds (src_c/_banded.pxi) for a native float32 / float64
    ndarray, read straight into f(x).shape + x.shape + x.shape: the Hessian, an Unfinished
    output, NEEDS_DENSE when f must run dense, or NO_FAST_PATH for another x."""
    if not native_float_array(x):
        return NO_FAST_PATH
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef long long tag1 = hold_new_tag(TRANSFORM_HESSIAN), tag2 = hold_new_tag(TRANSFORM_HESSIAN)
    cdef object previous = use_block_cache() if block_cache else None
    cdef object out = None
    try:
        out = run_banded(f, seed_banded(a, tag1, tag2))
        if out is not NEEDS_DENSE:
            out = hessian_read(out, tag1, tag2, a)
        return out
    finally:
        if type(out) is not Unfinished:
            release(tag1)
            release(tag2)
        if previous is not None:
            restore_memory_handler(previous)


cpdef object hessian_dense(f, x):
    """dj.hessian(f, x) in one sweep of Hessian seeds for a native float32 / float64 ndarray,
    read straight into f(x).shape + x.shape + x.shape: the Hessian, an Unfinished output, or
    NO_FAST_PATH, before calling f, for another x."""
    if not native_float_array(x):
        return NO_FAST_PATH
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef Py_ssize_t m = a.size, K = 1 + m + m * (m + 1) // 2
    cdef long long tag1 = hold_new_tag(TRANSFORM_HESSIAN), tag2 = hold_new_tag(TRANSFORM_HESSIAN)
    cdef cnp.ndarray v = cnp.PyArray_GETCONTIGUOUS(a)
    cdef object out = None
    try:
        out = hessian_read(f(symmetric_over(seed_buffer(v, K, 0, 0, m, 0), m, tag1, tag2, 1)),
                           tag1, tag2, a)
        return out
    finally:
        if type(out) is not Unfinished:
            release(tag1)
            release(tag2)


cdef object hessian_read(object out, long long tag1, long long tag2, cnp.ndarray a):
    cdef _Jet y
    cdef tuple xs = (<object>a).shape
    if type(out) is BandedJet:
        y = (<BandedJet>out).local
        if y.order == 3 and y.tag1 == tag1 and y.tag2 == tag2:
            return in_source_dtype(banded_hessian_only(<BandedJet>out,
                                                       (<BandedJet>out).shape + xs + xs), a)
        out = densified(<BandedJet>out)
    if type(out) is HyperDualArray:
        y = <_Jet>out
        if y.order == 3 and y.tag1 == tag1 and y.tag2 == tag2:
            return in_source_dtype(unpack_symmetric(y, (<object>y.buf).shape[:-1] + xs + xs), a)
    return unfinished(out, (tag1, tag2))


def join_buffers(list bufs, int axis, bint new_axis):
    """np.stack (new_axis) or np.concatenate of same-dtype buffers along an
    element axis, by contiguous block copies: NumPy's own are Python-level
    around a general C loop, microseconds on the small arrays of an ODE
    right-hand side. All shape bookkeeping stays in C."""
    return join_c(bufs, axis, new_axis)


cdef cnp.ndarray join_c(list bufs, int axis, bint new_axis):
    cdef Py_ssize_t count = len(bufs), total = 0, outer = 1, row, offset = 0, chunk, i
    cdef list parts = [contiguous(<cnp.ndarray>b) for b in bufs]
    cdef cnp.ndarray first = <cnp.ndarray>parts[0], b
    cdef int nd = first.ndim, d
    if nd + 1 > 64:
        raise ValueError("too many dimensions")
    for i in range(count):
        b = <cnp.ndarray>parts[i]
        if b.ndim != nd or b.descr.type_num != first.descr.type_num:
            raise ValueError("all the input arrays must have the same number of dimensions")
        for d in range(nd):
            if b.shape[d] != first.shape[d] and (new_axis or d != axis):
                raise ValueError("all input arrays must have the same shape" if new_axis else
                                 "all the input array dimensions except for the "
                                 "concatenation axis must match exactly")
        total += 1 if new_axis else b.shape[axis]
    for d in range(axis):
        _shape_buf[d] = first.shape[d]
        outer *= first.shape[d]
    _shape_buf[axis] = total
    for d in range(axis + (0 if new_axis else 1), nd):
        _shape_buf[d + (1 if new_axis else 0)] = first.shape[d]
    cdef cnp.ndarray out = new_buffer(nd + (1 if new_axis else 0), _shape_buf,
                                      first.descr.type_num)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(first)
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    row = out.size // outer if outer else 0
    for i in range(count):
        b = <cnp.ndarray>parts[i]
        chunk = b.size // outer if outer else 0
        copy_blocks(dst + offset * itemsize, row, <char*>cnp.PyArray_DATA(b), chunk,
                    outer, chunk, itemsize)
        offset += chunk
    return out


cdef object NP_STACK = np.stack
cdef object NP_CONCATENATE = np.concatenate


cdef str AXIS_KEYWORD = "axis"


cdef object fast_join(bint new_axis, tuple args, dict kwargs):
    """np.stack (new_axis) / np.concatenate(arrays, axis) of a list or tuple of
    jets of one level and dtype, with a Python int axis and no other argument:
    the whole join in C. None for anything else, and for every call the general
    join (dualjac.dispatch.structural) must reject, which then raises its own error.

    The buffers are read from the jets once, made contiguous (which may release
    the GIL), and only then checked and copied: what is copied is what was
    checked, whatever another thread does to the list meanwhile."""
    cdef Py_ssize_t nargs = len(args), count, i, ax, total = 0, outer = 1, row
    cdef Py_ssize_t offset = 0, chunk, itemsize
    cdef int nd, rnd, d, typenum
    cdef PyObject* found
    cdef PyObject* key
    cdef Py_ssize_t pos = 0
    cdef object axis_obj, seq, item
    cdef _Jet proto, j
    cdef cnp.ndarray fb, b, out
    cdef uint64_t deps1 = 0, deps2 = 0
    if nargs == 1:
        if not kwargs:
            axis_obj = 0
        else:
            if PyDict_GET_SIZE(<PyObject*>kwargs) != 1:
                return None
            # the one keyword: a call site's "axis" is the interned string itself
            PyDict_Next(kwargs, &pos, &key, &found)
            if key != <PyObject*>AXIS_KEYWORD:
                found = PyDict_GetItem(kwargs, "axis")
                if found == NULL:
                    return None
            axis_obj = <object>found
    elif nargs == 2 and not kwargs:
        axis_obj = args[1]
    else:
        return None
    seq = args[0]
    if type(axis_obj) is not int or (type(seq) is not list and type(seq) is not tuple):
        return None
    count = len(seq)
    if count == 0 or not isinstance(seq[0], _Jet):
        return None
    proto = <_Jet>seq[0]
    fb = proto.buf
    nd = fb.ndim                                 # buffer ndim: element ndim + 1
    typenum = fb.descr.type_num
    rnd = nd if new_axis else nd - 1             # the result's element ndim
    ax = small_int(axis_obj)
    if ax < 0:
        ax += rnd
    if rnd == 0 or ax < 0 or ax >= rnd:
        return None
    cdef list bufs = []
    for i in range(count):
        item = seq[i]
        if not isinstance(item, _Jet):
            return None
        j = <_Jet>item
        b = j.buf
        if not same_level(proto, j) or b.descr.type_num != typenum or b.ndim != nd:
            return None
        deps1 |= jdeps1(j)
        deps2 |= jdeps2(j)
        bufs.append(contiguous(b))
    for i in range(count):
        b = <cnp.ndarray>bufs[i]
        if b.ndim != nd:
            return None
        for d in range(nd):
            if b.shape[d] != fb.shape[d] and (new_axis or d != ax):
                return None                      # the general join reports the shapes
        total += 1 if new_axis else b.shape[ax]
    if nd + 1 > 64:
        return None
    for d in range(ax):
        _shape_buf[d] = fb.shape[d]
        outer *= fb.shape[d]
    _shape_buf[ax] = total
    for d in range(ax + (0 if new_axis else 1), nd):
        _shape_buf[d + (1 if new_axis else 0)] = fb.shape[d]
    out = new_buffer(nd + (1 if new_axis else 0), _shape_buf, typenum)
    itemsize = cnp.PyArray_ITEMSIZE(fb)
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    row = cnp.PyArray_SIZE(out) // outer if outer else 0
    for i in range(count):
        b = <cnp.ndarray>bufs[i]
        chunk = cnp.PyArray_SIZE(b) // outer if outer else 0
        copy_blocks(dst + offset * itemsize, row, <char*>cnp.PyArray_DATA(b), chunk,
                    outer, chunk, itemsize)
        offset += chunk
    cdef _Jet result = new_like(proto, out)
    set_deps(result, deps1, deps2)
    return result


cdef cnp.npy_intp* shape_with(cnp.ndarray a, Py_ssize_t K) except NULL:
    """a.shape + (K,) in a static buffer (valid until the next call; GIL held)."""
    cdef int d
    if a.ndim + 1 > 64:
        raise too_many_dimensions(a.ndim)
    for d in range(a.ndim):
        _shape_buf[d] = a.shape[d]
    _shape_buf[a.ndim] = K
    return _shape_buf


def too_many_dimensions(int ndim):
    """The error for an array whose jet buffer (its shape + the component axis)
    would pass NumPy's limit of 64 dimensions."""
    return ValueError(f"dualjac: a {ndim}-d array cannot carry derivatives: its jet "
                      f"buffer needs {ndim + 1} dimensions (its shape and a seed axis), "
                      "more than NumPy's maximum of 64; reshape it to fewer dimensions "
                      "(e.g. x.reshape(-1)) and back inside f")


ctypedef struct SeedFill:
    const char* v
    char* buf
    Py_ssize_t K, first, lo, hi, row_len
    bint f64


cdef cnp.ndarray seed_buffer(cnp.ndarray v, Py_ssize_t K, Py_ssize_t first, Py_ssize_t lo,
                             Py_ssize_t hi, Py_ssize_t period):
    """The buffer of a seeded source: v (contiguous) as component 0 of elements of
    K numbers, a 1 at component 1 + first + r - lo for each element whose seed
    index r (flat index, or index within the row when period > 0) is in [lo, hi),
    zeros elsewhere. A large one (a batch) is zeroed and filled by the pool's
    threads, a range of elements each, so every page is written once, by one
    thread, while in its cache, rather than zeroed and then filled in two serial
    passes (a calloc and a fill)."""
    cdef int typenum = cnp.PyArray_TYPE(v)
    if typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT:
        raise TypeError(f"dualjac: sources must be float32 or float64, got {v.dtype}")
    cdef Py_ssize_t m = v.size
    cdef SeedFill c
    c.v = <const char*>cnp.PyArray_DATA(v)
    c.K = K
    c.first = first
    c.lo = lo
    c.hi = hi
    c.row_len = period if period else m
    c.f64 = typenum == cnp.NPY_DOUBLE
    cdef cnp.ndarray buf = new_buffer(v.ndim + 1, shape_with(v, K), typenum)
    c.buf = <char*>cnp.PyArray_DATA(buf)
    run_ranges(seed_range, &c, m, m * K)
    return buf


cdef void seed_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi) of a SeedFill (a dj_range_fn for the thread pool)."""
    cdef SeedFill* c = <SeedFill*>ctx
    if c.f64:
        fill_seeds(<const double*>c.v, <double*>c.buf, c, lo, hi)
    else:
        fill_seeds(<const float*>c.v, <float*>c.buf, c, lo, hi)


cdef void fill_seeds(const real* v, real* buf, SeedFill* c, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi): zeros, then values into component 0 and the 1 of each
    seeded element; the seed index r is carried along (no division per element)."""
    cdef Py_ssize_t i, K = c.K, r = lo % c.row_len if c.row_len else 0
    memset(buf + lo * K, 0, (hi - lo) * K * sizeof(real))
    for i in range(lo, hi):
        buf[i * K] = v[i]
        if c.lo <= r < c.hi:
            buf[i * K + 1 + c.first + r - c.lo] = 1
        r += 1
        if r == c.row_len:
            r = 0
