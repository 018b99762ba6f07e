"""Drop-ins for scipy.integrate's sample quadratures: trapezoid, cumulative_trapezoid,
simpson. SciPy's formulas, written with jet operations, so that y, x and dx may each carry
derivatives (the sample points too: d/dx of the integral of samples)."""

import numpy as np
import scipy.integrate as _integrate

from ._common import any_jet, recordable, value_of
from ..dispatch.jets import normalize_axis

__all__ = ["trapezoid", "cumulative_trapezoid", "simpson"]


def _along(ndim, axis, index):
    """An index tuple that takes ``index`` along axis and everything elsewhere."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _spacings(y, x, dx, axis):
    """The sample spacings along axis, shaped to broadcast against y (dx if x is None)."""
    if x is None:
        return dx
    if np.ndim(x) == 1:
        if x.shape[0] != y.shape[axis]:
            raise ValueError("If given, length of x along axis must be the same as y.")
        shape = [1] * y.ndim
        shape[axis] = x.shape[0] - 1
        return np.reshape(np.diff(x), shape)
    if np.ndim(x) != y.ndim:
        raise ValueError("If given, shape of x must be 1-D or the same as y.")
    return np.diff(x, axis=axis)


def _prepared(y, x, dx, axis):
    y, x, dx = recordable(y), recordable(x), recordable(dx)
    y = y if any_jet(y) else np.asarray(y)
    x = x if x is None or any_jet(x) else np.asarray(x)
    if np.ndim(value_of(y)) == 0:
        raise ValueError("y must have at least one dimension to integrate along")
    axis = normalize_axis(axis, y.ndim)
    return y, x, dx, axis


def _trapezoids(y, x, dx, axis):
    d = _spacings(y, x, dx, axis)
    return d * (y[_along(y.ndim, axis, slice(1, None))] + y[_along(y.ndim, axis, slice(None, -1))]) / 2.0


def trapezoid(y, x=None, dx=1.0, axis=-1):
    if not any_jet(y, x, dx):
        return _integrate.trapezoid(y, x, dx, axis)
    y, x, dx, axis = _prepared(y, x, dx, axis)
    return np.sum(_trapezoids(y, x, dx, axis), axis=axis)


def cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None):
    if not any_jet(y, x, dx):
        return _integrate.cumulative_trapezoid(y, x, dx, axis, initial)
    if initial is not None and initial != 0:
        raise ValueError("`initial` must be `None` or `0`.")
    y, x, dx, axis = _prepared(y, x, dx, axis)
    running = np.cumsum(_trapezoids(y, x, dx, axis), axis=axis)
    if initial is None:
        return running
    start = np.zeros_like(value_of(running)[_along(running.ndim, axis, slice(0, 1))])
    return np.concatenate([start, running], axis=axis)


def _divide(num, den):
    """num / den, and 0 where den is 0 (SciPy's guard against repeated sample points)."""
    nonzero = value_of(den) != 0
    return np.where(nonzero, num / np.where(nonzero, den, 1.0), 0.0)


def _basic_simpson(y, stop, x, dx, axis):
    """Simpson's rule on the intervals [0, stop] (stop even), SciPy's formulas."""
    take = [_along(y.ndim, axis, slice(k, stop + k, 2)) for k in range(3)]
    y0, y1, y2 = (y[t] for t in take)
    if x is None:
        return np.sum(y0 + 4.0 * y1 + y2, axis=axis) * (dx / 3.0)
    h = _spacings(y, x, dx, axis)
    h0, h1 = h[take[0]], h[_along(np.ndim(h), axis, slice(1, stop + 1, 2))]
    hsum, hprod = h0 + h1, h0 * h1
    h0_over_h1 = _divide(h0, h1)
    terms = hsum / 6.0 * (y0 * (2.0 - _divide(1.0, h0_over_h1))
                          + y1 * (hsum * _divide(hsum, hprod))
                          + y2 * (2.0 - h0_over_h1))
    return np.sum(terms, axis=axis)


def simpson(y, x=None, *, dx=1.0, axis=-1):
    """Composite Simpson's rule; an even number of samples ends with Cartwright's correction
    for the last interval, as SciPy does."""
    if not any_jet(y, x, dx):
        return _integrate.simpson(y, x=x, dx=dx, axis=axis)
    y, x, dx, axis = _prepared(y, x, dx, axis)
    n = y.shape[axis]
    if n % 2:
        return _basic_simpson(y, n - 2, x, dx, axis)
    last, second = (y[_along(y.ndim, axis, -k)] for k in (1, 2))
    if x is None:
        h = (dx, dx)
    else:
        spacing = _spacings(y, x, dx, axis)
        h = tuple(np.squeeze(spacing[_along(np.ndim(spacing), axis, slice(k, k + 1 or None))],
                             axis=axis) for k in ((-1, -1) if n == 2 else (-2, -1)))
    if n == 2:
        return 0.5 * h[1] * (last + second)
    alpha = _divide(2 * h[1] ** 2 + 3 * h[0] * h[1], 6 * (h[1] + h[0]))
    beta = _divide(h[1] ** 2 + 3.0 * h[0] * h[1], 6 * h[0])
    eta = _divide(h[1] ** 3, 6 * h[0] * (h[0] + h[1]))
    third = y[_along(y.ndim, axis, -3)]
    return _basic_simpson(y, n - 3, x, dx, axis) + alpha * last + beta * second - eta * third
