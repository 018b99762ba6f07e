"""NumPy dispatch for dual arrays: NEP 13 ufuncs, NEP 18 functions, NEP 35 ``like=``.

Every jet (DualArray / HyperDualArray) is one buffer ``S + (K,)`` whose last
axis holds the value and the partials (see src_c/_core.pyx). That makes most of
NumPy easy and exact:

* structural functions (reshape, transpose, concatenate, indexing, ...) are the
  same function on the buffer with the component axis kept last;
* linear functions (sum, mean, cumsum, trace, ...) are the same function on the
  buffer, since they act on every component alike;
* multilinear functions (matmul, dot, einsum, tensordot, ...) go through one
  jet-aware einsum that applies the product rule (first and second order);
* elementwise functions are rows of the rules table, run by the C kernels
  (the fast path in ``_core`` catches plain calls before they reach here);
* other nonlinear functions (prod, max, norm, clip, ...) are compositions of
  the above, so their second derivatives come for free.

Anything else raises a TypeError naming the function: dualjac never returns a
silently derivative-free result.
"""

import functools
import math
import string
from collections import Counter

import numpy as np

from . import _core, _separable, rules
from ._core import DualArray, HyperDualArray, _Jet

HANDLED = {}          # NumPy function -> implementation on jets
VALUE_UFUNCS = set()  # ufuncs whose result carries no derivative (comparisons ...)


def implements(*functions):
    def register(impl):
        for func in functions:
            HANDLED[func] = impl
        return impl
    return register


def is_jet(x):
    return isinstance(x, _Jet)


def no_rule_error(name, what="function"):
    return TypeError(
        f"dualjac: {name} has no derivative rule for dual arrays, so it cannot be "
        f"applied without silently dropping derivatives. Rewrite it with supported "
        f"NumPy calls (see docs/semantics.md for the supported functions), or apply it to "
        f"x.value if you mean to differentiate nothing through it. Unsupported {what}: {name}.")


# Public NumPy namespaces by module, for error messages that name the function
# as the user wrote it (np.fft.fft, np.emath.sqrt, np.linalg.svd).
PUBLIC_MODULES = {"numpy": "np", "numpy.lib.scimath": "np.emath", "numpy.emath": "np.emath"}


def func_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    if module in PUBLIC_MODULES:
        prefix = PUBLIC_MODULES[module]
    elif module.startswith("numpy."):
        prefix = "np." + module[len("numpy."):].split("._")[0].replace("_", "")
    else:
        prefix = module
    return f"{prefix}.{func.__name__}"


def ufunc_name(ufunc):
    """np.sin, or scipy.special.erf: where the user's ufunc lives."""
    if getattr(np, ufunc.__name__, None) is ufunc:
        return f"np.{ufunc.__name__}"
    try:
        import scipy.special
        if getattr(scipy.special, ufunc.__name__, None) is ufunc:
            return f"scipy.special.{ufunc.__name__}"
    except ImportError:
        pass
    return f"ufunc {ufunc.__name__}"


# ---------------------------------------------------------------- hooks

def array_function(dispatcher, func, types, args, kwargs):
    """NEP 18 entry point. ``dispatcher`` is the jet NumPy asked; for NEP 35
    creation functions (np.zeros(n, like=x)) it is ``like``, absent from kwargs."""
    impl = HANDLED.get(func)
    if impl is None:
        raise no_rule_error(func_name(func))
    if func in CREATION and "like" not in kwargs:
        kwargs = dict(kwargs, like=dispatcher)
    return impl(*args, **kwargs)


def array_ufunc(ufunc, method, inputs, kwargs):
    if PENDING_MODULES and ufunc not in TABLE_UFUNCS:
        register_pending_modules()   # e.g. scipy.special, imported after dualjac
    name = ufunc_name(ufunc)
    if method != "__call__":
        return ufunc_method(ufunc, method, inputs, kwargs)
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise TypeError(f"dualjac: {name} with several outputs is not supported")
        out = out[0]
    if ufunc in VALUE_UFUNCS:     # comparisons and tests: plain results from values
        result = ufunc(*[value_of(x) for x in inputs], **kwargs)
        return result if out is None else store_into(out, result, name)
    dtype = kwargs.pop("dtype", None)
    where = kwargs.pop("where", True)
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    if kwargs:
        raise TypeError(f"dualjac: {name} on dual arrays does not support the "
                        f"keyword arguments {sorted(kwargs)}.")
    if not any(is_jet(x) for x in inputs):
        result = ufunc(*inputs)  # only `out` is a jet: plain values, stored below
    elif ufunc in TABLE_UFUNCS and ufunc.nin == 1:
        result = _core.apply_unary(TABLE_UFUNCS[ufunc], inputs[0])
    elif ufunc in TABLE_UFUNCS and ufunc.nin == 2:
        result = _core.apply_binary(TABLE_UFUNCS[ufunc], inputs[0], inputs[1])
    elif ufunc in EXTRA_UFUNCS:
        result = EXTRA_UFUNCS[ufunc](*inputs)
    else:
        raise no_rule_error(name, "ufunc")
    if dtype is not None:
        result = astype(result, dtype)
    if where is not True:
        result = where_(where, result, out if out is not None else np.zeros_like(result))
    if out is not None:
        return store_into(out, result, name)
    return result


