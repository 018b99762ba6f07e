# Where banded jets meet dense code: densifying, reading a banded result out into the
# Jacobian or Hessian, and running f banded (see the design comment of _banded.pxi).

# ------------------------------------------------------------------ to dense

ctypedef struct Band:
    # One banded jet's element -> seed map, walked in C order (see next_base).
    Py_ssize_t offsets[256]
    Py_ssize_t nl, N, Ks
    bint hessian
    int nd
    Py_ssize_t base                   # of the current element
    Py_ssize_t index[64]
    Py_ssize_t shape[64]
    Py_ssize_t step[64]


cdef int band_of(BandedJet b, cnp.ndarray src, Band* band) except -1:
    """band for b, positioned at its first element; src is b's contiguous local buffer."""
    cdef Py_ssize_t i, nl = len(b.offsets)
    cdef int d, nd = b.place.ndim - 1
    if nl > 256 or nd > 64:
        raise ValueError("internal: too many local seeds or dimensions")
    for i in range(nl):
        band.offsets[i] = <Py_ssize_t>b.offsets[i]
    band.nl = nl
    band.N = b.n
    band.Ks = src.shape[src.ndim - 1]
    band.hessian = b.local.order == 3
    band.nd = nd
    band.base = base_of(b)
    for d in range(nd):
        band.index[d] = 0
        band.shape[d] = b.place.shape[d]
        band.step[d] = b.place.strides[d]
    return 0


cdef inline void next_base(Band* band) noexcept nogil:
    """Move band.base to the next element in C order."""
    cdef int d = band.nd - 1
    while d >= 0:
        band.index[d] += 1
        band.base += band.step[d]
        if band.index[d] < band.shape[d]:
            return
        band.base -= band.step[d] * band.index[d]
        band.index[d] = 0
        d -= 1


# A banded jet densified past this many bytes inside its own sweep makes the
# transform run f again another way (the transforms decide: a colored sweep when the
# structure pays, else dense seeds in chunks, peak memory bounded by the chunk).
cdef Py_ssize_t DENSIFY_MAX_BYTES = 32 << 20


def set_densify_limit(Py_ssize_t nbytes):
    """The byte size above which a banded jet is not densified in its sweep (the
    transforms set it); returns the previous limit."""
    global DENSIFY_MAX_BYTES
    previous = DENSIFY_MAX_BYTES
    DENSIFY_MAX_BYTES = nbytes
    return previous


cdef _Jet densified(BandedJet b):
    """The dense jet b stands for, read-only (see "Writes")."""
    cdef Py_ssize_t K = components(b.local.order, b.n)
    if (b.place.size * K * cnp.PyArray_ITEMSIZE(b.local.buf) > DENSIFY_MAX_BYTES
            and in_own_sweep(b)):
        raise NeedsDense("a banded jet too large to densify")
    return dense_of(b, False)


cdef _Jet sum_banded(BandedJet b):
    """np.sum(b): every element's local parts added into one dense element."""
    return dense_of(b, True)


cdef _Jet dense_of(BandedJet b, bint summed):
    """b as a dense jet (read-only), or, summed, the dense sum of its elements."""
    cdef _Jet local = b.local
    cdef Py_ssize_t K = components(local.order, b.n)
    cdef cnp.ndarray src = contiguous(local.buf)
    cdef cnp.npy_intp size = K
    cdef cnp.ndarray out
    if summed:
        out = cnp.PyArray_ZEROS(1, &size, cnp.PyArray_TYPE(src), 0)
    else:
        out = cnp.PyArray_ZEROS(src.ndim, shape_with_last(src, K), cnp.PyArray_TYPE(src), 0)
    scatter_dense(b, src, out, 0 if summed else K)
    if not summed:
        cnp.PyArray_CLEARFLAGS(out, cnp.NPY_ARRAY_WRITEABLE)
    return new_level_like(local, out, b.n)


cdef void scatter_dense(BandedJet b, cnp.ndarray src, cnp.ndarray out, Py_ssize_t step) except *:
    """Add every element of b's contiguous local buffer src into dense components
    of out, `step` items apart (K: one per element; 0: all into one, a sum)."""
    cdef Band band
    band_of(b, src, &band)
    cdef int bad
    if cnp.PyArray_ITEMSIZE(src) == 8:
        bad = dense_loop(&band, <const double*>cnp.PyArray_DATA(src),
                         <double*>cnp.PyArray_DATA(out), step, b.place.size)
    else:
        bad = dense_loop(&band, <const float*>cnp.PyArray_DATA(src),
                         <float*>cnp.PyArray_DATA(out), step, b.place.size)
    if bad:
        raise_band_error()


