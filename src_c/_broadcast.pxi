# Broadcasting binary kernels: operands of different shapes ((b, 1) with (b, 3),
# (3,) with (b, 3), (3, 1) with (1, n), a parameter jet against a data array) read
# in place over a grid of the result's shape, instead of being copied out to it.
#
# The generated binary kernels run `rows` rows of `count` elements, each operand
# with an element stride and a row stride (0 along an axis it is broadcast over);
# KernelCall adds planes for the axes beyond two (src_c/_drivers.pxi). Adjacent
# axes along which both operands advance evenly are merged first, so most
# patterns become one or two axes: (b, 1) * (b, 3) is b rows of 3 with element
# strides 0 and K. Every element does the arithmetic of the same-shape kernel, so
# a result has the bits of the same operation on np.broadcast_to(...).copy()
# operands (tests/test_broadcast_kernels.py).

cdef cnp.ndarray broadcast_binary(int idx, int variant, _Jet level, cnp.ndarray x,
                                  cnp.ndarray y, Py_ssize_t K):
    """The buffer of x (op) y over their broadcast element shape (variant 0: two jet
    buffers, 1: jet and constant, 2: constant and jet; same dtype, native byte
    order), the operands read where they are. NumPy's error for shapes that do not
    broadcast."""
    cdef bint x_jet = variant != 2, y_jet = variant != 1
    x = kernel_readable(x, x_jet)
    y = kernel_readable(y, y_jet)
    cdef int xnd = x.ndim - x_jet, ynd = y.ndim - y_jet
    cdef int nd = max(xnd, ynd), d
    if nd + 1 > 64:                  # (NumPy's limit on axes)
        raise too_many_dimensions(nd)
    cdef cnp.npy_intp shape[64]
    cdef Py_ssize_t sx[64]
    cdef Py_ssize_t sy[64]
    if not broadcast_shape(x, xnd, y, ynd, nd, shape):
        np.broadcast_shapes((<object>x).shape[:xnd], (<object>y).shape[:ynd])   # raises
        raise ValueError("dualjac: operands could not be broadcast together")    # (not reached)
    shape[nd] = K
    cdef cnp.ndarray out = new_buffer(nd + 1, shape, cnp.PyArray_TYPE(x))
    cdef Py_ssize_t m = 1
    for d in range(nd):
        m *= shape[d]
    if m == 0 or K == 0:
        return out
    element_strides(x, xnd, nd, sx)
    element_strides(y, ynd, nd, sy)
    cdef KernelCall call
    prepare_binary(&call, idx, variant, level, out)
    call.a = <char*>cnp.PyArray_DATA(x)
    call.b = <char*>cnp.PyArray_DATA(y)
    set_grid(&call, nd, shape, sx, sy)
    run_kernel(&call, m)
    return out


cdef cnp.ndarray kernel_readable(cnp.ndarray buf, bint jet):
    """buf itself when a kernel can walk it by item strides (aligned, every stride
    a multiple of the item size, a jet's components contiguous), else a copy."""
    cdef Py_ssize_t z = cnp.PyArray_ITEMSIZE(buf)
    cdef int d
    if cnp.PyArray_IS_C_CONTIGUOUS(buf):
        return buf
    if not cnp.PyArray_ISALIGNED(buf):
        return np.ascontiguousarray(buf)
    if jet and buf.shape[buf.ndim - 1] > 1 and buf.strides[buf.ndim - 1] != z:
        return np.ascontiguousarray(buf)
    for d in range(buf.ndim):
        if buf.strides[d] % z:
            return np.ascontiguousarray(buf)
    return buf


cdef bint broadcast_shape(cnp.ndarray x, int xnd, cnp.ndarray y, int ynd, int nd,
                          cnp.npy_intp* shape) noexcept:
    """The broadcast of x's first xnd and y's first ynd axes (NumPy's rule) into
    shape[0:nd]; False when they do not broadcast."""
    cdef int d, kx, ky
    cdef Py_ssize_t dx, dy
    for d in range(nd):
        kx = d - (nd - xnd)
        ky = d - (nd - ynd)
        dx = x.shape[kx] if kx >= 0 else 1
        dy = y.shape[ky] if ky >= 0 else 1
        if dx == dy or dy == 1:
            shape[d] = dx
        elif dx == 1:
            shape[d] = dy
        else:
            return False
    return True


cdef void element_strides(cnp.ndarray buf, int bnd, int nd, Py_ssize_t* strides) noexcept:
    """buf's strides in items along the nd axes of the result (its first bnd axes
    right-aligned to them): 0 along an axis buf is broadcast over."""
    cdef int d, k
    cdef Py_ssize_t z = cnp.PyArray_ITEMSIZE(buf)
    for d in range(nd):
        k = d - (nd - bnd)
        strides[d] = buf.strides[k] // z if k >= 0 and buf.shape[k] != 1 else 0


cdef void set_grid(KernelCall* c, int nd, const cnp.npy_intp* full_shape,
                   const Py_ssize_t* full_sx, const Py_ssize_t* full_sy) noexcept:
    """c's grid over a result of full_shape (no zero in it) with the operands'
    element strides: axes of length 1 dropped, an axis merged into the one
    before it when both operands step across the pair evenly, then the last
    axis is a row, the one before the rows, the others planes."""
    cdef Py_ssize_t shape[64]
    cdef Py_ssize_t sx[64]
    cdef Py_ssize_t sy[64]
    cdef int d, n = 0
    for d in range(nd):
        if full_shape[d] == 1:
            continue
        if n and sx[n - 1] == full_sx[d] * full_shape[d] and sy[n - 1] == full_sy[d] * full_shape[d]:
            shape[n - 1] *= full_shape[d]
            sx[n - 1] = full_sx[d]
            sy[n - 1] = full_sy[d]
        else:
            shape[n] = full_shape[d]
            sx[n] = full_sx[d]
            sy[n] = full_sy[d]
            n += 1
    flat_grid(c, 1)
    c.sa = c.sb = 0
    if n >= 1:
        c.inner = shape[n - 1]
        c.sa = sx[n - 1]
        c.sb = sy[n - 1]
    if n >= 2:
        c.rows = shape[n - 2]
        c.ra = sx[n - 2]
        c.rb = sy[n - 2]
        c.plane_nd = n - 2
    for d in range(c.plane_nd):
        c.plane_shape[d] = shape[d]
        c.plane_sa[d] = sx[d]
        c.plane_sb[d] = sy[d]
