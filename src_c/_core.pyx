# cython: language_level=3, boundscheck=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
"""dualjac._core: the dual and hyper-dual array types and their elementwise kernels.

Design
------
A *jet* is an array whose every element carries a value and its derivatives
along seed directions. One C-contiguous buffer per array, seeds last:

    DualArray       buf.shape == S + (1 + n,)               [v, t_1..t_n]
    HyperDualArray  buf.shape == S + (1 + n1 + n2 + n1*n2,) [v, d1.., d2.., d12..]

so a Jacobian is a slice and a reshape of the buffer, one allocation makes one
result, and every *structural* NumPy operation (indexing, reshape, transpose,
concatenate, ...) is the same operation on the buffer with the trailing
component axis kept (dualjac/dispatch/ does those).

Elementwise functions run fused C kernels generated from dualjac/rules.py
(_kernels.h; _kernels.pxi, included below, declares them and builds the
dispatch tables): value and all partials in one pass. Operators
and table ufuncs go straight from the C number slots / ``__array_ufunc__`` to
the kernels; everything else goes through the Python dispatch layer, which
registers itself with ``set_numpy_hooks`` (this module never imports it: the
dependency points one way, dispatch -> core).

Levels and tags
---------------
Every transform call draws a fresh integer tag; a DualArray carries one
(``tag1``), a HyperDualArray two (``tag1 < tag2``: outer, inner). Operands of
different levels are lifted to a common one (Dual(t) with Dual(u) -> Hyper(t, u))
so derivatives of different transforms never mix (no perturbation confusion).
A third distinct tag raises NotImplementedError. Tags are live only while their
transform runs; where levels meet, jets of other tags must be live (_tags.pxi).

Connectivity
------------
``deps1`` / ``deps2`` are bit masks of the sources (per level) an array was
computed from; they are OR-ed by every operation. A bit that is clear means
"not connected" (TF's None), whatever the numeric derivative is.

Connectivity belongs to memory, not to a Python object: a jet whose buffer is a
view of another jet's memory (a slice, a reshape, a transpose ...) keeps a
reference to that memory's jet (``owner``) and reads and writes the owner's
masks. A write through any view (``v[:] = ...``, ``v += ...``, ``out=v``) is
thereby seen by every other view of the same memory, as NumPy's values are.
"""

from types import MethodType

import sys

import numpy as np
cimport numpy as cnp
cimport cython
from libc.stdint cimport uint64_t
from libc.limits cimport LLONG_MIN
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memcpy, memset
from libc.stdlib cimport calloc, free
from libc.math cimport *
from cpython.object cimport PyObject
from cpython.dict cimport PyDict_GetItem, PyDict_Next
from cpython.ref cimport Py_INCREF
from cpython.slice cimport PySlice_Unpack, PySlice_AdjustIndices

cnp.import_array()

