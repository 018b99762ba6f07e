"""Floating-point functions without a rules-table row: heaviside, copysign, float_power,
ldexp, frexp, modf, divmod, spacing, nextafter, and np.i0.

Values are NumPy's own, bit for bit. Derivatives are those of the function where it is
differentiable (almost everywhere):

* steps (heaviside, spacing, frexp's exponent) have derivative 0 and stay connected to
  their operand, as np.floor does;
* copysign(x, y) is +-x: derivative +-1 in x, 0 in y;
* nextafter(x, y) - x and ldexp's scale are constant between powers of two: derivative 1
  (ldexp: 2**i) in x, 0 in y;
* i0' = i1 and i0'' = i0 - i1 / x (1/2 at 0), with i1 computed here (NumPy has no i1).
"""

import numpy as np

from .jets import is_differentiable, is_jet, value_of, with_values
from .registry import declares_pattern, implements, implements_composite_ufunc, implements_ufunc


def _connected(result, *operands):
    """result, connected to every jet operand with a zero derivative (a step's rule)."""
    for operand in operands:
        if is_differentiable(operand):
            result = result + 0.0 * np.sign(operand)
    return result


@implements_composite_ufunc(np.heaviside)
def heaviside(x1, x2):
    """0 below 0, 1 above, x2 at 0 (its derivative there), NaN at NaN."""
    return np.where(np.equal(x1, 0), x2, 0.5 * (np.sign(x1) + 1))


@implements_ufunc(np.copysign, stand_ins=True)
def copysign(x1, x2):
    flip = np.signbit(value_of(x1)) != np.signbit(value_of(x2))
    return with_values(_connected(np.where(flip, np.negative(x1), x1), x2),
                       np.copysign(value_of(x1), value_of(x2)))


declares_pattern(np.copysign, (True, False))


@implements_composite_ufunc(np.float_power)
def float_power(x1, x2):
    """np.power in float64, as NumPy's float_power computes it."""
    return np.power(np.multiply(x1, np.float64(1.0)), np.multiply(x2, np.float64(1.0)))


@implements_ufunc(np.ldexp, stand_ins=True)
def ldexp(x1, x2):
    if is_differentiable(x2):
        raise TypeError("dualjac: np.ldexp takes integer exponents (x2), which carry no "
                        "derivative; a dual x2 is a float array. Use x1 * 2.0 ** x2 to "
                        "differentiate with respect to the exponent.")
    x0 = value_of(x1)
    scale = np.ldexp(np.ones((), np.asarray(x0).dtype), x2)   # 2 ** x2 exactly
    return with_values(x1 * scale, np.ldexp(x0, x2))


declares_pattern(np.ldexp, (True, False))


@implements_ufunc(np.frexp, stand_ins=True)
def frexp(x):
    """(mantissa, exponent): the mantissa is x * 2 ** -exponent; the exponent is plain."""
    x0 = value_of(x)
    mantissa, exponent = np.frexp(x0)
    scale = np.ldexp(np.ones((), np.asarray(x0).dtype), -exponent)
    return with_values(x * scale, mantissa), exponent


@implements_composite_ufunc(np.modf)
def modf(x):
    """(x - trunc(x), trunc(x)) with NumPy's signed zeros: a negative x's fraction is
    -(|x| - trunc(|x|)), so that modf(-2.0) = (-0.0, -2.0); modf(+-inf) = (+-0, +-inf)."""
    with np.errstate(invalid="ignore"):
        positive = np.subtract(x, np.trunc(x))
        negative = np.negative(np.subtract(np.negative(x), np.trunc(np.negative(x))))
    fraction = np.where(np.signbit(x), negative, positive)
    zero = np.where(np.signbit(x), -0.0, 0.0).astype(x.dtype)
    return np.where(np.isinf(x), zero, fraction), np.trunc(x)


@implements_composite_ufunc(np.divmod)
def divmod_(x1, x2):
    return np.floor_divide(x1, x2), np.remainder(x1, x2)


@implements_ufunc(np.spacing, stand_ins=True)
def spacing(x):
    """A step (constant between powers of two): derivative 0."""
    return with_values(_connected(np.zeros_like(value_of(x)), x), np.spacing(value_of(x)))


declares_pattern(np.spacing, (False,))


@implements_ufunc(np.nextafter, stand_ins=True)
def nextafter(x1, x2):
    """x1 plus a step: derivative 1 in x1, 0 in x2."""
    result = _connected(x1 if is_differentiable(x1) else np.asarray(x1) * 1.0, x2)
    return with_values(result, np.nextafter(value_of(x1), value_of(x2)))


declares_pattern(np.nextafter, (True, False))


# ---------------------------------------------------------------- np.i0

SERIES_UP_TO = 25.0     # |x| above: the asymptotic expansion (its terms fall below 1e-18)


def bessel_i1(x):
    """The modified Bessel function I1 in float64: its power series sum (x/2)^(2k+1) /
    (k! (k+1)!) for |x| <= 25, else e^|x| / sqrt(2 pi |x|) times Hankel's asymptotic
    series (terms (4 - (2k-1)^2) / (8 k |x|) times the previous one), odd in x."""
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    small = ax <= SERIES_UP_TO
    half = np.where(small, x, 0.0) / 2
    term = half.copy()
    series = half.copy()
    for k in range(1, 80):
        term = term * half * half / (k * (k + 1))
        series = series + term
    large = np.where(small, SERIES_UP_TO + 1, ax)
    term = np.ones_like(large)
    expansion = np.ones_like(large)
    for k in range(1, 40):
        term = term * -(4.0 - (2 * k - 1) ** 2) / (8 * k * large)
        expansion = expansion + term
    with np.errstate(over="ignore", invalid="ignore"):
        asymptotic = np.exp(large) / np.sqrt(2 * np.pi * large) * expansion
    return np.where(small, series, np.sign(x) * asymptotic)


@implements(np.i0)
def i0(x):
    """NumPy's i0 (Chebyshev) value plus the Taylor terms i1 dx + (i0 - i1 / x) dx^2 / 2
    in the derivative part dx = x - x.value (dx^2 vanishes for a dual jet)."""
    x0 = value_of(x)
    value = np.i0(x0)
    first = bessel_i1(x0)
    with np.errstate(divide="ignore", invalid="ignore"):
        second = np.where(x0 == 0, 0.5, value - first / np.where(x0 == 0, 1.0, x0))
    dx = x - x0
    dtype = np.asarray(value).dtype
    result = dx * first.astype(dtype)
    if getattr(x, "degree", 1) == 2:
        result = result + dx * dx * (0.5 * second).astype(dtype)
    return with_values(result, value)
