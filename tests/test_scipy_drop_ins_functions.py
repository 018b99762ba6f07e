"""dualjac.scipy's special, signal, integrate, optimize and stats drop-ins: SciPy's values on
plain input, exact first and second derivatives on jets; and DROP_INS.

Witnesses: complex step through SciPy itself where SciPy is analytic on complex input
(logsumexp, softmax, convolve, trapezoid, simpson in y, rosen*); central differences of
SciPy's results elsewhere (scipy.stats takes no complex input; simpson in x); SciPy's own
densities for the derivatives of its cdfs, and cdf(ppf(q)) = q to second order.
"""

import importlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.integrate as si
import scipy.optimize as so
import scipy.signal as ss
import scipy.special as sp
import scipy.stats as st

import dualjac as dj
from dualjac.scipy import DROP_INS, integrate, optimize, signal, special, stats
from witness import central_difference_jacobian, witness_hessian, witness_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4))


def fd_hessian(g, x):
    """Central differences of central differences, steps short enough for smooth g."""
    return central_difference_jacobian(lambda z: central_difference_jacobian(g, z, 1e-4), x, 1e-4)


def check_first_and_second(ours, scipys, x, method, rtol1=1e-9, rtol2=1e-6):
    expected = np.asarray(scipys(x))
    np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-14, atol=1e-14)
    J = dj.jacobian(ours, x)
    np.testing.assert_allclose(J, witness_jacobian(scipys, x, method), rtol=rtol1, atol=rtol1)
    w = np.arange(1.0, expected.size + 1).reshape(expected.shape) / 5.0
    H = dj.hessian(lambda z: np.sum(ours(z) * w), x)
    target = (lambda z: np.sum(scipys(z) * w))
    H_witness = witness_hessian(target, x, "cs") if method == "cs" else fd_hessian(target, x)
    np.testing.assert_allclose(H, H_witness, rtol=rtol2, atol=rtol2 * max(1.0, np.max(np.abs(H_witness))))


# ---------------------------------------------------------------- special

@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_special_against_complex_step(name, axis):
    check_first_and_second(lambda a: getattr(special, name)(a, axis=axis),
                           lambda a: getattr(sp, name)(a, axis=axis), X, "cs")


def test_logsumexp_with_dual_weights_keepdims_and_sign():
    b = RNG.uniform(-1, 1, size=(3, 4))
    check_first_and_second(lambda w: special.logsumexp(X, axis=1, b=w, return_sign=True)[0],
                           lambda w: sp.logsumexp(X, axis=1, b=w, return_sign=True)[0], b, "fd",
                           rtol1=1e-8, rtol2=1e-4)
    np.testing.assert_array_equal(special.logsumexp(dj.DualArray(X, np.ones((3, 4, 1))), axis=1, b=b,
                                                    return_sign=True)[1],
                                  sp.logsumexp(X, axis=1, b=b, return_sign=True)[1])
    check_first_and_second(lambda a: special.logsumexp(a, axis=0, b=np.abs(b), keepdims=True),
                           lambda a: sp.logsumexp(a, axis=0, b=np.abs(b), keepdims=True), X, "cs")


def test_logsumexp_is_stable_where_exp_overflows():
    big = np.array([1000.0, 1001.0, 999.0])
    J = dj.jacobian(special.logsumexp, big)
    np.testing.assert_allclose(J, sp.softmax(big), rtol=1e-14)
    assert np.isfinite(dj.hessian(special.log_softmax, big)).all()


# ---------------------------------------------------------------- signal

@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("name", ["convolve", "fftconvolve"])
def test_convolution_with_a_plain_kernel(name, mode):
    kernel = RNG.normal(size=3)
    signal_values = RNG.normal(size=7)
    # an FFT's rounding in the real part swamps a complex step: central differences for it
    check_first_and_second(lambda s: getattr(signal, name)(s, kernel, mode),
                           lambda s: getattr(ss, name)(s, kernel, mode), signal_values,
                           "cs" if name == "convolve" else "fd", 1e-8, 1e-5)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_and_correlate_of_two_jets(mode):
    """Both operands dual (the product of their derivative parts is the Hessian's cross
    term). correlate conjugates in2 on complex input: central differences for it."""
    packed = RNG.normal(size=8)
    check_first_and_second(lambda z: signal.convolve(z[:3], z[3:], mode),
                           lambda z: ss.convolve(z[:3], z[3:], mode), packed, "cs")
    check_first_and_second(lambda z: signal.correlate(z[:5], z[5:], mode),
                           lambda z: ss.correlate(z[:5], z[5:], mode), packed, "fd", 1e-8, 1e-5)


