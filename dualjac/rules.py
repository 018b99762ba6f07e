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




# ---------------------------------------------------------------- evaluated rows
#
# scipy.special functions with no C implementation dualjac may build against: their
# value is SciPy's own ufunc call, and their partials are NumPy-syntax expressions
# evaluated with SciPy's (and NumPy's) functions on the operands' values. The
# dispatch (dualjac/dispatch/special.py) applies the chain rule on the jet from
# those arrays, for every jet kind and level.


@dataclass(frozen=True)
class Evaluated:
    name: str                 # the ufunc's name in `module`
    args: tuple               # the ufunc's parameters, in call order ("v", "x")
    partials: tuple           # ((arg, expression), ...): first partials of the differentiable args
    second: tuple             # ((arg, arg, expression), ...): second partials; a pair not listed is 0
    domains: tuple            # one (lo, hi) per argument, in call order: where tests sample
    lets: tuple = ()          # ((name, expression), ...): intermediates, computed once per call
    module: str = "scipy.special"
    aliases: tuple = ()       # other names of the same ufunc there (jn is jv)
    integers: tuple = ()      # constant arguments that take integer values (an order n)
    # Test witnesses (NumPy syntax; see "What a row carries for its tests"): `analytic`
    # False means complex step does not apply (the ufunc rejects complex input or is
    # not accurate enough in it, and there is no complex_witness); reference_derivative
    # and reference_second_derivative hold one expression per differentiable argument
    # ("" where none is independent of the rule), the second ones d2f/darg2.
    analytic: bool = True
    kinks: tuple = ()
    complex_witness: str = ""
    reference_derivative: tuple = ()
    reference_second_derivative: tuple = ()

    @property
    def differentiable(self):
        return tuple(arg for arg, _ in self.partials)

    @property
    def constants(self):
        return tuple(arg for arg in self.args if arg not in self.differentiable)


def _in_x(name, args, df, d2f, domains, **fields):
    """A row differentiable in its last argument x, every other argument constant."""
    return Evaluated(name, args, (("x", df),), (("x", "x", d2f),), domains, **fields)


def _bessel(name, sign, shift, domain_x, reference, **fields):
    """C_v(x) with C_v' = sign (C_{v-1} + shift C_{v+1}) / 2 (J, Y: sign 1, shift -1;
    I: 1, 1; K: -1, 1), so C_v'' = (C_{v-2} + 2 shift C_v + C_{v+2}) / 4. SciPy's
    complex Bessel values are not accurate enough for complex step: SciPy's
    derivative functions (jvp, ...) are the witnesses."""
    df = f"{sign} * ({name}(v - 1, x) + {shift} * {name}(v + 1, x)) / 2"
    d2f = f"({name}(v - 2, x) + 2 * {shift} * f + {name}(v + 2, x)) / 4"
    return _in_x(name, ("v", "x"), df, d2f, ((0.0, 3.0), domain_x), analytic=False,
                 reference_derivative=(f"{reference}(v, x, 1)",),
                 reference_second_derivative=(f"{reference}(v, x, 2)",), **fields)


def _scaled_bessel(name, unscaled, sign, shift, exponent, reference, **fields):
    """e^(exponent |x|) C_v(x) (ive: -1, kve: +1): with s = exponent sign(x) and the
    scaled neighbours g_k = e^(exponent |x|) C_k(x), f' = (sign)(g_{v-1} + shift g_{v+1}) / 2
    + s f and f'' = (g_{v-2} + 2 shift f + g_{v+2}) / 4 + 2 s (f' - s f) + s^2 f."""
    first = f"{sign} * ({name}(v - 1, x) + {shift} * {name}(v + 1, x)) / 2"
    lets = (("s", f"{exponent} * sign(x)"), ("g1", first))
    d2f = f"({name}(v - 2, x) + 2 * {shift} * f + {name}(v + 2, x)) / 4 + 2 * s * g1 + s * s * f"
    scale = f"exp({exponent} * abs(x))"
    return _in_x(name, ("v", "x"), "g1 + s * f", d2f, ((0.0, 3.0), (0.1, 10.0)), lets=lets,
                 analytic=False,
                 reference_derivative=(f"{scale} * ({reference}(v, x, 1) + {exponent} * {unscaled}(v, x))",),
                 reference_second_derivative=(
                     f"{scale} * ({reference}(v, x, 2) + 2 * {exponent} * {reference}(v, x, 1)"
                     f" + {unscaled}(v, x))",), **fields)


