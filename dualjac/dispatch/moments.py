"""Moments of jets: np.ptp, np.average (jet weights too), np.cov, np.corrcoef.

NumPy's own formulas written with NumPy calls, in NumPy's order; argument errors come from
NumPy's function run on plain arrays of the same shapes (with the weights' values, whose
checks read them).
"""

import warnings

import numpy as np

from .compositions import values_of
from .registry import implements_composite

_NO_VALUE = np._NoValue


def _zeros(x):
    return None if x is None else np.zeros(np.shape(x))


@implements_composite(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    result = np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)
    if out is None:
        return result
    out[...] = result
    return out


@implements_composite(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NO_VALUE):
    np.average(np.zeros(np.shape(a)), axis, None if weights is None else np.ones(np.shape(weights)),
               keepdims=keepdims)                       # NumPy's shape and axis errors
    if axis is not None:
        axis = tuple(np.lib.array_utils.normalize_axis_tuple(axis, np.ndim(a), "axis"))
    keep = {} if keepdims is _NO_VALUE else {"keepdims": keepdims}
    if weights is None:
        avg = np.mean(a, axis, **keep)
        scl = np.dtype(avg.dtype).type(np.size(a) / np.size(avg))
    else:
        wgt = weights
        if np.shape(a) != np.shape(wgt):     # weights along `axis`, broadcast over the rest
            wgt = np.transpose(wgt, tuple(int(i) for i in np.argsort(axis)))
            wgt = np.reshape(wgt, tuple(s if ax in axis else 1
                                        for ax, s in enumerate(np.shape(a))))
        scl = np.sum(wgt, axis=axis, **keep)
        if np.any(values_of(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(np.multiply(a, wgt), axis, **keep) / scl
    if returned:
        if np.shape(scl) != np.shape(avg):
            scl = np.copy(np.broadcast_to(scl, np.shape(avg)))
        return avg, scl
    return avg


@implements_composite(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    with warnings.catch_warnings():      # NumPy's errors; its warning is given below
        warnings.simplefilter("ignore", RuntimeWarning)
        np.cov(_zeros(m), _zeros(y), rowvar, bias, ddof,
               None if fweights is None else values_of(fweights),
               None if aweights is None else values_of(aweights), dtype=dtype)
    if dtype is None:
        dtype = np.result_type(m, np.float64) if y is None else np.result_type(m, y, np.float64)
    X = _rows(m, dtype)
    if not rowvar and np.ndim(m) != 1:
        X = X.T
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _rows(y, dtype)
        X = np.concatenate((X, y if rowvar or y.shape[0] == 1 else y.T), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = np.asarray(values_of(fweights), dtype=float)
    if aweights is not None:
        w = aweights if w is None else w * aweights
    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = X.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * aweights) / w_sum
    if values_of(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    X = X - avg[:, None]
    X_T = X.T if w is None else (X * w).T
    c = np.dot(X, X_T)            # real arguments: X_T.conj() is X_T
    c = c * np.true_divide(1, fact)
    return np.squeeze(c)


def _rows(m, dtype):
    """NumPy's array(m, ndmin=2, dtype=dtype)."""
    X = np.reshape(m, (1,) * (2 - np.ndim(m)) + np.shape(m))
    X = np.asarray(X, dtype=dtype) if isinstance(X, np.ndarray) else X.astype(dtype)
    return X


@implements_composite(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    c = cov(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return c / c           # a single variable: NumPy's c / c
    d = np.diagonal(c)
    stddev = np.sqrt(d)
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    # rounding may leave |c| above 1 (NumPy clips; the clipped elements are constants)
    return np.clip(c, -1, 1)
