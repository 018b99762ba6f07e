"""The rules table's evaluated rows (``rules.EVALUATED``): scipy.special ufuncs whose value
is SciPy's own call and whose partials are NumPy-syntax expressions in SciPy's functions.

See ``dualjac/rules.py`` (which re-exports ``Evaluated`` and ``EVALUATED``) for what a row
carries for its tests, and ``dualjac/dispatch/special.py`` for the chain rule on the jets.
This module is pure Python, like the rest of the table.
"""

from dataclasses import dataclass

LN2 = "0.6931471805599453"
LN10 = "2.302585092994046"
STEP_KINKS = tuple(k / 2 for k in range(-6, 7))      # round's jumps are at half-integers

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


def _in(arg, name, args, df, d2f, domains, **fields):
    """A row differentiable in the one argument `arg`, every other argument constant."""
    return Evaluated(name, args, ((arg, df),), ((arg, arg, d2f),), domains, **fields)


def _inverse(name, args, slope, log_slope_derivative, domains, **fields):
    """f = g^-1(y) in the last argument y, with g'(f) = slope (an expression in f, the other
    arguments): f' = 1 / g'(f) and f'' = -g''(f) f'^3 = -(d/df log |g'(f)|) f'^2."""
    return _in(args[-1], name, args, "1 / slope", f"-({log_slope_derivative}) / (slope * slope)",
               domains, lets=(("slope", slope),), analytic=False, **fields)


def _cdf(name, args, density, log_density_derivative, domains, sign=1, **fields):
    """A distribution function (sign 1) or its complement (-1), in its last argument:
    f' = sign density, f'' = sign density (log density)'."""
    s = "" if sign > 0 else "-"
    return _in(args[-1], name, args, f"{s}q", f"{s}q * ({log_density_derivative})", domains,
               lets=(("q", density),), analytic=False, **fields)


def _below(n, k, expression):
    """`expression` (a polynomial family's member of degree n - k), or 0 where n is an integer
    below k: a polynomial of degree n has no k-th derivative left (SciPy gives NaN or 0 for
    negative integer degrees). Real n keeps the family's analytic continuation."""
    return f"where((n == floor(n)) & (n < {k}), 0.0, {expression})"


def _gegenbauer(k, alpha, argument):
    return _below("n", k, f"eval_gegenbauer(n - {k}, {alpha}, {argument})")


def _polynomial(name, args, df, d2f, domains):
    """An orthogonal polynomial of integer degree n, in x (n and any parameter constant);
    SciPy's complex loops lose digits at some points, so central differences witness it."""
    return _in_x(name, args, df, d2f, domains, integers=("n",), analytic=False)


DEGREES = (0.0, 6.0)
SHIFTED = (0.02, 0.98)      # the shifted families' interval [0, 1]


def _kelvin(name, df, d2f):
    """ber, bei, ker, kei and their derivatives (berp, ...): ber + i bei and ker + i kei
    solve w'' = -w' / x + i w, so each second derivative is a combination of the family.
    (SciPy's ker and kei lose digits as x grows, float32 ones from x = 3: sampled below.)"""
    domain = (0.2, 3.0) if name.startswith("ke") else (0.2, 8.0)
    return _in_x(name, ("x",), df, d2f, (domain,), analytic=False)


def _struve(name, sign):
    """H_v (sign -1) and L_v (sign 1): f' = v f / x + sign C_{v+1} + c_v with
    c_v = (x / 2)^v / (sqrt(pi) Gamma(v + 3/2)), the recurrence that needs no order below v."""
    lets = (("c0", "(x / 2) ** v / (sqrt(pi) * gamma(v + 1.5))"),
            ("c1", "(x / 2) ** (v + 1) / (sqrt(pi) * gamma(v + 2.5))"),
            ("h1", f"{name}(v + 1, x)"),
            ("g1", f"v / x * f + {sign} * h1 + c0"))
    d2f = (f"-v / (x * x) * f + v / x * g1 + {sign} * ((v + 1) / x * h1"
           f" + {sign} * {name}(v + 2, x) + c1) + v * c0 / x")
    return _in_x(name, ("v", "x"), "g1", d2f, ((0.0, 3.0), (0.2, 10.0)), lets=lets,
                 analytic=False)


def _exprel_series(order, terms=22):
    """Coefficients (for polyval) of exprel's derivative of this order about 0:
    sum_k (k + 1) ... (k + order) / (k + order + 1)! x^k, where the closed forms cancel."""
    from math import factorial, prod
    return "[" + ", ".join(repr(prod(range(k + 1, k + order + 1)) / factorial(k + order + 1))
                           for k in reversed(range(terms))) + "]"


