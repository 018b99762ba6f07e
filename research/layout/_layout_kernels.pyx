# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Layout micro-benchmark kernels for dualjac.

Layout A (interleaved): one C-contiguous buffer, shape S + (1+n,):
    buf[..., 0] = value, buf[..., 1:] = partials.
Layout B (separate): value v (shape S) and tangent t (shape S + (n,)).

Every public op allocates its output(s) with PyArray_EMPTY and wraps them in a
tiny cdef class, so the timings include what a real dual-array type pays per op.
Optional ``out`` lets measure.py time the bare kernel (no allocation).
"""
cimport numpy as cnp
from cython cimport floating
from libc.math cimport sin as dsin, cos as dcos, sinf, cosf

cnp.import_array()


cdef class DualA:
    cdef public cnp.ndarray buf          # shape S + (1+n,)
    def __init__(self, buf):
        self.buf = buf


cdef class DualB:
    cdef public cnp.ndarray v            # shape S
    cdef public cnp.ndarray t            # shape S + (n,)
    def __init__(self, v, t):
        self.v = v
        self.t = t


# ---------------------------------------------------------------- helpers
cdef inline cnp.ndarray _empty_like(cnp.ndarray x):
    # C-contiguous, same shape/dtype; the cheapest NumPy allocation path
    return <cnp.ndarray>cnp.PyArray_EMPTY(cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x),
                                          cnp.PyArray_TYPE(x), 0)

cdef inline DualA _wrap_a(cnp.ndarray buf):
    # fast construction (tp_new + attribute set, no Python-level __init__ call)
    cdef DualA d = DualA.__new__(DualA, buf)
    d.buf = buf
    return d

cdef inline DualB _wrap_b(cnp.ndarray v, cnp.ndarray t):
    cdef DualB d = DualB.__new__(DualB, v, t)
    d.v = v; d.t = t
    return d

cdef inline void _check(cnp.ndarray x, cnp.ndarray y) except *:
    # minimal validation a real library would also do
    if not (cnp.PyArray_SAMESHAPE(x, y) and cnp.PyArray_TYPE(x) == cnp.PyArray_TYPE(y)
            and cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_IS_C_CONTIGUOUS(y)):
        raise ValueError("shape/dtype/contiguity mismatch")


# ------------------------------------------------------ point kernels (nogil)
# A: N elements, stride m = 1+n
cdef void _mul_a(const floating* a, const floating* b, floating* o,
                 Py_ssize_t N, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, s
    cdef floating av, bv
    for i in range(N):
        av = a[0]; bv = b[0]
        o[0] = av * bv
        for s in range(1, m):
            o[s] = av * b[s] + bv * a[s]
        a += m; b += m; o += m

cdef void _sin_a(const floating* a, floating* o, Py_ssize_t N, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, s
    cdef floating c
    for i in range(N):
        if floating is double:
            o[0] = dsin(a[0]); c = dcos(a[0])
        else:
            o[0] = sinf(a[0]); c = cosf(a[0])
        for s in range(1, m):
            o[s] = c * a[s]
        a += m; o += m

# B: N elements, n partials each (values and tangents in separate buffers)
cdef void _mul_b(const floating* av, const floating* at, const floating* bv,
                 const floating* bt, floating* ov, floating* ot,
                 Py_ssize_t N, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, s
    cdef floating x, y
    for i in range(N):
        x = av[i]; y = bv[i]
        ov[i] = x * y
        for s in range(n):
            ot[s] = x * bt[s] + y * at[s]
        at += n; bt += n; ot += n

cdef void _sin_b(const floating* av, const floating* at, floating* ov, floating* ot,
                 Py_ssize_t N, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, s
    cdef floating c
    for i in range(N):
        if floating is double:
            ov[i] = dsin(av[i]); c = dcos(av[i])
        else:
            ov[i] = sinf(av[i]); c = cosf(av[i])
        for s in range(n):
            ot[s] = c * at[s]
        at += n; ot += n


# ------------------------------------------------------------ Python API: A
def mul_a(DualA a, DualA b, DualA out=None):
    cdef cnp.ndarray x = a.buf, y = b.buf, o
    _check(x, y)
    o = _empty_like(x) if out is None else out.buf
    cdef Py_ssize_t m = cnp.PyArray_DIM(x, cnp.PyArray_NDIM(x) - 1)
    cdef Py_ssize_t N = cnp.PyArray_SIZE(x) // m
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT64:
        with nogil:
            _mul_a(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(y),
                   <double*>cnp.PyArray_DATA(o), N, m)
    else:
        with nogil:
            _mul_a(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(y),
                   <float*>cnp.PyArray_DATA(o), N, m)
    return _wrap_a(o) if out is None else out

def sin_a(DualA a):
    cdef cnp.ndarray x = a.buf, o = _empty_like(x)
    cdef Py_ssize_t m = cnp.PyArray_DIM(x, cnp.PyArray_NDIM(x) - 1)
    cdef Py_ssize_t N = cnp.PyArray_SIZE(x) // m
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT64:
        with nogil:
            _sin_a(<double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(o), N, m)
    else:
        with nogil:
            _sin_a(<float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(o), N, m)
    return _wrap_a(o)

def cube_a(DualA x):
    """x*x*x as two mul calls (the seed_cube_2x2 benchmark case)."""
    return mul_a(mul_a(x, x), x)


# ------------------------------------------------------------ Python API: B
def mul_b(DualB a, DualB b, DualB out=None):
    cdef cnp.ndarray av = a.v, at = a.t, bv = b.v, bt = b.t, ov, ot
    _check(av, bv); _check(at, bt)
    if out is None:
        ov = _empty_like(av); ot = _empty_like(at)
    else:
        ov = out.v; ot = out.t
    cdef Py_ssize_t N = cnp.PyArray_SIZE(av)
    cdef Py_ssize_t n = cnp.PyArray_DIM(at, cnp.PyArray_NDIM(at) - 1)
    if cnp.PyArray_TYPE(av) == cnp.NPY_FLOAT64:
        with nogil:
            _mul_b(<double*>cnp.PyArray_DATA(av), <double*>cnp.PyArray_DATA(at),
                   <double*>cnp.PyArray_DATA(bv), <double*>cnp.PyArray_DATA(bt),
                   <double*>cnp.PyArray_DATA(ov), <double*>cnp.PyArray_DATA(ot), N, n)
    else:
        with nogil:
            _mul_b(<float*>cnp.PyArray_DATA(av), <float*>cnp.PyArray_DATA(at),
                   <float*>cnp.PyArray_DATA(bv), <float*>cnp.PyArray_DATA(bt),
                   <float*>cnp.PyArray_DATA(ov), <float*>cnp.PyArray_DATA(ot), N, n)
    return _wrap_b(ov, ot) if out is None else out

def sin_b(DualB a):
    cdef cnp.ndarray av = a.v, at = a.t
    cdef cnp.ndarray ov = _empty_like(av), ot = _empty_like(at)
    cdef Py_ssize_t N = cnp.PyArray_SIZE(av)
    cdef Py_ssize_t n = cnp.PyArray_DIM(at, cnp.PyArray_NDIM(at) - 1)
    if cnp.PyArray_TYPE(av) == cnp.NPY_FLOAT64:
        with nogil:
            _sin_b(<double*>cnp.PyArray_DATA(av), <double*>cnp.PyArray_DATA(at),
                   <double*>cnp.PyArray_DATA(ov), <double*>cnp.PyArray_DATA(ot), N, n)
    else:
        with nogil:
            _sin_b(<float*>cnp.PyArray_DATA(av), <float*>cnp.PyArray_DATA(at),
                   <float*>cnp.PyArray_DATA(ov), <float*>cnp.PyArray_DATA(ot), N, n)
    return _wrap_b(ov, ot)

def cube_b(DualB x):
    return mul_b(mul_b(x, x), x)