def test_convolve_in_two_dimensions():
    image, kernel = RNG.normal(size=(4, 5)), RNG.normal(size=(2, 3))
    check_first_and_second(lambda a: signal.convolve(a, kernel, "same"),
                           lambda a: ss.convolve(a, kernel, "same"), image, "cs")
    check_first_and_second(lambda a: signal.convolve(a, a[:2, :3] ** 2, "valid"),
                           lambda a: ss.convolve(a, a[:2, :3] ** 2, "valid"), image, "cs")


# ---------------------------------------------------------------- integrate

GRID = np.cumsum(RNG.uniform(0.3, 0.6, size=7))


@pytest.mark.parametrize("n", [7, 6, 2], ids=["odd", "even", "two"])
def test_simpson_in_the_samples_the_points_and_the_spacing(n):
    y, x = np.sin(GRID[:n]), GRID[:n]
    check_first_and_second(lambda v: integrate.simpson(v, x=x), lambda v: si.simpson(v, x=x), y, "cs")
    check_first_and_second(lambda p: integrate.simpson(y, x=p), lambda p: si.simpson(y, x=p), x, "fd",
                           1e-8, 1e-5)
    # SciPy casts the spacing to float (drops a complex step) for an even number of samples
    check_first_and_second(lambda h: integrate.simpson(y, dx=h), lambda h: si.simpson(y, dx=h),
                           np.array(0.3), "fd", 1e-8, 1e-5)


def test_trapezoid_and_cumulative_trapezoid():
    y = np.cos(GRID)
    check_first_and_second(lambda p: integrate.trapezoid(y, x=p), lambda p: si.trapezoid(y, x=p), GRID, "fd",
                           1e-8, 1e-5)
    check_first_and_second(lambda v: integrate.trapezoid(v, x=GRID[:4], axis=1),
                           lambda v: si.trapezoid(v, x=GRID[:4], axis=1), X, "cs")
    for initial in (None, 0):
        check_first_and_second(lambda p: integrate.cumulative_trapezoid(y, x=p, initial=initial),
                               lambda p: si.cumulative_trapezoid(y, x=p, initial=initial), GRID, "fd",
                               1e-8, 1e-5)
    check_first_and_second(lambda v: integrate.simpson(v, x=GRID[:3], axis=0),
                           lambda v: si.simpson(v, x=GRID[:3], axis=0), X, "cs")


# ---------------------------------------------------------------- optimize

@pytest.mark.parametrize("name", ["rosen", "rosen_der", "rosen_hess"])
def test_rosenbrock_family(name):
    x = RNG.uniform(-1, 2, size=5)
    check_first_and_second(getattr(optimize, name), getattr(so, name), x, "cs", 1e-12, 1e-8)


def test_rosen_der_of_a_jet_is_the_hessian():
    x = RNG.uniform(-1, 2, size=6)
    np.testing.assert_allclose(dj.jacobian(optimize.rosen_der, x), so.rosen_hess(x), rtol=1e-14)
    np.testing.assert_allclose(dj.jacobian(lambda p: optimize.rosen_hess_prod(x, p), x), so.rosen_hess(x))
    check_first_and_second(lambda z: optimize.rosen_hess_prod(z, x[::-1]),
                           lambda z: so.rosen_hess_prod(z, x[::-1]), x, "cs")


# ---------------------------------------------------------------- stats

