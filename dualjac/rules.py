"""The derivative rules table: one row per elementwise function.

Everything elementwise in dualjac is generated from this table (the idea of
DiffRules.jl): at build time ``setup.py`` turns every row into fused C kernels
for float32 and float64, dual and hyper-dual; at import time the extension maps
each row's ufunc to its kernels; and the tests iterate the table, checking
every row against complex-step derivatives over its ``domain``.

A row gives expressions in Python syntax, translated to C by ``src_c/generate.py``
(``a if c else b``, ``and``, ``or``, calls, arithmetic, comparisons):

* unary rows use ``x`` (the argument); ``df`` may use ``f`` (the value), ``d2f``
  may use ``f`` and ``df``;
* binary rows use ``x`` and ``y``; partials may use ``f``;
* ``lets`` are named intermediates, computed once per element before the
  partials (``("r2", "x*x + y*y")``), or outputs a call fills through a pointer
  (``("other", "cos(x)")``: the derivative of sin); their
  names must not clash with the kernels' own locals (``s``, ``p``, ``c``, ...:
  see ``src_c/_kernels.h.tp``);
* a partial written as the literal ``"0"`` is dropped from the generated code,
  so linear functions do no second-order work and ``0 * inf`` never makes a NaN.

Math functions are written with their double names (``sin``, ``exp``); the
float32 kernels use the ``f``-suffixed C99 versions (the names in
``C_MATH_FUNCTIONS``). Functions libm lacks (digamma, ndtr, ...) come from
``src_c/special.h`` as ``dj_*``: they take and return double in both kernel
types, so float32 kernels compute those in double and round.

A row's ``module`` says where its ufunc lives: ``"numpy"``, or ``"scipy.special"``
for the special-function rows, which are registered only when SciPy imports
(SciPy is optional; its rows' kernels are always built). This module is pure
Python with no dependency on the compiled extension, so the build can import it.
"""

from dataclasses import dataclass

# C math functions an expression may call; float32 kernels call NAME + "f".
C_MATH_FUNCTIONS = (
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "exp2", "expm1", "log", "log2", "log10",
    "log1p", "sqrt", "cbrt", "pow", "fabs", "floor", "ceil", "rint", "trunc",
    "hypot", "fmax", "fmin", "copysign", "erf", "erfc", "lgamma",
)

LN2 = "0.6931471805599453"
LN10 = "2.302585092994046"
TWO_OVER_SQRT_PI = "1.1283791670955126"   # erf'(0)
INV_SQRT_2PI = "0.3989422804014327"       # the standard normal pdf at 0


@dataclass(frozen=True)
class Unary:
    name: str            # the NumPy ufunc's name (np.<name>)
    f: str               # C expression of x
    df: str              # f'(x); may use f
    d2f: str             # f''(x); may use f, df
    domain: tuple = (-3.0, 3.0)   # where tests sample x (open interval)
    lets: tuple = ()
    module: str = "numpy"         # where the ufunc lives: <module>.<name>
    # A vectorized value pass in src_c/blocks.h (name without the _f64 / _f32
    # suffix) that fills f, and `other` if the row lets one, for a run of
    # arguments; it must agree with `f` (the row's scalar definition).
    block: str = ""


@dataclass(frozen=True)
class Binary:
    name: str
    f: str
    dfx: str
    dfy: str
    d2fxx: str
    d2fxy: str
    d2fyy: str
    domain_x: tuple = (-3.0, 3.0)
    domain_y: tuple = (-3.0, 3.0)
    lets: tuple = ()
    module: str = "numpy"


def _step(name, c_function):
    """A piecewise-constant function: connected, with zero derivative (TF's rule)."""
    return Unary(name, f"{c_function}(x)", "0", "0", (-3.0, 3.0))


