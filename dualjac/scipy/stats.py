"""Drop-ins for scipy.stats' continuous distributions: norm, t, gamma, beta, expon,
logistic, lognorm, cauchy, laplace, with SciPy's calling conventions (shape parameters,
then loc and scale, positional or by name; frozen with ``norm(loc, scale)``).

On plain input every method is SciPy's own. On jets (x, the shapes, loc and scale may each
carry derivatives) a method is a formula of the standardized z = (x - loc) / scale written
with jet operations and dualjac's scipy.special rows (ndtr, log_ndtr, gammaln, xlogy,
expit, logit; stdtr, gammainc, betainc and their inverses for the cdf family of t, gamma
and beta, which are differentiable in x, loc and scale: those rows take their shape
parameters as constants), under SciPy's values. ppf without a closed form inverts the cdf:
from SciPy's value z0, z <- z + (q - cdf(z)) / pdf(z0) on the derivative parts gains one
order per step.
"""

import functools

import numpy as np
import scipy.special as _special

from ._common import any_jet, degree_of, recordable, value_of, with_scipy_values

__all__ = ["norm", "t", "gamma", "beta", "expon", "logistic", "lognorm", "cauchy", "laplace"]

METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf")
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@functools.lru_cache(maxsize=None)
def _scipy_distribution(name):
    """scipy.stats.<name>, imported on first use (scipy.stats takes a while to import)."""
    import scipy.stats
    return getattr(scipy.stats, name)


def _inverse_cdf(cdf, q, z0, density0):
    """z with cdf(z) = q, from z0 = SciPy's inverse of q's value: each step adds the
    derivative parts of the residual over the plain density, one order more each time."""
    z = z0
    for _ in range(degree_of(q)):
        residual = q - cdf(z)
        z = z + (residual - value_of(residual)) / density0
    return z


def _ndtri(q):
    z0 = _special.ndtri(value_of(q))
    return _inverse_cdf(_special.ndtr, q, z0, np.exp(-0.5 * z0 ** 2 - _LOG_SQRT_2PI))


def _positive(z):
    """z where z > 0, 1 elsewhere: keeps logs finite on the branch that np.where drops."""
    return np.where(value_of(z) > 0, z, 1.0)


class _Norm:
    shapes = ()
    logpdf = staticmethod(lambda z: -0.5 * z ** 2 - _LOG_SQRT_2PI)
    pdf = staticmethod(lambda z: np.exp(-0.5 * z ** 2 - _LOG_SQRT_2PI))
    cdf = staticmethod(lambda z: _special.ndtr(z))
    logcdf = staticmethod(lambda z: _special.log_ndtr(z))
    sf = staticmethod(lambda z: _special.ndtr(-z))
    logsf = staticmethod(lambda z: _special.log_ndtr(-z))
    ppf = staticmethod(_ndtri)


class _Expon:
    shapes = ()
    logpdf = staticmethod(lambda z: np.where(value_of(z) >= 0, -z, -np.inf))
    pdf = staticmethod(lambda z: np.where(value_of(z) >= 0, np.exp(-z), 0.0))
    cdf = staticmethod(lambda z: np.where(value_of(z) >= 0, -np.expm1(-z), 0.0))
    logcdf = staticmethod(lambda z: np.where(value_of(z) > 0, np.log(-np.expm1(-_positive(z))), -np.inf))
    sf = staticmethod(lambda z: np.where(value_of(z) >= 0, np.exp(-z), 1.0))
    logsf = staticmethod(lambda z: np.where(value_of(z) >= 0, -z, 0.0))
    ppf = staticmethod(lambda q: -np.log1p(-q))


class _Logistic:
    shapes = ()
    logpdf = staticmethod(lambda z: -np.logaddexp(0.0, -z) - np.logaddexp(0.0, z))
    pdf = staticmethod(lambda z: _special.expit(z) * _special.expit(-z))
    cdf = staticmethod(lambda z: _special.expit(z))
    logcdf = staticmethod(lambda z: -np.logaddexp(0.0, -z))
    sf = staticmethod(lambda z: _special.expit(-z))
    logsf = staticmethod(lambda z: -np.logaddexp(0.0, z))
    ppf = staticmethod(lambda q: _special.logit(q))


class _Cauchy:
    shapes = ()
    logpdf = staticmethod(lambda z: -np.log(np.pi) - np.log1p(z ** 2))
    pdf = staticmethod(lambda z: 1.0 / (np.pi * (1.0 + z ** 2)))
    cdf = staticmethod(lambda z: 0.5 + np.arctan(z) / np.pi)
    logcdf = staticmethod(lambda z: np.log(0.5 + np.arctan(z) / np.pi))
    sf = staticmethod(lambda z: 0.5 - np.arctan(z) / np.pi)
    logsf = staticmethod(lambda z: np.log(0.5 - np.arctan(z) / np.pi))
    ppf = staticmethod(lambda q: np.tan(np.pi * (q - 0.5)))


