"""Deferred jets through dualjac.scipy's drop-ins written with NumPy calls only (special's
logsumexp / softmax / log_softmax, stats' distributions, integrate's rules, optimize's
Rosenbrock): the drop-in runs on the deferred jet itself, so each call in it is recorded
(or falls back on its own) and a batch transform's program goes on past it. Rows of 4
(x (b, 4)); witnesses: eager's bits, and the derivatives written out (softmax's Jacobian,
a normal log-density's).
"""

import numpy as np
import pytest

import dualjac as dj
from deferral import DTYPES, ROWS, TRANSFORMS, assert_matches_eager, deferred, pending, rng_x

special = pytest.importorskip("dualjac.scipy.special")
from dualjac.scipy import integrate, optimize, stats  # noqa: E402  (SciPy is there)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")

WEIGHTS = np.array([1.0, 2.0, 0.5, 3.0])
WITH_ZERO = np.array([1.0, 0.0, 0.5, 3.0])
KNOTS = np.array([0.0, 0.1, 0.3, 0.6])

# Recorded whole at both dtypes.
RECORDED = {
    "logsumexp": lambda x: pending(x, special.logsumexp(x, axis=-1)),
    "logsumexp_keepdims": lambda x: x - pending(x, special.logsumexp(x, axis=1, keepdims=True)),
    "logsumexp_jet_weights": lambda x: pending(
        x, special.logsumexp(x[:, :2], axis=-1, b=x[:, 2:] + 2.0)),
    "softmax": lambda x: pending(x, special.softmax(x, axis=-1)),
    "log_softmax": lambda x: pending(x, special.log_softmax(x, axis=1)),
    "trapezoid": lambda x: pending(x, integrate.trapezoid(x * x, dx=0.5, axis=-1)),
    "cumulative_trapezoid": lambda x: pending(
        x, integrate.cumulative_trapezoid(x * x, dx=0.5, axis=-1, initial=0)),
    "rosen_of_rows": lambda x: pending(x, optimize.rosen(x.T)),
}

# Recorded whole for float64 rows; float32 rows meet a float64 constant (a NumPy scalar
# such as np.log(scale), a float64 array of weights), which promotes them as NumPy does.
RECORDED_FLOAT64 = {
    "logsumexp_weights": lambda x: special.logsumexp(x, axis=-1, b=WEIGHTS),
    "logsumexp_zero_weight": lambda x: special.logsumexp(x, axis=-1, b=WITH_ZERO),
    "logsumexp_sign": lambda x: special.logsumexp(x, axis=-1, b=WEIGHTS - 1.0,
                                                  return_sign=True)[0],
    "norm_logpdf": lambda x: stats.norm.logpdf(x, 0.3, 2.0),
    "norm_cdf": lambda x: stats.norm.cdf(x),
    "norm_jet_loc": lambda x: stats.norm.logpdf(x[:, :2], loc=x[:, 2:], scale=1.5),
    "t_logpdf": lambda x: stats.t.logpdf(x, 3.0),
    "gamma_logpdf": lambda x: stats.gamma.logpdf(x + 2.0, 2.5),
    "expon_sf": lambda x: stats.expon.sf(x + 1.0),
    "frozen_pdf": lambda x: stats.norm(0.1, 0.7).pdf(x),
    "trapezoid_knots": lambda x: integrate.trapezoid(np.sin(x), x=KNOTS, axis=-1),
    "simpson": lambda x: integrate.simpson(np.exp(x), dx=0.5, axis=-1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", RECORDED)
def test_drop_ins_are_recorded_with_eagers_bits(name, transform, dtype):
    assert_matches_eager(TRANSFORMS[transform], RECORDED[name], rng_x((ROWS, 4), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", RECORDED_FLOAT64)
def test_drop_ins_with_float64_constants(name, transform, dtype):
    f = RECORDED_FLOAT64[name]
    x = rng_x((ROWS, 4), dtype, lo=0.1, hi=0.9)
    assert_matches_eager(TRANSFORMS[transform], lambda z: pending(z, f(z), float64_only=True), x)


def test_drop_ins_against_their_derivatives():
    """d logsumexp = softmax s; d softmax = diag(s) - s s^T; the Hessian of logsumexp is
    that same matrix; d/dx of a normal log-density = -(x - loc) / scale^2."""
    x = rng_x((ROWS, 4))
    s = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    jacobian_of_softmax = s[:, :, None] * np.eye(4) - s[:, :, None] * s[:, None, :]
    got = deferred(dj.batch_jacobian, RECORDED["logsumexp"], x)
    np.testing.assert_allclose(got, s, rtol=1e-14)
    got = deferred(dj.batch_jacobian, RECORDED["softmax"], x)
    np.testing.assert_allclose(got, jacobian_of_softmax, rtol=1e-13, atol=1e-16)
    got = deferred(dj.batch_hessian, RECORDED["logsumexp"], x)
    np.testing.assert_allclose(got, jacobian_of_softmax, rtol=1e-13, atol=1e-16)
    got = deferred(dj.batch_jacobian, RECORDED_FLOAT64["norm_logpdf"], x)
    np.testing.assert_allclose(got, (-(x - 0.3) / 4.0)[:, :, None] * np.eye(4), rtol=1e-14)


def test_drop_in_values_are_scipys():
    """The values under the derivatives are SciPy's own (with_scipy_values), deferred too."""
    scipy_special = pytest.importorskip("scipy.special")
    x = rng_x((ROWS, 4))
    seen = []

    def f(z):
        y = special.logsumexp(z, axis=-1)
        seen.append(y)
        return y

    deferred(dj.batch_jacobian, f, x)
    np.testing.assert_array_equal(seen[0].compute().value, scipy_special.logsumexp(x, axis=-1))


def test_drop_in_that_reads_across_its_rows_falls_back():
    """rosen_der of x.T joins pieces along the rows' axis: computed, eager's bits."""
    f = lambda z: optimize.rosen_der(z.T).T   # noqa: E731
    assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 4)))


# Every method of every distribution, with a shape and a scale that are jets too where the
# rule takes them (x in (0.1, 0.9): inside every support, and a probability for ppf).
SHAPES = {"norm": (), "expon": (), "logistic": (), "cauchy": (), "laplace": (),
          "lognorm": (0.5,), "t": (3.0,), "gamma": (2.5,), "beta": (2.0, 3.0)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("method", stats.METHODS)
@pytest.mark.parametrize("name", SHAPES)
def test_every_distribution_method_keeps_eagers_bits(name, method, transform):
    distribution = getattr(stats, name)
    f = lambda x: getattr(distribution, method)(x[:, :2], *SHAPES[name],   # noqa: E731
                                                scale=1.0 + 0.1 * x[:, 2:])
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 4), lo=0.1, hi=0.9))


def test_inverse_cdf_steps_as_many_times_as_the_deferred_jets_degree():
    """norm.ppf refines SciPy's inverse once per order of derivatives (degree_of): a
    deferred jet counts with its degree, so the Hessian is right. d ppf(q) = 1 / pdf(z),
    d^2 ppf(q) = z / pdf(z)^2 at z = ppf(q)."""
    scipy_special = pytest.importorskip("scipy.special")
    q = rng_x((ROWS, 3), lo=0.1, hi=0.9)
    z = scipy_special.ndtri(q)
    density = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    got = deferred(dj.batch_hessian, lambda x: np.sum(stats.norm.ppf(x), axis=1), q)
    np.testing.assert_allclose(got, (z / density ** 2)[:, :, None] * np.eye(3), rtol=1e-12)