def _bessel_of_order(name, order, general, reference, domain=(0.1, 10.0), **fields):
    """j0, k1, i0e, ...: the order-`order` member of a family row `general`, as a unary
    row (its partials are the family's with v = order)."""
    row = _FAMILIES[general]
    v = f"{float(order)}"
    lets = tuple((n, e.replace("(v - 1, x)", f"({v} - 1, x)").replace("(v + 1, x)", f"({v} + 1, x)"))
                 for n, e in row.lets)

    def at_order(expression):
        for k in ("v - 2", "v - 1", "v + 1", "v + 2"):
            expression = expression.replace(f"({k}, x)", f"({v}{k[1:]}, x)")
        return expression

    (_, df), = row.partials
    (_, _, d2f), = row.second
    return _in_x(name, ("x",), at_order(df), at_order(d2f), (domain,),
                 lets=tuple((n, at_order(e)) for n, e in lets), analytic=False,
                 reference_derivative=(reference[0],),
                 reference_second_derivative=(reference[1],), **fields)


_FAMILIES = {
    "jv": _bessel("jv", 1, -1, (0.1, 10.0), "jvp", aliases=("jn",)),
    "yv": _bessel("yv", 1, -1, (0.2, 10.0), "yvp"),
    "iv": _bessel("iv", 1, 1, (0.1, 10.0), "ivp"),
    "kv": _bessel("kv", -1, 1, (0.1, 10.0), "kvp"),
    "ive": _scaled_bessel("ive", "iv", 1, 1, -1, "ivp"),
    "kve": _scaled_bessel("kve", "kv", -1, 1, 1, "kvp"),
}


def _unary_bessels():
    rows = []
    for name, order, family, kinks in [
            ("j0", 0, "jv", ()), ("j1", 1, "jv", ()), ("y0", 0, "yv", ()), ("y1", 1, "yv", ()),
            ("i0", 0, "iv", ()), ("i1", 1, "iv", ()), ("k0", 0, "kv", ()), ("k1", 1, "kv", ()),
            ("i0e", 0, "ive", (0.0,)), ("i1e", 1, "ive", (0.0,)),
            ("k0e", 0, "kve", ()), ("k1e", 1, "kve", ())]:
        base = _FAMILIES[family]
        derivative, second = base.reference_derivative[0], base.reference_second_derivative[0]
        reference = tuple(e.replace("(v, x", f"({order}, x") for e in (derivative, second))
        domain = {"jv": (-10.0, 10.0), "iv": (-6.0, 6.0), "ive": (-10.0, 10.0)}.get(
            family, (0.1, 10.0))
        if family == "ive":      # e^(-|x|): I_v(-x) = (-1)^v I_v(x), so |x| and sign(x) both ways
            reference = tuple(e.replace("exp(-1 * abs(x))", "exp(-abs(x))")
                               .replace("-1 * iv(", "-sign(x) * iv(")
                               .replace("2 * -1 * ivp(", "-2 * sign(x) * ivp(") for e in reference)
        rows.append(_bessel_of_order(name, order, family, reference, domain, kinks=kinks))
    return tuple(rows)


def _spence_second_series(terms=24):
    """Coefficients (for polyval) of spence'' about 1 in e = x - 1:
    sum_k (-1)^k (k + 1) / (k + 2) e^k, where the closed form cancels."""
    return "[" + ", ".join(repr((-1) ** k * (k + 1) / (k + 2)) for k in reversed(range(terms))) + "]"


POLYGAMMA1 = "polygamma(1, {})"

