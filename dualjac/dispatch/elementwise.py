"""Elementwise rules beyond the rules table's ufuncs (which the C kernels run).

Comparisons and tests give plain results from values; floor_divide, remainder
and fmod keep NumPy's values with the derivatives of their continuous pieces;
clip, select, interp and polyval are compositions of jet operations.
"""

import numpy as np

from .jets import is_differentiable, is_jet, refuse, reject_out, value_of, with_values
from .registry import implements, implements_ufunc, returns_values

# Comparisons and tests: plain results from the operands' values, no derivative.
COMPARISONS = ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
               "isnan", "isinf", "isfinite", "signbit", "logical_and", "logical_or",
               "logical_xor", "logical_not", "isnat")
returns_values(*(getattr(np, name) for name in COMPARISONS if hasattr(np, name)))


# ---------------------------------------------------------------- ufuncs with no table row

@implements_ufunc(np.floor_divide, stand_ins=True)
def _floor_divide(x, y):
    """NumPy's floor quotient; a step: zero derivative, connected to both operands."""
    return with_values(np.floor(np.true_divide(x, y)), np.floor_divide(value_of(x), value_of(y)))


@implements_ufunc(np.remainder, stand_ins=True)
def _remainder(x, y):
    """x - q y with q NumPy's floor quotient (a constant): derivative 1 in x and -q
    in y. Values are NumPy's (a rounded x / y can differ: 1.0 // 0.1 is 9.0)."""
    xv, yv = value_of(x), value_of(y)
    q, r = np.divmod(xv, yv)        # (one pass: NumPy's floor_divide and remainder are its parts)
    return with_values(x - q * y, r)


@implements_ufunc(np.fmod, stand_ins=True)
def _fmod(x, y):
    """x - q y with q the truncated quotient that NumPy's fmod used (C's sign rule)."""
    xv, yv = value_of(x), value_of(y)
    r = np.fmod(xv, yv)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.rint((xv - r) / yv)
    return with_values(x - q * y, r)


# ---------------------------------------------------------------- compositions

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


@implements(np.select, stand_ins=True)
def select(condlist, choicelist, default=0):
    """The first true condition's choice, by np.where from the last one back.
    Conditions are read on values (a dual condition selects, it is not differentiated)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conditions = [np.asarray(value_of(c)) for c in condlist]
    for i, c in enumerate(conditions):
        if c.dtype.type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = default
    for c, choice in zip(conditions[::-1], list(choicelist)[::-1]):
        result = np.where(c, choice, result)
    return result


@implements(np.interp, stand_ins=True)
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise linear in x: NumPy's value plus slope * (x - x.value), the slope
    of the segment [xp[j], xp[j+1]) holding x (right derivative at knots; 0 outside
    [xp[0], xp[-1]) and at the last knot). Derivatives in xp / fp are not supported."""
    for name, arg in (("xp", xp), ("fp", fp), ("left", left), ("right", right),
                      ("period", period)):
        if is_differentiable(arg):
            raise refuse(f"np.interp with a dual {name}",
                          "is not supported: dualjac differentiates np.interp with respect "
                          "to x only (xp, fp, left, right and period must be constants).")
    xv = value_of(x)
    value = np.interp(xv, xp, fp, left, right, period)
    if not is_differentiable(x):
        return value
    xp, fp, u = np.asarray(xp, np.float64), np.asarray(fp), np.asarray(xv, np.float64)
    if period is not None:   # NumPy's own reduction to one period, extended by one knot each side
        u, xp = u % period, xp % period
        order = np.argsort(xp)
        xp, fp = xp[order], fp[order]
        xp = np.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = np.concatenate([fp[-1:], fp, fp[:1]])
    if xp.size < 2:
        slope = np.zeros(u.shape, value.dtype)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = np.diff(fp) / np.diff(xp)
        j = np.searchsorted(xp, u, side="right") - 1
        inside = (j >= 0) & (j < xp.size - 1)
        slope = np.where(inside, slopes[np.clip(j, 0, xp.size - 2)], 0).astype(value.dtype)
    return value + slope * (x - xv)


@implements(np.polyval, stand_ins=True)
def polyval(p, x):
    """Horner's scheme on jets (dual x and / or dual coefficients)."""
    if isinstance(p, np.poly1d) or isinstance(x, np.poly1d):
        raise refuse("np.polyval with np.poly1d", "is not supported on dual arrays.")
    if not is_differentiable(p):
        p = np.asarray(p)
    y = np.zeros_like(np.asanyarray(value_of(x)))   # NumPy's start: x's dtype and shape
    for i in range(p.shape[0]):
        y = y * x + p[i]
    return y
