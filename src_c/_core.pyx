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

Layout
------
This file holds the module's imports, the kernel tables and the ISA choice, then
includes its parts in dependency order: _runtime (memory handlers, guard messages),
_ufunc_entry, _jets (the types, on the protocol of every jet kind in _protocol),
_construction (tags, seeding, read-out), _fast_transforms (the compiled ways of jacobian and hessian,
joins), _levels, _drivers (kernel dispatch), _broadcast (kernels over operands of
different shapes), _axis_sums (np.sum along one axis), then banded jets (_banded, _banded_dense),
deferred jets (_deferred, _deferred_seeds, _deferred_where, _deferred_rows,
_deferred_compositions, _deferred_transpose, _deferred_programs, _deferred_chunks,
_deferred_writes) and the read-out of term sums
(_assembly).
"""

from types import MethodType

import sys
from weakref import ref as weak_ref

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
ctypedef void (*b1_f64_t)(const double*, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b2_f64_t)(const double*, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*u1_f32_t)(const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*u2_f32_t)(const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b1_f32_t)(const float*, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
ctypedef void (*b2_f32_t)(const float*, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil
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

# The ISA of the vectorized value passes (src_c/include/blocks.h): 0 baseline,
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
    void dj_pool_prewake()

# Kernels over more numbers than NOGIL_THRESHOLD run without the GIL, cut into
# chunks of about CHUNK_NUMBERS numbers that the pool's threads claim in turn
# (src_c/include/thread_pool.h): small enough that a late worker delays little, large
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
    composite_rule = None       # func -> its rule when written with NumPy calls only, else None
    array_namespace = None      # api_version -> dualjac.array_api (x.__array_namespace__)
    conversion_context = None   # what(str) -> a message naming the caller, or None


def set_array_api_hooks(namespace_for, conversion_context):
    """The array API namespace of every jet kind, and the function that names who
    converted a jet (SciPy, np.vectorize) in a conversion guard's message."""
    _Hooks.array_namespace = namespace_for
    _Hooks.conversion_context = conversion_context


def set_numpy_hooks(array_ufunc, array_function, composite_rule=None):
    """The Python dispatch layer's entry points for everything not fused here, and its
    rules written with NumPy calls only (composite_rule(func): the rule or None), which
    the stand-in jets run on themselves rather than on the jets they stand for."""
    _Hooks.array_ufunc = array_ufunc
    _Hooks.array_function = array_function
    _Hooks.composite_rule = composite_rule


# ------------------------------------------------------------------ the parts (see Layout)

include "_runtime.pxi"
include "_ufunc_entry.pxi"
include "_jets.pxi"
include "_construction.pxi"
include "_fast_transforms.pxi"
include "_levels.pxi"
include "_drivers.pxi"
include "_broadcast.pxi"
include "_axis_sums.pxi"
include "_banded.pxi"
include "_banded_dense.pxi"
include "_deferred.pxi"
include "_deferred_seeds.pxi"
include "_deferred_where.pxi"
include "_deferred_rows.pxi"
include "_deferred_compositions.pxi"
include "_deferred_transpose.pxi"
include "_deferred_programs.pxi"
include "_deferred_chunks.pxi"
include "_deferred_writes.pxi"
include "_assembly.pxi"
