# Making jets: tags, seeding sources, views and connectivity; reading derivatives out of
# a result's buffer (Jacobians, inner derivatives, sums of every element).

# ------------------------------------------------------------------ construction

include "_tags.pxi"


cdef inline int init_jet(_Jet j, cnp.ndarray buf, int order, Py_ssize_t n1, Py_ssize_t n2,
                         long long tag1, long long tag2, uint64_t deps1, uint64_t deps2) except -1:
    # The one door every jet passes: the kernels read native float32/float64 only.
    if ((buf.descr.type_num != cnp.NPY_DOUBLE and buf.descr.type_num != cnp.NPY_FLOAT)
            or not cnp.PyArray_ISNOTSWAPPED(buf)):
        raise TypeError(f"dualjac: dual arrays hold native float32 or float64, not {buf.dtype}.")
    j.buf = buf
    j.order = order
    j.n1 = n1
    j.n2 = n2
    j.tag1 = tag1
    j.tag2 = tag2
    j.conn1 = deps1      # a new jet owns its connectivity until attach_view
    j.conn2 = deps2
    return 0


cdef object in_place_operand(object other):
    """The operand of an in-place operator on a dense jet: a banded or deferred
    jet as the dense jet it stands for, so the update lands in this memory."""
    if type(other) is BandedJet or type(other) is DeferredJet or type(other) is DeferredTranspose:
        return dense_tree(other)
    return other


cdef inline _Jet new_like(_Jet proto, cnp.ndarray buf):
    """A jet of proto's level over buf; a view of proto's memory shares its
    connectivity (see Connectivity above)."""
    cdef _Jet j
    if proto.order == 1:
        j = DualArray.__new__(DualArray)
    else:
        j = HyperDualArray.__new__(HyperDualArray)
    init_jet(j, buf, proto.order, proto.n1, proto.n2, proto.tag1, proto.tag2,
             jdeps1(proto), jdeps2(proto))
    if memory_of(buf) == memory_of(proto.buf):
        attach_view(j, proto)
    return j


cdef inline PyObject* memory_of(cnp.ndarray a):
    """The array that owns a's memory (NumPy points every view's base at it), or
    the foreign object that does."""
    cdef PyObject* o = <PyObject*>a
    cdef PyObject* base = cnp.PyArray_BASE(a)
    while base != NULL:
        if not cnp.PyArray_Check(<object>base):
            inner = strided_from(<object>base)
            if inner is None:
                return base
            base = <PyObject*>inner
            continue
        o = base
        base = cnp.PyArray_BASE(<cnp.ndarray>base)
    return o


cdef object strided_from(object holder):
    """The array a view made by NumPy's stride tricks (as_strided, sliding_window_view)
    shows: their holder of its interface keeps it as .base; None for another owner."""
    if type(holder).__name__ != "DummyArray":
        return None
    inner = getattr(holder, "base", None)
    return inner if cnp.PyArray_Check(inner) else None


cdef inline void attach_view(_Jet view, _Jet proto):
    cdef _Jet owner = proto.owner if proto.owner is not None else proto
    view.owner = owner
    owner.nviews += 1


cdef inline uint64_t jdeps1(_Jet j):
    return j.owner.conn1 if j.owner is not None else j.conn1


cdef inline uint64_t jdeps2(_Jet j):
    return j.owner.conn2 if j.owner is not None else j.conn2


cdef inline void set_deps(_Jet j, uint64_t d1, uint64_t d2):
    if j.owner is not None:
        j = j.owner
    j.conn1 = d1
    j.conn2 = d2


cdef inline void add_deps(_Jet j, uint64_t d1, uint64_t d2):
    if j.owner is not None:
        j = j.owner
    j.conn1 |= d1
    j.conn2 |= d2


cdef inline DualArray dual_over(cnp.ndarray buf, long long tag, uint64_t deps):
    cdef DualArray j = DualArray.__new__(DualArray)
    init_jet(j, buf, 1, buf.shape[buf.ndim - 1] - 1, 0, tag, 0, deps, 0)
    return j