cdef inline bint outside(Band* band, Py_ssize_t p) noexcept nogil:
    return p < 0 or p >= band.N


cdef int dense_loop(Band* band, const real* src, real* out, Py_ssize_t step, Py_ssize_t m) noexcept nogil:
    """The scatter of scatter_dense. A local seed whose global seed lies outside
    [0, N) (a shifted join's unused slot) must hold zeros; returns 1 if not."""
    cdef Py_ssize_t e, i, j, p, q, nl = band.nl, N = band.N
    cdef const real* s
    cdef real* o
    for e in range(m):
        s = src + e * band.Ks
        o = out + e * step
        o[0] += s[0]
        for i in range(nl):
            p = band.base + band.offsets[i]
            if outside(band, p):
                if slot_is_used(band, s, i):
                    return 1
                continue
            o[1 + p] += s[1 + i]
            if band.hessian:
                for j in range(i, nl):
                    q = band.base + band.offsets[j]
                    if not outside(band, q):
                        o[sym_position(N, p, q)] += s[sym_position(nl, i, j)]
        next_base(band)
    return 0


cdef bint slot_is_used(Band* band, const real* s, Py_ssize_t i) noexcept nogil:
    """Does local seed i of the element at s carry any nonzero derivative?"""
    cdef Py_ssize_t j, nl = band.nl
    if s[1 + i] != 0:
        return True
    if band.hessian:
        for j in range(nl):
            if s[sym_position(nl, min(i, j), max(i, j))] != 0:
                return True
    return False


cdef void raise_band_error() except *:
    raise RuntimeError("dualjac internal error: a banded jet holds a derivative along a "
                       "seed that does not exist. Please report it; "
                       "dj.set_banded_threshold(0) works around it.")


# ------------------------------------------------------------------ read-out

NEEDS_DENSE = object()   # a banded sweep's answer when f must run on dense jets

# The roots of the banded sweeps running now (nested transforms: several).
cdef list ACTIVE_ROOTS = []


def run_banded(f, BandedJet source):
    """f(source), or NEEDS_DENSE when f writes into memory of a banded jet (see
    "Writes"): NeedsDense, or NumPy's ValueError for a read-only destination."""
    ACTIVE_ROOTS.append(source.root)
    try:
        return f(source)
    except NeedsDense:
        return NEEDS_DENSE
    except ValueError as error:
        if "read-only" in str(error):
            return NEEDS_DENSE
        raise
    finally:
        forget_root(source.root)


cdef void forget_root(object root) except *:
    """Remove root (by identity) from ACTIVE_ROOTS: sweeps of other threads may have
    started and ended since it was added, so it need not be the last."""
    cdef Py_ssize_t i
    for i in range(len(ACTIVE_ROOTS) - 1, -1, -1):
        if ACTIVE_ROOTS[i] is root:
            del ACTIVE_ROOTS[i]
            return


cdef bint in_own_sweep(BandedJet b):
    """Is the sweep that made b running (so NeedsDense reaches its run_banded)?"""
    for root in ACTIVE_ROOTS:
        if root is b.root:
            return True
    return False


cdef object write_error(BandedJet b, str what):
    """NeedsDense inside b's own sweep (which then runs f dense); outside it (a jet
    kept after its transform returned) a TypeError that says what to do."""
    if in_own_sweep(b):
        return NeedsDense(what + " into a banded jet")
    return TypeError(f"dualjac: {what} into a BandedJet outside the transform that made "
                     "it; write into b.densify().copy() instead.")


cdef object banded_jacobian_sweep(f, cnp.ndarray a, bint block_cache):
    """banded_jacobian's sweep; NEEDS_DENSE if f must run dense. Large sources run with the
    block cache (the transforms ask for it, as for their large sweeps): their temporaries
    would otherwise be mapped and page-faulted at every operation."""
    cdef long long tag = hold_new_tag(TRANSFORM_JACOBIAN)
    cdef object previous = use_block_cache() if block_cache else None
    cdef object out = None
    try:
        out = banded_jacobian_read(run_banded(f, seed_banded(a, tag, 0)), tag, a)
        return out
    finally:
        if type(out) is not Unfinished:
            release(tag)
        if previous is not None:
            restore_memory_handler(previous)


