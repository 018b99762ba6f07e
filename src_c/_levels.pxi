# Levels: bringing jets of different transforms (tags, orders, seeds) to one level
# before they combine, and the errors when they cannot.

# ------------------------------------------------------------------ levels

cdef inline bint same_level(_Jet a, _Jet b):
    return (a.order == b.order and a.tag1 == b.tag1 and a.tag2 == b.tag2
            and a.n1 == b.n1 and a.n2 == b.n2)


cdef str level_name(_Jet a):
    if a.order == 1:
        return f"dual(tag {a.tag1})"
    if a.order == 3:
        return f"Hessian hyper-dual(tags {a.tag1}, {a.tag2})"
    return f"hyper-dual(tags {a.tag1}, {a.tag2})"


cdef object nesting_error(_Jet a, _Jet b):
    return NotImplementedError(
        f"dualjac: cannot combine a {level_name(a)} with a {level_name(b)}: that needs "
        "a third level of nested differentiation, and dualjac supports two (hyper-dual "
        "numbers give exact second derivatives). Compute third derivatives by "
        "differentiating a hessian numerically, or restructure to two levels.")


cdef dict seed_groups(_Jet a):
    """{tag: seed count} of a jet's levels."""
    if a.order == 1:
        return {a.tag1: a.n1}
    return {a.tag1: a.n1, a.tag2: a.n2}


cdef _Jet join_level(_Jet a, _Jet b):
    """A jet (or zero-size prototype) of the lowest level holding both a and b.

    Seeds of one tag form a prefix-ordered space: a tape that watches a second
    source gives it seeds after the first one's, so a jet with fewer seeds of a
    tag is the same jet with zeros in the seeds it lacks. Different tags nest:
    two tags make a hyper-dual (outer = older tag first); three are refused.
    """
    if same_level(a, b):
        return a
    check_meeting(a, b)             # stale, foreign or misplaced standalone tags
    if a.order == 3 or b.order == 3:
        raise nesting_error(a, b)   # a Hessian sweep meets only its own seeds
    cdef dict groups = seed_groups(a)
    for tag, n in seed_groups(b).items():
        groups[tag] = max(n, groups.get(tag, 0))
    if len(groups) > 2:
        raise nesting_error(a, b)
    tags = sorted(groups)
    dtype = a.buf.dtype
    if len(tags) == 1:
        proto = make_dual(np.empty((0, 1 + groups[tags[0]]), dtype), tags[0], 0)
    else:
        n1, n2 = groups[tags[0]], groups[tags[1]]
        proto = make_hyper(np.empty((0, 1 + n1 + n2 + n1 * n2), dtype), n1, n2,
                           tags[0], tags[1], 0, 0)
    if same_level(proto, a):
        return a
    if same_level(proto, b):
        return b
    return proto


cdef extern from "Python.h":
    ctypedef struct PyTypeObject_ "PyTypeObject":
        pass
    void Py_SET_TYPE(object, PyTypeObject_*)


cdef void raise_level_in_place(_Jet a, _Jet other) except *:
    """Make a hold other's seeds too, keeping its identity: storing a hyper-dual
    (or a wider dual) into an array created at a lower level, as in
    `out = np.zeros_like(x); out[0] = p * x[0]` with p from an outer transform.
    DualArray and HyperDualArray share one C layout (_Jet's), so changing the
    type is safe; views taken of a before this keep the old buffer."""
    cdef _Jet level = join_level(a, other)
    if same_level(a, level):
        return
    if a.owner is not None or a.nviews:
        raise ValueError(
            f"dualjac: cannot store a {level_name(other)} into a {level_name(a)} that "
            "shares its memory with other arrays (a slice, reshape or other view of it, "
            "or it is one): its buffer must grow to hold the new seeds, and the other "
            "views would not see the write. Create the array at the higher level, e.g. "
            "np.zeros_like(value) for the value you store, or take the views after "
            "storing.")
    cdef _Jet lifted = lift_to(a, level)
    a.buf = lifted.buf
    a.order, a.n1, a.n2 = lifted.order, lifted.n1, lifted.n2
    a.tag1, a.tag2 = lifted.tag1, lifted.tag2
    set_deps(a, jdeps1(lifted), jdeps2(lifted))
    new_type = type(lifted)       # a static type: no reference counting needed
    Py_SET_TYPE(a, <PyTypeObject_*>new_type)


