"""Rules written with NumPy's own functions only (flip, transpose, concatenate, where, ...).

Such a rule serves every array that speaks NumPy's protocols alike: each kind of jet, and the
sparsity tracer's PatternArray, which runs the same composition and so gets the exact pattern
(``registry.COMPOSITES``). Arguments are checked by running NumPy's own function on a small
plain array of the same number of dimensions, so the errors are NumPy's.
"""

import operator

import numpy as np

from .jets import is_jet
from .registry import implements_composite


def _probe(ndim):
    """A plain array whose axis d has length d + 2, so that an axis permutation shows in its
    shape; a broadcast view of one element, so it costs no memory at any ndim."""
    return np.broadcast_to(np.empty((), dtype=bool), tuple(range(2, 2 + ndim)))


@implements_composite(np.flipud)
def flipud(m):
    np.flipud(_probe(m.ndim))
    return np.flip(m, 0)


@implements_composite(np.fliplr)
def fliplr(m):
    np.fliplr(_probe(m.ndim))
    return np.flip(m, 1)


@implements_composite(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    np.rot90(_probe(m.ndim), k, axes)
    first, second = (axis % m.ndim for axis in axes)
    swapped = list(range(m.ndim))
    swapped[first], swapped[second] = second, first
    turns = k % 4
    if turns == 0:
        return m[...]
    if turns == 2:
        return np.flip(np.flip(m, first), second)
    if turns == 1:
        return np.transpose(np.flip(m, second), swapped)
    return np.flip(np.transpose(m, swapped), second)


@implements_composite(np.rollaxis)
def rollaxis(a, axis, start=0):
    order = [length - 2 for length in np.rollaxis(_probe(a.ndim), axis, start).shape]
    return np.transpose(a, order)


@implements_composite(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return np.concatenate((np.ravel(arr), np.ravel(values)))
    return np.concatenate((arr, values), axis=axis)


@implements_composite(np.tril)
def tril(m, k=0):
    below = np.tri(*np.shape(m)[-2:], k=k, dtype=bool)
    return np.where(below, m, 0.0)


@implements_composite(np.triu)
def triu(m, k=0):
    below = np.tri(*np.shape(m)[-2:], k=k - 1, dtype=bool)
    return np.where(below, 0.0, m)


# ---------------------------------------------------------------- helpers of other rule modules

def values_of(x):
    """The plain values of any array kind (a jet, a traced array, an ndarray, a scalar)."""
    return np.asarray(x) if isinstance(x, np.ndarray) or not hasattr(x, "value") else x.value


def as_dtype(x, dtype):
    """x of this float dtype: plain arguments converted, others cast only if they differ."""
    if not hasattr(x, "value") or isinstance(x, np.ndarray):
        return np.asarray(x, dtype=dtype)
    return x if x.dtype == dtype else x.astype(dtype)


def constant_like(x, values):
    """Values of x's shape with zero derivatives, still a result of x (a step's result):
    np.where takes every element from the constant, so NaN and signed zeros are kept."""
    return np.where(np.ones(np.shape(x), dtype=bool), values, x)


def numpy_values(expr, values):
    """expr's derivatives under NumPy's own values: expr - expr.value is exactly zero in its
    value part, so the sum holds ``values`` to the bit."""
    return (expr - values_of(expr)) + values


# ---------------------------------------------------------------- products and values

@implements_composite(np.kron)
def kron(a, b):
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 0 or ndb == 0:
        return np.multiply(a, b)
    nd = max(nda, ndb)
    as_ = (1,) * (nd - nda) + np.shape(a)
    bs = (1,) * (nd - ndb) + np.shape(b)
    # a[i, j] * b[k, l] at [i, k, j, l], then merged pairwise: NumPy's layout
    a_arr = np.reshape(a, tuple(s for size in as_ for s in (size, 1)))
    b_arr = np.reshape(b, tuple(s for size in bs for s in (1, size)))
    return np.reshape(a_arr * b_arr, tuple(p * q for p, q in zip(as_, bs)))


# sin(y) / y = sum_k (-y^2)^k / (2k + 1)!: used where |y| < 0.16, where the quotient's
# derivatives cancel (relative error ~ eps / y^2) and the series' next term is below 1e-19.
_SINC_SERIES = (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800)


@implements_composite(np.sinc)
def sinc(x):
    v = values_of(x)
    small = np.abs(v) < 0.05
    y = np.pi * np.where(small, 1.0, x)
    quotient = np.sin(y) / y
    y2 = np.square(np.pi * np.where(small, x, 0.0))
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = series * y2 + c
    with np.errstate(all="ignore"):
        return numpy_values(np.where(small, series, quotient), np.sinc(v))


@implements_composite(np.round, np.around)
def round_(a, decimals=0, out=None):
    """A step function of zero derivative, as np.rint: NumPy's own arithmetic (x * 10**d
    rounded, then divided back), so NumPy's values."""
    scale = 10.0 ** abs(operator.index(decimals))
    if decimals >= 0:
        result = np.rint(a * scale) / scale if decimals else np.rint(a)
    else:
        result = np.rint(a / scale) * scale
    if out is None:
        return result
    out[...] = result
    return out


@implements_composite(np.fix)
def fix(x, out=None):
    """Rounding towards zero: a step of zero derivative, NumPy's values."""
    result = constant_like(x, np.fix(values_of(x)))
    if out is None:
        return result
    out[...] = result
    return out


@implements_composite(np.real_if_close)
def real_if_close(a, tol=100):
    return a        # real arrays are returned as they are


@implements_composite(np.real)
def real(val):
    return val      # real arrays: val.real is val's data


@implements_composite(np.imag)
def imag(val):
    """Zeros, read-only as NumPy's imaginary part of a real array is (a write raises)."""
    result = constant_like(val, np.zeros((), dtype=val.dtype))
    if is_jet(result):
        result.buf.flags.writeable = False
    return result


@implements_composite(np.angle)
def angle(z, deg=False):
    """On real arguments: 0 or pi (signed zeros included), a step of zero derivative."""
    return constant_like(z, np.angle(values_of(z), deg))


@implements_composite(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Finite elements pass through; replaced ones are constants (zero derivative)."""
    v = values_of(x)
    fixed = np.nan_to_num(v, copy=True, nan=nan, posinf=posinf, neginf=neginf)
    result = np.where(np.isfinite(v), x, fixed)
    if copy:
        return result
    x[...] = result
    return x
