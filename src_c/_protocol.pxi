# ------------------------------------------------------------------ the jet protocol
#
# What every jet kind answers alike, written once: the guards that refuse to drop
# derivatives silently, truth and comparisons on values, Python's operators, len and
# iteration, pickling. DualArray / HyperDualArray (_Jet), BandedJet, DeferredJet and
# DeferredTranspose derive from _JetProtocol and supply only how they compute and what they
# stand for:
#
#   _binary(op, a, b)   a op b, op a kernel index (I_ADD ...), self one of a and b
#   _unary(op)          op(self)
#   _values(use)        the plain values, for a use of them (a comparison, truth, ...)
#   _dense()            the ordinary jet this one stands for (pickling)
#   _update(op, other, spelling)
#                       an in-place operator: update self (NumPy's aliasing semantics)
#                       or refuse; op is a kernel index or one of IN_PLACE_* below
#   _loss(what)         the error for a conversion that would drop derivatives
#
# The hooks are cpdef so that the sparsity tracer's PatternArray (dualjac/_pattern.py, a
# Python class) shares the protocol too; the NumPy-style methods (x.reshape, x.sum, ...)
# are NumPy's functions, dispatched as for np.<name>(x).
#
# A new guard or operator added here reaches every kind. (A cdef class fills a type
# slot only from its own def: an alias like `__imod__ = __iadd__` leaves the slot
# empty and `x %= y` then rebinds x, so each operator is written out.)

cdef enum:
    IN_PLACE_FLOORDIV = -1
    IN_PLACE_MOD = -2
    IN_PLACE_MATMUL = -3

# What the operator codes mean as NumPy functions (for kinds that compute through NumPy).
BINARY_OPERATORS = {I_ADD: np.add, I_SUB: np.subtract, I_MUL: np.multiply,
                    I_DIV: np.true_divide, I_POW: np.power, IN_PLACE_FLOORDIV: np.floor_divide,
                    IN_PLACE_MOD: np.remainder, IN_PLACE_MATMUL: np.matmul}
UNARY_OPERATORS = {I_NEG: np.negative, I_POS: np.positive, I_ABS: np.absolute}


