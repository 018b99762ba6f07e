"""np.poly* on coefficient arrays (highest power first): polyder, polyint, polyadd,
polysub, polymul, polydiv, poly, roots, polyfit.

Most are NumPy's own algorithms written with NumPy calls (compositions the sparsity tracer
runs too). roots: NumPy's eigenvalue roots, with the derivatives of each simple real root
from Newton's step on the jet polynomial (exact after ``degree`` steps, since each step
gains one order of the derivative part). polyfit: linear in y, so the fit of each
derivative component of y (NumPy's least squares on them as extra columns).
np.poly1d objects and the np.polynomial package are not supported on dual arrays (a
TypeError says so).
"""

import numpy as np

from .jets import is_jet, on_buffer, refuse, value_of, with_values
from .registry import implements, implements_composite


def _refuse_poly1d(name, *arguments):
    if any(isinstance(a, np.poly1d) for a in arguments):
        raise refuse(f"{name} with np.poly1d", "is not supported on dual arrays: pass the "
                     "coefficient array (p.coeffs) instead.")


def _coefficients(p):
    """A 1-d coefficient array (NumPy's atleast_1d); a list may hold jets and numbers."""
    if isinstance(p, (list, tuple)):
        if all(isinstance(e, (int, float, np.generic, np.ndarray, list, tuple)) for e in p):
            return np.atleast_1d(np.asarray(p))
        return np.concatenate([np.atleast_1d(e) for e in p])
    return np.atleast_1d(p)


