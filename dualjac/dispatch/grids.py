"""Grids and sequences built from jets: linspace, logspace, geomspace, vander, meshgrid.

Each is NumPy's own arithmetic written with NumPy calls, in NumPy's order (so the values are
NumPy's), with the writes NumPy does into a fresh array (``y[-1] = stop``) spelled as joins,
so banded and deferred jets and the sparsity tracer run them as they are.
"""

import operator

import numpy as np

from .compositions import as_dtype
from .registry import implements_composite


def _inexact_dtype(*arrays):
    dt = np.result_type(*[getattr(a, "dtype", a) for a in arrays])
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def _replace_last(y, last):
    """y with y[-1, ...] = last, as a join (no write into y)."""
    last = np.broadcast_to(as_dtype(last, y.dtype), y.shape[1:])
    return np.concatenate([y[:-1], last[None]])


@implements_composite(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    dt = _inexact_dtype(start, stop)
    start, stop = as_dtype(start, dt), as_dtype(stop, dt)
    delta = stop - start
    y = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(delta))
    if div > 0:
        step = delta / div
        if np.any(step == 0):        # denormal steps (NumPy's gh-5437)
            y = y / div * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        y = _replace_last(y, stop)
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if dtype is not None and np.issubdtype(dtype, np.integer):
        y = np.floor(y)
    if dtype is not None:
        y = y.astype(dtype)
    return (y, step) if retstep else y


@implements_composite(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    if not isinstance(base, (float, int)) and np.ndim(base):
        ndmax = max(np.ndim(start), np.ndim(stop), np.ndim(base))
        start, stop, base = (a.reshape((1,) * (ndmax - np.ndim(a)) + np.shape(a))
                             if hasattr(a, "reshape") else np.array(a, ndmin=ndmax)
                             for a in (start, stop, base))
        base = np.expand_dims(base, axis=axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    result = np.power(base, y)
    return result if dtype is None else result.astype(dtype)


@implements_composite(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    if np.any(start == 0) or np.any(stop == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(_inexact_dtype(start, stop), float(num), np.zeros((), dtype))
    if dt.kind == "c":
        raise TypeError("dualjac: np.geomspace of dual arrays takes real endpoints; "
                        "complex dtypes have no derivative rule.")
    start, stop = as_dtype(start, dt), as_dtype(stop, dt)
    # Negative endpoints: the sequence of |start| .. stop / sign(start), turned back.
    out_sign = np.sign(start)
    start = start / out_sign
    stop = stop / out_sign
    result = logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint,
                      base=10.0, dtype=dt)
    if num > 0:   # the ends are the arguments themselves (10 ** log10(x) may not be x)
        first = np.broadcast_to(as_dtype(start, dt), result.shape[1:])[None]
        result = np.concatenate([first, result[1:]])
        if num > 1 and endpoint:
            result = _replace_last(result, stop)
    result = result * out_sign
    if axis != 0:
        result = np.moveaxis(result, 0, axis)
    return result if dtype is None else result.astype(dtype)


@implements_composite(np.vander)
def vander(x, N=None, increasing=False):
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = x.shape[0]
    N = n if N is None else N
    ones = np.ones((n, min(N, 1)), dtype=np.result_type(x.dtype, int))
    # x, x*x, (x*x)*x, ...: NumPy's multiply.accumulate, so its values
    powers = np.cumprod(np.broadcast_to(x[:, None], (n, max(N - 1, 0))), axis=1)
    v = np.concatenate([ones, powers], axis=1)
    return v if increasing else v[:, ::-1]


@implements_composite(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    ndim = len(xi)
    if indexing not in ["xy", "ij"]:
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    s0 = (1,) * ndim
    output = [np.reshape(x, s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        output[0] = np.reshape(output[0], (1, -1) + s0[2:])
        output[1] = np.reshape(output[1], (-1, 1) + s0[2:])
    if not sparse:
        shape = np.broadcast_shapes(*[np.shape(x) for x in output])
        output = [np.broadcast_to(x, shape) for x in output]
    if copy:
        output = [np.copy(x) for x in output]
    return tuple(output)
