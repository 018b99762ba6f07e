"""Drop-ins for scipy.special's functions that are not ufuncs (the ufuncs erf, ndtr,
gammaln, xlogy, jv, ... work on jets as they are: they are rows of dualjac's rules table).

polygamma and multigammaln are written with those rows (zeta in q, gammaln).

On jets each is shifted by the maximum of the values, as SciPy's are, so that exp never
overflows; the shift is a plain number (a constant: the result does not depend on it).
"""

import numpy as np
import scipy.special as _special

from ._common import any_jet, recordable, refuse_jets, value_of, with_scipy_values
from ..dispatch.jets import normalize_axes

__all__ = ["logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"]


def _shift(values, axes):
    """The maximum along axes (kept), 0 where it is not finite (all -inf, or an inf).

    NumPy's max along a short last axis loops per row (about 30 ns each); over the first
    axis of a C-ordered copy with the axes moved first, it runs elementwise over the rest
    (a maximum is the same in any order)."""
    values = np.asarray(values)
    kept = tuple(1 if i in axes else n for i, n in enumerate(values.shape))
    if not values.size:
        top = np.max(values, axis=axes, keepdims=True)
    else:
        moved = np.moveaxis(values, axes, tuple(range(len(axes))))
        stacked = np.ascontiguousarray(moved).reshape((-1,) + moved.shape[len(axes):])
        top = np.max(stacked, axis=0).reshape(kept)
    return np.where(np.isfinite(top), top, 0.0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) along axis; with return_sign, log|sum| and its sign."""
    if not any_jet(a, b):
        return _special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    a, b = recordable(a), recordable(b)
    expected = _special.logsumexp(value_of(a), axis=axis, b=None if b is None else value_of(b),
                                  keepdims=keepdims, return_sign=return_sign)
    if b is not None:
        a = np.where(value_of(b) == 0, -np.inf, a)      # weight 0: the term is left out
    a0 = np.asarray(value_of(a))
    if b is not None:
        a0 = np.broadcast_to(a0, np.broadcast_shapes(a0.shape, np.shape(value_of(b))))
    axes = normalize_axes(axis, a0.ndim)
    shift = _shift(np.where(np.isnan(a0), -np.inf, a0), axes)
    terms = np.exp(a - shift)
    if b is not None:
        terms = terms * b
    total = np.sum(terms, axis=axes, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.abs(total)) + shift
    if not keepdims:
        out = np.squeeze(out, axis=axes)
    if return_sign:
        return with_scipy_values(out, expected[0]), expected[1]
    return with_scipy_values(out, expected)


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) along axis."""
    if not any_jet(x):
        return _special.softmax(x, axis=axis)
    x = recordable(x)
    axes = normalize_axes(axis, x.ndim)
    terms = np.exp(x - _shift(value_of(x), axes))
    return terms / np.sum(terms, axis=axes, keepdims=True)


def log_softmax(x, axis=None):
    """x - logsumexp(x) along axis."""
    if not any_jet(x):
        return _special.log_softmax(x, axis=axis)
    x = recordable(x)
    axes = normalize_axes(axis, x.ndim)
    shifted = x - _shift(value_of(x), axes)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))


def polygamma(n, x):
    """The n-th derivative of digamma: psi(x) for n = 0, (-1)^(n+1) n! zeta(n + 1, x) for
    n >= 1 (Hurwitz's zeta, differentiable in x). n is a constant."""
    if not any_jet(x):
        return _special.polygamma(n, x)
    if any_jet(n):
        raise refuse_jets("special.polygamma with a dual order n",
                          "is not supported: n is an integer order; pass plain integers.")
    x = recordable(x)
    order = np.asarray(n)
    expected = _special.polygamma(order, value_of(x))
    hurwitz = _special._ufuncs._zeta(order + 1.0, x)
    higher = (-1.0) ** (order + 1) * _special.gamma(order + 1.0) * hurwitz
    return with_scipy_values(np.where(order == 0, _special.psi(x), higher), expected)


def multigammaln(a, d):
    """log of the multivariate gamma function: d (d - 1) / 4 log(pi) + sum over j < d of
    gammaln(a - j / 2). d is a constant integer."""
    if not any_jet(a):
        return _special.multigammaln(a, d)
    a = recordable(a)
    expected = _special.multigammaln(value_of(a), d)      # SciPy's checks of a and d
    total = sum(_special.gammaln(a - j / 2.0) for j in range(d))
    return with_scipy_values(total + d * (d - 1) * 0.25 * np.log(np.pi), expected)
