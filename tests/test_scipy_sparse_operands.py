"""A constant scipy.sparse matrix times a dual array: `L @ x`, `L.dot(x)`, `x @ L`.

Method-of-lines code often builds its Laplacian as a scipy.sparse matrix. SciPy converts
its operand with np.asanyarray, which a jet refuses; for that one caller a jet hands SciPy an
opaque object, SciPy returns NotImplemented, and Python calls the jet's __rmatmul__, which
applies L to every component. Witnesses: the dense product's analytic Jacobian and complex step.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import dualjac as dj
from witness import complex_step_jacobian, witness_hessian

KINDS = {"csr_array": sp.csr_array, "csc_matrix": sp.csc_matrix, "coo_array": sp.coo_array}


def laplacian(n, kind):
    return KINDS[kind](sp.diags_array([1.0, -2.0, 1.0], offsets=[-1, 0, 1], shape=(n, n)))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("n", [5, 80, 300])     # dense, banded and structured ways
def test_sparse_matrix_times_a_dual_vector(kind, n):
    L = laplacian(n, kind)
    x = np.linspace(0.1, 1.0, n)
    spellings = [lambda z: L @ z + z ** 2, lambda z: z @ L + z ** 2]
    if kind != "coo_array":      # coo_array.dot converts its operand itself: use L @ x
        spellings.append(lambda z: L.dot(z) + z ** 2)
    for f in spellings:
        J = dj.jacobian(f, x)
        np.testing.assert_allclose(J, L.toarray() * 1.0 + np.diag(2 * x), rtol=1e-14,
                                   atol=1e-14)


def test_sparse_matrix_times_a_dual_matrix_and_hessians():
    L = laplacian(6, "csr_array")
    X = np.linspace(0.1, 1.0, 12).reshape(6, 2)
    f = lambda z: L @ np.sin(z)                   # noqa: E731
    np.testing.assert_allclose(dj.jacobian(f, X), complex_step_jacobian(f, X), rtol=1e-14,
                               atol=1e-14)
    g = lambda z: np.sum(np.sin(z) * (L @ z))     # noqa: E731
    x = np.linspace(0.1, 1.0, 6)
    np.testing.assert_allclose(dj.hessian(g, x), witness_hessian(g, x), rtol=1e-9, atol=1e-9)


def test_other_conversions_are_still_refused():
    L = laplacian(4, "csr_array")
    with pytest.raises(TypeError, match="drop the derivatives"):
        dj.jacobian(lambda z: np.asarray(z) + L @ np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        dj.jacobian(lambda z: L @ z, np.ones(3))


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_pattern_of_a_sparse_product_is_the_matrix_structure(kind):
    """The tracer reads L's stored entries: L @ x with a Laplacian is tri-diagonal (a dense
    constant matrix would make it dense), so the structured ways apply."""
    n = 400
    L = laplacian(n, kind)
    x = np.linspace(0.1, 1.0, n)
    f = lambda z: L @ z + np.sin(z @ L)           # noqa: E731
    P = dj.jacobian_sparsity(f, x)
    expected = (sp.csr_array(L) != 0).toarray()
    np.testing.assert_array_equal(P.toarray(), expected | expected.T)
    J = dj.sparse_jacobian(f, x)
    dense = L.toarray() + np.diag(np.cos(x @ L.toarray())) @ L.toarray().T
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14, atol=1e-14)
    X = np.linspace(0.1, 1.0, 2 * n).reshape(n, 2)
    g = lambda z: L @ np.sin(z)                   # noqa: E731
    P2 = dj.jacobian_sparsity(g, X).toarray().reshape(n, 2, n, 2)
    np.testing.assert_array_equal(P2[:, 0, :, 0], expected)
    assert not P2[:, 0, :, 1].any()