EVALUATED = (
    # ---- gamma and beta
    _in_x("gamma", ("x",), "f * psi(x)", "f * (psi(x) ** 2 + polygamma(1, x))", ((0.1, 5.0),)),
    # 1/Gamma is entire: at its zeros x = -n, -f psi(x) is 0 * inf; there the
    # reflection 1/Gamma(x) = Gamma(1 - x) sin(pi x) / pi gives the derivatives.
    _in_x("rgamma", ("x",),
          "where(f == 0, cos(pi * x) * gamma(1 - x), -f * psi(x))",
          "where(f == 0, -2 * cos(pi * x) * gamma(1 - x) * psi(1 - x),"
          " f * (psi(x) ** 2 - polygamma(1, x)))", ((-2.9, 4.0),),
          # SciPy's complex Gamma loses the imaginary part for Re x < 0: the reflection there
          complex_witness="where(real(x) < 0.5, sin(pi * x) * gamma(1 - x) / pi, 1 / gamma(x))"),
    _in_x("loggamma", ("x",), "psi(x)", "polygamma(1, x)", ((0.1, 8.0),)),
    Evaluated("beta", ("a", "b"), (("a", "f * pa"), ("b", "f * pb")),
              (("a", "a", "f * (pa * pa + polygamma(1, a) - t)"),
               ("a", "b", "f * (pa * pb - t)"),
               ("b", "b", "f * (pb * pb + polygamma(1, b) - t)")),
              ((0.2, 4.0), (0.2, 4.0)),
              lets=(("pa", "psi(a) - psi(a + b)"), ("pb", "psi(b) - psi(a + b)"),
                    ("t", "polygamma(1, a + b)")),
              complex_witness="gamma(a) * gamma(b) / gamma(a + b)"),
    Evaluated("betaln", ("a", "b"), (("a", "psi(a) - psi(a + b)"), ("b", "psi(b) - psi(a + b)")),
              (("a", "a", "polygamma(1, a) - t"), ("a", "b", "-t"), ("b", "b", "polygamma(1, b) - t")),
              ((0.2, 4.0), (0.2, 4.0)), lets=(("t", "polygamma(1, a + b)"),),
              complex_witness="loggamma(a) + loggamma(b) - loggamma(a + b)"),
    # regularized incomplete beta and gamma functions, in x: the integrands
    _in_x("betainc", ("a", "b", "x"), "p", "p * ((a - 1) / x - (b - 1) / (1 - x))",
          ((0.5, 4.0), (0.5, 4.0), (0.02, 0.98)),
          lets=(("p", "exp((a - 1) * log(x) + (b - 1) * log1p(-x) - betaln(a, b))"),),
          analytic=False),
    _in_x("betaincc", ("a", "b", "x"), "-p", "-p * ((a - 1) / x - (b - 1) / (1 - x))",
          ((0.5, 4.0), (0.5, 4.0), (0.02, 0.98)),
          lets=(("p", "exp((a - 1) * log(x) + (b - 1) * log1p(-x) - betaln(a, b))"),),
          analytic=False),
    _in_x("gammainc", ("a", "x"), "p", "p * ((a - 1) / x - 1)", ((0.5, 5.0), (0.05, 8.0)),
          lets=(("p", "exp((a - 1) * log(x) - x - gammaln(a))"),), analytic=False),
    _in_x("gammaincc", ("a", "x"), "-p", "-p * ((a - 1) / x - 1)", ((0.5, 5.0), (0.05, 8.0)),
          lets=(("p", "exp((a - 1) * log(x) - x - gammaln(a))"),), analytic=False),
    # ---- error functions and the normal distribution
    # inverse functions: f' = 1 / g'(f), and f'' = 2 f f'^2 for these g
    _in_x("erfinv", ("x",), "sqrt(pi) / 2 * exp(f * f)", "2 * f * (pi / 4) * exp(2 * f * f)",
          ((-0.98, 0.98),), analytic=False,
          reference_derivative=("1 / (2 / sqrt(pi) * exp(-erfinv(x) ** 2))",),
          reference_second_derivative=("2 * erfinv(x) * df ** 2",)),
    _in_x("erfcinv", ("x",), "-sqrt(pi) / 2 * exp(f * f)", "2 * f * (pi / 4) * exp(2 * f * f)",
          ((0.02, 1.98),), analytic=False,
          reference_derivative=("-1 / (2 / sqrt(pi) * exp(-erfcinv(x) ** 2))",),
          reference_second_derivative=("2 * erfcinv(x) * df ** 2",)),
    _in_x("ndtri", ("x",), "sqrt(2 * pi) * exp(f * f / 2)", "f * 2 * pi * exp(f * f)",
          ((0.01, 0.99),), analytic=False,
          reference_derivative=("1 / (exp(-ndtri(x) ** 2 / 2) / sqrt(2 * pi))",),
          reference_second_derivative=("ndtri(x) * df ** 2",)),
    _in_x("erfcx", ("x",), "g1", "2 * f + 2 * x * g1", ((-3.0, 8.0),),
          lets=(("g1", "2 * x * f - 2 / sqrt(pi)"),)),
    _in_x("log_expit", ("x",), "expit(-x)", "-expit(x) * expit(-x)", ((-20.0, 20.0),),
          complex_witness="-log1p(exp(-x))"),
    # ---- Bessel functions, in x (the order v constant)
    *_FAMILIES.values(),
    # a float order is truncated, as SciPy does (yn(1.5, x) is yn(1, x))
    _in_x("yn", ("n", "x"), "(yn(trunc(n) - 1, x) - yn(trunc(n) + 1, x)) / 2",
          "(yn(trunc(n) - 2, x) - 2 * f + yn(trunc(n) + 2, x)) / 4", ((0.0, 4.0), (0.2, 10.0)),
          integers=("n",), analytic=False,
          reference_derivative=("yvp(n, x, 1)",), reference_second_derivative=("yvp(n, x, 2)",)),
    *_unary_bessels(),
    # ---- entropies
    _in_x("entr", ("x",), "-(log(x) + 1)", "-1 / x", ((0.05, 4.0),), complex_witness="-x * log(x)"),
    Evaluated("rel_entr", ("x", "y"), (("x", "log(x / y) + 1"), ("y", "-x / y")),
              (("x", "x", "1 / x"), ("x", "y", "-1 / y"), ("y", "y", "x / (y * y)")),
              ((0.05, 3.0), (0.1, 3.0)), complex_witness="x * log(x / y)"),
    Evaluated("kl_div", ("x", "y"), (("x", "log(x / y)"), ("y", "1 - x / y")),
              (("x", "x", "1 / x"), ("x", "y", "-1 / y"), ("y", "y", "x / (y * y)")),
              ((0.05, 3.0), (0.1, 3.0)), complex_witness="x * log(x / y) - x + y"),
    # x log1p(y), 0 on x = 0 (SciPy): as xlogy, d/dy is 0 there and every partial
    # is 0 at (0, -1), where the value jumps to -inf along y = -1.
    Evaluated("xlog1py", ("x", "y"),
              (("x", "where((x == 0) & (y == -1), 0.0, log1p(y))"),
               ("y", "where(x == 0, 0.0, x / (1 + y))")),
              (("x", "y", "where((x == 0) & (y == -1), 0.0, 1 / (1 + y))"),
               ("y", "y", "where(x == 0, 0.0, -x / ((1 + y) * (1 + y)))")),
              ((-2.0, 3.0), (-0.8, 3.0))),
    # ---- zeta, dilogarithm, exponential integrals
    # Hurwitz zeta(x, q), the ufunc behind scipy.special.zeta(x, q): in q (SciPy has
    # no derivative in x). zeta(x) alone (Riemann's) stays without a rule.
    Evaluated("_zeta", ("x", "q"), (("q", "-x * zeta(x + 1, q)"),),
              (("q", "q", "x * (x + 1) * zeta(x + 2, q)"),), ((1.5, 6.0), (0.2, 4.0)),
              module="scipy.special._ufuncs", analytic=False),
    # spence(x) = int_1^x log(t) / (1 - t) dt; about x = 1 (e = x - 1) f' = -log1p(e) / e
    # and f'' = (log1p(e) - e / x) / e^2 cancel: their series there.
    _in_x("spence", ("x",), "where(e == 0, -1.0, -log1p(e) / where(e == 0, 1.0, e))",
          f"where(abs(e) < 0.1, polyval({_spence_second_series()}, e),"
          " (log1p(e) - e / x) / (e * e))", ((0.05, 4.0),), lets=(("e", "x - 1"),)),
    # E_n'(x) = -E_{n-1}(x), down to E_{-1} = e^-x (1 + x) / x^2, E_{-2} = e^-x (x^2 + 2x + 2) / x^3;
    # a float n is truncated, as SciPy does (expn(1.5, x) is expn(1, x))
    _in_x("expn", ("n", "x"),
          "where(trunc(n) >= 1, -expn(maximum(trunc(n) - 1, 0), x), -exp(-x) * (1 + x) / (x * x))",
          "where(trunc(n) >= 2, expn(maximum(trunc(n) - 2, 0), x), where(trunc(n) == 1,"
          " exp(-x) * (1 + x) / (x * x), exp(-x) * (x * x + 2 * x + 2) / (x * x * x)))",
          ((0.0, 5.0), (0.1, 6.0)),
          integers=("n",), analytic=False),
    _in_x("exp1", ("x",), "-exp(-x) / x", "exp(-x) * (x + 1) / (x * x)", ((0.1, 6.0),)),
    # SciPy's complex expi drops a tiny imaginary part: no complex step
    _in_x("expi", ("x",), "exp(x) / x", "exp(x) * (x - 1) / (x * x)", ((0.1, 5.0),),
          analytic=False),
    # ---- Box-Cox transforms, in x (lambda constant)
    _in_x("boxcox", ("x", "lmbda"), "x ** (lmbda - 1)", "(lmbda - 1) * x ** (lmbda - 2)",
          ((0.1, 4.0), (-1.5, 2.0)), complex_witness="expm1(lmbda * log(x)) / lmbda"),
    _in_x("boxcox1p", ("x", "lmbda"), "(1 + x) ** (lmbda - 1)",
          "(lmbda - 1) * (1 + x) ** (lmbda - 2)", ((-0.9, 3.0), (-1.5, 2.0)),
          complex_witness="expm1(lmbda * log1p(x)) / lmbda"),
    _in_x("inv_boxcox", ("x", "lmbda"), "f ** (1 - lmbda)", "(1 - lmbda) * f ** (1 - 2 * lmbda)",
          ((-0.3, 2.0), (-0.4, 1.5)), complex_witness="exp(log1p(lmbda * x) / lmbda)"),
    _in_x("inv_boxcox1p", ("x", "lmbda"), "(1 + f) ** (1 - lmbda)",
          "(1 - lmbda) * (1 + f) ** (1 - 2 * lmbda)", ((-0.3, 2.0), (-0.4, 1.5)),
          complex_witness="expm1(log1p(lmbda * x) / lmbda)"),
)


def by_name():
    """Every row keyed by its ufunc name."""
    return {row.name: row for row in UNARY + BINARY + EVALUATED}