def make_dual(cnp.ndarray buf, long long tag, uint64_t deps):
    """Wrap a buffer S + (1 + n,) as a DualArray of the given tag."""
    return dual_over(buf, tag, deps)


def make_hyper(cnp.ndarray buf, Py_ssize_t n1, Py_ssize_t n2, long long tag1, long long tag2,
               uint64_t deps1, uint64_t deps2):
    """Wrap a buffer S + (1 + n1 + n2 + n1*n2,) as a HyperDualArray."""
    if buf.shape[buf.ndim - 1] != 1 + n1 + n2 + n1 * n2:
        raise ValueError("hyper-dual buffer has the wrong number of components")
    cdef HyperDualArray j = HyperDualArray.__new__(HyperDualArray)
    init_jet(j, buf, 2, n1, n2, tag1, tag2, deps1, deps2)
    return j


def make_symmetric(cnp.ndarray buf, Py_ssize_t n, long long tag1, long long tag2, uint64_t deps):
    """Wrap S + (1 + n + n(n+1)/2,) as a Hessian jet: both seed sets equal, the
    cross block stored as its upper triangle (HyperDualArray with order 3)."""
    if buf.shape[buf.ndim - 1] != 1 + n + n * (n + 1) // 2:
        raise ValueError("symmetric hyper-dual buffer has the wrong number of components")
    return symmetric_over(buf, n, tag1, tag2, deps)


cdef inline HyperDualArray symmetric_over(cnp.ndarray buf, Py_ssize_t n, long long tag1,
                                          long long tag2, uint64_t deps):
    cdef HyperDualArray j = HyperDualArray.__new__(HyperDualArray)
    init_jet(j, buf, 3, n, n, tag1, tag2, deps, deps)
    return j


def seed_symmetric(cnp.ndarray value, long long tag1, long long tag2, uint64_t deps,
                   Py_ssize_t period=0):
    """A Hessian source: values and the identity as the shared first part (seed of
    element i is i, or i % period per row for batch Hessians), H = 0."""
    cdef cnp.ndarray v = cnp.PyArray_GETCONTIGUOUS(value)
    cdef Py_ssize_t m = v.size, n = period if period else m
    cdef Py_ssize_t K = 1 + n + n * (n + 1) // 2
    return make_symmetric(seed_buffer(v, K, 0, 0, n, period), n, tag1, tag2, deps)


def unpack_symmetric(_Jet y, tuple shape):
    """The full n x n second-derivative blocks of a Hessian jet, as a new array
    of ``shape`` (= y.shape + (n, n), or any reshaping of it)."""
    cdef cnp.ndarray src = contiguous(y.buf)
    cdef Py_ssize_t n = y.n1, K = src.shape[src.ndim - 1]
    cdef Py_ssize_t m = src.size // K if K else 0
    cdef cnp.ndarray out = np.empty(shape, src.dtype)
    if out.size != m * n * n:
        raise ValueError(f"cannot shape {m} x {n} x {n} second derivatives as {shape}")
    cdef Unpack c
    c.src = <const char*>cnp.PyArray_DATA(src)
    c.out = <char*>cnp.PyArray_DATA(out)
    c.n = n
    c.K = K
    c.f64 = cnp.PyArray_ITEMSIZE(src) == 8
    run_ranges(unpack_range, &c, m, m * K)   # a batch: rows shared between threads
    return out


ctypedef struct Unpack:
    const char* src
    char* out
    Py_ssize_t n, K
    bint f64


