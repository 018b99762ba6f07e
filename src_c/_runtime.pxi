# Memory handlers (the block cache of large sweeps, the small-buffer cache of dead
# jets) and the messages of the conversion guards.

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
    """Install the block-reusing data-memory handler (src_c/include/block_cache.h) in
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
    """The number of small jet buffers kept for reuse (src_c/include/array_cache.h); with
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
    # The Python layer reads the call stack: when SciPy or np.vectorize made the
    # conversion, the user never wrote it, so the message names the function they called.
    context = _Hooks.conversion_context
    if context is not None:
        message = context(what)
        if message is not None:
            return TypeError(message)
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