def _elliptic_series(kind, order, terms=30):
    """Coefficients (for polyval) of the derivative of this order of K(m) or E(m) about 0:
    K = pi / 2 sum_n a_n m^n and E = pi / 2 sum_n a_n m^n / (1 - 2n), a_n = (binom(2n, n) / 4^n)^2."""
    from math import comb, pi, prod
    coefficients = []
    for n in range(order, terms + order):
        a = (comb(2 * n, n) / 4 ** n) ** 2 * (1 if kind == "K" else 1 / (1 - 2 * n))
        coefficients.append(pi / 2 * a * prod(range(n - order + 1, n + 1)))
    return "[" + ", ".join(repr(c) for c in reversed(coefficients)) + "]"


DEGREE = "0.017453292519943295"     # pi / 180


# Densities of the distributions (a format field names the variable), and the derivatives
# of their logarithms.
STUDENT = ("exp(gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * log(df * pi)"
           " - (df + 1) / 2 * log1p({t} * {t} / df))")
CHI2 = "exp((v / 2 - 1) * log({x}) - {x} / 2 - v / 2 * log(2) - gammaln(v / 2))"
FISHER = ("exp(0.5 * (dfn * log(dfn) + dfd * log(dfd)) + (dfn / 2 - 1) * log({x})"
          " - (dfn + dfd) / 2 * log(dfd + dfn * {x}) - betaln(dfn / 2, dfd / 2))")
FISHER_SLOPE = "(dfn / 2 - 1) / {x} - (dfn + dfd) / 2 * dfn / (dfd + dfn * {x})"
GAMMA_DENSITY = "exp(b * log(a) + (b - 1) * log({x}) - a * {x} - gammaln(b))"
BINOMIAL = ("where(floor(k) >= floor(n), 0.0, exp(floor(k) * log({p})"
            " + (floor(n) - floor(k) - 1) * log1p(-{p}) - betaln(floor(n) - floor(k), floor(k) + 1)))")
BINOMIAL_SLOPE = "floor(k) / {p} - (floor(n) - floor(k) - 1) / (1 - {p})"
NEGATIVE_BINOMIAL = ("exp((floor(n) - 1) * log({p}) + floor(k) * log1p(-{p})"
                     " - betaln(floor(n), floor(k) + 1))")
NEGATIVE_BINOMIAL_SLOPE = "(floor(n) - 1) / {p} - floor(k) / (1 - {p})"
POISSON = "exp(floor(k) * log({m}) - {m} - gammaln(floor(k) + 1))"
# K(m)'s partials: E(m) is `e`, the series below |m| = 0.2 (ellipk, and ellipkm1 with m = 1 - p)
COMPLETE_K = (
    ("e", "ellipe(m)"),
    ("dk", f"where(abs(m) < 0.2, polyval({_elliptic_series('K', 1)}, m),"
           " (e - (1 - m) * f) / (2 * m * (1 - m)))"),
    ("de", f"where(abs(m) < 0.2, polyval({_elliptic_series('E', 1)}, m), (e - f) / (2 * m))"))
K_SECOND = (f"where(abs(m) < 0.2, polyval({_elliptic_series('K', 2)}, m), de / (2 * m * (1 - m))"
            " - e * (1 - 2 * m) / (2 * (m * (1 - m)) ** 2) - dk / (2 * m) + f / (2 * m * m))")
