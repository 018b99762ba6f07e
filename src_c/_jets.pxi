# The jet types: DualArray and HyperDualArray over one buffer S + (K,), on the common
# base of every jet kind (_protocol.pxi).

# ------------------------------------------------------------------ the types

cdef class _JetProtocol
cdef class BandedJet(_JetProtocol)     # src_c/_banded.pxi
cdef class DeferredJet(_JetProtocol)   # src_c/_deferred.pxi

include "_protocol.pxi"


cdef class _Jet(_JetProtocol):
    """Common base of DualArray and HyperDualArray (see the module docstring)."""
    cdef readonly cnp.ndarray buf
    cdef readonly int order
    cdef readonly Py_ssize_t n1, n2
    cdef readonly long long tag1, tag2
    cdef uint64_t conn1, conn2      # connectivity, when this jet owns its memory
    cdef _Jet owner                 # the jet whose memory this one views, or None
    cdef Py_ssize_t nviews          # live jets that view this one's memory

    __array_priority__ = 1000.0

    @property
    def deps1(self):
        """Bit mask of the outer level's sources this array's memory depends on."""
        return jdeps1(self)

    @property
    def deps2(self):
        """Bit mask of the inner level's sources this array's memory depends on."""
        return jdeps2(self)

    # -- shape and values
    @property
    def shape(self):
        return (<object>self.buf).shape[:-1]

    @property
    def ndim(self):
        return self.buf.ndim - 1

    @property
    def size(self):
        return self.buf.size // self.buf.shape[self.buf.ndim - 1]

    @property
    def dtype(self):
        return self.buf.dtype

    @property
    def degree(self):
        """The derivative order carried: 1 (dual) or 2 (hyper-dual, either layout)."""
        return 1 if self.order == 1 else 2

    @property
    def ncomponents(self):
        return self.buf.shape[self.buf.ndim - 1]

    @property
    def value(self):
        """The plain values (a read-only view; derivatives are dropped)."""
        v = self.buf[..., 0]
        v.flags.writeable = False
        return v

    # -- what the jet protocol (src_c/_protocol.pxi) asks of a kind
    cpdef object _binary(self, int op, object a, object b):
        return binary_op(op, a, b)

    cpdef object _unary(self, int op):
        return unary_op(op, self)

    cpdef object _values(self, str use):
        return self.buf[..., 0]

    cpdef object _dense(self):
        return self

    cpdef object _update(self, int op, object other, str spelling):
        other = in_place_operand(other)
        if op == IN_PLACE_FLOORDIV:
            return self._assign_result(np.floor_divide(self, other), spelling)
        if op == IN_PLACE_MOD:
            return self._assign_result(np.remainder(self, other), spelling)
        if op == IN_PLACE_MATMUL:
            return self._assign_result(np.matmul(self, other), spelling)
        return self._assign_result(binary_op(op, self, other), spelling)

    # -- NumPy protocols
    __array_ufunc__ = UFUNC_ENTRY    # see _UfuncEntry

    def __array_function__(self, func, types, args, kwargs):
        cdef object result
        if ((func is NP_STACK or func is NP_CONCATENATE)
                and type(args) is tuple and type(kwargs) is dict):
            result = fast_join(func is NP_STACK, args, kwargs)
            if result is not None:
                return result
        if holds_banded(args) or holds_banded(kwargs):
            if BandedJet in types or DeferredJet in types or DeferredTranspose in types:
                return NotImplemented     # the stand-in's __array_function__ densifies, calls again
            # NumPy asks no stand-in when its dispatcher skips that argument
            # (np.fill_diagonal's val): densify them here
            args, kwargs = dense_tree(args), dense_tree(kwargs)
        # self is passed too: for NEP 35 creation (np.zeros(n, like=x)) it is `like`.
        return _Hooks.array_function(self, func, types, args, kwargs)

    def _assign_result(self, result, str op):
        if result is NotImplemented:
            raise TypeError(f"dualjac: `x {op} y` cannot update the dual array x in place "
                            "with this operand; write `x = x op y` if a new array is meant.")
        cdef _Jet r = <_Jet>result
        if (<object>r.buf).shape[:-1] != (<object>self.buf).shape[:-1]:
            raise ValueError(
                f"dualjac: `x {op} y` cannot update x in place: the result has shape "
                f"{r.shape}, x has shape {self.shape} (NumPy raises here too).")
        if not same_level(self, r):
            raise_level_in_place(self, r)
        self.buf[...] = r.buf
        add_deps(self, jdeps1(r), jdeps2(r))
        return self

    # -- indexing: the same index on the buffer, component axis kept whole
    def __getitem__(self, key):
        cdef object view = basic_view(self.buf, key)
        if view is None:
            try:
                view = self.buf[component_key(key)]
            except IndexError as error:
                raise value_shape_error(error, self.shape, key) from None
        return new_like(self, <cnp.ndarray>view)

    def __setitem__(self, key, value):
        cdef _Jet v
        k = component_key(key)
        if type(value) is BandedJet or type(value) is DeferredJet or \
                type(value) is DeferredTranspose:
            value = dense_tree(value)
        if isinstance(value, _Jet):
            v = <_Jet>value
            if not same_level(self, v):
                raise_level_in_place(self, v)
                v = lift_to(v, self)
            try:
                self.buf[k] = v.buf
            except (IndexError, ValueError) as error:
                raise value_shape_error(error, self.shape, key, v.shape) from None
            add_deps(self, jdeps1(v), jdeps2(v))
        else:
            try:
                self.buf[k] = constant_buffer(value, self, self.buf.dtype)
            except (IndexError, ValueError) as error:
                raise value_shape_error(error, self.shape, key, np.shape(value)) from None

    # -- construction helpers used by the dispatch layer
    def with_buffer(self, cnp.ndarray buf, deps1=None, deps2=None):
        """A jet of this one's type, tags and seeds over ``buf`` (S + (K,))."""
        cdef _Jet j = new_like(self, buf)
        # (a view's connectivity is its memory's: explicit masks are for new memory only)
        if j.owner is None and (deps1 is not None or deps2 is not None):
            set_deps(j, j.conn1 if deps1 is None else deps1, j.conn2 if deps2 is None else deps2)
        return j

    def level(self):
        """(order, tag1, tag2, n1, n2): what must match for two jets to combine."""
        return (self.order, self.tag1, self.tag2, self.n1, self.n2)

    # -- copies of its own kind
    def copy(self):
        return self.with_buffer(self.buf.copy())

    def astype(self, dtype, copy=True):
        return self.__array_function__(np.astype, (type(self),), (self, dtype), {"copy": copy})


    def sort(self, axis=-1, kind=None, order=None):
        """In place, as ndarray.sort: derivatives follow the permutation."""
        self.buf[...] = np.sort(self, axis=axis, kind=kind).buf

    def __getattr__(self, name):
        # Only reached for attributes a jet lacks: an ndarray one gets a clear error.
        if hasattr(np.ndarray, name) and not name.startswith("__"):
            function = (f"use np.{name}(x) instead, " if callable(getattr(np, name, None))
                        else "")
            raise TypeError(
                f"dualjac: ndarray.{name} is not supported on dual arrays (it has no "
                f"derivative rule); {function}use x.value for the plain values, or "
                "rewrite it with supported NumPy calls.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __copy__(self):          # as ndarray's: a copy of the data, not a view
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self):
        return (f"{type(self).__name__}(value={np.array2string(self.buf[..., 0], separator=', ')}, "
                f"{self._seed_description()}, dtype={self.buf.dtype})")


