"""Hessians by hyper-dual sweeps, and nested transforms, against analytic
formulas and finite differences of complex-step gradients."""

import numpy as np
import pytest

import dualjac as dj
from witness import complex_step_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(11)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    """Analytic: tridiagonal."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def hessian_witness(f, x, h=1e-6):
    """Central differences of complex-step gradients: exact first derivatives,
    second derivatives to O(h^2)."""
    grad = lambda z: complex_step_jacobian(f, z)   # noqa: E731
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    columns = []
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        columns.append((grad((flat + e).reshape(x.shape)) - grad((flat - e).reshape(x.shape))) / (2 * h))
    return np.stack(columns, -1).reshape(np.shape(f(x)) + x.shape + x.shape)


@pytest.mark.parametrize("n", [2, 5, 20])
def test_rosenbrock_hessian_is_exact(n):
    x = RNG.uniform(-1.5, 1.5, n)
    np.testing.assert_allclose(dj.hessian(rosenbrock, x), rosenbrock_hessian(x), rtol=1e-14, atol=1e-12)


@pytest.mark.parametrize("n", [4, 8, 9])   # the read-out's table path ends at n = 8
def test_quadratic_form_hessian_is_a_plus_a_transpose(n):
    A = RNG.standard_normal((n, n))
    x = RNG.standard_normal(n)
    np.testing.assert_array_equal(dj.hessian(lambda x: x @ A @ x, x), A + A.T)
    np.testing.assert_allclose(dj.hessian(lambda x: np.einsum("i,ij,j->", x, A, x), x), A + A.T)


SMOOTH = {
    "trig_exp": lambda x: np.sin(x[0]) * np.exp(x[1]) + np.cos(x[0] * x[1]),
    "log_sqrt": lambda x: np.log(1 + x @ x) * np.sqrt(x[0] ** 2 + 1),
    "vector_out": lambda x: np.stack([x[0] * x[1] * x[2], np.tanh(x[0]) / (1 + x[2] ** 2)]),
    "power_mix": lambda x: x[0] ** x[1] + 2.0 ** x[2] + np.arctan(x[1] / x[2]),
    "matrix_out": lambda x: np.outer(x, np.sin(x)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_hessian_matches_finite_differences_of_complex_step(name):
    f = SMOOTH[name]
    x = RNG.uniform(0.3, 1.2, 3)
    H = dj.hessian(f, x)
    want = hessian_witness(f, x)
    assert H.shape == np.shape(f(x)) + (3, 3)
    np.testing.assert_allclose(H, want, rtol=1e-7, atol=1e-7)


def test_hessian_of_a_matrix_source():
    f = lambda X: np.sum(np.sin(X) * X.T)   # noqa: E731
    X = RNG.uniform(0.1, 1.0, (2, 2))
    np.testing.assert_allclose(dj.hessian(f, X), hessian_witness(f, X), rtol=1e-7, atol=1e-7)


def test_float32_hessian_stays_float32():
    H = dj.hessian(rosenbrock, np.array([1.0, 2.0, 0.5], np.float32))
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, rosenbrock_hessian(np.array([1.0, 2.0, 0.5])), rtol=1e-5)


def test_value_gradient_hessian_in_one_sweep():
    x = RNG.uniform(-1, 1, 6)
    value, grad, H = dj.value_gradient_hessian(rosenbrock, x)
    np.testing.assert_allclose(value, rosenbrock(x))
    np.testing.assert_allclose(grad, complex_step_jacobian(rosenbrock, x), rtol=1e-13)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def test_hvp_is_hessian_times_vector():
    x, v = RNG.uniform(-1, 1, 5), RNG.standard_normal(5)
    np.testing.assert_allclose(dj.hvp(rosenbrock, x, v), rosenbrock_hessian(x) @ v, rtol=1e-12)


def potential(x):
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    return np.sin(a) * np.exp(b) + a * b * c + np.log(1 + c ** 2)


def test_batch_hessian_equals_per_row_hessians():
    x = RNG.uniform(-1, 1, (6, 3))
    B = dj.batch_hessian(potential, x)
    assert B.shape == (6, 3, 3)
    for i in range(6):
        np.testing.assert_allclose(B[i], hessian_witness(lambda r: potential(r[None])[0], x[i]),
                                   rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("n", [8, 9])
def test_batch_hessian_of_quadratic_forms(n):
    """Row i: x_i^T A x_i, Hessian A + A^T for every row (both read-out paths)."""
    A = RNG.standard_normal((n, n))
    x = RNG.standard_normal((5, n))
    B = dj.batch_hessian(lambda x: np.sum((x @ A) * x, axis=1), x)
    np.testing.assert_allclose(B, np.broadcast_to(A + A.T, (5, n, n)), rtol=1e-13, atol=1e-13)


def test_batch_hessian_with_row_outputs():
    x = RNG.uniform(-1, 1, (4, 2))
    f = lambda x: np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 0]) ** 2], 1)   # noqa: E731
    B = dj.batch_hessian(f, x)
    assert B.shape == (4, 2, 2, 2)
    np.testing.assert_allclose(B[:, 0], np.broadcast_to([[0, 1], [1, 0]], (4, 2, 2)))
    np.testing.assert_allclose(B[:, 1, 0, 0], 2 * np.cos(2 * x[:, 0]))


def test_hessian_of_unconnected_is_zeros():
    H = dj.hessian(lambda x: dj.stop_gradient(x) ** 2, np.ones(3))
    assert H.shape == (3, 3, 3) and not H.any()


# ---------------------------------------------------------------- nesting

def test_jacobian_of_jacobian_equals_hessian():
    x = RNG.uniform(-1, 1, 4)
    np.testing.assert_allclose(dj.jacobian(lambda z: dj.jacobian(rosenbrock, z), x),
                               dj.hessian(rosenbrock, x), rtol=1e-14)


def test_batch_jacobian_of_gradient_equals_batch_hessian():
    x = RNG.uniform(-1, 1, (5, 3))
    nested = dj.batch_jacobian(lambda z: dj.gradient(lambda w: potential(w), z), x)
    np.testing.assert_allclose(nested, dj.batch_hessian(potential, x), rtol=1e-13)


@pytest.mark.parametrize("x0", [-2.0, 0.0, 0.7, 5.0])
def test_no_perturbation_confusion(x0):
    """d/dx [x * d/dy (x + y)] = 1 at any point (a tag-less implementation gives 2)."""
    g = lambda x: x * dj.jacobian(lambda y: x + y, 3.0)   # noqa: E731
    assert dj.jacobian(g, x0) == 1.0


def test_closure_over_an_outer_dual():
    """Inner transform's f closes over the outer source: d/dx d/dy (x^2 y^2) = 4xy."""
    x0, y0 = 1.5, -0.5
    mixed = dj.jacobian(lambda x: dj.jacobian(lambda y: x ** 2 * y ** 2, y0), x0)
    np.testing.assert_allclose(mixed, 4 * x0 * y0)


def test_third_level_raises_a_clear_error():
    with pytest.raises(NotImplementedError, match="third"):
        dj.jacobian(lambda a: dj.jacobian(lambda b: dj.jacobian(lambda c: a * b * c, 1.0), 1.0), 1.0)
    with pytest.raises(NotImplementedError, match="third derivatives"):
        dj.jacobian(lambda z: dj.hessian(rosenbrock, z), np.ones(3))
