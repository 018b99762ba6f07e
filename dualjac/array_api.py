"""The array API standard's namespace of dualjac's jets: ``x.__array_namespace__()``.

Libraries written against the standard (SciPy with ``SCIPY_ARRAY_API=1``, array-api-extra)
ask an array for its namespace and compute with that namespace's functions. For every
jet kind (DualArray, HyperDualArray, BandedJet, DeferredJet and the sparsity tracer's
arrays) this module is that namespace. Most functions are NumPy's own under the standard's
names: NumPy calls on jets dispatch to dualjac's derivative rules (NEP 13 / 18), so a
function without a rule raises the same TypeError as ``np.<name>(x)`` would. What differs
from NumPy is written out here: ``asarray`` keeps jets (and stacks a list of them), the
dtype functions read a jet's value dtype, keyword spellings of the standard (``correction``,
``descending``, ``device``, ``copy``) are translated, and ``linalg`` works on the last two
axes as the standard says.

Jets are real (float32 / float64) arrays on the CPU: ``device`` is ``"cpu"``. Importing
this module imports NumPy only.
"""

from __future__ import annotations

import builtins
import inspect
from types import SimpleNamespace

import numpy as np

from . import _core

__array_api_version__ = "2024.12"
_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")
_JETS = (_core._JetProtocol,)


def namespace_for(api_version=None):
    """What ``x.__array_namespace__(api_version=...)`` returns (the core calls it)."""
    if api_version is not None and api_version not in _VERSIONS:
        raise ValueError(f"dualjac.array_api: api_version {api_version!r} is not supported; "
                         f"use one of {', '.join(_VERSIONS)} or None")
    return _THIS_MODULE


def _is_jet(x):
    return isinstance(x, _JETS)


def _check_device(device, who):
    if device not in (None, "cpu"):
        raise ValueError(f"dualjac.array_api.{who}: jets and NumPy arrays live on the CPU; "
                         f"device={device!r} is not supported (use 'cpu' or None)")


# ---------------------------------------------------------------- constants and dtypes

e, pi, inf, nan, newaxis = np.e, np.pi, np.inf, np.nan, None
bool = np.bool_  # noqa: A001 (the standard's name)
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float32, float64 = np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128


def _dtype_of(x):
    """The dtype of a jet, an array, a dtype or a Python scalar's NumPy equivalent."""
    if hasattr(x, "dtype") and not isinstance(x, type):
        return x.dtype
    return x


def isdtype(dtype, kind):
    return np.isdtype(np.dtype(_dtype_of(dtype)), kind)


def result_type(*arrays_and_dtypes):
    return np.result_type(*(_dtype_of(a) if _is_jet(a) else a for a in arrays_and_dtypes))


def can_cast(from_, to, /):
    return np.can_cast(_dtype_of(from_), to)


def finfo(type, /):  # noqa: A002 (the standard's name)
    return np.finfo(_dtype_of(type))


def iinfo(type, /):  # noqa: A002
    return np.iinfo(_dtype_of(type))


def astype(x, dtype, /, *, copy=True, device=None):
    _check_device(device, "astype")
    return np.astype(x, dtype, copy=copy)


# ---------------------------------------------------------------- creation

def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """A jet stays the jet (cast or copied when asked); a list or tuple holding jets is
    stacked into one (np.stack keeps derivatives; np.asarray would refuse them)."""
    _check_device(device, "asarray")
    if _is_jet(obj):
        if dtype is not None and np.dtype(dtype) != obj.dtype:
            return np.astype(obj, dtype)
        return np.copy(obj) if copy else obj
    if isinstance(obj, (list, tuple)) and _holds_jet(obj):
        stacked = np.stack([asarray(item) for item in obj])
        return stacked if dtype is None else np.astype(stacked, dtype)
    if copy is False:
        return np.asarray(obj, dtype=dtype, copy=False)
    return np.array(obj, dtype=dtype, copy=builtins.bool(copy)) if copy else np.asarray(obj, dtype=dtype)


