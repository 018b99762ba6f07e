"""Deferred jets on benchmarks/cases.py's potential: its Hessian against the analytic one,
its Jacobian and a stacked second output against complex step, all with eager's bits
(tests/deferral.py).
"""

import numpy as np
import pytest

import dualjac as dj
from deferral import assert_identical, cases, deferred, eager, potential
from witness import complex_step_jacobian

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


@pytest.fixture(scope="module")
def potential_rows():
    return np.random.default_rng(104).uniform(-1.0, 1.0, (10_000, 3))


def test_potential_hessian_matches_eager_and_the_analytic_hessian(potential_rows):
    x = potential_rows
    # 30 000 elements: deferred at the library's default threshold.
    H = deferred(dj.batch_hessian, potential, x, threshold=4096)
    assert_identical(H, eager(dj.batch_hessian, potential, x))
    # 1e-12 relative; entries that cross zero (H_22 at |c| = 1) get a 1e-14 floor.
    np.testing.assert_allclose(H, cases.potential_hessian(x), rtol=1e-12, atol=1e-14)


def test_potential_jacobian_matches_eager_and_complex_step(potential_rows):
    x = potential_rows
    J = deferred(dj.batch_jacobian, potential, x, threshold=4096)
    assert_identical(J, eager(dj.batch_jacobian, potential, x))
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(potential, x),
                               rtol=1e-13, atol=1e-15)


def two_outputs(x):
    """potential and a second elementwise function of the columns, stacked: (b, 2)."""
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([potential(x), np.tanh(a) * c / (1.0 + b * b)], axis=1)


def test_stacked_two_outputs_jacobian_vs_complex_step(potential_rows):
    x = potential_rows
    J = deferred(dj.batch_jacobian, two_outputs, x, threshold=4096)
    assert J.shape == (10_000, 2, 3)
    assert_identical(J, eager(dj.batch_jacobian, two_outputs, x))
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(two_outputs, x),
                               rtol=1e-13, atol=1e-15)
    # and our own witness, one row at a time
    for i in (0, 4321, 9999):
        np.testing.assert_allclose(J[i], complex_step_jacobian(two_outputs, x[i:i + 1])[0, :, 0],
                                   rtol=1e-13, atol=1e-15)


def test_stacked_two_outputs_hessian_matches_eager(potential_rows):
    H = deferred(dj.batch_hessian, two_outputs, potential_rows, threshold=4096)
    assert H.shape == (10_000, 2, 3, 3)
    assert_identical(H, eager(dj.batch_hessian, two_outputs, potential_rows))
    np.testing.assert_allclose(H[:, 0], cases.potential_hessian(potential_rows),
                               rtol=1e-12, atol=1e-14)