cdef void unpack_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi) of an Unpack (a dj_range_fn for the thread pool)."""
    cdef Unpack* c = <Unpack*>ctx
    cdef Py_ssize_t n = c.n, K = c.K
    if c.f64:
        unpack_loop(<const double*>c.src + lo * K, <double*>c.out + lo * n * n, hi - lo, n, K)
    else:
        unpack_loop(<const float*>c.src + lo * K, <float*>c.out + lo * n * n, hi - lo, n, K)


cdef void unpack_loop(const real* src, real* out, Py_ssize_t m, Py_ssize_t n, Py_ssize_t K) noexcept nogil:
    cdef Py_ssize_t i, j, p, q, s
    cdef Py_ssize_t position[64]     # of H_pq (full n x n order) in a small element
    cdef real* H
    if n <= 8:
        # Few variables (batch Hessians): write each n x n block in order from a
        # table of positions, one sequential run of stores per row; the loops below
        # store out of order.
        for p in range(n):
            for q in range(n):
                i, j = (p, q) if p <= q else (q, p)
                position[p * n + q] = 1 + n + i * n - ((i * (i + 1)) >> 1) + j
        for i in range(m):
            H = out + i * n * n
            for j in range(n * n):
                H[j] = src[position[j]]
            src += K
        return
    for i in range(m):
        H = out + i * n * n
        s = i * K + 1 + n
        for p in range(n):
            for q in range(p, n):
                H[p * n + q] = src[s]
                H[q * n + p] = src[s]
                s += 1


def seed_dual(cnp.ndarray value, Py_ssize_t n, long long tag, uint64_t deps,
              Py_ssize_t first=0, Py_ssize_t lo=0, Py_ssize_t hi=-1, Py_ssize_t period=0):
    """A DualArray for a source: its values, and identity seeds.

    Element i (flat index) is seeded along seed ``first + r - lo`` of n when its
    seed index r = i (or i % period, for per-row batch seeds) is in [lo, hi).
    jacobian: period 0, all elements; a chunk of seeds: [lo, hi) of them;
    batch_jacobian: period = row size, so every row gets the same identity.
    """
    return seeded(value, n, tag, deps, first, lo, hi, period)


cdef DualArray seeded(cnp.ndarray value, Py_ssize_t n, long long tag, uint64_t deps,
                      Py_ssize_t first, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t period):
    cdef cnp.ndarray v = cnp.PyArray_GETCONTIGUOUS(value)  # keeps 0-d (np.ascontiguousarray would not)
    cdef Py_ssize_t m = v.size, K = 1 + n
    if hi < 0:
        hi = m if period == 0 else period
    if first + (hi - lo) > n or lo < 0:
        raise ValueError("seed range does not fit in n seeds")
    return dual_over(seed_buffer(v, K, first, lo, hi, period), tag, deps)


ctypedef struct BlockCopy:
    char* dst
    Py_ssize_t dst_step
    const char* src
    Py_ssize_t src_step
    Py_ssize_t block
    Py_ssize_t itemsize


cdef void copy_block_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Blocks [lo, hi) of a BlockCopy (a dj_range_fn for the thread pool)."""
    cdef BlockCopy* c = <BlockCopy*>ctx
    copy_blocks_serial(c.dst + lo * c.dst_step * c.itemsize, c.dst_step,
                       c.src + lo * c.src_step * c.itemsize, c.src_step,
                       hi - lo, c.block, c.itemsize)


cdef void copy_blocks(char* dst, Py_ssize_t dst_step, const char* src, Py_ssize_t src_step,
                      Py_ssize_t count, Py_ssize_t block, Py_ssize_t itemsize) noexcept:
    """count blocks of `block` items, src_step / dst_step items apart; a large
    copy (a batch's Jacobian) is shared between the pool's threads (GIL held on entry)."""
    cdef BlockCopy c
    c.dst = dst
    c.dst_step = dst_step
    c.src = src
    c.src_step = src_step
    c.block = block
    c.itemsize = itemsize
    run_ranges(copy_block_range, &c, count, count * block)