# sin phi, cos phi and D = sqrt(1 - m sin^2 phi), for the incomplete elliptic integrals
INCOMPLETE = (("s", "sin(phi)"), ("c", "cos(phi)"), ("D", "sqrt(1 - m * s * s)"))

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
    # ---- elementary functions
    # SciPy's own ufuncs of NumPy's names (scipy.special.expm1 is not np.expm1): SciPy's values
    _in_x("expm1", ("x",), "exp(x)", "exp(x)", ((-3.0, 3.0),)),
    _in_x("log1p", ("x",), "1 / (1 + x)", "-1 / ((1 + x) * (1 + x))", ((-0.9, 4.0),)),
    _in_x("exp2", ("x",), f"f * {LN2}", f"f * {LN2} * {LN2}", ((-3.0, 3.0),),
          complex_witness=f"exp(x * {LN2})"),
    _in_x("cbrt", ("x",), "1 / (3 * f * f)", "-2 / (9 * x * f * f)", ((0.05, 4.0),),
          complex_witness="x ** (1.0 / 3.0)"),
    _in_x("exp10", ("x",), f"f * {LN10}", f"f * {LN10} * {LN10}", ((-3.0, 3.0),),
          complex_witness=f"exp(x * {LN10})"),
    # exprel(x) = (e^x - 1) / x: x f = e^x - 1 gives f' = (e^x - f) / x and
    # f'' = (e^x - 2 f') / x, which cancel near 0: their series there.
    _in_x("exprel", ("x",),
          f"where(abs(x) < 0.5, polyval({_exprel_series(1)}, x), (exp(x) - f) / x)",
          f"where(abs(x) < 0.5, polyval({_exprel_series(2)}, x),"
          " (exp(x) - 2 * (exp(x) - f) / x) / x)", ((-3.0, 2.9),),
          complex_witness="expm1(x) / x"),
    _in_x("cosm1", ("x",), "-sin(x)", "-cos(x)", ((-3.0, 3.0),),
          complex_witness="-2 * sin(x / 2) ** 2"),
    # x - 1 on the line x = 0... : the powers of x, with x > 0
    Evaluated("powm1", ("x", "y"), (("x", "y * x ** (y - 1)"), ("y", "(f + 1) * log(x)")),
              (("x", "x", "y * (y - 1) * x ** (y - 2)"),
               ("x", "y", "x ** (y - 1) * (1 + y * log(x))"),
               ("y", "y", "(f + 1) * log(x) ** 2")),
              ((0.2, 3.0), (-2.0, 2.5)), complex_witness="expm1(y * log(x))"),
    # trigonometric functions of degrees
    _in_x("sindg", ("x",), f"{DEGREE} * cosdg(x)", f"-{DEGREE} * {DEGREE} * f", ((-300.0, 300.0),),
          complex_witness=f"sin(x * {DEGREE})"),
    _in_x("cosdg", ("x",), f"-{DEGREE} * sindg(x)", f"-{DEGREE} * {DEGREE} * f", ((-300.0, 300.0),),
          complex_witness=f"cos(x * {DEGREE})"),
    _in_x("tandg", ("x",), f"{DEGREE} * (1 + f * f)", f"2 * {DEGREE} * {DEGREE} * f * (1 + f * f)",
          ((-80.0, 80.0),), complex_witness=f"tan(x * {DEGREE})"),
    _in_x("cotdg", ("x",), f"-{DEGREE} * (1 + f * f)", f"2 * {DEGREE} * {DEGREE} * f * (1 + f * f)",
          ((5.0, 175.0),), complex_witness=f"1 / tan(x * {DEGREE})"),
    # degrees, minutes, seconds to radians: linear in each
    Evaluated("radian", ("d", "m", "s"),
              (("d", DEGREE), ("m", f"{DEGREE} / 60"), ("s", f"{DEGREE} / 3600")), (),
              ((-90.0, 90.0), (0.0, 60.0), (0.0, 60.0)),
              complex_witness=f"(d + m / 60 + s / 3600) * {DEGREE}"),
    # rounding to the nearest integer: a step, zero derivative (as np.rint)
    _in_x("round", ("x",), "zeros_like(x)", "zeros_like(x)", ((-2.8, 3.1),), analytic=False,
          kinks=STEP_KINKS, reference_derivative=("zeros_like(x)",),
          reference_second_derivative=("zeros_like(x)",)),
    # Huber losses, in r (delta constant): huber's kinks at |r| = delta, sampled at delta = 1
    _in("r", "huber", ("delta", "r"), "where(abs(r) <= delta, r, delta * sign(r))",
        "where(abs(r) <= delta, 1.0, 0.0)", ((0.999, 1.001), (-3.0, 3.0)), analytic=False,
        kinks=(-1.0, 1.0)),
    _in("r", "pseudo_huber", ("delta", "r"), "r / sqrt(1 + (r / delta) ** 2)",
        "(1 + (r / delta) ** 2) ** -1.5", ((0.5, 2.0), (-3.0, 3.0)),
        complex_witness="r * r / (sqrt(1 + (r / delta) ** 2) + 1)"),
    # ---- error function family
    _in_x("dawsn", ("x",), "1 - 2 * x * f", "-2 * f - 2 * x * (1 - 2 * x * f)", ((-5.0, 5.0),)),
    _in_x("erfi", ("x",), "g1", "2 * x * g1", ((-3.0, 3.0),),
          lets=(("g1", "2 / sqrt(pi) * exp(x * x)"),)),
    # omega' = omega / (1 + omega), omega'' = omega / (1 + omega)^3
    _in_x("wrightomega", ("x",), "f / (1 + f)", "f / (1 + f) ** 3", ((-5.0, 5.0),)),
    # Voigt profile Re w(z) / (sigma sqrt(2 pi)) with z = (x + i gamma) / (sigma sqrt 2), in x:
    # w' = -2 z w + 2i / sqrt(pi), w'' = (4 z^2 - 2) w - 4 i z / sqrt(pi) (Faddeeva's w = wofz)
    _in_x("voigt_profile", ("x", "sigma", "gamma"),
          "real(-2 * z * w + 2j / sqrt(pi)) / (2 * sqrt(pi) * sigma * sigma)",
          "real((4 * z * z - 2) * w - 4j * z / sqrt(pi)) / (2 * sqrt(2 * pi) * sigma ** 3)",
          ((-3.0, 3.0), (0.5, 2.0), (0.1, 2.0)),
          lets=(("z", "(x + 1j * gamma) / (sigma * sqrt(2))"), ("w", "wofz(z)")),
          analytic=False),
    # Owen's T(h, a) = int_0^a e^(-h^2 (1 + t^2) / 2) / (2 pi (1 + t^2)) dt, in both
    Evaluated("owens_t", ("h", "a"),
              (("h", "-phi * erf(a * h / sqrt(2)) / 2"), ("a", "e / (2 * pi * (1 + a * a))")),
              (("h", "h", "(h * phi * erf(a * h / sqrt(2))"
                          " - phi * a * sqrt(2 / pi) * exp(-a * a * h * h / 2)) / 2"),
               ("h", "a", "-h * e / (2 * pi)"),
               ("a", "a", "-e * a * (h * h + 2 / (1 + a * a)) / (2 * pi * (1 + a * a))")),
              ((-3.0, 3.0), (-2.0, 2.0)),
              lets=(("phi", "exp(-h * h / 2) / sqrt(2 * pi)"),
                    ("e", "exp(-h * h * (1 + a * a) / 2)")), analytic=False),
    # ---- gamma family
    # Pochhammer's (z)_m = Gamma(z + m) / Gamma(z), in both
    Evaluated("poch", ("z", "m"), (("z", "f * d"), ("m", "f * psi(z + m)")),
              (("z", "z", "f * (d * d + t - polygamma(1, z))"),
               ("z", "m", "f * (d * psi(z + m) + t)"),
               ("m", "m", "f * (psi(z + m) ** 2 + t)")),
              ((0.2, 4.0), (0.0, 3.0)),
              lets=(("d", "psi(z + m) - psi(z)"), ("t", "polygamma(1, z + m)")),
              complex_witness="gamma(z + m) / gamma(z)"),
    # binomial coefficient of real arguments, Gamma(n + 1) / (Gamma(k + 1) Gamma(n - k + 1))
    Evaluated("binom", ("n", "k"), (("n", "f * dn"), ("k", "f * dk")),
              (("n", "n", "f * (dn * dn + polygamma(1, n + 1) - t)"),
               ("n", "k", "f * (dn * dk + t)"),
               ("k", "k", "f * (dk * dk - t - polygamma(1, k + 1))")),
              ((2.0, 6.0), (0.2, 1.8)),
              lets=(("dn", "psi(n + 1) - psi(n - k + 1)"), ("dk", "psi(n - k + 1) - psi(k + 1)"),
                    ("t", "polygamma(1, n - k + 1)")),
              complex_witness="gamma(n + 1) / (gamma(k + 1) * gamma(n - k + 1))"),
    # inverses of the regularized incomplete gamma and beta functions, in y
    _inverse("gammaincinv", ("a", "y"), "exp((a - 1) * log(f) - f - gammaln(a))",
             "(a - 1) / f - 1", ((0.5, 5.0), (0.05, 0.95))),
    _inverse("gammainccinv", ("a", "y"), "-exp((a - 1) * log(f) - f - gammaln(a))",
             "(a - 1) / f - 1", ((0.5, 5.0), (0.05, 0.95))),
    _inverse("betaincinv", ("a", "b", "y"),
             "exp((a - 1) * log(f) + (b - 1) * log1p(-f) - betaln(a, b))",
             "(a - 1) / f - (b - 1) / (1 - f)", ((0.5, 4.0), (0.5, 4.0), (0.05, 0.95))),
    _inverse("betainccinv", ("a", "b", "y"),
             "-exp((a - 1) * log(f) + (b - 1) * log1p(-f) - betaln(a, b))",
             "(a - 1) / f - (b - 1) / (1 - f)", ((0.5, 4.0), (0.5, 4.0), (0.05, 0.95))),
    # ndtri(exp(y)): g = log ndtr, g'(f) = pdf(f) / e^y, so f' = sqrt(2 pi) e^(y + f^2 / 2)
    # and f'' = f' + f f'^2
    _in("y", "ndtri_exp", ("y",), "g1", "g1 + f * g1 * g1", ((-20.0, -0.05),),
        lets=(("g1", "sqrt(2 * pi) * exp(y + f * f / 2)"),), analytic=False),
    # ---- distribution functions: their densities, written with gammaln / betaln
    _cdf("stdtr", ("df", "t"), STUDENT.format(t="t"), "-(df + 1) * t / (df + t * t)",
         ((1.0, 10.0), (-4.0, 4.0))),
    _inverse("stdtrit", ("df", "p"), STUDENT.format(t="f"), "-(df + 1) * f / (df + f * f)",
             ((1.0, 10.0), (0.05, 0.95))),
    _cdf("chdtr", ("v", "x"), CHI2.format(x="x"), "(v / 2 - 1) / x - 0.5", ((1.0, 8.0), (0.1, 10.0))),
    _cdf("chdtrc", ("v", "x"), CHI2.format(x="x"), "(v / 2 - 1) / x - 0.5",
         ((1.0, 8.0), (0.1, 10.0)), sign=-1),
    _inverse("chdtri", ("v", "p"), "-" + CHI2.format(x="f"), "(v / 2 - 1) / f - 0.5",
             ((1.0, 8.0), (0.05, 0.95))),
    _cdf("fdtr", ("dfn", "dfd", "x"), FISHER.format(x="x"), FISHER_SLOPE.format(x="x"),
         ((1.0, 8.0), (1.0, 8.0), (0.1, 5.0))),
    _cdf("fdtrc", ("dfn", "dfd", "x"), FISHER.format(x="x"), FISHER_SLOPE.format(x="x"),
         ((1.0, 8.0), (1.0, 8.0), (0.1, 5.0)), sign=-1),
    _inverse("fdtri", ("dfn", "dfd", "p"), FISHER.format(x="f"), FISHER_SLOPE.format(x="f"),
             ((1.0, 8.0), (1.0, 8.0), (0.05, 0.95))),
    # gamma distribution with rate a and shape b
    _cdf("gdtr", ("a", "b", "x"), GAMMA_DENSITY.format(x="x"), "(b - 1) / x - a",
         ((0.5, 3.0), (0.5, 4.0), (0.1, 6.0))),
    _cdf("gdtrc", ("a", "b", "x"), GAMMA_DENSITY.format(x="x"), "(b - 1) / x - a",
         ((0.5, 3.0), (0.5, 4.0), (0.1, 6.0)), sign=-1),
    _inverse("gdtrix", ("a", "b", "p"), GAMMA_DENSITY.format(x="f"), "(b - 1) / f - a",
             ((0.5, 3.0), (0.5, 4.0), (0.05, 0.95))),
    # binomial distribution in p: bdtr = I_(1-p)(n - k, k + 1) (k and n truncated, as SciPy
    # does); where k >= n it is 1, a constant
    _cdf("bdtr", ("k", "n", "p"), BINOMIAL.format(p="p"), BINOMIAL_SLOPE.format(p="p"),
         ((0.0, 4.0), (5.0, 10.0), (0.05, 0.95)), sign=-1, integers=("k", "n")),
    _cdf("bdtrc", ("k", "n", "p"), BINOMIAL.format(p="p"), BINOMIAL_SLOPE.format(p="p"),
         ((0.0, 4.0), (5.0, 10.0), (0.05, 0.95)), integers=("k", "n")),
    _inverse("bdtri", ("k", "n", "y"), "-" + BINOMIAL.format(p="f"), BINOMIAL_SLOPE.format(p="f"),
             ((0.0, 4.0), (5.0, 10.0), (0.05, 0.95)), integers=("k", "n")),
    # negative binomial distribution in p: nbdtr = I_p(n, k + 1)
    _cdf("nbdtr", ("k", "n", "p"), NEGATIVE_BINOMIAL.format(p="p"), NEGATIVE_BINOMIAL_SLOPE.format(p="p"),
         ((0.0, 5.0), (1.0, 6.0), (0.05, 0.95)), integers=("k", "n")),
    _cdf("nbdtrc", ("k", "n", "p"), NEGATIVE_BINOMIAL.format(p="p"), NEGATIVE_BINOMIAL_SLOPE.format(p="p"),
         ((0.0, 5.0), (1.0, 6.0), (0.05, 0.95)), sign=-1, integers=("k", "n")),
    _inverse("nbdtri", ("k", "n", "y"), NEGATIVE_BINOMIAL.format(p="f"), NEGATIVE_BINOMIAL_SLOPE.format(p="f"),
             ((0.0, 5.0), (1.0, 6.0), (0.05, 0.95)), integers=("k", "n")),
    # Poisson distribution in its mean m: pdtr = Q(k + 1, m), k truncated
    _cdf("pdtr", ("k", "m"), POISSON.format(m="m"), "floor(k) / m - 1", ((0.0, 6.0), (0.1, 8.0)),
         sign=-1, integers=("k",)),
    _cdf("pdtrc", ("k", "m"), POISSON.format(m="m"), "floor(k) / m - 1", ((0.0, 6.0), (0.1, 8.0)),
         integers=("k",)),
    _inverse("pdtri", ("k", "y"), "-" + POISSON.format(m="f"), "floor(k) / f - 1",
             ((0.0, 6.0), (0.05, 0.95)), integers=("k",)),
    # Tukey's lambda distribution: the inverse of its quantile Q(p) = (p^l - (1 - p)^l) / l
    # (sampled at x > 0.2: SciPy inverts Q by iteration, and central differences of
    # those values need a step x allows; F(-x) = 1 - F(x))
    _in_x("tklmbda", ("x", "lmbda"), "q",
          "-(lmbda - 1) * (f ** (lmbda - 2) - (1 - f) ** (lmbda - 2)) * q ** 3",
          ((0.2, 1.8), (-0.5, 0.5)), lets=(("q", "1 / (f ** (lmbda - 1) + (1 - f) ** (lmbda - 1))"),),
          analytic=False),
    # ---- hypergeometric functions, in x (the parameters constant)
    _in_x("hyp0f1", ("v", "x"), "hyp0f1(v + 1, x) / v", "hyp0f1(v + 2, x) / (v * (v + 1))",
          ((0.5, 3.0), (-3.0, 3.0)), analytic=False),     # (SciPy's complex loop is not, for x < 0)
    _in_x("hyp1f1", ("a", "b", "x"), "a / b * hyp1f1(a + 1, b + 1, x)",
          "a * (a + 1) / (b * (b + 1)) * hyp1f1(a + 2, b + 2, x)",
          ((-2.0, 2.0), (0.5, 3.0), (-3.0, 3.0))),
    _in("z", "hyp2f1", ("a", "b", "c", "z"), "a * b / c * hyp2f1(a + 1, b + 1, c + 1, z)",
        "a * (a + 1) * b * (b + 1) / (c * (c + 1)) * hyp2f1(a + 2, b + 2, c + 2, z)",
        ((-1.0, 2.0), (-1.0, 2.0), (0.5, 3.0), (-0.9, 0.9))),
    _in_x("hyperu", ("a", "b", "x"), "-a * hyperu(a + 1, b + 1, x)",
          "a * (a + 1) * hyperu(a + 2, b + 2, x)", ((0.2, 2.0), (0.2, 2.0), (0.2, 1.5)),
          analytic=False),
    # ---- complete and incomplete elliptic integrals (parameter m), with
    # K' = (E - (1 - m) K) / (2 m (1 - m)) and E' = (E - K) / (2 m), which cancel as m -> 0:
    # their power series for |m| < 0.2
    _in("m", "ellipk", ("m",), "dk", K_SECOND, ((-2.0, 0.95),), lets=COMPLETE_K, analytic=False),
    # K(1 - p), written in p (ellipkm1 keeps the digits of a tiny p)
    _in("p", "ellipkm1", ("p",), "-dk", K_SECOND, ((0.05, 0.95),),
        lets=(("m", "1 - p"), ("e", "ellipe(m)")) + COMPLETE_K[1:], analytic=False),
    _in("m", "ellipe", ("m",), "de",
        f"where(abs(m) < 0.2, polyval({_elliptic_series('E', 2)}, m),"
        " (de - dk) / (2 * m) - (f - k) / (2 * m * m))", ((-2.0, 0.95),),
        lets=(("k", "ellipk(m)"),
              ("de", f"where(abs(m) < 0.2, polyval({_elliptic_series('E', 1)}, m), (f - k) / (2 * m))"),
              ("dk", f"where(abs(m) < 0.2, polyval({_elliptic_series('K', 1)}, m),"
                     " (f - (1 - m) * k) / (2 * m * (1 - m)))")), analytic=False),
    # F(phi | m) and E(phi | m), in both; D = sqrt(1 - m sin^2 phi)
    Evaluated("ellipkinc", ("phi", "m"), (("phi", "1 / D"), ("m", "Fm")),
              (("phi", "phi", "m * s * c / D ** 3"), ("phi", "m", "s * s / (2 * D ** 3)"),
               ("m", "m", "(E - f) / (4 * m * m * (1 - m)) - E * (1 - 2 * m) / (2 * (m * (1 - m)) ** 2)"
                          " - Fm / (2 * m) + f / (2 * m * m)"
                          " - s * c / 2 * (1 / ((1 - m) ** 2 * D) + s * s / (2 * (1 - m) * D ** 3))")),
              ((0.1, 1.5), (0.05, 0.95)), lets=INCOMPLETE + (
                  ("E", "ellipeinc(phi, m)"),
                  ("Fm", "E / (2 * m * (1 - m)) - f / (2 * m) - s * c / (2 * (1 - m) * D)")),
              analytic=False),
    Evaluated("ellipeinc", ("phi", "m"), (("phi", "D"), ("m", "(f - F) / (2 * m)")),
              (("phi", "phi", "-m * s * c / D"), ("phi", "m", "-s * s / (2 * D)"),
               ("m", "m", "((f - F) / (2 * m) - Fm) / (2 * m) - (f - F) / (2 * m * m)")),
              ((0.1, 1.5), (0.05, 0.95)), lets=INCOMPLETE + (
                  ("F", "ellipkinc(phi, m)"),
                  ("Fm", "f / (2 * m * (1 - m)) - F / (2 * m) - s * c / (2 * (1 - m) * D)")),
              analytic=False),
    # ---- orthogonal polynomials of degree n, in x: Gegenbauer's
    # d/dx C_n^(a) = 2 a C_(n-1)^(a+1) carries Legendre's (a = 3/2), Chebyshev's (U: a = 1) ...
    _polynomial("eval_legendre", ("n", "x"), _gegenbauer(1, 1.5, "x"), "3 * " + _gegenbauer(2, 2.5, "x"),
                (DEGREES, (-1.0, 1.0))),
    _polynomial("eval_sh_legendre", ("n", "x"), "2 * " + _gegenbauer(1, 1.5, "2 * x - 1"),
                "12 * " + _gegenbauer(2, 2.5, "2 * x - 1"), (DEGREES, SHIFTED)),
    _polynomial("eval_chebyt", ("n", "x"), "n * " + _gegenbauer(1, 1.0, "x"),
                "2 * n * " + _gegenbauer(2, 2.0, "x"), (DEGREES, (-1.0, 1.0))),
    _polynomial("eval_chebyu", ("n", "x"), "2 * " + _gegenbauer(1, 2.0, "x"),
                "8 * " + _gegenbauer(2, 3.0, "x"), (DEGREES, (-1.0, 1.0))),
    _polynomial("eval_chebyc", ("n", "x"), "n * " + _gegenbauer(1, 1.0, "x / 2"),
                "n * " + _gegenbauer(2, 2.0, "x / 2"), (DEGREES, (-2.0, 2.0))),
    _polynomial("eval_chebys", ("n", "x"), _gegenbauer(1, 2.0, "x / 2"),
                "2 * " + _gegenbauer(2, 3.0, "x / 2"), (DEGREES, (-2.0, 2.0))),
    _polynomial("eval_sh_chebyt", ("n", "x"), "2 * n * " + _gegenbauer(1, 1.0, "2 * x - 1"),
                "8 * n * " + _gegenbauer(2, 2.0, "2 * x - 1"), (DEGREES, SHIFTED)),
    _polynomial("eval_sh_chebyu", ("n", "x"), "4 * " + _gegenbauer(1, 2.0, "2 * x - 1"),
                "32 * " + _gegenbauer(2, 3.0, "2 * x - 1"), (DEGREES, SHIFTED)),
    _polynomial("eval_gegenbauer", ("n", "alpha", "x"), "2 * alpha * " + _gegenbauer(1, "alpha + 1", "x"),
                "4 * alpha * (alpha + 1) * " + _gegenbauer(2, "alpha + 2", "x"),
                (DEGREES, (0.2, 3.0), (-1.0, 1.0))),
    _polynomial("eval_jacobi", ("n", "alpha", "beta", "x"),
                "(n + alpha + beta + 1) / 2 * "
                + _below("n", 1, "eval_jacobi(n - 1, alpha + 1, beta + 1, x)"),
                "(n + alpha + beta + 1) * (n + alpha + beta + 2) / 4 * "
                + _below("n", 2, "eval_jacobi(n - 2, alpha + 2, beta + 2, x)"),
                (DEGREES, (0.0, 2.0), (0.0, 2.0), (-1.0, 1.0))),
    # G_n^(p, q)(x) = P_n^(p - q, q - 1)(2x - 1) / binom(2n + p - 1, n): G' = n G_(n-1)^(p+2, q+1)
    _polynomial("eval_sh_jacobi", ("n", "p", "q", "x"),
                "n * " + _below("n", 1, "eval_sh_jacobi(n - 1, p + 2, q + 1, x)"),
                "n * (n - 1) * " + _below("n", 2, "eval_sh_jacobi(n - 2, p + 4, q + 2, x)"),
                (DEGREES, (2.0, 4.0), (0.5, 1.5), SHIFTED)),
    _polynomial("eval_genlaguerre", ("n", "alpha", "x"),
                "-" + _below("n", 1, "eval_genlaguerre(n - 1, alpha + 1, x)"),
                _below("n", 2, "eval_genlaguerre(n - 2, alpha + 2, x)"),
                (DEGREES, (0.0, 3.0), (-2.0, 8.0))),
    _polynomial("eval_laguerre", ("n", "x"), "-" + _below("n", 1, "eval_genlaguerre(n - 1, 1.0, x)"),
                _below("n", 2, "eval_genlaguerre(n - 2, 2.0, x)"), (DEGREES, (-2.0, 8.0))),
    # Hermite polynomials have integer degrees only (SciPy's loops take an integer n)
    _polynomial("eval_hermite", ("n", "x"), "2 * n * eval_hermite(maximum(n - 1, 0), x)",
                "4 * n * (n - 1) * eval_hermite(maximum(n - 2, 0), x)", (DEGREES, (-3.0, 3.0))),
    _polynomial("eval_hermitenorm", ("n", "x"), "n * eval_hermitenorm(maximum(n - 1, 0), x)",
                "n * (n - 1) * eval_hermitenorm(maximum(n - 2, 0), x)", (DEGREES, (-3.0, 3.0))),
    # associated Legendre functions P_v^m(x), |x| < 1: (1 - x^2) P' = (v + m) P_(v-1) - v x P,
    # and P'' from Legendre's equation
    _in_x("lpmv", ("m", "v", "x"), "g1",
          "(2 * x * g1 - (v * (v + 1) - m * m / (1 - x * x)) * f) / (1 - x * x)",
          ((0.0, 3.0), (0.5, 4.0), (-0.95, 0.95)),
          lets=(("g1", "((v + m) * lpmv(m, v - 1, x) - v * x * f) / (1 - x * x)"),),
          integers=("m",), analytic=False),
    # ---- Struve functions and integrals of Struve and Bessel functions, in x
    _struve("struve", -1),
    _struve("modstruve", 1),
    # int_0^x H_0 and int_0^x L_0, with H_0' = 2 / pi - H_1 and L_0' = 2 / pi + L_1
    _in_x("itstruve0", ("x",), "struve(0, x)", "2 / pi - struve(1, x)", ((0.1, 10.0),),
          analytic=False),
    _in_x("itmodstruve0", ("x",), "modstruve(0, x)", "2 / pi + modstruve(1, x)", ((0.1, 6.0),),
          analytic=False),
    # int_x^inf H_0(t) / t dt
    _in_x("it2struve0", ("x",), "-struve(0, x) / x",
          "struve(0, x) / (x * x) - (2 / pi - struve(1, x)) / x", ((0.1, 10.0),), analytic=False),
    # ---- Kelvin functions and their derivatives
    _kelvin("ber", "berp(x)", "-berp(x) / x - bei(x)"),
    _kelvin("bei", "beip(x)", "-beip(x) / x + ber(x)"),
    _kelvin("ker", "kerp(x)", "-kerp(x) / x - kei(x)"),
    _kelvin("kei", "keip(x)", "-keip(x) / x + ker(x)"),
    _kelvin("berp", "-f / x - bei(x)", "2 * f / (x * x) + bei(x) / x - beip(x)"),
    _kelvin("beip", "-f / x + ber(x)", "2 * f / (x * x) - ber(x) / x + berp(x)"),
    _kelvin("kerp", "-f / x - kei(x)", "2 * f / (x * x) + kei(x) / x - keip(x)"),
    _kelvin("keip", "-f / x + ker(x)", "2 * f / (x * x) - ker(x) / x + kerp(x)"),
    # ---- more Bessel functions, in x: jve and yve equal jv and yv on real x; kn truncates n
    _bessel("jve", 1, -1, (0.1, 10.0), "jvp"),
    _bessel("yve", 1, -1, (0.2, 10.0), "yvp"),
    _in_x("kn", ("n", "x"), "-(kn(trunc(n) - 1, x) + kn(trunc(n) + 1, x)) / 2",
          "(kn(trunc(n) - 2, x) + 2 * f + kn(trunc(n) + 2, x)) / 4", ((0.0, 4.0), (0.2, 10.0)),
          integers=("n",), analytic=False,
          reference_derivative=("kvp(n, x, 1)",), reference_second_derivative=("kvp(n, x, 2)",)),
    # Wright's generalized Bessel function: d/dx Phi(a, b; x) = Phi(a, a + b; x)
    _in_x("wright_bessel", ("a", "b", "x"), "wright_bessel(a, a + b, x)",
          "wright_bessel(a, 2 * a + b, x)", ((0.1, 2.0), (0.5, 2.0), (0.1, 5.0)), analytic=False),
    _in_x("log_wright_bessel", ("a", "b", "x"), "g1",
          "exp(log_wright_bessel(a, 2 * a + b, x) - f) - g1 * g1",
          ((0.1, 2.0), (0.5, 2.0), (0.1, 5.0)),
          lets=(("g1", "exp(log_wright_bessel(a, a + b, x) - f)"),), analytic=False),
    # parameters of distributions that are closed forms in x: the normal mean x - std ndtri(p)
    # and deviation (x - mn) / ndtri(p); the gamma rate a with a x fixed by (p, b)
    _in_x("nrdtrimn", ("p", "std", "x"), "ones_like(f)", "zeros_like(f)",
          ((0.05, 0.95), (0.5, 2.0), (-3.0, 3.0)), analytic=False),
    _in_x("nrdtrisd", ("mn", "p", "x"), "1 / ndtri(p)", "zeros_like(f)",
          ((-1.0, 1.0), (0.55, 0.95), (1.1, 4.0)), analytic=False),
    _in_x("gdtria", ("p", "b", "x"), "-f / x", "2 * f / (x * x)",
          ((0.05, 0.95), (0.5, 4.0), (0.1, 6.0)), analytic=False),
)