UNARY = (
    Unary("negative", "-x", "-1", "0"),
    Unary("positive", "x", "1", "0"),
    Unary("square", "x*x", "2*x", "2"),
    Unary("sqrt", "sqrt(x)", "0.5/f", "-0.25/(x*f)", (0.05, 4.0)),
    Unary("cbrt", "cbrt(x)", "1/(3*f*f)", "-2/(9*x*f*f)", (0.05, 4.0)),
    Unary("reciprocal", "1/x", "-f*f", "2*f*f*f", (0.2, 4.0)),
    Unary("exp", "exp(x)", "f", "f", block="dj_exp_block"),
    Unary("exp2", "exp2(x)", f"f*{LN2}", f"f*{LN2}*{LN2}"),
    Unary("expm1", "expm1(x)", "f + 1", "f + 1", block="dj_expm1_block"),
    Unary("log", "log(x)", "1/x", "-1/(x*x)", (0.05, 4.0), block="dj_log_block"),
    Unary("log2", "log2(x)", f"1/(x*{LN2})", f"-1/(x*x*{LN2})", (0.05, 4.0)),
    Unary("log10", "log10(x)", f"1/(x*{LN10})", f"-1/(x*x*{LN10})", (0.05, 4.0)),
    Unary("log1p", "log1p(x)", "1/(1 + x)", "-1/((1 + x)*(1 + x))", (-0.9, 4.0),
          block="dj_log1p_block"),
    # Their block functions compute sin and cos from one argument reduction.
    Unary("sin", "sin(x)", "other", "-f", lets=(("other", "cos(x)"),), block="dj_sin_block"),
    Unary("cos", "cos(x)", "-other", "-f", lets=(("other", "sin(x)"),), block="dj_cos_block"),
    Unary("tan", "tan(x)", "1 + f*f", "2*f*(1 + f*f)", (-1.4, 1.4)),
    Unary("arcsin", "asin(x)", "1/sqrt(1 - x*x)", "x*df*df*df", (-0.95, 0.95)),
    Unary("arccos", "acos(x)", "-1/sqrt(1 - x*x)", "x*df*df*df", (-0.95, 0.95)),
    Unary("arctan", "atan(x)", "1/(1 + x*x)", "-2*x*df*df"),
    Unary("sinh", "sinh(x)", "cosh(x)", "f"),
    Unary("cosh", "cosh(x)", "sinh(x)", "f"),
    Unary("tanh", "tanh(x)", "1 - f*f", "-2*f*(1 - f*f)", block="dj_tanh_block"),
    Unary("arcsinh", "asinh(x)", "1/sqrt(x*x + 1)", "-x*df*df*df"),
    Unary("arccosh", "acosh(x)", "1/sqrt(x*x - 1)", "-x*df*df*df", (1.05, 4.0)),
    Unary("arctanh", "atanh(x)", "1/(1 - x*x)", "2*x*df*df", (-0.95, 0.95)),
    Unary("deg2rad", "x*0.017453292519943295", "0.017453292519943295", "0"),
    Unary("rad2deg", "x*57.29577951308232", "57.29577951308232", "0"),
    # |x|: derivative sign(x), 0 at the kink (TF's rule).
    Unary("absolute", "fabs(x)", "(1 if x > 0 else (-1 if x < 0 else 0))", "0"),
    Unary("fabs", "fabs(x)", "(1 if x > 0 else (-1 if x < 0 else 0))", "0"),
    Unary("sign", "(1 if x > 0 else (-1 if x < 0 else (0 if x == 0 else x)))", "0", "0"),
    _step("floor", "floor"),
    _step("ceil", "ceil"),
    _step("rint", "rint"),
    _step("trunc", "trunc"),
    # ---- scipy.special
    Unary("erf", "erf(x)", f"{TWO_OVER_SQRT_PI}*exp(-x*x)", "-2*x*df",
          module="scipy.special"),
    Unary("erfc", "erfc(x)", f"-{TWO_OVER_SQRT_PI}*exp(-x*x)", "-2*x*df",
          module="scipy.special"),
    # f' = f(1 - f), f'' = f'(1 - 2f), with 1 - f = expit(-x) and 1 - 2f = -tanh(x/2)
    # computed directly: 1 - f itself would keep no digits in the right tail.
    Unary("expit", "1/(1 + exp(-x))", "f*g", "-df*tanh(0.5*x)", (-8.0, 8.0),
          lets=(("g", "1/(1 + exp(x))"),), module="scipy.special"),
    # SciPy's formula: log(x/(1 - x)) cancels near 1/2, where it uses log1p instead.
    # f' = 1/(x(1 - x)), f'' = (2x - 1)/(x(1 - x))^2 = t f'^2.
    Unary("logit", "(log(x/(1 - x)) if (x < 0.3 or x > 0.65) else log1p(t) - log1p(-t))",
          "1/(x*(1 - x))", "t*df*df", (0.02, 0.98),
          lets=(("t", "2*(x - 0.5)"),), module="scipy.special"),
    # log|Gamma(x)|. SciPy returns -inf at -inf (Cephes passes infinities through);
    # lgamma gives +inf there.
    Unary("gammaln", "(x if x == -INFINITY else dj_lgamma(x))", "dj_digamma(x)",
          "dj_trigamma(x)", (0.1, 8.0), module="scipy.special"),
    Unary("digamma", "dj_digamma(x)", "dj_trigamma(x)", "dj_tetragamma(x)", (0.1, 8.0),
          module="scipy.special"),
    Unary("ndtr", "dj_ndtr(x)", f"{INV_SQRT_2PI}*exp(-0.5*x*x)", "-x*df", (-8.0, 8.0),
          module="scipy.special"),
    # f' = pdf/cdf, f'' = -f'(x + f'). In the left tail f' ~ -x: special.h computes
    # f' without under/overflow and f'' without the cancellation in x + f'.
    Unary("log_ndtr", "dj_log_ndtr(x)", "dj_log_ndtr_deriv(x)", "dj_log_ndtr_deriv2(x)",
          (-20.0, 5.0), module="scipy.special"),
)