def _holds_jet(items):
    return builtins.any(_is_jet(item) or (isinstance(item, (list, tuple)) and _holds_jet(item))
                        for item in items)


def _creation(name):
    numpy_function = getattr(np, name)

    def create(*args, device=None, **kwargs):
        _check_device(device, name)
        return numpy_function(*args, **kwargs)
    create.__name__ = create.__qualname__ = name
    create.__doc__ = f"np.{name}, with the standard's device= (the CPU only)."
    return create


for _name in ("arange", "empty", "empty_like", "eye", "full", "full_like", "linspace",
              "ones", "ones_like", "zeros", "zeros_like"):
    globals()[_name] = _creation(_name)

from_dlpack = np.from_dlpack
meshgrid = np.meshgrid
tril, triu = np.tril, np.triu


# ---------------------------------------------------------------- elementwise

# The standard's names of NumPy's ufuncs (aliases of the same objects, so the rules apply).
for _name in ("abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
              "bitwise_and", "bitwise_left_shift", "bitwise_invert", "bitwise_or",
              "bitwise_right_shift", "bitwise_xor", "ceil", "copysign", "cos", "cosh",
              "divide", "equal", "exp", "expm1", "floor", "floor_divide", "greater",
              "greater_equal", "hypot", "isfinite", "isinf", "isnan", "less", "less_equal",
              "log", "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not",
              "logical_or", "logical_xor", "maximum", "minimum", "multiply", "negative",
              "nextafter", "not_equal", "positive", "pow", "reciprocal", "remainder", "sign",
              "signbit", "sin", "sinh", "square", "sqrt", "subtract", "tan", "tanh", "trunc"):
    globals()[_name] = getattr(np, _name)


def _real_only(x, who):
    if isdtype(_dtype_of(x), "complex floating"):
        raise TypeError(f"dualjac.array_api.{who}: complex arrays are not supported")


def conj(x, /):
    """The identity on real arrays (jets are real)."""
    _real_only(x, "conj")
    return x


def real(x, /):
    _real_only(x, "real")
    return x


def imag(x, /):
    _real_only(x, "imag")
    return np.zeros_like(x)


def round(x, /):  # noqa: A001
    return np.rint(x)


def clip(x, /, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        return x
    return np.clip(x, min, max)


# ---------------------------------------------------------------- manipulation, indexing

broadcast_arrays, broadcast_to = np.broadcast_arrays, np.broadcast_to
expand_dims, flip, moveaxis, roll = np.expand_dims, np.flip, np.moveaxis, np.roll
repeat, squeeze, stack, tile = np.repeat, np.squeeze, np.stack, np.tile
take, take_along_axis = np.take, np.take_along_axis
where, nonzero, searchsorted, count_nonzero = np.where, np.nonzero, np.searchsorted, np.count_nonzero
argmax, argmin, diff = np.argmax, np.argmin, np.diff
all, any = np.all, np.any  # noqa: A001
matmul, tensordot = np.matmul, np.tensordot


def concat(arrays, /, *, axis=0):
    if axis is None:
        return np.concatenate([np.reshape(a, (-1,)) for a in arrays])
    return np.concatenate(arrays, axis=axis)


def vecdot(x1, x2, /, *, axis=-1):
    """The sum of products along axis (jets are real: no conjugate)."""
    return np.sum(np.multiply(x1, x2), axis=axis)


def permute_dims(x, /, axes):
    return np.transpose(x, axes)


def matrix_transpose(x, /):
    return np.swapaxes(x, -1, -2)


def reshape(x, /, shape, *, copy=None):
    result = np.reshape(x, shape)
    return np.copy(result) if copy else result


def unstack(x, /, *, axis=0):
    moved = np.moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(moved.shape[0]))


# ---------------------------------------------------------------- statistics, sorting

