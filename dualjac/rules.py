"""The derivative rules table: one row per elementwise function.

Everything elementwise in dualjac is generated from this table (the idea of
DiffRules.jl): at build time ``setup.py`` turns every row into fused C kernels
for float32 and float64, dual and hyper-dual; at import time the extension maps
each row's ufunc to its kernels; and the tests iterate the table, checking
every row against complex-step derivatives over its ``domain``.

A row gives expressions in Python syntax, translated to C by ``src_c/kernels/generate.py``
(``a if c else b``, ``and``, ``or``, calls, arithmetic, comparisons):

* unary rows use ``x`` (the argument); ``df`` may use ``f`` (the value), ``d2f``
  may use ``f`` and ``df``;
* binary rows use ``x`` and ``y``; partials may use ``f``;
* ``lets`` are named intermediates, computed once per element before the
  partials (``("r2", "x*x + y*y")``), or outputs a call fills through a pointer
  (``("other", "cos(x)")``: the derivative of sin); their
  names must not clash with the kernels' own locals (``s``, ``p``, ``c``, ...:
  see ``src_c/kernels/_kernels.h.tp``);
* a partial written as the literal ``"0"`` is dropped from the generated code,
  so linear functions do no second-order work and ``0 * inf`` never makes a NaN.

Math functions are written with their double names (``sin``, ``exp``); the
float32 kernels use the ``f``-suffixed C99 versions (the names in
``C_MATH_FUNCTIONS``). Functions libm lacks (digamma, ndtr, ...) come from
``src_c/include/special.h`` as ``dj_*``: they take and return double in both kernel
types, so float32 kernels compute those in double and round.

A row's ``aliases`` are other names of the same ufunc in its module (``np.radians`` is
``deg2rad``'s): they run the row's kernels too.

A second kind of row, ``Evaluated`` (at the end, ``EVALUATED``), serves scipy.special
functions that have no C implementation dualjac may build against (jv, gamma, betainc,
...): its value is SciPy's own ufunc call and its partials are NumPy-syntax expressions
evaluated with SciPy's functions on the values; ``dualjac/dispatch/special.py`` applies
the chain rule on the jets. Such a row names its arguments, and those without a partial
are constants (an order, a shape parameter): a dual one with derivatives raises.

A row's ``module`` says where its ufunc lives: ``"numpy"``, or ``"scipy.special"``
for the special-function rows, which are registered only when SciPy imports
(SciPy is optional; its rows' kernels are always built). This module is pure
Python with no dependency on the compiled extension, so the build can import it.

What a row carries for its tests
--------------------------------

The tests that iterate the table (``tests/test_rules_table.py``,
``test_scipy_special.py``, ``test_vectorized_values.py``, ``test_deferred.py``)
read everything they need from the row, so adding a function is one row and
nothing else. The witness fields are NumPy-syntax expressions, never seen by the
build: the tests evaluate them with NumPy's functions, then scipy.special's, in
scope (``tests/witness.py``'s ``evaluate_witness``). A complex witness is checked
against the ufunc, a reference derivative against finite differences or the
kernels, and ``test_rows_carry_the_witnesses_their_tests_need`` checks that
every row has the fields its tests read.

* ``domain`` (unary) / ``domain_x``, ``domain_y`` (binary): the open intervals
  test points are drawn from; every witness must hold there.
* ``analytic``: False when the function is not complex-analytic (abs, floor,
  maximum): complex step does not apply, so the tests use central differences
  and the row's ``reference_derivative``, which such a row must have; their
  points stay away from the unary row's ``kinks`` and, for a binary row, from
  ties ``x == y``.
* ``kinks`` (unary): the points of the (closed) domain where a non-analytic
  row is not differentiable.
* ``complex_witness``: a holomorphic expression equal to f on the domain, for
  complex step when the ufunc rejects complex input (``"x ** (1.0 / 3.0)"`` for
  cbrt). Without one, complex step calls the ufunc itself.
* ``reference_derivative``: f' written independently of the rule (unary), or
  the pair (d/dx, d/dy) (binary), valid away from kinks. Required for
  non-analytic rows, rows with a ``block`` (``tests/test_vectorized_values.py``)
  and scipy.special unary rows; ``reference_second_derivative`` (unary) is f'',
  which may use ``df`` (the reference f'), required for scipy.special unary rows
  (``tests/test_scipy_special.py``'s dense grids).
* ``value_scale`` (unary): values are compared relative to max(abs(f), this),
  for a ufunc whose own value is only accurate to that scale near its zeros.
* ``operator`` (binary): the Python operator that runs the row (``"x + y"``);
  the tests run it against the same witnesses, eagerly and deferred.
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
LOG2E = "1.4426950408889634"              # 1 / ln 2, as NumPy's logaddexp2 writes it
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
    aliases: tuple = ()           # other names of the same function there (np.radians)
    # A vectorized value pass in src_c/include/blocks.h (name without the _f64 / _f32
    # suffix) that fills f, and `other` if the row lets one, for a run of
    # arguments; it must agree with `f` (the row's scalar definition).
    block: str = ""
    # Test witnesses (NumPy syntax; see "What a row carries for its tests").
    analytic: bool = True
    kinks: tuple = ()
    complex_witness: str = ""
    reference_derivative: str = ""
    reference_second_derivative: str = ""
    value_scale: float = 0.0


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
    # Test witnesses (NumPy syntax; see "What a row carries for its tests").
    analytic: bool = True
    complex_witness: str = ""
    reference_derivative: tuple = ()     # (d/dx, d/dy)
    operator: str = ""


SIGN_OF_X = "where(x > 0, 1.0, where(x < 0, -1.0, 0.0))"
STEP_DOMAIN = (-3.0, 3.0)
# Integers and half-integers (rint's jumps): a superset of every step row's jumps.
STEP_KINKS = tuple(k / 2 for k in range(int(2 * STEP_DOMAIN[0]), int(2 * STEP_DOMAIN[1]) + 1))


def _step(name, c_function):
    """A piecewise-constant function: connected, with zero derivative (TF's rule)."""
    return Unary(name, f"{c_function}(x)", "0", "0", STEP_DOMAIN, analytic=False,
                 kinks=STEP_KINKS, reference_derivative="zeros_like(x)")


def _tie_partials(comparison):
    """(d/dx, d/dy) of a max / min-like row: the argument the comparison picks
    (ties would go to x; the tests stay away from them)."""
    return (f"where({comparison}, 1.0, 0.0)", f"where({comparison}, 0.0, 1.0)")


UNARY = (
    Unary("negative", "-x", "-1", "0"),
    Unary("positive", "x", "1", "0"),
    # On real arguments the complex conjugate is the identity (np.conj is this ufunc).
    Unary("conjugate", "x", "1", "0", complex_witness="x"),
    Unary("square", "x*x", "2*x", "2"),
    Unary("sqrt", "sqrt(x)", "0.5/f", "-0.25/(x*f)", (0.05, 4.0)),
    Unary("cbrt", "cbrt(x)", "1/(3*f*f)", "-2/(9*x*f*f)", (0.05, 4.0),
          complex_witness="x ** (1.0 / 3.0)"),
    Unary("reciprocal", "1/x", "-f*f", "2*f*f*f", (0.2, 4.0)),
    Unary("exp", "exp(x)", "f", "f", block="dj_exp_block", reference_derivative="exp(x)"),
    Unary("exp2", "exp2(x)", f"f*{LN2}", f"f*{LN2}*{LN2}"),
    Unary("expm1", "expm1(x)", "f + 1", "f + 1", block="dj_expm1_block",
          reference_derivative="exp(x)"),
    Unary("log", "log(x)", "1/x", "-1/(x*x)", (0.05, 4.0), block="dj_log_block",
          reference_derivative="1.0 / x"),
    Unary("log2", "log2(x)", f"1/(x*{LN2})", f"-1/(x*x*{LN2})", (0.05, 4.0)),
    Unary("log10", "log10(x)", f"1/(x*{LN10})", f"-1/(x*x*{LN10})", (0.05, 4.0)),
    Unary("log1p", "log1p(x)", "1/(1 + x)", "-1/((1 + x)*(1 + x))", (-0.9, 4.0),
          block="dj_log1p_block", reference_derivative="1.0 / (1.0 + x)"),
    # Their block functions compute sin and cos from one argument reduction.
    Unary("sin", "sin(x)", "other", "-f", lets=(("other", "cos(x)"),), block="dj_sin_block",
          reference_derivative="cos(x)"),
    Unary("cos", "cos(x)", "-other", "-f", lets=(("other", "sin(x)"),), block="dj_cos_block",
          reference_derivative="-sin(x)"),
    Unary("tan", "tan(x)", "1 + f*f", "2*f*(1 + f*f)", (-1.4, 1.4)),
    Unary("arcsin", "asin(x)", "1/sqrt(1 - x*x)", "x*df*df*df", (-0.95, 0.95)),
    Unary("arccos", "acos(x)", "-1/sqrt(1 - x*x)", "x*df*df*df", (-0.95, 0.95)),
    Unary("arctan", "atan(x)", "1/(1 + x*x)", "-2*x*df*df"),
    Unary("sinh", "sinh(x)", "cosh(x)", "f"),
    Unary("cosh", "cosh(x)", "sinh(x)", "f"),
    Unary("tanh", "tanh(x)", "1 - f*f", "-2*f*(1 - f*f)", block="dj_tanh_block",
          reference_derivative="1.0 / cosh(x) ** 2"),
    Unary("arcsinh", "asinh(x)", "1/sqrt(x*x + 1)", "-x*df*df*df"),
    Unary("arccosh", "acosh(x)", "1/sqrt(x*x - 1)", "-x*df*df*df", (1.05, 4.0)),
    Unary("arctanh", "atanh(x)", "1/(1 - x*x)", "2*x*df*df", (-0.95, 0.95)),
    Unary("deg2rad", "x*0.017453292519943295", "0.017453292519943295", "0",
          complex_witness="x * (pi / 180.0)", aliases=("radians",)),
    Unary("rad2deg", "x*57.29577951308232", "57.29577951308232", "0",
          complex_witness="x * (180.0 / pi)", aliases=("degrees",)),
    # |x|: derivative sign(x), 0 at the kink (TF's rule).
    Unary("absolute", "fabs(x)", "(1 if x > 0 else (-1 if x < 0 else 0))", "0",
          analytic=False, kinks=(0.0,), reference_derivative=SIGN_OF_X),
    Unary("fabs", "fabs(x)", "(1 if x > 0 else (-1 if x < 0 else 0))", "0",
          analytic=False, kinks=(0.0,), reference_derivative=SIGN_OF_X),
    Unary("sign", "(1 if x > 0 else (-1 if x < 0 else (0 if x == 0 else x)))", "0", "0",
          analytic=False, kinks=(0.0,), reference_derivative="zeros_like(x)"),
    _step("floor", "floor"),
    _step("ceil", "ceil"),
    _step("rint", "rint"),
    _step("trunc", "trunc"),
    # ---- scipy.special
    Unary("erf", "erf(x)", f"{TWO_OVER_SQRT_PI}*exp(-x*x)", "-2*x*df",
          module="scipy.special", reference_derivative="2 / sqrt(pi) * exp(-x * x)",
          reference_second_derivative="-2 * x * df"),
    Unary("erfc", "erfc(x)", f"-{TWO_OVER_SQRT_PI}*exp(-x*x)", "-2*x*df",
          module="scipy.special", reference_derivative="-2 / sqrt(pi) * exp(-x * x)",
          reference_second_derivative="-2 * x * df"),
    # f' = f(1 - f), f'' = f'(1 - 2f), with 1 - f = expit(-x) and 1 - 2f = -tanh(x/2)
    # computed directly: 1 - f itself would keep no digits in the right tail.
    Unary("expit", "1/(1 + exp(-x))", "f*g", "-df*tanh(0.5*x)", (-8.0, 8.0),
          lets=(("g", "1/(1 + exp(x))"),), module="scipy.special",
          complex_witness="1 / (1 + exp(-x))",
          reference_derivative="expit(x) * expit(-x)",
          reference_second_derivative="df * (expit(-x) - expit(x))"),
    # SciPy's formula: log(x/(1 - x)) cancels near 1/2, where it uses log1p instead.
    # f' = 1/(x(1 - x)), f'' = (2x - 1)/(x(1 - x))^2 = t f'^2.
    Unary("logit", "(log(x/(1 - x)) if (x < 0.3 or x > 0.65) else log1p(t) - log1p(-t))",
          "1/(x*(1 - x))", "t*df*df", (0.02, 0.98),
          lets=(("t", "2*(x - 0.5)"),), module="scipy.special",
          complex_witness="log(x / (1 - x))",
          reference_derivative="1 / (x * (1 - x))",
          reference_second_derivative="(2 * x - 1) / (x * (1 - x)) ** 2"),
    # log|Gamma(x)|. SciPy returns -inf at -inf (Cephes passes infinities through);
    # lgamma gives +inf there. Complex step goes through log Gamma's principal
    # branch, whose real part is gammaln for x > 0. SciPy's own value is off by up
    # to 1e-13 relative next to its zeros at 1 and 2 (libm's lgamma, used here, is
    # not): values are compared on the scale 0.1 there.
    Unary("gammaln", "(x if x == -INFINITY else dj_lgamma(x))", "dj_digamma(x)",
          "dj_trigamma(x)", (0.1, 8.0), module="scipy.special",
          complex_witness="loggamma(x)", reference_derivative="digamma(x)",
          reference_second_derivative="polygamma(1, x)", value_scale=0.1),
    Unary("digamma", "dj_digamma(x)", "dj_trigamma(x)", "dj_tetragamma(x)", (0.1, 8.0),
          module="scipy.special", reference_derivative="polygamma(1, x)",
          reference_second_derivative="polygamma(2, x)"),
    Unary("ndtr", "dj_ndtr(x)", f"{INV_SQRT_2PI}*exp(-0.5*x*x)", "-x*df", (-8.0, 8.0),
          module="scipy.special", reference_derivative="exp(-0.5 * x * x) / sqrt(2 * pi)",
          reference_second_derivative="-x * df"),
    # f' = pdf/cdf, f'' = -f'(x + f'). In the left tail f' ~ -x: special.h computes
    # f' without under/overflow and f'' without the cancellation in x + f'.
    # The witness: pdf/cdf, with SciPy's erfcx (Faddeeva's) in the left tail; its
    # own x + df cancels: ~|x|^2 eps relative (4e-14 at x = -20).
    Unary("log_ndtr", "dj_log_ndtr(x)", "dj_log_ndtr_deriv(x)", "dj_log_ndtr_deriv2(x)",
          (-20.0, 5.0), module="scipy.special",
          reference_derivative="where(x < -1, sqrt(2 / pi) / erfcx(-x / sqrt(2)),"
                               " exp(-0.5 * x * x) / sqrt(2 * pi) / ndtr(x))",
          reference_second_derivative="-df * (x + df)"),
)

BINARY = (
    Binary("add", "x + y", "1", "1", "0", "0", "0", operator="x + y"),
    Binary("subtract", "x - y", "1", "-1", "0", "0", "0", operator="x - y"),
    Binary("multiply", "x*y", "y", "x", "0", "1", "0", operator="x * y"),
    Binary("divide", "x/y", "1/y", "-f/y", "0", "-1/(y*y)", "2*f/(y*y)",
           domain_y=(0.3, 3.0), operator="x / y"),
    # x**y. d/dy uses log(x): defined as 0 where x <= 0 (TF and JAX do the same),
    # so a constant exponent never meets log(0) and x**2 at 0 has derivative 0.
    # d/dx is 0 for y = 0 (x**0 is the constant 1) and d2/dx2 for y in {0, 1}
    # (x**1 is linear): the general formulas would be 0 * pow(0, -1) = NaN at x = 0.
    Binary("power", "pow(x, y)", "(0 if y == 0 else y*pow(x, y - 1))",
           "(f*log(x) if x > 0 else 0)",
           "(0 if (y == 0 or y == 1) else y*(y - 1)*pow(x, y - 2))",
           "(pow(x, y - 1)*(1 + y*log(x)) if x > 0 else 0)",
           "(f*log(x)*log(x) if x > 0 else 0)",
           domain_x=(0.2, 3.0), domain_y=(-2.0, 2.5), operator="x ** y"),
    Binary("arctan2", "atan2(x, y)", "y/r2", "-x/r2",
           "-2*x*y/(r2*r2)", "(x*x - y*y)/(r2*r2)", "2*x*y/(r2*r2)",
           domain_x=(0.2, 3.0), domain_y=(0.2, 3.0), lets=(("r2", "x*x + y*y"),),
           complex_witness="arctan(x / y)"),
    Binary("hypot", "hypot(x, y)", "x/f", "y/f",
           "y*y/(f*f*f)", "-x*y/(f*f*f)", "x*x/(f*f*f)",
           domain_x=(0.2, 3.0), domain_y=(0.2, 3.0), complex_witness="sqrt(x * x + y * y)"),
    # Ties go to the first argument (TF: maximum's gradient uses x >= y).
    Binary("maximum", "(x if (x >= y or x != x) else y)",
           "(1 if (x >= y or x != x) else 0)", "(0 if (x >= y or x != x) else 1)",
           "0", "0", "0", analytic=False, reference_derivative=_tie_partials("x >= y")),
    Binary("minimum", "(x if (x <= y or x != x) else y)",
           "(1 if (x <= y or x != x) else 0)", "(0 if (x <= y or x != x) else 1)",
           "0", "0", "0", analytic=False, reference_derivative=_tie_partials("x <= y")),
    # fmax/fmin ignore a NaN argument, so its derivative goes to the other one.
    Binary("fmax", "fmax(x, y)", "(1 if (x >= y or y != y) else 0)",
           "(0 if (x >= y or y != y) else 1)", "0", "0", "0",
           analytic=False, reference_derivative=_tie_partials("x >= y")),
    Binary("fmin", "fmin(x, y)", "(1 if (x <= y or y != y) else 0)",
           "(0 if (x <= y or y != y) else 1)", "0", "0", "0",
           analytic=False, reference_derivative=_tie_partials("x <= y")),
    # x == y first: equal infinities would make x - y a NaN.
    Binary("logaddexp", f"(x + {LN2} if x == y else m + log1p(exp(-fabs(x - y))))",
           "exp(x - f)", "exp(y - f)", "dfx*dfy", "-dfx*dfy", "dfx*dfy",
           lets=(("m", "(x if x > y else y)"),), complex_witness="log(exp(x) + exp(y))"),
    # log2(2**x + 2**y), in NumPy's arithmetic (so its values). The partials are logaddexp's
    # with base 2, and each second partial
    # gains the factor ln 2 (d/dx 2**(x - f) = ln 2 * 2**(x - f) * (1 - dfx)).
    Binary("logaddexp2", f"(x + 1 if x == y else m + {LOG2E}*log1p(exp2(-fabs(x - y))))",
           "exp2(x - f)", "exp2(y - f)", f"{LN2}*dfx*dfy", f"-{LN2}*dfx*dfy", f"{LN2}*dfx*dfy",
           lets=(("m", "(x if x > y else y)"),), complex_witness="log2(exp2(x) + exp2(y))"),
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

# The evaluated rows live in their own module. The build loads this file on its own (not
# as part of the package) and needs only the compiled rows above, so there it has none.
if __package__:
    from .rules_special import EVALUATED, Evaluated  # noqa: E402,F401
else:
    EVALUATED = ()


def by_name():
    """Every row keyed by its ufunc name. SciPy's own ufuncs of NumPy's names
    (scipy.special.expm1, an evaluated row) leave the name to NumPy's row."""
    return {row.name: row for row in EVALUATED + UNARY + BINARY}