BINARY = (
    Binary("add", "x + y", "1", "1", "0", "0", "0"),
    Binary("subtract", "x - y", "1", "-1", "0", "0", "0"),
    Binary("multiply", "x*y", "y", "x", "0", "1", "0"),
    Binary("divide", "x/y", "1/y", "-f/y", "0", "-1/(y*y)", "2*f/(y*y)",
           domain_y=(0.3, 3.0)),
    # x**y. d/dy uses log(x): defined as 0 where x <= 0 (TF and JAX do the same),
    # so a constant exponent never meets log(0) and x**2 at 0 has derivative 0.
    # d/dx is 0 for y = 0 (x**0 is the constant 1) and d2/dx2 for y in {0, 1}
    # (x**1 is linear): the general formulas would be 0 * pow(0, -1) = NaN at x = 0.
    Binary("power", "pow(x, y)", "(0 if y == 0 else y*pow(x, y - 1))",
           "(f*log(x) if x > 0 else 0)",
           "(0 if (y == 0 or y == 1) else y*(y - 1)*pow(x, y - 2))",
           "(pow(x, y - 1)*(1 + y*log(x)) if x > 0 else 0)",
           "(f*log(x)*log(x) if x > 0 else 0)",
           domain_x=(0.2, 3.0), domain_y=(-2.0, 2.5)),
    Binary("arctan2", "atan2(x, y)", "y/r2", "-x/r2",
           "-2*x*y/(r2*r2)", "(x*x - y*y)/(r2*r2)", "2*x*y/(r2*r2)",
           domain_x=(0.2, 3.0), domain_y=(0.2, 3.0), lets=(("r2", "x*x + y*y"),)),
    Binary("hypot", "hypot(x, y)", "x/f", "y/f",
           "y*y/(f*f*f)", "-x*y/(f*f*f)", "x*x/(f*f*f)",
           domain_x=(0.2, 3.0), domain_y=(0.2, 3.0)),
    # Ties go to the first argument (TF: maximum's gradient uses x >= y).
    Binary("maximum", "(x if (x >= y or x != x) else y)",
           "(1 if (x >= y or x != x) else 0)", "(0 if (x >= y or x != x) else 1)",
           "0", "0", "0"),
    Binary("minimum", "(x if (x <= y or x != x) else y)",
           "(1 if (x <= y or x != x) else 0)", "(0 if (x <= y or x != x) else 1)",
           "0", "0", "0"),
    # fmax/fmin ignore a NaN argument, so its derivative goes to the other one.
    Binary("fmax", "fmax(x, y)", "(1 if (x >= y or y != y) else 0)",
           "(0 if (x >= y or y != y) else 1)", "0", "0", "0"),
    Binary("fmin", "fmin(x, y)", "(1 if (x <= y or y != y) else 0)",
           "(0 if (x <= y or y != y) else 1)", "0", "0", "0"),
    # x == y first: equal infinities would make x - y a NaN.
    Binary("logaddexp", f"(x + {LN2} if x == y else m + log1p(exp(-fabs(x - y))))",
           "exp(x - f)", "exp(y - f)", "dfx*dfy", "-dfx*dfy", "dfx*dfy",
           lets=(("m", "(x if x > y else y)"),)),
    # ---- scipy.special
    # x*log(y), with SciPy's xlogy(0, y) = 0 for any y but NaN. On the line x = 0
    # the value is 0 for every y, so d/dy (and d2/dy2) is 0 there, also at y = 0
    # where x/y is 0/0. d/dx is log(y), the true partial wherever y > 0 (TF's
    # gradient gives 0 on all of x = 0; entropy-like terms xlogy(p, q) with p = 0
    # need log(q)), and 0 at (0, 0), where the value jumps to -inf along y = 0 so
    # no finite choice is right and 0 keeps the tangents finite.
    Binary("xlogy", "(0 if (x == 0 and y == y) else x*log(y))",
           "(0 if (x == 0 and y == 0) else log(y))", "(0 if x == 0 else x/y)",
           "0", "(0 if (x == 0 and y == 0) else 1/y)", "(0 if x == 0 else -x/(y*y))",
           domain_x=(-2.0, 3.0), domain_y=(0.2, 3.0), module="scipy.special"),
)


def by_name():
    """Every row keyed by its ufunc name."""
    return {row.name: row for row in UNARY + BINARY}
