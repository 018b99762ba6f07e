# The ufunc entry: a jet's __array_ufunc__ whose common calls (a table ufunc of one or
# two operands) go straight to the kernels, without a Python frame.

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
