"""Creation rules: *_like functions and NEP 35 creation (np.zeros(n, like=x)).

A created jet is at its prototype's level with zero derivatives and no
connection to anything (TF: zeros_like is not a path), ready to be filled.
Integer and bool dtypes give plain arrays.
"""

import numpy as np

from .jets import astype, is_jet, value_of
from .registry import HANDLED, implements, implements_creation


def _zeros_at_level(proto, shape, dtype):
    """A jet of proto's level: zero derivatives and no connection (deps 0)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return proto.with_buffer(np.zeros(shape + (proto.ncomponents,), dtype), 0, 0)


def _float_dtype(dtype, default):
    """The dtype for a new jet; None for an integer/bool dtype (a plain array).
    Only native float32 / float64 have kernels: anything else is refused."""
    dtype = np.dtype(default if dtype is None else dtype)
    if dtype.kind in "biu":
        return None
    if dtype.char not in "fd" or not dtype.isnative:
        raise TypeError(f"dualjac: dual arrays hold native float32 or float64, not {dtype}.")
    return dtype


@implements(np.zeros_like, np.empty_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """Zeros at a's level but not connected to anything (TF: zeros_like is not a
    path), ready to be filled: `out = np.zeros_like(x); out[0] = x[0] ** 2`."""
    target = _float_dtype(dtype, a.dtype)
    shape = a.shape if shape is None else shape
    if target is None:
        return np.zeros(shape, dtype)
    return _zeros_at_level(a, shape, target)


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    return full_like(a, 1, dtype=dtype, shape=shape)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    target = _float_dtype(dtype, a.dtype)
    shape = a.shape if shape is None else shape
    if target is None:
        return np.full(shape, value_of(fill_value), dtype)
    result = _zeros_at_level(a, shape, target)
    result[...] = fill_value
    return result


def _created_like(like, shape, dtype, fill, plain):
    """np.zeros(shape, like=x) and friends: a jet at x's level with zero
    derivatives and no connection; integer dtypes give plain arrays."""
    target = _float_dtype(dtype, np.float64)
    if like is None or not is_jet(like) or target is None:
        return plain()
    result = _zeros_at_level(like, shape, target)
    if fill is not None:
        result[...] = fill
    return result


@implements_creation(np.zeros, np.empty)
def zeros(shape, dtype=None, order="C", *, like=None, device=None):
    return _created_like(like, shape, dtype, None, lambda: np.zeros(shape, dtype, order))


@implements_creation(np.ones)
def ones(shape, dtype=None, order="C", *, like=None, device=None):
    return _created_like(like, shape, dtype, 1, lambda: np.ones(shape, dtype, order))


@implements_creation(np.full)
def full(shape, fill_value, dtype=None, order="C", *, like=None, device=None):
    if dtype is None:
        dtype = np.result_type(value_of(fill_value), np.float64) if not is_jet(fill_value) \
            else fill_value.dtype
    return _created_like(like, shape, dtype, fill_value,
                         lambda: np.full(shape, value_of(fill_value), dtype, order))


@implements_creation(np.asarray, np.asanyarray, np.array, np.ascontiguousarray)
def asarray(a, dtype=None, *args, like=None, **kwargs):
    if is_jet(a):
        return a if dtype is None else astype(a, dtype)
    if like is not None and is_jet(like):
        plain = np.asarray(a)
        target = _float_dtype(dtype, np.result_type(plain, like.dtype))
        if target is None:
            return plain.astype(dtype)
        result = _zeros_at_level(like, plain.shape, target)
        result[...] = plain
        return result
    raise TypeError("dualjac: np.asarray on a structure holding dual arrays would drop "
                    "their derivatives; use np.stack / np.concatenate to build arrays of "
                    "dual arrays.")


def _astype(x, dtype, /, *, copy=True, device=None):
    """A new jet, or with copy=False and x's own dtype x itself (NumPy's aliasing)."""
    if not copy and np.dtype(dtype) == value_of(x).dtype:
        return x
    return astype(x, dtype)


if hasattr(np, "astype"):
    HANDLED[np.astype] = _astype
