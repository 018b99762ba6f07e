"""Sums of local terms: the structure that makes gradients and Hessians of scalar f cheap.

Forward mode cannot compress the derivatives of a scalar: the result depends on every source.
But most scalar objectives are a sum of terms, ``f(x) = c * sum(u(x)) + ...``, each element of u
depending on a few sources. During a *separable sweep* a full reduction (``np.sum`` / ``mean`` /
``dot`` of vectors over all of an array) returns a ``PartialSum`` instead of a number: the
arrays it would sum and their coefficients. f may scale, add and subtract such sums; anything
else raises ``NotSeparable`` and the transform takes its general path. The transform then
reads u's per-element derivatives, which a coloring of u's pattern keeps exact in few seeds,
and adds them up itself (``dualjac/sparse.py``).
"""

import threading

import numpy as np

_state = threading.local()
ACTIVE = [0]     # separable sweeps running in any thread: the hooks' one cheap test
_COUNT_LOCK = threading.Lock()


class NotSeparable(Exception):
    """f used a full sum other than by scaling and adding it."""


class intercepting:
    """While active in this thread, full reductions of arrays that ``accepts`` return
    PartialSums."""

    def __init__(self, accepts):
        self.accepts = accepts

    def __enter__(self):
        self.outer = getattr(_state, "accepts", None)
        _state.accepts = self.accepts
        with _COUNT_LOCK:               # `+=` on a shared int is not atomic across threads
            ACTIVE[0] += 1
        return self

    def __exit__(self, *exc):
        _state.accepts = self.outer
        with _COUNT_LOCK:
            ACTIVE[0] -= 1


def full_sum(a, ndim, axis=None, keepdims=False, scale=1.0):
    """A PartialSum for sum(a) * scale if a separable sweep of this thread takes it, else None."""
    accepts = getattr(_state, "accepts", None)
    if accepts is None or keepdims or not accepts(a):
        return None
    if axis is not None:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        if len({ax % max(ndim, 1) for ax in axes}) != ndim:
            return None
    return PartialSum([(scale, a)])


def vector_product(a, b, product):
    """A PartialSum for a . b of two vectors (dot, vdot, inner, @), else None."""
    if np.ndim(a) != 1 or np.ndim(b) != 1 or getattr(_state, "accepts", None) is None:
        return None
    ab = product(a, b)
    return full_sum(ab, 1)


def _number(x):
    if isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool):
        return True
    return isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "fiu"


class PartialSum:
    """sum_i coef_i * sum(array_i) + constant, not yet summed."""

    __array_priority__ = 1000

    def __init__(self, terms, constant=0.0):
        self.terms = terms
        self.constant = constant

    @property
    def value(self):
        """The sum's plain value."""
        return np.asarray(self.constant + sum(c * np.sum(np.asarray(a.value), dtype=float)
                                              for c, a in self.terms))

    def _scaled(self, factor):
        return PartialSum([(c * factor, a) for c, a in self.terms], self.constant * factor)

    def __add__(self, other):
        if isinstance(other, PartialSum):
            return PartialSum(self.terms + other.terms, self.constant + other.constant)
        if _number(other):
            return PartialSum(self.terms, self.constant + float(other))
        raise NotSeparable("a full sum added to an array")

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __neg__(self):
        return self._scaled(-1.0)

    def __pos__(self):
        return self

    def __mul__(self, other):
        if _number(other):
            return self._scaled(float(other))
        raise NotSeparable("a full sum multiplied by an array or another sum")

    __rmul__ = __mul__

    def __truediv__(self, other):
        if _number(other):
            return self._scaled(1.0 / float(other))
        raise NotSeparable("a full sum divided by an array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs and len(inputs) == 2:
            a, b = inputs
            if ufunc is np.add:
                return a + b if isinstance(a, PartialSum) else b + a
            if ufunc is np.multiply:
                return a * b if isinstance(a, PartialSum) else b * a
            if ufunc is np.subtract:
                return a - b if isinstance(a, PartialSum) else (-b) + a
            if ufunc is np.true_divide and isinstance(a, PartialSum):
                return a / b
        if method == "__call__" and ufunc is np.negative and len(inputs) == 1:
            return -inputs[0]
        raise NotSeparable(f"np.{ufunc.__name__} of a full sum")

    # a scalar: f's callers may ask its shape (dj.Objective checks that fun returns one)
    shape, ndim, size = (), 0, 1
    _QUERIES = {np.shape: (), np.ndim: 0, np.size: 1}

    def __array_function__(self, func, types, args, kwargs):
        if func in PartialSum._QUERIES and len(args) == 1 and not kwargs:
            return PartialSum._QUERIES[func]
        raise NotSeparable(f"np.{func.__name__} of a full sum")

    def _used(self, *args, **kwargs):
        raise NotSeparable("a full sum used as a value")

    # Anything but scaling and adding looks at the sum's value (a comparison would otherwise
    # fall back to object identity and take a branch the real value does not): f then runs
    # the general way.
    __float__ = __int__ = __index__ = __bool__ = __array__ = __getitem__ = __len__ = _used
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __abs__ = __round__ = __iter__ = _used
    __pow__ = __rpow__ = __rtruediv__ = __matmul__ = __rmatmul__ = _used
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __divmod__ = __rdivmod__ = _used
    __hash__ = None

    def __getattr__(self, name):      # .shape, .item(), .reshape(...): a value's attributes
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotSeparable(f"a full sum's .{name}")
