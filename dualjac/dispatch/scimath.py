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


def _in_real_domain(name, real_function, inside, domain):
    """np.emath.<name> as real_function where inside(x) holds for every value."""
    @implements_composite(getattr(np.emath, name))
    def rule(x):
        _real_domain(name, x, inside, domain)
        return real_function(x)
    rule.__name__ = name
    return rule


def _nonnegative(v):
    return v >= 0


def _unit_interval(v):
    return np.abs(v) <= 1


sqrt = _in_real_domain("sqrt", np.sqrt, _nonnegative, "x >= 0")
log = _in_real_domain("log", np.log, _nonnegative, "x >= 0")
log2 = _in_real_domain("log2", np.log2, _nonnegative, "x >= 0")
log10 = _in_real_domain("log10", np.log10, _nonnegative, "x >= 0")
arccos = _in_real_domain("arccos", np.arccos, _unit_interval, "-1 <= x <= 1")
arcsin = _in_real_domain("arcsin", np.arcsin, _unit_interval, "-1 <= x <= 1")
arctanh = _in_real_domain("arctanh", np.arctanh, _unit_interval, "-1 <= x <= 1")


@implements_composite(np.emath.logn)
def logn(n, x):
    _real_domain("logn", x, _nonnegative, "x >= 0 and n >= 0")
    _real_domain("logn", n, _nonnegative, "x >= 0 and n >= 0")
    return np.log(x) / np.log(n)


@implements_composite(np.emath.power)
def power(x, p):
    _real_domain("power", x, _nonnegative, "x >= 0")
    return np.power(x, p)
