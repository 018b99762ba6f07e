"""dj.jacobian, dj.gradient and dj.hessian of large sources use found structure.

For one float array of 129 elements or more (48 for Hessians), the dense transforms try
banded jets, then a traced pattern with a colored sweep, then dense seeds
(dualjac/_structured.py). These tests check, against complex-step and analytic witnesses,
that every spelling gives the right derivatives whichever way is taken, that what was
prepared for an f is reused at its next call (f then runs once), and that a change of f's
structure between calls (a global, a closure) is caught and never gives a wrong result.
"""

import numpy as np
import pytest

import dualjac as dj
from dualjac._pattern import PatternArray
from witness import complex_step_jacobian, witness_hessian

N = 300          # above both thresholds, and where banded jets give up on these spellings


def rosen_slices(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_pad(x):
    p = np.pad(x, (0, 1))
    t = 100 * (p[1:] - x ** 2) ** 2 + (1 - x) ** 2
    return np.sum(t[:-1])


def rosen_roll(x):
    keep = np.ones(x.shape)
    keep[-1] = 0.0
    return np.sum(keep * (100 * (np.roll(x, -1) - x ** 2) ** 2 + (1 - x) ** 2))


def rosen_zeros_like(x):
    t = np.zeros_like(x)
    t[:-1] = 100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2
    return np.sum(t)


def rosen_mean_and_dot(x):
    r = x[1:] - x[:-1] ** 2
    return 100 * x[:-1].size * np.mean(r * r) + (1 - x[:-1]) @ (1 - x[:-1])


ROSENBROCKS = [rosen_slices, rosen_pad, rosen_roll, rosen_zeros_like, rosen_mean_and_dot]


def rosen_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosen_hessian(x):
    H = np.diag(-400 * x[:-1], 1) + np.diag(-400 * x[:-1], -1)
    d = np.zeros_like(x)
    d[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    return H + np.diag(d)


def broyden_pad(x):
    p = np.pad(x, 1)
    return (3 - 2 * x) * x - p[:-2] - 2 * p[2:] + 1


def broyden_views(x):
    out = np.empty_like(x)
    mid = out[1:-1]
    mid[...] = (3 - 2 * x[1:-1]) * x[1:-1] - x[:-2] - 2 * x[2:] + 1
    out[0] = (3 - 2 * x[0]) * x[0] - 2 * x[1] + 1
    out[-1] = (3 - 2 * x[-1]) * x[-1] - x[-2] + 1
    return out


def broyden_concatenate(x):
    left = np.concatenate([np.zeros(1, like=x), x[:-1]])
    right = np.concatenate([x[1:], np.zeros(1)])
    return (3 - 2 * x) * x - left - 2 * right + 1


POINT = np.linspace(-0.9, 1.2, N)


def counting(f):
    kinds = []

    def g(z):
        kinds.append(type(z))
        return f(z)
    return g, kinds


@pytest.mark.parametrize("f", ROSENBROCKS)
def test_gradient_and_hessian_of_every_spelling(f):
    np.testing.assert_allclose(dj.gradient(f, POINT), rosen_gradient(POINT), rtol=1e-12,
                               atol=1e-9)
    np.testing.assert_allclose(dj.hessian(f, POINT), rosen_hessian(POINT), rtol=1e-12,
                               atol=1e-9)
    value, J = dj.value_and_jacobian(f, POINT)
    np.testing.assert_allclose(value, f(POINT), rtol=1e-14)
    np.testing.assert_allclose(J, rosen_gradient(POINT), rtol=1e-12, atol=1e-9)


def energy_of_three_terms(z):
    """Scaled sums, a mean and a constant: the terms of the separable read-out, each with
    its own scale, shape and colors."""
    edges = np.pad(z, 1)[2:] * z
    return 2.5 * np.sum(edges ** 2) - np.mean(np.sin(z).reshape(-1, 3)) / 3 + 7.0


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 2e-5)])
def test_gradient_of_scaled_terms_of_several_shapes(dtype, rtol):
    x = POINT.astype(dtype)
    witness = complex_step_jacobian(energy_of_three_terms, POINT)
    for call in range(2):               # the first call prepares, the second reuses
        g = dj.gradient(energy_of_three_terms, x)
        assert g.dtype == dtype and g.shape == x.shape
        np.testing.assert_allclose(g, witness, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("f", [broyden_pad, broyden_views, broyden_concatenate])
def test_jacobian_of_every_spelling(f):
    J = dj.jacobian(f, POINT)
    np.testing.assert_allclose(J, complex_step_jacobian(f, POINT), rtol=1e-14, atol=1e-14)
    value, J2 = dj.value_and_jacobian(f, POINT)
    np.testing.assert_array_equal(J2, J)
    np.testing.assert_allclose(value, f(POINT), rtol=1e-15)


@pytest.mark.parametrize("transform, f", [(dj.gradient, rosen_pad), (dj.hessian, rosen_roll),
                                          (dj.jacobian, broyden_pad)])
def test_the_second_call_reuses_what_the_first_prepared(transform, f):
    """First call: a banded attempt, the traces, the colored sweep. Second call: f runs
    once, on dual arrays (Hessians: hyper-duals) with one seed per color and a probe
    (dj.jacobian's compiled sweep still starts a banded run, which gives up at np.pad)."""
    g, kinds = counting(f)
    first = transform(g, POINT)
    assert PatternArray in kinds
    kinds.clear()
    second = transform(g, POINT * 1.01)
    expected = [dj.HyperDualArray] if transform is dj.hessian else [dj.DualArray]
    if transform is dj.jacobian:
        expected = [dj.BandedJet] + expected
    assert kinds == expected
    np.testing.assert_allclose(second, transform(f, POINT * 1.01), rtol=1e-13, atol=1e-12)
    assert first.shape == second.shape


class Switch:
    """A function whose structure changes through state its trace cannot see."""

    def __init__(self):
        self.reversed = False

    def residual(self, z):
        w = z[::-1] if self.reversed else z
        return np.pad(z, 1)[2:] * 3.0 + w * w

    def energy(self, z):
        w = z[::-1] if self.reversed else z
        return np.sum(np.pad(z, (0, 1))[1:] * z + w * w * z)


@pytest.mark.parametrize("transform, name, witness, rtol", [
    (dj.jacobian, "residual", complex_step_jacobian, 1e-13),
    (dj.gradient, "energy", complex_step_jacobian, 1e-13),
    (dj.hessian, "energy", witness_hessian, 1e-9)])     # a finite difference of exact gradients
def test_a_structure_changed_between_calls_is_caught(transform, name, witness, rtol):
    state = Switch()
    f = getattr(state, "residual" if name == "residual" else "energy")
    g = lambda z: f(z)                      # noqa: E731 - one object, weakly referenceable
    transform(g, POINT)                     # prepares for the unreversed structure
    state.reversed = True
    np.testing.assert_allclose(transform(g, POINT), witness(f, POINT), rtol=rtol, atol=rtol)
    state.reversed = False
    np.testing.assert_allclose(transform(g, POINT), witness(f, POINT), rtol=rtol, atol=rtol)


def rows_keepdims(z):
    r = z.reshape(-1, 3)
    return (r / np.sum(r ** 2, axis=-1, keepdims=True)).ravel()


def rows_new_axis(z):
    r = z.reshape(-1, 3)
    return (r / np.sum(r ** 2, axis=-1)[..., None]).ravel()


def rows_alias(z):
    out = np.zeros_like(z).reshape(-1, 3)
    alias = out
    alias += z.reshape(-1, 3)
    alias /= np.sum(z.reshape(-1, 3) ** 2, axis=1, keepdims=True)
    return out.ravel()


@pytest.mark.parametrize("f", [rows_keepdims, rows_new_axis, rows_alias])
def test_per_row_reductions_broadcast_back_in_every_way(f):
    """keepdims, [..., None] and += / /= through an alias give the same block-diagonal
    pattern and the complex-step Jacobian, sparse and dense."""
    P = dj.jacobian_sparsity(f, POINT).toarray()
    blocks = np.kron(np.eye(N // 3, dtype=bool), np.ones((3, 3), bool))
    np.testing.assert_array_equal(P, blocks)
    witness = complex_step_jacobian(f, POINT)
    np.testing.assert_allclose(dj.sparse_jacobian(f, POINT).toarray(), witness, rtol=1e-13,
                               atol=1e-13)
    np.testing.assert_allclose(dj.jacobian(f, POINT), witness, rtol=1e-13, atol=1e-13)


def test_value_and_jacobian_reuses_what_it_prepared():
    g, kinds = counting(broyden_pad)
    dj.value_and_jacobian(g, POINT)
    kinds.clear()
    value, J = dj.value_and_jacobian(g, POINT * 1.01)
    assert kinds == [dj.BandedJet, dj.DualArray]      # a banded attempt, one colored sweep
    np.testing.assert_allclose(value, broyden_pad(POINT * 1.01), rtol=1e-15)
    np.testing.assert_allclose(J, complex_step_jacobian(broyden_pad, POINT * 1.01), rtol=1e-14,
                               atol=1e-14)