cdef object banded_jacobian_read(object out, long long tag, cnp.ndarray a):
    cdef BandedJet y
    cdef _Jet d
    if out is NEEDS_DENSE:
        return out
    if type(out) is BandedJet:
        y = <BandedJet>out
        if y.local.order == 1 and y.local.tag1 == tag:
            return in_source_dtype(
                banded_jacobian(y, (<object>y.place).shape[:-1] + (<object>a).shape), a)
        out = densified(y)
    if type(out) is DualArray:
        d = <_Jet>out
        if d.tag1 == tag and jdeps1(d):
            return in_source_dtype(tangent_as(d, d.shape + (<object>a).shape), a)
    return unfinished(out, (tag,))


def banded_jacobian(BandedJet y, tuple shape):
    """The Jacobian of a banded dual target as a new array of ``shape``
    (target shape + source shape)."""
    cdef cnp.ndarray src = contiguous(y.local.buf)
    cdef cnp.ndarray out = np.zeros(shape, src.dtype)
    if out.size != y.place.size * y.n:
        raise ValueError(f"cannot shape {y.place.size} x {y.n} derivatives as {shape}")
    derivative_parts(y, src, out, None)
    return out


def banded_hessian(BandedJet y, tuple shape):
    """(gradient parts Y + (n,), Hessians of ``shape`` = Y + (n, n) reshaped) of a
    banded Hessian target."""
    cdef cnp.ndarray src = contiguous(y.local.buf)
    cdef cnp.ndarray grad = np.zeros((<object>y.place).shape[:-1] + (y.n,), src.dtype)
    cdef cnp.ndarray H = np.zeros(shape, src.dtype)
    if H.size != y.place.size * y.n * y.n:
        raise ValueError(f"cannot shape {y.place.size} x {y.n} x {y.n} derivatives as {shape}")
    derivative_parts(y, src, grad, H)
    return grad, H


cdef cnp.ndarray banded_hessian_only(BandedJet y, tuple shape):
    """banded_hessian's second derivatives alone (dj.hessian's fast path)."""
    cdef cnp.ndarray src = contiguous(y.local.buf)
    cdef cnp.ndarray H = np.zeros(shape, src.dtype)
    derivative_parts(y, src, None, H)
    return H


cdef void derivative_parts(BandedJet y, cnp.ndarray src, object grad, object H) except *:
    """First derivatives into grad (M x N) and the full symmetric second ones into
    H (M x N x N), each when given (not None), from y's contiguous local buffer src."""
    cdef Band band
    band_of(y, src, &band)
    cdef char* h = <char*>cnp.PyArray_DATA(<cnp.ndarray>H) if H is not None else NULL
    cdef char* g = <char*>cnp.PyArray_DATA(<cnp.ndarray>grad) if grad is not None else NULL
    cdef int bad
    if cnp.PyArray_ITEMSIZE(src) == 8:
        bad = parts_loop(&band, <const double*>cnp.PyArray_DATA(src),
                         <double*>g, <double*>h, y.place.size)
    else:
        bad = parts_loop(&band, <const float*>cnp.PyArray_DATA(src),
                         <float*>g, <float*>h, y.place.size)
    if bad:
        raise_band_error()


cdef int parts_loop(Band* band, const real* src, real* grad, real* H, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t e, i, j, p, q, nl = band.nl, N = band.N
    cdef const real* s
    cdef real h
    for e in range(m):
        s = src + e * band.Ks
        for i in range(nl):
            p = band.base + band.offsets[i]
            if outside(band, p):
                if slot_is_used(band, s, i):
                    return 1
                continue
            if grad != NULL:
                grad[e * N + p] += s[1 + i]
            if H != NULL:
                for j in range(i, nl):
                    q = band.base + band.offsets[j]
                    if outside(band, q):
                        continue
                    h = s[sym_position(nl, i, j)]
                    H[(e * N + p) * N + q] += h
                    if q != p:
                        H[(e * N + q) * N + p] += h
        next_base(band)
    return 0


# ------------------------------------------------------------------ meeting other code

def dense_leaf(x):
    """x itself, or the dense jet a BandedJet or DeferredJet stands for (for code
    that reads jets: a transform nested in f, a tape)."""
    if type(x) is BandedJet:
        return densified(<BandedJet>x)
    if type(x) is DeferredJet:
        return computed(<DeferredJet>x)
    return x


cdef bint holds_banded(object x):
    """Is there a stand-in jet (BandedJet, DeferredJet, DeferredTranspose) in x (or in
    its tuples, lists, dicts)?"""
    cdef type t = type(x)
    if t is BandedJet or t is DeferredJet or t is DeferredTranspose:
        return True
    if t is tuple or t is list:
        for v in x:
            if holds_banded(v):
                return True
    elif t is dict:
        for v in (<dict>x).values():
            if holds_banded(v):
                return True
    return False