cdef class DualArray(_Jet):
    """An array of dual numbers: values and their derivatives along n seeds.

    ``value`` has shape S, ``tangent`` has shape S + (n,) (seeds last).
    Created by the transforms (``dj.jacobian`` ...) or ``DualArray(value, tangent)``.

    ``DualArray(value, tangent)`` is forward mode by hand, outside transforms:
    every operation carries ``tangent`` (n directions of the user's choosing)
    along. Such a jet may be a transform's source or a constant of its f when
    built before the transform started (its directions are then an outer level:
    ``dj.jacobian(f, DualArray(x, t))`` is the Jacobian's derivative along t).
    Built inside a transform's f, its tangent cannot be along the transform's
    seeds (dualjac cannot know what it means), so combining it with the
    transform's jets, or returning it from f, raises a TypeError: compute with
    NumPy functions of the jets f receives, ``dj.stop_gradient`` for constants,
    or ``dj.jvp`` for a directional derivative.
    """

    def __init__(self, value, tangent):
        value = np.asarray(value)
        tangent = np.asarray(tangent)
        if value.dtype.kind not in "biuf" or tangent.dtype.kind not in "biuf":
            raise TypeError(f"dualjac: DualArray holds real numbers, got {value.dtype} / "
                            f"{tangent.dtype}")
        if value.dtype.char not in "fd" or not value.dtype.isnative:
            value = value.astype(np.float64)
        tangent = tangent.astype(value.dtype)
        if tangent.shape[:-1] != value.shape or tangent.ndim != value.ndim + 1:
            raise ValueError(f"tangent must have shape value.shape + (n,) = "
                             f"{value.shape} + (n,), got {tangent.shape}")
        n = tangent.shape[-1]
        buf = np.empty(value.shape + (1 + n,), value.dtype)
        buf[..., 0] = value
        buf[..., 1:] = tangent
        init_jet(self, buf, 1, n, 0, draw_tag(STANDALONE), 0, 1, 0)

    @property
    def tangent(self):
        """Derivatives along the seeds, shape S + (n,) (a read-only view)."""
        t = self.buf[..., 1:]
        t.flags.writeable = False
        return t

    @property
    def n(self):
        return self.n1

    @property
    def tag(self):
        return self.tag1

    def _seed_description(self):
        return f"n={self.n1}"


