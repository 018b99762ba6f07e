"""Shared pieces of the table-driven tests of NumPy functions (tests/test_numpy_functions_more.py,
tests/test_numpy_functions_remaining.py): a case is (f, witness), the witness "cs" (complex step
of f), "fd" (central differences of f) or a holomorphic function equal to f."""

import numpy as np

import dualjac as dj
from witness import central_difference_jacobian, complex_step_jacobian, witness_hessian


def distinct_points(rng):
    """Six points in [0.6, 1.6], apart from each other (no ties for sorting functions)."""
    return rng.permutation(np.linspace(0.6, 1.6, 6)) + 1e-3 * rng.random(6)


def case_jacobian(f, witness, x):
    """The witness's Jacobian of a case at x."""
    if witness == "fd":
        return central_difference_jacobian(f, x)
    return complex_step_jacobian(f if witness == "cs" else witness, x)


def check_case_hessian(f, witness, x, rng):
    """dj.hessian of sum(c * f**2) (random weights c) against central differences of the
    witness's Jacobian."""
    c = rng.uniform(0.5, 1.5, np.shape(f(x)))
    g = lambda z: np.sum(c * f(z) ** 2)
    method = "fd" if witness == "fd" else "cs"
    ref = g if witness in ("cs", "fd") else (lambda z: np.sum(c * witness(z) ** 2))
    np.testing.assert_allclose(dj.hessian(g, x), witness_hessian(ref, x, method),
                               rtol=1e-5, atol=1e-5)


def check_batched_rows(f, rows, method):
    """dj.batch_jacobian of f and dj.batch_hessian of its per-row sum of squares, row by row
    against the witness of one row: complex step ("cs", on the row as it is) or central
    differences ("fd", on the row as a batch of one)."""
    J = dj.batch_jacobian(f, rows)
    g = lambda z: np.sum(np.reshape(f(z) ** 2, z.shape[:-1] + (-1,)), axis=-1)   # per row
    H = dj.batch_hessian(g, rows)
    for row, x in enumerate(rows):
        if method == "cs":
            np.testing.assert_allclose(J[row], complex_step_jacobian(f, x), rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(H[row], witness_hessian(g, x), rtol=1e-5, atol=1e-5)
        else:
            one = lambda z: f(z[None])[0]
            np.testing.assert_allclose(J[row], central_difference_jacobian(one, x), rtol=1e-7,
                                       atol=1e-7)
            np.testing.assert_allclose(H[row], witness_hessian(lambda z: g(z[None])[0], x, "fd"),
                                       rtol=1e-5, atol=1e-5)


def check_numpys_error(call, error, message, points):
    """call raises NumPy's own error on plain points, and the same on dual ones."""
    import pytest
    with pytest.raises(error, match=message):
        call(points())
    with pytest.raises(error, match=message):
        dj.jacobian(call, points())