POINTS = np.array([-1.3, -0.2, 0.4, 1.7])
POSITIVE = np.array([0.1, 0.45, 0.9, 2.2])
UNIT = np.array([0.05, 0.3, 0.6, 0.93])
# name, shape values, points inside the support. The cdf family of t, gamma and beta
# (stdtr, gammainc, betainc and their inverses) is differentiable in x, loc and scale only.
DISTRIBUTIONS = [
    ("norm", (), POINTS), ("expon", (), POSITIVE), ("logistic", (), POINTS),
    ("cauchy", (), POINTS), ("laplace", (), POINTS), ("lognorm", (0.7,), POSITIVE),
    ("t", (3.5,), POINTS), ("gamma", (2.5,), POSITIVE), ("beta", (2.5, 1.7), UNIT * 0.9),
]
CONSTANT_SHAPES = {"t", "gamma", "beta"}
CASES = [(name, shapes, points, method) for name, shapes, points in DISTRIBUTIONS
         for method in stats.METHODS]


@pytest.mark.parametrize("name, shapes, points, method", CASES,
                         ids=[f"{c[0]}.{c[3]}" for c in CASES])
def test_distribution_in_x_loc_scale_and_shapes(name, shapes, points, method):
    ours, theirs = getattr(getattr(stats, name), method), getattr(getattr(st, name), method)
    at = UNIT if method == "ppf" else points
    check_first_and_second(lambda a: ours(a, *shapes, scale=1.3), lambda a: theirs(a, *shapes, scale=1.3),
                           at, "fd", 1e-8, 1e-5)
    check_first_and_second(lambda p: ours(at, *shapes, loc=p[0], scale=p[1]),
                           lambda p: theirs(at, *shapes, loc=p[0], scale=p[1]),
                           np.array([-0.02, 1.3]), "fd", 1e-8, 1e-5)
    if not shapes:
        return
    if name in CONSTANT_SHAPES and method not in ("pdf", "logpdf"):
        with pytest.raises(TypeError, match="dual array|constant"):
            dj.jacobian(lambda s: ours(at, *s), np.array(shapes))
        return
    check_first_and_second(lambda s: ours(at, *s), lambda s: theirs(at, *s), np.array(shapes),
                           "fd", 1e-8, 1e-5)


@pytest.mark.parametrize("name, shapes", [("norm", ()), ("logistic", ()), ("lognorm", (0.7,)),
                                          ("cauchy", ()), ("laplace", ()), ("expon", ()),
                                          ("t", (3.5,)), ("gamma", (2.5,)), ("beta", (2.0, 3.0))])
def test_ppf_inverts_the_cdf_to_second_order(name, shapes):
    """d cdf / dx is SciPy's pdf; cdf(ppf(q)) = q: Jacobian I, Hessian 0."""
    dist = getattr(stats, name)
    points = {"lognorm": POSITIVE, "expon": POSITIVE, "gamma": POSITIVE, "beta": UNIT}.get(name, POINTS)
    np.testing.assert_allclose(np.diagonal(dj.jacobian(lambda x: dist.cdf(x, *shapes), points)),
                               getattr(st, name).pdf(points, *shapes), rtol=1e-13)
    roundtrip = (lambda q: dist.cdf(dist.ppf(q, *shapes, loc=0.3), *shapes, loc=0.3))
    np.testing.assert_allclose(dj.jacobian(roundtrip, UNIT), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda q: np.sum(roundtrip(q)), UNIT), 0, atol=1e-10)


def test_outside_the_support_and_invalid_parameters_follow_scipy():
    x = np.array([-1.0, 0.5, 2.0])
    for name, args in (("expon", ()), ("lognorm", (0.5,)), ("gamma", (2.0,)), ("beta", (2.0, 3.0))):
        for method in ("pdf", "logpdf"):
            got = getattr(getattr(stats, name), method)(dj.DualArray(x, np.ones((3, 1))), *args)
            np.testing.assert_array_equal(got.value, getattr(getattr(st, name), method)(x, *args))
    bad = stats.norm.pdf(dj.DualArray(x, np.ones((3, 1))), scale=-1.0)
    assert np.isnan(bad.value).all() and np.isnan(st.norm.pdf(x, scale=-1.0)).all()