cdef class HyperDualArray(_Jet):
    """An array of hyper-dual numbers: values, first derivatives along two seed
    sets (``d1``: n1 seeds of the outer level, ``d2``: n2 seeds of the inner
    level) and the cross derivatives ``d12`` of shape S + (n1, n2)."""

    @property
    def symmetric(self):
        """True for a Hessian jet: both seed sets equal, the cross block stored
        as its upper triangle (d1 is d2; d12 is unpacked on access)."""
        return self.order == 3

    @property
    def d1(self):
        return self.buf[..., 1:1 + self.n1]

    @property
    def d2(self):
        if self.order == 3:
            return self.d1
        return self.buf[..., 1 + self.n1:1 + self.n1 + self.n2]

    @property
    def d12(self):
        shape = (<object>self.buf).shape[:-1]
        if self.order == 3:
            return unpack_symmetric(self, shape + (self.n1, self.n1))
        c = 1 + self.n1 + self.n2
        return self.buf[..., c:].reshape(shape + (self.n1, self.n2))

    def _seed_description(self):
        if self.order == 3:
            return f"Hessian seeds n={self.n1}"
        return f"n1={self.n1}, n2={self.n2}"


# NumPy's scalar assignment (plain[i] = dual) calls float(dual) and, for an
# object that passes PySequence_Check, replaces our TypeError by "setting an
# array element with a sequence". Jets index through the mapping protocol and
# iterate through __iter__, so they need no sequence item slot: without it the
# guard's own TypeError reaches the user.
cdef extern from "Python.h":
    ctypedef struct PySequenceMethods:
        void* sq_item
    ctypedef struct PyTypeObject:
        PySequenceMethods* tp_as_sequence

for _jet_type in (_Jet, DualArray, HyperDualArray):
    if (<PyTypeObject*>_jet_type).tp_as_sequence != NULL:
        (<PyTypeObject*>_jet_type).tp_as_sequence.sq_item = NULL


# A small buffer a dying jet alone owned goes to src_c/include/array_cache.h for reuse:
# jet_dealloc offers it, then runs Cython's deallocator (which releases the jet's
# reference). A slot rather than a
# __dealloc__ method, which Cython wraps in saving and restoring the error state.
cdef extern from *:
    ctypedef void (*destructor)(PyObject*)
    ctypedef struct PyTypeObject_dealloc "PyTypeObject":
        destructor tp_dealloc
    ctypedef struct JetFields "struct __pyx_obj_7dualjac_5_core__Jet":
        PyObject* buf
        PyObject* owner
        Py_ssize_t nviews

cdef destructor JET_DEALLOC = (<PyTypeObject_dealloc*>_Jet).tp_dealloc


cdef void jet_dealloc(PyObject* o) noexcept:
    cdef PyObject* buf = (<JetFields*>o).buf
    cdef PyObject* owner = (<JetFields*>o).owner
    if owner != NULL and owner != <PyObject*>None:
        (<JetFields*>owner).nviews -= 1
    if buf != NULL and buf != <PyObject*>None:
        dj_ac_stash(buf)
    JET_DEALLOC(o)


for _jet_type in (_Jet, DualArray, HyperDualArray):
    if (<PyTypeObject_dealloc*>_jet_type).tp_dealloc == JET_DEALLOC:
        (<PyTypeObject_dealloc*>_jet_type).tp_dealloc = jet_dealloc