cdef class _JetProtocol:
    """Common base of every jet kind (see the comment above)."""

    cpdef object _binary(self, int op, object a, object b):
        raise NotImplementedError

    cpdef object _unary(self, int op):
        raise NotImplementedError

    cpdef object _values(self, str use):
        raise NotImplementedError

    cpdef object _dense(self):
        raise NotImplementedError

    cpdef object _update(self, int op, object other, str spelling):
        raise NotImplementedError

    cpdef object _loss(self, str what):
        return loss_error(what)

    # -- sequence behaviour of an ndarray
    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # -- silent-loss guards
    def __array__(self, dtype=None, copy=None):
        opaque = opaque_for_sparse_matmul(self)
        if opaque is not None:
            return opaque
        raise self._loss("np.asarray / np.array on a dual array (or storing it into "
                         "a plain ndarray)")

    def __float__(self):
        raise self._loss("float()")

    def __int__(self):
        raise self._loss("int()")

    def __complex__(self):
        raise self._loss("complex()")

    def __index__(self):
        raise self._loss("using a dual array as an index")

    def __round__(self, ndigits=None):
        raise self._loss("round()")

    def item(self, *args):
        raise self._loss(".item()")

    def tolist(self):
        raise self._loss(".tolist()")

    def __reduce__(self):
        # Pickled as the ordinary jet it stands for; tags are per process: see
        # "pickling" in src_c/_tags.pxi.
        return jet_reduction(self._dense())

    # -- truth and comparisons: on values, giving plain bools (branches see values)
    def __bool__(self):
        return bool(self._values("bool()"))

    def __lt__(self, other):
        return np.less(self._values("less"), plain_value(other))

    def __le__(self, other):
        return np.less_equal(self._values("less_equal"), plain_value(other))

    def __gt__(self, other):
        return np.greater(self._values("greater"), plain_value(other))

    def __ge__(self, other):
        return np.greater_equal(self._values("greater_equal"), plain_value(other))

    def __eq__(self, other):
        return np.equal(self._values("equal"), plain_value(other))

    def __ne__(self, other):
        return np.not_equal(self._values("not_equal"), plain_value(other))

    __hash__ = None

    # -- arithmetic
    def __add__(self, other):
        return self._binary(I_ADD, self, other)

    def __radd__(self, other):
        return self._binary(I_ADD, other, self)

    def __sub__(self, other):
        return self._binary(I_SUB, self, other)

    def __rsub__(self, other):
        return self._binary(I_SUB, other, self)

    def __mul__(self, other):
        return self._binary(I_MUL, self, other)

    def __rmul__(self, other):
        return self._binary(I_MUL, other, self)

    def __truediv__(self, other):
        return self._binary(I_DIV, self, other)

    def __rtruediv__(self, other):
        return self._binary(I_DIV, other, self)

    def __pow__(self, other, modulo):
        if modulo is not None:
            return NotImplemented
        return self._binary(I_POW, self, other)

    def __rpow__(self, other, modulo):
        if modulo is not None:
            return NotImplemented
        return self._binary(I_POW, other, self)

    def __neg__(self):
        return self._unary(I_NEG)

    def __pos__(self):
        return self._unary(I_POS)

    def __abs__(self):
        return self._unary(I_ABS)

    def __floordiv__(self, other):
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return np.floor_divide(other, self)

    def __mod__(self, other):
        return np.remainder(self, other)

    def __rmod__(self, other):
        return np.remainder(other, self)

    def __divmod__(self, other):
        return np.divmod(self, other)

    def __rdivmod__(self, other):
        return np.divmod(other, self)

    def __matmul__(self, other):
        return np.matmul(self, other)

    def __rmatmul__(self, other):
        return np.matmul(other, self)

    # -- in-place operators: never NotImplemented, which would make Python rebind the
    # name to a new array and silently drop the update for every other name of this memory
    def __iadd__(self, other):
        return self._update(I_ADD, other, "+=")

    def __isub__(self, other):
        return self._update(I_SUB, other, "-=")

    def __imul__(self, other):
        return self._update(I_MUL, other, "*=")

    def __itruediv__(self, other):
        return self._update(I_DIV, other, "/=")

    def __ipow__(self, other):
        return self._update(I_POW, other, "**=")

    def __ifloordiv__(self, other):
        return self._update(IN_PLACE_FLOORDIV, other, "//=")

    def __imod__(self, other):
        return self._update(IN_PLACE_MOD, other, "%=")

    def __imatmul__(self, other):
        return self._update(IN_PLACE_MATMUL, other, "@=")

    # -- the array API standard: the namespace dualjac.array_api (its lookup is handed to the
    # core by set_array_api_hooks; the core imports no Python module of dualjac). Jets live on
    # the CPU, in NumPy's memory.
    def __array_namespace__(self, *, api_version=None):
        namespace_for = _Hooks.array_namespace
        if namespace_for is None:
            raise RuntimeError("dualjac: import dualjac to use the array API namespace of jets")
        return namespace_for(api_version)

    @property
    def device(self):
        return "cpu"

    def to_device(self, device, /, *, stream=None):
        if device != "cpu":
            raise ValueError(f"dualjac: jets live on the CPU; to_device({device!r}) is not "
                             "supported (use to_device('cpu'))")
        return self

    # -- NumPy-style methods: the NumPy function, dispatched as for np.<name>(x)
    @property
    def T(self):
        return np.transpose(self)

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1:
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def ravel(self, order="C"):
        return np.ravel(self, order=order)

    def flatten(self, order="C"):
        return np.ravel(self, order=order).copy()

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def swapaxes(self, a, b):
        return np.swapaxes(self, a, b)

    # The reductions take ndarray's keywords; initial= / where= (and var's mean= /
    # correction=) are passed on only when given, as NumPy's functions then see them.
    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **given):
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **given)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **given):
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **given)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **given):
        return np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **given)

    def max(self, axis=None, out=None, keepdims=False, **given):
        return np.max(self, axis=axis, out=out, keepdims=keepdims, **given)

    def min(self, axis=None, out=None, keepdims=False, **given):
        return np.min(self, axis=axis, out=out, keepdims=keepdims, **given)

    def cumsum(self, axis=None, dtype=None, out=None):
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def dot(self, other):
        return np.dot(self, other)

    def clip(self, min=None, max=None, out=None, **kwargs):
        return np.clip(self, min, max, out=out, **kwargs)

    def round(self, decimals=0, out=None):
        return np.round(self, decimals, out)

    def conj(self):
        return np.conjugate(self)

    def conjugate(self):
        return np.conjugate(self)

    @property
    def real(self):
        return np.real(self)

    @property
    def imag(self):
        return np.imag(self)

    def cumprod(self, axis=None, dtype=None, out=None):
        return np.cumprod(self, axis=axis, dtype=dtype, out=out)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **given):
        return np.var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **given)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **given):
        return np.std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **given)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return np.trace(self, offset, axis1, axis2, dtype, out)

    def take(self, indices, axis=None, out=None, mode="raise"):
        return np.take(self, indices, axis=axis, out=out, mode=mode)

    def repeat(self, repeats, axis=None):
        return np.repeat(self, repeats, axis=axis)

    def all(self, axis=None, out=None, keepdims=False):
        return np.all(self._values("all"), axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return np.any(self._values("any"), axis=axis, out=out, keepdims=keepdims)

    def nonzero(self):
        return np.nonzero(self._values("nonzero"))

    def argmax(self, axis=None):
        return np.argmax(self._values("argmax"), axis=axis)

    def argmin(self, axis=None):
        return np.argmin(self._values("argmin"), axis=axis)

    def astype(self, dtype, copy=True):
        return np.astype(self, dtype, copy=copy)
