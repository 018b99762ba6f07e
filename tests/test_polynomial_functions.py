"""Polynomials (dualjac/dispatch/polynomials.py): polyder, polyint, polyadd, polysub,
polymul, polydiv, poly, roots, polyfit. Witnesses: NumPy's values, complex step (NumPy's
polynomial functions take complex coefficients), central differences for roots (whose
complex-step witness would be NumPy's complex eigenvalue ordering), Hessians as central
differences of the witness Jacobian, analytic root sensitivities."""
import warnings

import numpy as np
import pytest

import dualjac as dj
from witness import witness_hessian, witness_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(7)
X = RNG.uniform(0.5, 1.5, 6)

CALLS = {
    "polyder": lambda z: np.polyder(z, 2),
    "polyint": lambda z: np.polyint(z, 2, k=[z[0], 1.0]),
    "polyadd": lambda z: np.polyadd(z[:2], z[2:] * z[2:]),
    "polysub": lambda z: np.polysub([1.0, 2.0, 3.0, 4.0, 5.0], z[:3] ** 2),
    "polymul": lambda z: np.polymul(z[:2], z[2:]),
    "polydiv_quotient": lambda z: np.polydiv(z, z[:3])[0],
    "polydiv_remainder": lambda z: np.polydiv(z, z[:3])[1],
    "poly": lambda z: np.poly(z[:4]),
    "polyfit": lambda z: np.polyfit(np.arange(6.0), z * z, 2),
    "polyfit_columns": lambda z: np.polyfit(np.arange(3.0), np.reshape(z, (3, 2)) ** 2, 1),
    "polyval_of_polyint": lambda z: np.polyval(np.polyint(z), z[:2]),
}


@pytest.mark.parametrize("name", CALLS)
def test_value_jacobian_and_hessian(name):
    f = CALLS[name]
    value, J = dj.value_and_jacobian(f, X)
    np.testing.assert_allclose(value, f(X), rtol=1e-13)
    np.testing.assert_allclose(J, witness_jacobian(f, X), rtol=1e-10, atol=1e-12)
    g = lambda z: np.sum(np.sin(f(z)))
    np.testing.assert_allclose(dj.hessian(g, X), witness_hessian(g, X), rtol=1e-6, atol=1e-7)


def test_batch_jacobian_of_row_polynomial_products():
    x = RNG.uniform(0.5, 1.5, (6, 4))
    f = lambda z: np.stack([np.polymul(row[:2], row[2:]) for row in z])
    J = dj.batch_jacobian(f, x)
    for row in range(6):
        np.testing.assert_allclose(J[row], witness_jacobian(lambda r: np.polymul(r[:2], r[2:]),
                                                            x[row]), rtol=1e-14)


def test_roots_move_as_the_implicit_function_theorem_says():
    """p(r) = 0: dr/dp_k = -r^(n-k) / p'(r) for a simple root, and the Hessian of the
    roots is the central difference of that witness."""
    zeros = np.array([-1.3, 0.4, 2.2])
    p = np.poly(zeros) * 1.7
    r, J = dj.value_and_jacobian(np.roots, p)
    np.testing.assert_array_equal(r, np.roots(p))
    powers = r[:, None] ** np.arange(3, -1, -1)[None, :]
    expected = -powers / np.polyval(np.polyder(p), r)[:, None]
    np.testing.assert_allclose(J, expected, rtol=1e-10)
    sorted_roots = lambda c: np.sort(np.roots(c))
    H = dj.hessian(lambda c: np.sum(np.sort(np.roots(c)) ** 2), p)
    np.testing.assert_allclose(
        H, witness_hessian(lambda c: np.sum(sorted_roots(c) ** 2), p, "fd"), rtol=1e-4, atol=1e-4)


def test_roots_through_poly_are_the_zeros():
    z = np.array([0.3, -0.8, 1.9])
    J = dj.jacobian(lambda t: np.sort(np.roots(np.poly(t))), z)
    np.testing.assert_allclose(J, np.eye(3)[np.argsort(z)], atol=1e-9)


@pytest.mark.parametrize("call, error, message", [
    (lambda z: np.roots(np.concatenate([z[:1], np.array([0.0, 1.0])])), ValueError, "complex roots"),
    (lambda z: np.polyfit(z, np.arange(6.0), 1), TypeError, "dual x"),
    (lambda z: np.polyfit(np.arange(6.0), z, 1, full=True), TypeError, "full=True"),
    (lambda z: np.polyder(z, -1), ValueError, "positive"),
    (lambda z: np.polyint(z, 3, k=[1.0, 2.0]), ValueError, "k must be"),
    (lambda z: np.poly(np.reshape(z[:4], (2, 2))), TypeError, "eigenvalues"),
    (lambda z: np.polyadd(np.poly1d([1.0, 2.0]), z), TypeError, "poly1d"),
])
def test_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        dj.jacobian(call, X)


def test_polyfit_warns_as_numpy_when_ill_conditioned():
    with pytest.warns(np.exceptions.RankWarning):
        dj.jacobian(lambda z: np.polyfit(np.ones(6), z, 2), X)


def test_polynomial_package_functions_refuse_dual_arrays():
    """np.polynomial converts its arguments with np.array: the conversion guard refuses
    a dual array there (never a silently derivative-free result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="dualjac"):
            dj.jacobian(lambda z: np.polynomial.polynomial.polyval(0.3, z), X)