def _laplace_cdf(z):
    return np.where(value_of(z) > 0, 1.0 - 0.5 * np.exp(-z), 0.5 * np.exp(z))


def _laplace_logcdf(z):
    return np.where(value_of(z) > 0, np.log1p(-0.5 * np.exp(-z)), z - np.log(2.0))


class _Laplace:
    shapes = ()
    logpdf = staticmethod(lambda z: -np.abs(z) - np.log(2.0))
    pdf = staticmethod(lambda z: 0.5 * np.exp(-np.abs(z)))
    cdf = staticmethod(_laplace_cdf)
    logcdf = staticmethod(_laplace_logcdf)
    sf = staticmethod(lambda z: _laplace_cdf(-z))
    logsf = staticmethod(lambda z: _laplace_logcdf(-z))
    ppf = staticmethod(lambda q: np.where(value_of(q) > 0.5, -np.log(2.0 - 2.0 * q), np.log(2.0 * q)))


def _lognorm_logpdf(z, s):
    y = _positive(z)
    value = -np.log(y) ** 2 / (2 * s ** 2) - np.log(s * y) - _LOG_SQRT_2PI
    return np.where(value_of(z) > 0, value, -np.inf)


def _lognorm_of_log(function, outside):
    """A function of log(z) / s on z > 0, ``outside`` at z <= 0."""
    return staticmethod(lambda z, s: np.where(value_of(z) > 0, function(np.log(_positive(z)) / s), outside))


class _Lognorm:
    shapes = ("s",)
    valid = staticmethod(lambda s: s > 0)
    logpdf = staticmethod(_lognorm_logpdf)
    pdf = staticmethod(lambda z, s: np.exp(_lognorm_logpdf(z, s)))
    cdf = _lognorm_of_log(_special.ndtr, 0.0)
    logcdf = _lognorm_of_log(_special.log_ndtr, -np.inf)
    sf = _lognorm_of_log(lambda w: _special.ndtr(-w), 1.0)
    logsf = _lognorm_of_log(lambda w: _special.log_ndtr(-w), 0.0)
    ppf = staticmethod(lambda q, s: np.exp(s * _ndtri(q)))


def _t_logpdf(z, df):
    return (_special.gammaln((df + 1) / 2) - _special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
            - (df + 1) / 2 * np.log1p(z ** 2 / df))


class _T:
    shapes = ("df",)
    valid = staticmethod(lambda df: df > 0)
    logpdf = staticmethod(_t_logpdf)
    pdf = staticmethod(lambda z, df: np.exp(_t_logpdf(z, df)))
    cdf = staticmethod(lambda z, df: _special.stdtr(df, z))
    logcdf = staticmethod(lambda z, df: np.log(_special.stdtr(df, z)))
    sf = staticmethod(lambda z, df: _special.stdtr(df, -z))
    logsf = staticmethod(lambda z, df: np.log(_special.stdtr(df, -z)))
    ppf = staticmethod(lambda q, df: _special.stdtrit(df, q))


def _gamma_logpdf(z, a):
    return np.where(value_of(z) >= 0, _special.xlogy(a - 1, z) - z - _special.gammaln(a), -np.inf)


class _Gamma:
    shapes = ("a",)
    valid = staticmethod(lambda a: a > 0)
    logpdf = staticmethod(_gamma_logpdf)
    pdf = staticmethod(lambda z, a: np.exp(_gamma_logpdf(z, a)))
    cdf = staticmethod(lambda z, a: np.where(value_of(z) > 0, _special.gammainc(a, _positive(z)), 0.0))
    logcdf = staticmethod(lambda z, a: np.log(_Gamma.cdf(z, a)))
    sf = staticmethod(lambda z, a: np.where(value_of(z) > 0, _special.gammaincc(a, _positive(z)), 1.0))
    logsf = staticmethod(lambda z, a: np.log(_Gamma.sf(z, a)))
    ppf = staticmethod(lambda q, a: _special.gammaincinv(a, q))


def _beta_logpdf(z, a, b):
    inside = (value_of(z) >= 0) & (value_of(z) <= 1)
    log_beta = _special.gammaln(a) + _special.gammaln(b) - _special.gammaln(a + b)
    return np.where(inside, _special.xlogy(a - 1, z) + _special.xlogy(b - 1, 1 - z) - log_beta, -np.inf)


def _inside_unit(z):
    """z inside (0, 1), 0.5 elsewhere (the branch np.where drops stays finite)."""
    v = value_of(z)
    return np.where((v > 0) & (v < 1), z, 0.5)


def _beyond_unit(z, inside, below, above):
    v = value_of(z)
    return np.where(v <= 0, below, np.where(v >= 1, above, inside))