sum, prod, mean = np.sum, np.prod, np.mean  # noqa: A001
max, min = np.max, np.min  # noqa: A001
cumulative_sum, cumulative_prod = np.cumulative_sum, np.cumulative_prod


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    return np.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    return np.std(x, axis=axis, ddof=correction, keepdims=keepdims)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    if descending:
        return np.flip(np.sort(np.flip(x, axis=axis), axis=axis, kind="stable"), axis=axis)
    return np.sort(x, axis=axis, kind="stable" if stable else None)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    if descending:
        n = x.shape[axis] - 1
        return n - np.flip(np.argsort(np.flip(x, axis=axis), axis=axis, kind="stable"), axis=axis)
    return np.argsort(x, axis=axis, kind="stable" if stable else None)


unique_all, unique_counts = np.unique_all, np.unique_counts
unique_inverse, unique_values = np.unique_inverse, np.unique_values


# ---------------------------------------------------------------- linalg extension

def _vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    # (np.linalg.vector_norm: a tuple axis is one vector, never a matrix norm)
    return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


def _matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    return np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)


def _diagonal(x, /, *, offset=0):
    return np.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def _trace(x, /, *, offset=0, dtype=None):
    return np.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def _cholesky(x, /, *, upper=False):
    return np.linalg.cholesky(x, upper=upper)


def _outer(x1, x2, /):
    return np.outer(x1, x2)


linalg = SimpleNamespace(
    __name__=f"{__name__}.linalg",
    cholesky=_cholesky, cross=np.linalg.cross, det=np.linalg.det, diagonal=_diagonal,
    eigh=np.linalg.eigh, eigvalsh=np.linalg.eigvalsh, inv=np.linalg.inv, matmul=np.matmul,
    matrix_norm=_matrix_norm, matrix_power=np.linalg.matrix_power,
    matrix_rank=np.linalg.matrix_rank, matrix_transpose=matrix_transpose, outer=_outer,
    pinv=np.linalg.pinv, qr=np.linalg.qr, slogdet=np.linalg.slogdet, solve=np.linalg.solve,
    svd=np.linalg.svd, svdvals=np.linalg.svdvals, tensordot=np.tensordot,
    trace=_trace, vecdot=vecdot, vector_norm=_vector_norm)


# ---------------------------------------------------------------- inspection

class _Info:
    """``__array_namespace_info__()``: one device (the CPU), NumPy's dtypes."""

    def capabilities(self):
        # Boolean masks give data-dependent shapes, which jets support as NumPy does.
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self):
        return "cpu"

    def devices(self):
        return ["cpu"]

    def default_dtypes(self, *, device=None):
        _check_device(device, "default_dtypes")
        return {"real floating": np.dtype(np.float64), "complex floating": np.dtype(np.complex128),
                "integral": np.dtype(np.int64), "indexing": np.dtype(np.intp)}

    def dtypes(self, *, device=None, kind=None):
        _check_device(device, "dtypes")
        names = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float32", "float64", "complex64", "complex128")
        found = {name: np.dtype(name) for name in names}
        if kind is None:
            return found
        return {name: dtype for name, dtype in found.items() if np.isdtype(dtype, kind)}


def __array_namespace_info__():
    return _Info()


import sys as _sys  # noqa: E402

_THIS_MODULE = _sys.modules[__name__]


# ---------------------------------------------------------------- special (SciPy's hook)

class _Special:
    """``xp.special``: the scipy.special ufuncs that have derivative rules (erf, expit,
    gammaln, xlogy, ...). SciPy's array API support looks here for a backend's own
    implementation before converting to NumPy, so these keep their derivatives; the
    others are absent and SciPy runs its generic code or converts (and the guard names
    the function). SciPy is imported by then: this never imports it."""

    __name__ = f"{__name__}.special"

    def __getattr__(self, name):
        scipy_special = _sys.modules.get("scipy.special")
        if scipy_special is None or name.startswith("_"):
            raise AttributeError(name)
        from .dispatch import registry
        registry.register_pending_modules()
        attribute = getattr(scipy_special, name, None)
        function = None if attribute is None else inspect.unwrap(attribute)
        if function is None or function not in registry.TABLE_UFUNCS:
            raise AttributeError(f"dualjac.array_api.special has no rule for {name}")
        return function


special = _Special()