def ufunc_method(ufunc, method, inputs, kwargs):
    impl = UFUNC_METHODS.get((ufunc, method))
    if impl is None:
        raise no_rule_error(f"{ufunc_name(ufunc)}.{method}", "ufunc method")
    return impl(*inputs, **kwargs)


def store_into(out, result, name):
    """ufunc(..., out=out): only a dual array can hold a dual result."""
    if not is_jet(out):
        if is_jet(result):
            raise TypeError(
                f"dualjac: {name}(..., out=array) would store a dual result into a plain "
                "ndarray and drop its derivatives. Create the output with "
                "np.zeros_like(x) or np.zeros(shape, like=x) instead.")
        out[...] = result
        return out
    out[...] = result
    return out


def value_of(x):
    return x.buf[..., 0] if is_jet(x) else x


# ---------------------------------------------------------------- helpers

def normalize_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def normalize_axes(axis, ndim):
    """axis=None/int/tuple -> tuple of non-negative element axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(normalize_axis(a, ndim) for a in axis)
    return (normalize_axis(axis, ndim),)


def jet_from(proto, buf, deps1, deps2):
    return proto.with_buffer(np.ascontiguousarray(buf), deps1, deps2)


def on_value_shape(a, numpy_call, buffer_call):
    """buffer_call(): NumPy on a's buffer (a's axes and the component axis). When
    NumPy rejects the user's shape or axes there, numpy_call's error for a plain
    array of a's shape is raised instead: a message must be about the user's
    array, never show the component axis (size n * K, an extra axis)."""
    return on_value_shapes((a.shape,), numpy_call, buffer_call)


def on_value_shapes(shapes, numpy_call, buffer_call):
    """on_value_shape for a NumPy call on several arrays, of these shapes."""
    try:
        return buffer_call()
    except (ValueError, TypeError, IndexError):
        value_error = error_of(numpy_call, shapes)
        if value_error is None:
            raise
        raise value_error from None


def error_of(numpy_call, shapes):
    """The exception numpy_call raises on plain arrays of these shapes (None if
    none): read-only broadcasts of one byte, so that they take no memory."""
    try:
        numpy_call(*[np.broadcast_to(np.zeros((), np.int8), shape) for shape in shapes])
    except Exception as error:           # NumPy's own error, whatever its type
        return error
    return None


def on_buffer(a, buf):
    """a's level and connectivity over a new buffer (a structural or linear result)."""
    return a.with_buffer(np.ascontiguousarray(buf))


def view_of(a, buf):
    """a's level over buf, a view of a's buffer where NumPy returns a view (reshape,
    transpose, ...): kept a view, never made contiguous, so that writes through it
    reach a (and a's connectivity is shared, see _core's Connectivity)."""
    return a.with_buffer(buf)


def unify(items):
    return _core.unify(list(items))


def reject_out(out, name):
    if out is not None:
        raise TypeError(f"dualjac: {name}(..., out=...) is not supported for dual "
                        "arrays; assign the result instead.")


def astype(x, dtype):
    dtype = np.dtype(dtype)
    if not is_jet(x):
        return np.asarray(x).astype(dtype)
    if dtype.char in "fd":
        return on_buffer(x, x.buf.astype(dtype.newbyteorder("=")))
    if dtype.kind in "biu":
        # Integer casts are not differentiable paths (as in TF): plain values.
        return x.buf[..., 0].astype(dtype)
    raise TypeError(f"dualjac: cannot cast a dual array to {dtype}; dual arrays hold "
                    "float32 or float64.")


# ---------------------------------------------------------------- ufuncs with no table row

def _with_values(result, values):
    """result's derivatives under NumPy's own values (exactly what NumPy returns)."""
    buf = result.buf.copy()
    buf[..., 0] = values
    return result.with_buffer(buf)


def _floor_divide(x, y):
    """NumPy's floor quotient; a step: zero derivative, connected to both operands."""
    return _with_values(np.floor(np.true_divide(x, y)), np.floor_divide(value_of(x), value_of(y)))


def _remainder(x, y):
    """x - q y with q NumPy's floor quotient (a constant): derivative 1 in x and -q
    in y. Values are NumPy's (a rounded x / y can differ: 1.0 // 0.1 is 9.0)."""
    xv, yv = value_of(x), value_of(y)
    q = np.floor_divide(xv, yv)
    return _with_values(x - q * y, np.remainder(xv, yv))


def _fmod(x, y):
    """x - q y with q the truncated quotient that NumPy's fmod used (C's sign rule)."""
    xv, yv = value_of(x), value_of(y)
    r = np.fmod(xv, yv)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.rint((xv - r) / yv)
    return _with_values(x - q * y, r)


EXTRA_UFUNCS = {np.floor_divide: _floor_divide, np.remainder: _remainder, np.fmod: _fmod}

for _name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
              "isnan", "isinf", "isfinite", "signbit", "logical_and", "logical_or",
              "logical_xor", "logical_not", "isnat"):
    if hasattr(np, _name):
        VALUE_UFUNCS.add(getattr(np, _name))


TABLE_UFUNCS = {}   # ufunc object -> rules-table row name


PENDING_MODULES = set()   # rules-table modules not imported yet (scipy.special)


def register_table_ufuncs():
    """Give the C fast path every rules-table ufunc whose module (numpy,
    scipy.special) is imported. Other modules wait: a program that calls
    scipy.special.erf on a dual array has imported SciPy by then, and
    register_pending_modules picks it up on the first miss, so `import dualjac`
    never pays for importing SciPy (SciPy is optional, too)."""
    PENDING_MODULES.update(row.module for row in rules.UNARY + rules.BINARY)
    register_pending_modules()