@implements_composite(np.polyder)
def polyder(p, m=1):
    _refuse_poly1d("np.polyder", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coefficients(p)
    for _ in range(m):
        p = p[:-1] * np.arange(len(p) - 1, 0, -1)
    return p


@implements_composite(np.polyint)
def polyint(p, m=1, k=None):
    _refuse_poly1d("np.polyint", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m) if k is None else _coefficients(k)
    if len(k) == 1 and m > 1:
        k = k[0] * np.ones(m)
    if len(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coefficients(p)
    for i in range(m):
        p = np.concatenate((p / np.arange(len(p), 0, -1), k[i:i + 1]))
    return p


def _aligned(a1, a2):
    """Both coefficient arrays padded with leading zeros to the same length."""
    a1, a2 = _coefficients(a1), _coefficients(a2)
    diff = len(a2) - len(a1)
    if diff > 0:
        a1 = np.concatenate((np.zeros(diff, a1.dtype), a1))
    elif diff < 0:
        a2 = np.concatenate((np.zeros(-diff, a2.dtype), a2))
    return a1, a2


@implements_composite(np.polyadd)
def polyadd(a1, a2):
    _refuse_poly1d("np.polyadd", a1, a2)
    a1, a2 = _aligned(a1, a2)
    return a1 + a2


@implements_composite(np.polysub)
def polysub(a1, a2):
    _refuse_poly1d("np.polysub", a1, a2)
    a1, a2 = _aligned(a1, a2)
    return a1 - a2


@implements_composite(np.polymul)
def polymul(a1, a2):
    """The full convolution c[k] = sum_{i+j=k} a1[i] a2[j], one shifted row per a1[i]."""
    _refuse_poly1d("np.polymul", a1, a2)
    a1, a2 = _coefficients(a1), _coefficients(a2)
    n1, n2 = len(a1), len(a2)
    if n1 == 0 or n2 == 0:
        raise ValueError("v cannot be empty" if n2 == 0 else "a cannot be empty")
    dtype = np.result_type(a1.dtype, a2.dtype)
    rows = [np.concatenate((np.zeros(i, dtype), a1[i] * a2, np.zeros(n1 - 1 - i, dtype)))
            for i in range(n1)]
    return np.sum(np.stack(rows), axis=0)


@implements_composite(np.polydiv)
def polydiv(u, v):
    """NumPy's long division: quotient and remainder (leading near-zeros dropped)."""
    _refuse_poly1d("np.polydiv", u, v)
    u, v = _coefficients(u) + 0.0, _coefficients(v) + 0.0
    m, n = len(u) - 1, len(v) - 1
    scale = 1.0 / v[0]
    r, quotient = u, []
    for k in range(m - n + 1):
        d = scale * r[k]
        quotient.append(d)
        r = np.concatenate((r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]))
    q = np.stack(quotient) if quotient else (u[:1] + v[:1]) * 0.0
    while np.allclose(r[0], 0, rtol=1e-14) and r.shape[-1] > 1:
        r = r[1:]
    return q, r


@implements_composite(np.poly)
def poly(seq_of_zeros):
    """Coefficients of prod (x - z): one multiplication by (x - z) per zero."""
    zeros = _coefficients(seq_of_zeros)
    if zeros.ndim == 2 and zeros.shape[0] == zeros.shape[1] != 0:
        raise refuse("np.poly of a dual matrix", "is not supported (it needs the "
                     "eigenvalues of the matrix, np.linalg.eigvals, which has no derivative "
                     "rule on dual arrays).")
    if zeros.ndim != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    a = np.ones(1, zeros.dtype)
    for i in range(len(zeros)):
        pad = np.zeros(1, zeros.dtype)
        a = np.concatenate((a, pad)) - zeros[i] * np.concatenate((pad, a))
    return a


@implements(np.roots)
def roots(p):
    """NumPy's roots (their values and order); derivatives of each simple real root r
    from Newton's step r - (P(r) - P0(r0)) / P'(r) on the jet polynomial P."""
    _refuse_poly1d("np.roots", p)
    p = _coefficients(p)
    values = np.roots(value_of(p))
    if np.iscomplexobj(values):
        raise ValueError("dualjac: np.roots of a dual polynomial with complex roots is not "
                         "supported (dual arrays are real); differentiate the real roots of "
                         "a polynomial that has only real ones, or apply np.roots to p.value.")
    if not is_jet(p) or values.size == 0:
        return values
    residual = np.polyval(value_of(p), values)
    slope = polyder(p)
    r = values
    for _ in range(p.degree):
        r = r - (np.polyval(p, r) - residual) / np.polyval(slope, r)
    return with_values(r, values)


@implements(np.polyfit)
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least squares is linear in y: NumPy fits y's values and, as extra columns of the
    same fit, each of its derivative components."""
    for name, arg in (("x", x), ("w", w), ("deg", deg), ("rcond", rcond)):
        if is_jet(arg):
            raise refuse(f"np.polyfit with a dual {name}",
                         "is not supported: dualjac differentiates np.polyfit with respect to "
                         "y only (x, w and deg must be constants).")
    if full or cov:
        raise refuse("np.polyfit(full=True / cov=True)", "is not supported on dual arrays "
                     "(its residuals and covariance are not linear in y).")
    coefficients = np.polyfit(x, value_of(y), deg, rcond, w=w)
    buf = y.buf
    columns = np.polyfit(x, buf.reshape(buf.shape[0], -1), deg, rcond, w=w)
    result = on_buffer(y, columns.reshape((columns.shape[0],) + buf.shape[1:]))
    return with_values(result, coefficients)


# ---------------------------------------------------------------- np.polynomial.polynomial

def _power_series(x, c, tensor):
    """np.polynomial.polynomial.polyval's Horner scheme on any array kind: c's first axis
    holds the coefficients; with ``tensor`` its other axes are crossed with x's, else
    broadcast with them."""
    if tensor:
        c = np.reshape(c, np.shape(c) + (1,) * np.ndim(x))
    result = c[-1] + x * 0
    for i in range(2, np.shape(c)[0] + 1):
        result = c[-i] + result * x
    return result


def _series_coefficients(c):
    """polyval's reading of c: at least 1-D, integers as floats."""
    if not hasattr(c, "buf") and not hasattr(c, "value"):
        c = np.array(c, ndmin=1, copy=None)
        return c + 0.0 if c.dtype.char in "?bBhHiIlLqQpP" else c
    return c if np.ndim(c) else np.reshape(c, (1,))


@implements_composite(np.polynomial.polynomial.polyval2d)
def polyval2d(x, y, c):
    """sum c[i, j] x**i y**j at the points (x, y) (NumPy's _valnd: x and y of one shape)."""
    x = np.asarray(x) if isinstance(x, (list, tuple)) else x
    y = np.asarray(y) if isinstance(y, (list, tuple)) else y
    if np.shape(x) != np.shape(y):
        raise ValueError("x, y are incompatible")
    return _power_series(y, _power_series(x, _series_coefficients(c), True), False)


@implements_composite(np.polynomial.polynomial.polygrid2d)
def polygrid2d(x, y, c):
    """sum c[i, j] x[a]**i y[b]**j on the grid x by y (NumPy's _gridnd)."""
    x = np.asarray(x) if isinstance(x, (list, tuple)) else x
    y = np.asarray(y) if isinstance(y, (list, tuple)) else y
    return _power_series(y, _power_series(x, _series_coefficients(c), True), True)
