# ------------------------------------------------------------------ the jet protocol
#
# What every jet kind answers alike, written once: the guards that refuse to drop
# derivatives silently, truth and comparisons on values, Python's operators, len and
# iteration, pickling. DualArray / HyperDualArray (_Jet), BandedJet and DeferredJet derive
# from _JetProtocol and supply only how they compute and what they stand for:
#
#   _binary(op, a, b)   a op b, op a kernel index (I_ADD ...), self one of a and b
#   _unary(op)          op(self)
#   _values()           the plain values (comparisons, truth)
#   _dense()            the ordinary jet this one stands for (pickling)
#   _update(op, other, spelling)
#                       an in-place operator: update self (NumPy's aliasing semantics)
#                       or refuse; op is a kernel index or one of IN_PLACE_* below
#
# A new guard or operator added here reaches every kind. (A cdef class fills a type
# slot only from its own def: an alias like `__imod__ = __iadd__` leaves the slot
# empty and `x %= y` then rebinds x, so each operator is written out.)

cdef enum:
    IN_PLACE_FLOORDIV = -1
    IN_PLACE_MOD = -2
    IN_PLACE_MATMUL = -3


cdef class _JetProtocol:
    """Common base of every jet kind (see the comment above)."""

    cdef object _binary(self, int op, object a, object b):
        raise NotImplementedError

    cdef object _unary(self, int op):
        raise NotImplementedError

    cdef object _values(self):
        raise NotImplementedError

    cdef object _dense(self):
        raise NotImplementedError

    cdef object _update(self, int op, object other, str spelling):
        raise NotImplementedError

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
        raise loss_error("np.asarray / np.array on a dual array (or storing it into "
                         "a plain ndarray)")

    def __float__(self):
        raise loss_error("float()")

    def __int__(self):
        raise loss_error("int()")

    def __complex__(self):
        raise loss_error("complex()")

    def __index__(self):
        raise loss_error("using a dual array as an index")

    def __round__(self, ndigits=None):
        raise loss_error("round()")

    def item(self, *args):
        raise loss_error(".item()")

    def tolist(self):
        raise loss_error(".tolist()")

    def __reduce__(self):
        # Pickled as the ordinary jet it stands for; tags are per process: see
        # "pickling" in src_c/_tags.pxi.
        return jet_reduction(self._dense())

    # -- truth and comparisons: on values, giving plain bools (branches see values)
    def __bool__(self):
        return bool(self._values())

    def __lt__(self, other):
        return np.less(self._values(), plain_value(other))

    def __le__(self, other):
        return np.less_equal(self._values(), plain_value(other))

    def __gt__(self, other):
        return np.greater(self._values(), plain_value(other))

    def __ge__(self, other):
        return np.greater_equal(self._values(), plain_value(other))

    def __eq__(self, other):
        return np.equal(self._values(), plain_value(other))

    def __ne__(self, other):
        return np.not_equal(self._values(), plain_value(other))

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