def register_pending_modules():
    """Register the rows of pending modules that are now imported; True if any."""
    import sys

    loaded = {name: sys.modules[name] for name in PENDING_MODULES if name in sys.modules}
    if not loaded:
        return False
    PENDING_MODULES.difference_update(loaded)

    def ufuncs(rows):
        return {getattr(loaded[row.module], row.name): row.name for row in rows
                if row.module in loaded and hasattr(loaded[row.module], row.name)}

    unary, binary = ufuncs(rules.UNARY), ufuncs(rules.BINARY)
    TABLE_UFUNCS.update(unary)
    TABLE_UFUNCS.update(binary)
    _core.register_ufuncs(unary, binary)
    return True


# ---------------------------------------------------------------- structural

@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    if order != "C":
        raise NotImplementedError("dualjac: reshape supports order='C' only")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return view_of(a, on_value_shape(a, lambda v: np.reshape(v, shape),
                                       lambda: a.buf.reshape(shape + (a.ncomponents,))))


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, -1, order=order)


@implements(np.transpose)
def transpose(a, axes=None):
    if axes is None:
        return view_of(a, a.buf.transpose(tuple(reversed(range(a.ndim))) + (a.ndim,)))
    return view_of(a, on_value_shape(
        a, lambda v: np.transpose(v, axes),
        lambda: a.buf.transpose(normalize_axes(axes, a.ndim) + (a.ndim,))))


@implements(np.permute_dims) if hasattr(np, "permute_dims") else (lambda f: f)
def permute_dims(a, axes=None):
    return transpose(a, axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    return view_of(a, on_value_shape(
        a, lambda v: np.swapaxes(v, axis1, axis2),
        lambda: np.swapaxes(a.buf, normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim))))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    return view_of(a, on_value_shape(
        a, lambda v: np.moveaxis(v, source, destination),
        lambda: np.moveaxis(a.buf, normalize_axes(source, a.ndim),
                            normalize_axes(destination, a.ndim))))


@implements(np.squeeze)
def squeeze(a, axis=None):
    if axis is None:
        axis = tuple(i for i, n in enumerate(a.shape) if n == 1)
    return view_of(a, on_value_shape(a, lambda v: np.squeeze(v, axis),
                                       lambda: np.squeeze(a.buf, normalize_axes(axis, a.ndim))))


@implements(np.expand_dims)
def expand_dims(a, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return view_of(a, on_value_shape(
        a, lambda v: np.expand_dims(v, axis),
        lambda: np.expand_dims(a.buf, normalize_axes(axes, a.ndim + len(axes)))))


@implements(np.broadcast_to)
def broadcast_to(a, shape, subok=False):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return view_of(a, on_value_shape(a, lambda v: np.broadcast_to(v, shape),
                                       lambda: np.broadcast_to(a.buf, shape + (a.ncomponents,))))


@implements(np.copy)
def copy(a, order="K", subok=False):
    return on_buffer(a, a.buf.copy())


@implements(np.flip)
def flip(a, axis=None):
    return view_of(a, np.flip(a.buf, normalize_axes(axis, a.ndim)))


@implements(np.roll)
def roll(a, shift, axis=None):
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    return on_buffer(a, np.roll(a.buf, shift, normalize_axes(axis, a.ndim)))


ATLEAST_SHAPES = {
    1: {0: lambda s: (1,)},
    2: {0: lambda s: (1, 1), 1: lambda s: (1,) + s},
    3: {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,), 2: lambda s: s + (1,)},
}


def _atleast(n):
    plain = getattr(np, f"atleast_{n}d")

    def impl(*arys):
        results = []
        for a in arys:
            if is_jet(a) and a.ndim < n:
                a = reshape(a, ATLEAST_SHAPES[n][a.ndim](a.shape))
            results.append(a if is_jet(a) else plain(a))
        return results[0] if len(results) == 1 else results
    return impl


for _n in (1, 2, 3):
    HANDLED[getattr(np, f"atleast_{_n}d")] = _atleast(_n)


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out(out, "np.concatenate")
    arrays = list(arrays)
    if axis is None:
        arrays = [ravel(x) if is_jet(x) else np.ravel(x) for x in arrays]
        axis = 0
    proto, bufs, d1, d2 = unify(arrays)
    ndim = bufs[0].ndim - 1
    if any(b.ndim - 1 != ndim for b in bufs) or ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated" if ndim == 0 else
                         "all the input arrays must have the same number of dimensions")
    joined = _core.join_buffers(bufs, normalize_axis(axis, ndim), False)
    result = proto.with_buffer(joined, d1, d2)
    return astype(result, dtype) if dtype is not None else result


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out(out, "np.stack")
    proto, bufs, d1, d2 = unify(list(arrays))
    axis = normalize_axis(axis, bufs[0].ndim)   # element ndim + 1: the result's element ndim
    result = proto.with_buffer(_core.join_buffers(bufs, axis, True), d1, d2)
    return astype(result, dtype) if dtype is not None else result


@implements(np.hstack)
def hstack(tup, dtype=None, casting="same_kind"):
    arrays = [_atleast(1)(a) for a in tup]
    axis = 0 if all(np.ndim(value_of(a)) == 1 for a in arrays) else 1
    return concatenate(arrays, axis=axis, dtype=dtype)