cdef void copy_blocks_serial(char* dst, Py_ssize_t dst_step, const char* src, Py_ssize_t src_step,
                             Py_ssize_t count, Py_ssize_t block, Py_ssize_t itemsize) noexcept nogil:
    """Typed loops for the usual item sizes: memcpy per tiny block costs a call each."""
    cdef Py_ssize_t i, j
    cdef double* dd
    cdef const double* sd
    cdef float* df
    cdef const float* sf
    if itemsize == 8:
        dd = <double*>dst
        sd = <const double*>src
        for i in range(count):
            for j in range(block):
                dd[i * dst_step + j] = sd[i * src_step + j]
    elif itemsize == 4:
        df = <float*>dst
        sf = <const float*>src
        for i in range(count):
            for j in range(block):
                df[i * dst_step + j] = sf[i * src_step + j]
    else:
        for i in range(count):
            memcpy(dst + i * dst_step * itemsize, src + i * src_step * itemsize, block * itemsize)


def seed_inner(DualArray outer, long long tag, uint64_t deps):
    """An outer-level dual as a hyper-dual whose second seeds are ours: the
    identity over its elements (what a transform nested in another one sweeps)."""
    return inner_seeded(outer, tag, deps)


cdef HyperDualArray inner_seeded(DualArray outer, long long tag, uint64_t deps):
    cdef cnp.ndarray src = contiguous(outer.buf)
    cdef Py_ssize_t n1 = outer.n1, K1 = 1 + n1
    cdef Py_ssize_t m = src.size // K1, n2 = m, K = 1 + n1 + n2 + n1 * n2
    cdef int d
    for d in range(src.ndim - 1):
        _shape_buf[d] = src.shape[d]
    _shape_buf[src.ndim - 1] = K
    cdef cnp.ndarray buf = cnp.PyArray_ZEROS(src.ndim, _shape_buf, cnp.PyArray_TYPE(src), 0)
    cdef Py_ssize_t i, itemsize = cnp.PyArray_ITEMSIZE(src)
    cdef char* b = <char*>cnp.PyArray_DATA(buf)
    copy_blocks(b, K, <char*>cnp.PyArray_DATA(src), K1, m, K1, itemsize)   # value and d1
    if itemsize == 8:
        for i in range(m):
            (<double*>b)[i * K + 1 + n1 + i] = 1
    else:
        for i in range(m):
            (<float*>b)[i * K + 1 + n1 + i] = 1
    cdef HyperDualArray j = HyperDualArray.__new__(HyperDualArray)
    init_jet(j, buf, 2, n1, n2, outer.tag1, tag, jdeps1(outer), deps)
    return j


def inner_derivative(HyperDualArray y, tuple shape):
    """d y / d(inner seeds) as a dual in the outer seeds, buffer shape + (1 + n1,):
    value d2[j], tangent d12[:, j] for every inner seed j."""
    cdef cnp.ndarray src = contiguous(y.buf)
    cdef int d, nd = len(shape)
    if nd + 1 > 64:
        raise ValueError("too many dimensions")
    for d in range(nd):
        _shape_buf[d] = shape[d]
    return inner_derivative_shaped(y, src, nd)


cdef DualArray inner_derivative_shaped(HyperDualArray y, cnp.ndarray src, int nd):
    """inner_derivative for a C-contiguous src = y.buf and the nd dims in _shape_buf."""
    cdef Py_ssize_t n1 = y.n1, n2 = y.n2, K = src.shape[src.ndim - 1], K1 = 1 + n1
    cdef Py_ssize_t m = src.size // K if K else 0
    _shape_buf[nd] = K1
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(nd + 1, _shape_buf, cnp.PyArray_TYPE(src), 0)
    if out.size != m * n2 * K1:
        raise ValueError(f"cannot shape {m} x {n2} derivatives as {(<object>out).shape[:-1]}")
    if cnp.PyArray_ITEMSIZE(src) == 8:
        inner_derivative_loop(<double*>cnp.PyArray_DATA(src), <double*>cnp.PyArray_DATA(out),
                              m, n1, n2, K)
    else:
        inner_derivative_loop(<float*>cnp.PyArray_DATA(src), <float*>cnp.PyArray_DATA(out),
                              m, n1, n2, K)
    return dual_over(out, y.tag1, jdeps1(y))