def test_frozen_distributions_and_plain_input():
    np.testing.assert_array_equal(stats.norm(0.5, 2.0).logpdf(POINTS), st.norm(0.5, 2.0).logpdf(POINTS))
    np.testing.assert_allclose(dj.jacobian(lambda x: stats.t(4.0, scale=2.0).pdf(x), POINTS),
                               np.diag(central_difference_jacobian(st.t(4.0, scale=2.0).pdf, POINTS).diagonal()),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(stats.gamma.cdf(POSITIVE, 2.0), st.gamma.cdf(POSITIVE, 2.0))


# ---------------------------------------------------------------- batched and deferred

@pytest.mark.jet_kinds("default", "deferred")
def test_batch_jacobian_of_rowwise_drop_ins():
    rows = RNG.normal(size=(400, 3))      # 1200 elements: deferred where the kind says so

    def f(x):
        return special.log_softmax(x, axis=-1) + stats.norm.logcdf(x)
    J = dj.batch_jacobian(f, rows)
    row = rows[17]
    np.testing.assert_allclose(J[17], witness_jacobian(
        lambda r: sp.log_softmax(r, axis=-1) + sp.log_ndtr(r), row, "fd"), rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- errors and names

def test_functions_without_a_rule_name_the_fix():
    d = dj.DualArray(POSITIVE, np.ones((4, 1)))
    with pytest.raises(TypeError, match="gammainc"):    # the shape is a constant of gammainc
        stats.gamma.cdf(POSITIVE, dj.DualArray(np.array(2.0), np.ones((1,))))
    with pytest.raises(TypeError, match="axes=None only"):
        signal.fftconvolve(d, np.ones(2), axes=0)
    with pytest.raises(ValueError, match="'valid' mode"):
        signal.convolve(dj.DualArray(np.ones((2, 3)), np.ones((2, 3, 1))), np.ones((3, 2)), "valid")
    with pytest.raises(TypeError, match="missing required argument"):
        stats.t.pdf(d)
    with pytest.raises(ValueError, match="initial"):
        integrate.cumulative_trapezoid(d, initial=1.0)


@pytest.mark.jet_kinds("default")
def test_drop_ins_name_scipys_public_functions():
    assert DROP_INS["scipy.linalg.expm"] is dj.scipy.linalg.expm
    for name, drop_in in DROP_INS.items():
        module, _, attribute = name.rpartition(".")
        try:
            owner = importlib.import_module(module)
        except ImportError:                       # scipy.stats.norm.pdf: a method
            parent, _, distribution = module.rpartition(".")
            owner = getattr(importlib.import_module(parent), distribution)
        assert hasattr(owner, attribute), name
        assert callable(drop_in)


@pytest.mark.jet_kinds("default")
def test_importing_dualjac_does_not_import_scipy():
    code = "import sys, dualjac; assert 'scipy' not in sys.modules; dualjac.scipy.linalg.expm"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("n", [0, 1, 3])
def test_polygamma_derivatives_are_the_next_orders(n):
    """d/dx polygamma(n, x) = polygamma(n + 1, x): SciPy's own values as the witness."""
    from scipy import special
    x = np.array([0.4, 1.7, 3.2])
    J = dj.jacobian(lambda z: dj.scipy.special.polygamma(n, z), x)
    np.testing.assert_allclose(np.diag(J), special.polygamma(n + 1, x), rtol=1e-13)
    H = dj.hessian(lambda z: np.sum(dj.scipy.special.polygamma(n, z)), x)
    np.testing.assert_allclose(np.diag(H), special.polygamma(n + 2, x), rtol=1e-12)


def test_multigammaln_derivative_is_a_sum_of_digammas():
    from scipy import special
    a = np.array([1.6, 2.5, 4.0])
    J = dj.jacobian(lambda z: dj.scipy.special.multigammaln(z, 3), a)
    np.testing.assert_allclose(np.diag(J), sum(special.psi(a - j / 2) for j in range(3)),
                               rtol=1e-14)
    with pytest.raises(ValueError):
        dj.jacobian(lambda z: dj.scipy.special.multigammaln(z, 3), np.array([0.8]))
