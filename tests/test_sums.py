"""np.sum and np.mean of a jet over every element: one pass over the buffer's rows, added
pairwise, so that long sums of few components are as accurate as NumPy's sums of
contiguous data. Witnesses: math.fsum (exactly rounded) and analytic derivatives."""
import math

import numpy as np
import pytest

import dualjac as dj

RNG = np.random.default_rng(7)


def test_a_long_sum_of_duals_is_accurate_in_every_component():
    """A million elements with one tangent: a running sum errs by ~5e-14 here."""
    x, v = RNG.random(1_000_000), RNG.random(1_000_000)
    value, tangent = dj.jvp(np.sum, x, v)
    assert abs(value - math.fsum(x)) <= 1e-15 * math.fsum(x)
    assert abs(tangent - math.fsum(v)) <= 1e-15 * math.fsum(v)


@pytest.mark.parametrize("axis", [None, (0, 1), (-2, -1)])
def test_sum_and_mean_over_every_axis(axis):
    x = RNG.normal(size=(30, 20))
    np.testing.assert_allclose(dj.jacobian(lambda z: np.sum(z ** 2, axis=axis), x), 2 * x,
                               rtol=1e-15)
    np.testing.assert_allclose(dj.jacobian(lambda z: np.mean(z ** 2, axis=axis), x),
                               2 * x / x.size, rtol=1e-15)


@pytest.mark.parametrize("n", [5, 129, 1000])
def test_hessian_of_a_sum_is_the_analytic_one(n):
    """Hyper-dual buffers: every component of a row is summed alike."""
    x = RNG.uniform(0.5, 1.5, n)
    value, gradient, H = dj.value_gradient_hessian(lambda z: np.sum(np.sin(z) * z), x)
    np.testing.assert_allclose(value, math.fsum(np.sin(x) * x), rtol=1e-14)
    np.testing.assert_allclose(gradient, np.cos(x) * x + np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(H, np.diag(2 * np.cos(x) - x * np.sin(x)), rtol=1e-13,
                               atol=1e-15)


def test_float32_sums_stay_float32():
    x = RNG.random(10_000).astype(np.float32)
    value, tangent = dj.jvp(np.mean, x, np.ones_like(x))
    assert np.asarray(tangent).dtype == np.float32
    np.testing.assert_allclose(tangent, 1.0, rtol=1e-6)
    np.testing.assert_allclose(value, math.fsum(x.astype(np.float64)) / x.size, rtol=1e-6)


def test_an_empty_sum_is_zero_with_a_zero_derivative():
    value, tangent = dj.jvp(np.sum, np.zeros(0), np.zeros(0))
    assert value == 0.0 and tangent == 0.0