class _Beta:
    shapes = ("a", "b")
    valid = staticmethod(lambda a, b: (a > 0) & (b > 0))
    logpdf = staticmethod(_beta_logpdf)
    pdf = staticmethod(lambda z, a, b: np.exp(_beta_logpdf(z, a, b)))
    cdf = staticmethod(lambda z, a, b: _beyond_unit(z, _special.betainc(a, b, _inside_unit(z)), 0.0, 1.0))
    logcdf = staticmethod(lambda z, a, b: np.log(_Beta.cdf(z, a, b)))
    sf = staticmethod(lambda z, a, b: _beyond_unit(z, _special.betaincc(a, b, _inside_unit(z)), 1.0, 0.0))
    logsf = staticmethod(lambda z, a, b: np.log(_Beta.sf(z, a, b)))
    ppf = staticmethod(lambda q, a, b: _special.betaincinv(a, b, q))


class Distribution:
    """A scipy.stats continuous distribution's methods, for plain input and jets."""

    def __init__(self, name, rules):
        self.name = name
        self._rules = rules
        self._names = rules.shapes + ("loc", "scale")

    def __repr__(self):
        return f"dualjac.scipy.stats.{self.name}"

    def _arguments(self, method, args, kwds):
        """The shapes, loc and scale, as SciPy takes them (positional, then by name)."""
        if len(args) > len(self._names):
            raise TypeError(f"{self.name}.{method}() takes at most {len(self._names) + 1} "
                            f"arguments ({len(args) + 1} given)")
        given = dict(zip(self._names, args))
        for key, value in kwds.items():
            if key not in self._names or key in given:
                raise TypeError(f"{self.name}.{method}() got an unexpected or repeated argument {key!r}")
            given[key] = value
        missing = [n for n in self._rules.shapes if n not in given]
        if missing:
            raise TypeError(f"{self.name}.{method}() missing required argument(s) {missing}")
        return ([recordable(given[n]) for n in self._rules.shapes],
                recordable(given.get("loc", 0.0)), recordable(given.get("scale", 1.0)))

    def _call(self, method, x, args, kwds):
        if not any_jet(x, *args, *kwds.values()):
            return getattr(_scipy_distribution(self.name), method)(x, *args, **kwds)
        rule = getattr(self._rules, method)
        shapes, loc, scale = self._arguments(method, args, kwds)
        x = recordable(x)
        plain_shapes = [np.asarray(value_of(s)) for s in shapes]
        with np.errstate(all="ignore"):
            out = self._standardized(method, rule, x, shapes, loc, scale)
            valid = np.asarray(value_of(scale)) > 0
            if hasattr(self._rules, "valid"):
                valid = valid & self._rules.valid(*plain_shapes)
            if method == "ppf":
                valid = valid & (np.asarray(value_of(x)) >= 0) & (np.asarray(value_of(x)) <= 1)
            out = np.where(valid, out, np.nan)
        expected = getattr(_scipy_distribution(self.name), method)(
            value_of(x), *plain_shapes, loc=value_of(loc), scale=value_of(scale))
        return with_scipy_values(out, expected)

    @staticmethod
    def _standardized(method, rule, x, shapes, loc, scale):
        if method == "ppf":
            return loc + scale * rule(x, *shapes)
        out = rule((x - loc) / scale, *shapes)
        if method == "pdf":
            return out / scale
        if method == "logpdf":
            return out - np.log(scale)
        return out

    def pdf(self, x, *args, **kwds):
        return self._call("pdf", x, args, kwds)

    def logpdf(self, x, *args, **kwds):
        return self._call("logpdf", x, args, kwds)

    def cdf(self, x, *args, **kwds):
        return self._call("cdf", x, args, kwds)

    def logcdf(self, x, *args, **kwds):
        return self._call("logcdf", x, args, kwds)

    def sf(self, x, *args, **kwds):
        return self._call("sf", x, args, kwds)

    def logsf(self, x, *args, **kwds):
        return self._call("logsf", x, args, kwds)

    def ppf(self, q, *args, **kwds):
        return self._call("ppf", q, args, kwds)

    def __call__(self, *args, **kwds):
        """The frozen distribution, as scipy.stats.<name>(*args, **kwds)."""
        return Frozen(self, args, kwds)


class Frozen:
    """A distribution with its shapes, loc and scale bound (norm(loc, scale).pdf(x))."""

    def __init__(self, distribution, args, kwds):
        self.dist, self.args, self.kwds = distribution, args, kwds

    def __repr__(self):
        return f"{self.dist!r}(*{self.args!r}, **{self.kwds!r})"

    def __getattr__(self, method):
        if method not in METHODS:
            raise AttributeError(f"{self.dist!r} frozen has no method {method!r}")
        unbound = getattr(self.dist, method)
        return lambda x: unbound(x, *self.args, **self.kwds)


norm = Distribution("norm", _Norm)
t = Distribution("t", _T)
gamma = Distribution("gamma", _Gamma)
beta = Distribution("beta", _Beta)
expon = Distribution("expon", _Expon)
logistic = Distribution("logistic", _Logistic)
lognorm = Distribution("lognorm", _Lognorm)
cauchy = Distribution("cauchy", _Cauchy)
laplace = Distribution("laplace", _Laplace)
