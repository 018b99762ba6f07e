"""Rules written as compositions of NumPy calls (dualjac/dispatch/compositions.py):
flipud, fliplr, rot90, rollaxis, append, tril, triu. Witnesses: complex-step Jacobians
(NumPy's own functions on complex input), analytic Hessians, NumPy's errors; the sparsity
tracer runs the same compositions."""
import numpy as np
import pytest

import dualjac as dj
from witness import complex_step_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded")

RNG = np.random.default_rng(11)

CALLS = {
    "flipud": lambda z: np.flipud(z),
    "fliplr": lambda z: np.fliplr(z),
    "rot90": lambda z: np.rot90(z),
    "rot90_k2": lambda z: np.rot90(z, 2),
    "rot90_k3_axes": lambda z: np.rot90(z, -1, axes=(2, 0)),
    "rollaxis": lambda z: np.rollaxis(z, 2),
    "rollaxis_start": lambda z: np.rollaxis(z, 0, 2),
    "append_flat": lambda z: np.append(z, z[0] ** 2),
    "append_axis": lambda z: np.append(z, np.sin(z), axis=1),
    "tril": lambda z: np.tril(z),
    "triu_k": lambda z: np.triu(z * z, 1),
    "tril_plain_and_jet": lambda z: np.append(np.ones((1, 4, 2)), np.tril(z, -1), axis=0),
}


@pytest.mark.parametrize("name", CALLS)
def test_jacobian_is_the_complex_step_one(name):
    f, x = CALLS[name], RNG.uniform(0.5, 1.5, (3, 4, 2))
    J = dj.jacobian(f, x)
    np.testing.assert_allclose(J, complex_step_jacobian(f, x), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", CALLS)
def test_pattern_is_a_superset_of_the_jacobian_and_exact_for_moves(name):
    f, x = CALLS[name], RNG.uniform(0.5, 1.5, (3, 4, 2))
    P = dj.jacobian_sparsity(f, x).toarray()
    nonzero = complex_step_jacobian(f, x).reshape(P.shape) != 0
    assert not (nonzero & ~P).any()
    if name.startswith(("flip", "rot90", "rollaxis")):      # each output is one input
        np.testing.assert_array_equal(P, nonzero)


def test_hessian_through_compositions():
    """Second order comes from the compositions' own rules."""
    def f(z):
        m = z.reshape(3, 3)
        return np.sum(np.rot90(m) ** 3 * np.tril(m)) + np.sum(np.append(m, m) ** 2)
    x = RNG.uniform(0.5, 1.5, 9)
    m = x.reshape(3, 3)
    # d2/dx2 of sum(rot90(m)**3 * tril(m)) + 2 * sum(m**2), by the product rule on elements:
    # rot90(m)[i, j] = m[j, 2 - i]; tril keeps m[i, j] for j <= i.
    H = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            a, b = 3 * j + (2 - i), 3 * i + j           # rot90's source, tril's source
            if j <= i:
                ra, tb = m[j, 2 - i], m[i, j]
                H[a, a] += 6 * ra * tb
                H[a, b] += 3 * ra ** 2
                H[b, a] += 3 * ra ** 2
    H += 4 * np.eye(9)
    np.testing.assert_allclose(dj.hessian(f, x), H, rtol=1e-13, atol=1e-13)


def test_batch_jacobian_of_a_composition():
    x = RNG.uniform(0.5, 1.5, (5, 2, 3))
    f = lambda z: np.rot90(z, axes=(1, 2)) * 2.0
    J = dj.batch_jacobian(f, x)
    for row in range(5):
        np.testing.assert_allclose(J[row], complex_step_jacobian(lambda r: np.rot90(r) * 2.0, x[row]),
                                   rtol=1e-15, atol=0)


@pytest.mark.parametrize("call, message", [
    (lambda z: np.fliplr(z[0, 0]), "2-d"),
    (lambda z: np.rot90(z, axes=(0, 0)), "different"),
    (lambda z: np.rollaxis(z, 5), "out of bounds")])
def test_bad_arguments_raise_numpys_errors(call, message):
    x = RNG.uniform(0.5, 1.5, (3, 4, 2))
    with pytest.raises((ValueError, np.exceptions.AxisError), match=message):
        dj.jacobian(call, x)


@pytest.mark.parametrize("call", [lambda z: np.rollaxis(z, 9, 2), lambda z: np.rot90(z, 3, (1, 10))])
def test_many_axes(call):
    """A 12-d source: the argument check runs on a broadcast view, whatever the axes."""
    x = RNG.uniform(0.5, 1.5, (2,) + (1,) * 10 + (3,))
    np.testing.assert_allclose(dj.jacobian(call, x), complex_step_jacobian(call, x),
                               rtol=1e-15, atol=0)