ctypedef void (*u1_f64_t)(const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*u2_f64_t)(const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b1_f64_t)(const double*, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b2_f64_t)(const double*, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*u1_f32_t)(const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*u2_f32_t)(const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b1_f32_t)(const float*, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b2_f32_t)(const float*, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
# SoA kernels (src_c/_deferred.pxi): unary (a, o, cs, m, n); binary (a, sa, b, sb, o, cs, m, n).
ctypedef void (*su_f64_t)(const double*, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*sb_f64_t)(const double*, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*sp_f64_t)(const double*, double*, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*sp_f32_t)(const float*, float*, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*su_f32_t)(const float*, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*sb_f32_t)(const float*, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil

ctypedef fused real:
    float
    double

# Scratch space for building shapes passed to the NumPy C-API (GIL held).
cdef cnp.npy_intp _shape_buf[64]

include "_kernels.pxi"

# The ISA of the vectorized value passes (src_c/blocks.h): 0 baseline,
# 1 AVX2, 2 AVX-512; the best this CPU runs unless capped.
cdef int ISA = dj_blocks_init(2)


def select_isa(int limit):
    """Cap the ISA of the vectorized value passes (0 baseline, 1 AVX2, 2 AVX-512;
    every variant gives the same bits); returns the one now in use."""
    global ISA
    ISA = dj_blocks_init(limit)
    return ISA

# Kernels over more numbers than this release the GIL; below it, releasing and
# re-taking the GIL costs more than the loop.
cdef Py_ssize_t NOGIL_THRESHOLD = 1 << 15

cdef extern from "thread_pool.h" nogil:
    ctypedef void (*dj_range_fn)(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil
    void dj_parallel_for(dj_range_fn fn, void* ctx, Py_ssize_t count, int chunks)
    void dj_set_threads(int n)
    int dj_get_threads()

# Kernels over more numbers than NOGIL_THRESHOLD run without the GIL, cut into
# chunks of about CHUNK_NUMBERS numbers that the pool's threads claim in turn
# (src_c/thread_pool.h): small enough that a late worker delays little, large
# enough that claiming one costs nothing (research/threads.py).
cdef Py_ssize_t CHUNK_NUMBERS = 1 << 13


cdef void run_ranges(dj_range_fn fn, void* ctx, Py_ssize_t count, Py_ssize_t numbers) noexcept:
    """fn(ctx, 0, count), or, when the work covers more than NOGIL_THRESHOLD
    numbers, fn over parts of [0, count) without the GIL, shared between the
    pool's threads (GIL held on entry)."""
    if numbers <= NOGIL_THRESHOLD:
        fn(ctx, 0, count)
        return
    cdef int chunks = <int>min(numbers // CHUNK_NUMBERS, 65535)
    with nogil:
        dj_parallel_for(fn, ctx, count, chunks)



# Row indices of the operators' ufuncs in the generated tables.
cdef int I_ADD = GENERATED_BINARY.index("add")
cdef int I_SUB = GENERATED_BINARY.index("subtract")
cdef int I_MUL = GENERATED_BINARY.index("multiply")
cdef int I_DIV = GENERATED_BINARY.index("divide")
cdef int I_POW = GENERATED_BINARY.index("power")
cdef int I_NEG = GENERATED_UNARY.index("negative")
cdef int I_POS = GENERATED_UNARY.index("positive")
cdef int I_ABS = GENERATED_UNARY.index("absolute")
cdef int I_SQUARE = GENERATED_UNARY.index("square")
cdef int I_SQRT = GENERATED_UNARY.index("sqrt")
cdef int I_RECIPROCAL = GENERATED_UNARY.index("reciprocal")

# ufunc object -> row index. Filled by register_ufuncs (from the Python layer,
# which knows where each ufunc lives: numpy or scipy.special).
cdef dict UNARY_INDEX = {}
cdef dict BINARY_INDEX = {}
cdef object NP_MATMUL = np.matmul


# ufunc -> kernel row, for the ufuncs seen: a direct-mapped cache in front of
# UNARY_INDEX / BINARY_INDEX (which keep every key alive; register_ufuncs clears it).
cdef enum:
    UFUNC_CACHE = 64
cdef PyObject* unary_cache_key[UFUNC_CACHE]
cdef int unary_cache_row[UFUNC_CACHE]
cdef PyObject* binary_cache_key[UFUNC_CACHE]
cdef int binary_cache_row[UFUNC_CACHE]


cdef inline int ufunc_row(dict table, PyObject** keys, int* rows, object ufunc) noexcept:
    """The kernel row of a registered ufunc, or -1."""
    cdef size_t h = ((<size_t><PyObject*>ufunc) >> 5) % UFUNC_CACHE
    if keys[h] == <PyObject*>ufunc:
        return rows[h]
    cdef PyObject* found = PyDict_GetItem(table, ufunc)
    if found == NULL:
        return -1
    keys[h] = <PyObject*>ufunc
    rows[h] = <int><object>found
    return rows[h]


def register_ufuncs(dict unary, dict binary):
    """Map ufunc objects to kernel rows: {ufunc: row name}."""
    for ufunc, name in unary.items():
        UNARY_INDEX[ufunc] = GENERATED_UNARY.index(name)
    for ufunc, name in binary.items():
        BINARY_INDEX[ufunc] = GENERATED_BINARY.index(name)
    memset(unary_cache_key, 0, sizeof(unary_cache_key))
    memset(binary_cache_key, 0, sizeof(binary_cache_key))


class _Hooks:
    array_ufunc = None
    array_function = None


def set_numpy_hooks(array_ufunc, array_function):
    """The Python dispatch layer's entry points for everything not fused here."""
    _Hooks.array_ufunc = array_ufunc
    _Hooks.array_function = array_function


# ------------------------------------------------------------------ memory

cdef extern from "block_cache.h":
    object dj_block_cache_capsule()
    size_t dj_block_cache_clear()
    size_t dj_block_cache_bytes()
    void dj_block_cache_enter()
    void dj_block_cache_leave()

cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)

cdef object _BLOCK_CACHE = dj_block_cache_capsule()


def use_block_cache():
    """Install the block-reusing data-memory handler (src_c/block_cache.h) in
    this context; returns the previous handler, to give to restore_memory_handler."""
    dj_block_cache_enter()
    return PyDataMem_SetHandler(_BLOCK_CACHE)


def restore_memory_handler(previous):
    """Put the previous handler back, and trim the cache to what is kept between
    sweeps (a batch of a million rows may cache a gigabyte while it runs)."""
    PyDataMem_SetHandler(previous)
    dj_block_cache_leave()


def block_cache_clear():
    """Give the cached blocks back to the system; returns the bytes released."""
    return dj_block_cache_clear()


def block_cache_bytes():
    return dj_block_cache_bytes()


# ------------------------------------------------------------------ small buffers

cdef extern from "array_cache.h":
    int dj_ac_init() except -1
    void dj_ac_stash(PyObject* a) noexcept
    object dj_ac_empty(int nd, const cnp.npy_intp* dims, int typenum)
    void dj_ac_set_enabled(int on)
    int dj_ac_size()

dj_ac_init()


def array_cache(enabled=None):
    """The number of small jet buffers kept for reuse (src_c/array_cache.h); with
    enabled=False / True, switch the cache off (emptying it) or on first."""
    if enabled is not None:
        dj_ac_set_enabled(1 if enabled else 0)
    return dj_ac_size()


cdef inline cnp.ndarray new_buffer(int nd, const cnp.npy_intp* dims, int typenum):
    """A C-contiguous float32 / float64 array, contents undefined (the caller writes
    all of it): a reused small buffer when one fits, else a new one."""
    return <cnp.ndarray>dj_ac_empty(nd, dims, typenum)


# ------------------------------------------------------------------ messages

LOSS_HINT = (
    "Use x.value for the plain values (derivatives dropped on purpose), or keep the "
    "computation on dual arrays: create arrays with np.zeros(n, like=x) / "
    "np.zeros_like(x) and assign into them, and build arrays with np.stack / "
    "np.concatenate rather than np.array([...]).")


cdef object loss_error(str what):
    return TypeError(
        f"dualjac: {what} would silently drop the derivatives of a dual array. "
        + LOSS_HINT)


def opaque_for_sparse_matmul(jet):
    """A 0-d object array holding jet when scipy.sparse's matmul converts it (`L @ x`, `L.dot(x)`
    with L a scipy.sparse matrix or array), else None. SciPy then returns NotImplemented and
    Python calls the jet's __rmatmul__, which applies L to every component
    (dispatch.products.matmul).
    Any other conversion of a jet is refused (loss_error)."""
    if "scipy.sparse" not in sys.modules:
        return None
    frame = sys._getframe(0)
    for _ in range(2):                 # the caller of np.asanyarray (a frame for this one, too?)
        if frame is None:
            return None
        if (frame.f_code.co_name == "_matmul_dispatch"
                and frame.f_globals.get("__name__", "").startswith("scipy.sparse.")):
            opaque = np.empty((), dtype=object)
            opaque[()] = jet
            return opaque
        frame = frame.f_back
    return None


# ------------------------------------------------------------------ the ufunc entry

cdef class _UfuncEntry:
    """The jets' ``__array_ufunc__`` (NEP 13), as a callable object rather than a
    method. NumPy looks ``__array_ufunc__`` up on the type and calls it with a
    tuple (self, ufunc, method, *inputs) and a dict of keywords: a method would
    have that tuple and dict unpacked into its parameters and repacked as
    *inputs / **kwargs on every call, while ``__call__`` takes them as they are.
    Looked up on an instance it binds like a method (x.__array_ufunc__(...)).

    The common call, np.sin(x) or np.multiply(x, c), goes to the kernel of a
    rules-table row; everything else to the Python dispatch layer."""

    def __call__(self, *args, **kwargs):
        cdef Py_ssize_t n = len(args)
        cdef PyObject* idx
        if n < 3:
            raise TypeError("__array_ufunc__(ufunc, method, *inputs, **kwargs): "
                            "ufunc and method are required")
        ufunc = args[1]
        method = args[2]
        if not kwargs and method == "__call__":
            if n == 4:
                idx = PyDict_GetItem(UNARY_INDEX, ufunc)
                if idx != NULL and isinstance(args[3], _Jet):
                    return unary_op(<int><object>idx, <_Jet>args[3])
            elif n == 5:
                if ufunc is NP_MATMUL:
                    result = constant_matmul_jet(args[3], args[4])
                    if result is not None:
                        return result
                idx = PyDict_GetItem(BINARY_INDEX, ufunc)
                if idx != NULL:
                    return binary_op(<int><object>idx, args[3], args[4])
        if holds_banded(args) or holds_banded(kwargs):
            return NotImplemented     # BandedJet.__array_ufunc__ densifies and calls again
        return _Hooks.array_ufunc(ufunc, method, args[3:], kwargs)

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return MethodType(self, instance)

    @property
    def __name__(self):
        return "__array_ufunc__"

    @property
    def __qualname__(self):
        return "_Jet.__array_ufunc__"


cdef _UfuncEntry UFUNC_ENTRY = _UfuncEntry()


# The entry's call slot, in C: NumPy calls the entry with PyObject_Call(entry,
# (self, ufunc, method, *inputs), kwargs) where kwargs is an empty dict for a
# plain call. Cython's wrapper of __call__ above makes a new dict for **kwargs
# on every call; entry_call takes the common call (no keywords, method
# "__call__", a rules-table ufunc) straight to the kernel, and gives every other
# call, unchanged, to that wrapper (dj_entry_general), which decides as before.
cdef extern from *:
    """
    static ternaryfunc dj_entry_general = NULL;
    static PyObject *dj_call_general(PyObject *self, PyObject *args, PyObject *kwds) {
        return dj_entry_general(self, args, kwds);
    }
    static inline int dj_is_call_method(PyObject *m) {
        return PyUnicode_CheckExact(m) && PyUnicode_GET_LENGTH(m) == 8
            && PyUnicode_KIND(m) == PyUnicode_1BYTE_KIND
            && memcmp(PyUnicode_DATA(m), "__call__", 8) == 0;
    }
    """
    ctypedef PyObject* (*ternaryfunc)(PyObject*, PyObject*, PyObject*)
    ctypedef struct PyTypeObject_call "PyTypeObject":
        ternaryfunc tp_call
    ternaryfunc dj_entry_general
    object dj_call_general(object self, object args, PyObject* kwds)
    bint dj_is_call_method(object m) noexcept
    Py_ssize_t PyDict_GET_SIZE(PyObject* d) noexcept


cdef object entry_call(object self, tuple args, PyObject* kwds):
    cdef Py_ssize_t n = len(args)
    cdef int row
    if ((n == 4 or n == 5) and (kwds == NULL or PyDict_GET_SIZE(kwds) == 0)
            and dj_is_call_method(args[2])):
        ufunc = args[1]
        if n == 4:
            x = args[3]
            if isinstance(x, _Jet):
                row = ufunc_row(UNARY_INDEX, unary_cache_key, unary_cache_row, ufunc)
                if row >= 0:
                    return unary_op(row, <_Jet>x)
        else:
            x = args[3]
            y = args[4]
            if ufunc is NP_MATMUL:
                result = constant_matmul_jet(x, y)
                if result is not None:
                    return result
            row = ufunc_row(BINARY_INDEX, binary_cache_key, binary_cache_row, ufunc)
            if row >= 0:
                return binary_op(row, x, y)
    return dj_call_general(self, args, kwds)


dj_entry_general = (<PyTypeObject_call*>_UfuncEntry).tp_call
(<PyTypeObject_call*>_UfuncEntry).tp_call = <ternaryfunc>entry_call


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
            return NotImplemented     # BandedJet.__array_function__ densifies and calls again
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
        if type(value) is BandedJet or type(value) is DeferredJet:
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
            raise TypeError(
                f"dualjac: ndarray.{name} is not supported on dual arrays (it has no "
                f"derivative rule); use np.{name}(x) if NumPy has a function of that name, "
                "or x.value for the plain values.")
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


# A small buffer a dying jet alone owned goes to src_c/array_cache.h for reuse:
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
    if type(other) is BandedJet or type(other) is DeferredJet:
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
            return base
        o = base
        base = cnp.PyArray_BASE(<cnp.ndarray>base)
    return o


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
        # table of positions; the loops below store out of order, 3.3 ns per row for n = 3.
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


# ------------------------------------------------------------------ the transforms' common case

# What the transforms hand to jacobian_one (set_fast_path_limits, in dualjac/_sweep.py):
# sources with more seeds, or whose seeded buffer needs the block cache, take the general path.
cdef Py_ssize_t FAST_MAX_SEEDS = 128
cdef Py_ssize_t FAST_MAX_BYTES = 128 * 1024

NO_FAST_PATH = object()   # jacobian_one's answer when x is not its case


def set_fast_path_limits(Py_ssize_t max_seeds, Py_ssize_t max_bytes):
    global FAST_MAX_SEEDS, FAST_MAX_BYTES
    FAST_MAX_SEEDS = max_seeds
    FAST_MAX_BYTES = max_bytes


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
    """What jacobian_one / hessian_one return when f's output is not their common case
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


cpdef object jacobian_one(f, x):
    """dj.jacobian(f, x) for one small source, all seeds in one sweep, in C: a
    native float32 / float64 ndarray, or (nested in another transform) a
    DualArray. Reads the common result (a jet at this tag, connected) straight
    into the Jacobian; anything else comes back Unfinished, for the general reading.
    NO_FAST_PATH, before calling f, when x is not this case."""
    cdef cnp.ndarray a, ybuf
    cdef Py_ssize_t m
    cdef long long tag
    cdef _Jet y, src
    cdef int typenum
    cdef bint handed
    if type(x) is cnp.ndarray:
        a = <cnp.ndarray>x
        typenum = a.descr.type_num
        if (typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT) or not cnp.PyArray_ISNOTSWAPPED(a):
            return NO_FAST_PATH
        m = a.size
        if 0 < BANDED_MIN_JACOBIAN <= m:
            out = banded_jacobian_sweep(f, a)
            if out is not NEEDS_DENSE:
                return out
        if m > FAST_MAX_SEEDS or m * (1 + m) * 8 >= FAST_MAX_BYTES:
            return NO_FAST_PATH
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
        m = ybuf.size // ybuf.shape[ybuf.ndim - 1] if ybuf.shape[ybuf.ndim - 1] else 0
        if m > FAST_MAX_SEEDS:
            return NO_FAST_PATH
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


cpdef object hessian_one(f, x):
    """dj.hessian(f, x) for one native float32 / float64 ndarray, in C: banded seeds
    (src_c/_banded.pxi) from BANDED_MIN_HESSIAN elements, else dense ones when the sweep
    needs no block cache. Reads the common result (a Hessian jet of this sweep)
    straight into f(x).shape + x.shape + x.shape; anything else comes back Unfinished.
    NO_FAST_PATH, before calling f, when x is not this case."""
    if type(x) is not cnp.ndarray:
        return NO_FAST_PATH
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int typenum = a.descr.type_num
    if (typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT) or not cnp.PyArray_ISNOTSWAPPED(a):
        return NO_FAST_PATH
    cdef Py_ssize_t m = a.size, K = 1 + m + m * (m + 1) // 2
    cdef long long tag1, tag2
    cdef bint handed = False
    if 0 < BANDED_MIN_HESSIAN <= m:
        tag1, tag2 = hold_new_tag(TRANSFORM_HESSIAN), hold_new_tag(TRANSFORM_HESSIAN)
        previous = use_block_cache() if banded_needs_block_cache(a) else None
        try:
            out = run_banded(f, seed_banded(a, tag1, tag2))
            if out is not NEEDS_DENSE:
                out = hessian_read(out, tag1, tag2, a)
                handed = type(out) is Unfinished
                return out
        finally:
            if not handed:
                release(tag1)
                release(tag2)
            if previous is not None:
                restore_memory_handler(previous)
    if m * K * 8 >= FAST_MAX_BYTES:
        return NO_FAST_PATH
    tag1, tag2 = hold_new_tag(TRANSFORM_HESSIAN), hold_new_tag(TRANSFORM_HESSIAN)
    cdef cnp.ndarray v = cnp.PyArray_GETCONTIGUOUS(a)
    try:
        out = hessian_read(f(symmetric_over(seed_buffer(v, K, 0, 0, m, 0), m, tag1, tag2, 1)),
                           tag1, tag2, a)
        handed = type(out) is Unfinished
        return out
    finally:
        if not handed:
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
    thread, while in its cache (serial calloc + fill: 42 us for 1e4 rows of a
    3-variable Hessian, 2.4 MB)."""
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
    dtype = np.result_type(*[(<_Jet>x).buf.dtype if isinstance(x, _Jet) else x for x in items])
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


# ------------------------------------------------------------------ kernel drivers

ctypedef struct KernelCall:
    # One generated kernel over a range of elements: operands by element
    # stride (in items), so any contiguous range of elements can be cut out.
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


cdef void kernel_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi) of a KernelCall (a dj_range_fn for the thread pool)."""
    cdef KernelCall* c = <KernelCall*>ctx
    cdef Py_ssize_t m = hi - lo, z = c.itemsize
    cdef char* a = c.a + lo * c.sa * z
    cdef char* b = c.b + lo * c.sb * z if c.binary else NULL
    cdef char* o = c.o + lo * c.K * z
    if c.f64:
        call_kernel(c, <double*>a, <double*>b, <double*>o, m)
    else:
        call_kernel(c, <float*>a, <float*>b, <float*>o, m)


cdef inline void call_kernel(KernelCall* c, real* a, real* b, real* o, Py_ssize_t m) noexcept nogil:
    """c.fn on m elements, cast to its kind's signature for this dtype."""
    if not c.binary:
        if c.order == 1:
            (<void (*)(const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
                a, c.sa, o, m, c.K)
        else:
            (<void (*)(const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
                a, c.sa, o, m, c.n1, c.n2)
    elif c.order == 1:
        (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
            a, c.sa, b, c.sb, o, m, c.K)
    else:
        (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>c.fn)(
            a, c.sa, b, c.sb, o, m, c.n1, c.n2)


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
            abuf, bbuf = broadcast_buffers(abuf, bbuf)
            sa = sb = K
    else:
        abuf = readable(abuf, &sa)
        bbuf = readable(bbuf, &sb)
    cdef cnp.ndarray out = empty_result(abuf if sa else bbuf)
    run_binary(idx, 0, a, abuf, sa, bbuf, sb, out)
    cdef _Jet r = new_like(a, out)
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
                abuf, cval = broadcast_with_constant(abuf, cval)
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


cdef tuple broadcast_buffers(cnp.ndarray a, cnp.ndarray b):
    """Two jet buffers broadcast over their element axes (a copy: the slow path)."""
    K = a.shape[a.ndim - 1]
    shape = np.broadcast_shapes((<object>a).shape[:-1], (<object>b).shape[:-1]) + (K,)
    return (np.ascontiguousarray(np.broadcast_to(a, shape)),
            np.ascontiguousarray(np.broadcast_to(b, shape)))


cdef tuple broadcast_with_constant(cnp.ndarray a, cnp.ndarray c):
    K = a.shape[a.ndim - 1]
    shape = np.broadcast_shapes((<object>a).shape[:-1], (<object>c).shape)
    return (np.ascontiguousarray(np.broadcast_to(a, shape + (K,))),
            np.ascontiguousarray(np.broadcast_to(c, shape)))


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
    call.a = x
    call.sa = sx
    call.b = y
    call.sb = sy
    call.o = <char*>cnp.PyArray_DATA(out)
    call.K = out.shape[out.ndim - 1]
    call.n1 = level.n1
    call.n2 = level.n2
    call.itemsize = cnp.PyArray_ITEMSIZE(out)
    run_kernel(&call, out.size // call.K if call.K else 0)


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


# ------------------------------------------------------------------ banded jets

include "_banded.pxi"


# ------------------------------------------------------------------ deferred jets

include "_deferred.pxi"


# ------------------------------------------------------------------ read-out of term sums

include "_assembly.pxi"