@implements(np.vstack)
def vstack(tup, dtype=None, casting="same_kind"):
    return concatenate([_atleast(2)(a) for a in tup], axis=0, dtype=dtype)


@implements(np.column_stack)
def column_stack(tup):
    arrays = []
    for a in tup:
        if np.ndim(value_of(a)) < 2:
            a = reshape(a, (-1, 1)) if is_jet(a) else np.reshape(a, (-1, 1))
        arrays.append(a)
    return concatenate(arrays, axis=1)


@implements(np.where)
def where_(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(value_of(condition))
    cond = np.asarray(value_of(condition)).astype(bool)
    if not is_jet(x) and not is_jet(y):
        return np.where(cond, x, y)       # only the condition was dual: values decide
    proto, (bx, by), d1, d2 = unify([x, y])
    return jet_from(proto, on_value_shapes((cond.shape, np.shape(x), np.shape(y)), np.where,
                                           lambda: np.where(cond[..., None], bx, by)), d1, d2)


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    reject_out(out, "np.take")
    if axis is None:
        a, axis = ravel(a), 0
    return on_buffer(a, np.take(a.buf, indices, axis=normalize_axis(axis, a.ndim), mode=mode))


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis):
    if axis is None:
        arr, axis = ravel(arr), 0
    idx = np.asarray(indices)
    return on_buffer(arr, on_value_shape(
        arr, lambda v: np.take_along_axis(v, idx, axis),
        lambda: np.take_along_axis(arr.buf, idx[..., None], axis=normalize_axis(axis, arr.ndim))))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = ravel(a), 0
    return on_buffer(a, on_value_shape(
        a, lambda v: np.repeat(v, repeats, axis=axis),
        lambda: np.repeat(a.buf, repeats, axis=normalize_axis(axis, a.ndim))))


@implements(np.tile)
def tile(a, reps):
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(a.ndim, len(reps))
    a = reshape(a, (1,) * (ndim - a.ndim) + a.shape)
    return on_buffer(a, on_value_shape(
        a, lambda v: np.tile(v, reps),
        lambda: np.tile(a.buf, (1,) * (ndim - len(reps)) + reps + (1,))))


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    d = on_value_shape(a, lambda v: np.diagonal(v, offset, axis1, axis2),
                       lambda: np.diagonal(a.buf, offset, normalize_axis(axis1, a.ndim),
                                           normalize_axis(axis2, a.ndim)))
    return view_of(a, np.moveaxis(d, -1, -2))  # NumPy puts the diagonal last


# ---------------------------------------------------------------- linear

def _over_every_element(a, axis, keepdims, initial, where, dtype):
    """Whether np.sum / np.mean reduce every element axis in the plain way, which
    _core.sum_elements does in one pass (NumPy reduces a (rows, K) buffer row by row)."""
    return (axis is None or normalize_axes(axis, a.ndim) == tuple(range(a.ndim))) and (
        not keepdims and initial is None and where is True and dtype is None)