cdef _Jet lift_to(_Jet a, _Jet level):
    """a re-laid out at ``level``: each of a's seed blocks placed at the start of
    the level's block of the same tag, zeros elsewhere (a dual becomes a
    hyper-dual with zero second parts; a narrower jet gets zero extra seeds)."""
    if same_level(a, level):
        return a
    if a.order == 3 or level.order == 3:
        raise nesting_error(a, level)
    cdef dict target = seed_groups(level)
    for tag, n in seed_groups(a).items():
        if tag not in target or target[tag] < n:
            raise nesting_error(a, level)
    cdef Py_ssize_t N1 = level.n1, N2 = level.n2
    cdef Py_ssize_t K = 1 + N1 if level.order == 1 else 1 + N1 + N2 + N1 * N2
    shape = (<object>a.buf).shape[:-1]
    buf = np.zeros(shape + (K,), a.buf.dtype)
    buf[..., 0] = a.buf[..., 0]
    deps = [0, 0]
    starts = {level.tag1: 1}
    if level.order == 2:
        starts[level.tag2] = 1 + N1
    # first-order blocks
    src = 1
    for slot, (tag, n) in enumerate(((a.tag1, a.n1), (a.tag2, a.n2))[:a.order]):
        buf[..., starts[tag]:starts[tag] + n] = a.buf[..., src:src + n]
        deps[0 if tag == level.tag1 else 1] |= (jdeps1(a), jdeps2(a))[slot]
        src += n
    if a.order == 2:  # the cross block, at the top-left of the level's
        cross = buf[..., 1 + N1 + N2:].reshape(shape + (N1, N2))
        cross[..., :a.n1, :a.n2] = a.buf[..., src:].reshape(shape + (a.n1, a.n2))
    if level.order == 1:
        return make_dual(buf, level.tag1, deps[0])
    return make_hyper(buf, N1, N2, level.tag1, level.tag2, deps[0], deps[1])


cdef cnp.ndarray constant_buffer(object c, _Jet level, object dtype):
    """A plain constant as a buffer of ``level``: the value, zero derivatives."""
    arr = np.asarray(c)
    check_constant(arr)
    buf = np.zeros(arr.shape + (level.buf.shape[level.buf.ndim - 1],), dtype)
    buf[..., 0] = arr
    return buf


cdef inline void check_constant(object arr) except *:
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"dualjac: cannot combine a dual array with an array of dtype {arr.dtype}; "
            "dualjac differentiates real floating-point code (float32 / float64).")


cdef object plain_value(object x):
    if isinstance(x, _Jet):
        return (<_Jet>x).buf[..., 0]
    if isinstance(x, _JetProtocol):
        return (<_JetProtocol>x)._values("comparison")
    return x


def unify(items):
    """Bring jets and plain constants to one level and dtype.

    Returns (prototype jet, [buffer per item], deps1, deps2): every buffer is
    item.shape + (K,) at the prototype's level, constants with zero derivatives.
    The Python dispatch layer uses this before applying an operation to buffers.
    """
    cdef _Jet proto = None, j
    cdef uint64_t deps1 = 0, deps2 = 0
    cdef bint uniform = True     # all jets of one level and dtype: nothing to convert
    for item in items:
        if isinstance(item, _Jet):
            j = <_Jet>item
            if proto is None:
                proto = j
            elif not same_level(proto, j) or j.buf.descr.type_num != proto.buf.descr.type_num:
                uniform = False
                proto = join_level(proto, j)
        else:
            uniform = False
    if proto is None:
        raise TypeError("dualjac: unify needs at least one dual array")
    if uniform:
        for item in items:
            deps1 |= jdeps1((<_Jet>item))
            deps2 |= jdeps2((<_Jet>item))
        return proto, [(<_Jet>item).buf for item in items], deps1, deps2
    # A list constant is an array (np.result_type would read it as a dtype spec); a Python
    # scalar stays one, so that it promotes weakly (NEP 50: float32 jets stay float32).
    dtype = np.result_type(*[(<_Jet>x).buf.dtype if isinstance(x, _Jet)
                             else np.asarray(x) if isinstance(x, (list, tuple)) else x
                             for x in items])
    check_float_dtype(dtype)
    bufs = []
    for item in items:
        if isinstance(item, _Jet):
            j = lift_to(<_Jet>item, proto)
            deps1 |= jdeps1(j)
            deps2 |= jdeps2(j)
            bufs.append(j.buf if j.buf.dtype == dtype else j.buf.astype(dtype))
        else:
            bufs.append(constant_buffer(item, proto, dtype))
    return proto, bufs, deps1, deps2


cdef inline void check_float_dtype(object dtype) except *:
    if dtype != np.float64 and dtype != np.float32:
        raise TypeError(
            f"dualjac: the result would have dtype {dtype}; dual arrays hold float32 "
            "or float64 (complex and extended precision are not supported).")
