# Sums along one element axis of a jet (np.sum / np.mean of x with axis=i).
#
# The buffer of a (b, 3) jet is (b, 3, K); NumPy reduces its middle axis with an
# inner loop of K numbers per step, ~5-15x slower than an elementwise kernel on
# the same buffer. Here the buffer is seen as (outer, n, inner) and each output
# block of `inner` numbers is the sum of its n input blocks, added in order into
# a zeroed block: NumPy's order too (the identity 0.0, then every element along the
# axis), so the results have its bits, the sign of zero included. One exception
# keeps NumPy's own loop: inner == 1 (a jet without seeds summed along its last
# axis), where NumPy's inner loop runs along the axis with pairwise summation.


ctypedef struct AxisSum:
    char* src
    char* dst
    Py_ssize_t n
    Py_ssize_t inner
    bint f64


def sum_along_axis(_Jet a, int axis, bint keepdims):
    """np.sum(a, axis=axis, keepdims=keepdims) for one normalized element axis, with
    NumPy's bits; None when NumPy's own loop is kept (a buffer that is not
    C-contiguous, inner == 1)."""
    cdef cnp.ndarray buf = a.buf
    cdef int nd = buf.ndim, d
    cdef Py_ssize_t outer = 1, inner = 1, n = buf.shape[axis]
    if not cnp.PyArray_IS_C_CONTIGUOUS(buf) or not 0 <= axis < nd - 1:
        return None
    for d in range(axis):
        outer *= buf.shape[d]
    for d in range(axis + 1, nd):
        inner *= buf.shape[d]
    if inner <= 1:
        return None
    shape = list((<object>buf).shape)
    if keepdims:
        shape[axis] = 1
    else:
        del shape[axis]
    cdef cnp.ndarray out = np.zeros(shape, buf.dtype)
    cdef AxisSum job
    job.src = <char*>cnp.PyArray_DATA(buf)
    job.dst = <char*>cnp.PyArray_DATA(out)
    job.n = n
    job.inner = inner
    job.f64 = cnp.PyArray_TYPE(buf) == cnp.NPY_DOUBLE
    run_ranges(axis_sum_range, &job, outer, outer * n * inner)
    return new_like(a, out)


cdef void axis_sum_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Output blocks [lo, hi) of an AxisSum (a dj_range_fn for the thread pool)."""
    cdef AxisSum* job = <AxisSum*>ctx
    cdef Py_ssize_t z = 8 if job.f64 else 4, block = job.n * job.inner
    if job.f64:
        add_blocks(<const double*>(job.src + lo * block * z), <double*>(job.dst + lo * job.inner * z),
                   hi - lo, job.n, job.inner)
    else:
        add_blocks(<const float*>(job.src + lo * block * z), <float*>(job.dst + lo * job.inner * z),
                   hi - lo, job.n, job.inner)


cdef void add_blocks(const real* src, real* dst, Py_ssize_t count, Py_ssize_t n,
                     Py_ssize_t inner) noexcept nogil:
    """dst[j] += src[j, i] for i in order, for count output blocks of `inner` numbers."""
    cdef Py_ssize_t j, i, k
    cdef const real* s
    cdef real* d
    for j in range(count):
        d = dst + j * inner
        for i in range(n):
            s = src + (j * n + i) * inner
            for k in range(inner):
                d[k] += s[k]