@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.sum")
    if _separable.ACTIVE[0] and initial is None and where is True and dtype is None:
        partial = _separable.full_sum(a, a.ndim, axis, keepdims)
        if partial is not None:
            return partial
    if _over_every_element(a, axis, keepdims, initial, where, dtype):
        return _core.sum_elements(a)
    axes = normalize_axes(axis, a.ndim)
    mask = where if where is True else np.asarray(where)[..., None]
    result = on_buffer(a, np.sum(a.buf, axis=axes, keepdims=keepdims, where=mask))
    if initial is not None:
        result = result + initial
    return astype(result, dtype) if dtype is not None else result


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    reject_out(out, "np.mean")
    if _separable.ACTIVE[0] and where is True and dtype is None:
        partial = _separable.full_sum(a, a.ndim, axis, keepdims, 1.0 / max(a.size, 1))
        if partial is not None:
            return partial
    if a.size and _over_every_element(a, axis, keepdims, None, where, dtype):
        return _core.sum_elements(a) / a.size
    axes = normalize_axes(axis, a.ndim)
    mask = where if where is True else np.asarray(where)[..., None]
    result = on_buffer(a, np.mean(a.buf, axis=axes, keepdims=keepdims, where=mask))
    return astype(result, dtype) if dtype is not None else result


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    reject_out(out, "np.cumsum")
    if axis is None:
        a, axis = ravel(a), 0
    result = on_buffer(a, np.cumsum(a.buf, axis=normalize_axis(axis, a.ndim)))
    return astype(result, dtype) if dtype is not None else result


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    reject_out(out, "np.trace")
    return sum_(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# ---------------------------------------------------------------- nonlinear, by composition

@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Pairwise products along the axis: exact at any order, and right at zeros
    (unlike exp(sum(log)))."""
    reject_out(out, "np.prod")
    # NumPy's own value (its order of products): a pairwise product can differ in
    # the last bit, which an ill-conditioned f (sin of a large product) magnifies.
    start = {} if initial is None else {"initial": initial}
    values = np.prod(a.buf[..., 0], axis=axis, keepdims=keepdims, where=where, **start)
    if where is not True:
        a = where_(where, a, 1.0)
    axes = normalize_axes(axis, a.ndim)
    kept = [i for i in range(a.ndim) if i not in axes]
    t = transpose(a, tuple(axes) + tuple(kept))
    # (the reduced size spelled out: -1 is ambiguous when a kept axis is empty)
    t = reshape(t, (math.prod(a.shape[i] for i in axes),) + tuple(a.shape[i] for i in kept))
    if t.shape[0] == 0:           # the empty product is 1 (zero derivative, still connected)
        one = np.zeros((1,) + t.shape[1:] + (t.ncomponents,), t.dtype)
        one[..., 0] = 1
        t = on_buffer(t, one)
    while t.shape[0] > 1:
        half = t.shape[0] // 2
        head = t[:half] * t[half:2 * half]
        t = concatenate([head, t[2 * half:]]) if t.shape[0] % 2 else head
    result = t[0]
    if keepdims:
        result = reshape(result, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
    if initial is not None:
        result = result * initial
    result = _with_values(result, values)
    return astype(result, dtype) if dtype is not None else result


def _select(a, axis, keepdims, arg_function):
    """The derivative of max/min is the selected element's: the first one of
    ties (np.argmax's choice)."""
    axes = normalize_axes(axis, a.ndim)
    kept = [i for i in range(a.ndim) if i not in axes]
    t = transpose(a, tuple(kept) + tuple(axes))
    t = reshape(t, tuple(a.shape[i] for i in kept) + (math.prod(a.shape[i] for i in axes),))
    if t.shape[-1] == 0:
        raise ValueError("zero-size array to reduction operation which has no identity")
    index = arg_function(t.buf[..., 0], axis=-1)[..., None]
    result = take_along_axis(t, index, axis=-1)[..., 0]
    if keepdims:
        result = reshape(result, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
    return result


def _extremum(a, axis, keepdims, initial, where, arg_function, pick, fill):
    """max/min with NumPy's where= (masked elements never win) and initial=
    (which wins ties against the data, as np.maximum's first argument would not:
    the data's derivative is kept on ties, TF's maximum rule)."""
    if where is not True:
        a = where_(where, a, fill)
    result = _select(a, axis, keepdims, arg_function)
    if initial is not None:
        result = pick(result, initial)
    return result


@implements(np.max, np.amax)
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.max")
    return _extremum(a, axis, keepdims, initial, where, np.argmax, np.maximum, -np.inf)


@implements(np.min, np.amin)
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    reject_out(out, "np.min")
    return _extremum(a, axis, keepdims, initial, where, np.argmin, np.minimum, np.inf)


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """min(max(a, lo), hi): inside [lo, hi] (bounds included) the derivative is
    a's, outside it is the bound's (TF's clip_by_value rule)."""
    reject_out(out, "np.clip")
    lo = min if a_min is None else a_min
    hi = max if a_max is None else a_max
    if lo is not None:
        a = np.maximum(a, lo)
    if hi is not None:
        a = np.minimum(a, hi)
    return a


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms as compositions (so second order comes free).
    The spectral and nuclear norms need singular values: not yet supported.
    At x = 0 the 2-norm has no derivative: the tangents of sum(x*x) are exact
    zeros there, so sqrt's infinite slope meets structural zeros and the
    gradient is 0 (the smallest subgradient, like |x| at 0) with an infinite
    Hessian diagonal; JAX and TF give NaN (inf * 0)."""
    if axis is None:
        if ord is None:
            return np.sqrt(sum_(x * x, axis=None, keepdims=keepdims))
        if x.ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(x.ndim))
    axes = normalize_axes(axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return np.sqrt(sum_(x * x, axis=axis, keepdims=keepdims))
    if ord == 1:
        return sum_(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max_(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min_(np.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str) or ord == 0:
        raise no_rule_error(f"np.linalg.norm(ord={ord!r}) of a vector")
    return sum_(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    rows, cols = axes
    if ord in (None, "fro"):
        result = np.sqrt(sum_(x * x, axis=axes, keepdims=True))
    elif ord in (1, -1, np.inf, -np.inf):
        # 1: largest column sum of |x|; inf: largest row sum; negative: smallest.
        summed_axis, picked_axis = (rows, cols) if abs(ord) == 1 else (cols, rows)
        pick = max_ if ord > 0 else min_
        result = pick(sum_(np.abs(x), axis=summed_axis, keepdims=True), axis=picked_axis,
                      keepdims=True)
    else:
        raise no_rule_error(f"np.linalg.norm(ord={ord!r}) of a matrix (needs singular values)")
    return result if keepdims else squeeze(result, axes)


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
        correction=None):
    reject_out(out, "np.var")
    if mean is not None:
        raise NotImplementedError("dualjac: np.var(..., mean=) on dual arrays")
    ddof = ddof if correction is None else correction
    mask = np.broadcast_to(np.asarray(where, dtype=bool), a.shape)
    axes = normalize_axes(axis, a.ndim)
    # a Python-float count keeps float32 float32 (NEP 50), as NumPy's var does
    count = np.sum(mask, axis=axes, keepdims=True).astype(a.dtype)
    centered = a - sum_(a, axis=axes, keepdims=True, where=mask) / count
    squares = sum_(centered * centered, axis=axes, keepdims=keepdims, where=mask)
    count = count if keepdims else np.squeeze(count, axes)
    result = squares / (count - ddof) if count.ndim else squares / float(count - ddof)
    return astype(result, dtype) if dtype is not None else result


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
        correction=None):
    """sqrt(var). Where the variance is exactly 0 with exactly-zero tangents (a
    length-1 axis: std is identically 0 there) the derivative is 0: sqrt's
    infinite slope times a structural zero (src_c/singular.h); TF gives 0 off
    its diagonal and NaN on it, JAX NaN."""
    return np.sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                       where=where, mean=mean, correction=correction))


# ---------------------------------------------------------------- multilinear (einsum)

def parse_einsum(subscripts, ndims):
    """Explicit subscripts: (input specs, output spec, unused letters), ellipses expanded."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    specs = inputs.split(",")
    used = set(c for c in subscripts if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    widths = [nd - (len(s) - 3) for s, nd in zip(specs, ndims) if "..." in s]
    ellipsis = "".join(free[:max(widths, default=0)])
    free = free[len(ellipsis):]
    expanded = []
    for spec, nd in zip(specs, ndims):
        if "..." in spec:
            width = nd - (len(spec) - 3)
            spec = spec.replace("...", ellipsis[len(ellipsis) - width:])
        expanded.append(spec)
    if "->" in subscripts:
        output = output.replace("...", ellipsis)
    else:
        counts = Counter("".join(expanded))
        output = ellipsis + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ellipsis))
    return expanded, output, free


def jet_einsum(specs, output, free, operands):
    """einsum with the product rule: jets' components get extra seed letters.

    Dual:  t = sum_i E(.., t_i, ..)
    Hyper: d1, d2 likewise; d12 = sum_i E(.., d12_i, ..) + sum_{i != j} E(.., d1_i, .., d2_j, ..)
    """
    jets = [i for i, x in enumerate(operands) if is_jet(x)]
    proto, bufs, d1, d2 = unify([operands[i] for i in jets])
    dtype = bufs[0].dtype
    parts = {i: buf for i, buf in zip(jets, bufs)}
    values = [parts[i][..., 0] if i in parts else np.asarray(x, dtype=np.result_type(x, dtype))
              for i, x in enumerate(operands)]
    s1, s2 = free[0], free[1]
    n1 = proto.n1

    def einsum_with(replaced):
        """E over values, with operand i replaced by (array, its trailing seed letters).

        The seed axes go first, in the operands (contiguous) and in the output: then
        NumPy reduces every seed's slice with the same inner loops whatever the number
        of seeds, so chunked sweeps (parallel_iterations) stay bit-identical. With the
        seed axis last, one seed changes the loop NumPy picks, and the last bit."""
        ins, args = [], []
        for i in range(len(specs)):
            if i in replaced:
                array, letters = replaced[i]
                moved = np.moveaxis(array, range(-len(letters), 0), range(len(letters)))
                ins.append(letters + specs[i])
                args.append(np.ascontiguousarray(moved))
            else:
                ins.append(specs[i])
                args.append(values[i])
        extra = "".join(sorted(set("".join(r[1] for r in replaced.values())), key=(s1 + s2).index))
        result = np.einsum(",".join(ins) + "->" + extra + output, *args)
        return np.moveaxis(result, range(len(extra)), range(-len(extra), 0))

    value = einsum_with({})
    if proto.order == 1:
        tangent = sum(einsum_with({i: (parts[i][..., 1:], s1)}) for i in jets)
        buf = np.concatenate([value[..., None], np.broadcast_to(tangent, value.shape + (n1,))], -1)
        return jet_from(proto, buf, d1, d2)
    split = {i: second_order_parts(proto, parts[i]) for i in jets}
    t1 = sum(einsum_with({i: (split[i][0], s1)}) for i in jets)
    t2 = sum(einsum_with({i: (split[i][1], s2)}) for i in jets)
    t12 = sum(einsum_with({i: (split[i][2], s1 + s2)}) for i in jets)
    t12 = t12 + sum(einsum_with({i: (split[i][0], s1), j: (split[j][1], s2)})
                    for i in jets for j in jets if i != j)
    return jet_from(proto, assemble_second_order(proto, value, t1, t2, t12), d1, d2)


def second_order_parts(proto, buf):
    """(d1, d2, d12) of a hyper-dual buffer: S + (n1,), S + (n2,), S + (n1, n2);
    a Hessian (symmetric) buffer has d1 = d2 and its triangle unpacked."""
    n1, n2 = proto.n1, proto.n2
    if proto.order == 3:
        full = _core.unpack_symmetric(proto.with_buffer(np.ascontiguousarray(buf)),
                                      buf.shape[:-1] + (n1, n1))
        return buf[..., 1:1 + n1], buf[..., 1:1 + n1], full
    cross = buf[..., 1 + n1 + n2:].reshape(buf.shape[:-1] + (n1, n2))
    return buf[..., 1:1 + n1], buf[..., 1 + n1:1 + n1 + n2], cross


def assemble_second_order(proto, value, t1, t2, t12):
    """The buffer of proto's layout from value, first parts and the full cross block."""
    shape = value.shape
    n1, n2 = proto.n1, proto.n2
    t1 = np.broadcast_to(t1, shape + (n1,))
    t12 = np.broadcast_to(t12, shape + (n1, n2))
    if proto.order == 3:
        rows, cols = np.triu_indices(n1)
        return np.concatenate([value[..., None], t1, t12[..., rows, cols]], -1)
    return np.concatenate([value[..., None], t1, np.broadcast_to(t2, shape + (n2,)),
                           t12.reshape(shape + (n1 * n2,))], -1)


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=False, dtype=None, **kwargs):
    reject_out(out, "np.einsum")
    if not isinstance(subscripts, str):
        raise NotImplementedError("dualjac: np.einsum needs string subscripts for dual arrays")
    ndims = [np.ndim(value_of(x)) for x in operands]
    specs, output, free = parse_einsum(subscripts, ndims)
    result = jet_einsum(specs, output, free, list(operands))
    return astype(result, dtype) if dtype is not None else result


def _letters(n, start=0):
    return string.ascii_lowercase[start:start + n]


@implements(np.matmul)
def matmul(a, b, out=None, **kwargs):
    reject_out(out, "np.matmul")
    if is_scipy_sparse(a) or is_scipy_sparse(b):
        return _sparse_matmul(a, b)
    if _separable.ACTIVE[0]:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    if is_jet(a) and is_jet(b):
        if a.order == 1 and b.order == 1 and a.level() == b.level():
            # (a b)' = a' b + a b': two matmuls that each keep the buffer layout.
            result = _jet_matmul_constant(a, b.buf[..., 0])
            rest = _constant_matmul_jet(a.buf[..., 0], b)
            buf = result.buf.copy()
            buf[..., 1:] += rest.buf[..., 1:]
            return a.with_buffer(buf, a.deps1 | b.deps1, a.deps2 | b.deps2)
        return _matmul_einsum(a, b)
    if is_jet(b):
        return _constant_matmul_jet(np.asarray(a), b)
    return _jet_matmul_constant(a, np.asarray(b))


def is_scipy_sparse(x):
    """A scipy.sparse matrix or array (without importing SciPy)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocsr")


def _sparse_matmul(a, b):
    """L @ x or x @ L with L a constant scipy.sparse matrix: L applied to every component of
    the jet's buffer at once (a sparse times dense-block product, in SciPy's C code)."""
    if is_scipy_sparse(a) and is_scipy_sparse(b) or not (is_jet(a) or is_jet(b)):
        raise TypeError("dualjac: a product of scipy.sparse matrices has no dual operand here")
    if is_jet(b):                                   # L (m, n) @ b (n,) or (n, p)
        L, buf = a.tocsr(), b.buf
        if b.ndim not in (1, 2) or b.shape[0] != L.shape[1]:
            raise ValueError(f"matmul: L has shape {L.shape}, x has shape {b.shape}")
        flat = buf.reshape(buf.shape[0], -1)
        out = np.asarray(L @ flat).reshape((L.shape[0],) + buf.shape[1:])
        return b.with_buffer(np.ascontiguousarray(out.astype(buf.dtype, copy=False)))
    L, buf = b.tocsr(), a.buf                       # a (n,) or (m, n) @ L (n, p)
    if a.ndim not in (1, 2) or a.shape[-1] != L.shape[0]:
        raise ValueError(f"matmul: x has shape {a.shape}, L has shape {L.shape}")
    moved = np.moveaxis(buf, a.ndim - 1, 0)        # (n, [m,] K)
    out = np.asarray(L.T @ moved.reshape(moved.shape[0], -1)).reshape(
        (L.shape[1],) + moved.shape[1:])
    return a.with_buffer(np.ascontiguousarray(np.moveaxis(out, 0, a.ndim - 1).astype(
        buf.dtype, copy=False)))


def _constant_matmul_jet(A, b):
    """A @ b with b a jet: one matmul over the buffer (the components ride along)."""
    K = b.ncomponents
    dtype = np.result_type(A, b.dtype)
    if b.ndim == 1:
        buf = np.matmul(A.astype(dtype, copy=False), b.buf.astype(dtype, copy=False))
    else:
        flat = b.buf.reshape(b.shape[:-1] + (b.shape[-1] * K,)).astype(dtype, copy=False)
        out = np.matmul(A.astype(dtype, copy=False), flat)
        buf = out.reshape(out.shape[:-1] + (b.shape[-1], K))
    return b.with_buffer(np.ascontiguousarray(buf))


def _jet_matmul_constant(a, B):
    """a @ B with a a jet: the component axis moved in front of the matrix axes."""
    dtype = np.result_type(a.dtype, B)
    B = B.astype(dtype, copy=False)
    abuf = a.buf.astype(dtype, copy=False)
    if a.ndim == 1:
        out = np.matmul(abuf.T, B)                         # (..., K, p) or (K,)
        buf = out if B.ndim == 1 else np.moveaxis(out, -2, -1)
    else:
        if B.ndim > 2:
            B = B[..., None, :, :]                         # align B's batch with a's
        out = np.matmul(np.moveaxis(abuf, -1, -3), B)      # (..., K, m, p) or (..., K, m)
        buf = np.moveaxis(out, -2, -1) if B.ndim == 1 else np.moveaxis(out, -3, -1)
    return a.with_buffer(np.ascontiguousarray(buf))


def _matmul_einsum(a, b):
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if na == 1 and nb == 1:
        return einsum("i,i->", a, b)
    if na == 1:
        return einsum("j,...jk->...k", a, b)
    if nb == 1:
        return einsum("...ij,j->...i", a, b)
    return einsum("...ij,...jk->...ik", a, b)


@implements(np.dot)
def dot(a, b, out=None):
    reject_out(out, "np.dot")
    if _separable.ACTIVE[0]:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if na == 0 or nb == 0:
        return _scalar_product(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    # N-D dot: a's last axis against b's second-to-last (its only axis when 1-D).
    la = _letters(na)
    if nb == 1:
        return einsum(f"{la},{la[-1]}->{la[:-1]}", a, b)
    lb = _letters(nb, na)
    lb = lb[:-2] + la[-1] + lb[-1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-2]}{lb[-1]}", a, b)


@implements(np.vdot)
def vdot(a, b):
    return dot(_ravel_any(a), _ravel_any(b))


@implements(np.inner)
def inner(a, b):
    if _separable.ACTIVE[0]:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if na == 0 or nb == 0:
        return _scalar_product(a, b)
    la, lb = _letters(na), _letters(nb, na)
    lb = lb[:-1] + la[-1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-1]}", a, b)


@implements(np.outer)
def outer(a, b, out=None):
    reject_out(out, "np.outer")
    return einsum("i,j->ij", _ravel_any(a), _ravel_any(b))


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = [normalize_axes(ax, n) for ax, n in zip(axes, (na, nb))]
    la, lb = list(_letters(na)), list(_letters(nb, na))
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in axes_a] + [c for j, c in enumerate(lb) if j not in axes_b]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


def _scalar_product(a, b):
    """dot / inner with a scalar: NumPy converts a Python scalar to an array
    first (so it is not 'weak' as in a ufunc), and so do we."""
    return np.multiply(a if is_jet(a) else np.asarray(a), b if is_jet(b) else np.asarray(b))


def _ravel_any(x):
    return ravel(x) if is_jet(x) else np.ravel(x)


# ---------------------------------------------------------------- creation (NEP 35 like=)

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


@implements(np.zeros, np.empty)
def zeros(shape, dtype=None, order="C", *, like=None, device=None):
    return _created_like(like, shape, dtype, None, lambda: np.zeros(shape, dtype, order))


@implements(np.ones)
def ones(shape, dtype=None, order="C", *, like=None, device=None):
    return _created_like(like, shape, dtype, 1, lambda: np.ones(shape, dtype, order))


@implements(np.full)
def full(shape, fill_value, dtype=None, order="C", *, like=None, device=None):
    if dtype is None:
        dtype = np.result_type(value_of(fill_value), np.float64) if not is_jet(fill_value) \
            else fill_value.dtype
    return _created_like(like, shape, dtype, fill_value,
                         lambda: np.full(shape, value_of(fill_value), dtype, order))


# NEP 35 creation functions: their `like` is the dispatching jet (see array_function).
CREATION = {np.zeros, np.empty, np.ones, np.full, np.asarray, np.asanyarray, np.array,
            np.ascontiguousarray}


@implements(np.asarray, np.asanyarray, np.array, np.ascontiguousarray)
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


if hasattr(np, "astype"):
    HANDLED[np.astype] = lambda x, dtype, copy=True, **kw: astype(x, dtype)


# ---------------------------------------------------------------- value-only functions

def _on_values(function):
    @functools.wraps(function)
    def impl(*args, **kwargs):
        return function(*[value_of(a) for a in args],
                        **{k: value_of(v) for k, v in kwargs.items()})
    return impl


for _f in (np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero,
           np.flatnonzero, np.count_nonzero, np.isclose, np.allclose, np.array_equal,
           np.any, np.all, np.searchsorted, np.iscomplexobj, np.isrealobj, np.result_type,
           np.isscalar, np.isneginf, np.isposinf, np.isreal, np.iscomplex, np.digitize,
           np.argpartition):
    HANDLED[_f] = _on_values(_f)


def _lexsort(keys, axis=-1):
    """Indices, like argsort: computed on the keys' values. (NumPy dispatches
    np.lexsort to dual keys given as a tuple; a list of dual keys is converted by
    NumPy itself first, which the conversion guard refuses.)"""
    if isinstance(keys, (tuple, list)):
        keys = tuple(value_of(k) for k in keys)
    return np.lexsort(value_of(keys), axis=axis)


HANDLED[np.lexsort] = _lexsort


# ---------------------------------------------------------------- ufunc methods

def _reduce_sum(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return sum_(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)


def _reduce_prod(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return prod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)


def _reduce_max(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    result = max_(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return astype(result, dtype) if dtype is not None else result


def _reduce_min(a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True):
    result = min_(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return astype(result, dtype) if dtype is not None else result


def _accumulate_sum(a, axis=0, dtype=None, out=None):
    return cumsum(a, axis=axis, dtype=dtype, out=out)


UFUNC_METHODS = {
    (np.add, "reduce"): _reduce_sum,
    (np.multiply, "reduce"): _reduce_prod,
    (np.maximum, "reduce"): _reduce_max,
    (np.minimum, "reduce"): _reduce_min,
    (np.add, "accumulate"): _accumulate_sum,
}


# NumPy 2 implements these linear-algebra functions as (generalized) ufuncs.
EXTRA_UFUNCS[np.matmul] = matmul
for _name, _spec in (("vecdot", "...i,...i->..."), ("matvec", "...ij,...j->...i"),
                     ("vecmat", "...i,...ij->...j")):
    if hasattr(np, _name):
        EXTRA_UFUNCS[getattr(np, _name)] = functools.partial(lambda spec, a, b: einsum(spec, a, b), _spec)


def install():
    register_table_ufuncs()
    _core.set_numpy_hooks(array_ufunc, array_function)
    from . import _linalg, _more_numpy  # noqa: F401,E402 (they register into HANDLED)