cdef void inner_derivative_loop(const real* y, real* out, Py_ssize_t m, Py_ssize_t n1,
                                Py_ssize_t n2, Py_ssize_t K) noexcept nogil:
    cdef Py_ssize_t i, j, p, c12 = 1 + n1 + n2, K1 = 1 + n1
    cdef real* o
    for i in range(m):
        for j in range(n2):
            o = out + (i * n2 + j) * K1
            o[0] = y[i * K + 1 + n1 + j]
            for p in range(n1):
                o[1 + p] = y[i * K + c12 + p * n2 + j]


def sum_elements(_Jet a):
    """Sum over every element axis (np.sum(x) of a jet): the buffer's rows added component by
    component in one pass. NumPy's reduction of a (rows, K) buffer over its rows runs an inner
    loop of K numbers per row, 5-10x slower than this for few components, and its rounding
    error grows with the rows; here it grows with their logarithm, as in NumPy's sums of
    contiguous data."""
    cdef cnp.ndarray buf = contiguous(a.buf)
    cdef Py_ssize_t K = buf.shape[buf.ndim - 1], m = buf.size // K if K else 0
    cdef cnp.ndarray out = np.zeros(K, buf.dtype)
    cdef int ok
    if cnp.PyArray_ITEMSIZE(buf) == 8:
        with nogil:
            ok = sum_rows(<double*>cnp.PyArray_DATA(buf), <double*>cnp.PyArray_DATA(out), m, K)
    else:
        with nogil:
            ok = sum_rows(<float*>cnp.PyArray_DATA(buf), <float*>cnp.PyArray_DATA(out), m, K)
    if not ok:
        raise MemoryError("dualjac: no memory for the partial sums of np.sum")
    return new_like(a, out)


# Rows added one after another below this many; halves added pairwise above it.
cdef Py_ssize_t PAIRWISE_ROWS = 128


cdef int sum_rows(const real* buf, real* out, Py_ssize_t m, Py_ssize_t K) noexcept nogil:
    """out += the sum of m rows of K components; 0 when out of memory."""
    cdef Py_ssize_t i, s, half
    cdef real* right
    if m <= PAIRWISE_ROWS:
        for i in range(m):
            for s in range(K):
                out[s] += buf[i * K + s]
        return 1
    half = m // 2
    right = <real*>calloc(K, sizeof(real))
    if right == NULL:
        return 0
    if not (sum_rows(buf, out, half, K) and sum_rows(buf + half * K, right, m - half, K)):
        free(right)
        return 0
    for s in range(K):
        out[s] += right[s]
    free(right)
    return 1


def tangent_as(_Jet y, tuple shape):
    """y's first-order derivatives (seeds last) as a new C-contiguous array of
    ``shape`` (target shape + source shape): the Jacobian, in one copy loop."""
    cdef cnp.ndarray buf = contiguous(y.buf)
    cdef int d, nd = len(shape)
    if nd > 64:
        raise ValueError("too many dimensions")
    for d in range(nd):
        _shape_buf[d] = shape[d]
    return tangent_shaped(y, buf, nd)


cdef cnp.ndarray tangent_shaped(_Jet y, cnp.ndarray buf, int nd):
    """tangent_as for a C-contiguous buf = y.buf and the nd dims in _shape_buf."""
    cdef Py_ssize_t K = buf.shape[buf.ndim - 1], n = y.n1
    cdef Py_ssize_t m = buf.size // K if K else 0
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(buf)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(nd, _shape_buf, cnp.PyArray_TYPE(buf), 0)
    if out.size != m * n:
        raise ValueError(f"cannot shape {m} x {n} derivatives as {(<object>out).shape}")
    copy_blocks(<char*>cnp.PyArray_DATA(out), n, <char*>cnp.PyArray_DATA(buf) + itemsize, K,
                m, n, itemsize)
    return out
