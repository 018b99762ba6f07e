"""np.emath (numpy.lib.scimath) on dual arrays: the real functions where NumPy's result is real.

np.emath.sqrt(x) is np.sqrt(x) for x >= 0 and complex for x < 0; dual arrays hold real
numbers, so inside the real domain each function is its real counterpart (the same NumPy
calls, so the same values) and outside it raises a ValueError that names the function and
the values: never a NaN where NumPy's answer is complex. The rules are NumPy compositions,
so the sparsity tracer runs them too; their domain checks read values.
"""

import numpy as np

from .registry import implements_composite


def _values(x):
    """Plain values of a jet, a tracer's array or a constant."""
    return np.asarray(getattr(x, "value", x))


def _real_domain(name, x, inside, domain):
    values = _values(x)
    with np.errstate(invalid="ignore"):
        outside = ~inside(values) & ~np.isnan(values)
    if np.any(outside):
        raise ValueError(
            f"dualjac: np.emath.{name} of {values[outside].ravel()[:3]} is complex; dual "
            f"arrays hold real numbers, so np.emath.{name} is differentiable only for "
            f"{domain}. Use the real function (np.{name}) or keep the input in that domain.")


@implements_composite(np.emath.sqrt)
def sqrt(x):
    _real_domain("sqrt", x, lambda v: v >= 0, "x >= 0")
    return np.sqrt(x)


def _logarithm(name, real_function):
    @implements_composite(getattr(np.emath, name))
    def logarithm(x):
        _real_domain(name, x, lambda v: v >= 0, "x >= 0")
        return real_function(x)
    logarithm.__name__ = name
    return logarithm


log = _logarithm("log", np.log)
log2 = _logarithm("log2", np.log2)
log10 = _logarithm("log10", np.log10)


@implements_composite(np.emath.logn)
def logn(n, x):
    _real_domain("logn", x, lambda v: v >= 0, "x >= 0 and n >= 0")
    _real_domain("logn", n, lambda v: v >= 0, "x >= 0 and n >= 0")
    return np.log(x) / np.log(n)


@implements_composite(np.emath.power)
def power(x, p):
    _real_domain("power", x, lambda v: v >= 0, "x >= 0")
    return np.power(x, p)


def _inverse_trig(name, real_function):
    @implements_composite(getattr(np.emath, name))
    def inverse(x):
        _real_domain(name, x, lambda v: np.abs(v) <= 1, "-1 <= x <= 1")
        return real_function(x)
    inverse.__name__ = name
    return inverse


arccos = _inverse_trig("arccos", np.arccos)
arcsin = _inverse_trig("arcsin", np.arcsin)
arctanh = _inverse_trig("arctanh", np.arctanh)
